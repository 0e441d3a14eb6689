"""The CI gate: which open findings are at or above the threshold, and the exit code that follows.

Suppressed findings (a suppressions file, an approved access-review exception) never fail the gate. A baseline is
the set of fingerprints a team has accepted (written from one scan with `write_baseline`); the gate
then fails only on what is not in it. `new_only` narrows the gate to findings new (or reopened) since the previous
scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentiam.errors import InputFormatError
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
    excused_by_baseline: int = 0  # at or above the threshold, but accepted in the baseline
    not_new: int = 0  # at or above the threshold, but already open in the previous scan (with new_only)
    suppressed: int = 0  # at or above the threshold, but accepted by a suppression or an access-review exception

    @property
    def passed(self) -> bool:
        return not self.failing


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


def evaluate_gate(
    data: ReportData, threshold: str, baseline: set[str] | None = None, new_only: bool = False
) -> GateResult:
    at_threshold = [f for f in data.open_findings if at_or_above(f.severity, threshold)]
    over = [f for f in at_threshold if not f.suppressed]
    recent = [f for f in over if f.status in ("new", "reopened")] if new_only else over
    failing = [f for f in recent if f.fingerprint not in baseline] if baseline is not None else recent
    return GateResult(
        threshold,
        failing,
        data.scan.status,
        excused_by_baseline=len(recent) - len(failing),
        not_new=len(over) - len(recent),
        suppressed=len(at_threshold) - len(over),
    )


def write_baseline(data: ReportData, path: Path) -> int:
    """Accept every open finding of the scan, whatever its severity, so a later change of threshold still holds.

    Sorted, one entry per fingerprint, so that a baseline kept in a repository diffs cleanly. Returns the count.
    """
    entries = sorted(
        {
            f.fingerprint: {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "subject_uid": f.subject_uid}
            for f in data.open_findings
        }.values(),
        key=lambda e: e["fingerprint"],
    )
    document = {
        "tool": "agentiam",
        "scan": data.scan.id,
        "created_at": data.generated_at.isoformat(),
        "fingerprints": entries,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return len(entries)


def load_baseline(path: Path) -> set[str]:
    """The accepted fingerprints. A baseline that cannot be read is a usage error, never an empty baseline: the gate
    would then fail on everything it was meant to excuse, for a reason nobody would guess from its output."""
    try:
        document: Any = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputFormatError(
            str(path), "baseline file not found (write one with `agentiam gate --create-baseline`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(str(path), f"cannot read the baseline: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(str(path), f"baseline is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("tool") != "agentiam":
        raise InputFormatError(str(path), 'not an agentiam baseline (expected "tool": "agentiam")')
    entries = document.get("fingerprints")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) for e in entries
    ):
        raise InputFormatError(
            str(path), 'baseline needs "fingerprints": a list of objects with a "fingerprint" string'
        )
    return {e["fingerprint"] for e in entries}


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
