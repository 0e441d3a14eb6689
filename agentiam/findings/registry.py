"""Rules: small functions with metadata, found through the `agentiam.rules` entry-point group.

A rules module is any module whose functions carry the `@rule` decorator; the decorator attaches metadata and
registers nothing globally, so a plugin is just a module named in an entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from agentiam.findings.context import AnalysisContext

Category = Literal[
    "admin",
    "wildcard",
    "privilege-escalation",
    "data-access",
    "credential-exposure",
    "resource-exposure",
    "trust",
    "unused",
    "secret",
    "exposure",
    "hygiene",
    "intent",
]
SEVERITIES = ("critical", "high", "medium", "low", "info")
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Hit:
    """One thing a rule found. `key` tells findings on the same subject apart and feeds the fingerprint."""

    subject_uid: str
    message: str
    key: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    conditional: bool = False  # the grant holds only under conditions: lowers severity one step
    severity: str | None = None  # a rule may grade its own hit; otherwise the rule's base severity


@dataclass(frozen=True)
class RuleMeta:
    id: str
    title: str
    category: Category
    severity: str
    provider: str
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)


RuleCheck = Callable[["AnalysisContext", dict[str, Any]], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    meta: RuleMeta
    check: RuleCheck

    @property
    def id(self) -> str:
        return self.meta.id


def prose(text: str) -> str:
    """Docstring-style triple-quoted text as one paragraph: reports must not carry the source's indentation."""
    return " ".join(text.split())


def rule(
    *,
    id: str,
    title: str,
    category: Category,
    severity: str,
    provider: str,
    rationale: str,
    remediation: str,
    references: Iterable[str] = (),
    parameters: dict[str, Any] | None = None,
) -> Callable[[RuleCheck], RuleCheck]:
    if severity not in SEVERITIES:
        raise ValueError(f"rule {id}: unknown severity {severity!r}")
    if category not in CATEGORIES:
        raise ValueError(f"rule {id}: unknown category {category!r}")
    meta = RuleMeta(
        id,
        title,
        category,
        severity,
        provider,
        prose(rationale),
        prose(remediation),
        tuple(references),
        dict(parameters or {}),
    )

    def attach(check: RuleCheck) -> RuleCheck:
        check.__agentiam_rule__ = Rule(meta, check)  # type: ignore[attr-defined]
        return check

    return attach


def rules_in(module: ModuleType) -> list[Rule]:
    found = [getattr(value, "__agentiam_rule__", None) for value in vars(module).values()]
    return sorted((r for r in found if isinstance(r, Rule)), key=lambda r: r.id)
