"""AzureSnapshot -> normalised records. Pure: no I/O, no clients.

A snapshot may hold a whole subscription (live) or what one export file holds (offline). What one part needs from
another (an assignment needs its role definition; a federated credential needs its identity's principal id) is
looked up in an `AzureReference`, built from every snapshot of the scan, so that offline files join whatever order
they come in. Each part yields only the records it is the source of:

- role assignments -> grants (+ the role definition as a policy; + service principals not known as managed
  identities); assignments to users and groups are counted, not inventoried (agentiam inventories non-human
  identities);
- deny assignments -> one deny grant per principal they name (`azure:everyone` for all principals);
- user-assigned identities -> identities (+ their federated credentials as trusts, and bindings from Kubernetes
  service accounts they trust);
- resources -> workloads, their system-assigned identities, and `azure_mi` bindings to every identity they carry;
- sign-in activity -> usage; without it, identities say that their use is unknown (never that they are unused).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentiam.collectors.aws.classify import owner_from_tags
from agentiam.collectors.azure.classify import agent_evidence, environment_class, tags_of, workload_kind
from agentiam.collectors.azure.export import subscription_in
from agentiam.collectors.azure.ids import EVERYONE, EVERYONE_UID, client_id_alias, definition_guid, resource_uid, uid
from agentiam.collectors.azure.snapshot import AzureSnapshot, RawObject
from agentiam.config import Settings
from agentiam.inventory.records import (
    AnyRecord,
    BindingRecord,
    GrantRecord,
    IdentityRecord,
    IssueRecord,
    PolicyRecord,
    TrustRecord,
    UsageRecord,
    WorkloadRecord,
)

SERVICE_ACCOUNT_SUBJECT = re.compile(r"^system:serviceaccount:([^:]+):([^:]+)$")
NO_SIGN_INS = "no sign-in activity in the scan (Microsoft Graph servicePrincipalSignInActivities)"
SKIPPED_PRINCIPAL_TYPES = ("User", "Group", "ForeignGroup", "Device")


@dataclass
class AzureReference:
    """Lookups across every snapshot of a scan (all offline files, or one live subscription)."""

    definitions: dict[str, RawObject] = field(default_factory=dict)  # by GUID
    uamis: dict[str, RawObject] = field(default_factory=dict)  # by resource id (lower)
    managed_principals: set[str] = field(default_factory=set)  # principal ids of every managed identity
    principal_by_client_id: dict[str, str] = field(default_factory=dict)
    attached: dict[str, list[str]] = field(default_factory=dict)  # UAMI resource id -> resources carrying it
    sign_ins: dict[str, RawObject] | None = None  # by app (client) id
    sign_ins_unavailable: str | None = None
    subscriptions: dict[str, RawObject] = field(default_factory=dict)
    _environments: dict[str, str | None] = field(default_factory=dict, repr=False)

    def add(self, snapshot: AzureSnapshot, subscriptions: dict[str, RawObject] | None = None) -> None:
        for definition in snapshot.role_definitions:
            if isinstance(definition, dict) and definition.get("id"):
                self.definitions.setdefault(definition_guid(str(definition["id"])), definition)
        for identity in snapshot.user_assigned_identities:
            props = identity.get("properties") if isinstance(identity, dict) else None
            if not isinstance(props, dict) or not identity.get("id"):
                continue
            self.uamis[str(identity["id"]).lower()] = identity
            if props.get("principalId"):
                self.managed_principals.add(str(props["principalId"]).lower())
                if props.get("clientId"):
                    self.principal_by_client_id[str(props["clientId"]).lower()] = str(props["principalId"]).lower()
        for resource in snapshot.resources:
            identity = resource.get("identity") if isinstance(resource, dict) else None
            if not isinstance(identity, dict):
                continue
            if identity.get("principalId"):
                self.managed_principals.add(str(identity["principalId"]).lower())
            attached = identity.get("userAssignedIdentities")
            for uami_id, details in (attached if isinstance(attached, dict) else {}).items():
                self.attached.setdefault(uami_id.lower(), []).append(str(resource.get("id")))
                if isinstance(details, dict) and details.get("principalId"):
                    self.managed_principals.add(str(details["principalId"]).lower())
        if snapshot.sign_ins is not None:
            self.sign_ins = {**(self.sign_ins or {}), **snapshot.sign_ins}
        self.sign_ins_unavailable = self.sign_ins_unavailable or snapshot.sign_ins_unavailable
        if snapshot.subscription_id and snapshot.subscription:
            self.subscriptions[snapshot.subscription_id] = snapshot.subscription
        self.subscriptions.update(subscriptions or {})
        self._environments.clear()  # a subscription's name or tags may have just arrived

    def environment(self, subscription_id: str, settings: Settings) -> str | None:
        """The subscription's environment class, worked out once per subscription (every assignment asks)."""
        if subscription_id not in self._environments:
            subscription = self.subscriptions.get(subscription_id)
            found = environment_class(subscription_id, subscription, settings.azure) if subscription_id else None
            self._environments[subscription_id] = found
        return self._environments[subscription_id]


