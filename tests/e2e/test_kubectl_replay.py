"""Dump and replay: what `kubectl get ... -A -o json` prints from a cluster, imported offline, says the same about
identities and grants as a live scan of that cluster. Both talk to the same fake API server; kubectl is the real one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentiam.inventory import views
from agentiam.inventory.store import Store
from tests.collectors import kube_manifests as k
from tests.conftest import Cli
from tests.fakes.kube_apiserver import FakeKubeApiServer, Kubeconfig, KubeContext

KUBECTL = shutil.which("kubectl")
RESOURCES = "pods,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings"
CLUSTER = "arn:aws:eks:us-east-1:123456789012:cluster/prod"

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _cluster() -> list[dict[str, Any]]:
    manifests = k.small_cluster({"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/agent-irsa"})
    group_binding = k.cluster_role_binding("devs-read-pods", "pod-lister", "unused")
    group_binding["subjects"] = [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]
    return [*manifests, k.cluster_role("pod-lister", k.PODS_READER), group_binding]


def _inventory(db: str) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]], set[str]]:
    store = Store.open(db, migrate=False, existing=True)
    with store.read() as conn:
        scan_id = views.latest_scan_id(conn)
        assert scan_id is not None
        identities = {(i.uid, i.identity_kind, str(i.is_agent)) for i in views.identities(conn, scan_id).itertuples()}
        grants = {
            (g.identity_uid, g.policy_ref, g.policy_hash, g.via or "", g.scope or "")
            for g in views.grants(conn, scan_id).itertuples()
        }
        workloads = views.workloads(conn, scan_id)
        agents = set(workloads[workloads["is_agent"]]["uid"])
    return identities, grants, agents


def test_a_kubectl_dump_replayed_offline_matches_the_live_scan(tmp_path: Path, kube_server: Any) -> None:
    server: FakeKubeApiServer = kube_server()
    server.load(*_cluster())
    kubeconfig = Kubeconfig([KubeContext("prod", server, CLUSTER)]).write(tmp_path / "kubeconfig")

    kubectl = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kube-cache")]
    dump = subprocess.run(
        [*kubectl, "get", RESOURCES, "-A", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    export = tmp_path / "cluster.json"
    export.write_text(dump.stdout)
    (tmp_path / "agentiam.toml").write_text(f'[kubernetes]\noffline_cluster = "{CLUSTER}"\n')

    live, offline = Cli(tmp_path / "live"), Cli(tmp_path / "offline")
    assert live("scan", "--kubeconfig", str(kubeconfig), "--kube-context", "prod").exit_code == 0
    replayed = offline("--config", str(tmp_path / "agentiam.toml"), "scan", "--offline", str(export))
    assert replayed.exit_code == 0, replayed.stderr

    live_identities, live_grants, live_agents = _inventory(live.db)
    offline_identities, offline_grants, offline_agents = _inventory(offline.db)
    assert live_identities == offline_identities
    assert live_grants == offline_grants
    assert live_agents == offline_agents == {f"kubernetes:{CLUSTER}:pod:agents/agent-0"}
    assert f"kubernetes:{CLUSTER}:serviceaccount:agents/agent-sa" in {uid for uid, _, _ in live_identities}
    assert any(uid == f"kubernetes:{CLUSTER}:group:devs" for uid, _, _ in live_identities)
