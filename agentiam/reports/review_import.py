"""`agentiam review import`: read a reviewed access-review CSV back and record its decisions, all or nothing.

A row is matched to the exported scan by its key columns (identity, grant kind, policy, via, scope). Decisions:
- approve: an exception, with an expiry, that suppresses the findings related to the row until then;
- revoke: tracked; a later scan that still finds the grant reports it as an overdue revocation;
- keep, reduce: recorded.
Rows without any decision cell filled in are not reviewed yet and are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agentiam.errors import InputFormatError
from agentiam.findings.suppressions import latest_allowed_expiry
from agentiam.inventory.store import Store
from agentiam.reports.access_review import DECISION_COLUMNS, REVIEW_COLUMNS
from agentiam.reports.loader import load_report_data, resolve_scan_id
from agentiam.reports.review_state import GRANT_KEY, GrantKey, grant_key
from agentiam.reports.safety import restore_formula

DECISIONS = ("approve", "revoke", "keep", "reduce")
# The exported columns a row is matched on, as written by the export: their formula neutralisation is undone.
_EXPORTED_COLUMNS = ("scan_id", *GRANT_KEY, "identity_name", "policy_name")
# A review dated a little ahead of this machine's clock is a time zone, not a mistake.
_CLOCK_SLACK = timedelta(days=1)


@dataclass
class ImportResult:
    recorded: dict[str, int] = field(default_factory=dict)  # decision -> rows
    skipped: int = 0  # rows with no decision yet


def import_review(store: Store, path: Path, max_days: int, today: date | None = None) -> ImportResult:
    """Validate every row first; record the decisions in one transaction only if no row has a problem."""
    now = datetime.now(UTC)
    today = today or now.date()
    rows = _read(path)
    problems: list[str] = []
    decided = [(line, row) for line, row in rows if any(row.get(c, "").strip() for c in DECISION_COLUMNS)]
    scans = {row["scan_id"] for _, row in decided}
    exported: dict[GrantKey, dict[str, str]] = {}
    scan_id = _scan_id(path, scans)
    if scan_id is not None:
        data = load_report_data(store, resolve_scan_id(store, scan_id))
        assert data.access_review is not None
        exported = {grant_key(row): row for row in data.access_review()}
    records = []
    for line, row in decided:
        where = f"{path} line {line}"
        found = exported.get(grant_key(row))
        row_problems = _check(row, found, today, now, max_days)
        problems.extend(f"{where}: {problem}" for problem in row_problems)
        if not row_problems and found is not None:
            records.append(_record(row, found, where, now))
    if problems:
        raise InputFormatError(
            str(path), f"{len(problems)} problem(s), nothing was imported:\n  " + "\n  ".join(problems)
        )
    store.add_review_decisions(records)
    result = ImportResult(skipped=len(rows) - len(decided))
    for record in records:
        result.recorded[record["decision"]] = result.recorded.get(record["decision"], 0) + 1
    return result


def _read(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number where the row starts, its cells), with the export's formula neutralisation undone."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet may save a byte-order mark
    except FileNotFoundError:
        raise InputFormatError(str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(str(path), f"cannot be read as UTF-8 text ({exc})") from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    missing = [c for c in REVIEW_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputFormatError(
            str(path), f"not an access review (missing columns: {', '.join(missing)}); see `agentiam review export`"
        )
    rows = []
    start = reader.line_num + 1
    for raw in reader:
        cells = {key: (value or "") for key, value in raw.items() if key is not None}
        for column in _EXPORTED_COLUMNS:
            cells[column] = restore_formula(cells[column])
        rows.append((start, cells))
        start = reader.line_num + 1
    return rows


def _scan_id(path: Path, scans: set[str]) -> int | None:
    if not scans:
        return None
    if len(scans) > 1:
        raise InputFormatError(str(path), f"rows from several scans ({', '.join(sorted(scans))}): review one export")
    (value,) = scans
    if not value.isdigit():
        raise InputFormatError(str(path), f"scan_id {value!r} is not a scan number")
    return int(value)


def _check(
    row: dict[str, str], exported: dict[str, str] | None, today: date, now: datetime, max_days: int
) -> list[str]:
    problems = []
    if exported is None:
        what = f"grant {row['policy_ref']!r} ({row['grant_kind']})" if row["grant_kind"] else "identity"
        problems.append(f"unknown row: {what} of {row['identity_uid']!r} is not in scan {row['scan_id']}")
    decision = row["decision"].strip().lower()
    if decision not in DECISIONS:
        problems.append(f"decision {row['decision']!r} is not one of {', '.join(DECISIONS)}")
    if not row["reviewer"].strip():
        problems.append("reviewer is empty")
    if not row["justification"].strip():
        problems.append("justification is empty")
    reviewed_at = _parse(row["reviewed_at"], _moment, "reviewed_at", problems)
    if reviewed_at is not None and reviewed_at > now + _CLOCK_SLACK:
        problems.append(f"reviewed_at {row['reviewed_at']!r} is in the future")
    expires = _parse(row["expires"], _day, "expires", problems)
    if decision == "approve" and not row["expires"].strip():
        problems.append("an approval needs an expiry date (expires, YYYY-MM-DD)")
    if expires is not None:
        latest = latest_allowed_expiry(today, max_days)
        if expires < today:
            problems.append(f"expires {expires} is in the past")
        elif expires > latest:
            problems.append(f"expires {expires} is more than {max_days} days away (latest allowed: {latest})")
    return problems


def _parse(value: str, parser: Callable[[str], Any], column: str, problems: list[str]) -> Any:
    if not value.strip():
        return None
    try:
        return parser(value.strip())
    except ValueError:
        problems.append(f"{column} {value!r} is not a date (YYYY-MM-DD, or an ISO 8601 time)")
        return None


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record(row: dict[str, str], exported: dict[str, str], source: str, now: datetime) -> dict[str, Any]:
    expires = _day(row["expires"].strip()) if row["expires"].strip() else None
    return {
        "scan_id": int(exported["scan_id"]),
        **{column: exported[column] for column in (*GRANT_KEY, "identity_name", "policy_name")},
        "decision": row["decision"].strip().lower(),
        "reviewer": row["reviewer"].strip(),
        "reviewed_at": _moment(row["reviewed_at"].strip()) if row["reviewed_at"].strip() else now,
        "justification": row["justification"].strip(),
        # An exception lasts through its expiry day.
        "expires_at": datetime.combine(expires, datetime.max.time(), UTC) if expires else None,
        "fingerprints": exported["finding_ids"].split(),
        "source": source,
    }
