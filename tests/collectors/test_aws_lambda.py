"""The AWS Lambda collector: real boto3 clients against moto in-process, through the real collector and pipeline.

Faults (AccessDenied, expired tokens, undecryptable environments) are injected on the collector's own clients with
botocore event handlers; Bedrock Agents, which moto cannot describe in full, answer through a `Stubber`, which checks
every stubbed response against the real API schema.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.stub import Stubber
from moto import mock_aws

from agentiam.collectors.base import CollectContext
from agentiam.config import Settings
from agentiam.inventory import views
from agentiam.inventory.records import AnyRecord, BindingRecord, CredentialRecord, IssueRecord, WorkloadRecord
from agentiam.inventory.store import Store
from agentiam.pipeline import CollectOutcome, ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.base import write_reports
from agentiam.reports.csv_report import CsvReporter
from agentiam.reports.html_report import HtmlReporter
from agentiam.reports.json_report import JsonReporter
from agentiam.reports.loader import load_report_data
from tests.collectors.conftest import EU, US

ACCOUNT = "123456789012"  # moto's default account

# Fakes with real shapes, built by concatenation so that no scanner mistakes this file for a leak.
OPENAI_KEY = "sk-" + "proj-" + "T3stOnlyN0tAR3alK3y" + "Zq8Wx2Lm5Np7Rs9Tu1"
DB_PASSWORD = "Corr3ct-h0rse-" + "battery-staple"
T = TypeVar("T")
Handler = Callable[..., Any]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def _uid(region: str, name: str) -> str:
    return f"aws:{_arn(region, name)}"


ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/tools-exec"


def build_functions() -> None:
    """Three functions in two regions: an agent tool with secrets and a public URL, a plain function with a scoped
    service permission, and a function anyone may invoke."""
    iam = boto3.client("iam", region_name=US)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="tools-exec", AssumeRolePolicyDocument=json.dumps(trust))
    eu = boto3.client("lambda", region_name=EU)
    eu.create_function(
        FunctionName="support-tool",
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Environment={
            "Variables": {
                "OPENAI_API_KEY": OPENAI_KEY,
                "DB_PASSWORD": DB_PASSWORD,
                "DB_SECRET_ARN": f"arn:aws:secretsmanager:{EU}:{ACCOUNT}:secret:prod/db-AbCdEf",
                "LOG_LEVEL": "INFO",
            }
        },
        Tags={"ai-agent": "true", "owner": "support@example.com"},
    )
    eu.create_function_url_config(FunctionName="support-tool", AuthType="NONE")
    eu.add_permission(
        FunctionName="support-tool",
        StatementId="FunctionURLAllowPublicAccess",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    eu.create_function(
        FunctionName="thumbnailer",
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Tags={"ai-agent": "false"},
    )
    eu.add_permission(
        FunctionName="thumbnailer",
        StatementId="s3-uploads",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::northwind-uploads",
        SourceAccount=ACCOUNT,
    )
    us = boto3.client("lambda", region_name=US)
    us.create_function(
        FunctionName="webhook", Runtime="python3.12", Role=ROLE_ARN, Handler="app.handler", Code={"ZipFile": _zip()}
    )
    us.add_permission(FunctionName="webhook", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*")


# -- sessions and fault injection --------------------------------------------------------------------------------


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def lambda_error(request: AWSPreparedRequest, status: int, code: str, message: str) -> AWSResponse:
    """A Lambda (rest-json) error response, as AWS sends it."""
    headers = HeadersDict({"Content-Type": "application/json", "x-amzn-ErrorType": code})
    return AWSResponse(request.url, status, headers, _RawBody(json.dumps({"Message": message}).encode()))


@dataclass
class Fault:
    """Answers an operation with an error, in one region or all, and counts the calls it saw."""

    operation: str
    status: int
    code: str
    region: str | None = None
    calls: int = 0

    def handler(self) -> tuple[str, Handler]:
        def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
            if self.region is not None and f".{self.region}." not in request.url:
                return None
            self.calls += 1
            return lambda_error(request, self.status, self.code, f"injected {self.code}")

        return f"before-send.lambda.{self.operation}", answer


@dataclass
class StubbedSession:
    """A real boto3 session; clients of the services in `stubs` answer from a Stubber set up by the given function."""

    handlers: list[tuple[str, Handler]] = field(default_factory=list)
    stubs: dict[str, Callable[[Stubber, str], None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._session = boto3.Session()
        for event, handler in self.handlers:
            self._session.events.register_first(event, handler)

    def client(self, service: str, **kwargs: Any) -> Any:
        made = self._session.client(service, **kwargs)
        if service in self.stubs:
            stubber = Stubber(made)
            self.stubs[service](stubber, kwargs["region_name"])
            stubber.activate()
        return made


def factory(*handlers: tuple[str, Handler], **stubs: Callable[[Stubber, str], None]) -> Callable[[], Any]:
    return lambda: StubbedSession(list(handlers), {k.replace("_", "-"): v for k, v in stubs.items()})


# -- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials come from tests/conftest.py; this keeps any file a test writes out of the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def estate() -> Iterator[None]:
    with mock_aws():
        build_functions()
        yield


@pytest.fixture
def lambda_only(plugins: Plugins) -> Plugins:
    """The Lambda collector alone, so that a scan's runs are its runs."""
    return Plugins(collectors={"aws-lambda": plugins.collectors["aws-lambda"]}, rules=plugins.rules)


