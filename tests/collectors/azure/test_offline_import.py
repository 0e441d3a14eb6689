"""Offline `az` exports: format detection, joining files in any order, and what each part becomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentiam.collectors.azure.collector import AzureCollector
from agentiam.collectors.azure.export import read_export
from agentiam.collectors.azure.transform import AzureReference, reference_of, transform_snapshot
from agentiam.config import Settings
from agentiam.inventory import views
from agentiam.inventory.records import (
    BindingRecord,
    IdentityRecord,
    IssueRecord,
    TrustRecord,
    UsageRecord,
    WorkloadRecord,
)
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, collect
from agentiam.plugins import Plugins

SUB = "11111111-1111-4111-8111-111111111111"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
UAMI_ID = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-agent"
UAMI_PRINCIPAL = "aaaaaaaa-0000-4000-8000-000000000001"
UAMI_CLIENT = "CCCCCCCC-0000-4000-8000-000000000001"
AKS_ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant/cluster/"

DEFINITIONS = [
    {
        "id": f"/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        "name": READER,
        "roleName": "Reader",
        "roleType": "BuiltInRole",
        "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": ["/"],
        "type": "Microsoft.Authorization/roleDefinitions",
    }
]


def assignment(
    principal: str, principal_type: str = "ServicePrincipal", scope: str = f"/subscriptions/{SUB}"
) -> dict[str, Any]:
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{principal[-4:]}",
        "principalId": principal,
        "principalName": f"name-{principal[-4:]}",
        "principalType": principal_type,
        "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        "roleDefinitionName": "Reader",
        "scope": scope,
        "type": "Microsoft.Authorization/roleAssignments",
    }


IDENTITIES = [
    {
        "id": UAMI_ID,
        "name": "id-agent",
        "principalId": UAMI_PRINCIPAL,
        "clientId": UAMI_CLIENT,
        "tenantId": "tenant",
        "tags": {"owner": "ml@example.com"},
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
    }
]
CREDENTIALS = [
    {
        "id": f"{UAMI_ID}/federatedIdentityCredentials/planner",
        "name": "planner",
        "issuer": AKS_ISSUER,
        "subject": "system:serviceaccount:agents:planner",
        "audiences": ["api://AzureADTokenExchange"],
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
    }
]
FUNCTION_APP = {
    "id": f"{RG}/providers/Microsoft.Web/sites/invoice-agent",
    "name": "invoice-agent",
    "type": "Microsoft.Web/sites",
    "kind": "functionapp,linux",
    "tags": {"ai-agent": "true"},
    "identity": {
        "type": "SystemAssigned, UserAssigned",
        "principalId": "bbbbbbbb-0000-4000-8000-000000000002",
        "tenantId": "tenant",
        "userAssignedIdentities": {UAMI_ID: {"principalId": UAMI_PRINCIPAL, "clientId": UAMI_CLIENT}},
    },
}


def scan(tmp_path: Path, settings: Settings, plugins: Plugins, *documents: Any) -> tuple[Store, int]:
    paths = []
    for position, document in enumerate(documents):
        path = tmp_path / f"az-{position}.json"
        path.write_text(json.dumps(document))
        paths.append(path)
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=paths), plugins)
    return store, outcome.scan_id


@pytest.mark.parametrize(
    "document",
    [DEFINITIONS, [assignment(UAMI_PRINCIPAL)], IDENTITIES, CREDENTIALS, [FUNCTION_APP], {"value": [FUNCTION_APP]}, []],
)
def test_az_exports_are_recognised_from_their_content(document: Any) -> None:
    assert AzureCollector().detect(document)


@pytest.mark.parametrize("document", [{"RoleDetailList": []}, {"Functions": []}, {"kind": "List", "items": []}, [1, 2]])
def test_other_documents_are_not_taken_for_az_exports(document: Any) -> None:
    assert not AzureCollector().detect(document)


@pytest.mark.parametrize("order", ["definitions first", "assignments first"])
def test_assignments_meet_their_role_definitions_whatever_the_file_order(
    order: str, tmp_path: Path, settings: Settings, plugins: Plugins
) -> None:
    files = [DEFINITIONS, [assignment(UAMI_PRINCIPAL)]]
    store, scan_id = scan(tmp_path, settings, plugins, *(files if order == "definitions first" else files[::-1]))
    with store.read() as conn:
        grants = views.grants(conn, scan_id)
        issues = views.issues(conn, scan_id)
    assert grants[["policy_name", "policy_source", "scope"]].values.tolist() == [
        ["Reader", "builtin", f"/subscriptions/{SUB}"]
    ]
    assert grants["attributes"][0]["role_missing"] is False
    assert issues.empty


def test_an_assignment_without_its_definition_is_kept_and_says_so(
    tmp_path: Path, settings: Settings, plugins: Plugins
) -> None:
    store, scan_id = scan(tmp_path, settings, plugins, [assignment(UAMI_PRINCIPAL)])
    with store.read() as conn:
        grants = views.grants(conn, scan_id)
        issues = views.issues(conn, scan_id)
        scan_row = views.scan(conn, scan_id)
    assert grants["policy_name"].tolist() == ["Reader"]
    assert grants["attributes"][0]["role_missing"] is True
    assert "is assigned but its definition is not in the scan" in issues["problem"][0]
    assert scan_row is not None and scan_row["status"] == "complete"  # a warning, not a failed part


def test_inherited_management_group_assignments_keep_their_scope_and_users_are_only_counted() -> None:
    mg = "/providers/Microsoft.Management/managementGroups/Corp"
    document = [assignment(UAMI_PRINCIPAL, scope=mg), assignment("dddddddd-0000-4000-8000-000000000004", "User")]
    records = transform_snapshot(read_export(document, "assignments.json").snapshot, Settings())
    grants = [r for r in records if r.__class__.__name__ == "GrantRecord"]
    assert [g.scope for g in grants] == [mg.lower()]
    warnings = [r.problem for r in records if isinstance(r, IssueRecord)]
    assert any("1 to users" in w for w in warnings)


def test_a_malformed_entry_is_skipped_with_an_error_naming_file_and_entry(
    tmp_path: Path, settings: Settings, plugins: Plugins
) -> None:
    broken = {**assignment("eeeeeeee-0000-4000-8000-000000000005"), "principalId": None}
    store, scan_id = scan(tmp_path, settings, plugins, DEFINITIONS, [broken, assignment(UAMI_PRINCIPAL)])
    with store.read() as conn:
        issues = views.issues(conn, scan_id)
        grants = views.grants(conn, scan_id)
        scan_row = views.scan(conn, scan_id)
    assert len(grants) == 1
    error = issues[issues["severity"] == "error"].iloc[0]
    assert error["source"].endswith("az-1.json: roleAssignments[0] (" + broken["id"] + ")")
    assert error["problem"] == "malformed entry skipped: principalId is missing"
    assert scan_row is not None and scan_row["status"] == "partial"


def test_identities_credentials_and_resources_become_records_with_links(settings: Settings) -> None:
    exports = [
        read_export(d, f"file-{i}")
        for i, d in enumerate([IDENTITIES, CREDENTIALS, [FUNCTION_APP], [assignment(UAMI_PRINCIPAL)]])
    ]
    reference = AzureReference()
    for export in exports:
        reference.add(export.snapshot)
    records = [r for e in exports for r in transform_snapshot(e.snapshot, settings, reference)]
    identities = {r.uid: r for r in records if isinstance(r, IdentityRecord)}
    uami = identities[f"azure:{UAMI_PRINCIPAL}"]
    assert uami.identity_kind == "azure_user_assigned_identity"
    assert uami.attributes["aliases"] == [f"azure:{UAMI_ID.lower()}", f"azure:client-id:{UAMI_CLIENT.lower()}"]
    assert uami.attributes["attached_resources"] == [FUNCTION_APP["id"]]
    assert uami.attributes["sign_in_activity"] == "unknown"
    assert uami.owner == "ml@example.com"
    # the assignment did not make a second, service-principal record of the managed identity
    assert [r.identity_kind for r in identities.values()].count("azure_service_principal") == 0
    system = identities["azure:bbbbbbbb-0000-4000-8000-000000000002"]
    assert (system.identity_kind, system.native_id) == ("azure_system_assigned_identity", FUNCTION_APP["id"])
    (workload,) = [r for r in records if isinstance(r, WorkloadRecord)]
    assert (workload.workload_kind, workload.is_agent) == ("azure_function_app", True)
    assert workload.uid == f"azure:{FUNCTION_APP['id'].lower()}"
    bindings = {(b.workload_uid, b.identity_uid, b.mechanism) for b in records if isinstance(b, BindingRecord)}
    assert bindings == {
        (workload.uid, f"azure:{UAMI_PRINCIPAL}", "azure_mi"),
        (workload.uid, "azure:bbbbbbbb-0000-4000-8000-000000000002", "azure_mi"),
        (
            f"kubernetes:oidc:{AKS_ISSUER}:serviceaccount:agents/planner",
            f"azure:{UAMI_PRINCIPAL}",
            "azure_workload_identity",
        ),
    }
    (trust,) = [r for r in records if isinstance(r, TrustRecord)]
    assert (trust.principal_type, trust.principal) == ("Federated", AKS_ISSUER)
    assert trust.conditions["subject"] == "system:serviceaccount:agents:planner"
    assert trust.conditions["audiences"] == ["api://AzureADTokenExchange"]


def test_sign_in_activity_becomes_usage_and_absence_of_a_listing_is_recorded(settings: Settings) -> None:
    sign_ins = {
        "value": [{"appId": UAMI_CLIENT.lower(), "lastSignInActivity": {"lastSignInDateTime": "2026-11-01T10:00:00Z"}}]
    }
    other = {
        **IDENTITIES[0],
        "id": UAMI_ID + "2",
        "principalId": "ffffffff-0000-4000-8000-000000000006",
        "clientId": "c2",
    }
    exports = [read_export([*IDENTITIES, other], "ids"), read_export(sign_ins, "sign-ins")]
    reference = reference_of(e.snapshot for e in exports)
    usage = [r for r in transform_snapshot(exports[1].snapshot, settings, reference) if isinstance(r, UsageRecord)]
    assert {(u.subject_uid, u.last_used_at is not None) for u in usage} == {
        (f"azure:{UAMI_PRINCIPAL}", True),
        ("azure:ffffffff-0000-4000-8000-000000000006", False),
    }
    (identity, _) = [
        r for r in transform_snapshot(exports[0].snapshot, settings, reference) if isinstance(r, IdentityRecord)
    ]
    assert identity.attributes["sign_in_activity"] == "recorded"


@pytest.mark.parametrize(
    ("resource_type", "kind", "workload_kind", "agent"),
    [
        ("Microsoft.Web/sites", "functionapp,linux", "azure_function_app", False),
        ("Microsoft.Web/sites", "functionapp,workflowapp", "azure_logic_app", False),
        ("Microsoft.Web/sites", "app,linux", "azure_web_app", False),
        ("Microsoft.App/containerApps", None, "azure_container_app", False),
        ("Microsoft.App/jobs", None, "azure_container_app_job", False),
        ("Microsoft.CognitiveServices/accounts", "AIServices", "azure_ai_account", False),
        ("Microsoft.CognitiveServices/accounts/projects", None, "azure_ai_project", True),
        ("Microsoft.CognitiveServices/accounts/projects/applications", None, "azure_ai_agent", True),
        ("Microsoft.MachineLearningServices/workspaces", "Project", "azure_ai_project", True),
        ("Microsoft.ContainerService/managedClusters", None, "azure_aks_cluster", False),
        ("Microsoft.Compute/virtualMachines", None, "azure_vm", False),
        ("Microsoft.Automation/automationAccounts", None, "azure_resource", False),
    ],
)
def test_each_resource_kind_is_a_workload_of_its_own_kind(
    resource_type: str, kind: str | None, workload_kind: str, agent: bool, settings: Settings
) -> None:
    resource = {
        "id": f"{RG}/providers/{resource_type}/x",
        "name": "x",
        "type": resource_type,
        "kind": kind,
        "identity": {"type": "SystemAssigned", "principalId": "99999999-0000-4000-8000-000000000009"},
    }
    records = transform_snapshot(read_export([resource], "resources.json").snapshot, settings)
    (workload,) = [r for r in records if isinstance(r, WorkloadRecord)]
    assert (workload.workload_kind, workload.is_agent) == (workload_kind, agent)


def test_a_resource_without_an_identity_that_runs_nothing_is_not_a_workload(settings: Settings) -> None:
    vault = {"id": f"{RG}/providers/Microsoft.KeyVault/vaults/kv", "name": "kv", "type": "Microsoft.KeyVault/vaults"}
    assert transform_snapshot(read_export([vault], "resources.json").snapshot, settings) == []


def test_a_malformed_resource_costs_only_itself(settings: Settings) -> None:
    broken = {
        **FUNCTION_APP,
        "id": f"{RG}/providers/Microsoft.Web/sites/broken",
        "identity": {"userAssignedIdentities": ["x"]},
    }
    exports = read_export([broken, FUNCTION_APP], "resources.json")
    records = transform_snapshot(exports.snapshot, settings, reference_of([exports.snapshot]))
    errors = [r for r in records if isinstance(r, IssueRecord) and r.severity == "error"]
    assert [e.source for e in errors] == [f"resources.json: resources[0] ({broken['id']})"]
    assert [r.name for r in records if isinstance(r, WorkloadRecord)] == ["invoice-agent"]  # nothing of the broken one
