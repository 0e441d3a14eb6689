"""AWS exposure rules: workloads that anyone can call, read from the workloads' collected attributes.

A Lambda function is reachable from outside through its function URL, or through its resource policy. Parts the
collector could not read (`not_evaluated`) are never taken as closed: a URL with AuthType NONE whose resource policy
is unknown is reported as exposed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.policy.catalogue import glob_regex
from agentiam.findings.registry import Hit, rule
from agentiam.findings.rules.aws_trust import restricting_values

NHI6 = "OWASP NHI Top 10 2025: NHI6 Insecure Cloud Deployment Configurations"
URL_AUTH = "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
RESOURCE_POLICY = "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html"
SECURITY_HUB_LAMBDA_1 = "AWS Security Hub [Lambda.1] Lambda function policies should prohibit public access"

# Condition keys that tie a public principal to one caller: the calling resource or account (aws:Source*, the
# cross-service confused-deputy keys) or the caller's own account or organization (aws:Principal*). Anything else,
# lambda:FunctionUrlAuthType included, leaves the statement open to everyone.
SOURCE_CONDITION_KEYS: tuple[str, ...] = (
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
)
# What a function URL's own permission looks like: lambda:InvokeFunctionUrl, or lambda:InvokeFunction restricted to
# calls through the URL (the pair AWS has required for new function URLs since October 2025).
URL_INVOKE = "lambda:invokefunctionurl"
URL_ONLY_KEY = "lambda:invokedviafunctionurl"


def lambda_functions(ctx: AnalysisContext) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(uid, name, attributes) of every collected Lambda function."""
    functions = ctx.workloads[ctx.workloads["workload_kind"] == "lambda_function"]
    for row in functions.itertuples():
        yield row.uid, row.name, row.attributes or {}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> list[dict[str, Any]]:
    raw = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in _listed(raw) if isinstance(s, dict)]


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _listed(principal.get("AWS", []))


def _actions(statement: dict[str, Any]) -> list[str]:
    if "NotAction" in statement:
        return [f"NotAction {a}" for a in _listed(statement["NotAction"])]
    return [str(a) for a in _listed(statement.get("Action", []))]


def allows(statement: dict[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) covers `action` (lower case)."""
    if "NotAction" in statement:
        return not any(glob_regex(str(a).lower()).fullmatch(action) for a in _listed(statement["NotAction"]))
    return any(glob_regex(str(a).lower()).fullmatch(action) for a in _listed(statement.get("Action", [])))


def public_statements(document: Any, source_keys: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
    """Allow statements that let everyone in without a condition that pins the caller (a wildcard pins nobody)."""
    keys = list(source_keys)
    found = []
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow" or not _is_everyone(statement.get("Principal")):
            continue
        conditions = statement.get("Condition") or {}
        pinned = [v for v in restricting_values(conditions if isinstance(conditions, dict) else {}, keys) if v != "*"]
        if not pinned:
            found.append((index, statement))
    return found


def is_url_statement(statement: dict[str, Any]) -> bool:
    """The statement only lets callers in through the function URL (whose AuthType then decides)."""
    actions = {a.lower() for a in _actions(statement)}
    if actions == {URL_INVOKE}:
        return True
    conditions = statement.get("Condition") or {}
    keys = {k.lower() for block in conditions.values() if isinstance(block, dict) for k in block}
    return URL_ONLY_KEY in keys


def statement_summary(index: int, statement: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {"statement": index, "actions": _actions(statement)}
    if statement.get("Sid"):
        summary["sid"] = statement["Sid"]
    if statement.get("Condition"):
        summary["conditions"] = statement["Condition"]
    return summary


@rule(
    id="AWS-EXP-001",
    title="Lambda function URL without authentication",
    category="exposure",
    severity="high",
    provider="aws",
    rationale="""A function URL with AuthType NONE is an HTTPS endpoint anyone on the internet can call, with no AWS
    credentials: the function runs, as its execution role, for every caller. An agent's tool exposed this way lets
    anyone drive the agent's permissions directly.""",
    remediation="""Set the URL's AuthType to AWS_IAM and grant lambda:InvokeFunctionUrl to the callers that need it,
    or put the function behind API Gateway with an authorizer; if it must stay public, keep its execution role to
    the minimum and validate every request in the function.""",
    references=(NHI6, URL_AUTH),
    parameters={"source_condition_keys": list(SOURCE_CONDITION_KEYS)},
)
def public_function_url(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for uid, name, attributes in lambda_functions(ctx):
        url = attributes.get("function_url") or {}
        if str(url.get("auth_type", "")).upper() != "NONE":
            continue
        evidence: dict[str, Any] = {"url": url.get("url"), "auth_type": url.get("auth_type")}
        if "*" in (url.get("cors_allow_origins") or []):
            evidence["cors_allow_origins"] = ["*"]
        not_read = (attributes.get("not_evaluated") or {}).get("resource_policy")
        public = [
            (i, s)
            for i, s in public_statements(attributes.get("resource_policy"), params["source_condition_keys"])
            if allows(s, URL_INVOKE)
        ]
        if not_read:
            evidence["resource_policy"] = f"not evaluated: {not_read}"
            message = f"{name} has a function URL with AuthType NONE (resource policy not evaluated: {not_read})"
            severity = None
        elif public:
            evidence["public_statements"] = [statement_summary(i, s) for i, s in public]
            message = f"{name} has a function URL with AuthType NONE that anyone on the internet can invoke"
            severity = None
        else:
            # Lambda also requires a resource-policy statement for the public: one `add-permission` away.
            message = (
                f"{name} has a function URL with AuthType NONE; no resource-policy statement lets the public in yet"
            )
            severity = "medium"
        yield Hit(subject_uid=uid, key="function_url", message=message, evidence=evidence, severity=severity)


@rule(
    id="AWS-EXP-002",
    title="Lambda resource policy open to everyone",
    category="exposure",
    severity="high",
    provider="aws",
    rationale="""A resource-policy statement with `Principal: "*"` and no condition on the calling source or account
    lets any AWS account (and for some actions, anyone) invoke or manage the function. The function then runs, as
    its execution role, on behalf of callers the account does not know.""",
    remediation="""Name the principals that may call the function, or add an `aws:SourceArn` / `aws:SourceAccount`
    (for a service) or `aws:PrincipalOrgID` (for your organization) condition to the statement; remove statements
    that are no longer used (`aws lambda remove-permission`).""",
    references=(NHI6, SECURITY_HUB_LAMBDA_1, RESOURCE_POLICY),
    parameters={"source_condition_keys": list(SOURCE_CONDITION_KEYS)},
)
def public_resource_policy(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for uid, name, attributes in lambda_functions(ctx):
        url = attributes.get("function_url") or {}
        url_is_public = str(url.get("auth_type", "")).upper() == "NONE"
        for index, statement in public_statements(attributes.get("resource_policy"), params["source_condition_keys"]):
            if url_is_public and is_url_statement(statement):
                continue  # the public URL's own permission: AWS-EXP-001 reports it
            summary = statement_summary(index, statement)
            label = summary.get("sid", f"#{index}")
            yield Hit(
                subject_uid=uid,
                key=f"statement:{label}",
                message=f"{name}: resource-policy statement {label} lets everyone ({', '.join(summary['actions'])}) "
                "without a condition on the caller",
                evidence=summary,
            )
