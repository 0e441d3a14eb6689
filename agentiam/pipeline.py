"""The scan pipeline: collect (per collector x scope) -> store -> analyze. The CLI only parses flags and calls this.

Each (collector, scope) is collected and stored on its own: one failing account or file fails only its
collector_run, and the scan ends `partial`. Nothing earlier scans wrote is ever touched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentiam import __version__
from agentiam.collectors.base import CollectContext, Scope
from agentiam.config import Settings
from agentiam.errors import CollectorError, InputFormatError, UsageError
from agentiam.findings.engine import AnalysisResult, analyze
from agentiam.inventory import views
from agentiam.inventory.store import Store
from agentiam.plugins import Plugins
from agentiam.runtime import release_free_memory

log = logging.getLogger(__name__)


# Told of every finished (collector, scope): collector name, scope, and the error if it failed. Called from worker
# threads; the CLI passes one that draws a progress display on a terminal.
ScopeDone = Callable[[str, str, str | None], None]


@dataclass
class ScanRequest:
    offline: list[Path] = field(default_factory=list)
    aws_session_factory: Callable[[], Any] | None = None
    aws_organization: bool = False
    azure_credential_factory: Callable[[], Any] | None = None
    azure_transport_factory: Callable[[], Any] | None = None  # tests: a replay transport
    kubernetes_client_factory: Callable[[str | None], Any] | None = None


@dataclass(frozen=True)
class OfflineInput:
    path: Path
    document: Any
    collector: Any


@dataclass
class CollectOutcome:
    scan_id: int
    status: str
    failures: list[str] = field(default_factory=list)


def read_offline(path: Path, plugins: Plugins) -> OfflineInput:
    """Parse an export file and find the collector that reads it, from the content, not the file name."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFormatError(str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(str(path), f"cannot be read as UTF-8 text ({exc})") from None
    expected = "; ".join(sorted(c.offline_format for c in plugins.collectors.values() if c.offline_format))
    not_json = ""
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        not_json = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        if text.lstrip().startswith(("{", "[")):
            raise InputFormatError(str(path), f"{not_json}; expected one of: {expected}") from None
        document = _read_yaml(path, text, expected)
    for collector in plugins.collectors.values():
        if collector.detect(document):
            return OfflineInput(path, document, collector)
    if isinstance(document, YamlStream):
        kinds = sorted({str(d.get("kind")) for d in document if isinstance(d, dict)})[:8]
        problem = f"{not_json}, and as YAML of an unknown shape ({len(document)} document(s), kinds {kinds})"
        raise InputFormatError(str(path), f"{problem}; expected one of: {expected}")
    shape = (
        f"top-level keys {sorted(document)[:8]}" if isinstance(document, dict) else f"a JSON {type(document).__name__}"
    )
    raise InputFormatError(str(path), f"JSON of an unknown shape ({shape}); expected one of: {expected}")


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it: ~10x faster


class YamlStream(list[Any]):
    """The documents of a (multi-document) YAML file, in order; kubectl-style manifests come this way."""


def _read_yaml(path: Path, text: str, expected: str) -> YamlStream:
    try:
        return YamlStream(d for d in yaml.load_all(text, Loader=YAML_LOADER) if d is not None)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        reason = getattr(exc, "problem", None) or type(exc).__name__
        raise InputFormatError(
            str(path), f"neither JSON nor valid YAML ({where}{reason}); expected one of: {expected}"
        ) from None


def _collect_offline(store: Store, scan_id: int, item: OfflineInput, ctx: CollectContext) -> str | None:
    collector = item.collector
    run_id = store.begin_collector_run(scan_id, collector.name, collector.provider, "pending", str(item.path))
    try:
        imported = collector.import_document(ctx, item.document, str(item.path))
    except Exception as exc:  # a malformed export fails its own run, not the scan
        log.debug("offline import of %s failed", item.path, exc_info=True)
        error = f"{item.path}: {type(exc).__name__}: {exc}"
        store.fail_collector_run(run_id, error)
        return error
    store.set_collector_run_scope(run_id, imported.scope)
    store.complete_collector_run(scan_id, run_id, imported.records)
    return None


