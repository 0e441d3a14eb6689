"""docs/configuration.md shows every setting, and its example is a valid agentiam.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel

from agentiam.config import Settings, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def example() -> str:
    match = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "docs/configuration.md has no ```toml example"
    return match.group(1)


def test_the_example_is_a_valid_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "agentiam.toml"
    path.write_text(example(), encoding="utf-8")

    settings = load_settings(config_file=str(path), environ={})

    assert settings.kubernetes.contexts == ["prod", "dev"] and settings.azure.max_concurrency == 8


def test_every_setting_of_every_section_is_shown() -> None:
    shown = tomllib.loads(example())

    def missing(model: type[BaseModel], document: dict, prefix: str = "") -> list[str]:
        gaps = []
        for name, field in model.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                gaps += missing(kind, document.get(name, {}), f"{prefix}{name}.")
            elif name != "rules" and name not in document:
                gaps.append(prefix + name)
        return gaps

    assert missing(Settings, shown) == []
