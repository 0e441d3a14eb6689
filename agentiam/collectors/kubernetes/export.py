"""Offline Kubernetes input: `kubectl get ... -A -o json` (a List) and plain (multi-document YAML) manifests.

Reading only: a parsed export in, a `KubernetesSnapshot` out. Objects of kinds the transform does not use (Secrets
among them: their values are never held) are dropped here. An item that is not an object with a kind is reported
by its position and skipped.

A kubectl List of the cluster lists every service account and role, so one that a binding names and the List lacks
is really missing. A set of manifests holds only what it defines: roles and service accounts it does not define are
not evaluated rather than missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentiam.collectors.kubernetes.snapshot import KubernetesSnapshot, object_key
from agentiam.collectors.kubernetes.transform import NAMESPACED_KINDS
from agentiam.config import KubernetesSettings
from agentiam.inventory.records import IssueRecord
from agentiam.pipeline import YamlStream

CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding"}
LISTED_KINDS = ("ServiceAccount", "ClusterRole")  # every cluster has some: none in a List means not exported


def _is_object(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("kind"), str) and "apiVersion" in document


def _is_list(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and str(document.get("kind", "")).endswith("List")
        and isinstance(document.get("items"), list)
        and str(document.get("apiVersion", "v1")) == "v1"
    )


def looks_like_kubernetes(document: Any) -> bool:
    if isinstance(document, YamlStream):
        return any(_is_object(d) for d in document)
    return _is_list(document) or (_is_object(document) and isinstance(document.get("metadata"), dict))


def cluster_name(settings: KubernetesSettings, source: str) -> str:
    return settings.offline_cluster or Path(source).stem or "offline"


def _item_kind(list_kind: str, item: dict[str, Any]) -> dict[str, Any]:
    """Typed lists (PodList) omit kind and apiVersion on their items; kubectl's List keeps them."""
    if "kind" not in item and list_kind not in ("List", ""):
        return {"kind": list_kind.removesuffix("List"), "apiVersion": item.get("apiVersion", "v1"), **item}
    return item


def read_export(document: Any, source: str, settings: KubernetesSettings) -> KubernetesSnapshot:
    snapshot = KubernetesSnapshot(cluster=cluster_name(settings, source), source=source)
    wanted = NAMESPACED_KINDS | CLUSTER_KINDS | set(settings.agent_crds)
    documents = list(document) if isinstance(document, YamlStream) else [document]
    listed = False
    for position, doc in enumerate(documents):
        where = f"document {position + 1}" if isinstance(document, YamlStream) else "the document"
        if _is_list(doc):
            listed = True
            entries = [
                (f"{where}, items[{i}]", _item_kind(str(doc.get("kind")), item) if isinstance(item, dict) else item)
                for i, item in enumerate(doc["items"])
            ]
        else:
            entries = [(where, doc)]
        for place, item in entries:
            if not _is_object(item):
                problem = "skipped: not a Kubernetes object (no kind or apiVersion)"
                snapshot.issues.append(IssueRecord(subject_uid=None, source=f"{source}: {place}", problem=problem))
            elif object_key(item) in wanted:
                snapshot.add(item)
    for kind in LISTED_KINDS if listed else ():
        if not snapshot.objects.get(kind):
            problem = f"no {kind} in the export: what depends on it is not evaluated (add it to `kubectl get`)"
            snapshot.issues.append(IssueRecord(subject_uid=None, source=source, problem=problem, severity="warning"))
    return snapshot


def is_cluster_listing(document: Any, snapshot: KubernetesSnapshot) -> bool:
    """Whether the export lists a whole cluster's service accounts and roles, so that an absent one is missing."""
    lists = [document] if not isinstance(document, YamlStream) else list(document)
    return any(_is_list(d) for d in lists) and all(snapshot.objects.get(kind) for kind in LISTED_KINDS)
