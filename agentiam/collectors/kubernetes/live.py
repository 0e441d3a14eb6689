"""Reading a live cluster into a KubernetesSnapshot: a kubeconfig context, or the pod's own cluster (in-cluster).

Everything goes through the official client's ApiClient as raw JSON pages (`_preload_content=False`,
`limit`/`continue`), never typed models: each page is parsed, its items stamped with kind and apiVersion, and kept
or dropped as it arrives, so memory follows what is kept, not what the cluster holds.

What is read, and why:
- agent pods, selected server-side: one listing per configured label selector, merged by uid;
- agent custom resources (`kubernetes.agent_crds`) that `/apis` says the cluster serves, and the pods they own: the
  pods of each namespace holding an agent resource are listed and kept when their owner chain reaches the resource
  (a controller sets owner references) or the resource's `spec.selector` matches their labels;
- each kept pod's owner chain (ReplicaSet -> Deployment, Job -> CronJob, ...), one GET per distinct owner, a level
  of the chains at a time with the level's GETs in flight together;
- every ServiceAccount, Role, ClusterRole, RoleBinding and ClusterRoleBinding;
- the service-account token issuer from `/.well-known/openid-configuration`, when served.

Failures: a 403 on a listing leaves that kind "not evaluated" with an error issue naming the permission (the scan is
partial, never a pass); an expired continue token (410) restarts the listing and marks the snapshot inconsistent;
429 and 5xx are retried with backoff, honouring Retry-After, up to `kubernetes.max_attempts`; anything else that stops
the cluster from being read (unreachable, credentials refused, 5xx that persists) fails the cluster's scope.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agentiam.collectors.base import CallStats, CollectContext, Scope
from agentiam.collectors.kubernetes.selectors import label_selector_matcher
from agentiam.collectors.kubernetes.snapshot import KubernetesSnapshot, RawObject
from agentiam.config import KubernetesSettings
from agentiam.errors import CollectorError, UsageError
from agentiam.inventory.records import IssueRecord

log = logging.getLogger(__name__)

IN_CLUSTER_LABEL = "in-cluster"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
MAX_BACKOFF_SECONDS = 30.0
OWNER_CONCURRENCY = 8  # owner GETs in flight at once
MAX_CHAIN = 10  # owners followed per pod: deeper is a loop in a broken cluster
REQUEST_TIMEOUT = (10, 120)  # connect, read (seconds): a page of 500 pods is large but never slow

# A client for one kubeconfig context, or for the cluster agentiam runs in (None).
ApiClientFactory = Callable[[str | None], Any]

# The built-in kinds read, as (API path prefix, plural, namespaced): the permission a 403 names comes from here too.
_RESOURCES: dict[str, tuple[str, str, bool]] = {
    "Pod": ("/api/v1", "pods", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
}


def _permission_resource(kind: str) -> str:
    """What a permission to read `kind` is on, as RBAC names it: "pods in the core API group"."""
    prefix, plural, _ = _RESOURCES[kind]
    group = prefix.removeprefix("/apis/").rpartition("/")[0] if prefix.startswith("/apis/") else "core"
    return f"{plural} in the {group} API group"


_RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
_OWNER_KINDS = ("ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


# -- which clusters ----------------------------------------------------------------------------------------------


def kubeconfig_path(settings: KubernetesSettings) -> str:
    """--kubeconfig, else $KUBECONFIG (which may list several files), else ~/.kube/config."""
    return settings.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser(DEFAULT_KUBECONFIG)


def kubeconfig_contexts(settings: KubernetesSettings) -> list[tuple[str, str]]:
    """(context, cluster name) for every context asked for, or the current one; UsageError naming what is wrong."""
    from kubernetes.config import ConfigException, list_kube_config_contexts

    path = kubeconfig_path(settings)
    try:
        contexts, current = list_kube_config_contexts(path)
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"kubeconfig {path}: cannot be read ({exc})") from None
    clusters = {c["name"]: c.get("context", {}).get("cluster", c["name"]) for c in contexts or []}
    wanted = list(dict.fromkeys(settings.contexts)) or ([current["name"]] if current else [])
    if not wanted:
        raise UsageError(f"kubeconfig {path}: no current context; name one with --kube-context")
    unknown = [name for name in wanted if name not in clusters]
    if unknown:
        raise UsageError(f"kubeconfig {path}: no context named {', '.join(unknown)} (it has: {', '.join(clusters)})")
    return [(name, clusters[name]) for name in wanted]


def client_factory(settings: KubernetesSettings, service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> ApiClientFactory:
    """Clients from the kubeconfig (by context), or from the pod's service-account token and CA (None)."""

    def make(context: str | None) -> Any:
        from kubernetes.client import ApiClient, Configuration
        from kubernetes.config import ConfigException, load_kube_config
        from kubernetes.config.incluster_config import InClusterConfigLoader
        from urllib3.util.retry import Retry

        configuration = Configuration()
        # urllib3 retries connection failures; statuses (429, 5xx) are retried here, so they are counted and bounded.
        configuration.retries = Retry(total=3, connect=3, read=2, status=0, respect_retry_after_header=False)
        try:
            if context is None:
                loader = InClusterConfigLoader(
                    token_filename=str(service_account_dir / "token"), cert_filename=str(service_account_dir / "ca.crt")
                )
                loader.load_and_set(configuration)
            else:
                load_kube_config(
                    config_file=kubeconfig_path(settings),
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (ConfigException, OSError, ValueError) as exc:
            where = "in-cluster configuration" if context is None else f"context {context}"
            raise CollectorError(f"{where}: cannot configure a client ({exc})") from None
        return ApiClient(configuration)

    return make


def cluster_scopes(ctx: CollectContext) -> list[Scope]:
    """One scope per requested kubeconfig context (key: its cluster), and the pod's own cluster when in-cluster."""
    settings = ctx.settings.kubernetes
    scopes = []
    if settings.in_cluster:
        scopes.append(Scope(key=settings.cluster_name or IN_CLUSTER_LABEL, label=IN_CLUSTER_LABEL))
    if settings.contexts or not settings.in_cluster:
        try:
            contexts = kubeconfig_contexts(settings)
        except UsageError as exc:
            raise CollectorError(str(exc)) from None
        seen: set[str] = {s.key for s in scopes}
        for context, cluster in contexts:
            if cluster in seen:  # two contexts (users) of one cluster: it is read once
                log.warning("context %s names cluster %s, which is already scanned: skipped", context, cluster)
                continue
            seen.add(cluster)
            scopes.append(Scope(key=cluster, label=context))
    return scopes


def read_cluster(ctx: CollectContext, scope: Scope) -> KubernetesSnapshot:
    """Everything the transform needs to know about one cluster (raises CollectorError when it cannot be read)."""
    assert ctx.kubernetes_client_factory is not None
    context = None if scope.label == IN_CLUSTER_LABEL else scope.label
    source = IN_CLUSTER_LABEL if context is None else f"context {context}"
    api = ctx.kubernetes_client_factory(context)
    try:
        reader = _ClusterReader(_Api(api, ctx.stats, ctx.settings.kubernetes, source), ctx.settings.kubernetes)
        return reader.read(KubernetesSnapshot(cluster=scope.key, source=source, pods_preselected=True))
    finally:
        api.close()


# -- requests ------------------------------------------------------------------------------------------------


class _Forbidden(Exception):
    """403: the part is not evaluated, never taken as empty."""


class _Expired(Exception):
    """410: the continue token expired; the listing restarts."""


class _NotFound(Exception):
    """404: an owner or a resource type that is gone."""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _message(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    return str(status.get("message") or status.get("reason") or "") if isinstance(status, dict) else ""


@dataclass
class _Api:
    """GET requests of one cluster through the official ApiClient, as parsed JSON, with retries and counting."""

    client: Any
    stats: CallStats
    settings: KubernetesSettings
    source: str
    sleep: Callable[[float], None] = time.sleep

    def get(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            self.stats.count_call()
            try:
                response = self.client.call_api(
                    path,
                    "GET",
                    query_params=query or [],
                    header_params={"Accept": "application/json"},
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _request_timeout=REQUEST_TIMEOUT,
                )
                try:
                    return json.loads(response.data)
                finally:
                    response.release_conn()  # back to the pool: the next request reuses the TLS connection
            except ApiException as exc:
                status, body = exc.status or 0, exc.body or b""
                if isinstance(body, str):
                    body = body.encode()
                if status == 429 or status >= 500:
                    if status == 429:
                        self.stats.count_throttled()
                    if attempt < attempts:
                        self.sleep(self._backoff(attempt, _retry_after(exc.headers)))
                        continue
                    raise CollectorError(
                        f"{self.source}: GET {path} answered {status} {_message(body)} after {attempts} attempts"
                    ) from None
                if status == 403:
                    raise _Forbidden(_message(body)) from None
                if status == 410:
                    raise _Expired(_message(body)) from None
                if status == 404:
                    raise _NotFound(_message(body)) from None
                if status == 401:
                    raise CollectorError(f"{self.source}: the cluster refused the credentials (401)") from None
                if status == 0:  # TLS failures come back as status 0
                    raise CollectorError(f"{self.source}: cannot reach the cluster ({exc.reason})") from None
                raise CollectorError(f"{self.source}: GET {path} answered {status} {_message(body)}") from None
            except HTTPError as exc:
                raise CollectorError(f"{self.source}: cannot reach the cluster ({type(exc).__name__}: {exc})") from None
            except ValueError as exc:
                raise CollectorError(f"{self.source}: GET {path} returned something other than JSON ({exc})") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    def _backoff(attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_BACKOFF_SECONDS)
        return min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def pages(self, path: str, query: list[tuple[str, Any]], on_restart: Callable[[str], None]) -> Iterator[RawObject]:
        """Every item of a listing, page by page, stamped with kind and apiVersion; a 410 restarts the listing."""
        restarts = 0
        token: str | None = None
        while True:
            params = [*query, ("limit", self.settings.page_size)]
            if token:
                params.append(("continue", token))
            try:
                page = self.get(path, params)
            except _Expired as exc:
                restarts += 1
                if restarts > self.settings.max_attempts:
                    raise CollectorError(f"{self.source}: listing {path} kept expiring ({exc})") from None
                on_restart(path)
                token = None
                continue
            kind = str(page.get("kind", "")).removesuffix("List")
            api_version = page.get("apiVersion", "")
            for item in page.get("items") or []:
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", api_version)
                yield item
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return


# -- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CustomResource:
    key: str  # "<group>/<Kind>"
    path: str  # /apis/<group>/<version>/<plural>


def _meta(obj: RawObject) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _uid(obj: RawObject) -> str:
    meta = _meta(obj)
    return str(meta.get("uid") or f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}")


@dataclass
class _ClusterReader:
    api: _Api
    settings: KubernetesSettings
    snapshot: KubernetesSnapshot = field(init=False)
    owners: dict[tuple[str, str, str], RawObject | None] = field(default_factory=dict)
    added_owners: set[str] = field(default_factory=set)

    def read(self, snapshot: KubernetesSnapshot) -> KubernetesSnapshot:
        self.snapshot = snapshot
        snapshot.oidc_issuer = self._oidc_issuer()
        custom = self._agent_resources()
        pods = self._selected_pods()
        pods.update(self._pods_of_custom_resources(custom, pods))
        self._fetch_owners(pods.values())
        for pod in pods.values():
            snapshot.add(pod)
            self._add_owner_chain(pod)
        for kind in _RBAC_KINDS:
            self._read_all(kind)
        return snapshot

    # -- failures that leave part of the cluster unread --------------------------------------------------

    def _not_evaluated(self, kind: str, verb: str, resource: str, reason: str) -> None:
        """`resource`: what the permission is on, e.g. "pods in the core API group"."""
        permission = f"{verb} on {resource}"
        self.snapshot.not_evaluated.setdefault(kind, f"{reason} (needs {permission})")
        self.snapshot.issues.append(
            IssueRecord(
                subject_uid=None,
                source=f"{self.api.source}: {verb} {resource}",
                problem=f"{kind} not evaluated: forbidden ({reason}); grant {permission} to the scanner",
            )
        )

    def _restarted(self, path: str) -> None:
        self.snapshot.inconsistent = True
        self.snapshot.issues.append(
            IssueRecord(
                subject_uid=None,
                source=f"{self.api.source}: list {path}",
                problem="the continue token expired (410) and the listing restarted: objects may come from "
                "different moments of the cluster",
                severity="warning",
            )
        )

    def _listing(self, kind: str, resource: str, path: str, query: list[tuple[str, Any]]) -> Iterator[RawObject]:
        """Each object of a listing once, even when a restart (410) serves the first pages again."""
        seen: set[str] = set()
        try:
            for obj in self.api.pages(path, query, self._restarted):
                if _uid(obj) not in seen:
                    seen.add(_uid(obj))
                    yield obj
        except _Forbidden as exc:
            self._not_evaluated(kind, "list", resource, str(exc))

    # -- parts ---------------------------------------------------------------------------------------------

    def _oidc_issuer(self) -> str | None:
        """Optional: many clusters do not serve discovery to every reader, and nothing else depends on it."""
        try:
            document = self.api.get("/.well-known/openid-configuration")
        except (_Forbidden, _NotFound, _Expired, CollectorError) as exc:
            log.debug("%s: no OIDC discovery document (%s)", self.api.source, exc)
            return None
        issuer = document.get("issuer") if isinstance(document, dict) else None
        return str(issuer) if issuer else None

    def _agent_resources(self) -> list[_CustomResource]:
        """Agent custom resources the cluster serves, through discovery: /apis, then each group's preferred version."""
        wanted: dict[str, list[str]] = {}
        for key in self.settings.agent_crds:
            group, _, kind = key.rpartition("/")
            wanted.setdefault(group, []).append(kind)
        if not wanted:
            return []
        try:
            groups = {g.get("name"): g for g in self.api.get("/apis").get("groups") or []}
        except _Forbidden as exc:
            for key in self.settings.agent_crds:
                self._not_evaluated(key, "get", "the non-resource URL /apis", str(exc))
            return []
        found = []
        for group, kinds in wanted.items():
            version = ((groups.get(group) or {}).get("preferredVersion") or {}).get("groupVersion")
            if not version:
                continue
            try:
                resources = self.api.get(f"/apis/{version}").get("resources") or []
            except _Forbidden as exc:
                for kind in kinds:
                    self._not_evaluated(f"{group}/{kind}", "get", "the non-resource URL /apis/*", str(exc))
                continue
            except _NotFound:  # the group went away since /apis was read
                continue
            for resource in resources:
                if resource.get("kind") in kinds and "/" not in str(resource.get("name")):
                    key = f"{group}/{resource['kind']}"
                    found.append(_CustomResource(key, f"/apis/{version}/{resource['name']}"))
        for resource in found:
            plural, group = resource.path.rpartition("/")[2], resource.key.rpartition("/")[0]
            for obj in self._listing(resource.key, f"{plural} in the {group} API group", resource.path, []):
                self.snapshot.add(obj)
        return found

    def _selected_pods(self) -> dict[str, RawObject]:
        """Pods the agent label selectors select, on the server: only agent pods travel. Merged by uid."""
        pods: dict[str, RawObject] = {}
        for selector in self.settings.agent_label_selectors:
            for pod in self._listing("Pod", _permission_resource("Pod"), "/api/v1/pods", [("labelSelector", selector)]):
                pods[_uid(pod)] = pod
        return pods

    def _pods_of_custom_resources(
        self, custom: list[_CustomResource], known: dict[str, RawObject]
    ) -> dict[str, RawObject]:
        """Pods owned (through any controller chain) or selected by an agent custom resource, namespace by namespace."""
        resources = [obj for c in custom for obj in self.snapshot.objects.get(c.key, [])]
        by_namespace: dict[str, list[RawObject]] = {}
        for obj in resources:
            by_namespace.setdefault(str(_meta(obj).get("namespace", "")), []).append(obj)
        kept: dict[str, RawObject] = {}
        for namespace, owners in sorted(by_namespace.items()):
            owner_uids = {str(_meta(o).get("uid")) for o in owners}
            # An empty or absent selector would select every pod of the namespace: only real selectors count.
            selectors = [
                label_selector_matcher(spec["selector"])
                for spec in (o.get("spec") or {} for o in owners)
                if isinstance(spec, dict) and spec.get("selector")
            ]
            path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods" if namespace else "/api/v1/pods"
            listed = [p for p in self._listing("Pod", _permission_resource("Pod"), path, []) if _uid(p) not in known]
            self._fetch_owners(listed)
            for pod in listed:
                labels = _meta(pod).get("labels") or {}
                if any(match(labels) for match in selectors) or owner_uids & self._chain_uids(pod):
                    kept[_uid(pod)] = pod
        return kept

    # -- owners ----------------------------------------------------------------------------------------------

    @staticmethod
    def _owner_key(obj: RawObject) -> tuple[tuple[str, str, str], str] | None:
        """((kind, namespace, name), apiVersion) of an object's controlling owner, when it is a kind read here."""
        refs = [r for r in _meta(obj).get("ownerReferences") or [] if isinstance(r, dict)]
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None or ref.get("kind") not in _OWNER_KINDS:
            return None
        return (str(ref["kind"]), str(_meta(obj).get("namespace", "")), str(ref.get("name"))), str(
            ref.get("apiVersion")
        )

    def _fetch_owner(self, key: tuple[str, str, str], api_version: str) -> RawObject | None:
        kind, namespace, name = key
        prefix, plural, _ = _RESOURCES[kind]
        try:
            owner = self.api.get(f"{prefix}/namespaces/{quote(namespace, safe='')}/{plural}/{quote(name, safe='')}")
        except _Forbidden as exc:
            self._not_evaluated(kind, "get", _permission_resource(kind), str(exc))
            return None
        except _NotFound:  # deleted since the pod was listed
            return None
        owner.setdefault("kind", kind)
        owner.setdefault("apiVersion", api_version)
        return owner  # type: ignore[no-any-return]

    def _fetch_owners(self, objects: Iterable[RawObject]) -> None:
        """The owner chains of many objects, level by level, each level's distinct owners fetched concurrently:
        against a remote API server that is a few round trips in all rather than one per owner."""
        level = list(objects)
        with ThreadPoolExecutor(max_workers=OWNER_CONCURRENCY, thread_name_prefix="k8s-owner") as pool:
            for _ in range(MAX_CHAIN):
                wanted = dict(found for found in map(self._owner_key, level) if found and found[0] not in self.owners)
                if not wanted:
                    return
                fetched = list(pool.map(self._fetch_owner, wanted, wanted.values()))
                self.owners.update(zip(wanted, fetched, strict=True))
                level = [owner for owner in fetched if owner is not None]

    def _owner(self, obj: RawObject) -> RawObject | None:
        found = self._owner_key(obj)
        if found is None:
            return None
        if found[0] not in self.owners:
            self._fetch_owners([obj])
        return self.owners.get(found[0])

    def _chain(self, obj: RawObject) -> Iterator[RawObject]:
        current: RawObject | None = obj
        for _ in range(MAX_CHAIN):  # owner references can loop in a broken cluster
            current = self._owner(current) if current is not None else None
            if current is None:
                return
            yield current

    def _chain_uids(self, pod: RawObject) -> set[str]:
        """The uids the pod's owner references name along its chain (the last may be a custom resource)."""
        uids = {str(r.get("uid")) for r in _meta(pod).get("ownerReferences") or [] if isinstance(r, dict)}
        for owner in self._chain(pod):
            uids |= {str(r.get("uid")) for r in _meta(owner).get("ownerReferences") or [] if isinstance(r, dict)}
        return uids

    def _add_owner_chain(self, pod: RawObject) -> None:
        for owner in self._chain(pod):
            if _uid(owner) not in self.added_owners:
                self.added_owners.add(_uid(owner))
                self.snapshot.add(owner)

    def _read_all(self, kind: str) -> None:
        prefix, plural, _ = _RESOURCES[kind]
        for obj in self._listing(kind, _permission_resource(kind), f"{prefix}/{plural}", []):
            self.snapshot.add(obj)
