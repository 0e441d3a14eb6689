"""`report --format json`: the machine-readable contract of DESIGN.md ("CLI contract")."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

from agentiam.reports.json_report import JsonReporter
from agentiam.reports.model import SEVERITIES, CollectorRunRow, IdentityRow, IssueRow, ReportData, ScanSummary


def render(data: ReportData) -> dict:
    return json.loads(JsonReporter().render(data))


def string_leaves(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for child in value.values():
            yield from string_leaves(child)
    elif isinstance(value, list):
        for child in value:
            yield from string_leaves(child)
    elif isinstance(value, str):
        yield value


def test_reporter_registers_as_json_with_its_default_file_name():
    assert JsonReporter.format == "json"
    assert JsonReporter.filename == "findings.json"


def test_document_sections_come_in_a_fixed_order(report_data):
    assert list(render(report_data)) == [
        "tool",
        "generated_at",
        "scan",
        "summary",
        "findings",
        "identities",
        "issues",
        "overdue_revocations",
    ]


def test_tool_scan_and_summary_carry_the_scan_status_and_counts(report_data):
    document = render(report_data)

    assert document["tool"] == {"name": "agentiam", "version": "1.2.3"}
    assert document["generated_at"] == "2025-03-01T09:05:00Z"
    assert document["scan"]["id"] == 7
    assert document["scan"]["status"] == "partial"
    assert document["scan"]["started_at"] == "2025-03-01T09:00:00Z"
    assert document["scan"]["finished_at"] == "2025-03-01T09:04:30Z"
    assert document["summary"] == {
        "by_severity": {"critical": 1, "high": 1, "medium": 1, "low": 1, "info": 1},
        "by_status": {"new": 3, "reopened": 0, "persisting": 2, "resolved": 1},
        "identities": 3,
        "agents": 2,
        "findings_open": 5,
        "findings_suppressed": 0,
        "overdue_revocations": 0,
    }


def test_a_failed_collector_run_is_reported_with_its_error(report_data, hostile):
    runs = render(report_data)["scan"]["collector_runs"]

    assert [(run["collector"], run["status"]) for run in runs] == [("aws-iam", "complete"), ("kubernetes", "failed")]
    assert runs[1]["error"] == f"403 Forbidden listing clusterroles {hostile.script}"
    assert list(runs[0]) == ["collector", "scope", "status", "error", "counts", "api_calls", "throttled"]


def test_every_finding_carries_the_contract_fields(report_data):
    for finding in render(report_data)["findings"]:
        assert list(finding) == [
            "rule_id",
            "category",
            "severity",
            "base_severity",
            "title",
            "message",
            "fingerprint",
            "status",
            "subject",
            "evidence",
            "remediation",
            "references",
            "first_seen_at",
            "last_seen_at",
            "suppressed",
            "suppression",
        ]
        assert list(finding["subject"]) == ["uid", "name", "kind", "provider", "scope", "is_agent"]


def test_resolved_findings_are_included_with_their_status(report_data):
    statuses = {f["fingerprint"]: f["status"] for f in render(report_data)["findings"]}

    assert statuses["fp-wild-0006"] == "resolved"
    assert len(statuses) == len(report_data.findings)


def test_findings_are_ordered_worst_first_then_by_rule_then_by_subject(make_report, make_finding):
    findings = [
        make_finding(severity="low", rule_id="a.rule", subject_uid="uid-1", fingerprint="1"),
        make_finding(severity="critical", rule_id="z.rule", subject_uid="uid-1", fingerprint="2"),
        make_finding(severity="high", rule_id="b.rule", subject_uid="uid-2", fingerprint="3"),
        make_finding(severity="high", rule_id="b.rule", subject_uid="uid-1", fingerprint="4"),
        make_finding(severity="high", rule_id="a.rule", subject_uid="uid-9", fingerprint="5"),
    ]

    ordered = render(make_report(findings=findings))["findings"]

    assert [f["fingerprint"] for f in ordered] == ["2", "5", "4", "3", "1"]


def test_output_does_not_depend_on_the_order_the_store_returned_rows_in(make_report):
    data = make_report()
    shuffled = make_report()
    random.Random(4).shuffle(shuffled.findings)
    shuffled.identities.reverse()
    shuffled.scan.collector_runs.reverse()

    assert JsonReporter().render(shuffled) == JsonReporter().render(data)


def test_datetimes_are_iso_8601_utc_with_z_wherever_they_appear(make_report, make_finding):
    paris = timezone(timedelta(hours=2))
    finding = make_finding(
        first_seen_at=datetime(2025, 6, 1, 14, 30, tzinfo=paris),
        last_seen_at=datetime(2025, 6, 2, 8, 0),  # naive: the store keeps UTC
        evidence={"last_used": datetime(2025, 5, 1, 0, 0, 1, tzinfo=UTC)},
    )

    [rendered] = render(make_report(findings=[finding]))["findings"]

    assert rendered["first_seen_at"] == "2025-06-01T12:30:00Z"
    assert rendered["last_seen_at"] == "2025-06-02T08:00:00Z"
    assert rendered["evidence"] == {"last_used": "2025-05-01T00:00:01Z"}


def test_hostile_values_are_data_and_come_back_verbatim(report_data, hostile):
    text = JsonReporter().render(report_data)
    document = json.loads(text)

    assert document["findings"][0]["subject"]["name"] == f"support-agent {hostile.script}"
    assert document["findings"][1]["message"] == hostile.dde
    strings = list(string_leaves(document))
    for value in hostile.all:
        assert any(value in leaf for leaf in strings), value
    assert "Ünïcødé 代理 🤖" in text  # written as UTF-8, not \\u escapes


def test_identities_list_agent_evidence_workloads_and_every_severity_count(report_data, hostile):
    identities = {i["uid"]: i for i in render(report_data)["identities"]}
    agent = identities["aws:arn:aws:iam::123456789012:role/support-agent"]

    assert agent["is_agent"] is True
    assert agent["kind"] == "aws_role"
    assert agent["agent_evidence"][0] == {"reason": "tag", "detail": f"agentiam:agent={hostile.script}"}
    assert agent["workloads"][0]["mechanism"] == "lambda_exec_role"
    assert agent["finding_counts"] == {"critical": 1, "high": 1, "medium": 0, "low": 0, "info": 1}
    assert list(agent["finding_counts"]) == list(SEVERITIES)
    assert agent["last_used_at"] == "2025-02-28T09:00:00Z"
    assert identities["kubernetes:prod:sa:agents/planner"]["created_at"] is None


def test_golden_document(make_finding):
    """The whole document for a one-finding scan, spelt exactly (key order, layout, timestamps)."""
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    data = ReportData(
        tool_version="0.1.0",
        generated_at=datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        scan=ScanSummary(
            id=1,
            started_at=started,
            finished_at=None,
            status="complete",
            collector_runs=[
                CollectorRunRow("aws-iam", "111122223333", "complete", None, {"identities": 1}, 3, 0),
            ],
        ),
        findings=[
            make_finding(
                subject_uid="aws:role/a",
                subject_name="a",
                evidence={"actions": ["*"]},
                references=["https://example.org/rule"],
                first_seen_at=started,
                last_seen_at=started,
            )
        ],
        identities=[
            IdentityRow(
                uid="aws:role/a",
                name="a",
                provider="aws",
                identity_kind="aws_role",
                scope="111122223333",
                is_agent=True,
                agent_evidence=[{"reason": "tag", "detail": "agent=yes"}],
                owner=None,
                tags={"agent": "yes"},
                last_used_at=None,
                created_at=None,
                finding_counts={"critical": 1},
                workloads=[],
            )
        ],
        issues=[IssueRow(source="aws-iam", problem="throttled", severity="warning", subject_uid=None)],
    )

    expected = {
        "tool": {"name": "agentiam", "version": "0.1.0"},
        "generated_at": "2025-01-02T03:04:05Z",
        "scan": {
            "id": 1,
            "status": "complete",
            "started_at": "2025-01-02T03:04:05Z",
            "finished_at": None,
            "collector_runs": [
                {
                    "collector": "aws-iam",
                    "scope": "111122223333",
                    "status": "complete",
                    "error": None,
                    "counts": {"identities": 1},
                    "api_calls": 3,
                    "throttled": 0,
                }
            ],
        },
        "summary": {
            "by_severity": {"critical": 1, "high": 0, "medium": 0, "low": 0, "info": 0},
            "by_status": {"new": 1, "reopened": 0, "persisting": 0, "resolved": 0},
            "identities": 1,
            "agents": 1,
            "findings_open": 1,
            "findings_suppressed": 0,
            "overdue_revocations": 0,
        },
        "findings": [
            {
                "rule_id": "aws.iam.admin-access",
                "category": "admin",
                "severity": "critical",
                "base_severity": "high",
                "title": "Identity has administrator access",
                "message": "The role can perform every action on every resource.",
                "fingerprint": "fp-admin-0001",
                "status": "new",
                "subject": {
                    "uid": "aws:role/a",
                    "name": "a",
                    "kind": "aws_role",
                    "provider": "aws",
                    "scope": "123456789012",
                    "is_agent": True,
                },
                "evidence": {"actions": ["*"]},
                "remediation": "Replace AdministratorAccess with a policy scoped to what the agent calls.",
                "references": ["https://example.org/rule"],
                "first_seen_at": "2025-01-02T03:04:05Z",
                "last_seen_at": "2025-01-02T03:04:05Z",
                "suppressed": False,
                "suppression": None,
            }
        ],
        "identities": [
            {
                "uid": "aws:role/a",
                "name": "a",
                "kind": "aws_role",
                "provider": "aws",
                "scope": "111122223333",
                "is_agent": True,
                "agent_evidence": [{"reason": "tag", "detail": "agent=yes"}],
                "owner": None,
                "tags": {"agent": "yes"},
                "created_at": None,
                "last_used_at": None,
                "finding_counts": {"critical": 1, "high": 0, "medium": 0, "low": 0, "info": 0},
                "workloads": [],
            }
        ],
        "issues": [{"source": "aws-iam", "problem": "throttled", "severity": "warning", "subject_uid": None}],
        "overdue_revocations": [],
    }
    rendered = JsonReporter().render(data)
    assert json.loads(rendered) == expected
    # Key order is part of the contract too (dict equality ignores it).
    assert list(json.loads(rendered)) == list(expected)
    assert list(json.loads(rendered)["findings"][0]) == list(expected["findings"][0])


def test_layout_puts_each_finding_on_its_own_line(make_report):
    lines = JsonReporter().render(make_report()).splitlines()
    finding_lines = [line for line in lines if line.startswith('    {"rule_id"')]
    assert len(finding_lines) == len(make_report().findings)
    assert lines[0] == "{" and lines[-1] == "}"


def test_nan_and_infinity_in_evidence_are_written_as_null_so_the_output_stays_json(make_report, make_finding):
    finding = make_finding(evidence={"via_group": float("nan"), "ratio": [float("inf"), 0.5]})

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    document = json.loads(JsonReporter().render(make_report(findings=[finding])), parse_constant=refuse)

    assert document["findings"][0]["evidence"] == {"via_group": None, "ratio": [None, 0.5]}
