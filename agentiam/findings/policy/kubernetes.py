"""Kubernetes RBAC semantics: which subject may do what, where.

A rule allows a request when its verbs, API groups and resources all match (each may be `*`), and its
`resourceNames`, when set, name the object. Resources match exactly, `*` matches every resource and subresource,
`*/scale` matches that subresource of every resource, and `pods` does not match `pods/exec` (as in the API server's
RBAC authorizer, pkg/apis/rbac/v1/evaluation_helpers.go).

A grant is a binding x subject: a ClusterRoleBinding grants its role's rules cluster-wide, a RoleBinding grants them
in its namespace only, whether it binds a Role or a ClusterRole. Cluster-scoped resources (nodes, persistent volumes,
CSRs, webhooks, cluster roles) are never granted by a RoleBinding. A service account also holds what is bound to the
groups every service account is in: `system:serviceaccounts`, `system:serviceaccounts:<ns>` and
`system:authenticated`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agentiam.findings.data.k8s_permissions import (
    CLUSTER_EQUIVALENT_NAMESPACES,
    Access,
    DangerousPermission,
)

CLUSTER = "cluster"
SECRET_READS = ("get", "list", "watch")  # list and watch return the secrets' contents too
SERVICE_ACCOUNT_GROUPS = ("system:serviceaccounts", "system:authenticated")


class RbacRuleError(ValueError):
    """A PolicyRule the API server would refuse."""


def _strings(rule: dict[str, Any], key: str) -> frozenset[str]:
    value = rule.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RbacRuleError(f"{key} is not a list of strings")
    return frozenset(value)


@dataclass(frozen=True)
class RbacRule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str]
    non_resource_urls: frozenset[str]

    @classmethod
    def parse(cls, rule: Any) -> RbacRule:
        if not isinstance(rule, dict):
            raise RbacRuleError("a rule is not an object")
        parsed = cls(
            *(_strings(rule, k) for k in ("verbs", "apiGroups", "resources", "resourceNames")),
            _strings(rule, "nonResourceURLs"),
        )
        if not parsed.verbs:
            raise RbacRuleError("a rule has no verbs")
        return parsed

    def allows(self, verb: str, group: str, resource: str) -> bool:
        return (
            ("*" in self.verbs or verb in self.verbs)
            and ("*" in self.api_groups or group in self.api_groups)
            and self._resource_matches(resource)
        )

    def _resource_matches(self, requested: str) -> bool:
        if "*" in self.resources or requested in self.resources:
            return True
        _, _, subresource = requested.partition("/")
        return bool(subresource) and f"*/{subresource}" in self.resources

    @property
    def is_everything(self) -> bool:
        return "*" in self.verbs and "*" in self.api_groups and "*" in self.resources and not self.resource_names

    def describe(self) -> dict[str, list[str]]:
        described = {
            "verbs": sorted(self.verbs),
            "apiGroups": sorted(self.api_groups),
            "resources": sorted(self.resources),
            "resourceNames": sorted(self.resource_names),
            "nonResourceURLs": sorted(self.non_resource_urls),
        }
        return {k: v for k, v in described.items() if v}


def parse_rules(rules: Any) -> list[RbacRule]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise RbacRuleError("rules is not a list")
    return [RbacRule.parse(rule) for rule in rules]


@dataclass(frozen=True)
class Subject:
    kind: str  # ServiceAccount, User, Group
    name: str
    namespace: str = ""  # service accounts only

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class RoleGrant:
    """One binding x subject: the subject holds the role's rules at the scope."""

    subject_uid: str
    subject: Subject
    binding: str  # clusterrolebinding/<name> or rolebinding/<ns>/<name>
    role: str  # clusterrole/<name> or role/<ns>/<name>
    scope: str  # "cluster" or "namespace:<ns>"
    rules: tuple[RbacRule, ...]
    role_missing: bool = False
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def namespace(self) -> str | None:
        return None if self.scope == CLUSTER else self.scope.partition(":")[2]

    def applies_in(self, namespace: str | None) -> bool:
        """Whether the grant reaches a request in `namespace` (None: a cluster-scoped request)."""
        return self.scope == CLUSTER or (namespace is not None and self.namespace == namespace)


@dataclass(frozen=True)
class Contribution:
    grant: RoleGrant
    rule: RbacRule
    access: Access

    def evidence(self) -> dict[str, Any]:
        return {
            "binding": self.grant.binding,
            "role": self.grant.role,
            "via_subject": self.grant.subject.describe(),
            "access": self.access.describe(),
            "rule": self.rule.describe(),
        }


@dataclass(frozen=True)
class CapabilityMatch:
    """A dangerous permission held at one scope, and every (grant, rule) that gives it."""

    permission: DangerousPermission
    scope: str
    contributions: tuple[Contribution, ...]

    @property
    def name_restricted(self) -> bool:
        """Every way to the capability names the objects it may touch (`resourceNames`)."""
        return all(c.rule.resource_names for c in self.contributions)

    @property
    def bindings(self) -> list[str]:
        return sorted({c.grant.binding for c in self.contributions})

    @property
    def roles(self) -> list[str]:
        return sorted({c.grant.role for c in self.contributions})


