"""`report --format ocsf`: OCSF Detection Findings (class 2004) that the `py-ocsf-models` model accepts back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from agentiam.cli import cli
from agentiam.reports.base import write_report
from agentiam.reports.model import ReportData
from agentiam.reports.ocsf_events import ACTIVITY_IDS, SEVERITY_IDS, STATUS_IDS, epoch_ms
from agentiam.reports.ocsf_report import OcsfReporter
from tests.conftest import ADMIN, authorization_details, role
from tests.reports.conftest import STARTED


def render(data: ReportData) -> list[dict[str, Any]]:
    return json.loads(OcsfReporter().render(data))


def by_uid(data: ReportData) -> dict[str, dict[str, Any]]:
    return {event["finding_info"]["uid"]: event for event in render(data)}


def test_reporter_registers_as_ocsf_with_its_default_file_name():
    assert OcsfReporter.format == "ocsf"
    assert OcsfReporter.filename == "findings.ocsf.json"


def test_every_event_validates_back_through_the_detection_finding_model(report_data):
    events = render(report_data)
    assert len(events) == len(report_data.findings)  # open and resolved alike
    for event in events:
        parsed = DetectionFinding.model_validate(event)
        assert (parsed.class_uid, parsed.category_uid) == (2004, 2)
        assert parsed.type_uid == parsed.class_uid * 100 + parsed.activity_id


def test_an_empty_scan_is_an_empty_array(make_report):
    assert render(make_report(findings=[])) == []


def test_events_are_one_per_line_worst_first_and_streaming_writes_the_same_text(report_data, tmp_path):
    text = OcsfReporter().render(report_data)
    lines = text.splitlines()
    assert (lines[0], lines[-1]) == ("[", "]")
    assert len(lines) == len(report_data.findings) + 2
    severities = [event["severity_id"] for event in json.loads(text)]
    assert severities == sorted(severities, reverse=True)
    write_report(OcsfReporter(), report_data, tmp_path / "out.json")
    assert (tmp_path / "out.json").read_text() == text


@pytest.mark.parametrize(
    ("severity", "severity_id", "caption"),
    [
        ("info", 1, "Informational"),
        ("low", 2, "Low"),
        ("medium", 3, "Medium"),
        ("high", 4, "High"),
        ("critical", 5, "Critical"),
    ],
)
def test_severity_maps_to_the_ocsf_severity_id_and_caption(make_report, make_finding, severity, severity_id, caption):
    (event,) = render(make_report(findings=[make_finding(severity=severity)]))
    assert (event["severity_id"], event["severity"]) == (severity_id, caption)


def test_every_agentiam_severity_has_a_mapping():
    assert set(SEVERITY_IDS) == {"critical", "high", "medium", "low", "info"}


def test_an_unknown_severity_is_other_and_keeps_its_word(make_report, make_finding):
    (event,) = render(make_report(findings=[make_finding(severity="catastrophic")]))
    assert (event["severity_id"], event["severity"]) == (99, "catastrophic")


@pytest.mark.parametrize(
    ("status", "status_id", "activity_id", "type_uid"),
    [
        ("new", 1, 1, 200401),  # New; Create
        ("persisting", 1, 2, 200402),  # still untriaged, so New; seen again, so Update
        ("resolved", 4, 3, 200403),  # Resolved; Close
        ("suppressed", 3, 2, 200402),  # for the suppression feature: Suppressed, and the finding is still there
    ],
)
def test_status_maps_to_ocsf_status_and_activity(make_report, make_finding, status, status_id, activity_id, type_uid):
    (event,) = render(make_report(findings=[make_finding(status=status)]))
    assert (event["status_id"], event["activity_id"], event["type_uid"]) == (status_id, activity_id, type_uid)
    assert event["status_detail"] == status  # agentiam's own word, since new and persisting share a status id
    DetectionFinding.model_validate(event)


def test_status_and_activity_tables_cover_the_same_statuses():
    assert set(STATUS_IDS) == set(ACTIVITY_IDS) >= {"new", "persisting", "resolved"}


def test_a_reopened_finding_is_new_again_and_updated(make_report, make_finding):
    (event,) = render(make_report(findings=[make_finding(status="reopened")]))
    assert (event["status_id"], event["activity_id"]) == (1, 2)
    DetectionFinding.model_validate(event)


def test_an_unknown_status_is_other_in_both_status_and_activity(make_report, make_finding):
    (event,) = render(make_report(findings=[make_finding(status="archived")]))
    assert (event["status_id"], event["status"], event["activity_id"], event["type_uid"]) == (
        99,
        "archived",
        99,
        200499,
    )
    DetectionFinding.model_validate(event)


def test_resolved_findings_are_reported_as_resolved_and_closed(report_data):
    resolved = by_uid(report_data)["fp-wild-0006"]
    assert (resolved["status_id"], resolved["status"]) == (4, "Resolved")
    assert (resolved["activity_id"], resolved["activity_name"]) == (3, "Close")


def test_finding_info_carries_the_rule_the_fingerprint_and_when_it_was_seen(report_data):
    finding = next(f for f in report_data.findings if f.fingerprint == "fp-privesc-0002")
    info = by_uid(report_data)["fp-privesc-0002"]["finding_info"]
    assert info == {
        "uid": "fp-privesc-0002",
        "title": "Privilege escalation path",
        "desc": finding.message,
        "types": ["privilege-escalation"],
        "first_seen_time": epoch_ms(finding.first_seen_at),
        "last_seen_time": epoch_ms(finding.last_seen_at),
        "analytic": {
            "uid": "aws.iam.privilege-escalation",
            "name": "Privilege escalation path",
            "type_id": 1,
            "type": "Rule",
        },
    }


def test_timestamps_are_epoch_milliseconds_and_the_event_time_is_the_scan(report_data):
    started_ms = 1_740_819_600_000  # 2025-03-01T09:00:00Z
    assert epoch_ms(STARTED) == started_ms
    assert epoch_ms(datetime(2025, 3, 1, 9, 0)) == started_ms  # naive is UTC, as the store keeps them
    assert epoch_ms(datetime(2025, 3, 1, 9, 0, 0, 1500, tzinfo=UTC)) == started_ms + 2
    for event in render(report_data):
        assert event["time"] == started_ms
        assert event["finding_info"]["first_seen_time"] <= event["finding_info"]["last_seen_time"] == started_ms


def test_the_subject_is_the_affected_resource_and_an_agent_is_labelled(report_data):
    events = by_uid(report_data)
    (agent,) = events["fp-secrets-0003"]["resources"]
    assert agent == {
        "uid": "kubernetes:prod:sa:agents/planner",
        "name": "planner",
        "type": "k8s_service_account",
        "data": {"provider": "kubernetes", "scope": "prod", "is_agent": True},
        "labels": ["agent"],
    }
    assert "cloud" not in events["fp-secrets-0003"]  # a cluster is not a cloud provider
    (plain,) = events["fp-owner-0004"]["resources"]
    assert "labels" not in plain and plain["data"]["is_agent"] is False
    assert events["fp-owner-0004"]["cloud"] == {"provider": "Azure"}
    assert events["fp-admin-0001"]["cloud"] == {"provider": "AWS"}


def test_metadata_names_agentiam_and_the_ocsf_version_of_the_models(report_data):
    for event in render(report_data):
        assert event["metadata"] == {
            "product": {"name": "agentiam", "vendor_name": "agentiam", "version": "1.2.3"},
            "version": OCSF_VERSION,
        }


def test_remediation_evidence_and_base_severity_are_kept_intact(report_data):
    source = next(f for f in report_data.findings if f.fingerprint == "fp-privesc-0002")
    event = by_uid(report_data)["fp-privesc-0002"]
    assert event["remediation"]["desc"] == source.remediation
    (evidence,) = event["evidences"]
    assert evidence["name"] == "aws.iam.privilege-escalation"
    expected = {
        **source.evidence,
        "path": {"id": "@SUM(1)", "via": {"service": "lambda", "last_used": "2025-03-01T09:00:00Z"}},
    }
    assert evidence["data"] == expected  # nulls inside evidence survive, datetimes are ISO 8601
    assert event["unmapped"] == {"base_severity": "high"}
    admin = by_uid(report_data)["fp-admin-0001"]
    assert admin["remediation"]["references"][1] == "javascript:alert(1)"  # data, not a link this report follows


def test_a_finding_without_evidence_or_references_omits_them(make_report, make_finding):
    (event,) = render(make_report(findings=[make_finding(evidence={}, references=[])]))
    assert "evidences" not in event and "references" not in event["remediation"]


def test_hostile_strings_stay_data(report_data, hostile):
    text = OcsfReporter().render(report_data)
    events = json.loads(text)
    strings = json.dumps(events, ensure_ascii=False)
    for value in (hostile.script, hostile.hyperlink, hostile.dde, hostile.at, hostile.minus, hostile.unicode):
        assert json.dumps(value, ensure_ascii=False)[1:-1] in strings
    assert hostile.unicode in text  # written as text, not \u escapes
    admin = by_uid(report_data)["fp-admin-0001"]
    assert admin["resources"][0]["name"] == f"support-agent {hostile.script}"
    assert admin["finding_info"]["desc"] == f"Grants * on *; tagged {hostile.attribute}"


def test_report_format_ocsf_end_to_end_after_an_offline_scan(tmp_path: Path):
    export = tmp_path / "authz.json"
    export.write_text(json.dumps(authorization_details([role("admin", [ADMIN], tags={"ai-agent": "true"})])))
    db = ["--db", str(tmp_path / "inventory.db")]
    assert CliRunner().invoke(cli, [*db, "scan", "--offline", str(export)]).exit_code == 0
    result = CliRunner().invoke(cli, [*db, "report", "--format", "ocsf", "-o", "-"])
    assert result.exit_code == 0, result.output
    events = [DetectionFinding.model_validate(event) for event in json.loads(result.stdout)]
    admin = next(event for event in events if event.finding_info.analytic.uid == "AWS-IAM-001")
    assert admin.resources[0].uid == "aws:arn:aws:iam::123456789012:role/admin"
    assert admin.resources[0].labels == ["agent"]
    assert (admin.status_id, admin.activity_id) == (1, 1)  # new in the first scan


@pytest.mark.parametrize(("status", "status_id"), [("new", 3), ("persisting", 3), ("resolved", 4)])
def test_a_suppressed_open_finding_is_status_suppressed_and_a_resolved_one_stays_resolved(
    make_report, make_finding, status, status_id
):
    suppression = {"kind": "exception", "owner": "a", "reason": "r", "expires": "2030-01-01", "source": "x line 2"}
    (event,) = render(make_report(findings=[make_finding(status=status, suppression=suppression)]))
    assert event["status_id"] == status_id and event["status_detail"] == status
    assert event["unmapped"]["suppression"] == suppression
    DetectionFinding.model_validate(event)
