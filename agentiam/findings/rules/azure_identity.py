"""Azure identity rules: federated-credential trust, identity reuse, unused identities, key-based AI access."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.policy.azure import covers
from agentiam.findings.registry import Hit, rule
from agentiam.findings.rules.aws_hygiene import NHI1, NHI9, crowded_identities, idleness, last_uses
from agentiam.inventory import views

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# A GitHub subject that names one branch, tag or deployment environment of one repository.
GITHUB_PINNED = re.compile(r"^repo:[^/:*]+/[^/:*]+:(environment:[^:*]+|ref:refs/(heads|tags)/[^*]+)$")
WORKLOAD_FEDERATION = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations"
NHI7 = "OWASP NHI Top 10 2025: NHI7 Long-Lived Secrets"


def _issuer(value: str) -> str:
    return value.strip().rstrip("/").lower()


def trusted_issuers(ctx: AnalysisContext) -> set[str]:
    """Configured issuers, plus the OIDC issuer of every AKS cluster in the scan."""
    trusted = {_issuer(i) for i in ctx.settings.azure.trusted_federation_issuers}
    clusters = ctx.workloads[ctx.workloads["workload_kind"] == "azure_aks_cluster"]
    trusted |= {_issuer(a["oidc_issuer"]) for a in clusters["attributes"] if a and a.get("oidc_issuer")}
    return trusted


def credential_problems(issuer: str, conditions: dict[str, Any], trusted: set[str]) -> list[tuple[str, str]]:
    """(severity, problem) for one federated credential; empty when it is pinned to a trusted issuer and subject."""
    problems = []
    subject = str(conditions.get("subject") or "")
    if _issuer(issuer) not in trusted:
        problems.append(("high", f"issuer {issuer} is not a trusted issuer"))
    if conditions.get("claims_matching_expression") or "*" in subject:
        expression = conditions.get("claims_matching_expression") or subject
        problems.append(("high", f"subject matches a pattern ({expression}): every matching token is trusted"))
    elif _issuer(issuer) == _issuer(GITHUB_ISSUER) and not GITHUB_PINNED.match(subject):
        problems.append(("medium", f"subject {subject!r} names no branch, tag or environment of one repository"))
    return problems


@rule(
    id="AZURE-TRUST-001",
    title="Federated credential trusts an unknown issuer or a broad subject",
    category="trust",
    severity="high",
    provider="azure",
    rationale="""A federated credential lets whoever holds a token from its issuer, with a matching subject, act
        as the managed identity, with no secret involved. An issuer that is not one the organisation runs or
        trusts (`azure.trusted_federation_issuers`, plus the AKS clusters in the scan), a subject pattern, or a
        GitHub subject without a branch, tag or environment (`repo:org/repo:pull_request`) hands the identity to
        more workloads than intended.""",
    remediation="""Pin each credential to one issuer you control and one exact subject: for GitHub, an
        environment (`repo:org/repo:environment:prod`) or a protected branch; for Kubernetes, one service
        account of one cluster.""",
    references=(WORKLOAD_FEDERATION, "OWASP NHI Top 10 2025: NHI3 Vulnerable Third-Party NHI"),
)
def risky_federated_credentials(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    trusts = ctx.trusts
    if trusts.empty:
        return
    trusted = trusted_issuers(ctx)
    federated = trusts[(trusts["principal_type"] == "Federated") & trusts["identity_uid"].str.startswith("azure:")]
    for row in federated.itertuples():
        conditions = row.conditions or {}
        problems = credential_problems(row.principal, conditions, trusted)
        if not problems:
            continue
        severity = "high" if any(s == "high" for s, _ in problems) else "medium"
        name = conditions.get("name") or conditions.get("subject")
        yield Hit(
            subject_uid=row.identity_uid,
            message=f"federated credential {name}: " + "; ".join(p for _, p in problems),
            key=f"{row.principal}|{conditions.get('subject')}|{conditions.get('claims_matching_expression')}",
            severity=severity,
            evidence={"issuer": row.principal, **conditions, "problems": [p for _, p in problems]},
        )


@rule(
    id="AZURE-HYG-001",
    title="User-assigned identity attached to many resources",
    category="hygiene",
    severity="medium",
    provider="azure",
    rationale="""A user-assigned identity attached to many resources gives each of them the union of what all
        need, makes a compromise of one a compromise of all, and leaves sign-in logs unable to tell them apart.
        Reported when more than `max_resources` resources carry one identity.""",
    remediation="""Give each workload its own managed identity (a system-assigned one, or one user-assigned
        identity per workload) with only the roles it uses.""",
    references=(NHI9,),
    parameters={"max_resources": 3},
)
def reused_identity(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    identities = ctx.identities
    uamis = set(identities["uid"][identities["identity_kind"] == "azure_user_assigned_identity"])
    for uid, described in crowded_identities(ctx, uamis, int(params["max_resources"]), mechanism="azure_mi"):
        yield Hit(
            subject_uid=uid,
            message=f"{ctx.subjects[uid]['name']} is attached to {len(described)} resources: "
            + ", ".join(w["name"] for w in described[:5])
            + (" ..." if len(described) > 5 else ""),
            evidence={"resources": described, "resources_count": len(described)},
        )


@rule(
    id="AZURE-UNUSED-001",
    title="Managed identity or service principal unused",
    category="unused",
    severity="medium",
    provider="azure",
    rationale="""An identity that has not signed in for `unused_days` still holds its role assignments and
        federated credentials. Only identities whose sign-in activity was read are judged: without sign-in data
        (Microsoft Graph servicePrincipalSignInActivities) an identity's use is unknown, never assumed unused.""",
    remediation="""Confirm with the owner that nothing uses the identity, then remove its role assignments and
        delete it (or detach it from the resources that carry it).""",
    references=(NHI1, "https://learn.microsoft.com/graph/api/resources/serviceprincipalsigninactivity"),
    parameters={"unused_days": 90},
)
def unused_identity(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    usage = ctx.usage
    if usage.empty:
        return
    judged = set(usage["subject_uid"][usage["usage_kind"] == "sign_in"])
    used, now, days = last_uses(ctx), ctx.as_of, int(params["unused_days"])
    azure = ctx.identities[ctx.identities["provider"] == "azure"]
    for row in azure.itertuples():
        if row.uid not in judged:
            continue
        idle = idleness(used.get(row.uid), views.as_utc(row.created_at), now)
        if idle is None and row.uid not in used:
            idle_days = None  # never signed in within the report's retention, and no creation date
        elif idle is not None and idle.days >= days:
            idle_days = idle.days
        else:
            continue
        last = used.get(row.uid)
        if last:
            when = f"for {idle_days} days (last {last:%Y-%m-%d})"
        elif idle_days is not None:
            when = f"for {idle_days} days: never within the sign-in report's retention, created {idle_days} days ago"
        else:
            when = "within the sign-in report's retention"
        yield Hit(
            subject_uid=row.uid,
            message=f"{row.name} has not signed in {when}",
            evidence={"last_sign_in": last.isoformat() if last else None, "idle_days": idle_days, "unused_days": days},
        )


@rule(
    id="AZURE-AI-001",
    title="AI account used by agents still accepts keys",
    category="credential-exposure",
    severity="high",
    provider="azure",
    rationale="""An Azure AI Services / Foundry account with local authentication enabled accepts its account
        keys: anyone holding a key calls the models and agents with no identity, no role check and no
        per-caller audit trail. For an account that agents use, managed identities already authenticate, so the
        keys only add exposure.""",
    remediation="""Set `disableLocalAuth: true` on the account (`az resource update --set
        properties.disableLocalAuth=true`), after moving any key-based client to Entra ID.""",
    references=(NHI7, "https://learn.microsoft.com/azure/ai-services/disable-local-auth"),
)
def ai_account_keys(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    workloads = ctx.workloads
    ai = workloads[workloads["workload_kind"].isin(["azure_ai_account", "azure_ai_project", "azure_ai_agent"])]
    hosting = {(row.attributes or {}).get("account_id") for row in ai.itertuples() if row.is_agent}
    # Agent identities with a role on an account (or one of its projects) use it, whoever hosts the agent.
    users: dict[str, set[str]] = defaultdict(set)
    for principal in ctx.azure_principals:
        if principal.is_agent:
            for assignment in principal.assignments:
                users[assignment.scope.lower()].add(principal.name)
    for row in ai[ai["workload_kind"] == "azure_ai_account"].itertuples():
        attributes = row.attributes or {}
        if attributes.get("disable_local_auth") is not False:
            continue  # disabled, or not known (the export had no properties)
        account = str(attributes.get("resource_id", "")).lower()
        agents = sorted({name for scope, names in users.items() if covers(account, scope) for name in names})
        why = [
            reason
            for reason, holds in (
                ("it hosts agents (Foundry projects or agent applications)", account in hosting),
                ("it is an agent's", bool(row.is_agent)),
                (f"agent identities use it ({', '.join(agents[:5])})", bool(agents)),
            )
            if holds
        ]
        if not why:
            continue
        yield Hit(
            subject_uid=row.uid,
            message=f"AI account {row.name} allows key-based access (disableLocalAuth is false) and {'; '.join(why)}",
            evidence={
                "disable_local_auth": False,
                "resource_id": attributes.get("resource_id"),
                "agent_identities": agents,
            },
        )
