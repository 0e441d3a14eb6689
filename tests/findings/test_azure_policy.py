"""Azure RBAC semantics on the bundled operation catalogue."""

from __future__ import annotations

import pytest

from agentiam.findings.data.azure_rbac import DANGEROUS_OPERATIONS, ROLE_ADMINISTRATION_OPERATIONS
from agentiam.findings.policy.azure import covers, evaluate_role, scope_level
from agentiam.findings.policy.azure_catalogue import OperationCatalogue, default_operation_catalogue


@pytest.fixture(scope="module")
def catalogue() -> OperationCatalogue:
    return default_operation_catalogue()


def role(actions: list[str], not_actions: list[str] = (), data: list[str] = (), not_data: list[str] = ()) -> dict:  # type: ignore[assignment]
    block = {
        "actions": actions,
        "notActions": list(not_actions),
        "dataActions": list(data),
        "notDataActions": list(not_data),
    }
    return {
        "id": "/providers/Microsoft.Authorization/roleDefinitions/abc",
        "properties": {"roleName": "r", "type": "CustomRole", "permissions": [block]},
    }


def test_the_catalogue_holds_every_operation_of_the_data_tables(catalogue: OperationCatalogue) -> None:
    named = [d.operation for d in DANGEROUS_OPERATIONS] + list(ROLE_ADMINISTRATION_OPERATIONS)
    assert [op for op in named if catalogue.index(op) is None] == []
    assert len(catalogue) > 20000


def test_star_in_actions_grants_no_data_action(catalogue: OperationCatalogue) -> None:
    owner = evaluate_role(role(["*"]), catalogue)
    assert owner.grants("Microsoft.Authorization/roleAssignments/write", catalogue)
    assert not owner.grants("Microsoft.KeyVault/vaults/secrets/getSecret/action", catalogue)
    assert owner.data_actions == 0


def test_not_actions_take_operations_out_of_the_same_block_only(catalogue: OperationCatalogue) -> None:
    contributor = evaluate_role(role(["*"], ["Microsoft.Authorization/*/Write"]), catalogue)
    assert not contributor.grants("Microsoft.Authorization/roleAssignments/write", catalogue)
    assert contributor.grants("Microsoft.Compute/virtualMachines/runCommand/action", catalogue)


def test_data_actions_minus_not_data_actions(catalogue: OperationCatalogue) -> None:
    reader = evaluate_role(
        role([], data=["Microsoft.KeyVault/vaults/secrets/*"], not_data=["*/getSecret/action"]), catalogue
    )
    assert reader.grants("Microsoft.KeyVault/vaults/secrets/readMetadata/action", catalogue)
    assert not reader.grants("Microsoft.KeyVault/vaults/secrets/getSecret/action", catalogue)


def test_patterns_match_case_insensitively(catalogue: OperationCatalogue) -> None:
    runner = evaluate_role(role(["microsoft.compute/VIRTUALMACHINES/*"]), catalogue)
    assert runner.grants("Microsoft.Compute/virtualMachines/runCommand/action", catalogue)


def test_unknown_operations_are_kept_and_reported_never_dropped(catalogue: OperationCatalogue) -> None:
    odd = evaluate_role(role(["Contoso.Widgets/gadgets/write", "Microsoft.Web/sites/read"]), catalogue)
    assert odd.warnings == ("action 'Contoso.Widgets/gadgets/write' matches no known operation (kept as written)",)
    assert odd.grants("Contoso.Widgets/gadgets/write", catalogue)  # matched literally
    assert odd.grants("Microsoft.Web/sites/read", catalogue)


def test_scope_levels_from_widest_to_narrowest() -> None:
    assert scope_level("/") == "root"
    assert scope_level("/providers/Microsoft.Management/managementGroups/corp") == "management_group"
    assert scope_level("/subscriptions/s1") == "subscription"
    assert scope_level("/subscriptions/s1/resourceGroups/rg") == "resource_group"
    assert scope_level("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/a") == "resource"


def test_an_assignment_covers_its_scope_and_everything_below() -> None:
    assert covers("/subscriptions/S1", "/subscriptions/s1/resourcegroups/rg")
    assert covers("/", "/subscriptions/s1")
    assert not covers("/subscriptions/s1/resourceGroups/rg", "/subscriptions/s1")
    assert not covers("/subscriptions/s1", "/subscriptions/s10")


def test_a_data_action_listed_under_actions_grants_nothing_and_is_reported(catalogue: OperationCatalogue) -> None:
    misplaced = evaluate_role(role(["Microsoft.KeyVault/vaults/secrets/getSecret/action"]), catalogue)
    assert not misplaced.grants("Microsoft.KeyVault/vaults/secrets/getSecret/action", catalogue)
    assert misplaced.warnings == (
        "action 'Microsoft.KeyVault/vaults/secrets/getSecret/action' names only data actions, which it cannot grant "
        "there",
    )
