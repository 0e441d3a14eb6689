"""The Kubernetes collector: live clusters (through live.py) and offline exports (export.py), one transform."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentiam.collectors.base import CollectContext, OfflineImport, Scope
from agentiam.collectors.kubernetes.export import is_cluster_listing, looks_like_kubernetes, read_export
from agentiam.collectors.kubernetes.transform import transform_snapshot
from agentiam.inventory.records import AnyRecord


class KubernetesCollector:
    name = "kubernetes"
    provider = "kubernetes"
    offline_format = "kubectl get ... -A -o json (a List) or Kubernetes YAML manifests"

    # The live reader lives in live.py, imported inside the methods: the kubernetes client is only loaded when a
    # live scan runs.
    def live_requested(self, ctx: CollectContext) -> bool:
        """--k8s, --kube-context, --kubeconfig or --k8s-in-cluster: the CLI then hands in a client factory."""
        return ctx.kubernetes_client_factory is not None

    def scopes(self, ctx: CollectContext) -> list[Scope]:
        from agentiam.collectors.kubernetes.live import cluster_scopes

        return cluster_scopes(ctx)

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]:
        from agentiam.collectors.kubernetes.live import read_cluster

        yield from transform_snapshot(read_cluster(ctx, scope), ctx.settings.kubernetes)

    def detect(self, document: Any) -> bool:
        return looks_like_kubernetes(document)

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport:
        snapshot = read_export(document, source, ctx.settings.kubernetes)
        records = transform_snapshot(
            snapshot, ctx.settings.kubernetes, complete_listing=is_cluster_listing(document, snapshot)
        )
        return OfflineImport(scope=snapshot.cluster, records=records)
