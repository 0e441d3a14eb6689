"""The Bedrock collector: Bedrock Agents and AgentCore runtimes, through real boto3 clients answered by `Stubber`.

Stubber checks every response below against the installed botocore's API model (bedrock-agent,
bedrock-agentcore-control), so the shapes are the real ones. The account comes from STS on moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from agentiam.collectors.base import CollectContext
from agentiam.config import Settings
from agentiam.inventory import views
from agentiam.inventory.records import AnyRecord, BindingRecord, CredentialRecord, IssueRecord, WorkloadRecord
from agentiam.inventory.store import Store
from agentiam.pipeline import CollectOutcome, ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins, load_plugins
from agentiam.reports.loader import load_report_data
from tests.collectors.conftest import EU, US

ACCOUNT = "123456789012"  # moto's default account, answered by STS

NOW = datetime(2026, 11, 1, tzinfo=UTC)
AGENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_support"
RUNTIME_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AmazonBedrockAgentCoreRuntime-triage"
TOOL_LAMBDA = f"arn:aws:lambda:{EU}:{ACCOUNT}:function:order-lookup"
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "T3stOnlyN0tAR3alK3y" + "Zq8Wx2Lm5Np7Rs9Tu1Vw"  # a fake of the real shape
T = TypeVar("T")
Stub = Callable[[Stubber], None]


# -- API answers ---------------------------------------------------------------------------------------------------


def agent_summary(agent_id: str, name: str) -> dict[str, Any]:
    return {"agentId": agent_id, "agentName": name, "agentStatus": "PREPARED", "updatedAt": NOW}


def agent(agent_id: str, name: str) -> dict[str, Any]:
    return {
        "agent": {
            "agentId": agent_id,
            "agentName": name,
            "agentArn": f"arn:aws:bedrock:{EU}:{ACCOUNT}:agent/{agent_id}",
            "agentVersion": "DRAFT",
            "agentStatus": "PREPARED",
            "foundationModel": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "idleSessionTTLInSeconds": 600,
            "agentResourceRoleArn": AGENT_ROLE,
            "createdAt": NOW,
            "updatedAt": NOW,
        }
    }


def action_group(agent_id: str, group_id: str, name: str, executor: dict[str, str]) -> dict[str, Any]:
    return {
        "agentActionGroup": {
            "agentId": agent_id,
            "agentVersion": "DRAFT",
            "actionGroupId": group_id,
            "actionGroupName": name,
            "createdAt": NOW,
            "updatedAt": NOW,
            "actionGroupState": "ENABLED",
            "actionGroupExecutor": executor,
        }
    }


def group_summary(group_id: str, name: str) -> dict[str, Any]:
    return {"actionGroupId": group_id, "actionGroupName": name, "actionGroupState": "ENABLED", "updatedAt": NOW}


def support_agent(stubber: Stubber) -> None:
    """One agent with two action groups: a Lambda tool, and user input (no executor Lambda)."""
    stubber.add_response("list_agents", {"agentSummaries": [agent_summary("SUPPORT001", "support-assistant")]})
    stubber.add_response("get_agent", agent("SUPPORT001", "support-assistant"), {"agentId": "SUPPORT001"})
    stubber.add_response(
        "list_agent_action_groups",
        {"actionGroupSummaries": [group_summary("GROUP00001", "orders"), group_summary("GROUP00002", "ask-user")]},
        {"agentId": "SUPPORT001", "agentVersion": "DRAFT"},
    )
    stubber.add_response(
        "get_agent_action_group",
        action_group("SUPPORT001", "GROUP00001", "orders", {"lambda": TOOL_LAMBDA}),
        {"agentId": "SUPPORT001", "agentVersion": "DRAFT", "actionGroupId": "GROUP00001"},
    )
    stubber.add_response(
        "get_agent_action_group",
        action_group("SUPPORT001", "GROUP00002", "ask-user", {"customControl": "RETURN_CONTROL"}),
        {"agentId": "SUPPORT001", "agentVersion": "DRAFT", "actionGroupId": "GROUP00002"},
    )


RUNTIME_ARN = f"arn:aws:bedrock-agentcore:{EU}:{ACCOUNT}:runtime/triage_agent-Ab12Cd34Ef"


def triage_runtime(stubber: Stubber) -> None:
    """One AgentCore runtime with a workload identity and, unwisely, an API key in its environment."""
    triage_listing(stubber)
    triage_configuration(stubber)


def triage_listing(stubber: Stubber) -> None:
    stubber.add_response(
        "list_agent_runtimes",
        {
            "agentRuntimes": [
                {
                    "agentRuntimeArn": RUNTIME_ARN,
                    "agentRuntimeId": "triage_agent-Ab12Cd34Ef",
                    "agentRuntimeVersion": "3",
                    "agentRuntimeName": "triage_agent",
                    "description": "ticket triage",
                    "lastUpdatedAt": NOW,
                    "status": "READY",
                }
            ]
        },
    )


def triage_configuration(stubber: Stubber) -> None:
    stubber.add_response(
        "get_agent_runtime",
        {
            "agentRuntimeArn": RUNTIME_ARN,
            "agentRuntimeName": "triage_agent",
            "agentRuntimeId": "triage_agent-Ab12Cd34Ef",
            "agentRuntimeVersion": "3",
            "createdAt": NOW,
            "lastUpdatedAt": NOW,
            "roleArn": RUNTIME_ROLE,
            "status": "READY",
            "lifecycleConfiguration": {"idleRuntimeSessionTimeout": 900, "maxLifetime": 28800},
            "networkConfiguration": {"networkMode": "PUBLIC"},
            "protocolConfiguration": {"serverProtocol": "HTTP"},
            "agentRuntimeArtifact": {
                "containerConfiguration": {"containerUri": f"{ACCOUNT}.dkr.ecr.{EU}.amazonaws.com/triage:3"}
            },
            "workloadIdentityDetails": {
                "workloadIdentityArn": f"arn:aws:bedrock-agentcore:{EU}:{ACCOUNT}:workload-identity-directory/"
                "default/workload-identity/triage_agent-Ab12Cd34Ef"
            },
            "environmentVariables": {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "LOG_LEVEL": "INFO"},
        },
        {"agentRuntimeId": "triage_agent-Ab12Cd34Ef"},
    )


def no_agents(stubber: Stubber) -> None:
    stubber.add_response("list_agents", {"agentSummaries": []})


def no_runtimes(stubber: Stubber) -> None:
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []})


def error(operation: str, code: str, status: int = 403) -> Stub:
    return lambda stubber: stubber.add_client_error(operation, code, f"injected {code}", status)


# -- sessions ------------------------------------------------------------------------------------------------------


@dataclass
class StubbedSession:
    """A real boto3 session (STS answers from moto); Bedrock clients answer from Stubbers, per (service, region)."""

    stubs: dict[tuple[str, str], Stub]
    stubbers: list[Stubber] = field(default_factory=list)

    def client(self, service: str, **kwargs: Any) -> Any:
        made = boto3.Session().client(service, **kwargs)
        stub = self.stubs.get((service, kwargs["region_name"]))
        if stub is not None:
            stubber = Stubber(made)
            stub(stubber)
            stubber.activate()
            self.stubbers.append(stubber)
        return made


def factory(stubs: dict[tuple[str, str], Stub], made: list[StubbedSession] | None = None) -> Callable[[], Any]:
    def make() -> StubbedSession:
        session = StubbedSession(stubs)
        if made is not None:
            made.append(session)
        return session

    return make


def quiet_region(region: str) -> dict[tuple[str, str], Stub]:
    return {("bedrock-agent", region): no_agents, ("bedrock-agentcore-control", region): no_runtimes}


# -- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def sts() -> Iterator[None]:
    """STS (for the account id) from moto; the Bedrock APIs are stubbed. Fake credentials: tests/conftest.py."""
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def bedrock_only() -> Plugins:
    plugins = load_plugins()
    assert not plugins.failures, [f.describe() for f in plugins.failures]
    return Plugins(collectors={"aws-bedrock": plugins.collectors["aws-bedrock"]}, rules=plugins.rules)


def collect_eu(settings: Settings, plugins: Plugins, agents: Stub, runtimes: Stub) -> list[AnyRecord]:
    collector = plugins.collectors["aws-bedrock"]
    stubs = {("bedrock-agent", EU): agents, ("bedrock-agentcore-control", EU): runtimes}
    made: list[StubbedSession] = []
    ctx = CollectContext(settings=settings, aws_session_factory=factory(stubs, made))
    scopes = {s.key: s for s in collector.scopes(ctx)}
    records = list(collector.collect(ctx, scopes[f"{ACCOUNT}/{EU}"]))
    for session in made:
        for stubber in session.stubbers:
            stubber.assert_no_pending_responses()  # every stubbed call was made, and no other
    return records


def scan(settings: Settings, plugins: Plugins, stubs: dict[tuple[str, str], Stub]) -> CollectOutcome:
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(aws_session_factory=factory(stubs)), plugins)
    analyze_scan(store, outcome.scan_id, settings, plugins)
    return outcome


def runs(settings: Settings, scan_id: int) -> dict[str, dict[str, Any]]:
    with Store.open(settings.db).read() as conn:
        return {r["scope"]: r for r in views.collector_runs(conn, scan_id).to_dict("records")}


def of_type(records: list[AnyRecord], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def workload(records: list[AnyRecord], kind: str) -> WorkloadRecord:
    (found,) = [w for w in of_type(records, WorkloadRecord) if w.workload_kind == kind]
    return found


# -- Bedrock Agents ------------------------------------------------------------------------------------------------


def test_a_bedrock_agent_is_an_agent_workload_bound_to_its_service_role(
    settings: Settings, bedrock_only: Plugins
) -> None:
    records = collect_eu(settings, bedrock_only, support_agent, no_runtimes)

    found = workload(records, "bedrock_agent")
    assert (found.uid, found.name, found.scope) == (
        f"aws:arn:aws:bedrock:{EU}:{ACCOUNT}:agent/SUPPORT001",
        "support-assistant",
        ACCOUNT,
    )
    assert found.is_agent
    assert [(e.reason, e.detail) for e in found.agent_evidence] == [("agent-runtime", "Amazon Bedrock agent")]
    assert found.attributes["role_arn"] == AGENT_ROLE
    assert found.attributes["foundation_model"].startswith("anthropic.")
    (binding,) = of_type(records, BindingRecord)
    assert (binding.workload_uid, binding.identity_uid, binding.mechanism) == (
        found.uid,
        f"aws:{AGENT_ROLE}",
        "bedrock_service_role",
    )


def test_an_agents_action_groups_name_the_lambda_functions_it_invokes(
    settings: Settings, bedrock_only: Plugins
) -> None:
    records = collect_eu(settings, bedrock_only, support_agent, no_runtimes)

    groups = workload(records, "bedrock_agent").attributes["action_groups"]
    assert [(g["name"], g["lambda"], g["custom_control"]) for g in groups] == [
        ("orders", TOOL_LAMBDA, None),
        ("ask-user", None, "RETURN_CONTROL"),
    ]
    assert not of_type(records, IssueRecord)


def test_agents_are_listed_across_pages(settings: Settings, bedrock_only: Plugins) -> None:
    def two_pages(stubber: Stubber) -> None:
        stubber.add_response(
            "list_agents", {"agentSummaries": [agent_summary("AGENTPAGE1", "first")], "nextToken": "page-2"}
        )
        stubber.add_response("get_agent", agent("AGENTPAGE1", "first"), {"agentId": "AGENTPAGE1"})
        stubber.add_response("list_agent_action_groups", {"actionGroupSummaries": []})
        stubber.add_response(
            "list_agents", {"agentSummaries": [agent_summary("AGENTPAGE2", "second")]}, {"nextToken": "page-2"}
        )
        stubber.add_response("get_agent", agent("AGENTPAGE2", "second"), {"agentId": "AGENTPAGE2"})
        stubber.add_response("list_agent_action_groups", {"actionGroupSummaries": []})

    records = collect_eu(settings, bedrock_only, two_pages, no_runtimes)

    assert sorted(w.name for w in of_type(records, WorkloadRecord)) == ["first", "second"]


def test_an_agent_whose_action_groups_cannot_be_read_is_kept_with_a_warning(
    settings: Settings, bedrock_only: Plugins
) -> None:
    def groups_denied(stubber: Stubber) -> None:
        stubber.add_response("list_agents", {"agentSummaries": [agent_summary("SUPPORT001", "support-assistant")]})
        stubber.add_response("get_agent", agent("SUPPORT001", "support-assistant"), {"agentId": "SUPPORT001"})
        stubber.add_client_error("list_agent_action_groups", "AccessDeniedException", "not authorized", 403)

    records = collect_eu(settings, bedrock_only, groups_denied, no_runtimes)

    found = workload(records, "bedrock_agent")
    assert found.attributes["role_arn"] == AGENT_ROLE
    assert "bedrock:ListAgentActionGroups: AccessDeniedException" in found.attributes["not_evaluated"]["action_groups"]
    (issue,) = of_type(records, IssueRecord)
    assert (issue.subject_uid, issue.severity) == (found.uid, "warning")


# -- AgentCore -----------------------------------------------------------------------------------------------------


def test_an_agentcore_runtime_is_an_agent_workload_with_its_role_and_workload_identity(
    settings: Settings, bedrock_only: Plugins
) -> None:
    records = collect_eu(settings, bedrock_only, no_agents, triage_runtime)

    found = workload(records, "bedrock_agentcore_runtime")
    assert (found.uid, found.name, found.is_agent) == (f"aws:{RUNTIME_ARN}", "triage_agent", True)
    assert [(e.reason, e.detail) for e in found.agent_evidence] == [
        ("agent-runtime", "Amazon Bedrock AgentCore runtime")
    ]
    attributes = found.attributes
    assert attributes["role_arn"] == RUNTIME_ROLE
    assert attributes["workload_identity_arn"].endswith("workload-identity/triage_agent-Ab12Cd34Ef")
    assert (attributes["network_mode"], attributes["protocol"], attributes["inbound_auth"]) == (
        "PUBLIC",
        "HTTP",
        "aws_iam",
    )
    assert attributes["artifact"] == {"container_uri": f"{ACCOUNT}.dkr.ecr.{EU}.amazonaws.com/triage:3"}
    (binding,) = of_type(records, BindingRecord)
    assert (binding.identity_uid, binding.mechanism) == (f"aws:{RUNTIME_ROLE}", "bedrock_service_role")


def test_secrets_in_a_runtimes_environment_are_kept_as_metadata_only(settings: Settings, bedrock_only: Plugins) -> None:
    records = collect_eu(settings, bedrock_only, no_agents, triage_runtime)

    assert workload(records, "bedrock_agentcore_runtime").attributes["environment_variables"] == [
        "ANTHROPIC_API_KEY",
        "LOG_LEVEL",
    ]
    (secret,) = of_type(records, CredentialRecord)
    assert (secret.name, secret.attributes["secret_kind"]) == ("ANTHROPIC_API_KEY", "anthropic_api_key")
    assert secret.holder_uid == f"aws:{RUNTIME_ARN}"
    assert ANTHROPIC_KEY not in "".join(r.model_dump_json() for r in records)


def test_a_runtime_whose_configuration_cannot_be_read_is_kept_as_not_evaluated(
    settings: Settings, bedrock_only: Plugins
) -> None:
    def configuration_denied(stubber: Stubber) -> None:
        triage_listing(stubber)
        stubber.add_client_error("get_agent_runtime", "AccessDeniedException", "not authorized", 403)

    records = collect_eu(settings, bedrock_only, no_agents, configuration_denied)

    found = workload(records, "bedrock_agentcore_runtime")
    assert found.attributes["role_arn"] is None
    assert "AccessDeniedException" in found.attributes["not_evaluated"]["configuration"]
    (issue,) = of_type(records, IssueRecord)
    assert issue.severity == "error"  # its environment may hold a secret: the run must not pass as clean
    assert not of_type(records, BindingRecord)


# -- scopes and failures -------------------------------------------------------------------------------------------


def test_one_denied_service_leaves_the_other_collected_and_the_run_partial(
    settings: Settings, bedrock_only: Plugins
) -> None:
    stubs = {
        ("bedrock-agent", EU): error("list_agents", "AccessDeniedException"),
        ("bedrock-agentcore-control", EU): triage_runtime,
        **quiet_region(US),
    }
    outcome = scan(settings, bedrock_only, stubs)

    by_scope = runs(settings, outcome.scan_id)
    assert by_scope[f"{ACCOUNT}/{EU}"]["status"] == "partial"
    assert "bedrock:ListAgents: AccessDeniedException" in by_scope[f"{ACCOUNT}/{EU}"]["error"]
    assert by_scope[f"{ACCOUNT}/{EU}"]["counts"]["workloads"] == 1
    assert by_scope[f"{ACCOUNT}/{US}"]["status"] == "complete"


def test_both_services_denied_fails_the_region_and_only_that_region(settings: Settings, bedrock_only: Plugins) -> None:
    stubs = {
        ("bedrock-agent", EU): error("list_agents", "AccessDeniedException"),
        ("bedrock-agentcore-control", EU): error("list_agent_runtimes", "AccessDeniedException"),
        **quiet_region(US),
    }
    outcome = scan(settings, bedrock_only, stubs)

    by_scope = runs(settings, outcome.scan_id)
    assert by_scope[f"{ACCOUNT}/{EU}"]["status"] == "failed"
    assert by_scope[f"{ACCOUNT}/{US}"]["status"] == "complete"
    assert outcome.status == "partial"


def test_an_expired_token_fails_the_region_at_once(settings: Settings, bedrock_only: Plugins) -> None:
    stubs = {
        ("bedrock-agent", EU): error("list_agents", "ExpiredTokenException"),
        ("bedrock-agentcore-control", EU): triage_runtime,  # never asked
        **quiet_region(US),
    }
    outcome = scan(settings, bedrock_only, stubs)

    by_scope = runs(settings, outcome.scan_id)
    assert by_scope[f"{ACCOUNT}/{EU}"]["status"] == "failed"
    assert "ExpiredTokenException" in by_scope[f"{ACCOUNT}/{EU}"]["error"]
    assert by_scope[f"{ACCOUNT}/{US}"]["status"] == "complete"


def test_an_agent_runtimes_secret_is_a_finding_raised_because_it_is_an_agent(
    settings: Settings, bedrock_only: Plugins
) -> None:
    stubs = {("bedrock-agent", EU): no_agents, ("bedrock-agentcore-control", EU): triage_runtime, **quiet_region(US)}
    outcome = scan(settings, bedrock_only, stubs)

    findings = load_report_data(Store.open(settings.db), outcome.scan_id).findings
    (secret,) = [f for f in findings if f.rule_id == "SECRET-001"]
    assert (secret.subject_name, secret.severity) == ("triage_agent", "critical")
    assert secret.evidence["variable"] == "ANTHROPIC_API_KEY"
    assert any("AI agent" in step for step in secret.evidence["severity_steps"])
