"""The normalised records that collectors yield and the store writes.

This is the contract between collectors and the inventory: a collector never touches the database, it yields these
validated records. Timestamps are timezone-aware UTC; tags and attributes are plain JSON-able dicts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Provider = Literal["aws", "azure", "kubernetes"]


def canonical_json(document: Any) -> str:
    """One spelling per document, so that equal documents hash equally."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(document: Any) -> str:
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _naive_datetimes_are_utc(cls, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Evidence(BaseModel):
    """Why something was classified as it was (for example, why an identity is an agent's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str
    detail: str


class IdentityRecord(Record):
    """Something a workload runs as: AWS role or user, Azure identity, Kubernetes service account."""

    uid: str  # provider + canonical native id, e.g. "aws:arn:aws:iam::123456789012:role/x"
    provider: Provider
    identity_kind: str  # aws_role, aws_user, azure_managed_identity, k8s_service_account, ...
    name: str
    native_id: str
    scope: str  # account id, subscription id, cluster name
    path: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    owner: str | None = None
    is_agent: bool = False
    agent_evidence: list[Evidence] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


class WorkloadRecord(Record):
    """Something that runs: a pod, a function, an agent runtime."""

    uid: str
    provider: Provider
    workload_kind: str  # lambda_function, bedrock_agent, k8s_pod, ...
    name: str
    scope: str
    tags: dict[str, str] = Field(default_factory=dict)
    is_agent: bool = False
    agent_evidence: list[Evidence] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


BindingMechanism = Literal[
    "lambda_exec_role",
    "irsa",
    "eks_pod_identity",
    "azure_workload_identity",
    "azure_mi",
    "k8s_sa",
    "bedrock_service_role",
    "gke_workload_identity",
]


class BindingRecord(Record):
    """A workload runs as an identity."""

    workload_uid: str
    identity_uid: str
    mechanism: BindingMechanism
    attributes: dict[str, Any] = Field(default_factory=dict)


class PolicyRecord(Record):
    """A permission document, stored once and keyed by the hash of its content."""

    provider: Provider
    policy_kind: str  # aws_iam_policy, azure_role_definition, k8s_role, ...
    document: Any

    @cached_property
    def canonical(self) -> str:
        return canonical_json(self.document)

    @cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()


class GrantRecord(Record):
    """An identity holds a policy, at a scope, through some attachment."""

    identity_uid: str
    policy_hash: str
    policy_name: str
    policy_ref: str  # the native id of the policy: a managed policy ARN, or "<principal>/inline/<name>"
    policy_source: str  # aws_managed, customer_managed, inline, group_inline, group_managed, ...
    grant_kind: Literal["permission", "boundary", "role_assignment", "deny_assignment", "role_binding"] = "permission"
    via: str | None = None  # e.g. the group that passes the policy on
    scope: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)  # e.g. an assignment's condition, a missing role


class TrustRecord(Record):
    """Who can become an identity, and under which conditions."""

    identity_uid: str
    principal_type: str  # AWS, Service, Federated, CanonicalUser, *
    principal: str
    actions: list[str] = Field(default_factory=list)
    conditions: dict[str, Any] = Field(default_factory=dict)
    effect: Literal["Allow", "Deny"] = "Allow"


class UsageRecord(Record):
    """Evidence that an identity or credential was used."""

    subject_uid: str
    usage_kind: str  # role_last_used, access_key_last_used, service_last_accessed, sign_in
    last_used_at: datetime | None = None
    source: str
    detail: dict[str, Any] = Field(default_factory=dict)


class CredentialRecord(Record):
    """Metadata of long-lived secret material. Never the value: a kind and a short non-reversible fingerprint."""

    uid: str
    holder_uid: str
    credential_kind: str  # aws_access_key, env_secret, ...
    name: str
    fingerprint: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class IssueRecord(Record):
    """Something a collector could not read or understand, kept so that it is reported, never silently dropped."""

    subject_uid: str | None
    source: str  # a file, an API operation, a policy reference
    problem: str
    severity: Literal["error", "warning"] = "error"


AnyRecord = (
    IdentityRecord
    | WorkloadRecord
    | BindingRecord
    | PolicyRecord
    | GrantRecord
    | TrustRecord
    | UsageRecord
    | CredentialRecord
    | IssueRecord
)
