"""README's promises: CI runs exactly its test command, and the demo command is the one documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _shell_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    test_command = next(b for b in _shell_blocks(readme) if "pytest" in b)
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert test_command in ci_lines


def test_readme_gives_the_demo_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert any(b.endswith("agentiam demo") and "pip install ." in b for b in _shell_blocks(readme))
