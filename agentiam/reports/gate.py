"""The CI gate: which open findings are at or above the threshold, and the exit code that follows."""

from __future__ import annotations

from dataclasses import dataclass

from agentiam.findings.registry import SEVERITIES
from agentiam.reports.model import FindingRow, ReportData

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


@dataclass(frozen=True)
class GateResult:
    threshold: str
    failing: list[FindingRow]
    scan_status: str

    @property
    def passed(self) -> bool:
        return not self.failing


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


def evaluate_gate(data: ReportData, threshold: str) -> GateResult:
    failing = [f for f in data.open_findings if at_or_above(f.severity, threshold)]
    return GateResult(threshold, failing, data.scan.status)


def exit_code(gate: GateResult | None, scan_status: str, allow_partial: bool) -> int:
    """Findings over the threshold win over an incomplete scan: they are certain, the gap is not.

    `allow_partial` accepts a scan that collected part of the estate; a scan that collected nothing (`failed`) is
    never accepted, or a scheduled job whose credentials broke would stay green forever.
    """
    if gate is not None and not gate.passed:
        return EXIT_GATE_FAILED
    if scan_status == "failed" or (scan_status != "complete" and not allow_partial):
        return EXIT_PARTIAL
    return EXIT_OK
