"""AWS Lambda: functions with their execution roles, tags, runtime, environment, URL and resource policy.

`get_*` do the I/O for one account x region; `transform_functions` is pure and shared with the offline import of
`aws lambda list-functions` output. That output lacks tags, URLs and resource policies: those parts are recorded as
not evaluated, never as absent. An export may add them to each function under the keys the live path uses, `Tags`
(an object), `FunctionUrlConfig` (`get-function-url-config` output, or null) and `Policy` (`get-policy`'s `Policy`
string or the document, or null); a part that is present is evaluated.

ListFunctions returns environment values in clear. They are read only by the secret detector, inside the transform:
records carry variable names and secret metadata (kind, fingerprint), never a value; error messages never quote
one. An environment that cannot be decrypted is recorded as not evaluated, and the run is partial, so that missing
data is never mistaken for a clean function.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentiam.collectors.aws.bedrock import action_group_functions, get_agents
from agentiam.collectors.aws.classify import agent_tag_evidence
from agentiam.collectors.aws.iam import account_of, uid
from agentiam.collectors.aws.regional import (
    ACCESS_DENIED_CODES,
    NOT_FOUND_CODES,
    RegionalAwsCollector,
    error_code,
    is_scope_fatal,
    split_scope,
)
from agentiam.collectors.aws.session import client, describe_error
from agentiam.collectors.base import CollectContext, OfflineImport, Scope
from agentiam.collectors.secrets import keep_response_bodies_out_of_logs, secret_records
from agentiam.config import Settings
from agentiam.errors import CollectorError
from agentiam.inventory.records import AnyRecord, BindingRecord, Evidence, IssueRecord, WorkloadRecord

NOT_IN_EXPORT = "not in the export"
LIST_FUNCTIONS_KEYS = {"Functions", "NextMarker"}
# Optional per-function additions to an export: part -> key in the function's entry.
EXPORT_PARTS = {"tags": "Tags", "function_url": "FunctionUrlConfig", "resource_policy": "Policy"}


@dataclass
class FunctionDetails:
    """What other calls than ListFunctions say about a function. A part named in `not_evaluated` is unknown."""

    tags: dict[str, str] = field(default_factory=dict)
    url_config: dict[str, Any] | None = None
    policy: Any = None
    not_evaluated: dict[str, str] = field(default_factory=dict)  # part -> why


# -- I/O -------------------------------------------------------------------------------------------------------


def get_functions(lambda_client: Any) -> list[dict[str, Any]]:
    """Every function's $LATEST configuration, in the shape `aws lambda list-functions` prints."""
    functions: list[dict[str, Any]] = []
    for page in lambda_client.get_paginator("list_functions").paginate():
        functions.extend(page["Functions"])
    return functions


def _policy_document(policy: Any) -> Any:
    """GetPolicy answers with the document as a JSON string; an export may hold either."""
    return json.loads(policy) if isinstance(policy, str) else policy


@dataclass
class DetailReader:
    """Reads tags, URL config and resource policy of each function of one scope.

    An operation that is denied once is not called again in the scope: one issue says what it cost. Expired
    credentials or an unreachable endpoint fail the scope (CollectorError).
    """

    lambda_client: Any
    denied: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # operation -> (error, function names)
    issues: list[IssueRecord] = field(default_factory=list)

    def read(self, function: dict[str, Any]) -> FunctionDetails:
        arn = function["FunctionArn"]
        lam = self.lambda_client
        details = FunctionDetails()
        tags = self._call(function, details, "tags", "lambda:ListTags", lambda: lam.list_tags(Resource=arn)["Tags"])
        details.tags = tags or {}
        details.url_config = self._call(
            function, details, "function_url", "lambda:GetFunctionUrlConfig", lambda: self._url(arn)
        )
        details.policy = self._call(
            function,
            details,
            "resource_policy",
            "lambda:GetPolicy",
            lambda: _policy_document(lam.get_policy(FunctionName=arn)["Policy"]),
        )
        return details

    def _url(self, arn: str) -> dict[str, Any]:
        response = self.lambda_client.get_function_url_config(FunctionName=arn)
        response.pop("ResponseMetadata", None)
        return response  # type: ignore[no-any-return]

    def _call(
        self, function: dict[str, Any], details: FunctionDetails, part: str, operation: str, call: Callable[[], Any]
    ) -> Any:
        """The part's value; None when it is absent (known) or could not be read (then named in `not_evaluated`)."""
        name = str(function.get("FunctionName", ""))
        if operation in self.denied:
            self.denied[operation][1].append(name)
            details.not_evaluated[part] = self.denied[operation][0]
            return None
        try:
            return call()
        except ClientError as exc:
            code = error_code(exc)
            if code in NOT_FOUND_CODES:
                return None  # no URL, no policy: known to be absent
            message = describe_error(exc, operation)
            if is_scope_fatal(exc):
                raise CollectorError(message) from None
            details.not_evaluated[part] = message
            if code in ACCESS_DENIED_CODES:
                self.denied[operation] = (message, [name])
            else:
                source = f"{operation} {name}"
                self.issues.append(
                    IssueRecord(subject_uid=uid(function["FunctionArn"]), source=source, problem=message)
                )
            return None
        except BotoCoreError as exc:
            raise CollectorError(describe_error(exc, operation)) from None
        except ValueError:  # a policy that is not JSON
            details.not_evaluated[part] = f"{operation}: the answer is not JSON"
            return None

    def denial_issues(self, source: str) -> list[IssueRecord]:
        return [
            IssueRecord(
                subject_uid=None,
                source=source,
                problem=f"{error}; not evaluated for {len(names)} function(s): {', '.join(sorted(names)[:10])}"
                + (" ..." if len(names) > 10 else ""),
            )
            for error, names in self.denied.values()
        ]


