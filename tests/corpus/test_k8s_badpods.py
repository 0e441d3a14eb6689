"""BishopFox badPods: the same pod, as every kind of workload, from everything-allowed to nothing-allowed.

Each manifest is labelled `app: pentest`, taken here as the agent selector. What each folder must yield is written
down below, per file: the host access K8S-POD-003 names, and its severity (the base, raised one step for an agent).
`nothing-allowed` is the negative control. None names a service account, so each runs as `default` (K8S-POD-002).
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

pytestmark = pytest.mark.corpus

ROOT = Path("k8s") / "badpods"
KINDS = ("pod", "deployment", "deamonset", "statefulset", "replicaset", "replicationcontroller", "job", "cronjob")
# folder -> (host access in the finding's evidence, severity of K8S-POD-003), None: no finding
EXPECTED: dict[str, tuple[dict[str, Any], str] | None] = {
    "everything-allowed": (
        {"privileged": True, "host_pid": True, "host_ipc": True, "host_network": True, "host_paths": ["/"]},
        "critical",
    ),
    "priv-and-hostpid": (
        {"privileged": True, "host_pid": True, "host_ipc": False, "host_network": False, "host_paths": []},
        "critical",
    ),
    "priv": (
        {"privileged": True, "host_pid": False, "host_ipc": False, "host_network": False, "host_paths": []},
        "critical",
    ),
    "hostpath": (
        {"privileged": False, "host_pid": False, "host_ipc": False, "host_network": False, "host_paths": ["/"]},
        "critical",
    ),
    "hostpid": (
        {"privileged": False, "host_pid": True, "host_ipc": False, "host_network": False, "host_paths": []},
        "critical",
    ),
    "hostnetwork": (
        {"privileged": False, "host_pid": False, "host_ipc": False, "host_network": True, "host_paths": []},
        "high",
    ),
    "hostipc": (
        {"privileged": False, "host_pid": False, "host_ipc": True, "host_network": False, "host_paths": []},
        "high",
    ),
    "nothing-allowed": None,
}
# Files that differ from their folder upstream: this DaemonSet also shares the host's network and PID namespaces.
FILE_EXPECTED = {
    "hostipc-revshell-daemonset": (
        {"privileged": False, "host_pid": True, "host_ipc": True, "host_network": True, "host_paths": []},
        "critical",
    ),
}


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_each_badpods_manifest_yields_exactly_its_host_access(
    folder: str, corpora: Path, settings: Settings, plugins: Plugins
) -> None:
    settings.kubernetes.agent_label_selectors = ["app=pentest"]
    files = sorted((corpora / ROOT / folder).glob("*/*.yaml"))
    assert len(files) == 2 * len(KINDS)
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=files), plugins)
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    report = load_report_data(store, outcome.scan_id)
    with store.read() as conn:
        workloads = views.workloads(conn, outcome.scan_id)
    agents = list(workloads[workloads["is_agent"]].itertuples())
    assert len(agents) == len(workloads) == len(files)  # one workload per manifest, whatever its kind
    host = {f.subject_uid: f for f in report.findings if f.rule_id == "K8S-POD-003"}
    default_account = {f.subject_uid for f in report.findings if f.rule_id == "K8S-POD-002"}
    for workload in agents:
        assert workload.uid in default_account
        expected = FILE_EXPECTED.get(workload.name.rpartition("/")[2], EXPECTED[folder])
        if expected is None:
            assert workload.uid not in host, host[workload.uid].message
            continue
        access, severity = expected
        finding = host[workload.uid]
        found = {k: finding.evidence[k] for k in access if k.startswith("host_")}
        found["privileged"] = bool(finding.evidence["privileged_containers"])
        assert found == access, workload.name
        assert finding.severity == severity, workload.name
