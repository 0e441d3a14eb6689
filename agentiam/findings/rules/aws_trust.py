"""AWS trust rules: who can become a role, read from its trust policy (one inventory row per statement x principal).

A role's trust is read statement by statement: a condition in one statement does not protect another. Roles whose
trust AWS owns (service-linked roles) are left out. Deny statements are not evaluated as cancelling an Allow, with one
exception said where it applies: they make a wildcard trust conditional (AWS-TRUST-001).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.aws_access import SERVICE_LINKED_ROLE_PATH
from agentiam.findings.data.aws_trust import (
    ASSUME_ACTIONS,
    CONFUSED_DEPUTY_SERVICES,
    CROSS_ACCOUNT_KEYS,
    CROSS_ACCOUNT_REFERENCES,
    MANY_PRINCIPALS,
    OIDC_PROVIDERS,
    RESTRICTING_OPERATORS,
    SOURCE_KEYS,
    OidcProvider,
)
from agentiam.findings.policy.catalogue import glob_regex
from agentiam.findings.registry import Hit, rule

NHI3 = "OWASP NHI Top 10 2025: NHI3 Vulnerable Third-Party NHI"
NHI6 = "OWASP NHI Top 10 2025: NHI6 Insecure Cloud Deployment Configurations"
NHI9 = "OWASP NHI Top 10 2025: NHI9 NHI Reuse"
TRUST_POLICIES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html"
WEB_IDENTITY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html"


@dataclass(frozen=True)
class TrustedRole:
    uid: str
    name: str
    account: str


@dataclass
class Trustee:
    """One principal a role trusts, with the conditions of every Allow statement that names it."""

    principal_type: str
    principal: str
    statements: list[dict[str, Any]] = field(default_factory=list)  # each statement's Condition block

    @property
    def key(self) -> str:
        return f"{self.principal_type}:{self.principal}"

    def unrestricted_by(self, keys: Iterable[str]) -> bool:
        """Some statement lets this principal in without a restricting condition on any of `keys`."""
        return any(not restricting_values(conditions, keys) for conditions in self.statements)


def restricting_values(conditions: dict[str, Any], keys: Iterable[str]) -> list[str]:
    """The values a caller must match on any of `keys` (names compare case-insensitively, as IAM's do), under
    operators that fail when the key is absent. A value made only of wildcards matches anything and is left out."""
    wanted = {k.lower() for k in keys}
    values: list[str] = []
    for operator, block in conditions.items():
        base = operator.lower().removeprefix("foranyvalue:")
        if base not in RESTRICTING_OPERATORS or not isinstance(block, dict):
            continue
        for key, value in block.items():
            if key.lower() in wanted:
                found = (str(v) for v in (value if isinstance(value, list) else [value]))
                values.extend(v for v in found if v.strip("*?"))
    return values


def can_assume(actions: list[str]) -> bool:
    """The statement lets its principal assume the role. No Action (a NotAction statement) counts, to be safe."""
    return not actions or any(glob_regex(a.lower()).fullmatch(assume) for a in actions for assume in ASSUME_ACTIONS)


def trusted_roles(ctx: AnalysisContext) -> dict[str, TrustedRole]:
    frame = ctx.identities
    roles = frame[(frame["provider"] == "aws") & (frame["identity_kind"] == "aws_role")]
    # Whole columns as lists: per-row access to pandas string columns costs ~20x more at 10,000 roles.
    columns = (roles[c].tolist() for c in ("uid", "name", "scope", "path"))
    return {
        uid: TrustedRole(uid, name, scope)
        for uid, name, scope, path in zip(*columns, strict=True)
        if not (path or "").startswith(SERVICE_LINKED_ROLE_PATH)
    }


def trustees(ctx: AnalysisContext) -> list[tuple[TrustedRole, list[Trustee]]]:
    """Every audited role with the principals its Allow statements let assume it, in a stable order.

    Asked by every trust rule: worked out once per analysis.
    """
    if "aws_trustees" not in ctx.derived:
        ctx.derived["aws_trustees"] = list(_trustees(ctx))
    return ctx.derived["aws_trustees"]  # type: ignore[no-any-return]


def _trustees(ctx: AnalysisContext) -> Iterator[tuple[TrustedRole, list[Trustee]]]:
    roles = trusted_roles(ctx)
    by_role: dict[str, dict[tuple[str, str], Trustee]] = defaultdict(dict)
    names = ("identity_uid", "principal_type", "principal", "effect", "actions", "conditions")
    for uid, kind, principal, effect, actions, conditions in zip(*(ctx.trusts[c].tolist() for c in names), strict=True):
        if uid not in roles or effect != "Allow" or not can_assume(actions or []):
            continue
        found = by_role[uid].setdefault((kind, principal), Trustee(kind, principal))
        found.statements.append(conditions or {})
    for uid in sorted(by_role):
        yield roles[uid], sorted(by_role[uid].values(), key=lambda t: t.key)


def _denies(ctx: AnalysisContext) -> dict[str, list[dict[str, Any]]]:
    """The Deny statements of every role's trust policy, by role."""
    denies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in ctx.trusts[ctx.trusts["effect"] == "Deny"].itertuples():
        denies[row.identity_uid].append({"principal": row.principal, "conditions": row.conditions or {}})
    return denies


def _is_wildcard(trustee: Trustee) -> bool:
    return trustee.principal == "*" and trustee.principal_type in ("*", "AWS")


@rule(
    id="AWS-TRUST-001",
    title="Role trusts any AWS principal",
    category="trust",
    severity="critical",
    provider="aws",
    rationale="""`Principal: "*"` (or `{"AWS": "*"}`) in a trust policy lets any AWS principal, in any account,
    assume the role. Conditions (an organization id, a source IP) are then the only barrier, and one missing or
    mistyped key makes the role public. Conditions lower the severity one step; they do not remove the finding.""",
    remediation="""Name the accounts or roles that may assume the role. If many accounts of one organization must,
    keep the named principals and add `aws:PrincipalOrgID` rather than relying on a wildcard plus conditions.""",
    references=(
        NHI6,
        TRUST_POLICIES,
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
    ),
)
def wildcard_trust(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    all_denies = _denies(ctx)
    for role, found in trustees(ctx):
        for trustee in filter(_is_wildcard, found):
            denies = all_denies.get(role.uid, [])
            conditional = bool(denies) or all(trustee.statements)
            evidence: dict[str, Any] = {"principal": "*", "conditions": [c for c in trustee.statements if c]}
            if denies:
                evidence["deny_statements"] = denies
            if conditional:
                evidence["conditional"] = True
            yield Hit(
                subject_uid=role.uid,
                key=trustee.key,
                message=f"{role.name} can be assumed by any AWS principal in any account"
                + (", subject to its trust policy's conditions" if conditional else ""),
                evidence=evidence,
                conditional=conditional,
            )


def _account_of(principal: str) -> str | None:
    """The account of an AWS principal: an ARN, or a bare 12-digit account id. None for ids of deleted principals."""
    if principal.isdigit() and len(principal) == 12:
        return principal
    parts = principal.split(":")
    return parts[4] if principal.startswith("arn:") and len(parts) > 5 and parts[4].isdigit() else None


@rule(
    id="AWS-TRUST-002",
    title="Cross-account trust without an external ID",
    category="trust",
    severity="medium",
    provider="aws",
    rationale="""A role that another account may assume without an `sts:ExternalId` condition is open to the
    confused-deputy problem: a third party that assumes roles for many customers can be tricked by one customer into
    using this account's role. A condition on `aws:PrincipalOrgID` (the caller is in one's own organization) also
    satisfies this rule. Trust in accounts of the same scan (an organization scan) or listed in `trusted_accounts`
    (one's own organization's) is first-party and not reported.""",
    remediation="""Agree an external ID with the third party and require it with
    `"Condition": {"StringEquals": {"sts:ExternalId": "..."}}`; for accounts of your own organization, add
    `aws:PrincipalOrgID`, or list them in this rule's `trusted_accounts`.""",
    references=(NHI3, *CROSS_ACCOUNT_REFERENCES),
    parameters={"trusted_accounts": []},
)
def cross_account_without_external_id(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    # Accounts scanned together are one estate (an organization scan): trust between them is first-party.
    trusted = {str(a) for a in params["trusted_accounts"]} | set(ctx.identities["scope"])
    for role, found in trustees(ctx):
        for trustee in found:
            if trustee.principal_type != "AWS" or _is_wildcard(trustee):
                continue  # a wildcard is AWS-TRUST-001's finding
            account = _account_of(trustee.principal)
            if account is None or account == role.account or account in trusted:
                continue
            if not trustee.unrestricted_by(CROSS_ACCOUNT_KEYS):
                continue
            whom = "any principal of account" if trustee.principal.endswith(":root") else "a principal of account"
            yield Hit(
                subject_uid=role.uid,
                key=trustee.key,
                message=f"{role.name} can be assumed by {whom} {account} ({trustee.principal}) without an "
                "sts:ExternalId condition",
                evidence={
                    "principal": trustee.principal,
                    "account": account,
                    "conditions": [c for c in trustee.statements if c],
                },
            )


def _provider(principal: str) -> tuple[OidcProvider, str] | None:
    """The known issuer behind a Federated principal, and the provider id that prefixes its condition keys."""
    provider_id = principal.split(":oidc-provider/", 1)[-1]
    return next(((p, provider_id) for p in OIDC_PROVIDERS if p.issuer.fullmatch(provider_id)), None)


@rule(
    id="AWS-TRUST-003",
    title="Web-identity federation not restricted to a subject",
    category="trust",
    severity="high",
    provider="aws",
    rationale="""Anyone on a shared identity platform can obtain a token from its issuer: every GitHub Actions
    workflow can get one from token.actions.githubusercontent.com, every pod of an EKS cluster one from the
    cluster's OIDC provider. The audience (`aud`) is the same for all of them, so only a condition on the subject
    claim (`sub`; `aud` for Cognito identity pools) decides whose workflow or service account may assume the role. A
    subject pattern with a wildcard in its owner (`repo:*`, `system:serviceaccount:*`) restricts nothing. Severity
    follows the issuer: public platforms critical, one cluster high.""",
    remediation="""Add a `StringEquals` (or `StringLike`) condition on `<provider>:sub` naming the repository and
    branch or environment (`repo:org/repo:environment:prod`), or the namespace and service account
    (`system:serviceaccount:ns:name`). Never use `ForAllValues:` or `...IfExists` for it: both pass when the claim is
    absent.""",
    references=(NHI6, WEB_IDENTITY, *(p.reference for p in OIDC_PROVIDERS)),
)
def web_identity_without_subject(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for role, found in trustees(ctx):
        for trustee in found:
            known = _provider(trustee.principal) if trustee.principal_type == "Federated" else None
            if known is None:
                continue  # SAML, or an issuer whose claims this table does not know
            provider, provider_id = known
            claim_key = f"{provider_id}:{provider.claim}"
            # The statement that lets most callers in decides: none restricting the claim, or one matching any owner.
            open_statements = [
                values
                for values in (restricting_values(c, [claim_key]) for c in trustee.statements)
                if not values or any(provider.is_broad(v) for v in values)
            ]
            if not open_statements:
                continue
            broad = [v for v in min(open_statements, key=len) if provider.is_broad(v)]
            problem = (
                f"a {provider.claim} condition that matches any owner ({', '.join(broad)})"
                if broad
                else f"no condition restricting the token's {provider.claim}"
            )
            yield Hit(
                subject_uid=role.uid,
                key=trustee.key,
                message=f"{role.name} can be assumed by {provider.audience}: its {provider.name} trust has {problem}",
                evidence={
                    "provider": provider.name,
                    "principal": trustee.principal,
                    "required_condition_key": claim_key,
                    "conditions": [c for c in trustee.statements if c],
                },
                severity=provider.severity,
            )


@rule(
    id="AWS-TRUST-004",
    title="Service role open to the cross-service confused deputy",
    category="trust",
    severity="medium",
    provider="aws",
    rationale="""Some AWS services assume a customer's role for whichever of their resources names it, and one
    service principal serves every customer. Without `aws:SourceAccount` or `aws:SourceArn` in the trust policy, the
    service can be made to use the role for a resource of another account. Only services whose documentation puts
    these keys in the role's trust policy are checked (see `services`); execution roles that EC2, Lambda or ECS
    assume for the account's own resources are not, because attaching them requires `iam:PassRole` in this
    account.""",
    remediation="""Add `"Condition": {"StringEquals": {"aws:SourceAccount": "<account>"}, "ArnLike":
    {"aws:SourceArn": "arn:aws:<service>:<region>:<account>:<resource>"}}` to the statement that trusts the
    service.""",
    references=(
        NHI6,
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html#cross-service-confused-deputy-prevention",
    ),
    parameters={"services": sorted(CONFUSED_DEPUTY_SERVICES)},
)
def service_trust_without_source(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    services = {s.lower() for s in params["services"]}
    for role, found in trustees(ctx):
        for trustee in found:
            service = trustee.principal.lower()
            if trustee.principal_type != "Service" or service not in services:
                continue
            if not trustee.unrestricted_by(SOURCE_KEYS):
                continue
            evidence: dict[str, Any] = {
                "service": trustee.principal,
                "conditions": [c for c in trustee.statements if c],
            }
            if service in CONFUSED_DEPUTY_SERVICES:
                evidence["documentation"] = CONFUSED_DEPUTY_SERVICES[service]
            yield Hit(
                subject_uid=role.uid,
                key=trustee.key,
                message=f"{role.name} trusts {trustee.principal} without aws:SourceAccount or aws:SourceArn: the "
                "service could use it for another account's resources",
                evidence=evidence,
            )


@rule(
    id="AWS-TRUST-005",
    title="Role many principals can assume",
    category="trust",
    severity="medium",
    provider="aws",
    rationale="""A role that many principals can assume is a shared identity: its activity cannot be tied to one
    caller, and each trusted party widens who holds its permissions. A wildcard in an AWS principal (other than a
    bare `"*"`, which AWS-TRUST-001 reports) counts as unbounded; AWS rejects such principals, so it is also a sign
    the policy was edited outside IAM.""",
    remediation="""Give each caller its own role, scoped to what that caller needs, or narrow the trust to the
    principals that still use the role.""",
    references=(NHI9, TRUST_POLICIES),
    parameters={"many_principals": MANY_PRINCIPALS},
)
def many_principals(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    threshold = int(params["many_principals"])
    for role, found in trustees(ctx):
        wildcards = [
            t.principal for t in found if t.principal_type == "AWS" and "*" in t.principal and not _is_wildcard(t)
        ]
        if len(found) < threshold and not wildcards:
            continue
        yield Hit(
            subject_uid=role.uid,
            message=f"{role.name} can be assumed by {len(found)} distinct principals"
            + (f", including the wildcard {wildcards[0]}" if wildcards else ""),
            evidence={
                "principals_count": len(found),
                "principals": [t.key for t in found][:20],
                "wildcard_principals": wildcards,
            },
        )
