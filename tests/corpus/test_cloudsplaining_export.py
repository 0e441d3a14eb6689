"""The offline import of a real `aws iam get-account-authorization-details` dump (Cloudsplaining's test file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentiam.config import Settings
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data

pytestmark = pytest.mark.corpus


@pytest.fixture
def report(corpora: Path, settings: Settings, plugins: Plugins):  # type: ignore[no-untyped-def]
    export = corpora / "aws" / "cloudsplaining-example-authz-details.json"
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=[export]), plugins)
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    return load_report_data(store, outcome.scan_id)


def test_every_user_and_role_is_imported(report) -> None:  # type: ignore[no-untyped-def]
    kinds = sorted((i.identity_kind, i.name) for i in report.identities)
    assert kinds == [
        ("aws_role", "MyOtherRole"),
        ("aws_role", "MyRole"),
        ("aws_role", "OverprivilegedEC2"),
        ("aws_user", "biden"),
        ("aws_user", "obama"),
        ("aws_user", "userwithlotsofpermissions"),
    ]
    assert report.scan.collector_runs[0].scope == "012345678901"


def test_administrators_through_a_group_or_an_attached_policy_are_found(report) -> None:  # type: ignore[no-untyped-def]
    admins = {f.subject_name for f in report.findings if f.rule_id == "AWS-IAM-001"}
    assert admins == {"obama", "userwithlotsofpermissions"}


def test_service_wildcards_are_reported_per_service(report) -> None:  # type: ignore[no-untyped-def]
    services = {f.evidence["service"] for f in report.findings if f.rule_id == "AWS-IAM-002"}
    assert {"s3", "lambda", "dynamodb"} <= services


def test_unconstrained_permissions_management_is_found_where_cloudsplaining_finds_resource_exposure(report) -> None:  # type: ignore[no-untyped-def]
    exposed = {f.subject_name for f in report.findings if f.rule_id == "AWS-IAM-004"}
    assert "OverprivilegedEC2" in exposed  # s3:PutObjectAcl on "*"


def test_no_policy_of_the_real_dump_fails_to_parse(report) -> None:  # type: ignore[no-untyped-def]
    assert not [f for f in report.findings if f.rule_id == "AWS-IAM-090"]
    assert report.issues == []
