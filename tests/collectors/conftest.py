"""Fixtures of the collector tests: settings covering two regions, so every regional collector shows that each
region is its own scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentiam.config import Settings, load_settings

EU, US = "eu-west-1", "us-east-1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"db": str(tmp_path / "inventory.db"), "aws": {"regions": [EU, US]}}, environ={})
