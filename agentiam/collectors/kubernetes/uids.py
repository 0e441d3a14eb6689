"""The uids of Kubernetes identities and workloads, shared by every part that names them (see aws/eks.py too)."""

from __future__ import annotations

import re

# The cluster may hold colons (an EKS ARN) and so may user and group names ("system:serviceaccounts:ns"); the kind
# between them is one of a few words, which is what anchors the split.
_KINDS = "serviceaccount|user|group|pod|deployment|statefulset|daemonset|replicaset|replicationcontroller|job|cronjob"
_CUSTOM_KIND = r"[a-z0-9-]+(?:\.[a-z0-9-]+)+/[A-Za-z]+"  # an agent custom resource: "<group>/<Kind>"
_UID = re.compile(rf"kubernetes:(?P<cluster>.+?):(?P<kind>{_KINDS}|{_CUSTOM_KIND}):(?P<name>.+)")


def identity_uid(cluster: str, kind: str, name: str) -> str:
    """kind: serviceaccount (name "<ns>/<name>"), user or group."""
    return f"kubernetes:{cluster}:{kind}:{name}"


def service_account_uid(cluster: str, namespace: str, name: str) -> str:
    return identity_uid(cluster, "serviceaccount", f"{namespace}/{name}")


def workload_uid(cluster: str, kind: str, namespace: str, name: str) -> str:
    """kind: "pod", a controller's kind in lower case, or an agent custom resource's "<group>/<Kind>"."""
    return f"kubernetes:{cluster}:{kind}:{namespace}/{name}"


def oidc_alias(issuer: str, namespace: str, name: str) -> str:
    return f"kubernetes:oidc:{issuer}:serviceaccount:{namespace}/{name}"


def parse_uid(uid: str) -> tuple[str, str, str] | None:
    """(cluster, kind, name) of a Kubernetes uid, for subjects a binding names but the inventory lacks."""
    match = _UID.fullmatch(uid)
    return (match["cluster"], match["kind"], match["name"]) if match else None
