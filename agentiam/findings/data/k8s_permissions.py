"""Dangerous Kubernetes RBAC permissions: what each grants an attacker, and how severe it is cluster-wide.

One entry per capability. A capability is held when, for every one of its `all_of` requirements, one rule the subject
holds at that scope allows one of the requirement's verbs on its API group and resource (or subresource). Sources:
the Kubernetes RBAC good-practices page (privilege escalation risks), the "Securing Kubernetes RBAC" section of the
CIS Kubernetes Benchmark (5.1.x), and the rakkess/kubectl-who-can style of verb x resource questions.

Severity is the severity of a cluster-wide grant (a ClusterRoleBinding, or a RoleBinding in `kube-system`, whose
secrets and pods are the control plane's); a grant in one other namespace is one step lower.
"""

from __future__ import annotations

from dataclasses import dataclass

GOOD_PRACTICES = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
RBAC_DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
NHI5 = "OWASP NHI Top 10 2025: NHI5 Overprivileged NHI"
NHI2 = "OWASP NHI Top 10 2025: NHI2 Secret Leakage"

# Subjects that stand for everyone who can reach the API server: a grant to them is raised one step.
EVERYONE = {
    ("Group", "system:unauthenticated"): "anyone who reaches the API server, without credentials",
    ("User", "system:anonymous"): "anyone who reaches the API server, without credentials",
    ("Group", "system:authenticated"): "every authenticated user and service account of the cluster",
}

# A namespaced grant here is as good as a cluster-wide one: controllers' tokens and the control plane live there.
CLUSTER_EQUIVALENT_NAMESPACES = ("kube-system",)

