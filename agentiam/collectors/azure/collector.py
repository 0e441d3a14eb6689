"""The Azure collector: live subscriptions (read by live.py) or offline `az` exports, transformed alike.

Offline, every file is its own collector run, but Azure exports refer to each other: an assignment names a role
definition, a federated credential belongs to an identity, a resource carries identities. All Azure exports of the
scan are therefore read once into one `AzureReference` (kept on the scan's shared context), and each file yields
the records it is the source of, looking the rest up there, whatever order the files come in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agentiam.collectors.azure.export import FORMAT, AzureExport, looks_like_az_export, read_export
from agentiam.collectors.azure.transform import AzureReference, transform_snapshot
from agentiam.collectors.base import CollectContext, OfflineImport, Scope
from agentiam.inventory.records import AnyRecord, IdentityRecord, WorkloadRecord

_OFFLINE_SCAN = "azure-offline-scan"


@dataclass
class OfflineScan:
    """Every Azure export of one scan, read once, and the reference over all of them."""

    reference: AzureReference = field(default_factory=AzureReference)
    exports: dict[str, AzureExport] = field(default_factory=dict)  # by source


def offline_scan(ctx: CollectContext) -> OfflineScan:
    """Built on first use, from every Azure document among the scan's offline inputs."""
    with ctx.shared.lock:
        scan = ctx.shared.memo.get(_OFFLINE_SCAN)
        if scan is None:
            scan = OfflineScan()
            for document, source in ctx.offline_documents:
                if looks_like_az_export(document):
                    export = scan.exports[source] = read_export(document, source)
                    scan.reference.add(export.snapshot, export.subscriptions)
            ctx.shared.memo[_OFFLINE_SCAN] = scan
        return scan


class AzureCollector:
    name = "azure"
    provider = "azure"
    offline_format = FORMAT

    # Reading a live subscription is live.py's (the Azure SDK, imported only when a live scan runs); this class
    # transforms what it reads.
    def live_requested(self, ctx: CollectContext) -> bool:
        """--azure or --azure-subscription: the CLI hands in a credential factory only then."""
        return ctx.azure_credential_factory is not None

    def scopes(self, ctx: CollectContext) -> list[Scope]:
        from agentiam.collectors.azure import live

        return live.subscription_scopes(ctx)

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]:
        from agentiam.collectors.azure import live

        snapshot = live.read_subscription(ctx, scope)
        yield from transform_snapshot(snapshot, ctx.settings)

    def detect(self, document: Any) -> bool:
        return looks_like_az_export(document)

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport:
        scan = offline_scan(ctx)
        export = scan.exports.get(source)
        if export is None:  # imported on its own, outside a scan's list of files
            export = read_export(document, source)
            scan.reference.add(export.snapshot, export.subscriptions)
        records = transform_snapshot(export.snapshot, ctx.settings, scan.reference)
        subscriptions = sorted(({export.snapshot.subscription_id} | set(export.subscriptions)) - {""})
        scope = ",".join(subscriptions) or _scope_of(records)
        return OfflineImport(scope=scope, records=records)


def _scope_of(records: list[AnyRecord]) -> str:
    """The subscriptions an export's identities and workloads belong to; a tenant-wide file (sign-in activity, a
    definitions list) names none."""
    scopes = sorted({r.scope for r in records if isinstance(r, IdentityRecord | WorkloadRecord)} - {""})
    return ",".join(scopes) or "tenant"
