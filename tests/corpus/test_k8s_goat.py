"""kubernetes-goat's scenarios, imported as one cluster from their manifests, with the expected findings written down.

- insecure-rbac: ServiceAccount kube-system/superadmin bound to cluster-admin by a ClusterRoleBinding: admin and
  every dangerous capability, cluster-wide.
- hunger-check: Role big-monolith/secret-reader (get/list/watch on every core resource) bound to
  big-monolith-sa (namespace defaulted from the RoleBinding): reads secrets and can exec (`get` on pods/exec) in
  big-monolith only; nothing cluster-wide. The hunger-check agent mounts that account's token.
- system-monitor: privileged, hostPID, hostIPC, hostPath `/`; reads the secret goatvault through secretKeyRef.
- health-check: privileged, hostPath to the containerd socket.
- The other deployments (build-code, cache-store, hidden-in-layers, internal-proxy, poor-registry, home) are
  ordinary: no finding of their own.

The scenarios that run AI-agent-like workloads are selected as agents by their `app` label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentiam.config import Settings
from agentiam.inventory import views
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from agentiam.reports.model import ReportData

pytestmark = pytest.mark.corpus

SUPERADMIN = "kubernetes:goat:serviceaccount:kube-system/superadmin"
MONOLITH = "kubernetes:goat:serviceaccount:big-monolith/big-monolith-sa"
AGENTS = "app in (system-monitor, hunger-check, health-check, build-code)"


@pytest.fixture
def goat(corpora: Path, settings: Settings, plugins: Plugins, tmp_path: Path) -> tuple[ReportData, Any]:
    """All scenarios in one manifest file, as `kubectl apply -f` of the folder would put them in one cluster: who can
    read a secret is answered from the RBAC of the same file."""
    settings.kubernetes.offline_cluster = "goat"
    settings.kubernetes.agent_label_selectors = [AGENTS]
    combined = tmp_path / "kubernetes-goat.yaml"
    files = sorted((corpora / "k8s" / "kubernetes-goat").glob("*.yaml"))
    combined.write_text("".join(f"---\n{path.read_text()}\n" for path in files))
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=[combined]), plugins)
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    with store.read() as conn:
        workloads = views.workloads(conn, outcome.scan_id)
    return load_report_data(store, outcome.scan_id), workloads


def _findings(report: ReportData, subject: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for finding in report.findings:
        if finding.subject_uid == subject:
            found.setdefault(finding.rule_id, []).append(finding)
    return found


def test_the_cluster_admin_service_account_holds_everything_cluster_wide(goat: tuple[ReportData, Any]) -> None:
    report, _ = goat
    found = _findings(report, SUPERADMIN)
    assert set(found) == {f"K8S-RBAC-{n:03d}" for n in range(1, 13)}
    assert all(f.evidence["scope"] == "cluster" for fs in found.values() for f in fs)
    assert found["K8S-RBAC-001"][0].severity == "critical"
    assert found["K8S-RBAC-001"][0].evidence["bindings"] == ["clusterrolebinding/superadmin"]
    assert found["K8S-RBAC-004"][0].evidence["subject_kind"] == "ServiceAccount"


def test_the_namespace_secret_reader_reads_secrets_and_execs_in_its_namespace_only(
    goat: tuple[ReportData, Any],
) -> None:
    report, _ = goat
    found = _findings(report, MONOLITH)
    assert set(found) == {"K8S-RBAC-004", "K8S-RBAC-006"}
    assert {f.evidence["scope"] for fs in found.values() for f in fs} == {"namespace:big-monolith"}
    assert found["K8S-RBAC-004"][0].evidence["roles"] == ["role/big-monolith/secret-reader"]
    # An agent's identity (the hunger-check pod runs as it): high for a namespace, raised one step.
    assert found["K8S-RBAC-004"][0].severity == "critical"


def test_workload_findings_match_the_scenarios(goat: tuple[ReportData, Any]) -> None:
    report, _ = goat
    workload_findings: dict[str, set[str]] = {}
    for finding in report.findings:
        if ":deployment:" in finding.subject_uid or ":job:" in finding.subject_uid:
            workload_findings.setdefault(finding.subject_uid.rpartition(":")[2], set()).add(finding.rule_id)
    assert workload_findings == {
        "big-monolith/hunger-check-deployment": {"K8S-POD-001"},
        "default/system-monitor-deployment": {"K8S-POD-002", "K8S-POD-003"},
        "default/health-check-deployment": {"K8S-POD-002", "K8S-POD-003"},
        "default/build-code-deployment": {"K8S-POD-002"},
    }
    monitor = next(f for f in report.findings if f.rule_id == "K8S-POD-003" and "system-monitor" in f.subject_uid)
    assert monitor.evidence["host_paths"] == ["/"] and monitor.evidence["host_pid"] and monitor.evidence["host_ipc"]


def test_the_system_monitor_secret_reference_names_who_else_can_read_it(goat: tuple[ReportData, Any]) -> None:
    _, workloads = goat
    monitor = workloads[workloads["name"] == "default/system-monitor-deployment"].iloc[0]
    [ref] = monitor["attributes"]["secret_refs"]
    assert (ref["variable"], ref["secret"]) == ("K8S_GOAT_VAULT_KEY", "goatvault")
    assert ref["readable_by"] == ["ServiceAccount kube-system/superadmin (clusterrolebinding/superadmin)"]


def test_the_default_service_account_shared_by_three_agents_is_reported(goat: tuple[ReportData, Any]) -> None:
    report, _ = goat
    [shared] = _findings(report, "kubernetes:goat:serviceaccount:default/default")["K8S-SA-001"]
    assert shared.evidence["count"] == 3
