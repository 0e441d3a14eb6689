"""docs/permissions.md is the exact, read-only policy the scanner needs.

Every AWS operation the installed collectors call during a live multi-account scan is recorded through botocore's
event hooks, and must be allowed by the documented policy; every action of that policy must be a List or Read
action of the AWS catalogue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agentiam.config import load_settings
from agentiam.findings.policy.aws import parse_policy
from agentiam.findings.policy.catalogue import default_catalogue
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, collect
from agentiam.plugins import load_plugins

DOC = Path(__file__).parents[2] / "docs" / "permissions.md"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def documented_policy() -> Any:
    """The first JSON block of docs/permissions.md: the policy to attach to the scanner."""
    block = re.search(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)
    assert block, "docs/permissions.md has no JSON policy block"
    return json.loads(block.group(1))


def documented_extras() -> set[str]:
    """Actions the docs' table lists beyond the policy block (account discovery and role assumption)."""
    return set(re.findall(r"^\| `([a-z0-9-]+:[A-Za-z0-9]+)` \|", DOC.read_text(), flags=re.M))


@pytest.fixture
def account() -> Iterator[None]:
    with mock_aws():
        boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_role(RoleName="agent", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "ai-agent", "Value": "true"}])
        iam.create_user(UserName="deployer")
        iam.create_access_key(UserName="deployer")
        yield


def record_operations(tmp_path: Path) -> set[str]:
    called: set[str] = set()

    def note(model: Any, **_: Any) -> None:
        called.add(f"{model.service_model.signing_name}:{model.name}")

    def session_factory() -> boto3.Session:
        session = boto3.Session(region_name="us-east-1")
        session.events.register("before-call", note)
        return session

    settings = load_settings(None, {"db": str(tmp_path / "x.db")}, environ={})
    collect(
        Store.open(settings.db),
        settings,
        ScanRequest(aws_session_factory=session_factory, aws_organization=True),
        load_plugins(),
    )
    return called


def test_every_operation_the_collectors_call_is_in_the_documented_policy(account: None, tmp_path: Path) -> None:
    called = record_operations(tmp_path)
    assert "iam:GetAccountAuthorizationDetails" in called  # the recorder sees the real calls
    policy = parse_policy(documented_policy())
    allowed_by_policy = {action for action in called if any(s.matches_action(action) for s in policy.statements)}
    missing = called - allowed_by_policy - documented_extras()
    assert not missing, f"called but not documented in docs/permissions.md: {sorted(missing)}"


def test_the_documented_policy_is_read_only() -> None:
    catalogue = default_catalogue()
    actions = [a for s in documented_policy()["Statement"] for a in s["Action"]]
    for action in [*actions, *documented_extras()]:
        assert catalogue.index(action) is not None, f"{action} is not a known AWS action"
        levels = set(catalogue.access_levels(action))
        assert levels <= {"List", "Read"} or action == "sts:AssumeRole", f"{action} is {levels}"
