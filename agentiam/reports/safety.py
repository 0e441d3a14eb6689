"""Helpers that more than one reporter shares: output neutralisation, ordering and timestamp spelling."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any, overload

from agentiam.reports.model import SEVERITIES, FindingRow, IssueRow

# Spreadsheets treat a cell whose first character is one of these as a formula (OWASP "CSV injection");
# tab and carriage return are included because some of them skip those before looking for the formula sign.
_FORMULA_TRIGGERS = frozenset("=+-@\t\r")

_SEVERITY_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def neutralise_formula(value: str) -> str:
    """Prefix `'` to a cell a spreadsheet would evaluate, so it is shown as text; leave anything else untouched.

    Leading whitespace is looked through, because spreadsheets ignore it before a formula sign.
    """
    for char in value:
        if char in _FORMULA_TRIGGERS:
            return "'" + value
        if not char.isspace():
            return value
    return value


def restore_formula(value: str) -> str:
    """Undo `neutralise_formula`, for cells read back from a file this tool wrote (an access review).

    Only a `'` that `neutralise_formula` would have added is removed, so a value that really starts with `'` stays.
    """
    if value.startswith("'") and neutralise_formula(value[1:]) == value:
        return value[1:]
    return value


def severity_rank(severity: str) -> int:
    """0 for the worst severity; an unknown severity sorts after all known ones rather than failing a report."""
    return _SEVERITY_RANK.get(severity, len(SEVERITIES))


def finding_sort_key(finding: FindingRow) -> tuple[int, str, str, str]:
    """Worst first, then rule and subject; the fingerprint makes the order total, hence stable across runs."""
    return (severity_rank(finding.severity), finding.rule_id, finding.subject_uid, finding.fingerprint)


def sorted_findings(findings: list[FindingRow]) -> list[FindingRow]:
    return sorted(findings, key=finding_sort_key)


def sorted_issues(issues: list[IssueRow]) -> list[IssueRow]:
    return sorted(issues, key=lambda issue: (issue.source, issue.subject_uid or "", issue.problem))


@overload
def iso_utc(moment: datetime) -> str: ...
@overload
def iso_utc(moment: None) -> None: ...
@overload
def iso_utc(moment: datetime | None) -> str | None: ...


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`. A naive datetime is taken as UTC, which is how the store keeps them."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)` for what evidence may hold besides JSON types.

    Anything unforeseen is written as its `str()`: one odd evidence value must not cost the whole report.
    """
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def strict_json(value: Any, **options: Any) -> str:
    """`json.dumps` that never writes NaN or Infinity, which are not JSON (jq and JSON.parse reject them).

    Evidence read back through pandas can hold NaN for a missing value; it is written as null. The clean case
    pays for one dump only.
    """
    try:
        return json.dumps(value, allow_nan=False, default=json_default, **options)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, default=json_default, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(child) for child in value]
    return value