def _collect_live(
    store: Store, scan_id: int, collectors: list[Any], ctx: CollectContext, on_scope_done: ScopeDone
) -> list[str]:
    """Every (collector, scope), several at a time: accounts and regions are independent and mostly wait on I/O."""
    jobs: list[tuple[Any, Scope, CollectContext]] = []
    failures = []
    for collector in collectors:
        try:
            scopes = collector.scopes(ctx)
        except CollectorError as exc:
            run_id = store.begin_collector_run(scan_id, collector.name, collector.provider, "unknown", "live")
            store.fail_collector_run(run_id, str(exc), api_calls=ctx.stats.api_calls, throttled=ctx.stats.throttled)
            failures.append(f"{collector.name}: {exc}")
            continue
        for position, scope in enumerate(scopes):
            # The calls that found the scopes are booked on the collector's first scope.
            jobs.append((collector, scope, ctx if position == 0 else ctx.for_scope()))
        ctx = ctx.for_scope()
    with ThreadPoolExecutor(max_workers=ctx.settings.aws.max_concurrency, thread_name_prefix="collect") as pool:
        results = pool.map(lambda job: _collect_scope(store, scan_id, *job, on_scope_done), jobs)
        failures.extend(failure for failure in results if failure)
    return failures


def _collect_scope(
    store: Store, scan_id: int, collector: Any, scope: Scope, ctx: CollectContext, on_scope_done: ScopeDone
) -> str | None:
    failure = _collect_one_scope(store, scan_id, collector, scope, ctx)
    on_scope_done(collector.name, scope.label or scope.key, failure)
    return failure


def _collect_one_scope(store: Store, scan_id: int, collector: Any, scope: Scope, ctx: CollectContext) -> str | None:
    run_id = store.begin_collector_run(scan_id, collector.name, collector.provider, scope.key, "live")
    try:
        records = list(collector.collect(ctx, scope))
    except Exception as exc:  # a collector bug fails its scope like an API error would, never the scan
        error = str(exc) if isinstance(exc, CollectorError) else f"internal error: {type(exc).__name__}: {exc}"
        if not isinstance(exc, CollectorError):
            log.debug("collector %s failed on %s", collector.name, scope.key, exc_info=True)
        store.fail_collector_run(run_id, error, api_calls=ctx.stats.api_calls, throttled=ctx.stats.throttled)
        return f"{collector.name} {scope.label or scope.key}: {error}"
    store.complete_collector_run(scan_id, run_id, records, api_calls=ctx.stats.api_calls, throttled=ctx.stats.throttled)
    return None


def _ignore(collector: str, scope: str, error: str | None) -> None:
    """The default ScopeDone: nobody is watching."""


def collect(
    store: Store, settings: Settings, request: ScanRequest, plugins: Plugins, on_scope_done: ScopeDone = _ignore
) -> CollectOutcome:
    """Collect everything the request names into a new scan. Bad offline files are refused before anything starts."""
    inputs = [read_offline(path, plugins) for path in request.offline]
    live_ctx = CollectContext(
        settings=settings,
        aws_session_factory=request.aws_session_factory,
        aws_organization=request.aws_organization,
        azure_credential_factory=request.azure_credential_factory,
        azure_transport_factory=request.azure_transport_factory,
        kubernetes_client_factory=request.kubernetes_client_factory,
    )
    live = [c for c in plugins.collectors.values() if c.live_requested(live_ctx)]
    if not inputs and not live:
        raise UsageError("nothing to scan: give --aws, --azure or --k8s for a live collection, or --offline FILE")
    scan_id = store.begin_scan(__version__, settings.model_dump(mode="json"))
    failures = []
    offline_ctx = CollectContext(settings=settings, offline_documents=tuple((i.document, str(i.path)) for i in inputs))
    for item in inputs:
        failure = _collect_offline(store, scan_id, item, offline_ctx)
        on_scope_done(item.collector.name, str(item.path), failure)
        if failure:
            failures.append(failure)
    if live:
        failures.extend(_collect_live(store, scan_id, live, live_ctx, on_scope_done))
    link_agents(store, scan_id)
    status = store.finish_scan(scan_id)
    return CollectOutcome(scan_id, status, failures)


