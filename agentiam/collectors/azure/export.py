"""Offline `az` exports read into AzureSnapshot's raw ARM shape; the format is told from the content.

Accepted, as a JSON list or an ARM list response (`{"value": [...]}`, e.g. from `az rest`):
- `az role assignment list --all [--include-inherited]`   (flat: principalId, roleDefinitionId, scope, ...)
- `az role definition list [--custom-role-only]`          (flat: roleName, roleType, permissions, ...)
- ARM deny assignments (`az rest --url .../providers/Microsoft.Authorization/denyAssignments?api-version=...`)
- `az identity list`                                      (flat: principalId, clientId, tenantId)
- `az identity federated-credential list ...`             (issuer, subject, audiences)
- `az resource list` / `az resource show --ids ...`       (id, type, kind, identity, tags, properties when shown)
- `az account list`                                       (subscriptions: display names and tenants)
- Microsoft Graph `reports/servicePrincipalSignInActivities` (appId, lastSignInActivity)

Each entry is classified on its own, so one file may mix kinds (`az resource list` also lists identities). The
flat `az` shapes are rewritten into ARM's `{"id", "name", "type", "properties"}` so that the transform reads one
shape, whether the data came from the CLI or from the live API. Entries that fit no kind are reported by the
transform's caller with their position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentiam.collectors.azure.snapshot import AzureSnapshot, RawObject
from agentiam.inventory.records import IssueRecord

ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
ROLE_DEFINITION = "microsoft.authorization/roledefinitions"
DENY_ASSIGNMENT = "microsoft.authorization/denyassignments"
USER_ASSIGNED_IDENTITY = "microsoft.managedidentity/userassignedidentities"
FEDERATED_CREDENTIAL = "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials"
FORMAT = (
    "az role assignment list / role definition list / identity list / identity federated-credential list / "
    "resource list / account list, or Graph servicePrincipalSignInActivities (JSON)"
)


def entries_of(document: Any) -> list[Any] | None:
    """The entries of a list document (a JSON list, or an ARM/Graph list response), else None."""
    if isinstance(document, list):
        return document
    if (
        isinstance(document, dict)
        and isinstance(document.get("value"), list)
        and set(document)
        <= {
            "value",
            "nextLink",
            "@odata.context",
            "@odata.nextLink",
        }
    ):
        return document["value"]
    return None


def kind_of(entry: Any) -> str | None:
    """Which export an entry comes from, from its own keys; None when it is no Azure object agentiam reads."""
    if not isinstance(entry, dict):
        return None
    declared = str(entry.get("type") or "").lower()
    if declared in (ROLE_ASSIGNMENT, ROLE_DEFINITION, DENY_ASSIGNMENT, USER_ASSIGNED_IDENTITY, FEDERATED_CREDENTIAL):
        return declared
    if "appId" in entry and "lastSignInActivity" in entry:
        return "sign_in"
    if {"principalId", "roleDefinitionId", "scope"} <= entry.keys():
        return ROLE_ASSIGNMENT
    if {"roleName", "permissions"} <= entry.keys():
        return ROLE_DEFINITION
    if {"issuer", "subject"} <= entry.keys() and "/federatedidentitycredentials/" in str(entry.get("id", "")).lower():
        return FEDERATED_CREDENTIAL
    if {"tenantId", "isDefault"} <= entry.keys() and "id" in entry:
        return "subscription"
    if isinstance(entry.get("id"), str) and "/providers/" in entry["id"].lower() and declared:
        return "resource"
    return None


def looks_like_az_export(document: Any) -> bool:
    entries = entries_of(document)
    if entries is None:
        return False
    return not entries or any(kind_of(entry) for entry in entries[:50])


def _properties(entry: RawObject, keys: tuple[str, ...]) -> RawObject:
    """ARM shape for a flat `az` entry: the named keys move under `properties` (an ARM entry is kept as it is)."""
    if isinstance(entry.get("properties"), dict):
        return entry
    properties = {key: entry[key] for key in keys if key in entry}
    rest = {key: value for key, value in entry.items() if key not in keys}
    return {**rest, "properties": properties}


_ASSIGNMENT_KEYS = (
    "principalId",
    "principalType",
    "principalName",
    "roleDefinitionId",
    "roleDefinitionName",
    "scope",
    "condition",
    "conditionVersion",
    "description",
    "createdOn",
    "updatedOn",
)
_IDENTITY_KEYS = ("principalId", "clientId", "tenantId")
_CREDENTIAL_KEYS = ("issuer", "subject", "audiences", "claimsMatchingExpression")


def _role_definition(entry: RawObject) -> RawObject:
    if isinstance(entry.get("properties"), dict):
        return entry
    properties = {
        "roleName": entry.get("roleName"),
        "type": entry.get("roleType"),
        "description": entry.get("description"),
        "permissions": entry.get("permissions"),
        "assignableScopes": entry.get("assignableScopes"),
    }
    return {"id": entry.get("id"), "name": entry.get("name"), "type": entry.get("type"), "properties": properties}


def subscription_in(resource_id: str) -> str:
    parts = [p for p in resource_id.lower().split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0] == "subscriptions" else ""


def identity_of_credential(credential_id: str) -> str:
    """The user-assigned identity's resource id (lower-case) from a federated credential's id."""
    return credential_id.lower().rsplit("/federatedidentitycredentials/", 1)[0]


@dataclass
class AzureExport:
    """What one export file holds: ARM objects, and the subscriptions an `az account list` describes."""

    snapshot: AzureSnapshot
    subscriptions: dict[str, RawObject] = field(default_factory=dict)  # by subscription id (lower)


def read_export(document: Any, source: str) -> AzureExport:
    """What one export file holds; an entry of no known kind becomes an error issue naming it."""
    snapshot = AzureSnapshot(subscription_id="", source=source)
    export = AzureExport(snapshot)
    subscriptions: set[str] = set()
    for position, entry in enumerate(entries_of(document) or []):
        kind = kind_of(entry)
        where = f"{source}: entry [{position}]" + (f" ({entry.get('id') or entry.get('name')})" if kind else "")
        if kind is None:
            problem = "not an Azure role assignment, role definition, identity, credential or resource; skipped"
            snapshot.issues.append(IssueRecord(subject_uid=None, source=where, problem=problem))
            continue
        if kind == "sign_in":
            snapshot.sign_ins = snapshot.sign_ins or {}
            snapshot.sign_ins[str(entry["appId"]).lower()] = entry
            continue
        if kind == "subscription":
            export.subscriptions[str(entry["id"]).lower()] = entry
            continue
        subscriptions.add(subscription_in(str(entry.get("id") or entry.get("scope") or "")))
        if kind == ROLE_ASSIGNMENT:
            snapshot.role_assignments.append(_properties(entry, _ASSIGNMENT_KEYS))
        elif kind == ROLE_DEFINITION:
            snapshot.role_definitions.append(_role_definition(entry))
        elif kind == DENY_ASSIGNMENT:
            snapshot.deny_assignments.append(entry)
        elif kind == USER_ASSIGNED_IDENTITY:
            snapshot.user_assigned_identities.append(_properties(entry, _IDENTITY_KEYS))
        elif kind == FEDERATED_CREDENTIAL:
            parent = identity_of_credential(str(entry.get("id", "")))
            snapshot.federated_credentials.setdefault(parent, []).append(_properties(entry, _CREDENTIAL_KEYS))
        else:
            snapshot.resources.append(entry)
    subscriptions.discard("")
    if len(subscriptions) == 1:
        snapshot.subscription_id = subscriptions.pop()
    return export
