"""Agent runtimes on AWS: Bedrock Agents and Bedrock AgentCore runtimes, per account x region.

Both are agents by definition. Each becomes a workload bound (`bedrock_service_role`) to the role it runs as: a Bedrock
agent's `agentResourceRoleArn`, an AgentCore runtime's `roleArn`. A Bedrock agent's action groups name the Lambda
functions it invokes; the Lambda collector reads them too (`get_agents(details=False)`, `action_group_functions`), so
those functions are classified as agents' in its own run.

`get_*` do the I/O; `transform_*` are pure. AgentCore runtimes carry environment variables: like a Lambda function's,
they go through the secret detector, and only names and secret metadata are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentiam.collectors.aws.regional import RegionalAwsCollector, is_scope_fatal, split_scope
from agentiam.collectors.aws.session import client, describe_error
from agentiam.collectors.base import CollectContext, OfflineImport, Scope
from agentiam.collectors.secrets import keep_response_bodies_out_of_logs, secret_records
from agentiam.errors import CollectorError
from agentiam.inventory.records import AnyRecord, BindingRecord, Evidence, IssueRecord, WorkloadRecord

# Action groups are read from the working draft, which every agent has; published versions normally share its Lambdas.
AGENT_VERSION = "DRAFT"
BEDROCK_AGENT_EVIDENCE = Evidence(reason="agent-runtime", detail="Amazon Bedrock agent")
AGENTCORE_EVIDENCE = Evidence(reason="agent-runtime", detail="Amazon Bedrock AgentCore runtime")


@dataclass(frozen=True)
class AgentDetails:
    """A Bedrock agent (GetAgent's `agent`, or its ListAgents summary) and its action groups."""

    agent: dict[str, Any]
    action_groups: list[dict[str, Any]] | None  # None when they could not be read
    not_evaluated: dict[str, str] = field(default_factory=dict)  # "configuration" / "action_groups" -> why not


@dataclass(frozen=True)
class RuntimeDetails:
    """An AgentCore runtime: GetAgentRuntime's answer, or only its ListAgentRuntimes summary and why."""

    runtime: dict[str, Any]
    error: str | None = None


def _operation(exc: Exception, prefix: str, default: str) -> str:
    """The failed call as an IAM action name, e.g. `bedrock:GetAgentActionGroup`."""
    name = getattr(exc, "operation_name", None)
    return f"{prefix}:{name}" if name else f"{prefix}:{default}"


# -- I/O -------------------------------------------------------------------------------------------------------


def get_action_groups(bedrock_agent: Any, agent_id: str) -> list[dict[str, Any]]:
    """Every action group of an agent's draft, in full (the summaries do not name the executor)."""
    groups = []
    paginator = bedrock_agent.get_paginator("list_agent_action_groups")
    for page in paginator.paginate(agentId=agent_id, agentVersion=AGENT_VERSION):
        for summary in page["actionGroupSummaries"]:
            response = bedrock_agent.get_agent_action_group(
                agentId=agent_id, agentVersion=AGENT_VERSION, actionGroupId=summary["actionGroupId"]
            )
            groups.append(response["agentActionGroup"])
    return groups


def get_agents(bedrock_agent: Any, *, details: bool = True) -> list[AgentDetails]:
    """Every agent of the region with its action groups. Listing errors propagate; one agent's errors stay its own."""
    agents = []
    for page in bedrock_agent.get_paginator("list_agents").paginate():
        for summary in page["agentSummaries"]:
            agent_id = summary["agentId"]
            agent, part = dict(summary), "configuration"
            try:
                if details:
                    agent = bedrock_agent.get_agent(agentId=agent_id)["agent"]
                part = "action_groups"
                agents.append(AgentDetails(agent, get_action_groups(bedrock_agent, agent_id)))
            except ClientError as exc:
                if is_scope_fatal(exc):
                    raise
                error = describe_error(exc, _operation(exc, "bedrock", "GetAgent"))
                agents.append(AgentDetails(agent, None, {part: error}))
    return agents


def get_agent_runtimes(agentcore: Any) -> list[RuntimeDetails]:
    """Every AgentCore runtime of the region, in full (role, workload identity, environment)."""
    runtimes = []
    for page in agentcore.get_paginator("list_agent_runtimes").paginate():
        for summary in page["agentRuntimes"]:
            try:
                runtime = agentcore.get_agent_runtime(agentRuntimeId=summary["agentRuntimeId"])
            except ClientError as exc:
                if is_scope_fatal(exc):
                    raise
                runtimes.append(RuntimeDetails(dict(summary), describe_error(exc, "bedrock-agentcore:GetAgentRuntime")))
                continue
            runtime.pop("ResponseMetadata", None)
            runtimes.append(RuntimeDetails(runtime))
    return runtimes


# -- transform ---------------------------------------------------------------------------------------------------


def unqualified_function_arn(arn: str) -> str:
    """`arn:aws:lambda:region:account:function:name[:alias|version]` without the qualifier."""
    return ":".join(arn.split(":")[:7])


def _action_group(group: dict[str, Any]) -> dict[str, Any]:
    executor = group.get("actionGroupExecutor") or {}
    return {
        "id": group.get("actionGroupId"),
        "name": group.get("actionGroupName"),
        "state": group.get("actionGroupState"),
        "lambda": executor.get("lambda"),
        "custom_control": executor.get("customControl"),
        "parent_signature": group.get("parentActionSignature"),
    }


def action_group_functions(agents: list[AgentDetails]) -> dict[str, list[Evidence]]:
    """For each Lambda function (unqualified ARN) that is an action group's executor: the agents it serves."""
    functions: dict[str, list[Evidence]] = {}
    for item in agents:
        agent_name = item.agent.get("agentName", "?")
        agent_id = item.agent.get("agentId", "?")
        for group in item.action_groups or []:
            arn = (group.get("actionGroupExecutor") or {}).get("lambda")
            if arn:
                detail = f"{agent_name} ({agent_id}), action group {group.get('actionGroupName', '?')}"
                if group.get("actionGroupState") == "DISABLED":
                    detail += " (disabled)"  # still classified: enabling it takes one API call
                functions.setdefault(unqualified_function_arn(arn), []).append(
                    Evidence(reason="bedrock-action-group", detail=detail)
                )
    return functions


def _binding(workload_uid: str, role_arn: str | None) -> list[AnyRecord]:
    if not role_arn:
        return []
    return [BindingRecord(workload_uid=workload_uid, identity_uid=f"aws:{role_arn}", mechanism="bedrock_service_role")]


def transform_agents(agents: list[AgentDetails], account: str, region: str, source: str) -> list[AnyRecord]:
    records: list[AnyRecord] = []
    for item in agents:
        agent = item.agent
        agent_id = str(agent.get("agentId", ""))
        arn = agent.get("agentArn") or f"arn:aws:bedrock:{region}:{account}:agent/{agent_id}"
        workload_uid = f"aws:{arn}"
        role_arn = agent.get("agentResourceRoleArn")
        guardrail = agent.get("guardrailConfiguration") or {}
        attributes = {
            "arn": arn,
            "agent_id": agent_id,
            "region": region,
            "status": agent.get("agentStatus"),
            "foundation_model": agent.get("foundationModel"),
            "role_arn": role_arn,
            "orchestration_type": agent.get("orchestrationType"),
            "collaboration": agent.get("agentCollaboration"),
            "guardrail": guardrail.get("guardrailIdentifier"),
            "customer_encryption_key_arn": agent.get("customerEncryptionKeyArn"),
            "action_groups_version": AGENT_VERSION,
            "action_groups": [_action_group(g) for g in item.action_groups or []],
            "not_evaluated": dict(item.not_evaluated),
        }
        records.append(
            WorkloadRecord(
                uid=workload_uid,
                provider="aws",
                workload_kind="bedrock_agent",
                name=str(agent.get("agentName") or agent_id),
                scope=account,
                is_agent=True,
                agent_evidence=[BEDROCK_AGENT_EVIDENCE],
                attributes=attributes,
            )
        )
        records.extend(_binding(workload_uid, role_arn))
        for part, error in item.not_evaluated.items():
            # Its Lambdas' classification is what goes missing: a gap in evidence, not in the agent's inventory.
            what = "role and action groups" if part == "configuration" else "action groups"
            problem = f"{what} not read, so the Lambda functions it invokes are not known: {error}"
            records.append(IssueRecord(subject_uid=workload_uid, source=source, problem=problem, severity="warning"))
    return records


def _authorizer(runtime: dict[str, Any]) -> str:
    """How callers authenticate to the runtime: AWS SigV4 (the default) or a custom JWT authorizer."""
    configured = runtime.get("authorizerConfiguration") or {}
    return "custom_jwt" if configured.get("customJWTAuthorizer") else "aws_iam"


def _artifact(runtime: dict[str, Any]) -> dict[str, Any]:
    artifact = runtime.get("agentRuntimeArtifact") or {}
    container = artifact.get("containerConfiguration") or {}
    code = artifact.get("codeConfiguration") or {}
    if container:
        return {"container_uri": container.get("containerUri")}
    return {"code_runtime": code.get("runtime"), "entry_point": code.get("entryPoint")} if code else {}


def transform_agent_runtimes(runtimes: list[RuntimeDetails], account: str, region: str, source: str) -> list[AnyRecord]:
    records: list[AnyRecord] = []
    for item in runtimes:
        runtime = item.runtime
        arn = runtime["agentRuntimeArn"]
        workload_uid = f"aws:{arn}"
        role_arn = runtime.get("roleArn")
        variables = runtime.get("environmentVariables") or {}
        attributes = {
            "arn": arn,
            "runtime_id": runtime.get("agentRuntimeId"),
            "version": runtime.get("agentRuntimeVersion"),
            "region": region,
            "status": runtime.get("status"),
            "role_arn": role_arn,
            "workload_identity_arn": (runtime.get("workloadIdentityDetails") or {}).get("workloadIdentityArn"),
            "network_mode": (runtime.get("networkConfiguration") or {}).get("networkMode"),
            "protocol": (runtime.get("protocolConfiguration") or {}).get("serverProtocol"),
            "inbound_auth": _authorizer(runtime),
            "artifact": _artifact(runtime),
            "environment_variables": sorted(variables),
            # Without GetAgentRuntime neither the role nor the environment is known: not clean, not evaluated.
            "not_evaluated": {"configuration": item.error} if item.error else {},
        }
        records.append(
            WorkloadRecord(
                uid=workload_uid,
                provider="aws",
                workload_kind="bedrock_agentcore_runtime",
                name=str(runtime.get("agentRuntimeName") or runtime.get("agentRuntimeId") or arn),
                scope=account,
                is_agent=True,
                agent_evidence=[AGENTCORE_EVIDENCE],
                attributes=attributes,
            )
        )
        records.extend(_binding(workload_uid, role_arn))
        records.extend(secret_records(workload_uid, variables, "environment"))
        if item.error:
            problem = f"role and environment not evaluated: {item.error}"
            records.append(IssueRecord(subject_uid=workload_uid, source=source, problem=problem))
    return records


# -- collector ---------------------------------------------------------------------------------------------------


class AwsBedrockCollector(RegionalAwsCollector):
    name = "aws-bedrock"
    offline_format = ""  # live only: Bedrock Agents and AgentCore have no standard export

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]:
        """Bedrock Agents and AgentCore are read independently: one denied or absent service costs only itself."""
        account, region = split_scope(scope)
        session = ctx.aws_session(account)
        keep_response_bodies_out_of_logs("botocore.parsers", "Response body")
        source = f"account {account} region {region}"
        failures: list[str] = []
        records: list[AnyRecord] = []
        try:
            agents = get_agents(client(session, "bedrock-agent", ctx.settings.aws, ctx.stats, region=region))
            records.extend(transform_agents(agents, account, region, source))
        except (ClientError, BotoCoreError) as exc:
            failures.append(self._failure(exc, _operation(exc, "bedrock", "ListAgents")))
        try:
            agentcore = client(session, "bedrock-agentcore-control", ctx.settings.aws, ctx.stats, region=region)
            records.extend(transform_agent_runtimes(get_agent_runtimes(agentcore), account, region, source))
        except (ClientError, BotoCoreError) as exc:
            failures.append(self._failure(exc, _operation(exc, "bedrock-agentcore", "ListAgentRuntimes")))
        if len(failures) == 2:
            raise CollectorError("; ".join(failures))
        yield from records
        for failure in failures:  # the other service was collected: the run is partial, not failed
            yield IssueRecord(subject_uid=None, source=source, problem=failure)

    @staticmethod
    def _failure(exc: ClientError | BotoCoreError, operation: str) -> str:
        if is_scope_fatal(exc):
            raise CollectorError(describe_error(exc, operation)) from None
        return describe_error(exc, operation)

    def detect(self, document: Any) -> bool:
        return False

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport:
        raise NotImplementedError("Bedrock Agents and AgentCore have no offline export format")