def get_action_group_evidence(
    session: Any, ctx: CollectContext, region: str, source: str
) -> tuple[dict[str, list[Evidence]], list[IssueRecord]]:
    """Which functions of the region are a Bedrock agent's action group, from the Bedrock Agents API.

    Not being able to ask costs only that evidence (a warning); expired credentials fail the scope.
    """
    try:
        agents = get_agents(client(session, "bedrock-agent", ctx.settings.aws, ctx.stats, region=region), details=False)
    except (ClientError, BotoCoreError) as exc:
        operation = f"bedrock:{getattr(exc, 'operation_name', None) or 'ListAgents'}"
        if is_scope_fatal(exc):
            raise CollectorError(describe_error(exc, operation)) from None
        problem = f"functions serving Bedrock agents as action groups not identified: {describe_error(exc, operation)}"
        return {}, [IssueRecord(subject_uid=None, source=source, problem=problem, severity="warning")]
    issues = [
        IssueRecord(
            subject_uid=None,
            source=source,
            problem=f"action groups of agent {item.agent.get('agentName', '?')} not read: {error}",
            severity="warning",
        )
        for item in agents
        for error in item.not_evaluated.values()
    ]
    return action_group_functions(agents), issues


# -- transform ---------------------------------------------------------------------------------------------------


def details_from_export(function: dict[str, Any]) -> FunctionDetails:
    """The parts an export carries beside list-functions' configuration; the others are not evaluated."""
    details = FunctionDetails()
    for part, key in EXPORT_PARTS.items():
        if key not in function:
            details.not_evaluated[part] = NOT_IN_EXPORT
    tags = function.get("Tags")
    if isinstance(tags, dict):
        details.tags = {str(k): str(v) for k, v in tags.items()}
    elif "Tags" in function and tags is not None:
        details.not_evaluated["tags"] = "Tags is not an object"
    url = function.get("FunctionUrlConfig")
    details.url_config = url if isinstance(url, dict) else None
    if url is not None and not isinstance(url, dict):
        details.not_evaluated["function_url"] = "FunctionUrlConfig is not an object"
    try:
        details.policy = _policy_document(function.get("Policy"))
    except json.JSONDecodeError:
        details.not_evaluated["resource_policy"] = "Policy is not JSON"
    return details


def _region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 else ""


