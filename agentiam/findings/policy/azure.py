"""Azure RBAC semantics: what a principal can do, from its role assignments, deny assignments and their scopes.

- A role definition grants, per permission block, (Actions - NotActions) on the control plane and
  (DataActions - NotDataActions) on the data plane. Patterns match case-insensitively; a pattern in Actions never
  matches a data action, so `*` grants no data access.
- NotActions are not denies: another role of the same principal may grant what one role leaves out. Only deny
  assignments deny, and they may exclude principals.
- An assignment applies at its scope and below (management group > subscription > resource group > resource). A
  principal's effective permissions are the union over its assignments; for each capability the widest scope is the
  one reported.
- A condition on an assignment narrows it; it never hides it (rules lower the severity one step).

Each distinct role definition (by content hash) is evaluated once against the operation catalogue; an unknown
operation name is kept literally and reported, never dropped, and never blanks the role.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from agentiam.collectors.azure.ids import EVERYONE_UID, definition_guid
from agentiam.findings.data.azure_rbac import SCOPE_LEVELS, ScopeLevel
from agentiam.findings.policy.azure_catalogue import OperationCatalogue, pattern_matches

_PATTERN_KEYS = ("actions", "notActions", "dataActions", "notDataActions")


@dataclass(frozen=True)
class PermissionBlock:
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    not_data_actions: tuple[str, ...]

    def grants(self, operation: str, *, data: bool) -> bool:
        """Pattern semantics, for an operation the catalogue does not know."""
        allowed, excluded = (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        return any(pattern_matches(p, operation) for p in allowed) and not any(
            pattern_matches(p, operation) for p in excluded
        )


@dataclass(frozen=True)
class RolePermissions:
    """One role definition (or deny assignment's permissions), evaluated once."""

    definition_id: str  # the GUID, lower-case
    name: str
    custom: bool
    blocks: tuple[PermissionBlock, ...]
    actions: int  # control-plane bits
    data_actions: int  # data-plane bits
    warnings: tuple[str, ...] = ()
    missing: bool = False  # the definition was not in the scan: its permissions are unknown, not empty
    conditional_only: int = 0  # bits granted only by permission blocks that carry a condition
    # Which of a rule's operations the role grants, per tuple of operations: thousands of assignments share a role.
    _granted: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def granted_among(self, operations: tuple[str, ...], catalogue: OperationCatalogue) -> tuple[str, ...]:
        found = self._granted.get(operations)
        if found is None:
            found = tuple(op for op in operations if self.grants(op, catalogue))
            self._granted[operations] = found
        return found

    def grants(self, operation: str, catalogue: OperationCatalogue) -> bool:
        i = catalogue.index(operation)
        if i is not None:
            return bool((self.data_actions if catalogue.data_mask >> i & 1 else self.actions) >> i & 1)
        return any(b.grants(operation, data=False) or b.grants(operation, data=True) for b in self.blocks)

    @property
    def wildcard_patterns(self) -> list[str]:
        return sorted({p for b in self.blocks for p in (*b.actions, *b.data_actions) if "*" in p})


def _patterns(block: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = block.get(key) or []
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError(f"permissions.{key} must be a list of operation names")
    return tuple(value)


def _unknown(patterns: Iterable[str], catalogue: OperationCatalogue, *, data: bool) -> list[str]:
    plane, other = ("data action", "action") if data else ("action", "data action")
    warnings = []
    for pattern in patterns:
        if not pattern.strip("*") or catalogue.expand(pattern, data=data):
            continue
        if catalogue.expand(pattern, data=not data):
            warnings.append(f"{plane} {pattern!r} names only {other}s, which it cannot grant there")
        else:
            warnings.append(f"{plane} {pattern!r} matches no known operation (kept as written)")
    return warnings


def evaluate_role(document: Mapping[str, Any], catalogue: OperationCatalogue) -> RolePermissions:
    """A role definition document (ARM shape: id + properties) as permission bitsets. Raises ValueError."""
    props = document.get("properties") or {}
    blocks: list[PermissionBlock] = []
    actions = data_actions = conditional = unconditional = 0
    warnings: list[str] = []
    for raw in props.get("permissions") or []:
        if not isinstance(raw, dict):
            raise ValueError("a permissions entry is not an object")
        block = PermissionBlock(*(_patterns(raw, key) for key in _PATTERN_KEYS))
        blocks.append(block)
        block_actions = _mask(block.actions, catalogue, data=False) & ~_mask(block.not_actions, catalogue, data=False)
        block_data = _mask(block.data_actions, catalogue, data=True) & ~_mask(
            block.not_data_actions, catalogue, data=True
        )
        actions |= block_actions
        data_actions |= block_data
        # A block's own condition (built-in delegation roles limit which roles they may assign) narrows its grants.
        if raw.get("condition"):
            conditional |= block_actions | block_data
        else:
            unconditional |= block_actions | block_data
        warnings += _unknown(block.actions, catalogue, data=False) + _unknown(block.data_actions, catalogue, data=True)
    return RolePermissions(
        definition_guid(str(document.get("id") or document.get("name") or "")),
        str(props.get("roleName") or props.get("denyAssignmentName") or document.get("name") or ""),
        props.get("type") == "CustomRole",
        tuple(blocks),
        actions,
        data_actions,
        tuple(warnings),
        missing=bool(props.get("missing")),
        conditional_only=conditional & ~unconditional,
    )


def evaluate_roles(documents: Mapping[str, Any], catalogue: OperationCatalogue) -> dict[str, RolePermissions]:
    """Each distinct document (by hash) evaluated once. The collector stores only well-formed permission lists
    (it skips a malformed definition with an error), so a document that still fails is a bug, and raises."""
    return {digest: evaluate_role(document, catalogue) for digest, document in documents.items()}


def _mask(patterns: Iterable[str], catalogue: OperationCatalogue, *, data: bool) -> int:
    bits = 0
    for pattern in patterns:
        bits |= catalogue.expand(pattern, data=data)
    return bits


# -- scopes ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def scope_level(scope: str) -> ScopeLevel:
    parts = [p for p in scope.lower().split("/") if p]
    if not parts:
        return "root"
    if parts[0] == "providers" and len(parts) >= 4 and parts[1] == "microsoft.management":
        return "management_group"
    if parts[0] == "subscriptions":
        if len(parts) <= 2:
            return "subscription"
        if len(parts) <= 4 and parts[2] == "resourcegroups":
            return "resource_group"
    return "resource"


def scope_rank(scope: str) -> int:
    """0 for the widest (tenant root); sorts assignments widest first."""
    return SCOPE_LEVELS.index(scope_level(scope))


def subscription_of(scope: str) -> str | None:
    parts = [p for p in scope.lower().split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0] == "subscriptions" else None


def covers(outer: str, inner: str) -> bool:
    """Whether an assignment at `outer` applies at `inner` (same scope or below it). Management-group membership is
    not in the inventory, so a management group covers only itself and its own path."""
    outer, inner = outer.lower().rstrip("/"), inner.lower().rstrip("/")
    return not outer or inner == outer or inner.startswith(outer + "/")


# -- principals --------------------------------------------------------------------------------------------------


@dataclass(slots=True)  # tens of thousands per scan: no per-instance dict, no empty lists for the collector to scan
class AzureAssignment:
    assignment_id: str
    role: RolePermissions
    scope: str
    condition: str | None
    subscription_id: str | None
    environment: str | None
    denied: int = 0  # bits a deny assignment at this scope or above takes away
    partly_denied_by: tuple[str, ...] = ()  # denies below the assignment's scope

    @property
    def level(self) -> ScopeLevel:
        return scope_level(self.scope)

    @property
    def conditional(self) -> bool:
        return bool(self.condition)

    def conditional_for(self, operations: Iterable[str], catalogue: OperationCatalogue) -> bool:
        """Whether the assignment grants the operations only under a condition: its own, or its role's."""
        return self.conditional or all(_bit(self.role.conditional_only, catalogue.index(op)) for op in operations)

    def granted_among(self, operations: tuple[str, ...], catalogue: OperationCatalogue) -> tuple[str, ...]:
        found = self.role.granted_among(operations, catalogue)
        if not self.denied:
            return found
        return tuple(op for op in found if not _bit(self.denied, catalogue.index(op)))

    def evidence(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "role": self.role.name,
            "role_definition_id": self.role.definition_id,
            "role_type": "custom" if self.role.custom else "builtin",
            "scope": self.scope,
            "scope_level": self.level,
            "assignment_id": self.assignment_id,
        }
        if self.condition:
            found["conditional"] = True
            found["condition"] = self.condition
        if self.partly_denied_by:
            found["partly_denied_by"] = list(self.partly_denied_by)
        return found


def _bit(bits: int, index: int | None) -> bool:
    """Whether a bitset holds an operation; one the catalogue does not know is in no bitset."""
    return index is not None and bool(bits >> index & 1)


@dataclass
class AzurePrincipal:
    uid: str
    name: str
    kind: str
    is_agent: bool
    assignments: list[AzureAssignment]
    # Facts several rules ask for (who administers roles?): computed once per principal.
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def holders(self, operations: tuple[str, ...], catalogue: OperationCatalogue) -> dict[str, list[AzureAssignment]]:
        """For each of the operations the principal holds, the assignments that grant it, ranked (widest first)."""
        found: dict[str, list[AzureAssignment]] = {}
        for assignment in self.assignments:
            for operation in assignment.granted_among(operations, catalogue):
                found.setdefault(operation, []).append(assignment)
        return {op: ranked(held) for op, held in found.items()}


def ranked(assignments: Iterable[AzureAssignment]) -> list[AzureAssignment]:
    return sorted(assignments, key=lambda a: (scope_rank(a.scope), a.conditional, a.scope, a.role.name))


@dataclass(frozen=True)
class DenyAssignment:
    ref: str
    scope: str
    permissions: RolePermissions
    excluded: frozenset[str]  # principal uids
    children: bool  # applies below its scope too


def apply_denies(principal: AzurePrincipal, denies: Iterable[DenyAssignment]) -> None:
    for deny in denies:
        if principal.uid in deny.excluded:
            continue
        bits = deny.permissions.actions | deny.permissions.data_actions
        for assignment in principal.assignments:
            if not assignment.role.actions & bits and not assignment.role.data_actions & bits:
                continue
            if covers(deny.scope, assignment.scope) and (deny.children or deny.scope == assignment.scope.lower()):
                assignment.denied |= bits
            elif covers(assignment.scope, deny.scope):
                assignment.partly_denied_by += (deny.ref,)


class IdentityRow(NamedTuple):
    uid: str
    name: str
    identity_kind: str
    is_agent: bool


class GrantRow(NamedTuple):
    identity_uid: str
    policy_hash: str
    policy_ref: str
    grant_kind: str
    scope: str | None
    via: str | None
    attributes: dict[str, Any] | None


def build_principals(
    identities: Iterable[IdentityRow],
    grants: Iterable[GrantRow],
    roles: Mapping[str, RolePermissions],
) -> list[AzurePrincipal]:
    """Azure principals with their assignments; `roles` maps a policy hash to its evaluated permissions."""
    with paused_garbage_collection():
        return _build_principals(identities, grants, roles)


@contextmanager
def paused_garbage_collection() -> Iterator[None]:
    """Building tens of thousands of small objects in one go sets off full collections over everything the analysis
    holds in memory, which cost most of the time here; nothing built here forms a reference cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_principals(
    identities: Iterable[IdentityRow],
    grants: Iterable[GrantRow],
    roles: Mapping[str, RolePermissions],
) -> list[AzurePrincipal]:
    by_identity: dict[str, list[Any]] = defaultdict(list)
    denies: dict[str, list[Any]] = defaultdict(list)
    for grant in grants:
        (denies if grant.grant_kind == "deny_assignment" else by_identity)[grant.identity_uid].append(grant)
    principals = []
    for identity in identities:
        assignments = []
        for grant in by_identity.get(identity.uid, []):
            if grant.grant_kind != "role_assignment" or grant.policy_hash not in roles:
                continue
            attributes = grant.attributes or {}
            scope = grant.scope or ""
            assignments.append(
                AzureAssignment(
                    assignment_id=str(attributes.get("assignment_id") or grant.via or ""),
                    role=roles[grant.policy_hash],
                    scope=scope,
                    condition=attributes.get("condition") or None,
                    subscription_id=attributes.get("subscription_id") or subscription_of(scope),
                    environment=attributes.get("environment"),
                )
            )
        principal = AzurePrincipal(
            identity.uid, identity.name, identity.identity_kind, bool(identity.is_agent), assignments
        )
        applicable = [*denies.get(identity.uid, []), *denies.get(EVERYONE_UID, [])]
        apply_denies(principal, [_deny(g, roles) for g in applicable if g.policy_hash in roles])
        principals.append(principal)
    return principals


def _deny(grant: Any, roles: Mapping[str, RolePermissions]) -> DenyAssignment:
    attributes = grant.attributes or {}
    return DenyAssignment(
        ref=str(attributes.get("assignment_id") or grant.policy_ref),
        scope=(grant.scope or "").lower(),
        permissions=roles[grant.policy_hash],
        excluded=frozenset(attributes.get("excluded_principals") or ()),
        children=not attributes.get("do_not_apply_to_child_scopes", False),
    )
