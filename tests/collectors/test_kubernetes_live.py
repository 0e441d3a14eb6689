"""Reading live clusters: the official kubernetes client, through a generated kubeconfig, against the fake server."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentiam.collectors.base import CollectContext
from agentiam.collectors.kubernetes.collector import KubernetesCollector
from agentiam.collectors.kubernetes.live import client_factory, cluster_scopes, read_cluster
from agentiam.collectors.kubernetes.snapshot import KubernetesSnapshot
from agentiam.config import Settings, load_settings
from agentiam.errors import CollectorError
from agentiam.inventory import views
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, collect
from agentiam.plugins import Plugins
from tests.collectors import kube_manifests as k
from tests.fakes.kube_apiserver import FakeKubeApiServer, Kubeconfig, KubeContext

StartServer = Callable[..., FakeKubeApiServer]
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def _settings(tmp_path: Path, kubeconfig: Kubeconfig, **kubernetes: Any) -> Settings:
    path = kubeconfig.write(tmp_path / "kubeconfig")
    options = {"kubeconfig": str(path), "max_attempts": 3, **kubernetes}
    return load_settings(None, {"db": str(tmp_path / "inventory.db"), "kubernetes": options}, environ={})


def _one_cluster(tmp_path: Path, server: FakeKubeApiServer, **kubernetes: Any) -> Settings:
    return _settings(tmp_path, Kubeconfig([KubeContext("dev", server, "dev-cluster")]), **kubernetes)


def _read(settings: Settings) -> tuple[KubernetesSnapshot, CollectContext]:
    ctx = CollectContext(settings=settings, kubernetes_client_factory=client_factory(settings.kubernetes))
    (scope,) = cluster_scopes(ctx)
    return read_cluster(ctx, scope), ctx


def _names(snapshot: KubernetesSnapshot, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in snapshot.objects.get(kind, [])}


def test_agent_pods_are_selected_on_the_server_and_only_they_travel(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    snapshot, ctx = _read(_one_cluster(tmp_path, server))

    listings = server.requests_to("/api/v1/pods")
    assert [r.query["labelSelector"] for r in listings] == ["app=ai-agent"]
    assert sum(r.items_sent for r in listings) == 1
    (agent,) = snapshot.objects["Pod"]
    assert (agent["kind"], agent["apiVersion"], agent["metadata"]["name"]) == ("Pod", "v1", "agent-0")
    assert snapshot.pods_preselected and snapshot.cluster == "dev-cluster" and snapshot.source == "context dev"
    assert ctx.stats.api_calls == len(server.requests)


def test_several_selectors_each_list_once_and_pods_are_merged_by_uid(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(
        k.pod("both", labels={"app": "ai-agent", "framework": "langgraph"}),
        k.pod("crew", labels={"framework": "crewai"}),
        k.pod("plain", labels={"framework": "none"}),
    )
    selectors = ["app=ai-agent", "framework in (langgraph,crewai)"]
    snapshot, _ = _read(_one_cluster(tmp_path, server, agent_label_selectors=selectors))

    assert [r.query["labelSelector"] for r in server.requests_to("/api/v1/pods")] == selectors
    assert sorted(o["metadata"]["name"] for o in snapshot.objects["Pod"]) == ["both", "crew"]


def test_listings_page_through_limit_and_continue(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(*(k.service_account(f"sa-{i}", "team") for i in range(7)))
    snapshot, _ = _read(_one_cluster(tmp_path, server, page_size=2))

    pages = server.requests_to("/api/v1/serviceaccounts")
    assert [r.query.get("limit") for r in pages] == ["2"] * 4
    assert [("continue" in r.query) for r in pages] == [False, True, True, True]
    assert _names(snapshot, "ServiceAccount") == {f"sa-{i}" for i in range(7)}
    assert {o["kind"] for o in snapshot.objects["ServiceAccount"]} == {"ServiceAccount"}
    assert not snapshot.inconsistent


def test_every_service_account_and_rbac_object_is_read(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert _names(snapshot, "ServiceAccount") == {"agent-sa", "web"}
    assert _names(snapshot, "ClusterRole") == {"secret-reader"}
    assert _names(snapshot, "ClusterRoleBinding") == {"agent-reads-secrets"}
    assert _names(snapshot, "Role") == {"pod-reader"}
    assert _names(snapshot, "RoleBinding") == {"web-reads-pods"}
    assert snapshot.objects["ClusterRole"][0]["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert not snapshot.not_evaluated and not snapshot.issues


def test_agent_custom_resources_are_discovered_and_the_pods_they_own_are_read(
    tmp_path: Path, kube_server: StartServer
) -> None:
    server = kube_server()
    server.load(k.crd("kagent.dev", "Agent", "agents"))
    agent = {
        "apiVersion": "kagent.dev/v1alpha1",
        "kind": "Agent",
        "metadata": k.meta("helper", "kagent", uid="agent-1"),
    }
    server.load(agent)
    deployment = k.controller(
        "Deployment", "apps/v1", "helper", "kagent", k.owner("Agent", "kagent.dev/v1alpha1", "helper", "agent-1")
    )
    replica_set = k.controller(
        "ReplicaSet",
        "apps/v1",
        "helper-5d8",
        "kagent",
        k.owner("Deployment", "apps/v1", "helper", "deployment-kagent-helper"),
    )
    server.load(
        deployment,
        replica_set,
        k.pod(
            "helper-5d8-x",
            "kagent",
            owned_by=k.owner("ReplicaSet", "apps/v1", "helper-5d8", "replicaset-kagent-helper-5d8"),
        ),
        k.pod("controller-0", "kagent", labels={"app": "kagent-controller"}),
    )
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert _names(snapshot, "kagent.dev/Agent") == {"helper"}
    assert _names(snapshot, "Pod") == {"helper-5d8-x"}
    assert _names(snapshot, "ReplicaSet") == {"helper-5d8"} and _names(snapshot, "Deployment") == {"helper"}
    assert server.requests_to("/apis/kagent.dev/v1alpha1/agents")
    # agents.x-k8s.io is configured too, but this cluster does not serve it: nothing asked, nothing missing.
    assert not any(r.path.startswith("/apis/agents.x-k8s.io") for r in server.requests)
    assert not snapshot.not_evaluated


def test_pods_selected_by_an_agent_resources_selector_are_read(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(k.crd("agents.x-k8s.io", "Agent", "agents", "v1"))
    selected = {"matchLabels": {"agent": "triage"}}
    server.load(
        {
            "apiVersion": "agents.x-k8s.io/v1",
            "kind": "Agent",
            "metadata": k.meta("triage", "ops"),
            "spec": {"selector": selected},
        },
        k.pod("triage-0", "ops", labels={"agent": "triage"}),
        k.pod("other-0", "ops", labels={"agent": "billing"}),
    )
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert _names(snapshot, "Pod") == {"triage-0"}


def test_an_agent_pods_owner_chain_is_fetched_job_then_cronjob(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    cron_job = k.controller("CronJob", "batch/v1", "nightly", "agents")
    job = k.controller(
        "Job", "batch/v1", "nightly-29", "agents", k.owner("CronJob", "batch/v1", "nightly", "cronjob-agents-nightly")
    )
    server.load(
        cron_job,
        job,
        k.pod(
            "nightly-29-a",
            "agents",
            labels={"app": "ai-agent"},
            owned_by=k.owner("Job", "batch/v1", "nightly-29", "job-agents-nightly-29"),
        ),
        k.pod(
            "nightly-29-b",
            "agents",
            labels={"app": "ai-agent"},
            owned_by=k.owner("Job", "batch/v1", "nightly-29", "job-agents-nightly-29"),
        ),
    )
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert _names(snapshot, "Job") == {"nightly-29"} and _names(snapshot, "CronJob") == {"nightly"}
    assert snapshot.objects["CronJob"][0]["kind"] == "CronJob"
    # Two pods, one Job: each owner is fetched once.
    assert len(server.requests_to("/apis/batch/v1/namespaces/agents/jobs/nightly-29")) == 1


def test_a_forbidden_listing_is_not_evaluated_and_makes_the_scan_partial_never_a_pass(
    tmp_path: Path, kube_server: StartServer
) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    server.fail(f"{RBAC}/clusterrolebindings", 403, times=None)
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert "ClusterRoleBinding" in snapshot.not_evaluated
    assert "ClusterRoleBinding" not in snapshot.objects
    (issue,) = snapshot.issues
    assert issue.severity == "error"
    assert "list on clusterrolebindings in the rbac.authorization.k8s.io API group" in issue.problem
    assert _names(snapshot, "ClusterRole") == {"secret-reader"}  # the rest is still read


def test_an_expired_continue_token_restarts_the_listing_and_marks_the_snapshot_inconsistent(
    tmp_path: Path, kube_server: StartServer
) -> None:
    server = kube_server()
    server.load(*(k.service_account(f"sa-{i}", "team") for i in range(5)))
    server.fail("/api/v1/serviceaccounts", 410, with_continue=True)
    snapshot, _ = _read(_one_cluster(tmp_path, server, page_size=2))

    assert snapshot.inconsistent
    assert _names(snapshot, "ServiceAccount") == {f"sa-{i}" for i in range(5)}
    assert len(snapshot.objects["ServiceAccount"]) == 5  # the pages served twice are kept once
    (warning,) = snapshot.issues
    assert warning.severity == "warning" and "410" in warning.problem
    statuses = [r.status for r in server.requests_to("/api/v1/serviceaccounts")]
    assert statuses[:3] == [200, 410, 200]


def test_tokens_that_expire_with_time_restart_too(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server(continue_ttl=0)
    server.load(*(k.service_account(f"sa-{i}", "team") for i in range(3)))
    settings = _one_cluster(tmp_path, server, page_size=2)
    with pytest.raises(CollectorError, match="kept expiring"):
        _read(settings)


def test_throttled_requests_are_retried_and_counted(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    server.fail(f"{RBAC}/roles", 429, times=2, retry_after=0)
    server.fail("/api/v1/serviceaccounts", 503, times=1, retry_after=0)
    snapshot, ctx = _read(_one_cluster(tmp_path, server))

    assert _names(snapshot, "Role") == {"pod-reader"} and _names(snapshot, "ServiceAccount") == {"agent-sa", "web"}
    assert ctx.stats.throttled == 2
    assert ctx.stats.api_calls == len(server.requests)
    assert not snapshot.issues


def test_a_throttled_request_waits_as_long_as_retry_after_says(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.fail(f"{RBAC}/clusterroles", 429, times=1, retry_after=1)
    _read(_one_cluster(tmp_path, server))

    throttled, retried = server.requests_to(f"{RBAC}/clusterroles")
    assert (throttled.status, retried.status) == (429, 200)
    assert retried.at - throttled.at >= 1.0


def test_a_persistent_server_error_fails_the_cluster_with_a_clear_message(
    tmp_path: Path, kube_server: StartServer
) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    server.fail(f"{RBAC}/clusterroles", 500, times=None, retry_after=0)
    with pytest.raises(CollectorError, match=r"context dev: GET .*/clusterroles answered 500 .* after 3 attempts"):
        _read(_one_cluster(tmp_path, server))
    assert len(server.requests_to(f"{RBAC}/clusterroles")) == 3


def test_credentials_the_cluster_refuses_fail_the_cluster(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    kubeconfig = Kubeconfig([KubeContext("dev", server, "dev-cluster")]).render().replace(server.token, "wrong")
    (tmp_path / "kubeconfig").write_text(kubeconfig)
    settings = load_settings(None, {"kubernetes": {"kubeconfig": str(tmp_path / "kubeconfig")}}, environ={})
    with pytest.raises(CollectorError, match="refused the credentials"):
        _read(settings)


def test_a_server_whose_certificate_the_ca_does_not_sign_is_unreachable(
    tmp_path: Path, kube_server: StartServer
) -> None:
    server, other = kube_server(), kube_server()
    kubeconfig = Kubeconfig([KubeContext("dev", server, "dev-cluster")]).render()
    kubeconfig = kubeconfig.replace(*(base64.b64encode(s.certificates.ca_pem).decode() for s in (server, other)))
    (tmp_path / "kubeconfig").write_text(kubeconfig)
    settings = load_settings(None, {"kubernetes": {"kubeconfig": str(tmp_path / "kubeconfig")}}, environ={})
    with pytest.raises(CollectorError, match="context dev: cannot reach the cluster"):
        _read(settings)


def test_the_oidc_issuer_is_read_when_served_and_none_otherwise(tmp_path: Path, kube_server: StartServer) -> None:
    serving = kube_server(oidc_issuer="https://oidc.eks.us-east-1.amazonaws.com/id/ABC")
    silent = kube_server()
    assert _read(_one_cluster(tmp_path, serving))[0].oidc_issuer == "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
    assert _read(_one_cluster(tmp_path, silent))[0].oidc_issuer is None


def test_each_requested_context_is_one_scope_keyed_by_its_cluster(tmp_path: Path, kube_server: StartServer) -> None:
    a, b = kube_server(), kube_server()
    kubeconfig = Kubeconfig(
        [KubeContext("prod", a, "arn:aws:eks:us-east-1:123456789012:cluster/prod"), KubeContext("dev", b, "dev")],
        current="dev",
    )
    settings = _settings(tmp_path, kubeconfig, contexts=["prod", "dev"])
    ctx = CollectContext(settings=settings, kubernetes_client_factory=client_factory(settings.kubernetes))
    assert KubernetesCollector().live_requested(ctx)
    assert [(s.key, s.label) for s in cluster_scopes(ctx)] == [
        ("arn:aws:eks:us-east-1:123456789012:cluster/prod", "prod"),
        ("dev", "dev"),
    ]
    current = _settings(tmp_path, kubeconfig)
    ctx = CollectContext(settings=current, kubernetes_client_factory=client_factory(current.kubernetes))
    assert [(s.key, s.label) for s in cluster_scopes(ctx)] == [("dev", "dev")]
    assert not KubernetesCollector().live_requested(CollectContext(settings=current))


def test_several_contexts_in_one_scan_and_a_failing_one_costs_only_itself(
    tmp_path: Path, kube_server: StartServer, plugins: Plugins
) -> None:
    healthy, broken = kube_server(), kube_server()
    healthy.load(*k.small_cluster())
    broken.load(*k.small_cluster())
    broken.fail("/api/v1/serviceaccounts", 500, times=None, retry_after=0)
    kubeconfig = Kubeconfig([KubeContext("prod", healthy, "prod"), KubeContext("staging", broken, "staging")])
    settings = _settings(tmp_path, kubeconfig, contexts=["prod", "staging"])
    store = Store.open(settings.db)
    outcome = collect(
        store, settings, ScanRequest(kubernetes_client_factory=client_factory(settings.kubernetes)), plugins
    )

    assert outcome.status == "partial"
    (failure,) = outcome.failures
    assert "staging" in failure and "answered 500" in failure
    with store.read() as conn:
        runs = {r.scope: r.status for r in views.collector_runs(conn, outcome.scan_id).itertuples()}
        pods = set(views.workloads(conn, outcome.scan_id)["uid"])
    assert runs == {"prod": "complete", "staging": "failed"}
    assert "kubernetes:prod:pod:agents/agent-0" in pods


def test_in_cluster_configuration_uses_the_pods_token_and_ca(
    tmp_path: Path, kube_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(server.token)
    (account / "ca.crt").write_bytes(server.certificates.ca_pem)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    settings = load_settings(None, {"kubernetes": {"in_cluster": True, "cluster_name": "prod"}}, environ={})
    ctx = CollectContext(settings=settings, kubernetes_client_factory=client_factory(settings.kubernetes, account))

    (scope,) = cluster_scopes(ctx)
    assert (scope.key, scope.label) == ("prod", "in-cluster")
    snapshot = read_cluster(ctx, scope)
    assert snapshot.source == "in-cluster" and _names(snapshot, "Pod") == {"agent-0"}


def test_in_cluster_without_the_service_environment_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    settings = load_settings(None, {"kubernetes": {"in_cluster": True}}, environ={})
    ctx = CollectContext(settings=settings, kubernetes_client_factory=client_factory(settings.kubernetes, tmp_path))
    (scope,) = cluster_scopes(ctx)
    with pytest.raises(CollectorError, match="in-cluster configuration: cannot configure a client"):
        read_cluster(ctx, scope)


def _permission(path: str) -> tuple[str, str, str]:
    """(verb, API group, resource) of a request, or ("get", "", "<non-resource URL>") for discovery and OIDC."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) > 2:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return "get", "", "/apis/*" if parts[0] == "apis" and len(parts) > 1 else path
    if rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    return ("get" if len(rest) == 2 else "list"), group, rest[0]


def test_the_deployed_cluster_role_grants_exactly_what_the_live_reader_uses(
    tmp_path: Path, kube_server: StartServer
) -> None:
    import yaml

    server = kube_server(oidc_issuer="https://issuer.example")
    server.load(k.crd("kagent.dev", "Agent", "agents"), k.crd("agents.x-k8s.io", "Agent", "agents", "v1"))
    server.load({"apiVersion": "kagent.dev/v1alpha1", "kind": "Agent", "metadata": k.meta("a", "agents", uid="a-1")})
    server.load({"apiVersion": "agents.x-k8s.io/v1", "kind": "Agent", "metadata": k.meta("b", "agents")})
    agent = {"app": "ai-agent"}
    chains = [("Deployment", "apps/v1", "ReplicaSet"), ("CronJob", "batch/v1", "Job")]
    for top, api_version, middle in chains:
        server.load(k.controller(top, api_version, "top", "agents"))
        up = k.owner(top, api_version, "top", f"{top.lower()}-agents-top")
        server.load(k.controller(middle, api_version, "mid", "agents", up))
        down = k.owner(middle, api_version, "mid", f"{middle.lower()}-agents-mid")
        server.load(k.pod(f"via-{middle.lower()}", "agents", labels=agent, owned_by=down))
    for kind in ("StatefulSet", "DaemonSet"):
        server.load(k.controller(kind, "apps/v1", "set", "agents"))
        owned = k.owner(kind, "apps/v1", "set", f"{kind.lower()}-agents-set")
        server.load(k.pod(f"via-{kind.lower()}", "agents", labels=agent, owned_by=owned))
    server.load(*k.small_cluster())
    _read(_one_cluster(tmp_path, server))

    used = {_permission(r.path) for r in server.requests}
    rbac = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "rbac.yaml"
    (role,) = [d for d in yaml.safe_load_all(rbac.read_text()) if d and d["kind"] == "ClusterRole"]
    granted = set()
    for rule in role["rules"]:
        for verb in rule["verbs"]:
            granted |= {(verb, "", url) for url in rule.get("nonResourceURLs", [])}
            granted |= {(verb, g, r) for g in rule.get("apiGroups", []) for r in rule.get("resources", [])}
    assert used == granted


def test_agent_resources_that_discovery_refuses_are_not_evaluated(tmp_path: Path, kube_server: StartServer) -> None:
    server = kube_server()
    server.load(k.crd("kagent.dev", "Agent", "agents"), *k.small_cluster())
    server.fail("/apis/kagent.dev/v1alpha1", 403, times=None)
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert "kagent.dev/Agent" in snapshot.not_evaluated
    assert "get on the non-resource URL /apis/*" in snapshot.issues[0].problem
    assert _names(snapshot, "Pod") == {"agent-0"}  # the label-selected agents are still read


def test_an_owner_the_scanner_may_not_get_is_not_evaluated_and_the_pod_still_read(
    tmp_path: Path, kube_server: StartServer
) -> None:
    server = kube_server()
    replica_set = k.owner("ReplicaSet", "apps/v1", "bot-5d8", "replicaset-agents-bot-5d8")
    server.load(
        k.controller("ReplicaSet", "apps/v1", "bot-5d8", "agents"),
        k.pod("bot-5d8-x", "agents", labels={"app": "ai-agent"}, owned_by=replica_set),
    )
    server.fail("/apis/apps/v1/namespaces/agents/replicasets/bot-5d8", 403, times=None)
    snapshot, _ = _read(_one_cluster(tmp_path, server))

    assert _names(snapshot, "Pod") == {"bot-5d8-x"} and "ReplicaSet" not in snapshot.objects
    assert "get on replicasets in the apps API group" in snapshot.not_evaluated["ReplicaSet"]
    assert [i.severity for i in snapshot.issues] == ["error"]