def _function_url(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    return {
        "url": config.get("FunctionUrl"),
        "auth_type": config.get("AuthType"),
        "cors_allow_origins": (config.get("Cors") or {}).get("AllowOrigins", []),
        "invoke_mode": config.get("InvokeMode"),
    }


def _environment(
    workload_uid: str, function: dict[str, Any], not_evaluated: dict[str, str]
) -> tuple[list[str], list[AnyRecord]]:
    """Variable names and secret metadata. Values go to the detector only; messages never quote them."""
    environment = function.get("Environment") or {}
    if not isinstance(environment, dict):
        not_evaluated["environment"] = "Environment is not an object"
        return [], []
    error = environment.get("Error")
    if error:
        code = error.get("ErrorCode", "Error") if isinstance(error, dict) else "Error"
        message = error.get("Message", "") if isinstance(error, dict) else ""
        not_evaluated["environment"] = f"{code}: {message}".strip().rstrip(":")
        return [], []
    variables = environment.get("Variables") or {}
    if not isinstance(variables, dict):
        not_evaluated["environment"] = "Environment.Variables is not an object"
        return [], []
    return sorted(str(name) for name in variables), list(secret_records(workload_uid, variables, "environment"))


def transform_function(
    function: dict[str, Any], details: FunctionDetails, settings: Settings, action_groups: dict[str, list[Evidence]]
) -> list[AnyRecord]:
    arn = function["FunctionArn"]
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise ValueError("FunctionArn is not an ARN")
    workload_uid = uid(arn)
    not_evaluated = dict(details.not_evaluated)
    names, secrets = _environment(workload_uid, function, not_evaluated)
    tags = {str(k): str(v) for k, v in details.tags.items()}
    evidence = agent_tag_evidence(tags, settings.classification) + action_groups.get(arn, [])
    role_arn = function.get("Role")
    attributes = {
        "arn": arn,
        "region": _region_of(arn),
        "runtime": function.get("Runtime"),
        "package_type": function.get("PackageType"),
        "handler": function.get("Handler"),
        "role_arn": role_arn,
        "last_modified": function.get("LastModified"),
        "kms_key_arn": function.get("KMSKeyArn"),
        "environment_variables": names,
        "function_url": _function_url(details.url_config),
        "resource_policy": details.policy,
        "not_evaluated": not_evaluated,
    }
    records: list[AnyRecord] = [
        WorkloadRecord(
            uid=workload_uid,
            provider="aws",
            workload_kind="lambda_function",
            name=str(function.get("FunctionName") or arn.rsplit(":", 1)[-1]),
            scope=account_of(arn),
            tags=tags,
            is_agent=bool(evidence),
            agent_evidence=evidence,
            attributes=attributes,
        )
    ]
    if role_arn:
        records.append(
            BindingRecord(workload_uid=workload_uid, identity_uid=uid(role_arn), mechanism="lambda_exec_role")
        )
    records.extend(secrets)
    if "environment" in not_evaluated:
        # Not clean, not evaluated: the run is partial, so an earlier secret finding here is not marked resolved.
        problem = f"environment not evaluated for secrets: {not_evaluated['environment']}"
        records.append(IssueRecord(subject_uid=workload_uid, source=arn, problem=problem))
    return records


def transform_functions(
    functions: list[Any],
    details: dict[str, FunctionDetails],
    settings: Settings,
    source: str,
    action_groups: dict[str, list[Evidence]] | None = None,
) -> list[AnyRecord]:
    """Records for every function; a malformed entry is skipped with an issue naming it, never quoting its values."""
    records: list[AnyRecord] = []
    for position, function in enumerate(functions):
        try:
            if not isinstance(function, dict):
                raise TypeError("expected an object")
            found = details.get(function.get("FunctionArn", "")) or details_from_export(function)
            records.extend(transform_function(function, found, settings, action_groups or {}))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            name = function.get("FunctionName") if isinstance(function, dict) else None
            where = f"Functions[{position}]" + (f" ({name})" if isinstance(name, str) else "")
            # The exception's text is left out on purpose: it could quote an environment value.
            problem = f"malformed entry skipped ({type(exc).__name__})"
            records.append(IssueRecord(subject_uid=None, source=f"{source}: {where}", problem=problem))
    return records


def looks_like_list_functions(document: Any) -> bool:
    if not isinstance(document, dict) or not isinstance(document.get("Functions"), list):
        return False
    functions = document["Functions"]
    if not functions:
        return set(document) <= LIST_FUNCTIONS_KEYS
    return any(isinstance(f, dict) and ("FunctionArn" in f or "FunctionName" in f) for f in functions)


def _scope_of(records: list[AnyRecord]) -> str:
    scopes = sorted(
        {f"{r.scope}/{r.attributes['region']}" for r in records if isinstance(r, WorkloadRecord) and r.scope}
    )
    return ",".join(scopes) or "unknown-account"


# -- collector ---------------------------------------------------------------------------------------------------


class AwsLambdaCollector(RegionalAwsCollector):
    name = "aws-lambda"
    offline_format = "aws lambda list-functions (JSON)"

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]:
        account, region = split_scope(scope)
        session = ctx.aws_session(account)
        keep_response_bodies_out_of_logs("botocore.parsers", "Response body")
        source = f"account {account} region {region}"
        lambda_client = client(session, "lambda", ctx.settings.aws, ctx.stats, region=region)
        try:
            functions = get_functions(lambda_client)
        except (ClientError, BotoCoreError) as exc:
            raise CollectorError(describe_error(exc, "lambda:ListFunctions")) from None
        reader = DetailReader(lambda_client)
        details = {f["FunctionArn"]: reader.read(f) for f in functions if isinstance(f, dict) and "FunctionArn" in f}
        action_groups, issues = get_action_group_evidence(session, ctx, region, source) if functions else ({}, [])
        yield from transform_functions(functions, details, ctx.settings, source, action_groups)
        yield from reader.issues
        yield from reader.denial_issues(source)
        yield from issues

    def detect(self, document: Any) -> bool:
        return looks_like_list_functions(document)

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport:
        records = transform_functions(document["Functions"], {}, ctx.settings, source)
        return OfflineImport(scope=_scope_of(records), records=records)
