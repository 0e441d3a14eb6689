"""Read one analysed scan from the store into the ReportData that every reporter renders."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from agentiam import __version__
from agentiam.errors import UsageError
from agentiam.findings.suppressions import Suppression, apply_suppressions
from agentiam.history import diff_scans
from agentiam.inventory import views
from agentiam.inventory.store import Store
from agentiam.reports.access_review import review_rows
from agentiam.reports.model import (
    CollectorRunRow,
    FindingRow,
    IdentityRow,
    IssueRow,
    ReportData,
    ScanChanges,
    ScanSummary,
    WorkloadRow,
)
from agentiam.reports.review_state import decisions_in_force, overdue_revocations, review_exceptions

log = logging.getLogger(__name__)


def resolve_scan_id(store: Store, scan_id: int | None) -> int:
    with store.read() as conn:
        chosen = scan_id if scan_id is not None else views.latest_scan_id(conn, analyzed=True)
        if chosen is None or views.scan(conn, chosen) is None:
            which = f" with id {scan_id}" if scan_id else ""
            raise UsageError(f"{store.location}: no analysed scan{which}; run `agentiam scan` first")
        return chosen


def load_report_data(
    store: Store, scan_id: int, suppressions: Sequence[Suppression] = (), *, today: date | None = None
) -> ReportData:
    """The scan as reports render it. `suppressions` (from a suppressions file) and the approved access-review
    exceptions mark the findings they cover, here, so that every report and the gate agree."""
    today = today or datetime.now(UTC).date()
    with store.read() as conn:
        scan = views.scan(conn, scan_id)
        assert scan is not None
        runs = views.collector_runs(conn, scan_id)
        findings = views.findings(conn, scan_id)
        identities = views.identities(conn, scan_id)
        workloads = views.workloads(conn, scan_id)
        bindings = views.bindings(conn, scan_id)
        issues = views.issues(conn, scan_id)
        decisions = decisions_in_force(views.review_decisions(conn))
        grants = views.grants(conn, scan_id) if any(d["decision"] == "revoke" for d in decisions) else None
        previous_id = views.previous_analyzed_scan_id(conn, scan_id)

    finding_rows = [
        FindingRow(
            rule_id=f.rule_id,
            category=f.category,
            severity=f.severity,
            base_severity=f.base_severity,
            title=f.title,
            message=f.message,
            fingerprint=f.fingerprint,
            status=f.status,
            subject_uid=f.subject_uid,
            subject_name=f.subject_name,
            subject_kind=f.subject_kind,
            provider=f.provider,
            scope=f.scope,
            subject_is_agent=bool(f.subject_is_agent),
            evidence=f.evidence,
            remediation=f.remediation,
            references=list(f.references),
            first_seen_at=first_seen,  # type: ignore[arg-type]
            last_seen_at=last_seen,  # type: ignore[arg-type]
        )
        for f, first_seen, last_seen in zip(
            findings.itertuples(),
            views.utc_datetimes(findings["first_seen_at"]),
            views.utc_datetimes(findings["last_seen_at"]),
            strict=True,
        )
    ]
    finding_rows, expired = apply_suppressions(finding_rows, [*suppressions, *review_exceptions(decisions)], today)
    for warning in expired:
        log.warning("%s: %s", warning.source, warning.problem)
    open_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in finding_rows:
        if row.status != "resolved":
            open_counts[row.subject_uid][row.severity] += 1

    workload_names = {w.uid: (w.name, w.workload_kind) for w in workloads.itertuples()}
    runs_as: dict[str, list[dict[str, str]]] = defaultdict(list)
    identities_of: dict[str, list[dict[str, str]]] = defaultdict(list)
    for b in bindings.itertuples():
        name, kind = workload_names.get(b.workload_uid, (b.workload_uid, "unknown"))
        runs_as[b.identity_uid].append({"uid": b.workload_uid, "name": name, "kind": kind, "mechanism": b.mechanism})
        identities_of[b.workload_uid].append({"identity_uid": b.identity_uid, "mechanism": b.mechanism})
    workload_rows = [
        WorkloadRow(
            uid=w.uid,
            name=w.name,
            provider=w.provider,
            workload_kind=w.workload_kind,
            scope=w.scope,
            is_agent=bool(w.is_agent),
            agent_evidence=list(w.agent_evidence or []),
            runs_as=identities_of.get(w.uid, []),
        )
        for w in workloads.itertuples()
    ]

    identity_rows = [
        IdentityRow(
            uid=i.uid,
            name=i.name,
            provider=i.provider,
            identity_kind=i.identity_kind,
            scope=i.scope,
            is_agent=bool(i.is_agent),
            agent_evidence=list(i.agent_evidence),
            owner=i.owner or None,
            tags=dict(i.tags),
            last_used_at=last_used,
            created_at=created,
            finding_counts=dict(open_counts.get(i.uid, {})),
            workloads=runs_as.get(i.uid, []),
        )
        for i, last_used, created in zip(
            identities.itertuples(),
            views.utc_datetimes(identities["last_used_at"]),
            views.utc_datetimes(identities["created_at"]),
            strict=True,
        )
    ]
    summary = ScanSummary(
        id=scan_id,
        started_at=views.as_utc(scan["started_at"]),
        finished_at=views.as_utc(scan["finished_at"]),  # type: ignore[arg-type]
        status=scan["status"],
        collector_runs=[
            CollectorRunRow(
                collector=r.collector,
                scope=r.scope,
                status=r.status,
                error=r.error or None,
                counts=dict(r.counts),
                api_calls=int(r.api_calls),
                throttled=int(r.throttled),
            )
            for r in runs.itertuples()
        ],
    )
    issue_rows = [
        IssueRow(source=i.source, problem=i.problem, severity=i.severity, subject_uid=i.subject_uid or None)
        for i in issues.itertuples()
    ]
    data = ReportData(
        tool_version=__version__,
        generated_at=datetime.now(UTC),
        scan=summary,
        findings=finding_rows,
        identities=identity_rows,
        issues=issue_rows + expired,
        overdue_revocations=overdue_revocations(decisions, scan_id, grants, identities) if grants is not None else [],
        workloads=workload_rows,
        changes=_changes(store, previous_id, scan_id),
    )
    data.access_review = lambda: review_rows(store, data)
    return data


def _changes(store: Store, previous_id: int | None, scan_id: int) -> ScanChanges | None:
    if previous_id is None:
        return None
    diff = diff_scans(store, previous_id, scan_id, findings=False)
    return ScanChanges(
        from_scan=previous_id,
        new_agents=diff.new_agents,
        removed_agents=diff.removed_agents,
        new_identities=diff.new_identities,
        removed_identities=diff.removed_identities,
        granted=diff.granted,
        revoked=diff.revoked,
        changed_grants=diff.changed_grants,
    )