def reference_of(snapshots: Iterable[AzureSnapshot]) -> AzureReference:
    reference = AzureReference()
    for snapshot in snapshots:
        reference.add(snapshot)
    return reference


def _props(entry: Any) -> RawObject:
    if not isinstance(entry, dict):
        raise TypeError("expected an object")
    props = entry.get("properties")
    if not isinstance(props, dict):
        raise ValueError("no properties")
    return props


def _required(props: RawObject, key: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is missing")
    return value


class _Entries:
    """Runs a transform per entry; a malformed entry is skipped with an error issue naming it and the problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.records: list[AnyRecord] = []

    def each(self, part: str, entries: Iterable[Any], transform: Callable[[Any], Iterable[AnyRecord]]) -> None:
        for position, entry in enumerate(entries):
            try:
                self.records.extend(list(transform(entry)))  # all of an entry's records, or none
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                name = entry.get("id") or entry.get("name") if isinstance(entry, dict) else None
                where = f"{self.source}: {part}[{position}]" + (f" ({name})" if isinstance(name, str) else "")
                self.records.append(
                    IssueRecord(subject_uid=None, source=where, problem=f"malformed entry skipped: {exc}")
                )


# -- role definitions and assignments ------------------------------------------------------------------------------


def _check_permissions(permissions: Any) -> None:
    """What the permission engine relies on: a list of blocks, each key a list of operation names."""
    if not isinstance(permissions, list):
        raise ValueError("permissions must be a list")
    for block in permissions:
        if not isinstance(block, dict):
            raise ValueError("a permissions entry is not an object")
        for key in ("actions", "notActions", "dataActions", "notDataActions"):
            value = block.get(key) or []
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                raise ValueError(f"permissions.{key} must be a list of operation names")


def role_policy(definition: RawObject) -> PolicyRecord:
    props = _props(definition)
    _check_permissions(props.get("permissions"))
    document = {
        "id": definition.get("id"),
        "properties": {
            "roleName": props.get("roleName"),
            "type": props.get("type"),
            "permissions": props.get("permissions"),
            "assignableScopes": props.get("assignableScopes") or [],
        },
    }
    return PolicyRecord(provider="azure", policy_kind="azure_role_definition", document=document)


def missing_role_policy(definition_id: str, name: str) -> PolicyRecord:
    """A stand-in for a definition the scan does not hold: it says so, and grants nothing it cannot prove."""
    document = {"id": definition_id, "properties": {"roleName": name, "missing": True, "permissions": []}}
    return PolicyRecord(provider="azure", policy_kind="azure_role_definition", document=document)


@dataclass
class _AssignmentState:
    missing: dict[str, str] = field(default_factory=dict)  # definition id -> name
    skipped: Counter[str] = field(default_factory=Counter)  # principal type -> assignments
    # Thousands of assignments share a few roles and principals: each policy and identity is made once.
    policies: dict[str, tuple[PolicyRecord, str, str]] = field(default_factory=dict)  # definition id -> record
    principals: set[str] = field(default_factory=set)
    yielded: set[str] = field(default_factory=set)  # definitions whose policy record is out

    def policy(self, definition_id: str, name: str, reference: AzureReference) -> tuple[PolicyRecord, str, str]:
        """(policy, role name, policy source) of a role definition, from the reference, or a stand-in."""
        found = self.policies.get(definition_id)
        if found is None:
            definition = reference.definitions.get(definition_guid(definition_id))
            if definition is None:
                name = name or definition_guid(definition_id)
                self.missing.setdefault(definition_id, name)
                found = (missing_role_policy(definition_id, name), name, "unknown")
            else:
                props = _props(definition)
                source = "custom" if props.get("type") == "CustomRole" else "builtin"
                found = (role_policy(definition), str(props.get("roleName") or name), source)
            self.policies[definition_id] = found
        return found


def _assignment(
    entry: Any, reference: AzureReference, settings: Settings, state: _AssignmentState
) -> Iterator[AnyRecord]:
    props = _props(entry)
    principal_id = _required(props, "principalId").lower()
    principal_type = str(props.get("principalType") or "")
    definition_id = _required(props, "roleDefinitionId")
    scope = _required(props, "scope").lower()
    if principal_type in SKIPPED_PRINCIPAL_TYPES:
        state.skipped[principal_type] += 1
        return
    policy, name, source = state.policy(definition_id, str(props.get("roleDefinitionName") or ""), reference)
    subscription = subscription_in(scope)
    if principal_id not in reference.managed_principals and principal_id not in state.principals:
        state.principals.add(principal_id)
        display = str(props.get("principalName") or principal_id)
        yield IdentityRecord(
            uid=uid(principal_id),
            provider="azure",
            identity_kind="azure_service_principal",
            name=display,
            native_id=principal_id,
            scope=subscription,
            attributes={"principal_id": principal_id, "subscription_id": subscription},
        )
    if definition_id not in state.yielded:
        state.yielded.add(definition_id)
        yield policy
    yield GrantRecord(
        identity_uid=uid(principal_id),
        policy_hash=policy.hash,
        policy_name=name,
        policy_ref=definition_id,
        policy_source=source,
        grant_kind="role_assignment",
        scope=scope,
        attributes={
            "assignment_id": str(entry.get("id") or ""),
            "principal_type": principal_type,
            "condition": props.get("condition"),
            "condition_version": props.get("conditionVersion"),
            "subscription_id": subscription,
            "environment": reference.environment(subscription, settings),
            "role_missing": source == "unknown",
        },
    )


def _deny_assignment(entry: Any) -> Iterator[AnyRecord]:
    props = _props(entry)
    scope = _required(props, "scope").lower()
    permissions = props.get("permissions")
    _check_permissions(permissions)
    name = str(props.get("denyAssignmentName") or entry.get("name") or "")
    document = {"id": entry.get("id"), "properties": {"denyAssignmentName": name, "permissions": permissions}}
    policy = PolicyRecord(provider="azure", policy_kind="azure_deny_assignment", document=document)
    yield policy
    excluded = [uid(str(p["id"])) for p in props.get("excludePrincipals") or [] if isinstance(p, dict) and p.get("id")]
    for principal in props.get("principals") or []:
        principal_id = str(principal.get("id") or "").lower()
        if not principal_id:
            raise ValueError("a principal has no id")
        yield GrantRecord(
            identity_uid=EVERYONE_UID if principal_id == EVERYONE else uid(principal_id),
            policy_hash=policy.hash,
            policy_name=name,
            policy_ref=str(entry.get("id") or ""),
            policy_source="deny_assignment",
            grant_kind="deny_assignment",
            scope=scope,
            attributes={
                "assignment_id": str(entry.get("id") or ""),
                "principal_type": str(principal.get("type") or ""),
                "excluded_principals": excluded,
                "do_not_apply_to_child_scopes": bool(props.get("doNotApplyToChildScopes")),
                "subscription_id": subscription_in(scope),
            },
        )


# -- identities ----------------------------------------------------------------------------------------------------


def _usage_attributes(client_id: str | None, reference: AzureReference) -> dict[str, Any]:
    if reference.sign_ins is None:
        return {"sign_in_activity": "unknown", "sign_in_activity_reason": reference.sign_ins_unavailable or NO_SIGN_INS}
    if not client_id:
        return {"sign_in_activity": "unknown", "sign_in_activity_reason": "the identity's client id is not known"}
    return {"sign_in_activity": "recorded"}


def _user_assigned_identity(entry: Any, reference: AzureReference, settings: Settings) -> Iterator[AnyRecord]:
    props = _props(entry)
    resource_id = str(entry.get("id") or "")
    principal_id = _required(props, "principalId").lower()
    client_id = str(props.get("clientId") or "").lower() or None
    tags = tags_of(entry)
    subscription = subscription_in(resource_id)
    aliases = [resource_uid(resource_id)] + ([client_id_alias(client_id)] if client_id else [])
    yield IdentityRecord(
        uid=uid(principal_id),
        provider="azure",
        identity_kind="azure_user_assigned_identity",
        name=str(entry.get("name") or resource_id.rsplit("/", 1)[-1]),
        native_id=resource_id,
        scope=subscription,
        tags=tags,
        owner=owner_from_tags(tags, settings.classification),
        created_at=_created_at(entry),
        is_agent=bool(evidence := agent_evidence(entry, "azure_user_assigned_identity", tags, settings)),
        agent_evidence=evidence,
        attributes={
            "principal_id": principal_id,
            "client_id": client_id,
            "tenant_id": props.get("tenantId"),
            "resource_id": resource_id,
            "subscription_id": subscription,
            "resource_group": _resource_group(resource_id),
            "location": entry.get("location"),
            "aliases": aliases,
            "attached_resources": sorted(reference.attached.get(resource_id.lower(), [])),
            **_usage_attributes(client_id, reference),
        },
    )


def _federated_credentials(identity_id: str, credentials: list[Any], reference: AzureReference) -> _Entries:
    """Trusts (and Kubernetes bindings) of one identity's federated credentials."""
    entries = _Entries(f"federated credentials of {identity_id}")
    identity = reference.uamis.get(identity_id.lower())
    principal_id = str((identity or {}).get("properties", {}).get("principalId") or "").lower()
    if not principal_id:
        problem = f"{len(credentials)} federated credential(s) of an identity that is not in the scan; not evaluated"
        entries.records.append(IssueRecord(subject_uid=None, source=identity_id, problem=problem, severity="warning"))
        return entries

    def transform(entry: Any) -> Iterator[AnyRecord]:
        props = _props(entry)
        issuer = _required(props, "issuer")
        subject = str(props.get("subject") or "")
        expression = props.get("claimsMatchingExpression")
        if not subject and not expression:
            raise ValueError("neither subject nor claimsMatchingExpression")
        audiences = props.get("audiences") or []
        conditions: dict[str, Any] = {"subject": subject, "audiences": list(audiences), "name": entry.get("name")}
        if expression:
            conditions["claims_matching_expression"] = expression
        yield TrustRecord(
            identity_uid=uid(principal_id), principal_type="Federated", principal=issuer, conditions=conditions
        )
        service_account = SERVICE_ACCOUNT_SUBJECT.match(subject)
        if service_account:
            namespace, name = service_account.groups()
            yield BindingRecord(
                workload_uid=f"kubernetes:oidc:{issuer}:serviceaccount:{namespace}/{name}",
                identity_uid=uid(principal_id),
                mechanism="azure_workload_identity",
                attributes={"federated_credential": entry.get("name"), "issuer": issuer},
            )

    entries.each("federatedCredentials", credentials, transform)
    return entries


def _created_at(entry: RawObject) -> datetime | None:
    """ARM's systemData.createdAt, when the export carries it (an identity created yesterday is not unused)."""
    stamp = (entry.get("systemData") or {}).get("createdAt")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None


def _resource_group(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else None


# -- resources -----------------------------------------------------------------------------------------------------


def _workload_attributes(resource: RawObject, kind: str) -> dict[str, Any]:
    resource_id = str(resource["id"])
    props = resource.get("properties")
    attributes: dict[str, Any] = {
        "resource_id": resource_id,
        "resource_type": resource.get("type"),
        "kind": resource.get("kind"),
        "location": resource.get("location"),
        "subscription_id": subscription_in(resource_id),
        "resource_group": _resource_group(resource_id),
        "properties_known": isinstance(props, dict),
    }
    props = props if isinstance(props, dict) else {}
    if kind == "azure_ai_account":
        # Unknown (None) when the export has no properties: `az resource list` leaves them out.
        attributes["disable_local_auth"] = props.get("disableLocalAuth") if "disableLocalAuth" in props else None
    if kind in ("azure_ai_project", "azure_ai_agent") and "/projects/" in resource_id.lower():
        attributes["account_id"] = resource_id.lower().rsplit("/projects/", 1)[0]
    if kind == "azure_aks_cluster":
        issuer = (props.get("oidcIssuerProfile") or {}).get("issuerURL")
        attributes["oidc_issuer"] = issuer
    return attributes


def _resource(entry: Any, reference: AzureReference, settings: Settings) -> Iterator[AnyRecord]:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ValueError("id is missing")
    resource_type = str(entry.get("type") or "").lower()
    if resource_type.startswith("microsoft.managedidentity/"):
        return  # the identities themselves, listed by `az resource list`: `az identity list` describes them
    identity = entry.get("identity")
    if identity is not None and not isinstance(identity, dict):
        raise ValueError("identity must be an object")
    kind = workload_kind(entry)
    if kind is None and not identity:
        return
    kind = kind or "azure_resource"
    resource_id = entry["id"]
    tags = tags_of(entry)
    workload = resource_uid(resource_id)
    evidence = agent_evidence(entry, kind, tags, settings)
    subscription = subscription_in(resource_id)
    yield WorkloadRecord(
        uid=workload,
        provider="azure",
        workload_kind=kind,
        name=str(entry.get("name") or resource_id.rsplit("/", 1)[-1]),
        scope=subscription,
        tags=tags,
        is_agent=bool(evidence),
        agent_evidence=evidence,
        attributes=_workload_attributes(entry, kind),
    )
    identity = identity or {}
    if identity.get("principalId"):
        principal_id = str(identity["principalId"]).lower()
        yield IdentityRecord(
            uid=uid(principal_id),
            provider="azure",
            identity_kind="azure_system_assigned_identity",
            name=str(entry.get("name") or resource_id),
            native_id=resource_id,
            scope=subscription,
            tags=tags,
            created_at=_created_at(entry),
            owner=owner_from_tags(tags, settings.classification),
            attributes={
                "principal_id": principal_id,
                "tenant_id": identity.get("tenantId"),
                "resource_id": resource_id,
                "subscription_id": subscription,
                "resource_type": entry.get("type"),
                **_usage_attributes(None, reference),
            },
        )
        yield BindingRecord(
            workload_uid=workload,
            identity_uid=uid(principal_id),
            mechanism="azure_mi",
            attributes={"identity_type": "system_assigned"},
        )
    for uami_id, details in (identity.get("userAssignedIdentities") or {}).items():
        principal_id = str((details or {}).get("principalId") or "").lower()
        known = reference.uamis.get(uami_id.lower())
        principal_id = principal_id or str((known or {}).get("properties", {}).get("principalId") or "").lower()
        yield BindingRecord(
            workload_uid=workload,
            # Without a principal id the identity is named by its resource id, an alias its record carries.
            identity_uid=uid(principal_id) if principal_id else resource_uid(uami_id),
            mechanism="azure_mi",
            attributes={"identity_type": "user_assigned", "identity_resource_id": uami_id},
        )


# -- usage ---------------------------------------------------------------------------------------------------------


def _last_sign_in(activity: RawObject) -> datetime | None:
    stamps = []
    for value in activity.values():
        stamp = value.get("lastSignInDateTime") if isinstance(value, dict) else None
        if stamp:
            stamps.append(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")))
    return max(stamps, default=None)


def _sign_in(app_id: str, activity: Any, reference: AzureReference, source: str) -> Iterator[AnyRecord]:
    principal_id = reference.principal_by_client_id.get(app_id)
    if principal_id is None:
        return  # an application that is no managed identity of the scan
    yield UsageRecord(
        subject_uid=uid(principal_id),
        usage_kind="sign_in",
        last_used_at=_last_sign_in(activity),
        source=source,
        detail={"app_id": app_id},
    )


def _never_signed_in(reference: AzureReference, source: str) -> Iterator[AnyRecord]:
    """Identities the sign-in report covers but does not list: no sign-in within its retention."""
    signed_in = reference.sign_ins or {}
    for client_id, principal_id in sorted(reference.principal_by_client_id.items()):
        if client_id not in signed_in:
            yield UsageRecord(
                subject_uid=uid(principal_id),
                usage_kind="sign_in",
                last_used_at=None,
                source=source,
                detail={"app_id": client_id, "listed": False},
            )


# -- the snapshot --------------------------------------------------------------------------------------------------


def transform_snapshot(
    snapshot: AzureSnapshot, settings: Settings, reference: AzureReference | None = None
) -> list[AnyRecord]:
    """Every record a snapshot is the source of; malformed entries become error issues, the rest goes on."""
    reference = reference or reference_of([snapshot])
    entries = _Entries(snapshot.source)
    entries.each("roleDefinitions", snapshot.role_definitions, lambda d: [role_policy(d)])
    state = _AssignmentState()
    entries.each("roleAssignments", snapshot.role_assignments, lambda a: _assignment(a, reference, settings, state))
    entries.each("denyAssignments", snapshot.deny_assignments, _deny_assignment)
    entries.each(
        "userAssignedIdentities",
        snapshot.user_assigned_identities,
        lambda i: _user_assigned_identity(i, reference, settings),
    )
    for identity_id, credentials in sorted(snapshot.federated_credentials.items()):
        entries.records.extend(_federated_credentials(identity_id, credentials, reference).records)
    entries.each("resources", snapshot.resources, lambda r: _resource(r, reference, settings))
    if snapshot.sign_ins is not None:
        for app_id, activity in sorted(snapshot.sign_ins.items()):
            entries.records.extend(_sign_in(app_id, activity, reference, snapshot.source))
        entries.records.extend(_never_signed_in(reference, snapshot.source))
    records = entries.records
    records.extend(snapshot.issues)  # the reader's, including each part it could not read (not_evaluated)
    records.extend(_assignment_issues(state, snapshot.source))
    return records


def _assignment_issues(state: _AssignmentState, source: str) -> Iterator[IssueRecord]:
    for definition_id, name in sorted(state.missing.items()):
        yield IssueRecord(
            subject_uid=None,
            source=f"{source}: role definition {definition_id}",
            problem=f"role {name!r} is assigned but its definition is not in the scan (add `az role definition "
            "list` output): its permissions are not evaluated",
            severity="warning",
        )
    if state.skipped:
        counts = ", ".join(f"{count} to {kind.lower()}s" for kind, count in sorted(state.skipped.items()))
        yield IssueRecord(
            subject_uid=None,
            source=source,
            problem=f"role assignments not inventoried ({counts}): agentiam inventories non-human identities",
            severity="warning",
        )
