"""How Azure things are named in the inventory (the cross-provider uid contract), shared by the transform and the
permission semantics."""

from __future__ import annotations

EVERYONE = "00000000-0000-0000-0000-000000000000"  # the principal id deny assignments use for "all principals"
EVERYONE_UID = "azure:everyone"


def uid(principal_id: str) -> str:
    """An Entra principal (managed identity or service principal), by object id."""
    return f"azure:{principal_id.lower()}"


def resource_uid(resource_id: str) -> str:
    """An ARM resource (a workload), or a user-assigned identity named by its resource id (an alias)."""
    return f"azure:{resource_id.lower()}"


def client_id_alias(client_id: str) -> str:
    return f"azure:client-id:{client_id.lower()}"


def definition_guid(definition_id: str) -> str:
    """A role definition's GUID, whichever scope its id is written at."""
    return definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
