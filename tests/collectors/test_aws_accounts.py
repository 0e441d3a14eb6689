"""Which accounts a live AWS scan covers: the credentials' own, a configured list, or the Organization's, each
reached by assuming the read-only role (with ExternalId); an account that refuses is reported, not fatal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from agentiam.collectors.aws.accounts import resolve_accounts
from agentiam.collectors.base import CallStats
from agentiam.config import AwsSettings

OWN = "123456789012"  # moto's default account


@pytest.fixture
def organization() -> Iterator[list[str]]:
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        for name in ("prod", "staging"):
            org.create_account(Email=f"{name}@example.com", AccountName=name)
        yield sorted(a["Id"] for a in org.list_accounts()["Accounts"] if a["Id"] != OWN)


def _caller(account: Any) -> str:
    return account.session_factory().client("sts", region_name="us-east-1").get_caller_identity()["Account"]


def test_by_default_only_the_credentials_own_account_is_scanned(organization: list[str]) -> None:
    accounts = resolve_accounts(boto3.Session, AwsSettings(), CallStats(), organization=False)
    assert [a.id for a in accounts] == [OWN]
    assert _caller(accounts[0]) == OWN


def test_listed_accounts_are_reached_through_the_assumed_role(organization: list[str]) -> None:
    settings = AwsSettings(accounts=[OWN, organization[0]], external_id="agentiam-ext-42")
    accounts = resolve_accounts(boto3.Session, settings, CallStats(), organization=False)
    assert [a.id for a in accounts] == [OWN, organization[0]]
    assert [_caller(a) for a in accounts] == [OWN, organization[0]]


def test_the_organization_lists_every_active_account(organization: list[str]) -> None:
    accounts = resolve_accounts(boto3.Session, AwsSettings(), CallStats(), organization=True)
    assert sorted(a.id for a in accounts) == sorted([OWN, *organization])
    assert {a.name for a in accounts} >= {"prod", "staging"}


def test_the_role_name_and_external_id_are_sent_with_the_assume_role_call(organization: list[str]) -> None:
    sent: list[dict[str, Any]] = []
    session = boto3.Session()
    session.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: sent.append(dict(params)))
    settings = AwsSettings(accounts=[organization[0]], assume_role="security/AgentiamReadOnly", external_id="ext-42")
    resolve_accounts(lambda: session, settings, CallStats(), organization=False)
    assert sent == [
        {
            "RoleArn": f"arn:aws:iam::{organization[0]}:role/security/AgentiamReadOnly",
            "RoleSessionName": "agentiam-scan",
            "ExternalId": "ext-42",
        }
    ]


def test_an_account_that_denies_the_assume_role_fails_alone(organization: list[str]) -> None:
    denied = organization[1]
    session = boto3.Session()
    session.events.register("before-send.sts.AssumeRole", _deny_assume_role_into(denied))
    settings = AwsSettings(accounts=organization)
    accounts = resolve_accounts(lambda: session, settings, CallStats(), organization=False)
    by_id = {a.id: a for a in accounts}
    assert by_id[organization[0]].error is None and _caller(by_id[organization[0]]) == organization[0]
    assert by_id[denied].session_factory is None
    assert "sts:AssumeRole" in by_id[denied].error and "AccessDenied" in by_id[denied].error


def test_account_ids_in_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="accounts"):
        AwsSettings(accounts=["not-an-account"])


def _deny_assume_role_into(account: str) -> Any:
    """A before-send hook: STS answers AccessDenied to AssumeRole into `account`, as its role's trust would."""

    def deny(request: Any, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        if account not in body:
            return None
        error = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            b"<Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>"
        )
        return AWSResponse(request.url, 403, {}, _Raw(error))

    return deny


class _Raw:
    """The minimal raw-body object botocore reads an injected response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def test_a_multi_account_scan_collects_each_account_and_fails_only_the_one_that_denies(
    organization: list[str], tmp_path: Any
) -> None:
    from agentiam.config import load_settings
    from agentiam.inventory import views
    from agentiam.inventory.store import Store
    from agentiam.pipeline import ScanRequest, collect
    from agentiam.plugins import load_plugins

    reachable, denied = organization
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    boto3.client("iam", region_name="us-east-1").create_role(RoleName="home-agent", AssumeRolePolicyDocument=trust)
    other = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{reachable}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    boto3.Session(
        aws_access_key_id=other["AccessKeyId"],
        aws_secret_access_key=other["SecretAccessKey"],
        aws_session_token=other["SessionToken"],
    ).client("iam", region_name="us-east-1").create_role(RoleName="prod-agent", AssumeRolePolicyDocument=trust)

    def session_factory() -> boto3.Session:
        session = boto3.Session()
        session.events.register("before-send.sts.AssumeRole", _deny_assume_role_into(denied))
        return session

    settings = load_settings(None, {"db": str(tmp_path / "x.db"), "aws": {"max_attempts": 1}}, environ={})
    store = Store.open(settings.db)
    outcome = collect(
        store, settings, ScanRequest(aws_session_factory=session_factory, aws_organization=True), load_plugins()
    )
    assert outcome.status == "partial"
    with store.read() as conn:
        runs = views.collector_runs(conn, outcome.scan_id)
        names = set(views.identities(conn, outcome.scan_id)["name"])
    iam_runs = runs[runs["collector"] == "aws-iam"].set_index("scope")
    assert iam_runs.loc[OWN, "status"] == "complete" and iam_runs.loc[reachable, "status"] == "complete"
    assert iam_runs.loc[denied, "status"] == "failed" and "AccessDenied" in iam_runs.loc[denied, "error"]
    assert {"home-agent", "prod-agent"} <= names