def _contributions(access: Access, grants: Iterable[RoleGrant], namespace: str | None) -> Iterator[Contribution]:
    for grant in grants:
        if access.cluster_scoped and grant.scope != CLUSTER:
            continue
        if not grant.applies_in(namespace):
            continue
        for rule in grant.rules:
            if any(rule.allows(verb, access.group, access.resource) for verb in access.verbs):
                yield Contribution(grant, rule, access)


def capability(permission: DangerousPermission, grants: list[RoleGrant], scope: str) -> CapabilityMatch | None:
    """Whether `grants` give the permission at `scope` ("cluster", or "namespace:<ns>" from that namespace's grants)."""
    namespace = None if scope == CLUSTER else scope.partition(":")[2]
    found: list[Contribution] = []
    for requirement in permission.all_of:
        matched = [c for access in requirement.any_of for c in _contributions(access, grants, namespace)]
        if not matched:
            return None
        found.extend(matched)
    return CapabilityMatch(permission, scope, tuple(found))


def everything_grants(grants: Iterable[RoleGrant]) -> list[tuple[RoleGrant, RbacRule]]:
    return [(grant, rule) for grant in grants for rule in grant.rules if rule.is_everything]


def scopes_of(grants: Iterable[RoleGrant]) -> list[str]:
    """The cluster first, then each namespace the grants reach."""
    return sorted({g.scope for g in grants}, key=lambda s: (s != CLUSTER, s))


def is_cluster_wide(scope: str) -> bool:
    return scope == CLUSTER or scope.partition(":")[2] in CLUSTER_EQUIVALENT_NAMESPACES


def can_read_secret(grant: RoleGrant, namespace: str, name: str) -> bool:
    """Whether the grant lets its subject read one secret's content (get, list or watch)."""
    if not grant.applies_in(namespace):
        return False
    return any(
        rule.allows(verb, "", "secrets") and (not rule.resource_names or name in rule.resource_names)
        for rule in grant.rules
        for verb in SECRET_READS
    )


def groups_of_service_account(namespace: str) -> tuple[str, ...]:
    return (*SERVICE_ACCOUNT_GROUPS, f"system:serviceaccounts:{namespace}")


@dataclass
class RbacView:
    """Every Kubernetes grant of one scan, by subject uid, with each service account's effective grants."""

    grants: list[RoleGrant] = field(default_factory=list)
    by_subject: dict[str, list[RoleGrant]] = field(default_factory=lambda: defaultdict(list))
    group_uids: dict[tuple[str, str], str] = field(default_factory=dict)  # (cluster, group) -> uid

    def add(self, grant: RoleGrant, cluster: str) -> None:
        self.grants.append(grant)
        self.by_subject[grant.subject_uid].append(grant)
        if grant.subject.kind == "Group":
            self.group_uids[(cluster, grant.subject.name)] = grant.subject_uid

    def audited(self) -> Iterator[tuple[str, list[RoleGrant]]]:
        """Each subject's grants, without the platform's own bootstrap bindings (which Kubernetes keeps as they are)."""
        for uid, grants in self.by_subject.items():
            kept = [g for g in grants if not g.attributes.get("platform_default")]
            if kept:
                yield uid, kept

    def effective(self, service_account_uid: str, cluster: str, namespace: str) -> list[RoleGrant]:
        """A service account's own grants and those of the groups it is in."""
        grants = list(self.by_subject.get(service_account_uid, []))
        for group in groups_of_service_account(namespace):
            uid = self.group_uids.get((cluster, group))
            if uid is not None:
                grants.extend(self.by_subject.get(uid, []))
        return grants


def rbac_view(grants: Any, documents: dict[str, Any]) -> RbacView:
    """The Kubernetes grants of an inventory's grants table (rows of grant_kind `role_binding`)."""
    view = RbacView()
    parsed: dict[str, tuple[RbacRule, ...]] = {}
    if grants.empty:
        return view
    for row in grants[grants["grant_kind"] == "role_binding"].itertuples():
        attributes = row.attributes or {}
        if row.policy_hash not in parsed:
            parsed[row.policy_hash] = tuple(parse_rules((documents.get(row.policy_hash) or {}).get("rules")))
        subject = Subject(
            str(attributes.get("subject_kind")),
            str(attributes.get("subject_name")),
            str(attributes.get("subject_namespace") or ""),
        )
        grant = RoleGrant(
            row.identity_uid,
            subject,
            str(row.via),
            str(row.policy_ref),
            str(row.scope),
            parsed[row.policy_hash],
            bool(attributes.get("role_missing")),
            dict(attributes),
        )
        view.add(grant, str(attributes.get("cluster")))
    return view
