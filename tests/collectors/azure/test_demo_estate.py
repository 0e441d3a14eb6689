"""The Azure part of the bundled demo estate: what its README promises (agentiam/demo/estate/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentiam.config import Settings
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data

ESTATE = Path(__file__).resolve().parents[3] / "agentiam" / "demo" / "estate"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, plugins: Plugins) -> Any:
    settings = Settings(db=str(tmp_path_factory.mktemp("azure-demo") / "inventory.db"))
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=sorted(ESTATE.glob("azure-*.json"))), plugins)
    analyze_scan(store, outcome.scan_id, settings, plugins)
    return load_report_data(store, outcome.scan_id)


def findings(report: Any, name: str) -> dict[str, str]:
    return {f.rule_id: f.severity for f in report.findings if f.subject_name == name}


def test_the_azure_estate_imports_cleanly(report: Any) -> None:
    assert report.scan.status == "complete"
    assert [i.problem for i in report.issues] == [
        "role assignments not inventoried (1 to groups, 1 to users): agentiam inventories non-human identities"
    ]


def test_agents_are_the_foundry_project_the_tagged_function_and_the_identities_they_run_as(report: Any) -> None:
    agents = {i.name for i in report.identities if i.is_agent}
    assert agents == {"northwind-foundry/support-agents", "id-invoice-agent"}
    invoice = next(i for i in report.identities if i.name == "id-invoice-agent")
    assert invoice.agent_evidence == [
        {"reason": "runs-agent-workload", "detail": "azure_function_app invoice-agent-func (azure_mi)"}
    ]


def test_what_each_identity_is_flagged_for(report: Any) -> None:
    assert findings(report, "terraform-ci") == {"AZURE-RBAC-001": "critical", "AZURE-RBAC-003": "critical"}
    assert findings(report, "id-invoice-agent") == {"AZURE-RBAC-002": "critical", "AZURE-RBAC-003": "critical"}
    assert findings(report, "id-shared-ops") == {
        "AZURE-HYG-001": "medium",
        "AZURE-RBAC-003": "high",
        "AZURE-RBAC-004": "medium",
        "AZURE-UNUSED-001": "medium",
    }
    assert findings(report, "id-aks-planner") == {"AZURE-TRUST-001": "medium"}
    assert findings(report, "northwind-foundry") == {"AZURE-AI-001": "high"}
    assert findings(report, "northwind-foundry/support-agents") == {"AZURE-RBAC-003": "medium"}
