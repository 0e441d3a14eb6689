"""Every real Azure built-in role (easimon/azure-builtin-roles, 928 definitions) assigned at subscription scope.

One scan holds 928 service principals, each assigned one built-in role on one subscription, imported from the
corpus' `az role definition list` files and a generated `az role assignment list --all`. What the rules conclude for
each role is kept in tests/golden/azure-builtin-roles.json, so that a change in permission semantics shows up as a
reviewed diff. Regenerate with AGENTIAM_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from agentiam.config import Settings
from agentiam.findings.policy.azure import evaluate_role
from agentiam.findings.policy.azure_catalogue import default_operation_catalogue
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from tests.conftest import CORPORA

pytestmark = pytest.mark.corpus
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "azure-builtin-roles.json"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"


def _assignment(position: int, definition: dict[str, Any]) -> dict[str, Any]:
    principal = f"00000000-0000-4000-8000-{position:012d}"
    scope = f"/subscriptions/{SUBSCRIPTION}"
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/10000000-0000-4000-8000-{position:012d}",
        "principalId": principal,
        "principalName": definition["roleName"],
        "principalType": "ServicePrincipal",
        "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{definition['name']}",
        "roleDefinitionName": definition["roleName"],
        "scope": scope,
        "type": "Microsoft.Authorization/roleAssignments",
    }


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory, plugins: Plugins) -> dict[str, list[str]]:
    corpus = CORPORA / "azure" / "builtin-roles"
    if not corpus.is_dir():
        pytest.skip(f"third-party corpora not found at {corpus} (they live beside the checkout, in ../shared)")
    folder = tmp_path_factory.mktemp("azure-builtin")
    definitions = [json.loads(p.read_text()) for p in sorted(corpus.glob("*.json"))]
    (folder / "definitions.json").write_text(json.dumps(definitions))
    assignments = [_assignment(i, d) for i, d in enumerate(definitions)]
    (folder / "assignments.json").write_text(json.dumps(assignments))
    settings = Settings(db=str(folder / "inventory.db"))
    store = Store.open(settings.db)
    outcome = collect(
        store, settings, ScanRequest(offline=[folder / "definitions.json", folder / "assignments.json"]), plugins
    )
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    report = load_report_data(store, outcome.scan_id)
    found: dict[str, list[str]] = {d["roleName"]: [] for d in definitions}
    for finding in report.findings:
        verdict = f"{finding.rule_id} {finding.category} {finding.severity}"
        operations = [o["operation"] for o in finding.evidence.get("operations", [])]
        found[finding.subject_name].append(verdict + (f": {', '.join(operations)}" if operations else ""))
    catalogue = default_operation_catalogue()
    for definition in definitions:  # names that match no known operation: kept literally, listed for review
        role = evaluate_role(_role_document(definition), catalogue)
        found[definition["roleName"]] += [f"warning: {w}" for w in role.warnings]
    return {role: sorted(hits) for role, hits in sorted(found.items())}


def _role_document(definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": definition["id"],
        "properties": {"roleName": definition["roleName"], "permissions": definition["permissions"]},
    }


def test_every_built_in_role_is_evaluated(verdicts: dict[str, list[str]]) -> None:
    assert len(verdicts) == 928


def test_role_administrators_are_critical(verdicts: dict[str, list[str]]) -> None:
    for role in ("Owner", "User Access Administrator", "Role Based Access Control Administrator"):
        assert any(v.startswith("AZURE-RBAC-001 admin critical") for v in verdicts[role]), role


def test_reader_is_clean(verdicts: dict[str, list[str]]) -> None:
    assert verdicts["Reader"] == []


def test_granting_any_dangerous_operation_is_high_at_subscription_scope(verdicts: dict[str, list[str]]) -> None:
    assert any("userAssignedIdentities/assign/action" in v for v in verdicts["Managed Identity Operator"])
    assert any("getSecret" in v for v in verdicts["Key Vault Secrets User"])
    assert not any("getSecret" in v for v in verdicts["Contributor"])  # `*` in Actions grants no data action


def test_contributor_is_high(verdicts: dict[str, list[str]]) -> None:
    assert any(v.startswith("AZURE-RBAC-002 admin high") for v in verdicts["Contributor"])
    assert not any(v.startswith("AZURE-RBAC-001") for v in verdicts["Contributor"])


def test_verdicts_match_the_reviewed_golden_file(verdicts: dict[str, list[str]]) -> None:
    """Every role's findings; a semantic change must come with a reviewed diff of this file."""
    if os.environ.get("AGENTIAM_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(verdicts, indent=1, sort_keys=True) + "\n")
    assert verdicts == json.loads(GOLDEN.read_text())
