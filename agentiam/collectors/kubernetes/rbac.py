"""A cluster's RBAC as records: roles (aggregation resolved), one grant per binding x subject, subjects as identities.

Pure: raw objects in, records and `RoleGrant`s out (the transform uses the latter to say who can read a secret).
Built-in ClusterRoles a set of manifests binds without defining (cluster-admin, admin, edit, view) take their default
definitions; a role found nowhere is recorded as missing, with no rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentiam.collectors.kubernetes.selectors import label_selector_matcher
from agentiam.collectors.kubernetes.snapshot import RawObject
from agentiam.collectors.kubernetes.uids import identity_uid, service_account_uid
from agentiam.findings.data.k8s_builtin_roles import BUILTIN_CLUSTER_ROLES
from agentiam.findings.policy.kubernetes import CLUSTER, RbacRule, RbacRuleError, RoleGrant, Subject
from agentiam.inventory.records import AnyRecord, GrantRecord, IdentityRecord, IssueRecord, PolicyRecord

Report = Callable[[RawObject, str], None]  # an object and what is wrong with it
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
SERVICE_ACCOUNT_USER = "system:serviceaccount:"


@dataclass
class Role:
    ref: str  # clusterrole/<name> or role/<ns>/<name>
    kind: str  # k8s_cluster_role or k8s_role
    name: str
    rules: list[dict[str, Any]]
    parsed: tuple[RbacRule, ...]
    source: str  # "cluster", "builtin default", "missing"
    aggregated_from: list[str] = field(default_factory=list)

    @property
    def policy(self) -> PolicyRecord:
        document: dict[str, Any] = {"rules": self.rules}
        if self.aggregated_from:
            document["aggregated_from"] = self.aggregated_from
        return PolicyRecord(provider="kubernetes", policy_kind=self.kind, document=document)


def _meta(obj: RawObject) -> dict[str, Any]:
    return obj.get("metadata") or {}


def namespace_of(obj: RawObject) -> str:
    """A namespaced object's namespace; a manifest without one is applied to `default`."""
    return str(_meta(obj).get("namespace") or "default")


def _valid_rules(obj: RawObject, report: Report) -> list[dict[str, Any]]:
    rules = obj.get("rules")
    if rules is None:
        return []
    if not isinstance(rules, list):
        report(obj, "rules is not a list; the role grants nothing here")
        return []
    kept = []
    for position, rule in enumerate(rules):
        try:
            RbacRule.parse(rule)
        except RbacRuleError as exc:
            report(obj, f"rules[{position}] skipped: {exc}")
            continue
        kept.append(rule)
    return kept


def _role(ref: str, kind: str, name: str, rules: list[dict[str, Any]], source: str, **extra: Any) -> Role:
    return Role(ref, kind, name, rules, tuple(RbacRule.parse(r) for r in rules), source, **extra)


def resolve_cluster_roles(objects: list[RawObject], report: Report) -> dict[str, Role]:
    """ClusterRoles by name; an `aggregationRule` adds the rules of every ClusterRole its selectors match."""
    own = {str(_meta(o)["name"]): (o, _valid_rules(o, report)) for o in objects}
    roles: dict[str, Role] = {}
    for name, (obj, rules) in own.items():
        aggregation = obj.get("aggregationRule")
        sources: list[str] = []
        if isinstance(aggregation, dict):
            matchers = [label_selector_matcher(s) for s in aggregation.get("clusterRoleSelectors") or []]
            for other, (other_obj, other_rules) in sorted(own.items()):
                labels = _meta(other_obj).get("labels") or {}
                if other != name and any(match(labels) for match in matchers):
                    sources.append(other)
                    rules = rules + [r for r in other_rules if r not in rules]
        roles[name] = _role(f"clusterrole/{name}", "k8s_cluster_role", name, rules, "cluster", aggregated_from=sources)
    return roles


@dataclass
class RbacRecords:
    records: list[AnyRecord] = field(default_factory=list)
    grants: list[RoleGrant] = field(default_factory=list)


def _find_role(
    binding: RawObject, namespace: str | None, cluster_roles: dict[str, Role], roles: dict[tuple[str, str], Role]
) -> Role:
    ref = binding.get("roleRef") or {}
    kind, name = ref.get("kind"), ref.get("name")
    if not isinstance(name, str) or not name or kind not in ("ClusterRole", "Role"):
        raise ValueError("roleRef must name a Role or ClusterRole")
    if kind == "Role":
        if namespace is None:
            raise ValueError("a ClusterRoleBinding cannot refer to a Role")
        found = roles.get((namespace, name))
        return found or _role(f"role/{namespace}/{name}", "k8s_role", name, [], "missing")
    if name in cluster_roles:
        return cluster_roles[name]
    if name in BUILTIN_CLUSTER_ROLES:
        return _role(f"clusterrole/{name}", "k8s_cluster_role", name, BUILTIN_CLUSTER_ROLES[name], "builtin default")
    return _role(f"clusterrole/{name}", "k8s_cluster_role", name, [], "missing")


