"""Entry-point registries. Built-ins are registered in pyproject.toml exactly as a third party would register.

Loading is guarded: a plugin that fails to import or has the wrong shape is reported, and the others still load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

from agentiam.findings.registry import Rule, rules_in

log = logging.getLogger(__name__)

COLLECTORS = "agentiam.collectors"
RULES = "agentiam.rules"
REPORTERS = "agentiam.reporters"


@dataclass(frozen=True)
class PluginFailure:
    group: str
    name: str
    target: str
    error: str

    def describe(self) -> str:
        return f"plugin {self.name!r} ({self.group} -> {self.target}) failed to load: {self.error}"


@dataclass
class Plugins:
    collectors: dict[str, Any] = field(default_factory=dict)  # name -> collector instance
    rules: dict[str, Rule] = field(default_factory=dict)  # rule id -> rule
    reporters: dict[str, Any] = field(default_factory=dict)  # format -> reporter instance
    failures: list[PluginFailure] = field(default_factory=list)


def _load(entry: EntryPoint, plugins: Plugins) -> Any | None:
    try:
        return entry.load()
    except Exception as exc:  # a broken plugin must not take the others down
        plugins.failures.append(PluginFailure(entry.group, entry.name, entry.value, f"{type(exc).__name__}: {exc}"))
        return None


def _instantiate(entry: EntryPoint, loaded: Any, required: tuple[str, ...], plugins: Plugins) -> Any | None:
    try:
        instance = loaded() if isinstance(loaded, type) else loaded
    except Exception as exc:
        plugins.failures.append(PluginFailure(entry.group, entry.name, entry.value, f"{type(exc).__name__}: {exc}"))
        return None
    missing = [attr for attr in required if not hasattr(instance, attr)]
    if missing:
        plugins.failures.append(
            PluginFailure(entry.group, entry.name, entry.value, f"missing attributes: {', '.join(missing)}")
        )
        return None
    return instance


def load_plugins(groups: dict[str, list[EntryPoint]] | None = None) -> Plugins:
    """Load every registered plugin; `groups` lets tests hand in their own entry points."""
    groups = groups if groups is not None else {g: list(entry_points(group=g)) for g in (COLLECTORS, RULES, REPORTERS)}
    plugins = Plugins()
    for entry in groups.get(COLLECTORS, []):
        loaded = _load(entry, plugins)
        collector = _instantiate(entry, loaded, ("name", "collect", "detect"), plugins) if loaded else None
        if collector is not None:
            plugins.collectors[collector.name] = collector
    for entry in groups.get(RULES, []):
        loaded = _load(entry, plugins)
        if isinstance(loaded, ModuleType):
            for found in rules_in(loaded):
                plugins.rules[found.id] = found
        elif loaded is not None:
            plugins.failures.append(
                PluginFailure(entry.group, entry.name, entry.value, "not a module of @rule functions")
            )
    for entry in groups.get(REPORTERS, []):
        loaded = _load(entry, plugins)
        reporter = _instantiate(entry, loaded, ("format", "filename", "render"), plugins) if loaded else None
        if reporter is not None:
            plugins.reporters[reporter.format] = reporter
    for failure in plugins.failures:
        log.warning(failure.describe())
    return plugins


@cache
def installed_plugins() -> Plugins:
    return load_plugins()
