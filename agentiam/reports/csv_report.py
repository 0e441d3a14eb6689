"""`report --format csv`: one row per finding, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import ClassVar

from agentiam.reports.model import FindingRow, ReportData
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
)


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
    ]


def _compact_json(value: object) -> str:
    return strict_json(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
