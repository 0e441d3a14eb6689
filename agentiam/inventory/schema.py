"""The inventory's tables: the only place that declares them.

Every scan keeps its own snapshot of the inventory (rows carry `scan_id`), so history is a query and a failed scan
never touches what an earlier scan collected. Policy documents are the exception: they are stored once, keyed by the
hash of their content, and shared by every scan that sees them.

Column types stay portable (no SQLite-only types): JSON is held as TEXT written by the store, timestamps as
timezone-aware DateTime.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


def _utc(**kwargs: object) -> object:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), **kwargs))  # type: ignore[arg-type]


def _json(default: str = "{}") -> object:
    """JSON text; the column default matters because the store writes with Core inserts, not the ORM."""
    return Field(default=default, sa_column=Column(Text, nullable=False, default=default))


class Migration(SQLModel, table=True):
    __tablename__ = "migration"
    version: int = Field(primary_key=True)
    name: str
    applied_at: datetime = _utc(nullable=False)  # type: ignore[assignment]


class Scan(SQLModel, table=True):
    __tablename__ = "scan"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    finished_at: datetime | None = _utc()  # type: ignore[assignment]
    status: str = Field(index=True)  # running, complete, partial, failed
    tool_version: str
    config_json: str = _json()  # type: ignore[assignment]
    analyzed_at: datetime | None = _utc()  # type: ignore[assignment]


class CollectorRun(SQLModel, table=True):
    __tablename__ = "collector_run"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True)
    collector: str
    provider: str
    scope: str
    source: str  # "live" or the offline file
    status: str  # running, complete, failed
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    finished_at: datetime | None = _utc()  # type: ignore[assignment]
    counts_json: str = _json()  # type: ignore[assignment]
    api_calls: int = 0
    throttled: int = 0


class Identity(SQLModel, table=True):
    __tablename__ = "identity"
    __table_args__ = (Index("ix_identity_scan_uid", "scan_id", "uid", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")
    collector_run_id: int = Field(foreign_key="collector_run.id")
    uid: str
    provider: str
    identity_kind: str
    name: str
    native_id: str
    scope: str
    path: str | None = None
    tags_json: str = _json()  # type: ignore[assignment]
    created_at: datetime | None = _utc()  # type: ignore[assignment]
    last_used_at: datetime | None = _utc()  # type: ignore[assignment]
    owner: str | None = None
    is_agent: bool = False
    agent_evidence_json: str = _json("[]")  # type: ignore[assignment]
    attributes_json: str = _json()  # type: ignore[assignment]


class Workload(SQLModel, table=True):
    __tablename__ = "workload"
    __table_args__ = (Index("ix_workload_scan_uid", "scan_id", "uid", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")
    collector_run_id: int = Field(foreign_key="collector_run.id")
    uid: str
    provider: str
    workload_kind: str
    name: str
    scope: str
    tags_json: str = _json()  # type: ignore[assignment]
    is_agent: bool = False
    agent_evidence_json: str = _json("[]")  # type: ignore[assignment]
    attributes_json: str = _json()  # type: ignore[assignment]


class Binding(SQLModel, table=True):
    __tablename__ = "binding"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True)
    collector_run_id: int = Field(foreign_key="collector_run.id")
    workload_uid: str
    identity_uid: str
    mechanism: str
    attributes_json: str = _json()  # type: ignore[assignment]


class Policy(SQLModel, table=True):
    """A permission document, once per distinct content."""

    __tablename__ = "policy"
    hash: str = Field(primary_key=True)
    provider: str
    policy_kind: str
    document_json: str = Field(sa_column=Column(Text, nullable=False))


class Grant(SQLModel, table=True):
    __tablename__ = "grant"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")
    collector_run_id: int = Field(foreign_key="collector_run.id")
    identity_uid: str
    policy_hash: str = Field(foreign_key="policy.hash")
    policy_name: str
    policy_ref: str
    policy_source: str
    grant_kind: str
    via: str | None = None
    scope: str | None = None
    attributes_json: str = _json()  # type: ignore[assignment]
    __table_args__ = (Index("ix_grant_scan_identity", "scan_id", "identity_uid"),)


class Trust(SQLModel, table=True):
    __tablename__ = "trust"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")
    collector_run_id: int = Field(foreign_key="collector_run.id")
    identity_uid: str
    principal_type: str
    principal: str
    actions_json: str = _json("[]")  # type: ignore[assignment]
    conditions_json: str = _json()  # type: ignore[assignment]
    effect: str = "Allow"
    __table_args__ = (Index("ix_trust_scan_identity", "scan_id", "identity_uid"),)


class Usage(SQLModel, table=True):
    __tablename__ = "usage"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True)
    collector_run_id: int = Field(foreign_key="collector_run.id")
    subject_uid: str
    usage_kind: str
    last_used_at: datetime | None = _utc()  # type: ignore[assignment]
    source: str
    detail_json: str = _json()  # type: ignore[assignment]


class Credential(SQLModel, table=True):
    __tablename__ = "credential"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True)
    collector_run_id: int = Field(foreign_key="collector_run.id")
    uid: str
    holder_uid: str
    credential_kind: str
    name: str
    fingerprint: str | None = None
    status: str | None = None
    created_at: datetime | None = _utc()  # type: ignore[assignment]
    last_used_at: datetime | None = _utc()  # type: ignore[assignment]
    attributes_json: str = _json()  # type: ignore[assignment]


class CollectionIssue(SQLModel, table=True):
    """A thing a collector could not read or understand: reported, never silently dropped."""

    __tablename__ = "collection_issue"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True)
    collector_run_id: int = Field(foreign_key="collector_run.id")
    subject_uid: str | None = None
    source: str
    problem: str = Field(sa_column=Column(Text, nullable=False))
    severity: str = "error"


class Finding(SQLModel, table=True):
    """One rule result in one scan. The fingerprint ties the same finding together across scans."""

    __tablename__ = "finding"
    __table_args__ = (
        Index("ix_finding_scan_fingerprint", "scan_id", "fingerprint", unique=True),
        Index("ix_finding_fingerprint", "fingerprint"),
    )
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")
    fingerprint: str
    rule_id: str
    category: str
    severity: str
    base_severity: str
    title: str
    message: str = Field(sa_column=Column(Text, nullable=False))
    subject_uid: str
    subject_name: str
    subject_kind: str
    provider: str
    scope: str
    collector: str
    subject_is_agent: bool = False
    evidence_json: str = _json()  # type: ignore[assignment]
    remediation: str = Field(default="", sa_column=Column(Text, nullable=False))
    references_json: str = _json("[]")  # type: ignore[assignment]
    status: str  # new, persisting, resolved
    first_seen_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    last_seen_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    first_seen_scan_id: int


class ReviewDecision(SQLModel, table=True):
    """A reviewer's decision on one row of an access review (`agentiam review import`); the latest per row counts."""

    __tablename__ = "review_decision"
    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id")  # the scan the review was exported from
    identity_uid: str = Field(index=True)
    identity_name: str
    # The grant the row is about; all empty for an identity that holds no grant.
    grant_kind: str = ""
    policy_ref: str = ""
    policy_name: str = ""
    grant_via: str = ""
    grant_scope: str = ""
    decision: str  # approve, revoke, keep, reduce
    reviewer: str
    reviewed_at: datetime = _utc(nullable=False)  # type: ignore[assignment]
    justification: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime | None = _utc()  # type: ignore[assignment]
    fingerprints_json: str = _json("[]")  # type: ignore[assignment]  # the related findings at review time
    source: str  # "<file> line <n>"
    imported_at: datetime = _utc(nullable=False)  # type: ignore[assignment]


INVENTORY_TABLES = (Identity, Workload, Binding, Grant, Trust, Usage, Credential, CollectionIssue)
