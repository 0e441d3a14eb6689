"""The AWS IAM collector, live: real boto3 clients against moto in-process, through the real collector and pipeline.

Faults (throttling, AccessDenied, pagination) are injected at the HTTP layer with botocore `before-send` /
`before-parse` event handlers, so the collector's own clients, retry mode and error handling are what is tested.
"""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pandas as pd
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from moto import mock_aws

from agentiam.collectors.base import CollectContext
from agentiam.config import Settings, load_settings
from agentiam.inventory import views
from agentiam.inventory.records import (
    AnyRecord,
    CredentialRecord,
    GrantRecord,
    IdentityRecord,
    IssueRecord,
    PolicyRecord,
    TrustRecord,
    UsageRecord,
)
from agentiam.inventory.store import Store
from agentiam.pipeline import CollectOutcome, ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins, load_plugins

ACCOUNT = "123456789012"  # moto's default account
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
AUTHZ = "GetAccountAuthorizationDetails"

SessionFactory = Callable[[], boto3.Session]
T = TypeVar("T")
Handler = Callable[..., Any]


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _trust(service: str) -> str:
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def _uid(kind: str, name: str) -> str:
    return f"aws:{_arn(kind, name)}"


# -- the account -------------------------------------------------------------------------------------------------

TOOLS_V1 = _policy(_allow("s3:*"))
TOOLS_V2 = _policy(_allow(["lambda:InvokeFunction", "bedrock:InvokeModel"]))
KB_READ = _policy(_allow("s3:GetObject", "arn:aws:s3:::kb/*"))
BOUNDARY = _policy(_allow(["s3:*", "lambda:*", "bedrock:*"]))
EVERYTHING = _policy(_allow("*"))
DEPLOY_INLINE = _policy(_allow("cloudformation:*"))
DEPLOY_MANAGED = _policy(_allow("ecr:PutImage"))


@dataclass
class Account:
    """What `build_account` created, for the assertions."""

    access_key_id: str
    secret_access_key: str
    tools_arn: str
    boundary_arn: str


def build_account(iam: Any) -> Account:
    """A small, realistic estate: two agent roles (by trust, by tag), plain roles, a CI user in a group."""
    tools = iam.create_policy(PolicyName="agent-tools", PolicyDocument=TOOLS_V1)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=tools, PolicyDocument=TOOLS_V2, SetAsDefault=True)
    boundary = iam.create_policy(PolicyName="agent-boundary", PolicyDocument=BOUNDARY)["Policy"]["Arn"]
    everything = iam.create_policy(PolicyName="ticket-everything", PolicyDocument=EVERYTHING)["Policy"]["Arn"]
    deploy = iam.create_policy(PolicyName="deploy-managed", PolicyDocument=DEPLOY_MANAGED)["Policy"]["Arn"]
    iam.create_policy(PolicyName="unused-customer-policy", PolicyDocument=_policy(_allow("sqs:*")))

    iam.create_role(
        RoleName="support-agent",
        AssumeRolePolicyDocument=_trust("bedrock.amazonaws.com"),
        Description="Bedrock agent for support tickets",
        PermissionsBoundary=boundary,
        Tags=[{"Key": "owner", "Value": "ai-platform@example.com"}, {"Key": "env", "Value": "prod"}],
    )
    iam.put_role_policy(RoleName="support-agent", PolicyName="kb-read", PolicyDocument=KB_READ)
    iam.attach_role_policy(RoleName="support-agent", PolicyArn=tools)

    iam.create_role(
        RoleName="ticket-bot",
        AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"),
        Tags=[{"Key": "ai-agent", "Value": "true"}, {"Key": "team", "Value": "helpdesk"}],
    )
    iam.attach_role_policy(RoleName="ticket-bot", PolicyArn=everything)

    iam.create_role(RoleName="etl-batch", AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
    iam.attach_role_policy(RoleName="etl-batch", PolicyArn=tools)
    iam.create_role(
        RoleName="not-an-agent",
        AssumeRolePolicyDocument=_trust("ecs-tasks.amazonaws.com"),
        Tags=[{"Key": "ai-agent", "Value": "false"}],
    )

    iam.create_group(GroupName="deployers")
    iam.put_group_policy(GroupName="deployers", PolicyName="deploy-inline", PolicyDocument=DEPLOY_INLINE)
    iam.attach_group_policy(GroupName="deployers", PolicyArn=deploy)
    iam.create_user(UserName="ci-deployer", Tags=[{"Key": "contact", "Value": "release@example.com"}])
    iam.add_user_to_group(GroupName="deployers", UserName="ci-deployer")
    key = iam.create_access_key(UserName="ci-deployer")["AccessKey"]
    iam.create_user(UserName="auditor")
    return Account(key["AccessKeyId"], key["SecretAccessKey"], tools, boundary)


# -- HTTP-layer fault injection ------------------------------------------------------------------------------------


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def aws_error(request: AWSPreparedRequest, status: int, code: str, message: str) -> AWSResponse:
    """An IAM (query protocol) error response, as AWS sends it."""
    body = (
        f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>0f1e2d3c-injected</RequestId></ErrorResponse>"
    ).encode()
    headers = HeadersDict({"Content-Type": "text/xml", "x-amzn-RequestId": "0f1e2d3c-injected"})
    return AWSResponse(request.url, status, headers, _RawBody(body))


def request_params(request: AWSPreparedRequest) -> dict[str, str]:
    body = request.body or b""
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in urllib.parse.parse_qs(text).items()}


