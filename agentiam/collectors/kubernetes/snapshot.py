"""What one cluster looked like: the contract between reading (live API or export files) and transforming.

Reading is I/O only (`get_*`); it fills a snapshot with raw objects exactly as the API serves them as JSON (camelCase
keys), never typed client models. Transforming (`transform_*`) is pure: a snapshot in, normalised records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentiam.inventory.records import IssueRecord

RawObject = dict[str, Any]


@dataclass
class KubernetesSnapshot:
    # The cluster's name as the kubeconfig knows it. For EKS that is the cluster ARN, which is what EKS Pod Identity
    # bindings from the AWS side point at (kubernetes:<cluster>:serviceaccount:<ns>/<name>).
    cluster: str
    source: str  # "context <name>", "in-cluster", or the export file's path
    # The service-account token issuer (/.well-known/openid-configuration), when known: Azure federated credentials
    # and AWS OIDC providers name a cluster by it.
    oidc_issuer: str | None = None
    # Raw objects by kind: "Pod", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
    # owners ("ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"), and agent custom resources
    # keyed "<group>/<Kind>" (for example "kagent.dev/Agent"). Every object carries "kind" and "apiVersion", which
    # list responses omit on their items.
    objects: dict[str, list[RawObject]] = field(default_factory=dict)
    # Live pods are selected server-side by the agent label selectors, so objects["Pod"] holds agent pods (and pods
    # owned by agent custom resources) only; an export holds every pod and the transform classifies them.
    pods_preselected: bool = False
    # What could not be read (a 403 on a list, say), by kind, with the reason. A kind that was not evaluated is never
    # a pass: its absence must not read as "nothing risky there".
    not_evaluated: dict[str, str] = field(default_factory=dict)
    # A continue token expired (410) and a listing restarted, so objects may come from different resource versions.
    inconsistent: bool = False
    issues: list[IssueRecord] = field(default_factory=list)

    def add(self, obj: RawObject) -> None:
        self.objects.setdefault(object_key(obj), []).append(obj)


def object_key(obj: RawObject) -> str:
    """Core and built-in kinds by bare kind; custom resources by "<group>/<Kind>"."""
    kind = str(obj.get("kind", ""))
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    builtin = {"", "apps", "batch", "rbac.authorization.k8s.io"}
    return kind if group in builtin else f"{group}/{kind}"
