"""Schema migrations, recorded in the `migration` table (the sqlite-utils way: numbered, applied once, in order).

A database written by a newer agentiam is refused, never rewritten: the code cannot know what the newer schema
means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, inspect, select
from sqlmodel import SQLModel

from agentiam.errors import DatabaseError
from agentiam.inventory import schema


@dataclass(frozen=True)
class MigrationStep:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _create_initial_schema(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn)


def _add_grant_attributes(conn: Connection) -> None:
    # A fresh database already has the column: step 1 creates the tables from the current schema.
    if "attributes_json" not in {column["name"] for column in inspect(conn).get_columns("grant")}:
        conn.exec_driver_sql("ALTER TABLE \"grant\" ADD COLUMN attributes_json TEXT NOT NULL DEFAULT '{}'")


def _add_review_decisions(conn: Connection) -> None:
    # checkfirst: a fresh database already has the table, created by step 1 from the current schema.
    schema.ReviewDecision.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


MIGRATIONS: tuple[MigrationStep, ...] = (
    MigrationStep(1, "initial schema", _create_initial_schema),
    MigrationStep(2, "grant attributes (assignment conditions, missing roles)", _add_grant_attributes),
    MigrationStep(3, "access-review decisions", _add_review_decisions),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The schema version of the database: 0 for an empty one."""
    tables = set(inspect(conn).get_table_names())
    if "migration" not in tables:
        if tables:
            raise DatabaseError(
                "this database has tables but no agentiam migration table: it is not an agentiam inventory "
                f"(found: {', '.join(sorted(tables)[:5])})"
            )
        return 0
    versions = conn.execute(select(schema.Migration.version)).scalars().all()  # type: ignore[call-overload]
    return max(versions, default=0)


def pending(conn: Connection) -> list[MigrationStep]:
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise DatabaseError(
            f"the database is at schema version {version}, newer than this agentiam understands "
            f"({LATEST_VERSION}); upgrade agentiam, or point --db at another file"
        )
    return [step for step in MIGRATIONS if step.version > version]


def upgrade(conn: Connection) -> list[MigrationStep]:
    """Apply every pending migration inside the caller's transaction; return what was applied."""
    steps = pending(conn)
    for step in steps:
        step.apply(conn)
        conn.execute(
            schema.Migration.__table__.insert().values(  # type: ignore[attr-defined]
                version=step.version, name=step.name, applied_at=datetime.now(UTC)
            )
        )
    return steps
