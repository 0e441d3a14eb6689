"""The collector contract, as registered under the `agentiam.collectors` entry-point group.

A collector turns one provider's API (live) or export files (offline) into normalised records. It never touches the
database: the pipeline stores what it yields, one transaction per (collector, scope). Clients come in through the
context, so tests hand in sessions that talk to moto or a fake server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from agentiam.config import Settings
from agentiam.inventory.records import AnyRecord


@dataclass
class CallStats:
    """API calls and throttling retries of one collector run, for its bookkeeping row."""

    api_calls: int = 0
    throttled: int = 0


@dataclass(frozen=True)
class Scope:
    """One unit of collection that succeeds or fails on its own: an account, a subscription, a cluster."""

    key: str
    label: str = ""


@dataclass
class CollectContext:
    settings: Settings
    # Provider clients are made by factories that tests replace; there are no module-level clients.
    aws_session_factory: Callable[[], Any] | None = None
    stats: CallStats = field(default_factory=CallStats)


@dataclass(frozen=True)
class OfflineImport:
    """What an offline document holds: its scope, and the records it yields."""

    scope: str
    records: list[AnyRecord]


class Collector(Protocol):
    name: ClassVar[str]  # stable id, e.g. "aws-iam"; used in collector_run rows and finding scopes
    provider: ClassVar[str]
    offline_format: ClassVar[str]  # what export it reads offline, for messages

    def live_requested(self, ctx: CollectContext) -> bool:
        """Whether the user asked for a live collection by this collector."""
        ...

    def scopes(self, ctx: CollectContext) -> list[Scope]: ...

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]: ...

    def detect(self, document: Any) -> bool:
        """Whether a parsed export file is this collector's offline format."""
        ...

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport: ...
