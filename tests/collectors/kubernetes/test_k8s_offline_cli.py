"""`agentiam scan --offline` on Kubernetes exports, end to end through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.collectors.kubernetes.k8s_objects import binding, kubectl_list, pod, service_account
from tests.conftest import Cli


def _dump(tmp_path: Path) -> Path:
    dump = tmp_path / "dump.json"
    dump.write_text(
        json.dumps(
            kubectl_list(
                service_account(
                    "support-bot", annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/support"}
                ),
                service_account("default"),
                pod("support-7f9-x", labels={"app": "ai-agent"}, service_account="support-bot"),
                pod("web-1", labels={"app": "web"}),
                binding(
                    "ClusterRoleBinding",
                    "support-bot-admin",
                    "ClusterRole",
                    "cluster-admin",
                    [{"kind": "ServiceAccount", "name": "support-bot", "namespace": "agents"}],
                ),
            )
        )
    )
    return dump


def test_a_kubectl_dump_is_scanned_and_its_agents_and_findings_reported(run: Cli, tmp_path: Path) -> None:
    result = run("scan", "--offline", str(_dump(tmp_path)))
    assert result.exit_code == 0, result.stderr
    agents = json.loads(run("inventory", "agents", "--json").stdout)
    assert {a["name"] for a in agents} >= {"agents/support-bot"}
    findings = json.loads(run("report", "--format", "json").stdout)["findings"]
    by_rule = {(f["rule_id"], f["subject"]["name"]) for f in findings}
    assert ("K8S-RBAC-001", "agents/support-bot") in by_rule
    assert ("K8S-POD-001", "agents/support-7f9-x") in by_rule
    admin = next(f for f in findings if f["rule_id"] == "K8S-RBAC-001")
    assert admin["severity"] == "critical" and admin["subject"]["provider"] == "kubernetes"
    assert admin["evidence"]["bindings"] == ["clusterrolebinding/support-bot-admin"]


def test_the_cluster_is_named_by_settings_or_by_the_file(run: Cli, tmp_path: Path) -> None:
    config = tmp_path / "agentiam.toml"
    config.write_text('[kubernetes]\noffline_cluster = "prod-eu"\n')
    assert run("--config", str(config), "scan", "--offline", str(_dump(tmp_path))).exit_code == 0
    identities = json.loads(run("inventory", "identities", "--json").stdout)
    assert any(i["uid"] == "kubernetes:prod-eu:serviceaccount:agents/support-bot" for i in identities)


def test_malformed_yaml_is_refused_naming_the_file_and_line(run: Cli, tmp_path: Path) -> None:
    manifests = tmp_path / "agents.yaml"
    manifests.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   labels: {app: x\n")
    result = run("scan", "--offline", str(manifests))
    assert result.exit_code == 2
    message = result.stderr.replace("\n", " ")
    assert str(manifests) in result.stderr.replace("\n", "")
    assert "neither JSON nor valid YAML (line 5, column 10" in message


def test_a_malformed_object_makes_the_scan_partial_and_the_rest_is_reported(run: Cli, tmp_path: Path) -> None:
    manifests = tmp_path / "agents.yaml"
    manifests.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {namespace: agents}\nspec: {containers: []}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: chat, namespace: agents, labels: {app: ai-agent}}\n"
        "spec: {containers: [{name: c, image: i, securityContext: {privileged: true}}]}\n"
    )
    result = run("scan", "--offline", str(manifests))
    assert result.exit_code == 3, result.stderr
    report = json.loads(run("report", "--format", "json").stdout)
    assert report["scan"]["status"] == "partial"
    assert {f["rule_id"] for f in report["findings"]} >= {"K8S-POD-003"}
