"""The inventory store: engine set-up, scan bookkeeping and bulk writes.

This module is the dialect layer. SQLite specifics (WAL, busy timeout, `BEGIN IMMEDIATE`) and the upsert spelling
live here and nowhere else, so that the rest of the code runs unchanged on PostgreSQL.

Writes are SQLAlchemy Core `executemany` inserts of pre-serialised rows: ORM unit-of-work costs ~10x more per row.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from agentiam.errors import DatabaseError
from agentiam.inventory import migrations, schema
from agentiam.inventory.records import (
    AnyRecord,
    BindingRecord,
    CredentialRecord,
    GrantRecord,
    IdentityRecord,
    IssueRecord,
    PolicyRecord,
    TrustRecord,
    UsageRecord,
    WorkloadRecord,
)

BUSY_TIMEOUT_MS = 30_000


def database_url(db: str) -> str:
    """`--db` takes a file path or a SQLAlchemy URL."""
    return db if "://" in db else f"sqlite:///{Path(db).expanduser()}"


_ENCODER = json.JSONEncoder(sort_keys=True, default=str)  # one encoder: json.dumps(**kwargs) builds one per call


def _dumps(value: Any) -> str:
    if not value and isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return _ENCODER.encode(value)


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take transaction control from the driver so that writes can say BEGIN IMMEDIATE: a writer then waits for
        # the lock up front (busy timeout) instead of failing half-way when a reader upgrades.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("agentiam_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _insert_ignoring_duplicates(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    elif dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - other dialects are not supported yet
        raise DatabaseError(f"unsupported database dialect {dialect!r}")
    conn.execute(statement, list(rows))


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


# Dialect spellings of "insert, skipping rows that would break a unique index": (prefix, suffix).
_SKIP_DUPLICATES = {"sqlite": ("INSERT OR IGNORE", ""), "postgresql": ("INSERT", " ON CONFLICT DO NOTHING")}


def _bulk_insert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, skip_duplicates: bool = False
) -> int:
    """executemany straight to the driver, with SQLAlchemy's own per-column bind processing (e.g. datetimes).

    Core's per-row parameter compilation costs more than SQLite's insert itself; this keeps the type handling and
    drops the overhead, for any driver whose paramstyle is positional. Returns the rows inserted.
    """
    if not rows:
        return 0
    dialect = conn.dialect
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:  # pragma: no cover - named-parameter drivers take the Core path
        return conn.execute(table.insert(), list(rows)).rowcount
    prefix, suffix = _SKIP_DUPLICATES[dialect.name] if skip_duplicates else ("INSERT", "")
    columns = list(rows[0])
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    preparer = dialect.identifier_preparer
    statement = (
        f"{prefix} INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))}){suffix}"
    )
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    extract = itemgetter(*columns)
    values: list[Any] = [extract(row) for row in rows]
    if len(columns) == 1:
        values = [(v,) for v in values]
    if active:
        for n, row_values in enumerate(values):
            record = list(row_values)
            for i, process in active:
                if record[i] is not None:
                    record[i] = process(record[i])
            values[n] = tuple(record)
    return conn.exec_driver_sql(statement, values).rowcount


def _evidence(evidence: Sequence[Any]) -> str:
    return _dumps([{"reason": e.reason, "detail": e.detail} for e in evidence])


def _identity_row(r: IdentityRecord) -> dict[str, Any]:
    return {
        "uid": r.uid,
        "provider": r.provider,
        "identity_kind": r.identity_kind,
        "name": r.name,
        "native_id": r.native_id,
        "scope": r.scope,
        "path": r.path,
        "tags_json": _dumps(r.tags),
        "created_at": r.created_at,
        "last_used_at": r.last_used_at,
        "owner": r.owner,
        "is_agent": r.is_agent,
        "agent_evidence_json": _evidence(r.agent_evidence),
        "attributes_json": _dumps(r.attributes),
    }


def _workload_row(r: WorkloadRecord) -> dict[str, Any]:
    return {
        "uid": r.uid,
        "provider": r.provider,
        "workload_kind": r.workload_kind,
        "name": r.name,
        "scope": r.scope,
        "tags_json": _dumps(r.tags),
        "is_agent": r.is_agent,
        "agent_evidence_json": _evidence(r.agent_evidence),
        "attributes_json": _dumps(r.attributes),
    }


def _binding_row(r: BindingRecord) -> dict[str, Any]:
    return {
        "workload_uid": r.workload_uid,
        "identity_uid": r.identity_uid,
        "mechanism": r.mechanism,
        "attributes_json": _dumps(r.attributes),
    }


def _grant_row(r: GrantRecord) -> dict[str, Any]:
    return {
        "identity_uid": r.identity_uid,
        "policy_hash": r.policy_hash,
        "policy_name": r.policy_name,
        "policy_ref": r.policy_ref,
        "policy_source": r.policy_source,
        "grant_kind": r.grant_kind,
        "via": r.via,
        "scope": r.scope,
        "attributes_json": _dumps(r.attributes),
    }


def _trust_row(r: TrustRecord) -> dict[str, Any]:
    return {
        "identity_uid": r.identity_uid,
        "principal_type": r.principal_type,
        "principal": r.principal,
        "actions_json": _dumps(r.actions),
        "conditions_json": _dumps(r.conditions),
        "effect": r.effect,
    }


def _usage_row(r: UsageRecord) -> dict[str, Any]:
    return {
        "subject_uid": r.subject_uid,
        "usage_kind": r.usage_kind,
        "last_used_at": r.last_used_at,
        "source": r.source,
        "detail_json": _dumps(r.detail),
    }


def _credential_row(r: CredentialRecord) -> dict[str, Any]:
    row = r.model_dump(exclude={"attributes"})
    row["attributes_json"] = _dumps(r.attributes)
    return row


def _issue_row(r: IssueRecord) -> dict[str, Any]:
    return r.model_dump()


# Record type -> (table, row builder, counts key). Policies are handled apart: they are shared across scans.
_ROW_WRITERS: dict[type, tuple[type, Any, str]] = {
    IdentityRecord: (schema.Identity, _identity_row, "identities"),
    WorkloadRecord: (schema.Workload, _workload_row, "workloads"),
    BindingRecord: (schema.Binding, _binding_row, "bindings"),
    GrantRecord: (schema.Grant, _grant_row, "grants"),
    TrustRecord: (schema.Trust, _trust_row, "trusts"),
    UsageRecord: (schema.Usage, _usage_row, "usage"),
    CredentialRecord: (schema.Credential, _credential_row, "credentials"),
    IssueRecord: (schema.CollectionIssue, _issue_row, "issues"),
}


class Store:
    """One inventory database. Create it with `Store.open`."""

    def __init__(self, engine: Engine, location: str) -> None:
        self.engine = engine
        self.location = location

    @classmethod
    def open(cls, db: str, *, migrate: bool = True, existing: bool = False) -> Store:
        """Open the inventory at `db`, a path or a SQLAlchemy URL.

        `migrate` creates or upgrades the schema (writers); `existing` refuses an absent or empty inventory
        (readers), so that a typo in --db is an error rather than an empty report.
        """
        url = database_url(db)
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if existing and not path.exists():
                raise DatabaseError(f"{db}: no inventory here; run `agentiam scan` first, or check --db")
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000} if "sqlite" in url else {})
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        store = cls(engine, db)
        with store._translate_errors():
            if migrate:
                store.upgrade()
            else:
                with store.engine.connect() as conn:
                    steps = migrations.pending(conn)  # refuses a newer database early
                if existing and steps and steps[0].version == 1:
                    raise DatabaseError(f"{db}: the inventory is empty; run `agentiam scan` first")
        return store

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sa_exc.DatabaseError as exc:
            original = getattr(exc, "orig", exc)
            message = str(original)
            if "not a database" in message or "malformed" in message:
                raise DatabaseError(
                    f"{self.location}: the file is not a readable SQLite database ({message})"
                ) from None
            if "locked" in message or "busy" in message:
                raise DatabaseError(f"{self.location}: the database is locked by another writer ({message})") from None
            raise DatabaseError(f"{self.location}: {message}") from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite)."""
        with self._translate_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(agentiam_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._translate_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    # -- schema ----------------------------------------------------------------------------------------------

    def upgrade(self) -> list[migrations.MigrationStep]:
        with self.write() as conn:
            return migrations.upgrade(conn)

    def info(self) -> dict[str, Any]:
        with self.read() as conn:
            version = migrations.current_version(conn)
            counts = {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (_table(m) for m in (schema.Scan, schema.Identity, schema.Policy, schema.Finding))
            }
            last = conn.execute(select(schema.Scan).order_by(schema.Scan.id.desc()).limit(1)).first()  # type: ignore[union-attr]
        return {
            "database": self.location,
            "dialect": self.engine.dialect.name,
            "schema_version": version,
            "latest_schema_version": migrations.LATEST_VERSION,
            "rows": counts,
            "last_scan": dict(last._mapping) if last else None,
        }

    # -- scan bookkeeping ------------------------------------------------------------------------------------

    def begin_scan(self, tool_version: str, config: Mapping[str, Any]) -> int:
        with self.write() as conn:
            result = conn.execute(
                _table(schema.Scan)
                .insert()
                .values(
                    started_at=datetime.now(UTC),
                    status="running",
                    tool_version=tool_version,
                    config_json=_dumps(config),
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def begin_collector_run(self, scan_id: int, collector: str, provider: str, scope: str, source: str) -> int:
        with self.write() as conn:
            result = conn.execute(
                _table(schema.CollectorRun)
                .insert()
                .values(
                    scan_id=scan_id,
                    collector=collector,
                    provider=provider,
                    scope=scope,
                    source=source,
                    status="running",
                    started_at=datetime.now(UTC),
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def complete_collector_run(
        self, scan_id: int, run_id: int, records: Iterable[AnyRecord], *, api_calls: int = 0, throttled: int = 0
    ) -> dict[str, int]:
        """Write one (collector, scope)'s records and settle its run, in one transaction.

        A run whose records include error issues (a malformed entry skipped) is `partial`: the scan says so, and
        the lifecycle does not resolve findings of that scope.
        """
        grouped: dict[type, list[AnyRecord]] = defaultdict(list)
        for record in records:
            grouped[type(record)].append(record)
        counts: Counter[str] = Counter()
        with self.write() as conn:
            policies = {p.hash: p for p in grouped.pop(PolicyRecord, [])}  # type: ignore[attr-defined]
            _insert_ignoring_duplicates(
                conn,
                _table(schema.Policy),
                [
                    {
                        "hash": h,
                        "provider": p.provider,
                        "policy_kind": p.policy_kind,
                        "document_json": p.canonical,
                    }
                    for h, p in policies.items()
                ],
            )
            counts["policies"] = len(policies)
            for record_type, items in grouped.items():
                model, to_row, key = _ROW_WRITERS[record_type]
                rows = [to_row(item) for item in items]
                for row in rows:
                    row["scan_id"] = scan_id
                    row["collector_run_id"] = run_id
                # The same identity or workload may come twice in one scan (an offline file beside a live
                # collection, two overlapping exports): the first one stands, the scan goes on.
                unique = model in (schema.Identity, schema.Workload)
                inserted = _bulk_insert(conn, _table(model), rows, skip_duplicates=unique)
                counts[key] = inserted
                if inserted < len(rows):
                    counts[f"{key}_already_collected"] = len(rows) - inserted
            errors = [r for r in grouped.get(IssueRecord, []) if r.severity == "error"]  # type: ignore[attr-defined]
            status, error = "complete", None
            if errors:
                first = errors[0]
                status, error = "partial", f"{len(errors)} problem(s); first: {first.source}: {first.problem}"
            self._finish_run(conn, run_id, status, error, dict(counts), api_calls, throttled)
        return dict(counts)

    def set_collector_run_scope(self, run_id: int, scope: str) -> None:
        """An offline file names its scope (the account) only once it has been read."""
        table = _table(schema.CollectorRun)
        with self.write() as conn:
            conn.execute(update(table).where(table.c.id == run_id).values(scope=scope))

    def fail_collector_run(self, run_id: int, error: str, *, api_calls: int = 0, throttled: int = 0) -> None:
        with self.write() as conn:
            self._finish_run(conn, run_id, "failed", error, {}, api_calls, throttled)

    @staticmethod
    def _finish_run(
        conn: Connection,
        run_id: int,
        status: str,
        error: str | None,
        counts: dict[str, int],
        api_calls: int,
        throttled: int,
    ) -> None:
        conn.execute(
            update(_table(schema.CollectorRun))
            .where(_table(schema.CollectorRun).c.id == run_id)
            .values(
                status=status,
                error=error,
                finished_at=datetime.now(UTC),
                counts_json=_dumps(counts),
                api_calls=api_calls,
                throttled=throttled,
            )
        )

    def add_agent_evidence(self, scan_id: int, evidence: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
        """Mark identities of a scan as agents', appending evidence found after collection (bindings)."""
        table = _table(schema.Identity)
        with self.write() as conn:
            for uid, new in evidence.items():
                current = conn.execute(
                    select(table.c.agent_evidence_json).where(table.c.scan_id == scan_id, table.c.uid == uid)
                ).scalar()
                if current is None:
                    continue
                merged = json.loads(current)
                merged += [item for item in new if item not in merged]
                conn.execute(
                    update(table)
                    .where(table.c.scan_id == scan_id, table.c.uid == uid)
                    .values(is_agent=True, agent_evidence_json=_dumps(merged))
                )

    def resolve_binding_aliases(self, scan_id: int, aliases: Mapping[str, str]) -> int:
        """Point a scan's bindings that name an alias (a uid one side could only guess) at the canonical uid.

        The alias each end was written with stays in the binding's attributes (`resolved_aliases`), as evidence of
        how the link was made. Returns the bindings rewritten.
        """
        table = _table(schema.Binding)
        columns = ("workload_uid", "identity_uid")
        with self.write() as conn:
            rows = conn.execute(
                select(table.c.id, table.c.workload_uid, table.c.identity_uid, table.c.attributes_json).where(
                    table.c.scan_id == scan_id
                )
            ).all()
            rewritten = 0
            for row in rows:
                found = {column: getattr(row, column) for column in columns if getattr(row, column) in aliases}
                if not found:
                    continue
                attributes = json.loads(row.attributes_json or "{}")
                attributes["resolved_aliases"] = {**attributes.get("resolved_aliases", {}), **found}
                values = {column: aliases[alias] for column, alias in found.items()}
                conn.execute(
                    update(table).where(table.c.id == row.id).values(**values, attributes_json=_dumps(attributes))
                )
                rewritten += 1
        return rewritten

    def finish_scan(self, scan_id: int) -> str:
        """Settle the scan's status from its collector runs: complete, partial (some failed) or failed (all)."""
        with self.write() as conn:
            statuses = (
                conn.execute(select(schema.CollectorRun.status).where(schema.CollectorRun.scan_id == scan_id))
                .scalars()
                .all()
            )
            if statuses and all(s == "complete" for s in statuses):
                status = "complete"
            elif any(s in ("complete", "partial") for s in statuses):
                status = "partial"
            else:
                status = "failed"
            conn.execute(
                update(_table(schema.Scan))
                .where(_table(schema.Scan).c.id == scan_id)
                .values(status=status, finished_at=datetime.now(UTC))
            )
        return status

    # -- findings --------------------------------------------------------------------------------------------

    def add_review_decisions(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record access-review decisions, all or none (one transaction). Each row's `fingerprints` is a list."""
        imported_at = datetime.now(UTC)
        values = [
            {
                **{key: value for key, value in row.items() if key != "fingerprints"},
                "fingerprints_json": _dumps(sorted(row["fingerprints"])),
                "imported_at": imported_at,
            }
            for row in rows
        ]
        if not values:
            return
        with self.write() as conn:
            conn.execute(_table(schema.ReviewDecision).insert(), values)

    def replace_findings(self, scan_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store one scan's analysis; re-analysing a scan replaces its findings."""
        table = _table(schema.Finding)
        with self.write() as conn:
            conn.execute(table.delete().where(table.c.scan_id == scan_id))
            _bulk_insert(conn, table, [dict(row, scan_id=scan_id) for row in rows])
            conn.execute(
                update(_table(schema.Scan))
                .where(_table(schema.Scan).c.id == scan_id)
                .values(analyzed_at=datetime.now(UTC))
            )
