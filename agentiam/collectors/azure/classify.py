"""What an Azure resource is to agentiam (workload kind, agent or not, and why) and which environment a
subscription belongs to. Configuration-driven; every conclusion carries its evidence."""

from __future__ import annotations

from typing import Any

from agentiam.collectors.aws.classify import agent_tag_evidence
from agentiam.collectors.azure.snapshot import RawObject
from agentiam.config import AzureSettings, Settings
from agentiam.inventory.records import Evidence

ML_WORKSPACE = "microsoft.machinelearningservices/workspaces"  # hub-based Foundry: kind Hub or Project
_KINDS_BY_TYPE = {
    "microsoft.web/sites": "azure_web_app",
    "microsoft.logic/workflows": "azure_logic_app",
    "microsoft.app/containerapps": "azure_container_app",
    "microsoft.app/jobs": "azure_container_app_job",
    "microsoft.cognitiveservices/accounts": "azure_ai_account",
    "microsoft.cognitiveservices/accounts/projects": "azure_ai_project",
    # Foundry agent applications and their deployments (API 2025-10-01-preview and later)
    "microsoft.cognitiveservices/accounts/projects/applications": "azure_ai_agent",
    "microsoft.cognitiveservices/accounts/projects/applications/agentdeployments": "azure_ai_agent",
    "microsoft.containerservice/managedclusters": "azure_aks_cluster",
    "microsoft.compute/virtualmachines": "azure_vm",
}


def workload_kind(resource: RawObject) -> str | None:
    """The workload kind of a resource that runs code or agents; None for other resources (they are workloads only
    when they carry an identity: `azure_resource`)."""
    resource_type = str(resource.get("type") or "").lower()
    kind = str(resource.get("kind") or "").lower()
    if resource_type == "microsoft.web/sites":
        if "workflowapp" in kind:
            return "azure_logic_app"
        if "functionapp" in kind:
            return "azure_function_app"
    if resource_type == ML_WORKSPACE:
        return {"project": "azure_ai_project", "hub": "azure_ai_account"}.get(kind)
    return _KINDS_BY_TYPE.get(resource_type)


def agent_evidence(resource: RawObject, kind: str, tags: dict[str, str], settings: Settings) -> list[Evidence]:
    """A Foundry project or agent is an agent runtime by what it is; anything else is an agent when tagged as one."""
    evidence = []
    if kind == "azure_ai_project":
        evidence.append(Evidence(reason="foundry-project", detail=str(resource.get("name") or "")))
    if kind == "azure_ai_agent":
        evidence.append(Evidence(reason="foundry-agent", detail=str(resource.get("name") or "")))
    evidence.extend(agent_tag_evidence(tags, settings.classification))
    return evidence


def tags_of(resource: RawObject) -> dict[str, str]:
    tags = resource.get("tags") or {}
    if not isinstance(tags, dict):
        raise ValueError("tags must be an object")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}


def environment_class(subscription_id: str, subscription: RawObject | None, settings: AzureSettings) -> str | None:
    """A subscription's environment class: configured by id or display name, else its environment tag."""
    by_key = {key.lower(): value for key, value in settings.environments.items()}
    if subscription_id.lower() in by_key:
        return by_key[subscription_id.lower()]
    subscription = subscription or {}
    name = str(subscription.get("displayName") or subscription.get("name") or "").lower()
    if name and name in by_key:
        return by_key[name]
    tags: dict[str, Any] = subscription.get("tags") or {}
    wanted = settings.environment_tag_key.lower()
    return next((str(v) for k, v in tags.items() if k.lower() == wanted and v), None)
