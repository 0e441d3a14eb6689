"""Manifests for the fake API server, as `kubectl apply` would take them."""

from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]


def owner(kind: str, api_version: str, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True}


def meta(name: str, namespace: str | None = "default", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **extra}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def pod(
    name: str,
    namespace: str = "default",
    *,
    labels: dict[str, str] | None = None,
    service_account: str = "default",
    owned_by: dict[str, Any] | None = None,
) -> Manifest:
    extra: dict[str, Any] = {"labels": labels or {}, "uid": f"pod-{namespace}-{name}"}
    if owned_by:
        extra["ownerReferences"] = [owned_by]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, namespace, **extra),
        "spec": {"serviceAccountName": service_account, "containers": [{"name": "main", "image": "agent:1.0"}]},
        "status": {"phase": "Running"},
    }


def service_account(name: str, namespace: str = "default", annotations: dict[str, str] | None = None) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(name, namespace, annotations=annotations or {}),
    }


def controller(
    kind: str, api_version: str, name: str, namespace: str = "default", owned_by: dict[str, Any] | None = None
) -> Manifest:
    extra: dict[str, Any] = {"uid": f"{kind.lower()}-{namespace}-{name}"}
    if owned_by:
        extra["ownerReferences"] = [owned_by]
    return {"apiVersion": api_version, "kind": kind, "metadata": meta(name, namespace, **extra), "spec": {}}


def cluster_role(name: str, rules: list[dict[str, Any]]) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(name, None),
        "rules": rules,
    }


def cluster_role_binding(name: str, role: str, account: str, namespace: str = "default") -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(name, None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }


def role(name: str, namespace: str, rules: list[dict[str, Any]]) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(name, namespace),
        "rules": rules,
    }


def role_binding(name: str, namespace: str, role_name: str, account: str) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(name, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }


def crd(group: str, kind: str, plural: str, version: str = "v1alpha1") -> Manifest:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": meta(f"{plural}.{group}", None),
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural},
            "scope": "Namespaced",
            "versions": [{"name": version, "served": True, "storage": True}],
        },
    }


SECRETS_READER = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
PODS_READER = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]


def small_cluster(agent_account_annotations: dict[str, str] | None = None) -> list[Manifest]:
    """One agent pod (labelled), two other pods, their service accounts and some RBAC."""
    return [
        service_account("agent-sa", "agents", agent_account_annotations),
        service_account("web", "shop"),
        pod("agent-0", "agents", labels={"app": "ai-agent"}, service_account="agent-sa"),
        pod("web-0", "shop", labels={"app": "web"}, service_account="web"),
        pod("web-1", "shop", labels={"app": "web"}, service_account="web"),
        cluster_role("secret-reader", SECRETS_READER),
        cluster_role_binding("agent-reads-secrets", "secret-reader", "agent-sa", "agents"),
        role("pod-reader", "shop", PODS_READER),
        role_binding("web-reads-pods", "shop", "pod-reader", "web"),
    ]
