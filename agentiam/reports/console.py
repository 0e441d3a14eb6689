"""A concise scan summary for the terminal.

Every value from the scanned estate goes through `_text`: a rich `Text` is never parsed as console markup (a tag
such as `[bold]` or `[/]` in a role name would otherwise restyle or crash the output), and control characters are
made visible, because rich passes escape sequences straight through to the terminal.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentiam.reports.model import SEVERITIES, CollectorRunRow, FindingRow, ReportData
from agentiam.reports.safety import sorted_findings

TOP_FINDINGS = 10
MAX_RUNS = 10
TABLE_MIN_WIDTH = 70

SEVERITY_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
SCAN_STATUS_STYLES = {"complete": "green", "partial": "bold yellow", "failed": "bold red", "running": "yellow"}

# C0/C1 controls (ESC starts terminal sequences) and the bidirectional overrides that can reorder what is shown.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def print_summary(data: ReportData, console: Console) -> None:
    console.print(_header(data))
    for line in _run_lines(data.scan.collector_runs):
        console.print(line)
    console.print(_severity_line(data))
    console.print(_lifecycle_line(data))
    top = sorted_findings(data.open_findings)[:TOP_FINDINGS]
    if top:
        console.print(_findings_title(len(top), len(data.open_findings)))
        # Below TABLE_MIN_WIDTH a five-column table squeezes its columns to nothing; lines wrap instead.
        if console.width >= TABLE_MIN_WIDTH:
            console.print(_findings_table(top))
        else:
            for finding in top:
                console.print(_finding_line(finding))
    console.print(_inventory_line(data))


def _text(value: object, style: str = "") -> Text:
    def visible(match: re.Match[str]) -> str:
        char = match.group()
        return " " if char in "\t\n\r" else f"\\u{ord(char):04x}"

    return Text(_UNSAFE.sub(visible, str(value)), style=style)


def _severity(severity: str) -> Text:
    return _text(severity, SEVERITY_STYLES.get(severity, ""))


def _header(data: ReportData) -> Text:
    scan = data.scan
    return Text.assemble(
        ("agentiam ", "bold"),
        _text(data.tool_version),
        f" · scan #{scan.id} · ",
        _text(scan.status, SCAN_STATUS_STYLES.get(scan.status, "")),
    )


def _run_lines(runs: list[CollectorRunRow]) -> list[Text]:
    failed = [run for run in runs if run.status != "complete"]
    partial = sum(1 for run in failed if run.status == "partial")
    counted = f"{len(failed) - partial} failed" + (f", {partial} partial" if partial else "")
    lines = [Text.assemble(("Collector runs: ", "bold"), f"{len(runs)}, {counted}")]
    if failed:
        lines.append(
            Text("! The results are incomplete: these scopes failed or were read in part.", style="bold yellow")
        )
    # Every failure is listed; complete runs only up to MAX_RUNS, then counted.
    complete = [run for run in runs if run.status == "complete"]
    for run in failed:
        lines.append(
            Text.assemble(
                "  ",
                (f"{run.status:<9}", "bold red" if run.status == "failed" else "bold yellow"),
                _run_name(run),
                ": ",
                _text(run.error or "no error recorded"),
            )
        )
    for run in complete[:MAX_RUNS]:
        lines.append(Text.assemble("  ", ("complete ", "green"), _run_name(run), f" ({run.api_calls} API calls)"))
    if len(complete) > MAX_RUNS:
        lines.append(Text(f"  and {len(complete) - MAX_RUNS} more complete runs", style="dim"))
    return lines


def _run_name(run: CollectorRunRow) -> Text:
    return Text.assemble(_text(run.collector, "bold"), " ", _text(run.scope))


def _severity_line(data: ReportData) -> Text:
    counts = data.severity_counts()
    line = Text.assemble(("Open findings: ", "bold"), str(len(data.open_findings)), "  ")
    line.append_text(Text(" · ").join(Text.assemble(_severity(s), f" {counts[s]}") for s in SEVERITIES))
    suppressed = sum(1 for finding in data.open_findings if finding.suppressed)
    if suppressed:
        line.append(f"  ({suppressed} suppressed)")
    if data.overdue_revocations:
        line.append(f"  · {len(data.overdue_revocations)} overdue revocation(s)", style="yellow")
    return line


def _lifecycle_line(data: ReportData) -> Text:
    counts = data.status_counts()
    return Text.assemble(
        ("Since the last scan: ", "bold"),
        f"{counts['new']} new · {counts['reopened']} reopened · {counts['persisting']} persisting · "
        f"{counts['resolved']} resolved",
    )


def _findings_title(shown: int, total: int) -> Text:
    title = f"Top {shown} of {total} open findings, worst first" if total > shown else "Open findings, worst first"
    return Text(title, style="bold")


def _findings_table(findings: list[FindingRow]) -> Table:
    # Fixed widths for the short columns and shares of the rest for the long ones, so that no column is
    # squeezed to nothing; the message is cut rather than wrapped, so each finding stays a line or two.
    table = Table(show_edge=False, pad_edge=False, expand=True)
    table.add_column("Severity", width=8, no_wrap=True)
    table.add_column("Status", width=10, no_wrap=True)
    table.add_column("Rule", ratio=2, overflow="fold")
    table.add_column("Subject", ratio=2, overflow="fold")
    table.add_column("Message", ratio=3, no_wrap=True, overflow="ellipsis")
    for finding in findings:
        table.add_row(
            _severity(finding.severity),
            _text(finding.status),
            _text(finding.rule_id),
            _text(finding.subject_name),
            _text(finding.message),
        )
    return table


def _finding_line(finding: FindingRow) -> Text:
    return Text.assemble(
        _severity(finding.severity),
        " ",
        _text(finding.rule_id),
        " · ",
        _text(finding.subject_name),
        " · ",
        _text(finding.message),
    )


def _inventory_line(data: ReportData) -> Text:
    issues = len(data.issues)
    return Text.assemble(
        ("Agent identities: ", "bold"),
        f"{len(data.agents)} of {len(data.identities)} identities",
        " · ",
        ("Issues: ", "bold"),
        (str(issues), "yellow" if issues else ""),
    )
