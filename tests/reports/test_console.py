"""The terminal summary: short, readable at any width, and never steered by the data it prints."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agentiam.reports.console import print_summary
from agentiam.reports.model import CollectorRunRow, OverdueRevocation, ReportData


def summary(data: ReportData, *, width: int = 120, terminal: bool = False) -> str:
    console = Console(
        file=io.StringIO(), width=width, force_terminal=terminal, color_system="standard" if terminal else "auto"
    )
    print_summary(data, console)
    return console.file.getvalue()


def test_header_names_the_scan_and_its_status(report_data):
    first_line = summary(report_data).splitlines()[0]

    assert first_line == "agentiam 1.2.3 · scan #7 · partial"


def test_failed_collector_runs_are_listed_with_their_error(report_data, hostile):
    text = summary(report_data)

    assert "Collector runs: 2, 1 failed" in text
    assert "The results are incomplete" in text
    assert f"failed   kubernetes prod: 403 Forbidden listing clusterroles {hostile.script}" in text
    assert "complete aws-iam 123456789012 (42 API calls)" in text


def test_a_complete_scan_raises_no_alarm(make_report):
    text = summary(make_report(partial=False))

    assert "complete" in text.splitlines()[0]
    assert "incomplete" not in text
    assert "failed   " not in text


def test_counts_by_severity_and_by_lifecycle(report_data):
    text = summary(report_data)

    assert "Open findings: 5  critical 1 · high 1 · medium 1 · low 1 · info 1" in text
    assert "Since the last scan: 3 new · 0 reopened · 2 persisting · 1 resolved" in text


def test_suppressed_findings_and_overdue_revocations_are_counted(make_report, make_finding):
    suppression = {"kind": "suppression", "owner": "a", "reason": "r", "expires": "2030-01-01", "source": "s"}
    data = make_report(findings=[make_finding(suppression=suppression), make_finding(fingerprint="other")])
    data.overdue_revocations = [
        OverdueRevocation("aws:r", "r", "permission", "p", "p", "", "", "bob", data.generated_at, "why", 1, "f line 2")
    ]

    assert "Open findings: 2" in summary(data) and "(1 suppressed)  · 1 overdue revocation(s)" in summary(data)
    assert "suppressed" not in summary(make_report())


def test_agents_and_issues_are_counted(report_data):
    assert "Agent identities: 2 of 3 identities · Issues: 1" in summary(report_data)


def test_top_findings_are_open_ones_worst_first(report_data):
    text = summary(report_data, width=200)
    rules = ["aws.iam.admin-access", "aws.iam.privilege-escalation", "k8s.rbac.secrets-read", "azure.hygiene.no-owner"]

    positions = [text.index(rule) for rule in rules]
    assert positions == sorted(positions)
    assert "aws.iam.wildcard-resource" not in text  # resolved


def test_at_most_ten_findings_are_shown(make_report, make_finding):
    findings = [make_finding(rule_id=f"rule.{i:02d}", fingerprint=str(i)) for i in range(25)]

    text = summary(make_report(findings=findings), width=200)

    assert "Top 10 of 25 open findings, worst first" in text
    assert "rule.09" in text
    assert "rule.10" not in text


def test_many_complete_runs_are_counted_but_every_failure_is_listed(make_report):
    data = make_report()
    data.scan.collector_runs[:] = [
        CollectorRunRow("aws-iam", f"1111{i:08d}", "complete", None, {}, 1, 0) for i in range(15)
    ] + [CollectorRunRow("aws-iam", "999999999999", "failed", "AccessDenied", {}, 1, 0)]

    text = summary(data)

    assert "failed   aws-iam 999999999999: AccessDenied" in text
    assert text.count("complete aws-iam") == 10
    assert "and 5 more complete runs" in text


@pytest.mark.parametrize("width", [1, 8, 20, 40, 69, 70, 80, 200])
def test_any_terminal_width_renders(report_data, width):
    text = summary(report_data, width=width)

    assert "scan #7" in text.replace("\n", "")  # however narrow, folded rather than lost
    assert all(len(line) <= width for line in text.splitlines())


def test_no_colour_codes_when_not_a_terminal(report_data):
    assert "\x1b[" not in summary(report_data, terminal=False)


def test_severities_are_coloured_on_a_terminal(report_data):
    assert "\x1b[1;31mcritical" in summary(report_data, terminal=True)


@pytest.mark.parametrize("message", ["[bold]x[/bold]", "[/]", "[link=https://evil]click[/link]", "[red"])
def test_console_markup_in_data_is_printed_literally(make_report, make_finding, message):
    text = summary(make_report(findings=[make_finding(message=message)]), width=200, terminal=True)

    assert message in text


def test_terminal_control_sequences_in_data_are_made_visible(make_report, make_finding):
    finding = make_finding(message="a\x1b]8;;https://evil\x07b\x1b[2Jc\u202eevil", subject_name="x\ry")

    text = summary(make_report(findings=[finding]), width=200, terminal=True)

    assert "\x1b]" not in text
    assert "\x1b[2J" not in text
    assert "\u202e" not in text
    assert "a\\u001b]8;;https://evil\\u0007b\\u001b[2Jc\\u202eevil" in text
    assert "x y" in text
