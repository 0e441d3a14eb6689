"""`report --format csv`: one row per finding, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import ClassVar

from agentiam.findings.engine import fingerprint
from agentiam.reports.model import FindingRow, OverdueRevocation, ReportData
from agentiam.reports.safety import iso_utc, neutralise_formula, sorted_findings, strict_json

COLUMNS: tuple[str, ...] = (
    "severity",
    "status",
    "rule_id",
    "category",
    "title",
    "subject_name",
    "subject_uid",
    "subject_kind",
    "provider",
    "scope",
    "is_agent",
    "message",
    "evidence",
    "remediation",
    "fingerprint",
    "first_seen_at",
    "last_seen_at",
    "suppressed",
    "suppression_kind",
    "suppression_reason",
    "suppression_owner",
    "suppression_expires",
)
# Revocations an access review decided and a later scan still finds: rows of their own, after the findings.
OVERDUE_RULE_ID = "REVIEW-OVERDUE"


class CsvReporter:
    format: ClassVar[str] = "csv"
    filename: ClassVar[str] = "findings.csv"

    def render(self, data: ReportData) -> str:
        return "".join(self.stream(data))

    def stream(self, data: ReportData) -> Iterator[str]:
        """Rows in chunks, so that a large report is never held whole in memory."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(COLUMNS)
        for count, finding in enumerate(sorted_findings(data.findings), start=1):
            # Every cell, not only the free-text ones: names, tags and evidence come from the scanned estate,
            # which whoever can create a role or label a pod controls.
            writer.writerow([neutralise_formula(cell) for cell in _cells(finding)])
            if count % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        for overdue in data.overdue_revocations:
            writer.writerow([neutralise_formula(cell) for cell in _overdue_cells(overdue)])
        yield buffer.getvalue()


def _cells(finding: FindingRow) -> list[str]:
    return [
        finding.severity,
        finding.status,
        finding.rule_id,
        finding.category,
        finding.title,
        finding.subject_name,
        finding.subject_uid,
        finding.subject_kind,
        finding.provider,
        finding.scope,
        "true" if finding.subject_is_agent else "false",
        finding.message,
        _compact_json(finding.evidence),
        finding.remediation,
        finding.fingerprint,
        iso_utc(finding.first_seen_at),
        iso_utc(finding.last_seen_at),
        *_suppression_cells(finding.suppression),
    ]


def _suppression_cells(suppression: dict[str, str] | None) -> list[str]:
    if suppression is None:
        return ["false", "", "", "", ""]
    return ["true", suppression["kind"], suppression["reason"], suppression["owner"], suppression["expires"]]


def _overdue_cells(overdue: OverdueRevocation) -> list[str]:
    """A finding-like row: an overdue revocation is something to act on, but not a rule's finding (no gate)."""
    grant = f"{overdue.policy_name or overdue.policy_ref} ({overdue.grant_kind})" if overdue.grant_kind else "identity"
    key = "|".join((overdue.grant_kind, overdue.policy_ref, overdue.grant_via, overdue.grant_scope))
    reviewed = iso_utc(overdue.reviewed_at)
    return [
        "info",
        "overdue",
        OVERDUE_RULE_ID,
        "review",
        "Revocation decided in an access review not done",
        overdue.identity_name,
        overdue.identity_uid,
        "",
        "",
        overdue.grant_scope,
        "",
        f"{overdue.reviewer} decided on {reviewed} to revoke {grant}, and it is still there: {overdue.justification}",
        _compact_json(
            {
                "source": overdue.source,
                "decided_in_scan": overdue.decided_in_scan,
                "policy_ref": overdue.policy_ref,
                "via": overdue.grant_via,
            }
        ),
        "Revoke the grant, or record another decision in the next access review.",
        fingerprint(OVERDUE_RULE_ID, overdue.identity_uid, key),
        reviewed,
        reviewed,
        *_suppression_cells(None),
    ]


def _compact_json(value: object) -> str:
    return strict_json(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