def _subject(raw: Any, namespace: str | None) -> Subject:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ValueError("a subject has no name")
    kind = raw.get("kind")
    if kind == "ServiceAccount":
        subject_namespace = raw.get("namespace") or namespace  # a RoleBinding's own namespace is the default
        if not subject_namespace:
            raise ValueError(f"service account subject {raw['name']} has no namespace")
        return Subject(kind, raw["name"], str(subject_namespace))
    if kind in ("User", "Group"):
        return Subject(kind, raw["name"])
    raise ValueError(f"subject {raw['name']} has an unknown kind {kind!r}")


def subject_uid(cluster: str, subject: Subject) -> str:
    """The identity a subject names. A service account authenticates as the user
    `system:serviceaccount:<ns>:<name>`, so a User subject of that name is the service account."""
    if subject.kind == "ServiceAccount":
        return service_account_uid(cluster, subject.namespace, subject.name)
    namespace, _, name = subject.name.removeprefix(SERVICE_ACCOUNT_USER).partition(":")
    if subject.kind == "User" and subject.name.startswith(SERVICE_ACCOUNT_USER) and namespace and name:
        return service_account_uid(cluster, namespace, name)
    return identity_uid(cluster, subject.kind.lower(), subject.name)


def transform_rbac(
    cluster: str,
    objects: dict[str, list[RawObject]],
    service_accounts: set[tuple[str, str]],
    listing_complete: bool,
    report: Report,
) -> RbacRecords:
    """Grants (and their policies) per binding x subject, and user and group subjects as identities.

    `service_accounts`: the (namespace, name) pairs the snapshot holds; `listing_complete`: whether the snapshot
    lists every role and service account (an export of the cluster), so that an absent one is really missing.
    """
    cluster_roles = resolve_cluster_roles(objects.get("ClusterRole", []), report)
    roles = {}
    for obj in objects.get("Role", []):
        namespace, name = namespace_of(obj), str(_meta(obj)["name"])
        roles[(namespace, name)] = _role(
            f"role/{namespace}/{name}", "k8s_role", name, _valid_rules(obj, report), "cluster"
        )
    out = RbacRecords()
    policies: dict[str, PolicyRecord] = {}
    subjects: dict[str, IdentityRecord] = {}
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for binding in objects.get(kind, []):
            namespace = namespace_of(binding) if kind == "RoleBinding" else None
            name = str(_meta(binding)["name"])
            via = f"rolebinding/{namespace}/{name}" if namespace else f"clusterrolebinding/{name}"
            scope = f"namespace:{namespace}" if namespace else CLUSTER
            try:
                role = _find_role(binding, namespace, cluster_roles, roles)
            except ValueError as exc:
                report(binding, f"skipped: {exc}")
                continue
            policy = policies.setdefault(role.policy.hash, role.policy)
            # Kubernetes' own bootstrap bindings (controllers, nodes, system:masters) are the platform's, like AWS's
            # service-linked roles: inventoried, not audited.
            platform_default = (_meta(binding).get("labels") or {}).get(BOOTSTRAP_LABEL) == "rbac-defaults"
            for position, raw in enumerate(binding.get("subjects") or []):
                try:
                    subject = _subject(raw, namespace)
                except ValueError as exc:
                    report(binding, f"subjects[{position}] skipped: {exc}")
                    continue
                uid = subject_uid(cluster, subject)
                if uid == identity_uid(cluster, subject.kind.lower(), subject.name) and uid not in subjects:
                    subjects[uid] = IdentityRecord(
                        uid=uid,
                        provider="kubernetes",
                        identity_kind=f"k8s_{subject.kind.lower()}",
                        name=subject.name,
                        native_id=subject.name,
                        scope=cluster,
                        attributes={"cluster": cluster, "subject_kind": subject.kind},
                    )
                subject_missing = (
                    listing_complete
                    and subject.kind == "ServiceAccount"
                    and (subject.namespace, subject.name) not in service_accounts
                )
                out.records.append(
                    GrantRecord(
                        identity_uid=uid,
                        policy_hash=policy.hash,
                        policy_name=role.name,
                        policy_ref=role.ref,
                        policy_source=kind.lower(),
                        grant_kind="role_binding",
                        via=via,
                        scope=scope,
                        attributes={
                            "cluster": cluster,
                            "subject_kind": subject.kind,
                            "subject_name": subject.name,
                            "subject_namespace": subject.namespace or None,
                            "role_missing": role.source == "missing",
                            "role_source": role.source,
                            "subject_missing": subject_missing,
                            "listing_complete": listing_complete,
                            "platform_default": platform_default,
                        },
                    )
                )
                out.grants.append(RoleGrant(uid, subject, via, role.ref, scope, role.parsed, role.source == "missing"))
    out.records[:0] = [*policies.values(), *subjects.values()]
    return out


def issue(source: str, obj: RawObject, problem: str) -> IssueRecord:
    return IssueRecord(subject_uid=None, source=f"{source}: {describe(obj)}", problem=problem)


def describe(obj: RawObject) -> str:
    meta = _meta(obj) if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name") or "(no name)"
    namespace = meta.get("namespace")
    return f"{obj.get('kind') or '(no kind)'} {namespace}/{name}" if namespace else f"{obj.get('kind')} {name}"
