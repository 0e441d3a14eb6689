"""AWS IAM: roles, users, groups and their policies, from `GetAccountAuthorizationDetails`.

`get_authorization_details` does the I/O. `transform_authorization_details` is pure and shared by the live path and
the offline import of `aws iam get-account-authorization-details` output, so both produce identical records.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentiam.collectors.aws.accounts import AwsCollector
from agentiam.collectors.aws.classify import classify_agent, owner_from_tags
from agentiam.collectors.aws.session import client, describe_error, make_session
from agentiam.collectors.base import CollectContext, OfflineImport, Scope
from agentiam.config import Settings
from agentiam.errors import CollectorError
from agentiam.inventory.records import (
    AnyRecord,
    CredentialRecord,
    GrantRecord,
    IdentityRecord,
    IssueRecord,
    PolicyRecord,
    TrustRecord,
    UsageRecord,
    content_hash,
)

AUTHZ_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


def uid(arn: str) -> str:
    return f"aws:{arn}"


# -- I/O -------------------------------------------------------------------------------------------------------


def get_authorization_details(iam: Any) -> dict[str, list[dict[str, Any]]]:
    """Every page of GetAccountAuthorizationDetails, merged into the shape the AWS CLI prints."""
    merged: dict[str, list[dict[str, Any]]] = {key: [] for key in AUTHZ_LISTS}
    for page in iam.get_paginator("get_account_authorization_details").paginate():
        for key in AUTHZ_LISTS:
            merged[key].extend(page.get(key, []))
    return merged


def get_access_keys(iam: Any, user_name: str) -> list[dict[str, Any]]:
    """Access-key metadata (never the secret) with last use, for one user."""
    keys = []
    for page in iam.get_paginator("list_access_keys").paginate(UserName=user_name):
        for key in page["AccessKeyMetadata"]:
            last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"]).get("AccessKeyLastUsed", {})
            keys.append({**key, "LastUsed": last_used})
    return keys


# -- transform ---------------------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _document(raw: Any) -> Any:
    """Policy documents come as objects (CLI, boto3) or URL-encoded JSON strings (raw API); keep the rest as is."""
    if isinstance(raw, str):
        for candidate in (raw, urllib.parse.unquote(raw)):
            try:
                return json.loads(candidate)
            except json.JSONDecodeError:
                continue
    return raw


def _tags(entity: dict[str, Any]) -> dict[str, str]:
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in entity.get("Tags") or []}


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _trust_records(identity_uid: str, document: Any) -> list[TrustRecord]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    records = []
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else list(actions)
        principal = statement.get("Principal", {})
        pairs = (
            [("*", "*")]
            if principal == "*"
            else [
                (kind, value)
                for kind, values in (principal.items() if isinstance(principal, dict) else [])
                for value in ([values] if isinstance(values, str) else values)
            ]
        )
        for kind, value in pairs:
            records.append(
                TrustRecord(
                    identity_uid=identity_uid,
                    principal_type=kind,
                    principal=str(value),
                    actions=actions,
                    conditions=statement.get("Condition", {}) or {},
                    effect="Deny" if statement.get("Effect") == "Deny" else "Allow",
                )
            )
    return records


def trusted_services(trust: list[TrustRecord]) -> list[str]:
    return sorted({t.principal for t in trust if t.principal_type == "Service" and t.effect == "Allow"})


class _Transformer:
    """Walks one authorization-details document, keeping the policy index and the issues it finds."""

    def __init__(self, details: dict[str, Any], settings: Settings, source: str) -> None:
        self.details = details
        self.settings = settings
        self.source = source
        self.records: list[AnyRecord] = []
        self.managed: dict[str, tuple[str, str]] = {}  # policy ARN -> (hash, name)
        self.emitted_policies: set[str] = set()
        self.groups = {g.get("GroupName"): g for g in details.get("GroupDetailList") or []}

    def policy(self, document: Any, kind: str = "aws_iam_policy") -> str:
        record = PolicyRecord(provider="aws", policy_kind=kind, document=document)
        if record.hash not in self.emitted_policies:
            self.emitted_policies.add(record.hash)
            self.records.append(record)
        return record.hash

    def index_managed_policies(self) -> None:
        attached = self._attached_arns()
        for position, policy in enumerate(self.details.get("Policies") or []):
            if not isinstance(policy, dict):
                self.issue(None, f"Policies[{position}]", "malformed entry skipped: expected an object")
                continue
            arn = policy.get("Arn", "")
            # Unattached AWS-managed policies are catalogue noise, not part of this account's estate.
            if arn.startswith(AWS_MANAGED_PREFIX) and arn not in attached:
                continue
            default = next((v for v in policy.get("PolicyVersionList") or [] if v.get("IsDefaultVersion")), None)
            if default is None:
                self.issue(None, arn, "managed policy has no default version in the export; not evaluated")
                continue
            name = policy.get("PolicyName") or arn.rsplit("/", 1)[-1]
            self.managed[arn] = (self.policy(_document(default.get("Document"))), name)

    def _attached_arns(self) -> set[str]:
        arns = set()
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
            for entity in self.details.get(key) or []:
                if not isinstance(entity, dict):
                    continue  # reported when the entry itself is walked
                arns.update(p.get("PolicyArn", "") for p in entity.get("AttachedManagedPolicies") or [])
                boundary = entity.get("PermissionsBoundary") or {}
                arns.add(boundary.get("PermissionsBoundaryArn", ""))
        return arns

    def issue(self, subject: str | None, where: str, problem: str, severity: str = "error") -> None:
        self.records.append(
            IssueRecord(subject_uid=subject, source=f"{self.source}: {where}", problem=problem, severity=severity)  # type: ignore[arg-type]
        )

    def grants(self, identity_uid: str, arn: str, entity: dict[str, Any], inline_key: str, via: str | None) -> None:
        inline_source = "group_inline" if via else "inline"
        managed_source = "group_managed" if via else None
        owner_arn = entity.get("Arn", arn)
        for inline in entity.get(inline_key) or []:
            name = inline.get("PolicyName", "?")
            self.records.append(
                GrantRecord(
                    identity_uid=identity_uid,
                    policy_hash=self.policy(_document(inline.get("PolicyDocument"))),
                    policy_name=name,
                    policy_ref=f"{owner_arn}/inline/{name}",
                    policy_source=inline_source,
                    via=via,
                )
            )
        for attached in entity.get("AttachedManagedPolicies") or []:
            self.managed_grant(identity_uid, attached.get("PolicyArn", ""), managed_source, via, "permission")

    def managed_grant(
        self, identity_uid: str, policy_arn: str, source: str | None, via: str | None, grant_kind: str
    ) -> None:
        if policy_arn not in self.managed:
            self.issue(identity_uid, policy_arn, "attached policy is missing from the export; not evaluated")
            return
        digest, name = self.managed[policy_arn]
        kind = "aws_managed" if policy_arn.startswith(AWS_MANAGED_PREFIX) else "customer_managed"
        self.records.append(
            GrantRecord(
                identity_uid=identity_uid,
                policy_hash=digest,
                policy_name=name,
                policy_ref=policy_arn,
                policy_source=source or kind,
                grant_kind=grant_kind,
                via=via,  # type: ignore[arg-type]
            )
        )

    def boundary(self, identity_uid: str, entity: dict[str, Any]) -> str | None:
        arn = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if arn:
            self.managed_grant(identity_uid, arn, None, None, "boundary")
        return arn

    def identity(
        self,
        entity: dict[str, Any],
        kind: str,
        name_key: str,
        extra: dict[str, Any],
        trust: list[TrustRecord],
        last_used: datetime | None,
    ) -> IdentityRecord:
        arn = entity.get("Arn", "")
        tags = _tags(entity)
        evidence = classify_agent(tags, trusted_services(trust), self.settings)
        return IdentityRecord(
            uid=uid(arn),
            provider="aws",
            identity_kind=kind,
            name=entity.get(name_key, arn),
            native_id=arn,
            scope=account_of(arn),
            path=entity.get("Path"),
            tags=tags,
            created_at=parse_timestamp(entity.get("CreateDate")),
            last_used_at=last_used,
            owner=owner_from_tags(tags, self.settings.classification),
            is_agent=bool(evidence),
            agent_evidence=evidence,
            attributes=extra,
        )

    def role(self, role: dict[str, Any]) -> None:
        arn = role.get("Arn", "")
        identity_uid = uid(arn)
        trust_document = _document(role.get("AssumeRolePolicyDocument"))
        trust = _trust_records(identity_uid, trust_document)
        last_used_info = role.get("RoleLastUsed") or {}
        last_used = parse_timestamp(last_used_info.get("LastUsedDate"))
        self.grants(identity_uid, arn, role, "RolePolicyList", None)
        boundary = self.boundary(identity_uid, role)
        attributes = {
            "role_id": role.get("RoleId"),
            "trust_policy_hash": self.policy(trust_document, "aws_trust_policy") if trust_document else None,
            "permissions_boundary": boundary,
            "instance_profiles": [p.get("InstanceProfileName") for p in role.get("InstanceProfileList") or []],
            "max_session_duration": role.get("MaxSessionDuration"),
            "description": role.get("Description"),
        }
        self.records.append(self.identity(role, "aws_role", "RoleName", attributes, trust, last_used))
        self.records.extend(trust)
        if last_used:
            self.records.append(
                UsageRecord(
                    subject_uid=identity_uid,
                    usage_kind="role_last_used",
                    last_used_at=last_used,
                    source="iam:RoleLastUsed",
                    detail={"region": last_used_info.get("Region")},
                )
            )

    def user(self, user: dict[str, Any]) -> None:
        arn = user.get("Arn", "")
        identity_uid = uid(arn)
        self.grants(identity_uid, arn, user, "UserPolicyList", None)
        for group_name in user.get("GroupList") or []:
            group = self.groups.get(group_name)
            if group is None:
                self.issue(identity_uid, f"group {group_name}", "user's group is missing from the export")
                continue
            self.grants(identity_uid, arn, group, "GroupPolicyList", group_name)
        boundary = self.boundary(identity_uid, user)
        attributes = {
            "user_id": user.get("UserId"),
            "groups": user.get("GroupList") or [],
            "permissions_boundary": boundary,
        }
        last_used = parse_timestamp(user.get("PasswordLastUsed"))
        self.records.append(self.identity(user, "aws_user", "UserName", attributes, [], last_used))

    def run(self) -> list[AnyRecord]:
        self.index_managed_policies()
        for key, walk in (("RoleDetailList", self.role), ("UserDetailList", self.user)):
            for position, entity in enumerate(self.details.get(key) or []):
                self._guarded(key, position, entity, walk)
        return self.records

    def _guarded(self, key: str, position: int, entity: Any, walk: Any) -> None:
        """One malformed entry is reported by position and name; every other identity is still collected."""
        mark = len(self.records)
        try:
            if not isinstance(entity, dict):
                raise TypeError(f"expected an object, got {type(entity).__name__}")
            walk(entity)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            for dropped in self.records[mark:]:  # no half-written identity
                if isinstance(dropped, PolicyRecord):
                    self.emitted_policies.discard(dropped.hash)
            del self.records[mark:]
            name = entity.get("RoleName") or entity.get("UserName") if isinstance(entity, dict) else None
            where = f"{key}[{position}]" + (f" ({name})" if name else "")
            self.issue(None, where, f"malformed entry skipped: {_brief(exc)}")


def _brief(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def transform_authorization_details(details: dict[str, Any], settings: Settings, source: str) -> list[AnyRecord]:
    return _Transformer(details, settings, source).run()


def transform_access_keys(user_arn: str, keys: list[dict[str, Any]]) -> list[AnyRecord]:
    """Access-key metadata as credentials. The key id is not a secret, but we keep only a fingerprint and a hint."""
    records: list[AnyRecord] = []
    holder = uid(user_arn)
    for key in keys:
        key_id = str(key.get("AccessKeyId", ""))
        last_used = parse_timestamp((key.get("LastUsed") or {}).get("LastUsedDate"))
        records.append(
            CredentialRecord(
                uid=f"{holder}/access-key/{content_hash(key_id)[:12]}",
                holder_uid=holder,
                credential_kind="aws_access_key",
                name=f"access key …{key_id[-4:]}",
                fingerprint=content_hash(key_id)[:12],
                status=key.get("Status"),
                created_at=parse_timestamp(key.get("CreateDate")),
                last_used_at=last_used,
                attributes={"service_name": (key.get("LastUsed") or {}).get("ServiceName")},
            )
        )
        if last_used:
            records.append(
                UsageRecord(
                    subject_uid=holder,
                    usage_kind="access_key_last_used",
                    last_used_at=last_used,
                    source="iam:GetAccessKeyLastUsed",
                    detail={"key_fingerprint": content_hash(key_id)[:12]},
                )
            )
    return records


def looks_like_authorization_details(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and any(key in document for key in ("RoleDetailList", "UserDetailList"))
        and all(isinstance(document.get(key, []), list) for key in AUTHZ_LISTS)
    )


class AwsIamCollector(AwsCollector):
    name = "aws-iam"
    offline_format = "aws iam get-account-authorization-details (JSON)"

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]:
        iam = client(ctx.aws_session(scope.key), "iam", ctx.settings.aws, ctx.stats)
        try:
            details = get_authorization_details(iam)
        except (ClientError, BotoCoreError) as exc:
            raise CollectorError(describe_error(exc, "iam:GetAccountAuthorizationDetails")) from None
        yield from transform_authorization_details(details, ctx.settings, f"account {scope.key}")
        for user in details["UserDetailList"]:
            try:
                keys = get_access_keys(iam, user["UserName"])
            except (ClientError, BotoCoreError) as exc:
                # Key metadata is an addition to the user, not the user: keep the user and say what is missing.
                problem = describe_error(exc, "iam:ListAccessKeys")
                yield IssueRecord(subject_uid=uid(user["Arn"]), source=f"account {scope.key}", problem=problem)
                continue
            yield from transform_access_keys(user["Arn"], keys)
        if ctx.settings.aws.last_accessed:
            # Imported on use: it builds on this module, and runs only behind --aws-last-accessed.
            from agentiam.collectors.aws.last_accessed import collect_last_accessed

            # Service-linked roles are AWS's to manage: a report on them would cost calls and change nothing.
            principals = [
                entity["Arn"]
                for entity in (*details["RoleDetailList"], *details["UserDetailList"])
                if not str(entity.get("Path", "")).startswith("/aws-service-role/")
            ]
            yield from collect_last_accessed(iam, ctx.settings.aws, scope.key, principals)

    def detect(self, document: Any) -> bool:
        return looks_like_authorization_details(document)

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport:
        records = transform_authorization_details(document, ctx.settings, source)
        accounts = sorted({r.scope for r in records if isinstance(r, IdentityRecord) and r.scope})
        return OfflineImport(scope=",".join(accounts) or "unknown-account", records=records)


def default_session_factory(settings: Settings) -> Any:
    return lambda: make_session(settings.aws)
