"""The read API over the inventory, for rules, reports and the CLI. Tables come back as pandas DataFrames.

Everything here is plain portable SQL through SQLAlchemy; JSON columns are decoded on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, inspect, select

from agentiam.inventory import schema

_JSON_COLUMNS = {
    "tags_json": "tags",
    "agent_evidence_json": "agent_evidence",
    "attributes_json": "attributes",
    "actions_json": "actions",
    "conditions_json": "conditions",
    "detail_json": "detail",
    "evidence_json": "evidence",
    "references_json": "references",
    "counts_json": "counts",
    "config_json": "config",
    "fingerprints_json": "fingerprints",
}
_BOOLEAN_COLUMNS = ("is_agent", "subject_is_agent")
_DATETIME_COLUMNS = (
    "created_at",
    "last_used_at",
    "started_at",
    "finished_at",
    "first_seen_at",
    "last_seen_at",
    "analyzed_at",
    "reviewed_at",
    "expires_at",
    "imported_at",
)


def _frame(conn: Connection, statement: Any) -> pd.DataFrame:
    frame = pd.read_sql(statement, conn)
    for column in frame.columns:
        # Text columns as plain Python objects: pandas' string arrays hand out their values one `__getitem__` at a
        # time, which made row iteration (itertuples, zip over columns) cost ~1 s per 10,000-role scan.
        # A NULL is None, never NaN (NaN is truthy, and not JSON).
        if pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(frame[column]):
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None) if values.isna().any() else values
    for raw, decoded in _JSON_COLUMNS.items():
        if raw in frame.columns:
            frame[decoded] = [json.loads(v) if v else None for v in frame.pop(raw)]
    for column in _BOOLEAN_COLUMNS:
        if column in frame.columns:  # an empty result has no dtype to infer: masks on it must still be boolean
            frame[column] = frame[column].astype(bool)
    for column in _DATETIME_COLUMNS:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="mixed")
    return frame


def as_utc(value: Any) -> datetime | None:
    """A timestamp read from the inventory (pandas, the driver, or NaT/None) as an aware UTC datetime, or None."""
    if value is None or pd.isna(value):  # NaT is an instance of datetime: test it first
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def utc_datetimes(column: pd.Series) -> list[datetime | None]:
    """A timestamp column as `as_utc` gives each value, converted a column at a time (per-value pandas access
    costs ~100x more at 30,000 findings)."""
    if len(column) and pd.api.types.is_datetime64_any_dtype(column):
        return [as_utc(value) for value in column.dt.to_pydatetime()]
    return [as_utc(value) for value in column]


def _in_scan(model: type, scan_id: int) -> Any:
    return select(model).where(model.scan_id == scan_id)  # type: ignore[attr-defined]


def scans(conn: Connection) -> pd.DataFrame:
    return _frame(conn, select(schema.Scan).order_by(schema.Scan.id))  # type: ignore[arg-type]


def latest_scan_id(conn: Connection, *, analyzed: bool = False) -> int | None:
    statement = select(schema.Scan.id).order_by(schema.Scan.id.desc()).limit(1)  # type: ignore[union-attr]
    if analyzed:
        statement = statement.where(schema.Scan.analyzed_at.is_not(None))  # type: ignore[union-attr]
    return conn.execute(statement).scalar()


def previous_analyzed_scan_id(conn: Connection, scan_id: int) -> int | None:
    return conn.execute(
        select(schema.Scan.id)
        .where(schema.Scan.id < scan_id, schema.Scan.analyzed_at.is_not(None))  # type: ignore[union-attr,operator]
        .order_by(schema.Scan.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).scalar()


def scan(conn: Connection, scan_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(schema.Scan).where(schema.Scan.id == scan_id)).first()
    return dict(row._mapping) if row else None


def collector_runs(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.CollectorRun, scan_id).order_by(schema.CollectorRun.id))


def identities(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Identity, scan_id).order_by(schema.Identity.uid))


def workloads(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Workload, scan_id).order_by(schema.Workload.uid))


def bindings(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Binding, scan_id))


def grants(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Grant, scan_id).order_by(schema.Grant.id))


def trusts(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Trust, scan_id))


def usage(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Usage, scan_id))


def credentials(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Credential, scan_id))


def issues(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.CollectionIssue, scan_id).order_by(schema.CollectionIssue.id))


def findings(conn: Connection, scan_id: int) -> pd.DataFrame:
    return _frame(conn, _in_scan(schema.Finding, scan_id).order_by(schema.Finding.id))


def review_decisions(conn: Connection) -> pd.DataFrame:
    """Every imported access-review decision, oldest first: for one review row, the last one is in force.

    Empty for a database not yet upgraded to the table (readers do not migrate).
    """
    if not inspect(conn).has_table(schema.ReviewDecision.__tablename__):
        return pd.DataFrame(columns=list(schema.ReviewDecision.model_fields))
    return _frame(conn, select(schema.ReviewDecision).order_by(schema.ReviewDecision.id))  # type: ignore[arg-type]


def first_sightings(conn: Connection, before_scan_id: int) -> dict[str, dict[str, Any]]:
    """When each finding of the analysed scans before `before_scan_id` was first seen, by fingerprint: one query."""
    finding, scan_table = schema.Finding.__table__, schema.Scan.__table__  # type: ignore[attr-defined]
    analysed = select(scan_table.c.id).where(scan_table.c.id < before_scan_id, scan_table.c.analyzed_at.is_not(None))
    rows = conn.execute(
        select(finding.c.fingerprint, func.min(finding.c.first_seen_at), func.min(finding.c.first_seen_scan_id))
        .where(finding.c.scan_id.in_(analysed))
        .group_by(finding.c.fingerprint)
    )
    return {fp: {"first_seen_at": as_utc(at), "first_seen_scan_id": int(scan)} for fp, at, scan in rows}


def policy_documents(conn: Connection, hashes: Iterable[str]) -> dict[str, Any]:
    """Documents by content hash, decoded once each."""
    wanted = sorted(set(hashes))
    documents: dict[str, Any] = {}
    # Chunked to stay under every driver's bound-parameter limit.
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        rows = conn.execute(
            select(schema.Policy.hash, schema.Policy.document_json).where(schema.Policy.hash.in_(chunk))  # type: ignore[attr-defined]
        )
        documents.update({h: json.loads(doc) for h, doc in rows})
    return documents


def find_identity(conn: Connection, scan_id: int, uid_or_name: str) -> dict[str, Any] | None:
    """An identity of the scan by uid, native id (ARN) or unique name."""
    frame = identities(conn, scan_id)
    for column in ("uid", "native_id", "name"):
        match = frame[frame[column] == uid_or_name]
        if len(match) == 1:
            return match.iloc[0].to_dict()  # type: ignore[no-any-return]
    return None
