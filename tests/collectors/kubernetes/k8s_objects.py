"""Kubernetes objects as `kubectl get ... -A -o json` prints them: uids, owner references, timestamps, status."""

from __future__ import annotations

import uuid
from typing import Any

CREATED = "2026-10-01T09:30:00Z"


def _metadata(name: str, namespace: str | None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}/{extra.get('kind', '')}")),
        "resourceVersion": "48151",
        "creationTimestamp": CREATED,
    }
    if namespace:
        meta["namespace"] = namespace
    meta.update({k: v for k, v in extra.items() if k != "kind"})
    return meta


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod(
    name: str,
    namespace: str = "agents",
    *,
    labels: dict[str, str] | None = None,
    service_account: str | None = None,
    owner: dict[str, Any] | None = None,
    containers: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    meta = _metadata(name, namespace, kind="Pod", labels=labels or {})
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    body: dict[str, Any] = {
        "containers": containers or [{"name": "main", "image": "ghcr.io/example/agent:2.1", "resources": {}}],
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "nodeName": "ip-10-0-1-23.ec2.internal",
        **spec,
    }
    if service_account:
        body["serviceAccountName"] = service_account
        body["serviceAccount"] = service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": body,
        "status": {"phase": "Running", "podIP": "10.0.1.57"},
    }


def service_account(name: str, namespace: str = "agents", *, annotations: dict[str, str] | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(name, namespace, kind="ServiceAccount", annotations=annotations or {}),
        **extra,
    }


def controller(
    kind: str, name: str, namespace: str = "agents", *, owner: dict[str, Any] | None = None
) -> dict[str, Any]:
    api = {"Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    meta = _metadata(name, namespace, kind=kind)
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": {}}


def custom_resource(api_version: str, kind: str, name: str, namespace: str = "agents", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": _metadata(name, namespace, kind=kind), "spec": spec}


def cluster_role(name: str, rules: list[dict[str, Any]], *, labels: dict[str, str] | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _metadata(name, None, kind="ClusterRole", labels=labels or {}),
        "rules": rules,
        **extra,
    }


def binding(
    kind: str, name: str, role_kind: str, role: str, subjects: list[dict[str, Any]], namespace: str | None = None
):  # type: ignore[no-untyped-def]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _metadata(name, namespace, kind=kind),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": subjects,
    }


def kubectl_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items), "metadata": {"resourceVersion": ""}}
