"""Unused-grant and hygiene rules end to end: access keys as the live IAM collector records them (real boto3 clients
against moto in-process), and ages measured at the moment the scan describes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import update

from agentiam.config import Settings
from agentiam.inventory import schema
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from agentiam.reports.model import ReportData
from tests.conftest import authorization_details, role


def _live_scan(settings: Settings, plugins: Plugins) -> ReportData:
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(aws_session_factory=boto3.Session), plugins)
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    return load_report_data(store, outcome.scan_id)


def test_access_keys_from_the_live_collector_drive_the_key_rules(settings: Settings, plugins: Plugins) -> None:
    settings.rules["AWS-HYG-004"] = {"rotation_days": 0}  # moto creates keys today: make every key "old"
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="support-bot", Tags=[{"Key": "agent", "Value": "true"}])
        iam.create_access_key(UserName="support-bot")
        iam.create_user(UserName="auditor", Tags=[{"Key": "owner", "Value": "security@example.com"}])
        retired = iam.create_access_key(UserName="auditor")["AccessKey"]["AccessKeyId"]
        iam.update_access_key(UserName="auditor", AccessKeyId=retired, Status="Inactive")
        iam.create_access_key(UserName="auditor")
        report = _live_scan(settings, plugins)

    findings = {(f.rule_id, f.subject_name): f for f in report.findings}
    workload_key = findings[("AWS-HYG-005", "support-bot")]
    assert workload_key.severity == "critical"  # high, raised: the user is an agent's
    assert "holds 1 active access key(s)" in workload_key.message
    assert ("AWS-HYG-005", "auditor") not in findings  # a person's key, used with nothing a workload calls
    rotated = [f for f in report.findings if f.rule_id == "AWS-HYG-004"]
    assert sorted(f.subject_name for f in rotated) == ["auditor", "support-bot"]  # the inactive key is not counted
    assert not [f for f in report.findings if f.rule_id == "AWS-UNUSED-002"]  # keys created today are new
    assert "AKIA" not in str([f.evidence for f in report.findings])  # only the last four characters of a key id


@pytest.mark.parametrize(("scan_days_ago", "unused"), [(0, True), (30, False)])
def test_ages_are_measured_at_the_scans_start_not_at_analysis(
    scan_days_ago: int, unused: bool, settings: Settings, plugins: Plugins, tmp_path: Path
) -> None:
    """A role created 100 days ago and never used was 70 days old when a scan taken 30 days ago saw it: not unused,
    however late that scan is analysed."""
    created = datetime.now(UTC) - timedelta(days=100)
    old_role = {**role("batch-exporter", []), "CreateDate": created.isoformat(), "RoleLastUsed": {}}
    export = tmp_path / "authz.json"
    export.write_text(json.dumps(authorization_details([old_role])))
    store = Store.open(settings.db)
    scan_id = collect(store, settings, ScanRequest(offline=[export]), plugins).scan_id
    with store.write() as conn:
        started = datetime.now(UTC) - timedelta(days=scan_days_ago)
        conn.execute(update(schema.Scan).where(schema.Scan.id == scan_id).values(started_at=started))  # type: ignore[arg-type]
    analyze_scan(store, scan_id, settings, plugins)
    report = load_report_data(store, scan_id)
    assert any(f.rule_id == "AWS-UNUSED-001" for f in report.findings) is unused
