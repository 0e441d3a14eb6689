"""What one subscription looked like: the contract between reading (live ARM or `az` exports) and transforming.

Reading is I/O only (`get_*`); it fills a snapshot with raw ARM JSON objects (`{"id", "name", "type",
"properties": {...}}`, as the REST API returns them), not typed SDK models. Offline `az` CLI exports are read into
the same shape where they differ (for example `az role assignment list` flattens `properties`). Transforming
(`transform_*`) is pure: a snapshot in, normalised records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentiam.inventory.records import IssueRecord

RawObject = dict[str, Any]


@dataclass
class AzureSnapshot:
    subscription_id: str  # lower-case GUID; "" when an export does not say
    source: str  # "live", or the export file's path
    subscription: RawObject = field(default_factory=dict)  # displayName, tags, tenantId (for environment classes)
    role_definitions: list[RawObject] = field(default_factory=list)  # built-in and custom
    role_assignments: list[RawObject] = field(default_factory=list)  # every scope, incl. inherited from MGs / root
    deny_assignments: list[RawObject] = field(default_factory=list)
    user_assigned_identities: list[RawObject] = field(default_factory=list)
    federated_credentials: dict[str, list[RawObject]] = field(default_factory=dict)  # by identity resource id (lower)
    # Every resource that carries an `identity` field or matters to agents: function/web apps, container apps and
    # jobs, AI Services / Foundry accounts and projects, AKS clusters, VMs, ... as returned by the resource's own API
    # (full properties), or by the generic resources list when only that was read.
    resources: list[RawObject] = field(default_factory=list)
    # Sign-in activity per service principal, keyed by app id (client id); absent when it could not be read.
    sign_ins: dict[str, RawObject] | None = None
    sign_ins_unavailable: str | None = None  # why usage is unknown (403, no licence): never means "unused"
    # What could not be read (a 403 on a resource type, say), by part, with the reason.
    not_evaluated: dict[str, str] = field(default_factory=dict)
    issues: list[IssueRecord] = field(default_factory=list)
