"""`scan --k8s`, `--kube-context` (repeatable), `--kubeconfig` and `--k8s-in-cluster` on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.collectors import kube_manifests as k
from tests.conftest import ACCOUNT, ADMIN, Cli, role
from tests.fakes.kube_apiserver import Kubeconfig, KubeContext


def test_scan_reads_every_context_named_and_reports_their_agents(tmp_path: Path, run: Cli, kube_server: Any) -> None:
    prod, dev = kube_server(), kube_server()
    prod.load(*k.small_cluster())
    dev.load(k.pod("helper", "dev", labels={"app": "ai-agent"}))
    kubeconfig = Kubeconfig([KubeContext("prod", prod, "prod"), KubeContext("dev", dev, "dev")], current="dev")
    path = kubeconfig.write(tmp_path / "kubeconfig")

    result = run("scan", "--kubeconfig", str(path), "--kube-context", "prod", "--kube-context", "dev")
    assert result.exit_code == 0, result.stderr
    workloads = json.loads(run("inventory", "workloads", "--json").stdout)
    assert {w["uid"] for w in workloads if w["is_agent"]} == {
        "kubernetes:prod:pod:agents/agent-0",
        "kubernetes:dev:pod:dev/helper",
    }


def test_k8s_alone_reads_the_current_context_of_kubeconfig_from_the_environment(
    tmp_path: Path, run: Cli, kube_server: Any, monkeypatch: Any
) -> None:
    server = kube_server()
    server.load(*k.small_cluster())
    path = Kubeconfig([KubeContext("only", server, "only-cluster")]).write(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))

    assert run("scan", "--k8s").exit_code == 0
    assert server.requests_to("/api/v1/pods")


def test_an_unknown_context_is_a_usage_error_before_anything_is_scanned(
    tmp_path: Path, run: Cli, kube_server: Any
) -> None:
    path = Kubeconfig([KubeContext("prod", kube_server(), "prod")]).write(tmp_path / "kubeconfig")
    result = run("scan", "--kubeconfig", str(path), "--kube-context", "staging")
    assert result.exit_code == 2
    assert f"kubeconfig {path}: no context named staging (it has: prod)" in result.stderr
    assert not Path(run.db).exists()


def test_a_missing_kubeconfig_is_a_usage_error_naming_the_file(tmp_path: Path, run: Cli) -> None:
    result = run("scan", "--kubeconfig", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert str(tmp_path / "absent") in result.stderr


def test_in_cluster_outside_a_cluster_fails_the_scope_and_exits_partial(run: Cli, monkeypatch: Any) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = run("scan", "--k8s-in-cluster")
    assert result.exit_code == 3
    assert "in-cluster configuration: cannot configure a client" in result.stderr


def test_a_live_cluster_and_an_aws_export_in_one_scan_link_pods_to_the_role(
    tmp_path: Path, run: Cli, kube_server: Any
) -> None:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/agent-irsa"
    server = kube_server()
    server.load(*k.small_cluster({"eks.amazonaws.com/role-arn": role_arn}))
    path = Kubeconfig([KubeContext("prod", server, "prod")]).write(tmp_path / "kubeconfig")
    authz = run.export([role("agent-irsa", [ADMIN])])

    assert run("scan", "--kubeconfig", str(path), "--offline", authz).exit_code == 0
    findings = json.loads(run("report", "--format", "json", "-o", "-").stdout)["findings"]
    (admin,) = [f for f in findings if f["rule_id"] == "AWS-IAM-001"]
    assert "kubernetes:prod:pod:agents/agent-0" in {u["uid"] for u in admin["evidence"]["used_by"]["entries"]}
    reaching = [f for f in findings if f["subject"]["uid"] == "kubernetes:prod:serviceaccount:agents/agent-sa"]
    assert reaching and all(
        f"aws:{role_arn}" in {r["uid"] for r in f["evidence"]["reaches"]["entries"]} for f in reaching
    )
