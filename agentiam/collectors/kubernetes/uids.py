"""The uids of Kubernetes identities and workloads, shared by every part that names them (see aws/eks.py too)."""

from __future__ import annotations


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
