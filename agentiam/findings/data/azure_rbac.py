"""Azure RBAC knowledge as data: privileged built-in roles, dangerous operations, and how scope sets severity.

Operation names are Azure's own (`az provider operation show`); each is checked against the bundled operation list
(azure_operations.tsv.gz) by tests/findings/test_azure_policy.py, so a typo cannot silently never match. Sources:
Microsoft's built-in roles reference (learn.microsoft.com/azure/role-based-access-control/built-in-roles), the
permissions reference per resource provider, and public Azure privilege-escalation research (Andy Robbins /
SpecterOps "Azure privilege escalation via Azure API permissions", NetSPI "Azure privilege escalation using managed
identities", Microsoft's guidance on workload identity federation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Role definition GUIDs are the same in every tenant for built-in roles.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"

# Built-in roles whose holder can give any permission to anyone (themselves included) within the scope. Known by
# GUID, so they are recognised even when an export holds the assignment but not the role definition.
PRIVILEGED_ROLES: dict[str, str] = {
    OWNER: "Owner",
    USER_ACCESS_ADMINISTRATOR: "User Access Administrator",
    RBAC_ADMINISTRATOR: "Role Based Access Control Administrator",
}

# Holding either lets the principal grant itself any role: role administration, whatever the role is called.
ROLE_ADMINISTRATION_OPERATIONS = (
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleDefinitions/write",
)

ScopeLevel = Literal["root", "management_group", "subscription", "resource_group", "resource"]
# Widest first; an assignment applies to its scope and everything below it.
SCOPE_LEVELS: tuple[ScopeLevel, ...] = ("root", "management_group", "subscription", "resource_group", "resource")
# Severity steps relative to a rule's base severity, which is stated for a subscription-scope grant.
SCOPE_SEVERITY_STEPS: dict[str, int] = {
    "root": 1,
    "management_group": 1,
    "subscription": 0,
    "resource_group": -1,
    "resource": -2,
}


@dataclass(frozen=True)
class DangerousOperation:
    operation: str  # exact operation name, matched case-insensitively
    category: str  # the finding category the operation belongs to, shown in the evidence
    severity: str  # at subscription scope
    why: str


DANGEROUS_OPERATIONS: tuple[DangerousOperation, ...] = (
    DangerousOperation(
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
        "privilege-escalation",
        "high",
        "adds a federated credential to a managed identity: any token issuer it names can then act as the identity",
    ),
    DangerousOperation(
        "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
        "privilege-escalation",
        "high",
        "attaches a managed identity to a resource the principal controls, and so acts with the identity's roles",
    ),
    DangerousOperation(
        "Microsoft.Compute/virtualMachines/runCommand/action",
        "privilege-escalation",
        "high",
        "runs commands on a VM as root/SYSTEM, including requests for the VM's managed identity tokens",
    ),
    DangerousOperation(
        "Microsoft.Compute/virtualMachines/runCommands/write",
        "privilege-escalation",
        "high",
        "managed run commands execute code on a VM and can request the VM's managed identity tokens",
    ),
    DangerousOperation(
        "Microsoft.Compute/virtualMachines/extensions/write",
        "privilege-escalation",
        "high",
        "a custom script extension executes code on a VM with the VM's managed identity",
    ),
    DangerousOperation(
        "Microsoft.Web/sites/publishxml/Action",
        "credential-exposure",
        "high",
        "returns an app's publishing profile: deployment credentials that replace its code",
    ),
    DangerousOperation(
        "Microsoft.Web/sites/config/list/Action",
        "credential-exposure",
        "high",
        "lists an app's settings and connection strings, where secrets usually sit",
    ),
    DangerousOperation(
        "Microsoft.Storage/storageAccounts/listkeys/action",
        "credential-exposure",
        "high",
        "returns storage account keys: full data access that no role assignment or log ties to a principal",
    ),
    DangerousOperation(
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "credential-exposure",
        "high",
        "reads Key Vault secret values (a data action)",
    ),
    DangerousOperation(
        "Microsoft.KeyVault/vaults/accessPolicies/write",
        "privilege-escalation",
        "high",
        "grants any principal, the caller included, access to a vault's keys, secrets and certificates",
    ),
    DangerousOperation(
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
        "credential-exposure",
        "high",
        "returns a cluster-admin kubeconfig for an AKS cluster",
    ),
    DangerousOperation(
        "Microsoft.CognitiveServices/accounts/listKeys/action",
        "credential-exposure",
        "high",
        "returns AI Services account keys, which bypass Entra authentication and its audit trail",
    ),
    DangerousOperation(
        "Microsoft.Automation/automationAccounts/runbooks/write",
        "privilege-escalation",
        "high",
        "changes runbook code that runs as the Automation account's managed identity",
    ),
    DangerousOperation(
        "Microsoft.Logic/workflows/write",
        "privilege-escalation",
        "medium",
        "changes a Logic App workflow, which runs with its managed identity and connections",
    ),
)
