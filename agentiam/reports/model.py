"""What every reporter renders: one scan's findings and inventory, read once from the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class FindingRow:
    rule_id: str
    category: str
    severity: str
    base_severity: str
    title: str
    message: str
    fingerprint: str
    status: str  # new, persisting, resolved
    subject_uid: str
    subject_name: str
    subject_kind: str
    provider: str
    scope: str
    subject_is_agent: bool
    evidence: dict[str, Any]
    remediation: str
    references: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    # Set when an unexpired suppression (suppressions file) or access-review exception covers the finding:
    # {"kind": "suppression"|"exception", "owner", "reason", "expires" (ISO date), "source"}. A suppressed finding is
    # still reported everywhere, marked as such; only the gate ignores it.
    suppression: dict[str, Any] | None = None

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None


@dataclass(frozen=True)
class CollectorRunRow:
    collector: str
    scope: str
    status: str  # complete, failed
    error: str | None
    counts: dict[str, int]
    api_calls: int
    throttled: int


@dataclass(frozen=True)
class ScanSummary:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str  # running, complete, partial, failed
    collector_runs: list[CollectorRunRow]


@dataclass(frozen=True)
class IdentityRow:
    uid: str
    name: str
    provider: str
    identity_kind: str
    scope: str
    is_agent: bool
    agent_evidence: list[dict[str, str]]
    owner: str | None
    tags: dict[str, str]
    last_used_at: datetime | None
    created_at: datetime | None
    finding_counts: dict[str, int]  # severity -> open findings
    workloads: list[dict[str, str]]  # workloads that run as this identity: uid, name, kind, mechanism


@dataclass(frozen=True)
class IssueRow:
    source: str
    problem: str
    severity: str
    subject_uid: str | None


@dataclass(frozen=True)
class OverdueRevocation:
    """An access review decided to revoke a grant (or an identity), and a later scan still finds it."""

    identity_uid: str
    identity_name: str
    grant_kind: str  # "" for an identity-level row (an identity that held no grant)
    policy_name: str
    policy_ref: str
    grant_via: str
    grant_scope: str
    reviewer: str
    reviewed_at: datetime
    justification: str
    decided_in_scan: int  # the scan the review was exported from
    source: str  # "<review file> line <n>"


@dataclass
class ReportData:
    tool_version: str
    generated_at: datetime
    scan: ScanSummary
    findings: list[FindingRow]  # open findings first, then the ones this scan resolved
    identities: list[IdentityRow]
    issues: list[IssueRow] = field(default_factory=list)
    overdue_revocations: list[OverdueRevocation] = field(default_factory=list)
    # The access-review rows (one dict per identity x grant, keyed by the review CSV's columns), computed on demand:
    # they read grants and policy documents, which no other report needs. None for data not read from a store.
    access_review: Callable[[], list[dict[str, str]]] | None = None

    @property
    def open_findings(self) -> list[FindingRow]:
        return [f for f in self.findings if f.status != "resolved"]

    @property
    def agents(self) -> list[IdentityRow]:
        return [i for i in self.identities if i.is_agent]

    def severity_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.open_findings:
            counts[finding.severity] += 1
        return counts

    def status_counts(self) -> dict[str, int]:
        counts = {"new": 0, "reopened": 0, "persisting": 0, "resolved": 0}
        for finding in self.findings:
            counts[finding.status] = counts.get(finding.status, 0) + 1
        return counts
