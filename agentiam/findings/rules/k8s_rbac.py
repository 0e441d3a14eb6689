"""Kubernetes RBAC rules: who can do what dangerous thing, at which scope.

Each finding is about the subject as bound (a service account, a user or a group), at one scope (cluster-wide, or
one namespace), and names the bindings and roles that give it. The dangerous permissions are one data table
(agentiam/findings/data/k8s_permissions.py); one rule per entry is made from it below. A grant cluster-wide makes
the same grant in a namespace redundant, so only the wider one is reported.

Severity: the table's, for a cluster-wide grant (or one in kube-system); one step higher when the subject is
everyone (`system:authenticated`, `system:unauthenticated`, `system:anonymous`); one step lower in another namespace;
one step lower again when every rule that gives it names the objects (`resourceNames`). Agents' identities are raised
by the engine. Kubernetes' own bootstrap bindings are not audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.k8s_permissions import (
    DANGEROUS_PERMISSIONS,
    EVERYONE,
    GOOD_PRACTICES,
    NHI5,
    RBAC_DOCS,
    DangerousPermission,
)
from agentiam.findings.engine import shift
from agentiam.findings.policy.kubernetes import (
    CLUSTER,
    CapabilityMatch,
    RoleGrant,
    Subject,
    capability,
    everything_grants,
    is_cluster_wide,
    scopes_of,
)
from agentiam.findings.registry import Hit, RuleCheck, rule


def where(scope: str) -> str:
    return "cluster-wide" if scope == CLUSTER else f"in namespace {scope.partition(':')[2]}"


def subject_evidence(grant: RoleGrant, scope: str) -> dict[str, Any]:
    return {
        "cluster": grant.attributes.get("cluster"),
        "subject_kind": grant.subject.kind,
        "subject_name": grant.subject.name,
        "subject_namespace": grant.subject.namespace or None,
        "scope": scope,
    }


def graded(base: str, scope: str, name_restricted: bool, subject: Subject) -> tuple[str, list[str]]:
    severity, basis = base, [f"{base} when granted cluster-wide"]
    everyone = EVERYONE.get((subject.kind, subject.name))
    if everyone:
        severity = shift(severity, +1)
        basis.append(f"{severity}: granted to {everyone}")
    if not is_cluster_wide(scope):
        severity = shift(severity, -1)
        basis.append(f"{severity}: granted in one namespace only")
    if name_restricted:
        severity = shift(severity, -1)
        basis.append(f"{severity}: restricted to named objects (resourceNames)")
    return severity, basis


def capability_hits(ctx: AnalysisContext, permission: DangerousPermission) -> Iterator[Hit]:
    for uid, grants in ctx.kubernetes_rbac.audited():
        cluster_wide: CapabilityMatch | None = None
        for scope in scopes_of(grants):
            match = capability(permission, grants, scope)
            if match is None or (cluster_wide is not None and not cluster_wide.name_restricted):
                continue
            if scope == CLUSTER:
                cluster_wide = match
            first = match.contributions[0].grant
            severity, basis = graded(permission.severity, scope, match.name_restricted, first.subject)
            names = sorted({n for c in match.contributions for n in c.rule.resource_names})
            yield Hit(
                subject_uid=uid,
                key=f"{permission.key}:{scope}",
                message=(
                    f"{first.subject.describe()} {permission.title[0].lower()}{permission.title[1:]} {where(scope)}"
                    f" ({', '.join(match.bindings)} -> {', '.join(match.roles)})"
                    + (f", only on {', '.join(names)}" if match.name_restricted else "")
                ),
                evidence={
                    **subject_evidence(first, scope),
                    "capability": permission.key,
                    "bindings": match.bindings,
                    "roles": match.roles,
                    "grants": [c.evidence() for c in match.contributions],
                    "restricted_to_names": names if match.name_restricted else [],
                    "severity_basis": basis,
                },
                severity=severity,
            )


def _capability_rule(permission: DangerousPermission) -> RuleCheck:
    @rule(
        id=permission.rule_id,
        title=permission.title,
        category=permission.category,  # type: ignore[arg-type]
        severity=permission.severity,
        provider="kubernetes",
        rationale=permission.rationale,
        remediation=permission.remediation,
        references=permission.references,
    )
    def check(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
        yield from capability_hits(ctx, permission)

    return check


# One rule per dangerous permission: the table is the knowledge, the rule is the same small check. Module globals,
# because a rules module's rules are the decorated functions it holds (registry.rules_in).
globals().update({f"rule_{p.key.replace('-', '_')}": _capability_rule(p) for p in DANGEROUS_PERMISSIONS})


@rule(
    id="K8S-RBAC-001",
    title="Holds cluster-admin, or every verb on every resource",
    category="admin",
    severity="critical",
    provider="kubernetes",
    rationale="""A rule of `*` verbs on `*` resources in `*` API groups is everything RBAC can give: bound by a
    ClusterRoleBinding (as `cluster-admin` is), it is full control of the cluster and every workload and secret in
    it; bound in a namespace, full control of that namespace, including its secrets and service accounts.""",
    remediation="""Bind a role that lists the verbs and resources the subject needs; keep `cluster-admin` for break-
    glass human access, never for a workload's service account or a broad group.""",
    references=(GOOD_PRACTICES, RBAC_DOCS, NHI5, "CIS Kubernetes Benchmark 5.1.1"),
)
def wildcard_admin(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for uid, grants in ctx.kubernetes_rbac.audited():
        scopes = scopes_of(grants)
        for scope in scopes:
            found = everything_grants(g for g in grants if g.scope == scope)
            if not found or (
                scope != CLUSTER and CLUSTER in scopes and everything_grants(g for g in grants if g.scope == CLUSTER)
            ):
                continue
            bindings = sorted({g.binding for g, _ in found})
            roles = sorted({g.role for g, _ in found})
            grant = found[0][0]
            severity, basis = graded("critical", scope, name_restricted=False, subject=grant.subject)
            yield Hit(
                subject_uid=uid,
                key=f"admin:{scope}",
                message=f"{grant.subject.describe()} holds every verb on every resource {where(scope)}"
                f" ({', '.join(bindings)} -> {', '.join(roles)})",
                evidence={
                    **subject_evidence(grant, scope),
                    "bindings": bindings,
                    "roles": roles,
                    "severity_basis": basis,
                },
                severity=severity,
            )


@rule(
    id="K8S-RBAC-020",
    title="Binding to a missing role or service account",
    category="hygiene",
    severity="medium",
    provider="kubernetes",
    rationale="""A binding whose service account does not exist grants its role to whoever next creates a service
    account of that name: anyone who can create service accounts in that namespace inherits the role. A binding to
    a role that does not exist grants nothing today, and everything a role of that name is later given. Both are
    usually left behind when a workload was removed. Judged on cluster exports only: a set of manifests holds only
    what it defines.""",
    remediation="""Delete the binding, or restore the service account or role it was written for.""",
    references=(RBAC_DOCS, "OWASP NHI Top 10 2025: NHI1 Improper Offboarding"),
)
def dangling_binding(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for grant in ctx.kubernetes_rbac.grants:
        if not grant.attributes.get("listing_complete") or grant.attributes.get("platform_default"):
            continue
        missing = [
            what
            for what, flag in (("service account", "subject_missing"), ("role", "role_missing"))
            if grant.attributes.get(flag)
        ]
        for what in missing:
            target = grant.subject.describe() if what == "service account" else grant.role
            yield Hit(
                subject_uid=grant.subject_uid,
                key=f"missing-{what.replace(' ', '-')}:{grant.binding}",
                message=f"{grant.binding} binds {grant.role} to {grant.subject.describe()}, but the {what} "
                f"{target} does not exist",
                evidence={
                    **subject_evidence(grant, grant.scope),
                    "binding": grant.binding,
                    "role": grant.role,
                    "missing": what,
                },
                severity="medium" if what == "service account" else "low",
            )
