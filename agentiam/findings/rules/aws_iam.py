"""AWS IAM permission rules, evaluated on each principal's effective permissions (all policies, denies, boundary).

Every rule reads `ctx.aws_principals`; none re-implements policy semantics. A grant that an unconditional Deny
cancels is simply not in the effective permissions, so it produces no finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from agentiam.findings.context import AnalysisContext, AwsPrincipal
from agentiam.findings.data.aws_access import ROUTINE_WRITE_ACTIONS, UNCONSTRAINED_ACCESS_LEVELS
from agentiam.findings.policy.aws import EffectivePermissions, Grant
from agentiam.findings.policy.catalogue import ActionCatalogue
from agentiam.findings.registry import Hit, rule

NHI5 = "OWASP NHI Top 10 2025: NHI5 Overprivileged NHI"
CLOUDSPLAINING = "https://github.com/salesforce/cloudsplaining (risk categories)"
IAM_BEST_PRACTICES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
# Evidence lists are capped so that a report of 10,000 roles stays readable and small; counts are always exact.
EXAMPLES = 10  # actions listed as examples
PATTERNS = 10  # a statement's Action / Resource patterns shown
STATEMENTS = 3  # statements shown per finding (the most generous first)
ADMIN_COVERAGE = 0.95  # share of the catalogue on "*" that makes an identity an administrator


def statement_evidence(grant: Grant, catalogue: ActionCatalogue, bits: int | None = None) -> dict[str, Any]:
    """Where an Allow comes from, in words a reviewer can find in the console; only what is informative."""
    evidence: dict[str, Any] = {
        "policy": grant.source.policy_name,
        "policy_ref": grant.source.policy_ref,
        "policy_source": grant.source.source,
        "statement": grant.statement.index,
        "not_action" if grant.statement.not_action else "action": _capped(grant.statement.action_patterns),
        "not_resource" if grant.statement.not_resource else "resource": _capped(grant.statement.resources),
    }
    if grant.statement.sid:
        evidence["sid"] = grant.statement.sid
    if grant.source.via:
        evidence["via_group"] = grant.source.via
    if grant.conditional:
        evidence["conditional"] = True
        evidence["conditions"] = dict(grant.conditions)
    if grant.maybe_denied_by:
        evidence["may_be_denied_by"] = list(grant.maybe_denied_by)
    if grant.limited_by_boundary:
        evidence["limited_by_permission_boundary"] = True
    if bits is not None:
        evidence["actions_granted"] = catalogue.count(bits & grant.actions)
    return evidence


def _capped(values: tuple[str, ...]) -> list[str]:
    shown = list(values[:PATTERNS])
    return [*shown, f"... {len(values) - PATTERNS} more"] if len(values) > PATTERNS else shown


def _statements(grants: list[Grant], catalogue: ActionCatalogue, bits: int | None = None) -> dict[str, Any]:
    """The granting statements, most generous first, capped; with the total."""
    ranked = sorted(grants, key=lambda g: -catalogue.count(g.actions & bits if bits is not None else g.actions))
    evidence: dict[str, Any] = {"statements": [statement_evidence(g, catalogue, bits) for g in ranked[:STATEMENTS]]}
    if len(grants) > STATEMENTS:
        evidence["statements_total"] = len(grants)
    return evidence


def _examples(catalogue: ActionCatalogue, bits: int) -> list[str]:
    return catalogue.names_of(bits, limit=EXAMPLES)


def _granting(principal: AwsPrincipal, bits: int, *, all_resources: bool = False) -> list[Grant]:
    return [g for g in principal.permissions.grants if g.actions & bits and (g.all_resources or not all_resources)]


def _split_by_condition(principal: AwsPrincipal, mask: int) -> tuple[int, bool]:
    """The part of `mask` granted on all resources, and whether it holds only under conditions.

    A Deny on a few specific resources does not take an action off the "all resources" list here: an identity that
    may terminate every instance but one is still the finding.
    """
    unconditional, conditional = _all_resources_grants(principal)
    if unconditional & mask:
        return unconditional & mask, False
    return conditional & mask, True


def _all_resources_grants(principal: AwsPrincipal) -> tuple[int, int]:
    """(unconditional, any) actions granted on all resources: asked once per family, so computed once."""
    if "all_resources_grants" not in principal.derived:
        permissions = principal.permissions
        unconditional = conditional = 0
        for grant in permissions.grants:
            if not grant.all_resources:
                continue
            conditional |= grant.actions
            if not grant.conditional:
                unconditional |= grant.actions & ~grant.maybe_denied
        # A boundary that allows an action only on some resources (or only under a condition) caps the grant too.
        conditional &= permissions.boundary_mask(all_resources_only=True)
        unconditional &= permissions.boundary_mask(unconditional_only=True, all_resources_only=True)
        principal.derived["all_resources_grants"] = (unconditional, conditional)
    return principal.derived["all_resources_grants"]


@cache
def _iam_permissions_management(catalogue: ActionCatalogue) -> int:
    return catalogue.service_mask("iam") & catalogue.level_mask("Permissions management")


def admin_equivalence(principal: AwsPrincipal, catalogue: ActionCatalogue, coverage: float) -> tuple[int, bool] | None:
    """(granted bits, conditional) when the principal holds nearly every action on every resource."""
    return permissions_admin_equivalence(principal.permissions, catalogue, coverage)


def permissions_admin_equivalence(
    permissions: EffectivePermissions, catalogue: ActionCatalogue, coverage: float
) -> tuple[int, bool] | None:
    """`admin_equivalence` of any set of effective permissions (a principal's, or one policy's on its own)."""
    required = _iam_permissions_management(catalogue)
    for conditional in (False, True):
        granted = permissions.allowed(unconditional_only=not conditional, all_resources_only=True)
        share = catalogue.count(granted) / catalogue.count(catalogue.all_mask)
        if share >= coverage and granted & required == required:
            return granted, conditional
    return None


@rule(
    id="AWS-IAM-001",
    title="Administrator-equivalent access",
    category="admin",
    severity="critical",
    provider="aws",
    rationale="""The identity can perform (nearly) every action on every resource, including all of IAM's
    permissions management: whoever controls it controls the account. For an agent, one prompt injection away.""",
    remediation="""Replace the broad grant with a policy scoped to the actions and resources the workload uses
    (IAM Access Analyzer can generate one from CloudTrail), or attach a permission boundary.""",
    references=(NHI5, IAM_BEST_PRACTICES, "CIS AWS Foundations 1.16"),
    parameters={"coverage": ADMIN_COVERAGE},
)
def administrator_access(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    catalogue = ctx.catalogue
    for principal in ctx.aws_principals:
        admin = admin_equivalence(principal, catalogue, params["coverage"])
        if admin is None:
            continue
        granted, conditional = admin
        total = catalogue.count(catalogue.all_mask)
        grants = _granting(principal, granted, all_resources=True)
        yield Hit(
            subject_uid=principal.uid,
            message=f"{principal.name} can perform {catalogue.count(granted):,} of {total:,} actions on all "
            f"resources{' under conditions' if conditional else ''}",
            evidence={
                "actions_granted": catalogue.count(granted),
                "catalogue_actions": total,
                "denied_or_missing": catalogue.count(catalogue.all_mask & ~granted),
                **_statements(grants, catalogue),
            },
            conditional=conditional,
        )


def is_admin(ctx: AnalysisContext, principal: AwsPrincipal) -> bool:
    """Asked by most AWS rules, for every principal: computed once per principal."""
    if "is_admin" not in principal.derived:
        principal.derived["is_admin"] = admin_equivalence(principal, ctx.catalogue, ADMIN_COVERAGE) is not None
    return bool(principal.derived["is_admin"])


@rule(
    id="AWS-IAM-002",
    title="Service-wide wildcard on write or permissions-management actions",
    category="wildcard",
    severity="high",
    provider="aws",
    rationale="""`service:*` grants every current and future action of the service, including the ones that
    change resources or their permissions. It is the grant least privilege reviews most often find unused.""",
    remediation="""List the actions the workload needs instead of `service:*`; keep read actions separate from
    write actions, and never grant a service's permissions-management actions by wildcard.""",
    references=(NHI5, IAM_BEST_PRACTICES),
)
def service_wildcard(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    catalogue = ctx.catalogue
    management = catalogue.level_mask("Permissions management")
    writes = catalogue.level_mask("Write") & ~management
    for principal in ctx.aws_principals:
        if is_admin(ctx, principal):
            continue  # the administrator finding already says more
        by_service: dict[str, list[Grant]] = {}
        for grant in principal.permissions.grants:
            if grant.statement.not_action:
                continue
            for pattern in grant.statement.action_patterns:
                service, _, action = pattern.partition(":")
                if action == "*" and catalogue.knows_service(service):
                    by_service.setdefault(service, []).append(grant)
        for service, grants in sorted(by_service.items()):
            mask = catalogue.service_mask(service) & (writes | management)
            granted = 0
            for grant in grants:
                granted |= grant.actions & mask
            if not granted:
                continue  # every write of the wildcard is denied or outside the boundary
            has_management = bool(granted & management)
            conditional = all(g.conditional for g in grants)
            yield Hit(
                subject_uid=principal.uid,
                key=service,
                message=f"{principal.name} is granted {service}:* including "
                f"{catalogue.count(granted & management)} permissions-management and "
                f"{catalogue.count(granted & writes)} write actions",
                evidence={
                    "service": service,
                    "permissions_management_actions": _examples(catalogue, granted & management),
                    "write_actions": _examples(catalogue, granted & writes),
                    **_statements(grants, catalogue),
                },
                conditional=conditional,
                severity="high" if has_management else "medium",
            )


@rule(
    id="AWS-IAM-003",
    title="Allow with NotAction",
    category="wildcard",
    severity="high",
    provider="aws",
    rationale="""An Allow with NotAction grants everything except the listed actions, today and every action AWS
    adds tomorrow. It is almost always far broader than its author intended.""",
    remediation="""Rewrite the statement as an Allow of the actions needed. To carve exceptions out of a broad
    grant, use an explicit Deny or a permission boundary instead.""",
    references=(NHI5, "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"),
)
def allow_not_action(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    catalogue = ctx.catalogue
    for principal in ctx.aws_principals:
        for grant in principal.permissions.grants:
            if not grant.statement.not_action or not grant.actions:
                continue
            scope = "all resources" if grant.all_resources else "the listed resources"
            yield Hit(
                subject_uid=principal.uid,
                key=f"{grant.source.policy_ref}#{grant.statement.index}",
                message=f"{principal.name}: policy {grant.source.policy_name} allows every action except "
                f"{', '.join(grant.statement.action_patterns)} on {scope} "
                f"({catalogue.count(grant.actions):,} actions)",
                evidence=statement_evidence(grant, catalogue),
                conditional=grant.conditional,
                severity="high" if grant.all_resources else "medium",
            )


def level_mask(ctx: AnalysisContext, level: str, ignored: tuple[str, ...] = ()) -> int:
    """Actions of an access level that could have been scoped to resources, less the ignored ones."""
    catalogue = ctx.catalogue
    mask = catalogue.level_mask(level) & ~catalogue.wildcard_only_mask
    for action in ignored:
        mask &= ~catalogue.expand(action)
    levels = list(UNCONSTRAINED_ACCESS_LEVELS)
    for graver in levels[: levels.index(level)]:  # the catalogue files some actions under two levels
        mask &= ~catalogue.level_mask(graver)
    return mask


def unconstrained_hits(ctx: AnalysisContext, mask: int, key: str, what: str) -> Iterator[Hit]:
    """One hit per principal granted actions of `mask` on all resources; `what` names them in the message.

    Administrators are left to AWS-IAM-001, which already says more.
    """
    catalogue = ctx.catalogue
    for principal in ctx.aws_principals:
        if is_admin(ctx, principal):
            continue
        granted, conditional = _split_by_condition(principal, mask)
        if not granted:
            continue
        grants = _granting(principal, granted, all_resources=True)
        yield Hit(
            subject_uid=principal.uid,
            key=key,
            message=f"{principal.name} can use {catalogue.count(granted)} {what} on any resource, e.g. "
            f"{', '.join(_examples(catalogue, granted)[:3])}",
            evidence={
                "family": key,
                "actions_count": catalogue.count(granted),
                "actions": _examples(catalogue, granted),
                **_statements(grants, catalogue, granted),
            },
            conditional=conditional,
        )


@rule(
    id="AWS-IAM-004",
    title="Permissions-management actions on all resources",
    category="resource-exposure",
    severity=UNCONSTRAINED_ACCESS_LEVELS["Permissions management"],
    provider="aws",
    rationale="""Permissions-management actions (policies, ACLs, grants) on `Resource: "*"` let the identity
    change who can access any resource of that type: expose a bucket, a key or a secret to anyone, or grant
    itself more.""",
    remediation="""Scope the Resource element to the ARNs the workload manages; actions that support
    resource-level permissions should never be granted on "*".""",
    references=(NHI5, CLOUDSPLAINING, IAM_BEST_PRACTICES),
)
def permissions_management_unconstrained(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    yield from unconstrained_hits(
        ctx, level_mask(ctx, "Permissions management"), "Permissions management", "permissions-management actions"
    )


@rule(
    id="AWS-IAM-005",
    title="Write actions on all resources",
    category="resource-exposure",
    severity=UNCONSTRAINED_ACCESS_LEVELS["Write"],
    provider="aws",
    rationale="""Write actions on `Resource: "*"` let the identity modify or delete any resource of the service
    in the account, not just the ones it owns.""",
    remediation="""Scope the Resource element to the ARNs (or a path or tag-based condition) the workload
    writes to.""",
    references=(NHI5, CLOUDSPLAINING, IAM_BEST_PRACTICES),
    parameters={"ignore_actions": list(ROUTINE_WRITE_ACTIONS)},
)
def write_unconstrained(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    yield from unconstrained_hits(
        ctx, level_mask(ctx, "Write", tuple(params["ignore_actions"])), "Write", "write actions"
    )


@rule(
    id="AWS-IAM-090",
    title="Policy could not be evaluated",
    category="hygiene",
    severity="medium",
    provider="aws",
    rationale="""A policy that does not parse as IAM was skipped, so the identity's effective permissions are
    not fully known. AWS would reject it on upload, which means the export is damaged or hand-edited.""",
    remediation="""Fix or re-export the policy document; the message says which statement is wrong.""",
)
def policy_not_evaluated(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for principal in ctx.aws_principals:
        for problem in principal.problems:
            if problem.fatal:
                yield Hit(
                    subject_uid=principal.uid,
                    key=problem.source.policy_ref,
                    message=f"{principal.name}: policy {problem.source.policy_name} was not evaluated: "
                    f"{problem.problem}. The identity's other policies were.",
                    evidence={
                        "policy": problem.source.policy_name,
                        "policy_ref": problem.source.policy_ref,
                        "problem": problem.problem,
                    },
                )


@rule(
    id="AWS-IAM-091",
    title="Policy names actions the catalogue does not know",
    category="hygiene",
    severity="info",
    provider="aws",
    rationale="""Actions of retired or unknown services (or typos) are kept literally and matched by pattern, never
    dropped, so a retired service cannot silently turn an escalation check into a pass. This note says where.""",
    remediation="""Remove actions of retired services and fix typos, so that reviewers read what is really
    granted.""",
)
def unknown_actions(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for principal in ctx.aws_principals:
        warnings = [p for p in principal.problems if not p.fatal]
        by_policy: dict[str, list[str]] = {}
        for problem in warnings:
            by_policy.setdefault(problem.source.policy_ref, []).append(problem.problem)
        for ref, problems in sorted(by_policy.items()):
            yield Hit(
                subject_uid=principal.uid,
                key=ref,
                message=f"{principal.name}: {ref.rsplit('/', 1)[-1]}: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                evidence={"policy_ref": ref, "warnings": problems},
            )