# Resources that exist outside namespaces: a RoleBinding that grants them grants nothing (the API server asks with
# no namespace), so only cluster-wide grants count. (group, resource)
CLUSTER_SCOPED = frozenset(
    {
        ("", "nodes"),
        ("", "nodes/proxy"),
        ("", "persistentvolumes"),
        ("", "users"),
        ("", "groups"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("certificates.k8s.io", "certificatesigningrequests"),
        ("certificates.k8s.io", "certificatesigningrequests/approval"),
        ("certificates.k8s.io", "signers"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    }
)


@dataclass(frozen=True)
class Access:
    """Any of `verbs` on one (group, resource) pair; `resource` may name a subresource, "pods/exec".

    `in_namespace` overrides the resource's scope where the API server asks in a namespace about a cluster-scoped
    resource: `bind` on a ClusterRole is checked in the namespace of the RoleBinding being written.
    """

    verbs: tuple[str, ...]
    group: str
    resource: str
    in_namespace: bool | None = None

    @property
    def cluster_scoped(self) -> bool:
        if self.in_namespace is not None:
            return not self.in_namespace
        return (self.group, self.resource) in CLUSTER_SCOPED

    def describe(self) -> str:
        group = self.group or "core"
        return f"{'|'.join(self.verbs)} {self.resource} ({group})"


@dataclass(frozen=True)
class Requirement:
    """One of the accesses is enough."""

    any_of: tuple[Access, ...]


@dataclass(frozen=True)
class DangerousPermission:
    rule_id: str
    key: str
    title: str
    category: str
    severity: str  # cluster-wide
    all_of: tuple[Requirement, ...]
    rationale: str
    remediation: str
    references: tuple[str, ...] = (GOOD_PRACTICES, NHI5)


def _any(*accesses: Access) -> Requirement:
    return Requirement(accesses)


def _on(verbs: tuple[str, ...], group: str, *resources: str) -> Requirement:
    return Requirement(tuple(Access(verbs, group, resource) for resource in resources))


READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch")
POD_CONTROLLERS = (
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
)

DANGEROUS_PERMISSIONS: tuple[DangerousPermission, ...] = (
    DangerousPermission(
        rule_id="K8S-RBAC-002",
        key="escalate-or-bind",
        title="Can escalate or bind roles",
        category="privilege-escalation",
        severity="critical",
        all_of=(
            _any(
                Access(("escalate",), "rbac.authorization.k8s.io", "roles"),
                Access(("escalate",), "rbac.authorization.k8s.io", "clusterroles"),
                Access(("bind",), "rbac.authorization.k8s.io", "roles"),
                Access(("bind",), "rbac.authorization.k8s.io", "clusterroles", in_namespace=True),
            ),
        ),
        rationale="""`escalate` lets a subject write a role with permissions it does not hold, and `bind` lets it
        bind a role it does not hold: both switch off RBAC's escalation check, so the subject can grant itself
        anything the scope allows, up to cluster-admin.""",
        remediation="""Remove `escalate` and `bind` from the role; RBAC administration belongs to cluster
        administrators, not to workloads.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-003",
        key="impersonate",
        title="Can impersonate users, groups or service accounts",
        category="privilege-escalation",
        severity="critical",
        all_of=(
            _any(
                Access(("impersonate",), "", "users"),
                Access(("impersonate",), "", "groups"),
                Access(("impersonate",), "", "serviceaccounts"),
            ),
        ),
        rationale="""A subject that can impersonate acts as another user, group (`system:masters`) or service
        account, with all of its permissions: impersonating a group or user cluster-wide is cluster-admin.
        Impersonating extras or uids alone is not counted: a request must impersonate a user to use them.""",
        remediation="""Remove `impersonate`; if a tool needs it, restrict it with `resourceNames` to the one
        identity it must act as.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-004",
        key="read-secrets",
        title="Can read secrets",
        category="credential-exposure",
        severity="critical",
        all_of=(_on(READ, "", "secrets"),),
        rationale="""Secrets hold service-account tokens, registry and cloud credentials and TLS keys. `list` and
        `watch` return the secrets' contents too, not just their names. Read cluster-wide (or in `kube-system`),
        they include the tokens of the control plane's own controllers.""",
        remediation="""Drop the secrets permission, or restrict `get` to the named secrets the workload needs with
        `resourceNames`; mount a secret into the pod rather than reading it through the API.""",
        references=(GOOD_PRACTICES, NHI2, NHI5, "CIS Kubernetes Benchmark 5.1.2"),
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-005",
        key="create-workloads",
        title="Can create pods or pod controllers",
        category="privilege-escalation",
        severity="high",
        all_of=(
            _any(
                Access(("create",), "", "pods"),
                *(Access(("create",), group, resource) for group, resource in POD_CONTROLLERS),
            ),
        ),
        rationale="""Whoever creates a pod, directly or through a Deployment, DaemonSet, StatefulSet, ReplicaSet,
        Job, CronJob or ReplicationController, chooses its service account, mounts and image: it runs as any
        service account of the namespace and reads any secret there, and, where admission allows, becomes
        privileged on a node.""",
        remediation="""Let a deployment pipeline create workloads, not the workload itself; enforce Pod Security
        Admission `restricted` on the namespace so that created pods cannot reach the node.""",
        references=(GOOD_PRACTICES, NHI5, "CIS Kubernetes Benchmark 5.1.4"),
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-006",
        key="exec-into-pods",
        title="Can exec into or attach to pods",
        category="privilege-escalation",
        severity="high",
        all_of=(_on(("create", "get"), "", "pods/exec", "pods/attach"),),
        rationale="""`pods/exec` and `pods/attach` run commands in other pods, with their service-account tokens,
        mounted secrets and network position. `create` is the verb for an exec, and `get` also opens one over a
        websocket, so both count.""",
        remediation="""Remove `pods/exec` and `pods/attach`; debugging access belongs to people, through a
        just-in-time grant.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-007",
        key="node-proxy",
        title="Can reach the kubelet API through nodes/proxy",
        category="privilege-escalation",
        severity="critical",
        all_of=(_on(("get", "create"), "", "nodes/proxy"),),
        rationale="""`nodes/proxy` reaches every kubelet's API through the API server, which can run commands in
        any pod on the node, and bypasses the audit log and admission control of an exec.""",
        remediation="""Remove `nodes/proxy`; monitoring agents need `nodes/metrics` or `nodes/stats` only.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-008",
        key="create-token",
        title="Can create service-account tokens",
        category="credential-exposure",
        severity="high",
        all_of=(_on(("create",), "", "serviceaccounts/token"),),
        rationale="""Creating `serviceaccounts/token` mints a token for any service account in the scope, and with
        it that account's permissions, without running a pod.""",
        remediation="""Remove the permission, or restrict it with `resourceNames` to the one service account
        whose token is needed.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-009",
        key="approve-csr",
        title="Can approve certificate signing requests",
        category="privilege-escalation",
        severity="critical",
        all_of=(
            _on(("update", "patch"), "certificates.k8s.io", "certificatesigningrequests/approval"),
            _on(("approve",), "certificates.k8s.io", "signers"),
        ),
        rationale="""Approving a CSR for the `kubernetes.io/kube-apiserver-client` signer issues a client
        certificate for any user or group, `system:masters` included: a cluster-admin credential that cannot be
        revoked before it expires.""",
        remediation="""Leave CSR approval to the control plane's approver; if a controller must approve, restrict
        `approve` to its own signer name with `resourceNames`.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-010",
        key="write-webhooks",
        title="Can write admission webhook configurations",
        category="privilege-escalation",
        severity="critical",
        all_of=(
            _on(
                WRITE,
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
                "mutatingwebhookconfigurations",
            ),
        ),
        rationale="""An admission webhook sees, and a mutating one rewrites, every object sent to the API server:
        secrets in clear, and any pod, which it can make privileged. Writing one is control of the cluster.""",
        remediation="""Only the operator that owns a webhook should write it; remove the permission elsewhere.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-011",
        key="create-persistent-volumes",
        title="Can create persistent volumes",
        category="privilege-escalation",
        severity="high",
        all_of=(_on(("create",), "", "persistentvolumes"),),
        rationale="""A PersistentVolume can be a `hostPath` volume: whoever creates one and a claim on it mounts a
        node's filesystem into a pod, past Pod Security Admission's hostPath check.""",
        remediation="""Let a storage class provision volumes dynamically; creating PersistentVolumes belongs to
        cluster administrators.""",
    ),
    DangerousPermission(
        rule_id="K8S-RBAC-012",
        key="write-rbac",
        title="Can write RBAC roles or bindings",
        category="privilege-escalation",
        severity="high",
        all_of=(
            _on(
                WRITE,
                "rbac.authorization.k8s.io",
                "roles",
                "rolebindings",
                "clusterroles",
                "clusterrolebindings",
            ),
        ),
        rationale="""A subject that writes roles or bindings can hand out every permission it holds to any other
        subject, and, with `escalate` or `bind` or against a too-broad existing role, more than it holds.""",
        remediation="""Manage RBAC from a deployment pipeline; remove write access to roles and bindings from
        workloads.""",
        references=(GOOD_PRACTICES, NHI5, "CIS Kubernetes Benchmark 5.1.8"),
    ),
)

BY_KEY = {permission.key: permission for permission in DANGEROUS_PERMISSIONS}
