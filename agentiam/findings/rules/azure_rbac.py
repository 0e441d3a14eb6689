"""Azure RBAC rules, on each principal's role assignments as findings/policy/azure.py evaluates them.

Severity is stated for a subscription-scope grant and moves with the widest scope that grants the finding: one step
up at a management group or the tenant root, one down at a resource group, two at a single resource. A condition on
the assignment lowers it one more step; it never hides the grant.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.azure_rbac import (
    CONTRIBUTOR,
    DANGEROUS_OPERATIONS,
    PRIVILEGED_ROLES,
    ROLE_ADMINISTRATION_OPERATIONS,
    SCOPE_SEVERITY_STEPS,
)
from agentiam.findings.engine import shift
from agentiam.findings.policy.azure import AzureAssignment, AzurePrincipal, ranked
from agentiam.findings.registry import SEVERITIES, Hit, rule

NHI5 = "OWASP NHI Top 10 2025: NHI5 Overprivileged NHI"
BUILT_IN_ROLES = "https://learn.microsoft.com/azure/role-based-access-control/built-in-roles"
RBAC_BEST_PRACTICES = "https://learn.microsoft.com/azure/role-based-access-control/best-practices"
SHOWN = 5  # assignments listed per finding; the total is always given
WIDE_LEVELS = ("root", "management_group", "subscription")
DANGEROUS_NAMES = tuple(entry.operation for entry in DANGEROUS_OPERATIONS)


def scoped_severity(base: str, assignment: AzureAssignment) -> str:
    return shift(base, SCOPE_SEVERITY_STEPS[assignment.level])


def _hit(
    principal: AzurePrincipal,
    base: str,
    holding: list[AzureAssignment],
    message: str,
    conditional: bool | None = None,
    **evidence: Any,
) -> Hit:
    """A hit graded by the widest assignment that grants it (an unconditional one first, at equal scope).
    `conditional`: whether that grant holds only under a condition, when the role's own conditions matter."""
    widest = holding[0]
    if conditional and not widest.conditional:
        evidence["role_condition"] = True
    return Hit(
        subject_uid=principal.uid,
        message=f"{message} at {widest.level.replace('_', ' ')} scope {widest.scope or '/'} (role {widest.role.name})",
        key=evidence.pop("key", ""),
        severity=scoped_severity(base, widest),
        conditional=widest.conditional if conditional is None else conditional,
        evidence={
            "widest_scope": widest.scope,
            "scope_level": widest.level,
            "assignments": [a.evidence() for a in holding[:SHOWN]],
            "assignments_total": len(holding),
            **evidence,
        },
    )


def role_administration(principal: AzurePrincipal, ctx: AnalysisContext) -> list[AzureAssignment]:
    """Assignments that let the principal assign roles: a privileged built-in role (known by id even when its
    definition is not in the scan) or any role granting role-assignment or role-definition writes."""
    found = principal.derived.get("role_administration")
    if found is None:
        catalogue = ctx.azure_catalogue
        found = ranked(
            a
            for a in principal.assignments
            if (a.role.missing and a.role.definition_id in PRIVILEGED_ROLES)
            or a.granted_among(ROLE_ADMINISTRATION_OPERATIONS, catalogue)
        )
        principal.derived["role_administration"] = found
    return found