def collect_region(
    settings: Settings, plugins: Plugins, region: str, session_factory: Callable[[], Any] | None = None
) -> list[AnyRecord]:
    collector = plugins.collectors["aws-lambda"]
    ctx = CollectContext(settings=settings, aws_session_factory=session_factory or factory())
    scopes = {s.key: s for s in collector.scopes(ctx)}
    return list(collector.collect(ctx, scopes[f"{ACCOUNT}/{region}"]))


def scan(settings: Settings, plugins: Plugins, session_factory: Callable[[], Any] | None = None) -> CollectOutcome:
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(aws_session_factory=session_factory or factory()), plugins)
    analyze_scan(store, outcome.scan_id, settings, plugins)
    return outcome


def of_type(records: list[AnyRecord], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def workload(records: list[AnyRecord], uid: str) -> WorkloadRecord:
    (found,) = [w for w in of_type(records, WorkloadRecord) if w.uid == uid]
    return found


def runs(settings: Settings, scan_id: int) -> dict[str, dict[str, Any]]:
    with Store.open(settings.db).read() as conn:
        return {r["scope"]: r for r in views.collector_runs(conn, scan_id).to_dict("records")}


# -- what a function becomes ---------------------------------------------------------------------------------------


def test_every_configured_region_is_its_own_scope(estate: None, settings: Settings, lambda_only: Plugins) -> None:
    collector = lambda_only.collectors["aws-lambda"]
    ctx = CollectContext(settings=settings, aws_session_factory=factory())

    assert [s.key for s in collector.scopes(ctx)] == [f"{ACCOUNT}/{EU}", f"{ACCOUNT}/{US}"]

    outcome = scan(settings, lambda_only)
    assert outcome.status == "complete"
    by_scope = runs(settings, outcome.scan_id)
    assert {scope: run["status"] for scope, run in by_scope.items()} == {
        f"{ACCOUNT}/{EU}": "complete",
        f"{ACCOUNT}/{US}": "complete",
    }
    assert by_scope[f"{ACCOUNT}/{EU}"]["counts"]["workloads"] == 2
    assert by_scope[f"{ACCOUNT}/{US}"]["counts"]["workloads"] == 1


def test_a_function_is_a_workload_bound_to_its_execution_role(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    records = collect_region(settings, plugins, EU)
    tool = workload(records, _uid(EU, "support-tool"))

    assert (tool.workload_kind, tool.name, tool.scope, tool.provider) == (
        "lambda_function",
        "support-tool",
        ACCOUNT,
        "aws",
    )
    assert tool.tags == {"ai-agent": "true", "owner": "support@example.com"}
    assert tool.attributes["runtime"] == "python3.12"
    assert tool.attributes["region"] == EU
    assert tool.attributes["role_arn"] == ROLE_ARN
    bindings = [b for b in of_type(records, BindingRecord) if b.workload_uid == tool.uid]
    assert [(b.identity_uid, b.mechanism) for b in bindings] == [(f"aws:{ROLE_ARN}", "lambda_exec_role")]


def test_environment_variable_names_are_kept_and_values_are_not(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    records = collect_region(settings, plugins, EU)
    tool = workload(records, _uid(EU, "support-tool"))

    assert tool.attributes["environment_variables"] == ["DB_PASSWORD", "DB_SECRET_ARN", "LOG_LEVEL", "OPENAI_API_KEY"]
    assert tool.attributes["not_evaluated"] == {}
    dumped = "".join(r.model_dump_json() for r in records)
    assert OPENAI_KEY not in dumped and DB_PASSWORD not in dumped


def test_secret_looking_variables_become_credentials_with_kind_and_fingerprint(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    records = collect_region(settings, plugins, EU)

    secrets = {c.name: c for c in of_type(records, CredentialRecord)}
    assert sorted(secrets) == ["DB_PASSWORD", "OPENAI_API_KEY"]  # the ARN is a reference, LOG_LEVEL a setting
    key = secrets["OPENAI_API_KEY"]
    assert key.holder_uid == _uid(EU, "support-tool")
    assert key.credential_kind == "env_secret"
    assert key.attributes["secret_kind"] == "openai_api_key"
    assert key.fingerprint is not None and len(key.fingerprint) == 12
    assert secrets["DB_PASSWORD"].attributes["secret_kind"] == "password"


def test_function_url_and_resource_policy_are_recorded(estate: None, settings: Settings, plugins: Plugins) -> None:
    records = collect_region(settings, plugins, EU)
    tool = workload(records, _uid(EU, "support-tool"))
    thumbnailer = workload(records, _uid(EU, "thumbnailer"))

    assert tool.attributes["function_url"]["auth_type"] == "NONE"
    assert tool.attributes["function_url"]["url"].startswith("https://")
    (statement,) = tool.attributes["resource_policy"]["Statement"]
    assert (statement["Sid"], statement["Principal"]) == ("FunctionURLAllowPublicAccess", "*")
    assert thumbnailer.attributes["function_url"] is None  # known to have none, not unknown
    assert "function_url" not in thumbnailer.attributes["not_evaluated"]


def test_functions_tagged_as_agents_are_agents_with_the_tag_as_evidence(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    records = collect_region(settings, plugins, EU)

    tool = workload(records, _uid(EU, "support-tool"))
    assert tool.is_agent
    assert [(e.reason, e.detail) for e in tool.agent_evidence] == [("agent-tag", "ai-agent=true")]
    thumbnailer = workload(records, _uid(EU, "thumbnailer"))  # ai-agent=false
    assert not thumbnailer.is_agent and thumbnailer.agent_evidence == []


def test_a_function_that_is_a_bedrock_agents_action_group_is_an_agent(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    def agents(stubber: Stubber, region: str) -> None:
        if region != EU:
            stubber.add_response("list_agents", {"agentSummaries": []})
            return
        stubber.add_response(
            "list_agents",
            {
                "agentSummaries": [
                    {
                        "agentId": "AGENT12345",
                        "agentName": "billing-agent",
                        "agentStatus": "PREPARED",
                        "updatedAt": "2026-01-01",
                    }
                ]
            },
        )
        stubber.add_response(
            "list_agent_action_groups",
            {
                "actionGroupSummaries": [
                    {
                        "actionGroupId": "GROUP12345",
                        "actionGroupName": "thumbnails",
                        "actionGroupState": "ENABLED",
                        "updatedAt": "2026-01-01",
                    }
                ]
            },
            {"agentId": "AGENT12345", "agentVersion": "DRAFT"},
        )
        stubber.add_response(
            "get_agent_action_group",
            {
                "agentActionGroup": {
                    "agentId": "AGENT12345",
                    "agentVersion": "DRAFT",
                    "actionGroupId": "GROUP12345",
                    "actionGroupName": "thumbnails",
                    "createdAt": "2026-01-01",
                    "updatedAt": "2026-01-01",
                    "actionGroupState": "ENABLED",
                    "actionGroupExecutor": {"lambda": _arn(EU, "thumbnailer") + ":live"},  # an alias of the function
                }
            },
            {"agentId": "AGENT12345", "agentVersion": "DRAFT", "actionGroupId": "GROUP12345"},
        )

    records = collect_region(settings, plugins, EU, factory(bedrock_agent=agents))

    thumbnailer = workload(records, _uid(EU, "thumbnailer"))
    assert thumbnailer.is_agent
    assert [(e.reason, e.detail) for e in thumbnailer.agent_evidence] == [
        ("bedrock-action-group", "billing-agent (AGENT12345), action group thumbnails")
    ]
    assert not of_type(records, IssueRecord)


def test_without_access_to_bedrock_agents_the_functions_are_collected_and_a_warning_says_what_is_missing(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    def denied(stubber: Stubber, region: str) -> None:
        stubber.add_client_error("list_agents", "AccessDeniedException", "not authorized", 403)

    records = collect_region(settings, plugins, EU, factory(bedrock_agent=denied))

    assert len(of_type(records, WorkloadRecord)) == 2
    (issue,) = of_type(records, IssueRecord)
    assert issue.severity == "warning"
    assert "action groups not identified" in issue.problem and "bedrock:ListAgents" in issue.problem


# -- what could not be read is not clean -------------------------------------------------------------------------


def undecryptable(function_name: str) -> tuple[str, Handler]:
    """ListFunctions as AWS answers a caller without kms:Decrypt on the function's key."""

    def handler(parsed: dict[str, Any], **_: Any) -> None:
        for function in parsed.get("Functions", []):
            if function["FunctionName"] == function_name:
                function["Environment"] = {
                    "Error": {
                        "ErrorCode": "KMSAccessDeniedException",
                        "Message": "Lambda was unable to decrypt the environment variables (KMS access denied).",
                    }
                }

    return "after-call.lambda.ListFunctions", handler


def test_an_environment_that_cannot_be_decrypted_is_not_evaluated_and_makes_the_run_partial(
    estate: None, settings: Settings, lambda_only: Plugins
) -> None:
    outcome = scan(settings, lambda_only, factory(undecryptable("support-tool")))

    eu_run = runs(settings, outcome.scan_id)[f"{ACCOUNT}/{EU}"]
    assert eu_run["status"] == "partial"
    assert "KMSAccessDeniedException" in eu_run["error"]
    assert outcome.status == "partial"
    with Store.open(settings.db).read() as conn:
        workloads = views.workloads(conn, outcome.scan_id).set_index("name")
        credentials = views.credentials(conn, outcome.scan_id)
    not_evaluated = workloads.loc["support-tool", "attributes"]["not_evaluated"]
    assert not_evaluated["environment"].startswith("KMSAccessDeniedException")
    assert credentials.empty  # nothing detected, and nothing claimed clean


def test_access_denied_in_one_region_leaves_the_other_regions_collected(
    estate: None, settings: Settings, lambda_only: Plugins
) -> None:
    fault = Fault("ListFunctions", 403, "AccessDeniedException", region=US)
    outcome = scan(settings, lambda_only, factory(fault.handler()))

    by_scope = runs(settings, outcome.scan_id)
    assert by_scope[f"{ACCOUNT}/{EU}"]["status"] == "complete"
    assert by_scope[f"{ACCOUNT}/{US}"]["status"] == "failed"
    assert "lambda:ListFunctions: AccessDeniedException" in by_scope[f"{ACCOUNT}/{US}"]["error"]
    assert outcome.status == "partial"


def test_an_expired_token_fails_only_its_region_even_after_the_functions_were_listed(
    estate: None, settings: Settings, lambda_only: Plugins
) -> None:
    fault = Fault("GetPolicy", 403, "ExpiredTokenException", region=EU)
    outcome = scan(settings, lambda_only, factory(fault.handler()))

    by_scope = runs(settings, outcome.scan_id)
    assert by_scope[f"{ACCOUNT}/{EU}"]["status"] == "failed"
    assert "ExpiredTokenException" in by_scope[f"{ACCOUNT}/{EU}"]["error"]
    assert by_scope[f"{ACCOUNT}/{US}"]["status"] == "complete"
    assert fault.calls == 1  # the scope stops at the first expired answer


@pytest.mark.parametrize(
    ("operation", "part"),
    [("ListTags", "tags"), ("GetFunctionUrlConfig", "function_url"), ("GetPolicy", "resource_policy")],
)
def test_a_denied_detail_call_is_asked_once_and_its_part_is_not_evaluated_for_every_function(
    estate: None, settings: Settings, plugins: Plugins, operation: str, part: str
) -> None:
    fault = Fault(operation, 403, "AccessDeniedException")
    records = collect_region(settings, plugins, EU, factory(fault.handler()))

    assert fault.calls == 1
    for name in ("support-tool", "thumbnailer"):
        function = workload(records, _uid(EU, name))
        assert set(function.attributes["not_evaluated"]) == {part}  # the other parts were still read
        assert "AccessDeniedException" in function.attributes["not_evaluated"][part]
    (issue,) = of_type(records, IssueRecord)
    assert issue.severity == "error"
    assert f"lambda:{operation}" in issue.problem and "2 function(s): support-tool, thumbnailer" in issue.problem


def test_without_its_tags_a_function_is_not_classified_by_tag(
    estate: None, settings: Settings, plugins: Plugins
) -> None:
    fault = Fault("ListTags", 403, "AccessDeniedException")
    records = collect_region(settings, plugins, EU, factory(fault.handler()))

    tool = workload(records, _uid(EU, "support-tool"))
    assert (tool.tags, tool.is_agent) == ({}, False)
    assert "tags" in tool.attributes["not_evaluated"]  # unknown, and said so


# -- findings ------------------------------------------------------------------------------------------------------


def test_the_live_estate_gets_exposure_and_secret_findings(
    estate: None, settings: Settings, lambda_only: Plugins
) -> None:
    outcome = scan(settings, lambda_only)
    findings = load_report_data(Store.open(settings.db), outcome.scan_id).findings

    got = sorted(
        (f.rule_id, f.subject_name, f.severity) for f in findings if f.rule_id.startswith(("AWS-EXP", "SECRET"))
    )
    assert got == [
        ("AWS-EXP-001", "support-tool", "critical"),  # public URL, raised: the function is an agent's
        ("AWS-EXP-002", "webhook", "high"),
        ("SECRET-001", "support-tool", "critical"),  # an OpenAI key in an agent's environment
        ("SECRET-001", "support-tool", "high"),  # a password, recognised by name only
    ]


# -- offline -------------------------------------------------------------------------------------------------------


def list_functions_export(name: str = "support-tool") -> dict[str, Any]:
    return {
        "Functions": [
            {
                "FunctionName": name,
                "FunctionArn": _arn(EU, name),
                "Runtime": "python3.12",
                "Role": ROLE_ARN,
                "Handler": "app.handler",
                "Environment": {"Variables": {"OPENAI_API_KEY": OPENAI_KEY, "LOG_LEVEL": "INFO"}},
            }
        ]
    }


def test_a_list_functions_export_is_recognised_by_its_content(plugins: Plugins) -> None:
    lambda_collector, iam = plugins.collectors["aws-lambda"], plugins.collectors["aws-iam"]

    assert lambda_collector.detect(list_functions_export())
    assert lambda_collector.detect({"Functions": []})
    assert not iam.detect(list_functions_export())
    assert not lambda_collector.detect({"RoleDetailList": [], "UserDetailList": []})
    assert not lambda_collector.detect({"Functions": [{"Name": "x"}]})


def test_an_offline_import_keeps_names_and_secret_metadata_and_marks_missing_parts_not_evaluated(
    settings: Settings, plugins: Plugins
) -> None:
    imported = plugins.collectors["aws-lambda"].import_document(
        CollectContext(settings=settings), list_functions_export(), "functions.json"
    )

    assert imported.scope == f"{ACCOUNT}/{EU}"
    tool = workload(imported.records, _uid(EU, "support-tool"))
    assert tool.attributes["environment_variables"] == ["LOG_LEVEL", "OPENAI_API_KEY"]
    assert set(tool.attributes["not_evaluated"]) == {"tags", "function_url", "resource_policy"}
    (secret,) = of_type(imported.records, CredentialRecord)
    assert secret.attributes["secret_kind"] == "openai_api_key"
    assert OPENAI_KEY not in "".join(r.model_dump_json() for r in imported.records)


def test_an_export_may_carry_tags_url_and_policy_beside_each_function(settings: Settings, plugins: Plugins) -> None:
    export = list_functions_export()
    export["Functions"][0] |= {
        "Tags": {"agent": "yes"},
        "FunctionUrlConfig": None,
        "Policy": json.dumps({"Version": "2012-10-17", "Statement": []}),
    }
    imported = plugins.collectors["aws-lambda"].import_document(CollectContext(settings=settings), export, "f.json")

    tool = workload(imported.records, _uid(EU, "support-tool"))
    assert tool.is_agent and tool.tags == {"agent": "yes"}
    assert tool.attributes["function_url"] is None
    assert tool.attributes["resource_policy"] == {"Version": "2012-10-17", "Statement": []}
    assert tool.attributes["not_evaluated"] == {}


def test_a_malformed_entry_is_skipped_with_an_issue_that_never_quotes_its_values(
    settings: Settings, plugins: Plugins
) -> None:
    export = list_functions_export()
    export["Functions"].append(
        {"FunctionName": "broken", "FunctionArn": 42, "Environment": {"Variables": {"TOKEN": DB_PASSWORD}}}
    )
    imported = plugins.collectors["aws-lambda"].import_document(CollectContext(settings=settings), export, "f.json")

    (issue,) = of_type(imported.records, IssueRecord)
    assert issue.source == "f.json: Functions[1] (broken)"
    assert issue.problem.startswith("malformed entry skipped")
    assert DB_PASSWORD not in issue.model_dump_json()
    assert [w.name for w in of_type(imported.records, WorkloadRecord)] == ["support-tool"]


# -- the secret value is nowhere ------------------------------------------------------------------------------------


def test_a_secret_value_never_reaches_a_record_the_database_a_report_or_the_logs(
    estate: None, settings: Settings, plugins: Plugins, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    export = tmp_path / "exports" / "functions.json"
    export.parent.mkdir()
    export.write_text(json.dumps(list_functions_export("exported-tool")))  # live and offline, in one scan
    with caplog.at_level(logging.DEBUG):  # -vv: botocore logs every response body at this level
        records = collect_region(settings, plugins, EU)
        store = Store.open(settings.db)
        outcome = collect(store, settings, ScanRequest(offline=[export], aws_session_factory=factory()), plugins)
        analyze_scan(store, outcome.scan_id, settings, plugins)
        data = load_report_data(store, outcome.scan_id)
        write_reports([HtmlReporter(), CsvReporter(), JsonReporter()], data, tmp_path / "reports")

    assert any(f.rule_id == "SECRET-001" for f in data.findings)  # the secret was seen...
    assert "Response headers" in caplog.text  # ...with debug logging really on
    for value in (OPENAI_KEY, DB_PASSWORD):
        assert value not in "".join(r.model_dump_json() for r in records)
        assert value not in caplog.text
        for path in [*tmp_path.glob("*.db*"), *(tmp_path / "reports").iterdir()]:  # the database, its WAL, reports
            assert value.encode() not in path.read_bytes(), path.name
