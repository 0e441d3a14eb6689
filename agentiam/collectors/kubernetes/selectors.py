"""Kubernetes label selectors: the string syntax of `kubectl -l` and the object form of `matchLabels` and
`matchExpressions` (aggregation rules, custom resources' selectors), both evaluated against a label map."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Labels = Mapping[str, str]

_SET_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQUALITY_TERM = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


class SelectorError(ValueError):
    """A selector that Kubernetes would refuse too."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # =, !=, in, notin, exists, !exists
    values: frozenset[str] = frozenset()

    def matches(self, labels: Labels) -> bool:
        value = labels.get(self.key)
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        if self.operator in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values  # != and notin match a missing key, as in Kubernetes


@dataclass(frozen=True)
class Selector:
    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Labels) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def _terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def parse_selector(text: str) -> Selector:
    """`app=ai-agent,tier in (a,b),!legacy,team` -> a Selector. An empty selector matches everything."""
    requirements = []
    for term in _terms(text):
        equality = _EQUALITY_TERM.match(term)
        if equality:
            key, operator, value = equality.groups()
            requirements.append(Requirement(key, "!=" if operator == "!=" else "=", frozenset({value})))
            continue
        found = _SET_TERM.match(term)
        if not found:
            raise SelectorError(f"label selector {text!r}: cannot read {term.strip()!r}")
        negated, key, operator, values = found.groups()
        if operator:
            if negated:
                raise SelectorError(f"label selector {text!r}: '!' cannot precede {operator}")
            requirements.append(
                Requirement(key, operator, frozenset(v.strip() for v in values.split(",") if v.strip()))
            )
        else:
            requirements.append(Requirement(key, "!exists" if negated else "exists"))
    return Selector(text, tuple(requirements))


_EXPRESSION_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


def label_selector_matcher(selector: Any) -> Callable[[Labels], bool]:
    """A `metav1.LabelSelector` object as a predicate. An empty selector matches everything; a malformed one nothing."""
    if not isinstance(selector, dict):
        return lambda labels: False
    requirements = [
        Requirement(str(k), "=", frozenset({str(v)})) for k, v in (selector.get("matchLabels") or {}).items()
    ]
    for expression in selector.get("matchExpressions") or []:
        operator = _EXPRESSION_OPERATORS.get(str((expression or {}).get("operator")))
        if operator is None:
            return lambda labels: False
        values = frozenset(str(v) for v in expression.get("values") or [])
        requirements.append(Requirement(str(expression.get("key")), operator, values))
    return Selector("", tuple(requirements)).matches
