"""AWS-UNUSED-004 on what the live collector records: moto for IAM, Stubber for the service-last-accessed reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agentiam.config import Settings, load_settings
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins, load_plugins
from agentiam.reports.loader import load_report_data
from agentiam.reports.model import ReportData
from tests.collectors.test_aws_last_accessed import (  # the same stubbed reports and fake environment
    ACCOUNT,
    Runs,
    report,
    runs,  # noqa: F401
    service,
)

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
WORKER = f"arn:aws:iam::{ACCOUNT}:role/order-worker"
REPORTER = f"arn:aws:iam::{ACCOUNT}:role/reporter"
JOBS = [f"5c0ffee0-0000-4000-8000-{n:012d}" for n in range(2)]


@pytest.fixture
def account() -> Iterator[None]:
    """Two roles: a worker that may read S3 and write DynamoDB, a reporter that may read S3."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        for name, actions in (("order-worker", ["s3:GetObject", "dynamodb:PutItem"]), ("reporter", ["s3:GetObject"])):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
            document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_role_policy(RoleName=name, PolicyName="work", PolicyDocument=json.dumps(document))
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    overrides = {"db": str(tmp_path / "x.db"), "aws": {"last_accessed": True, "max_concurrency": 1}}
    return load_settings(None, overrides, environ={})


def scan(settings: Settings) -> ReportData:
    plugins = load_plugins()
    store = Store.open(settings.db)
    only_iam = Plugins(collectors={"aws-iam": plugins.collectors["aws-iam"]}, rules=plugins.rules)
    outcome = collect(store, settings, ScanRequest(aws_session_factory=boto3.Session), only_iam)
    analyze_scan(store, outcome.scan_id, settings, only_iam)
    return load_report_data(store, outcome.scan_id)


def unused_services(data: ReportData) -> dict[str, Any]:
    return {f.subject_name: f for f in data.findings if f.rule_id == "AWS-UNUSED-004"}


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_a_write_service_idle_for_months_is_reported_at_medium(account: None, settings: Settings, runs: Runs) -> None:  # noqa: F811
    worker = report(services=[service("s3", days_ago(1)), service("dynamodb", days_ago(200))])
    reporter = report(services=[service("s3", days_ago(2))])
    runs.queued.append([(WORKER, JOBS[0], worker), (REPORTER, JOBS[1], reporter)])
    findings = unused_services(scan(settings))
    runs.all_answered()
    assert list(findings) == ["order-worker"]  # the reporter uses everything it is granted
    finding = findings["order-worker"]
    assert finding.severity == "medium"  # dynamodb:PutItem is a write
    assert "not accessed for 90 days or more: dynamodb" in finding.message
    assert [s["service"] for s in finding.evidence["unused_services"]] == ["dynamodb"]


def test_no_report_is_no_finding(account: None, settings: Settings, runs: Runs) -> None:  # noqa: F811
    runs.queued.append([(WORKER, JOBS[0], None), (REPORTER, JOBS[1], report(services=[service("s3", days_ago(300))]))])
    data = scan(settings)
    runs.all_answered()
    assert list(unused_services(data)) == ["reporter"]  # the worker's report was denied: nothing is known
    assert unused_services(data)["reporter"].severity == "low"
