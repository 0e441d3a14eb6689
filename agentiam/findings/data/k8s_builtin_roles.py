"""The default user-facing ClusterRoles every cluster has, for manifests that bind them without defining them.

A `kubectl get clusterroles -o json` export carries the cluster's own (possibly edited) definitions, which win. A set
of manifests usually binds `cluster-admin`, `admin`, `edit` or `view` without defining them: without these, such a
binding would look like a binding to a missing role. The rules below are the security-relevant part of the
Kubernetes bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, v1.30): every rule that
touches secrets, pods and their subresources, workload controllers, service accounts and RBAC, read-only rules on
everything else left out.
"""

from __future__ import annotations

from typing import Any

_ALL_VERBS_ON = ["create", "delete", "deletecollection", "patch", "update"]
_READ = ["get", "list", "watch"]

_VIEW = [
    {
        "apiGroups": [""],
        "resources": [
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "pods",
            "replicationcontrollers",
            "serviceaccounts",
            "services",
            "bindings",
            "events",
            "limitranges",
            "namespaces",
            "resourcequotas",
        ],
        "verbs": _READ,
    },
    {
        "apiGroups": ["apps"],
        "resources": ["daemonsets", "deployments", "replicasets", "statefulsets"],
        "verbs": _READ,
    },
    {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": _READ},
]
_EDIT = [
    *_VIEW,
    {
        "apiGroups": [""],
        "resources": ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
        "verbs": _READ,
    },
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    {
        "apiGroups": [""],
        "resources": ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
        "verbs": _ALL_VERBS_ON,
    },
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    {
        "apiGroups": [""],
        "resources": [
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
        "verbs": _ALL_VERBS_ON,
    },
    {
        "apiGroups": ["apps"],
        "resources": ["daemonsets", "deployments", "deployments/scale", "replicasets", "statefulsets"],
        "verbs": _ALL_VERBS_ON,
    },
    {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": _ALL_VERBS_ON},
]
_ADMIN = [
    *_EDIT,
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["rolebindings", "roles"],
        "verbs": [*_ALL_VERBS_ON, *_READ],
    },
    {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
]

BUILTIN_CLUSTER_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ],
    "admin": _ADMIN,
    "edit": _EDIT,
    "view": _VIEW,
}
