"""Agent classification and ownership from configuration, shared by the AWS collectors (identities and workloads).

Every conclusion carries its evidence, so a reviewer can see why something counts as an agent's.
"""

from __future__ import annotations

from agentiam.config import ClassificationSettings, Settings
from agentiam.inventory.records import Evidence


def classify_agent(tags: dict[str, str], trusted_services: list[str], settings: Settings) -> list[Evidence]:
    """Why an AWS identity is an agent's: trusted by an agent runtime, or tagged as one."""
    evidence = [
        Evidence(reason="trusted-by-agent-service", detail=service)
        for service in trusted_services
        if service in settings.aws.agent_trusted_services
    ]
    evidence.extend(agent_tag_evidence(tags, settings.classification))
    return evidence


def agent_tag_evidence(tags: dict[str, str], classification: ClassificationSettings) -> list[Evidence]:
    """A tag with one of the configured agent keys (case-insensitive), unless its value says no."""
    keys = {k.lower() for k in classification.agent_tag_keys}
    false_values = {v.lower() for v in classification.agent_tag_false_values}
    return [
        Evidence(reason="agent-tag", detail=f"{key}={value}")
        for key, value in sorted(tags.items())
        if key.lower() in keys and value.strip().lower() not in false_values
    ]


def owner_from_tags(tags: dict[str, str], classification: ClassificationSettings) -> str | None:
    wanted = [k.lower() for k in classification.owner_tag_keys]
    by_key = {k.lower(): v for k, v in tags.items() if v.strip()}
    return next((by_key[k] for k in wanted if k in by_key), None)
