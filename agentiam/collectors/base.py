"""The collector contract, as registered under the `agentiam.collectors` entry-point group.

A collector turns one provider's API (live) or export files (offline) into normalised records. It never touches the
database: the pipeline stores what it yields, one transaction per (collector, scope). Clients come in through the
context, so tests hand in sessions that talk to moto or a fake server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from agentiam.config import Settings
from agentiam.errors import CollectorError
from agentiam.inventory.records import AnyRecord

if TYPE_CHECKING:
    from agentiam.collectors.aws.accounts import AwsAccount


@dataclass
class CallStats:
    """API calls and throttled responses of one collector run, for its bookkeeping row.

    Counted from botocore hooks that may fire on several threads at once (concurrent jobs share a client).
    """

    api_calls: int = 0
    throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_call(self) -> None:
        with self._lock:
            self.api_calls += 1

    def count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1


@dataclass(frozen=True)
class Scope:
    """One unit of collection that succeeds or fails on its own: an account, a subscription, a cluster."""

    key: str
    label: str = ""


@dataclass
class _Shared:
    """What every scope of one scan shares: discovered accounts, resolved once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    aws_accounts: list[AwsAccount] | None = None
    aws_accounts_error: CollectorError | None = None  # remembered: every AWS collector fails alike, with one call
    memo: dict[str, Any] = field(default_factory=dict)  # what a collector derives once per scan, by its own key


@dataclass
class CollectContext:
    settings: Settings
    # Provider clients are made by factories that tests replace; there are no module-level clients.
    aws_session_factory: Callable[[], Any] | None = None
    stats: CallStats = field(default_factory=CallStats)
    aws_organization: bool = False  # --aws-org: scan every account of the Organization
    # Azure: a TokenCredential factory (DefaultAzureCredential; set by --azure), and the HTTP transport tests replace.
    azure_credential_factory: Callable[[], Any] | None = None
    azure_transport_factory: Callable[[], Any] | None = None
    shared: _Shared = field(default_factory=_Shared)
    # Every offline export of the scan (document, source): exports that refer to each other (an Azure role
    # assignment names a role definition from another file) are joined whatever order the files come in.
    offline_documents: tuple[tuple[Any, str], ...] = ()

    def for_scope(self) -> CollectContext:
        """The same context with its own call counters, for one scope's run."""
        return replace(self, stats=CallStats())

    def aws_accounts(self) -> list[AwsAccount]:
        """The AWS accounts this scan covers, resolved once for all AWS collectors (raises CollectorError)."""
        from agentiam.collectors.aws.accounts import resolve_accounts

        assert self.aws_session_factory is not None
        with self.shared.lock:
            if self.shared.aws_accounts_error is not None:
                raise self.shared.aws_accounts_error
            if self.shared.aws_accounts is None:
                try:
                    self.shared.aws_accounts = resolve_accounts(
                        self.aws_session_factory, self.settings.aws, self.stats, organization=self.aws_organization
                    )
                except CollectorError as exc:
                    self.shared.aws_accounts_error = exc
                    raise
            return self.shared.aws_accounts

    def aws_session(self, account_id: str) -> Any:
        """A session in one account; an account that could not be reached fails its scope with the reason."""
        for account in self.aws_accounts():
            if account.id == account_id:
                if account.session_factory is None:
                    raise CollectorError(account.error or f"account {account_id} could not be reached")
                return account.session_factory()
        raise CollectorError(f"account {account_id} is not among the scanned accounts")


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
