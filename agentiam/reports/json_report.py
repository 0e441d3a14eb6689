"""`report --format json`: the whole scan for machines, in a fixed key order and a stable finding order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from agentiam.reports.model import (
    SEVERITIES,
    CollectorRunRow,
    FindingRow,
    IdentityRow,
    IssueRow,
    OverdueRevocation,
    ReportData,
    ScanSummary,
)
from agentiam.reports.safety import iso_utc, sorted_findings, sorted_issues, strict_json

TOOL_NAME = "agentiam"


class JsonReporter:
    format: ClassVar[str] = "json"
    filename: ClassVar[str] = "findings.json"

    def render(self, data: ReportData) -> str:
        return "".join(self.stream(data))

    def stream(self, data: ReportData) -> Iterator[str]:
        # Keys are written in the order the document builds them (not sorted), so the layout reads top-down:
        # tool, scan, summary, then the detail lists. Lists are produced element by element, never held whole.
        return layout(_sections(data))


def layout(sections: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """Top-level keys one per line, and each element of a top-level list on its own compact line.

    Readable and diff-friendly (one finding per line) while staying on the C JSON encoder: an `indent` makes the
    json module fall back to pure Python, several times slower on a report of 10,000 roles. A section whose value
    is an iterator is written as a list, one element at a time.
    """
    yield "{"
    separator = "\n"
    for key, value in sections:
        yield f"{separator}  {strict_json(key)}: "
        separator = ",\n"
        if isinstance(value, Iterator | list):
            yield from list_lines(value, indent="  ")
        else:
            yield _compact(value)
    yield "\n}\n"


def list_lines(items: Iterable[Any], indent: str = "") -> Iterator[str]:
    """A JSON list with each element on its own compact line; `indent` is the depth the list itself sits at."""
    opened = False
    for item in items:
        yield f"{',' if opened else '['}\n{indent}  {_compact(item)}"
        opened = True
    yield f"\n{indent}]" if opened else "[]"


def _compact(value: Any) -> str:
    return strict_json(value, ensure_ascii=False, separators=(", ", ": "))


def _sections(data: ReportData) -> list[tuple[str, Any]]:
    return [
        ("tool", {"name": TOOL_NAME, "version": data.tool_version}),
        ("generated_at", iso_utc(data.generated_at)),
        ("scan", _scan(data.scan)),
        ("summary", _summary(data)),
        ("findings", map(_finding, sorted_findings(data.findings))),
        ("identities", map(_identity, sorted(data.identities, key=lambda i: i.uid))),
        ("issues", map(_issue, sorted_issues(data.issues))),
        ("overdue_revocations", map(_overdue, data.overdue_revocations)),
    ]


def report_document(data: ReportData) -> dict[str, Any]:
    """The JSON document as plain Python, for callers that want to embed or post-process it."""
    return {key: list(value) if isinstance(value, Iterator) else value for key, value in _sections(data)}


def _scan(scan: ScanSummary) -> dict[str, Any]:
    runs = sorted(scan.collector_runs, key=lambda run: (run.collector, run.scope))
    return {
        "id": scan.id,
        "status": scan.status,
        "started_at": iso_utc(scan.started_at),
        "finished_at": iso_utc(scan.finished_at),
        "collector_runs": [_collector_run(run) for run in runs],
    }


def _collector_run(run: CollectorRunRow) -> dict[str, Any]:
    return {
        "collector": run.collector,
        "scope": run.scope,
        "status": run.status,
        "error": run.error,
        "counts": run.counts,
        "api_calls": run.api_calls,
        "throttled": run.throttled,
    }


def _summary(data: ReportData) -> dict[str, Any]:
    return {
        "by_severity": data.severity_counts(),
        "by_status": data.status_counts(),
        "identities": len(data.identities),
        "agents": len(data.agents),
        "findings_open": len(data.open_findings),
        "findings_suppressed": sum(1 for f in data.open_findings if f.suppressed),
        "overdue_revocations": len(data.overdue_revocations),
    }


def _finding(finding: FindingRow) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "category": finding.category,
        "severity": finding.severity,
        "base_severity": finding.base_severity,
        "title": finding.title,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
        "status": finding.status,
        "subject": {
            "uid": finding.subject_uid,
            "name": finding.subject_name,
            "kind": finding.subject_kind,
            "provider": finding.provider,
            "scope": finding.scope,
            "is_agent": finding.subject_is_agent,
        },
        "evidence": finding.evidence,
        "remediation": finding.remediation,
        "references": finding.references,
        "first_seen_at": iso_utc(finding.first_seen_at),
        "last_seen_at": iso_utc(finding.last_seen_at),
        "suppressed": finding.suppressed,
        "suppression": finding.suppression,  # kind, owner, reason, expires, source; null when not suppressed
    }


def _overdue(overdue: OverdueRevocation) -> dict[str, Any]:
    return {
        "identity": {"uid": overdue.identity_uid, "name": overdue.identity_name},
        "grant": {
            "kind": overdue.grant_kind,
            "policy_name": overdue.policy_name,
            "policy_ref": overdue.policy_ref,
            "via": overdue.grant_via,
            "scope": overdue.grant_scope,
        },
        "reviewer": overdue.reviewer,
        "reviewed_at": iso_utc(overdue.reviewed_at),
        "justification": overdue.justification,
        "decided_in_scan": overdue.decided_in_scan,
        "source": overdue.source,
    }


def _identity(identity: IdentityRow) -> dict[str, Any]:
    return {
        "uid": identity.uid,
        "name": identity.name,
        # "kind", as in a finding's subject, so that consumers join the two on the same field names.
        "kind": identity.identity_kind,
        "provider": identity.provider,
        "scope": identity.scope,
        "is_agent": identity.is_agent,
        "agent_evidence": identity.agent_evidence,
        "owner": identity.owner,
        "tags": identity.tags,
        "created_at": iso_utc(identity.created_at),
        "last_used_at": iso_utc(identity.last_used_at),
        # Every severity is present, zero or not, so consumers need no defaulting.
        "finding_counts": {severity: identity.finding_counts.get(severity, 0) for severity in SEVERITIES},
        "workloads": sorted(identity.workloads, key=lambda workload: workload.get("uid", "")),
    }


def _issue(issue: IssueRow) -> dict[str, Any]:
    return {
        "source": issue.source,
        "problem": issue.problem,
        "severity": issue.severity,
        "subject_uid": issue.subject_uid,
    }