def session_factory(*handlers: tuple[str, Handler]) -> SessionFactory:
    """What the CLI's factory makes (the standard chain), with handlers that every client of the session runs first,
    ahead of moto's own `before-send` responder."""

    def make() -> boto3.Session:
        session = boto3.Session()
        for event, handler in handlers:
            session.events.register_first(event, handler)
        return session

    return make


@dataclass
class Throttle:
    """Answers the first `times` attempts of an operation with HTTP 400 Throttling."""

    times: int
    attempts: int = 0

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.attempts <= self.times:
            return aws_error(request, 400, "Throttling", "Rate exceeded")
        return None


def deny(operation: str, only_user: str | None = None) -> tuple[str, Handler]:
    def handler(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if only_user is not None and request_params(request).get("UserName") != only_user:
            return None
        return aws_error(
            request,
            403,
            "AccessDenied",
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/scanner/x is not authorized to perform: iam:{operation}",
        )

    return f"before-send.iam.{operation}", handler


@dataclass
class Pager:
    """Makes moto's single GetAccountAuthorizationDetails answer paginate as AWS does (MaxItems, default 100, over
    all four lists; Marker/IsTruncated), by slicing the real response body before botocore parses it."""

    default_max_items: int = 100
    markers: list[str | None] = field(default_factory=list)
    _params: dict[str, str] = field(default_factory=dict)

    def handlers(self) -> list[tuple[str, Handler]]:
        return [(f"before-send.iam.{AUTHZ}", self._record), (f"before-parse.iam.{AUTHZ}", self._slice)]

    def _record(self, request: AWSPreparedRequest, **_: Any) -> None:
        self._params = request_params(request)
        self.markers.append(self._params.get("Marker"))

    def _slice(self, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] != 200:
            return
        ET.register_namespace("", IAM_NS)
        root = ET.fromstring(response_dict["body"])
        result = root.find(f"{{{IAM_NS}}}{AUTHZ}Result")
        assert result is not None
        items = [
            (container, member)
            for name in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
            for container in result.findall(f"{{{IAM_NS}}}{name}")
            for member in list(container)
        ]
        start = int(self._params.get("Marker") or 0)
        end = start + int(self._params.get("MaxItems") or self.default_max_items)
        for index, (container, member) in enumerate(items):
            if not start <= index < end:
                container.remove(member)
        truncated = result.find(f"{{{IAM_NS}}}IsTruncated")
        assert truncated is not None
        truncated.text = "true" if end < len(items) else "false"
        if end < len(items):
            ET.SubElement(result, f"{{{IAM_NS}}}Marker").text = str(end)
        response_dict["body"] = ET.tostring(root)


# -- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and a region; no profile, endpoint or config file that could lead anywhere real."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "MOTO_IAM_LOAD_MANAGED_POLICIES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.chdir(tmp_path)  # no stray ./agentiam.toml


@pytest.fixture
def aws(fake_aws_environment: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def iam(aws: None) -> Any:
    return boto3.client("iam")


@pytest.fixture
def account(iam: Any) -> Account:
    return build_account(iam)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"db": str(tmp_path / "x.db")}, environ={})


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = load_plugins()
    assert not loaded.failures, [f.describe() for f in loaded.failures]
    # The IAM collector alone: a scan's runs are then its runs (Lambda and Bedrock have their own tests).
    return Plugins(collectors={"aws-iam": loaded.collectors["aws-iam"]}, rules=loaded.rules)


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store.open(settings.db)