@rule(
    id="AZURE-RBAC-001",
    title="Azure role administration: Owner, User Access Administrator or role-assignment writes",
    category="admin",
    severity="critical",
    provider="azure",
    rationale="""A principal that can write role assignments or role definitions can give itself, or anyone, any
        role within the scope: Owner, User Access Administrator and Role Based Access Control Administrator, and
        any custom role with Microsoft.Authorization/roleAssignments/write or roleDefinitions/write, are
        administrator-equivalent. A workload identity holding one turns any compromise of the workload into
        control of the whole scope.""",
    remediation="""Remove the assignment, or replace it with the narrowest role the workload needs. Where
        delegation is required, use Role Based Access Control Administrator with a condition that limits which
        roles and principal types it may assign, at the narrowest scope.""",
    references=(NHI5, BUILT_IN_ROLES, RBAC_BEST_PRACTICES),
)
def role_administrators(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    catalogue = ctx.azure_catalogue
    for principal in ctx.azure_principals:
        holding = role_administration(principal, ctx)
        if holding:
            operations = holding[0].granted_among(ROLE_ADMINISTRATION_OPERATIONS, catalogue)
            conditional = holding[0].conditional_for(operations, catalogue) if operations else holding[0].conditional
            yield _hit(principal, "critical", holding, f"{principal.name} can assign any role", conditional)


def _unrestricted_actions(assignment: AzureAssignment) -> bool:
    role = assignment.role
    return (role.missing and role.definition_id == CONTRIBUTOR) or any("*" in b.actions for b in role.blocks)


@rule(
    id="AZURE-RBAC-002",
    title="Contributor or `*` actions at subscription or management-group scope",
    category="admin",
    severity="high",
    provider="azure",
    rationale="""Contributor, or any role with `*` in its actions, can create, change and delete every resource
        in the scope: run code on VMs, read app settings and storage keys, attach managed identities. At a
        subscription or management group, that is the whole estate below it, short only of assigning roles.""",
    remediation="""Assign a role scoped to what the workload manages (a resource group or single resources), or a
        custom role listing the operations it uses.""",
    references=(NHI5, BUILT_IN_ROLES, RBAC_BEST_PRACTICES),
)
def broad_contributors(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for principal in ctx.azure_principals:
        administering = {id(a) for a in role_administration(principal, ctx)}  # AZURE-RBAC-001 reports those
        holding = ranked(
            a
            for a in principal.assignments
            if a.level in WIDE_LEVELS and id(a) not in administering and _unrestricted_actions(a)
        )
        if holding:
            yield _hit(principal, "high", holding, f"{principal.name} can change every resource")


@rule(
    id="AZURE-RBAC-003",
    title="Azure operations that run code as, or hand out the credentials of, other identities",
    category="privilege-escalation",
    severity="high",
    provider="azure",
    rationale="""Some single operations are enough to act as another identity or take its secrets: adding a
        federated credential to a managed identity, attaching an identity, running commands or extensions on a
        VM, reading publishing profiles, app settings, storage or AI account keys, Key Vault secrets, writing
        vault access policies, fetching AKS admin credentials, or changing runbooks and Logic Apps that run as
        their own identities. The list is a data table (findings/data/azure_rbac.py).""",
    remediation="""Remove the operations from the role (a custom role without them, or NotActions), or narrow the
        assignment to the resources the workload owns. Prefer Entra authentication over keys (disableLocalAuth)
        and Key Vault RBAC over access policies.""",
    references=(
        NHI5,
        "https://posts.specterops.io/azure-privilege-escalation-via-azure-api-permissions-abuse-74aee1006f48",
    ),
)
def dangerous_operations(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    catalogue = ctx.azure_catalogue
    for principal in ctx.azure_principals:
        held_by = principal.holders(DANGEROUS_NAMES, catalogue)
        found = []
        for entry in DANGEROUS_OPERATIONS:
            holding = held_by.get(entry.operation)
            if holding:
                severity = scoped_severity(entry.severity, holding[0])
                conditional = holding[0].conditional_for((entry.operation,), catalogue)
                found.append((SEVERITIES.index(severity) + conditional, entry, holding, conditional))
        if not found:
            continue
        found.sort(key=lambda item: item[0])
        _rank, worst, holding, worst_conditional = found[0]
        operations = [
            {
                "operation": entry.operation,
                "category": entry.category,
                "why": entry.why,
                "role": held[0].role.name,
                "scope": held[0].scope,
                "conditional": conditional,
            }
            for _, entry, held, conditional in found
        ]
        names = ", ".join(
            entry.operation.rsplit("/", 2)[-2] + "/" + entry.operation.rsplit("/", 1)[-1]
            for _, entry, _, _ in found[:4]
        )
        more = f" and {len(found) - 4} more" if len(found) > 4 else ""
        yield _hit(
            principal,
            worst.severity,
            holding,
            f"{principal.name} holds {len(found)} dangerous operation(s) ({names}{more}); the worst, "
            f"{worst.operation}, {worst.why},",
            worst_conditional,
            operations=operations,
        )


@rule(
    id="AZURE-RBAC-004",
    title="Wildcard actions or data actions in a custom role",
    category="wildcard",
    severity="medium",
    provider="azure",
    rationale="""A custom role exists to grant a chosen set of operations. A wildcard in it grants every
        operation that matches, including ones the provider adds later; a wildcard in its data actions grants
        data access (reading blobs, secrets, messages) that the role's name rarely makes obvious.""",
    remediation="""List the operations the workload uses in the custom role instead of the wildcard.""",
    references=(NHI5, "https://learn.microsoft.com/azure/role-based-access-control/custom-roles"),
)
def custom_role_wildcards(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for principal in ctx.azure_principals:
        by_role: dict[str, list[AzureAssignment]] = {}
        for assignment in principal.assignments:
            if assignment.role.custom and assignment.role.wildcard_patterns:
                by_role.setdefault(assignment.role.definition_id, []).append(assignment)
        for definition_id, assignments in sorted(by_role.items()):
            holding = ranked(assignments)
            patterns = holding[0].role.wildcard_patterns
            yield _hit(
                principal,
                "medium",
                holding,
                f"{principal.name} holds custom role {holding[0].role.name} with wildcards {', '.join(patterns[:5])}",
                key=definition_id,
                wildcards=patterns,
            )


@rule(
    id="AZURE-RBAC-005",
    title="Identity with access in both production and non-production subscriptions",
    category="hygiene",
    severity="medium",
    provider="azure",
    rationale="""An identity that reaches production and non-production alike lets anything that compromises the
        weaker environment (test code, a developer's pipeline) act in production. Environments are told apart by
        `azure.environments` (subscription id or name -> class) or the subscription's environment tag.""",
    remediation="""Use one identity per environment, each assigned only in its own subscriptions.""",
    references=("OWASP NHI Top 10 2025: NHI9 NHI Reuse",),
)
def cross_environment(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    production = {c.lower() for c in ctx.settings.azure.production_classes}
    for principal in ctx.azure_principals:
        by_class: dict[str, set[str]] = {}
        for assignment in principal.assignments:
            if assignment.environment:
                by_class.setdefault(assignment.environment, set()).add(assignment.subscription_id or assignment.scope)
        prod = sorted(c for c in by_class if c.lower() in production)
        other = sorted(c for c in by_class if c.lower() not in production)
        if prod and other:
            holding = ranked(a for a in principal.assignments if a.environment)
            yield _hit(
                principal,
                "medium",
                holding,
                f"{principal.name} has access in {', '.join(prod)} and {', '.join(other)} subscriptions",
                environments={c: sorted(s) for c, s in sorted(by_class.items())},
            )


@rule(
    id="AZURE-RBAC-090",
    title="Custom role names operations the catalogue does not know",
    category="hygiene",
    severity="info",
    provider="azure",
    rationale="""An operation name or pattern that matches no known operation (a retired provider, a typo, or one
        newer than agentiam's operation list) is kept as written and still matched literally, never dropped, so
        that the role is not taken for less than it grants. This note says where.""",
    remediation="""Fix typos and remove operations of retired providers, so that reviewers read what is really
        granted; if the operation is new, update agentiam.""",
)
def unknown_operations(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for principal in ctx.azure_principals:
        seen = set()
        for assignment in ranked(principal.assignments):
            role = assignment.role
            # Built-in roles are Microsoft's to fix: their unknown names are kept literally all the same.
            if role.custom and role.warnings and role.definition_id not in seen:
                seen.add(role.definition_id)
                yield Hit(
                    subject_uid=principal.uid,
                    key=role.definition_id,
                    message=f"{principal.name}: role {role.name}: {role.warnings[0]}"
                    + (f" (and {len(role.warnings) - 1} more)" if len(role.warnings) > 1 else ""),
                    evidence={
                        "role": role.name,
                        "role_definition_id": role.definition_id,
                        "warnings": list(role.warnings),
                    },
                )