AGENT_EVIDENCE_SHOWN = 10  # per identity: 200 replicas of one agent need not be listed 200 times


def link_agents(store: Store, scan_id: int) -> None:
    """Settle links across collectors, then carry agent status along them, once the whole scan is collected.

    1. Aliases: a binding may name an identity or workload by a uid its collector could only guess (an Azure
       identity by client id, a service account by its cluster's OIDC issuer); the record that answers to it lists
       the alias in `attributes["aliases"]`, and the binding is pointed at its canonical uid.
    2. Agents: an identity that an agent workload runs as is an agent's identity, transitively: pod -> service
       account -> IRSA role. The evidence names the chain.
    """
    with store.read() as conn:
        identities = views.identities(conn, scan_id)
        workloads = views.workloads(conn, scan_id)
    aliases = _alias_map([identities, workloads])
    if aliases:
        store.resolve_binding_aliases(scan_id, aliases)
    with store.read() as conn:
        bindings = views.bindings(conn, scan_id)
    evidence = _agent_chains(identities, workloads, bindings)
    if evidence:
        store.add_agent_evidence(scan_id, evidence)


def _alias_map(frames: list[Any]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for frame in frames:
        for row in frame.itertuples():
            for alias in (row.attributes or {}).get("aliases") or []:
                if alias in aliases and aliases[alias] != row.uid:
                    log.warning("alias %s names both %s and %s: kept the first", alias, aliases[alias], row.uid)
                    continue
                aliases[str(alias)] = row.uid
    return aliases


def _agent_chains(identities: Any, workloads: Any, bindings: Any) -> dict[str, list[dict[str, str]]]:
    """identity uid -> evidence, one item per chain of bindings from an agent workload (or agent identity) to it."""
    labels = {row.uid: f"{row.workload_kind} {row.name}" for row in workloads.itertuples()}
    labels.update({row.uid: f"{row.identity_kind} {row.name}" for row in identities.itertuples()})
    outgoing: dict[str, list[tuple[str, str]]] = {}
    for binding in bindings.itertuples():
        outgoing.setdefault(binding.workload_uid, []).append((binding.identity_uid, binding.mechanism))
    seeds = [row.uid for frame in (workloads, identities) for row in frame.itertuples() if row.is_agent]
    chains: dict[str, list[str]] = {}
    for seed in seeds:
        stack: list[tuple[str, list[str], frozenset[str]]] = [(seed, [], frozenset({seed}))]
        while stack:
            uid, hops, seen = stack.pop()
            for target, mechanism in outgoing.get(uid, []):
                if target in seen:
                    continue
                path = [*hops, f"{labels.get(uid, uid)} ({mechanism})"]
                details = chains.setdefault(target, [])
                detail = " -> ".join(path)
                if detail not in details:
                    details.append(detail)
                stack.append((target, path, seen | {target}))
    evidence: dict[str, list[dict[str, str]]] = {}
    for uid, details in chains.items():
        shown = sorted(details, key=lambda d: (d.count(" -> "), d))[:AGENT_EVIDENCE_SHOWN]
        evidence[uid] = [{"reason": "runs-agent-workload", "detail": d} for d in shown]
        if len(details) > len(shown):
            more = {"reason": "runs-agent-workload", "detail": f"and {len(details) - len(shown)} more agent workloads"}
            evidence[uid].append(more)
    return evidence


def analyze_scan(store: Store, scan_id: int, settings: Settings, plugins: Plugins) -> AnalysisResult:
    result = analyze(store, scan_id, settings, plugins.rules.values())
    release_free_memory()  # the analysis' working set, before the reports read the scan again
    return result