def scan(store: Store, settings: Settings, plugins: Plugins, factory: SessionFactory | None = None) -> CollectOutcome:
    return collect(store, settings, ScanRequest(aws_session_factory=factory or session_factory()), plugins)


def collect_records(settings: Settings, plugins: Plugins, factory: SessionFactory | None = None) -> list[AnyRecord]:
    """The records the collector yields for the account, straight from the collector (no store)."""
    collector = plugins.collectors["aws-iam"]
    ctx = CollectContext(settings=settings, aws_session_factory=factory or session_factory())
    (scope,) = collector.scopes(ctx)
    assert scope.key == ACCOUNT
    return list(collector.collect(ctx, scope))


def of_type(records: list[AnyRecord], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def identity(records: list[AnyRecord], uid: str) -> IdentityRecord:
    (found,) = [r for r in of_type(records, IdentityRecord) if r.uid == uid]
    return found


def grants_of(records: list[AnyRecord], uid: str) -> dict[str, GrantRecord]:
    return {g.policy_ref: g for g in of_type(records, GrantRecord) if g.identity_uid == uid}


def documents(records: list[AnyRecord]) -> dict[str, Any]:
    return {p.hash: p.document for p in of_type(records, PolicyRecord)}


def run_row(store: Store, scan_id: int) -> dict[str, Any]:
    with store.read() as conn:
        (row,) = views.collector_runs(conn, scan_id).to_dict("records")
    return row


# -- classification ----------------------------------------------------------------------------------------------


def test_a_role_trusted_by_bedrock_is_an_agent_with_trust_evidence(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    role = identity(collect_records(settings, plugins), _uid("role", "support-agent"))

    assert role.is_agent
    assert [(e.reason, e.detail) for e in role.agent_evidence] == [
        ("trusted-by-agent-service", "bedrock.amazonaws.com")
    ]
    assert role.identity_kind == "aws_role"
    assert role.scope == ACCOUNT
    assert role.native_id == _arn("role", "support-agent")


def test_a_role_tagged_ai_agent_true_is_an_agent_with_tag_evidence(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    role = identity(collect_records(settings, plugins), _uid("role", "ticket-bot"))

    assert role.is_agent
    assert [(e.reason, e.detail) for e in role.agent_evidence] == [("agent-tag", "ai-agent=true")]


def test_plain_roles_and_a_false_agent_tag_are_not_agents(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    records = collect_records(settings, plugins)

    for name in ("etl-batch", "not-an-agent"):
        role = identity(records, _uid("role", name))
        assert not role.is_agent, name
        assert role.agent_evidence == []
    assert not identity(records, _uid("user", "ci-deployer")).is_agent


def test_owner_comes_from_the_first_owner_like_tag(account: Account, settings: Settings, plugins: Plugins) -> None:
    records = collect_records(settings, plugins)

    support = identity(records, _uid("role", "support-agent"))
    assert support.owner == "ai-platform@example.com"
    assert support.tags == {"owner": "ai-platform@example.com", "env": "prod"}
    assert identity(records, _uid("role", "ticket-bot")).owner is None  # a `team` tag names no one accountable
    assert identity(records, _uid("user", "ci-deployer")).owner == "release@example.com"  # the `contact` tag
    assert identity(records, _uid("role", "etl-batch")).owner is None


def test_trust_policy_becomes_trust_records_and_a_stored_document(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    records = collect_records(settings, plugins)
    uid = _uid("role", "support-agent")

    trust = [t for t in of_type(records, TrustRecord) if t.identity_uid == uid]
    assert [(t.effect, t.principal_type, t.principal, t.actions) for t in trust] == [
        ("Allow", "Service", "bedrock.amazonaws.com", ["sts:AssumeRole"])
    ]
    trust_hash = identity(records, uid).attributes["trust_policy_hash"]
    assert documents(records)[trust_hash] == json.loads(_trust("bedrock.amazonaws.com"))


# -- grants and policy documents ---------------------------------------------------------------------------------


def test_role_holds_its_inline_policy_attached_customer_policy_and_boundary(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    records = collect_records(settings, plugins)
    uid = _uid("role", "support-agent")
    grants = grants_of(records, uid)
    docs = documents(records)

    inline = grants[f"{_arn('role', 'support-agent')}/inline/kb-read"]
    assert (inline.policy_source, inline.grant_kind, inline.policy_name) == ("inline", "permission", "kb-read")
    assert docs[inline.policy_hash] == json.loads(KB_READ)

    tools = grants[account.tools_arn]
    assert (tools.policy_source, tools.grant_kind) == ("customer_managed", "permission")

    boundary = grants[account.boundary_arn]
    assert (boundary.policy_source, boundary.grant_kind) == ("customer_managed", "boundary")
    assert docs[boundary.policy_hash] == json.loads(BOUNDARY)
    assert identity(records, uid).attributes["permissions_boundary"] == account.boundary_arn
    assert len(grants) == 3


def test_an_attached_customer_policy_is_read_at_its_default_version(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    records = collect_records(settings, plugins)
    docs = documents(records)

    tools = grants_of(records, _uid("role", "support-agent"))[account.tools_arn]
    assert docs[tools.policy_hash] == json.loads(TOOLS_V2)
    assert json.loads(TOOLS_V1) not in docs.values()  # the superseded v1 is not evaluated anywhere


def test_a_user_inherits_its_groups_inline_and_attached_policies(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    records = collect_records(settings, plugins)
    uid = _uid("user", "ci-deployer")
    grants = grants_of(records, uid)
    docs = documents(records)

    inline = grants[f"{_arn('group', 'deployers')}/inline/deploy-inline"]
    assert (inline.policy_source, inline.via) == ("group_inline", "deployers")
    assert docs[inline.policy_hash] == json.loads(DEPLOY_INLINE)
    managed = grants[_arn("policy", "deploy-managed")]
    assert (managed.policy_source, managed.via) == ("group_managed", "deployers")
    assert docs[managed.policy_hash] == json.loads(DEPLOY_MANAGED)
    assert identity(records, uid).attributes["groups"] == ["deployers"]
    assert not of_type(records, IssueRecord)


def test_unattached_aws_managed_policies_are_skipped_and_attached_ones_kept(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, plugins: Plugins
) -> None:
    # The one test that pays for moto's catalogue of ~1,300 AWS-managed policies (a second or two).
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    admin_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=_trust("bedrock.amazonaws.com"))
        iam.attach_role_policy(RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        version = iam.get_policy(PolicyArn=admin_arn)["Policy"]["DefaultVersionId"]
        admin = iam.get_policy_version(PolicyArn=admin_arn, VersionId=version)["PolicyVersion"]["Document"]
        records = collect_records(settings, plugins)

    (grant,) = grants_of(records, _uid("role", "reader")).values()
    assert (grant.policy_ref, grant.policy_source) == ("arn:aws:iam::aws:policy/ReadOnlyAccess", "aws_managed")
    docs = documents(records)
    assert grant.policy_hash in docs
    assert admin not in docs.values()
    assert len(of_type(records, PolicyRecord)) == 2  # ReadOnlyAccess and the trust policy, nothing else
    assert not of_type(records, IssueRecord)


# -- credentials -------------------------------------------------------------------------------------------------


def test_an_access_key_is_kept_as_a_fingerprint_and_its_last_four_characters(
    account: Account, settings: Settings, plugins: Plugins
) -> None:
    records = collect_records(settings, plugins)

    (key,) = of_type(records, CredentialRecord)
    assert key.holder_uid == _uid("user", "ci-deployer")
    assert key.credential_kind == "aws_access_key"
    assert key.status == "Active"
    assert key.name == f"access key …{account.access_key_id[-4:]}"
    assert key.fingerprint is not None
    assert re.fullmatch(r"[0-9a-f]{12}", key.fingerprint)
    assert key.fingerprint in key.uid
    assert key.created_at is not None


def test_neither_the_secret_access_key_nor_the_full_key_id_is_in_any_record_or_the_database(
    account: Account, settings: Settings, plugins: Plugins, store: Store
) -> None:
    records = collect_records(settings, plugins)
    outcome = scan(store, settings, plugins)
    analyze_scan(store, outcome.scan_id, settings, plugins)

    serialised = "\n".join(r.model_dump_json() for r in records)
    assert of_type(records, CredentialRecord)
    assert account.secret_access_key not in serialised
    assert account.access_key_id not in serialised
    with sqlite3.connect(settings.db) as conn:
        dump = "\n".join(conn.iterdump())
    assert "ci-deployer" in dump
    assert account.secret_access_key not in dump
    assert account.access_key_id not in dump


# -- pagination --------------------------------------------------------------------------------------------------


def test_every_role_arrives_when_the_authorization_details_span_several_pages(
    iam: Any, settings: Settings, plugins: Plugins, store: Store
) -> None:
    account = build_account(iam)
    for n in range(120):
        iam.create_role(RoleName=f"worker-{n:03d}", AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
    pager = Pager()

    outcome = scan(store, settings, plugins, session_factory(*pager.handlers()))

    assert outcome.status == "complete"
    assert pager.markers == [None, "100"]  # two pages, the second asked for with the first one's marker
    with store.read() as conn:
        frame = views.identities(conn, outcome.scan_id)
    roles = frame[frame["identity_kind"] == "aws_role"]
    assert len(roles) == 124
    assert roles["uid"].is_unique
    assert {f"worker-{n:03d}" for n in range(120)} <= set(roles["name"])
    assert set(frame[frame["identity_kind"] == "aws_user"]["name"]) == {"ci-deployer", "auditor"}
    # Users come on the first page, their group's policies too: grants resolve across pages.
    with store.read() as conn:
        grants = views.grants(conn, outcome.scan_id)
        issues = views.issues(conn, outcome.scan_id)
    assert set(grants[grants["identity_uid"] == _uid("role", "etl-batch")]["policy_ref"]) == {account.tools_arn}
    assert issues.empty
    run = run_row(store, outcome.scan_id)
    assert run["api_calls"] >= 2 + 2 + 1  # two pages, two ListAccessKeys, one GetAccessKeyLastUsed


# -- throttling and denial ---------------------------------------------------------------------------------------


def test_throttled_calls_are_retried_and_the_retries_are_counted_on_the_collector_run(
    iam: Any, settings: Settings, plugins: Plugins, store: Store
) -> None:
    # One role and no users: after a throttle the adaptive limiter slows every later call of the client (~1 s each).
    iam.create_role(RoleName="support-agent", AssumeRolePolicyDocument=_trust("bedrock.amazonaws.com"))
    throttle = Throttle(times=2)

    outcome = scan(store, settings, plugins, session_factory((f"before-send.iam.{AUTHZ}", throttle)))

    assert outcome.status == "complete", outcome.failures
    assert throttle.attempts == 3
    run = run_row(store, outcome.scan_id)
    assert run["status"] == "complete"
    assert run["throttled"] == 2
    # sts:GetCallerIdentity (booked on the first scope), then one GetAccountAuthorizationDetails call,
    # whatever its attempts.
    assert run["api_calls"] == 2
    with store.read() as conn:
        assert list(views.identities(conn, outcome.scan_id)["name"]) == ["support-agent"]


def test_throttling_that_outlasts_the_retries_fails_the_run_and_counts_each_throttled_response(
    iam: Any, tmp_path: Path, plugins: Plugins
) -> None:
    iam.create_role(RoleName="support-agent", AssumeRolePolicyDocument=_trust("bedrock.amazonaws.com"))
    # max_attempts counts attempts, not retries: 2 means one retry. A small budget keeps the test short.
    settings = load_settings(None, {"db": str(tmp_path / "x.db"), "aws": {"max_attempts": 2}}, environ={})
    store = Store.open(settings.db)
    throttle = Throttle(times=1_000)

    outcome = scan(store, settings, plugins, session_factory((f"before-send.iam.{AUTHZ}", throttle)))

    assert outcome.status == "failed"
    assert throttle.attempts == 2
    run = run_row(store, outcome.scan_id)
    assert run["status"] == "failed"
    assert "iam:GetAccountAuthorizationDetails: Throttling: Rate exceeded" in run["error"]
    assert "after 1 retry" in run["error"]
    assert run["throttled"] == 2


def _scan_rows(store: Store, scan_id: int) -> dict[str, pd.DataFrame]:
    with store.read() as conn:
        return {
            "identities": views.identities(conn, scan_id),
            "grants": views.grants(conn, scan_id),
            "trusts": views.trusts(conn, scan_id),
            "credentials": views.credentials(conn, scan_id),
            "findings": views.findings(conn, scan_id),
            "runs": views.collector_runs(conn, scan_id),
        }


def test_a_denied_scan_leaves_the_previous_complete_scan_and_its_findings_untouched(
    account: Account, settings: Settings, plugins: Plugins, store: Store
) -> None:
    first = scan(store, settings, plugins)
    analyze_scan(store, first.scan_id, settings, plugins)
    before = _scan_rows(store, first.scan_id)
    assert first.status == "complete"
    assert len(before["identities"]) == 6
    admin = before["findings"][before["findings"]["rule_id"] == "AWS-IAM-001"]
    assert list(admin["subject_uid"]) == [_uid("role", "ticket-bot")]

    second = scan(store, settings, plugins, session_factory(deny(AUTHZ)))
    analyze_scan(store, second.scan_id, settings, plugins)

    assert second.status in ("partial", "failed")
    after = _scan_rows(store, first.scan_id)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    # The failed scope's findings are carried into the new scan as still open: missing data is not a fix.
    with store.read() as conn:
        carried = views.findings(conn, second.scan_id)
        assert views.latest_scan_id(conn) == second.scan_id
    assert set(carried["fingerprint"]) == set(before["findings"]["fingerprint"])
    assert set(carried["status"]) == {"persisting"}


def test_access_keys_denied_for_one_user_records_an_issue_keeps_the_user_and_makes_the_run_partial(
    account: Account, settings: Settings, plugins: Plugins, store: Store
) -> None:
    outcome = scan(store, settings, plugins, session_factory(deny("ListAccessKeys", only_user="ci-deployer")))

    # Everything else was read, but something is missing: partial, not complete (nor failed).
    assert outcome.status == "partial"
    run = run_row(store, outcome.scan_id)
    assert run["status"] == "partial"
    assert "iam:ListAccessKeys" in run["error"]
    with store.read() as conn:
        identities = views.identities(conn, outcome.scan_id)
        issues = views.issues(conn, outcome.scan_id)
        credentials = views.credentials(conn, outcome.scan_id)
        grants = views.grants(conn, outcome.scan_id)
    assert len(identities) == 6
    assert {_uid("user", "ci-deployer"), _uid("user", "auditor")} <= set(identities["uid"])
    (issue,) = issues.to_dict("records")
    assert issue["subject_uid"] == _uid("user", "ci-deployer")
    assert "iam:ListAccessKeys" in issue["problem"]
    assert "AccessDenied" in issue["problem"]
    assert issue["severity"] == "error"
    assert credentials.empty  # the key could not be listed; nothing is made up
    user_grants = grants[grants["identity_uid"] == _uid("user", "ci-deployer")]
    assert set(user_grants["policy_source"]) == {"group_inline", "group_managed"}


# -- live and offline agree --------------------------------------------------------------------------------------


def test_the_offline_import_of_the_same_account_yields_the_same_records_as_the_live_collection(
    account: Account, iam: Any, settings: Settings, plugins: Plugins, tmp_path: Path
) -> None:
    # The export holds no access keys: those come from ListAccessKeys, live only.
    live = [
        r
        for r in collect_records(settings, plugins)
        if not isinstance(r, CredentialRecord)
        and not (isinstance(r, UsageRecord) and r.source == "iam:GetAccessKeyLastUsed")
    ]
    # What `aws iam get-account-authorization-details > export.json` writes (ISO timestamps, decoded documents).
    details = iam.get_account_authorization_details()
    details.pop("ResponseMetadata")
    export = tmp_path / "export.json"
    export.write_text(json.dumps(details, default=lambda v: v.isoformat()), encoding="utf-8")

    collector = plugins.collectors["aws-iam"]
    document = json.loads(export.read_text(encoding="utf-8"))
    assert collector.detect(document)
    imported = collector.import_document(CollectContext(settings=settings), document, f"account {ACCOUNT}")

    assert imported.scope == ACCOUNT
    assert sorted(r.model_dump_json() for r in imported.records) == sorted(r.model_dump_json() for r in live)
