"""AWS IAM policy semantics: parse identity policies and compute what a principal may effectively do.

Pure functions, no I/O. Actions are bitsets over the action catalogue (see ``catalogue.py``), so combining a
principal's policies, explicit denies and a permission boundary is a handful of big-integer operations.

What the evaluation does, and why:

- Explicit Deny wins, wherever it sits (same policy, another policy, a group's policy, the boundary). An
  unconditional Deny cancels the Allow bits it covers only when its resources certainly cover the Allow's
  resources; otherwise the grant survives and records the deny (an auditor must not erase a grant on a guess).
- A conditional Deny never cancels; the grant records that it may be denied (``maybe_denied_by``).
- A permission boundary intersects: the effective actions are those the boundary's Allow statements grant too.
- A Condition or a resource constraint on an Allow does not erase the grant; it is carried for severity.
- Actions the catalogue does not know (a retired service, a typo) are kept literally and matched by pattern,
  with a warning on the parsed policy, so one odd action never blanks the evaluation of the rest.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from agentiam.findings.policy.catalogue import ActionCatalogue, default_catalogue, glob_regex, has_wildcard

PARSE_CACHE_SIZE = 4096
BOUNDARY_SOURCE = "permissions_boundary"
_EMPTY_CONDITIONS: Mapping[str, Any] = MappingProxyType({})


class PolicyParseError(ValueError):
    """The document is not a valid IAM policy; the message says what is wrong and where."""


# ----------------------------------------------------------------------------------------------------------
# Parsed form
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, normalised: patterns lowercased, single values turned into tuples."""

    index: int  # position in the document's Statement list (0-based, as Statement[index])
    sid: str | None
    effect: str  # "Allow" | "Deny"
    not_action: bool
    action_patterns: tuple[str, ...]  # lowercased, as written
    actions: int  # catalogue bits the patterns match (before any NotAction inversion)
    granted: int  # catalogue bits the statement applies to (inverted for NotAction)
    unknown_patterns: tuple[str, ...]  # patterns matching no catalogued action, kept to match literally
    not_resource: bool
    resources: tuple[str, ...]
    conditions: Mapping[str, Any] = field(hash=False)  # empty when there is no Condition
    # Derived from action_patterns for literal matching: exact names by set lookup, so that only the few
    # (and recurring) wildcard patterns need a compiled regex.
    _exact: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _wildcards: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_exact", frozenset(p for p in self.action_patterns if not has_wildcard(p)))
        object.__setattr__(self, "_wildcards", tuple(p for p in self.action_patterns if has_wildcard(p)))

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)

    @property
    def all_resources(self) -> bool:
        """True when the statement certainly applies to every resource (Resource contains "*")."""
        return not self.not_resource and "*" in self.resources

    @property
    def no_resources(self) -> bool:
        """NotResource "*" excludes everything: such a statement applies to nothing."""
        return self.not_resource and "*" in self.resources

    def matches_action(self, action: str) -> bool:
        """Whether the Action/NotAction patterns match ``action``, case-insensitively; unknown actions too."""
        lowered = action.lower()
        return lowered in self._exact or any(glob_regex(p).fullmatch(lowered) for p in self._wildcards)

    def covers_action(self, action: str) -> bool:
        """Whether the statement applies to ``action``, taking NotAction into account."""
        return self.matches_action(action) != self.not_action


@dataclass(frozen=True, slots=True)
class ParsedPolicy:
    statements: tuple[Statement, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a document came from, for evidence."""

    policy_ref: str  # managed policy ARN, or "<principal arn>/inline/<name>"
    policy_name: str
    # aws_managed | customer_managed | inline | group_inline | group_managed | permissions_boundary
    source: str
    via: str | None = None  # e.g. the group name


def statement_ref(source: PolicySource, statement: Statement) -> str:
    return f"{source.policy_ref}#{statement.index}"


# ----------------------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------------------


class _LruCache:
    """A small LRU keyed by the caller's content hash: a ParsedPolicy, or the error message of a bad one."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[str, ParsedPolicy | str] = OrderedDict()

    def get(self, key: str) -> ParsedPolicy | str | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: ParsedPolicy | str) -> None:
        self._data[key] = value
        if len(self._data) > self._size:
            self._data.popitem(last=False)


# One cache per catalogue: parsed bits are only meaningful against the catalogue that produced them.
_parse_caches: weakref.WeakKeyDictionary[ActionCatalogue, _LruCache] = weakref.WeakKeyDictionary()


def parse_policy(document: Any, *, key: str | None = None, catalogue: ActionCatalogue | None = None) -> ParsedPolicy:
    """Parse an IAM policy document (object, JSON text, or URL-encoded JSON text).

    With ``key`` (a content hash of the document) the result is cached, so a managed policy attached to
    thousands of roles is parsed once. Raises PolicyParseError for a document that is not valid IAM.
    """
    catalogue = catalogue or default_catalogue()
    if key is None:
        return _parse(document, catalogue)
    cache = _parse_caches.get(catalogue)
    if cache is None:
        cache = _parse_caches[catalogue] = _LruCache(PARSE_CACHE_SIZE)
    cached = cache.get(key)
    if cached is None:
        try:
            cached = _parse(document, catalogue)
        except PolicyParseError as error:
            cached = str(error)
        cache.put(key, cached)
    if isinstance(cached, str):
        raise PolicyParseError(cached)
    return cached


def _json_kind(value: Any) -> str:
    """Name a value's type the way a policy author would (JSON terms), for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _decode(document: Any) -> Any:
    """Turn JSON text (possibly URL-encoded, as the raw IAM API returns it) into a Python object."""
    if isinstance(document, bytes | bytearray):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyParseError(f"policy document is not UTF-8 text: {error}") from None
    if not isinstance(document, str):
        return document
    try:
        return json.loads(document)
    except ValueError as error:
        unquoted = unquote(document)
        if unquoted == document:
            raise PolicyParseError(f"policy document is not valid JSON: {error}") from None
    try:
        return json.loads(unquoted)
    except ValueError as error:
        raise PolicyParseError(f"policy document is neither JSON nor URL-encoded JSON: {error}") from None


def _parse(document: Any, catalogue: ActionCatalogue) -> ParsedPolicy:
    decoded = _decode(document)
    if not isinstance(decoded, Mapping):
        raise PolicyParseError(f"policy document must be a JSON object, got {_json_kind(decoded)}")
    if "Statement" not in decoded:
        raise PolicyParseError("policy document has no Statement")
    raw = decoded["Statement"]
    if isinstance(raw, Mapping):
        raw = [raw]
    elif not isinstance(raw, list):
        raise PolicyParseError(f"Statement must be an object or an array of objects, got {_json_kind(raw)}")
    warnings: list[str] = []
    statements = tuple(_parse_statement(i, item, catalogue, warnings) for i, item in enumerate(raw))
    return ParsedPolicy(statements, tuple(dict.fromkeys(warnings)))


def _parse_statement(index: int, raw: Any, catalogue: ActionCatalogue, warnings: list[str]) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyParseError(f"{where} must be an object, got {_json_kind(raw)}")
    effect = raw.get("Effect")
    if effect is None:
        raise PolicyParseError(f"{where} has no Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyParseError(f"{where}: Effect must be Allow or Deny, got {effect!r}")
    not_action, written = _one_of(raw, "Action", "NotAction", where)
    patterns = _action_patterns(written, "NotAction" if not_action else "Action", where)
    not_resource, resources = _one_of(raw, "Resource", "NotResource", where)
    resources = _strings(resources, "NotResource" if not_resource else "Resource", where)
    actions, unknown = _resolve_actions(patterns, catalogue, warnings)
    sid = raw.get("Sid")
    return Statement(
        index=index,
        sid=None if sid is None else str(sid),
        effect=effect,
        not_action=not_action,
        action_patterns=tuple(p.lower() for p in patterns),
        actions=actions,
        granted=catalogue.all_mask & ~actions if not_action else actions,
        unknown_patterns=unknown,
        not_resource=not_resource,
        resources=resources,
        conditions=_conditions(raw.get("Condition"), where),
    )


def _one_of(raw: Mapping[str, Any], positive: str, negative: str, where: str) -> tuple[bool, Any]:
    """Exactly one of e.g. Action/NotAction must be present; returns (is_negative, value)."""
    if positive in raw and negative in raw:
        raise PolicyParseError(f"{where} has both {positive} and {negative}")
    if positive in raw:
        return False, raw[positive]
    if negative in raw:
        return True, raw[negative]
    raise PolicyParseError(f"{where} needs {positive} or {negative}")


def _strings(value: Any, name: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        if not value:
            raise PolicyParseError(f"{where}: {name} must not be empty")
        return tuple(value)
    raise PolicyParseError(f"{where}: {name} must be a string or an array of strings, got {_json_kind(value)}")


def _action_patterns(value: Any, name: str, where: str) -> tuple[str, ...]:
    patterns = _strings(value, name, where)
    for pattern in patterns:
        service, colon, action = pattern.partition(":")
        if pattern != "*" and not (colon and service and action):
            raise PolicyParseError(f"{where}: {name} {pattern!r} is neither '*' nor 'service:action'")
    return patterns


def _resolve_actions(
    patterns: tuple[str, ...], catalogue: ActionCatalogue, warnings: list[str]
) -> tuple[int, tuple[str, ...]]:
    """Expand patterns against the catalogue; those matching nothing are kept literally, with a warning."""
    bits = 0
    unknown: list[str] = []
    for pattern in patterns:
        expanded = catalogue.expand(pattern)
        if expanded:
            bits |= expanded
            continue
        unknown.append(pattern.lower())
        warnings.append(_unknown_action_warning(pattern, catalogue))
    return bits, tuple(unknown)


def _unknown_action_warning(pattern: str, catalogue: ActionCatalogue) -> str:
    service, _, action = pattern.partition(":")
    where = f"(catalogue {catalogue.version}): matched literally"
    if not has_wildcard(service) and not catalogue.knows_service(service):
        return f"unknown service {service.lower()!r} in action {pattern!r} {where}"
    if not has_wildcard(action):
        return f"unknown action {pattern!r} {where}"
    return f"action pattern {pattern!r} matches no catalogued action {where}"


def _conditions(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return _EMPTY_CONDITIONS
    if not isinstance(value, Mapping):
        raise PolicyParseError(f"{where}: Condition must be an object, got {_json_kind(value)}")
    for operator, keys in value.items():
        if not isinstance(keys, Mapping):
            raise PolicyParseError(
                f"{where}: Condition operator {operator!r} must map to an object of condition keys, "
                f"got {_json_kind(keys)}"
            )
    return MappingProxyType(dict(value)) if value else _EMPTY_CONDITIONS


# ----------------------------------------------------------------------------------------------------------
# Resource globs
# ----------------------------------------------------------------------------------------------------------

# IAM's escapes for characters that are otherwise special in a Resource.
_RESOURCE_ESCAPES = {"${*}": r"\*", "${?}": r"\?", "${$}": r"\$"}


@functools.lru_cache(maxsize=4096)
def _resource_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        escape = _RESOURCE_ESCAPES.get(pattern[i : i + 4])
        if escape:
            parts.append(escape)
            i += 4
            continue
        char = pattern[i]
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def resource_matches(pattern: str, resource: str) -> bool:
    """Whether a Resource glob matches a concrete ARN. Case-sensitive, as ARNs are; ``*`` and ``?`` are
    wildcards.

    Policy variables other than the ``${*}``/``${?}``/``${$}`` escapes cannot be resolved here: they match
    literally.
    """
    return _resource_regex(pattern).fullmatch(resource) is not None


@functools.lru_cache(maxsize=4096)
def _subsumption_regex(general: str) -> re.Pattern[str]:
    # Matched against another glob's text: "*" may absorb any part of it, wildcards included, but "?" stands
    # for exactly one character, so it must not absorb the other glob's "*".
    parts = [".*" if c == "*" else "[^*]" if c == "?" else re.escape(c) for c in general]
    return re.compile("".join(parts), re.DOTALL)


def glob_subsumes(general: str, specific: str) -> bool:
    """True only if every resource ``specific`` can match is matched by ``general``."""
    if general == specific:
        return True
    if "${" in general or "${" in specific:
        return False  # a policy variable's value is unknown here: only an identical pattern is certain
    return _subsumption_regex(general).fullmatch(specific) is not None


def _literal_prefix(pattern: str) -> str:
    cut = len(pattern)
    for marker in ("*", "?", "${"):
        found = pattern.find(marker)
        if found != -1:
            cut = min(cut, found)
    return pattern[:cut]


def _globs_may_intersect(a: str, b: str) -> bool:
    """False only when no resource can match both: their literal prefixes disagree."""
    prefix_a, prefix_b = _literal_prefix(a), _literal_prefix(b)
    return prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)


def _deny_covers(deny: Statement, allow: Statement) -> bool:
    """Whether the deny certainly applies to every resource the allow grants on (False when unsure)."""
    if deny.all_resources:
        return True
    if deny.not_resource:
        # The deny applies outside its list: certain only if no allowed resource can fall inside the list.
        return not allow.not_resource and not any(
            _globs_may_intersect(excluded, resource) for excluded in deny.resources for resource in allow.resources
        )
    if allow.not_resource:
        return False
    return all(any(glob_subsumes(d, r) for d in deny.resources) for r in allow.resources)


def _resources_may_overlap(deny: Statement, allow: Statement) -> bool:
    """Whether the deny could apply to some resource the allow grants on (conservative: True if unsure)."""
    if deny.all_resources or allow.all_resources or (deny.not_resource and allow.not_resource):
        return True
    if deny.not_resource:
        return not all(any(glob_subsumes(n, r) for n in deny.resources) for r in allow.resources)
    if allow.not_resource:
        return not all(any(glob_subsumes(n, d) for n in allow.resources) for d in deny.resources)
    return any(_globs_may_intersect(d, r) for d in deny.resources for r in allow.resources)


# ----------------------------------------------------------------------------------------------------------
# Effective permissions
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deny:
    source: PolicySource
    statement: Statement

    @property
    def ref(self) -> str:
        return statement_ref(self.source, self.statement)


@dataclass(frozen=True, slots=True)
class Grant:
    """An Allow statement as it survives explicit denies and the permission boundary."""

    source: PolicySource
    statement: Statement
    actions: int  # effective catalogue bits after unconditional denies and the boundary
    conditional: bool  # the Allow itself has a Condition
    maybe_denied_by: tuple[str, ...] = ()  # refs of denies that overlap but could not be shown to cancel
    # The boundary removed actions, or allows some only conditionally or on some resources.
    limited_by_boundary: bool = False
    maybe_denied: int = 0  # bits a conditional deny may remove
    partly_denied: int = 0  # bits an unconditional deny removes on some (not all) of this grant's resources

    @property
    def all_resources(self) -> bool:
        return self.statement.all_resources

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self.statement.conditions

    @property
    def ref(self) -> str:
        return statement_ref(self.source, self.statement)


# Every combination of (unconditional_only, all_resources_only).
_FLAGS = ((False, False), (False, True), (True, False), (True, True))


class EffectivePermissions:
    """What one principal may do, combined across all its policies."""

    def __init__(
        self,
        grants: tuple[Grant, ...],
        denies: tuple[Deny, ...],
        warnings: tuple[str, ...],
        catalogue: ActionCatalogue,
        boundary: tuple[Statement, ...] | None,
        boundary_masks: dict[tuple[bool, bool], int] | None,
    ) -> None:
        self.grants = grants
        self.denies = denies
        self.warnings = warnings
        self.catalogue = catalogue
        self.boundary = boundary  # the boundary's Allow statements; None when the principal has no boundary
        self._boundary_masks = boundary_masks
        self._allowed: dict[tuple[bool, bool], int] = {}

    def allowed(self, *, unconditional_only: bool = False, all_resources_only: bool = False) -> int:
        """Catalogue bits the principal is allowed.

        ``unconditional_only``: no Condition on the Allow, no conditional Deny that may apply, and (with a
        boundary) the boundary allows them unconditionally. ``all_resources_only``: allowed on every resource.
        """
        flags = (unconditional_only, all_resources_only)
        bits = self._allowed.get(flags)
        if bits is None:
            bits = 0
            for grant in self.grants:
                if (unconditional_only and grant.conditional) or (all_resources_only and not grant.all_resources):
                    continue
                surviving = grant.actions
                if unconditional_only:
                    surviving &= ~grant.maybe_denied
                if all_resources_only:
                    surviving &= ~grant.partly_denied
                bits |= surviving
            if self._boundary_masks is not None:
                bits &= self._boundary_masks[flags]
            self._allowed[flags] = bits
        return bits

    def boundary_mask(self, *, unconditional_only: bool = False, all_resources_only: bool = False) -> int:
        """What the permission boundary lets through under the same flags as `allowed`; everything if none."""
        if self._boundary_masks is None:
            return self.catalogue.all_mask
        return self._boundary_masks[(unconditional_only, all_resources_only)]

    def allows(self, action: str, *, unconditional_only: bool = False, all_resources_only: bool = False) -> bool:
        """Whether ``action`` is allowed; an action the catalogue does not know is evaluated literally."""
        i = self.catalogue.index(action)
        if i is not None:
            return bool(
                self.allowed(unconditional_only=unconditional_only, all_resources_only=all_resources_only) >> i & 1
            )
        lowered = action.lower()
        if not self._boundary_allows_literal(lowered, unconditional_only, all_resources_only):
            return False
        for grant in self.grants:
            status = self._literal_status(grant, lowered)
            if status is None:
                continue
            maybe_denied, partly_denied = status
            if unconditional_only and (grant.conditional or maybe_denied):
                continue
            if all_resources_only and (not grant.all_resources or partly_denied):
                continue
            return True
        return False

    def grants_for(self, action: str) -> list[Grant]:
        """The grants through which ``action`` is allowed (evidence); unknown actions match literally."""
        i = self.catalogue.index(action)
        if i is not None:
            bit = 1 << i
            return [grant for grant in self.grants if grant.actions & bit]
        lowered = action.lower()
        if not self._boundary_allows_literal(lowered, False, False):
            return []
        return [grant for grant in self.grants if self._literal_status(grant, lowered) is not None]

    def _boundary_allows_literal(self, action: str, unconditional_only: bool, all_resources_only: bool) -> bool:
        if self.boundary is None:
            return True
        return any(
            statement.covers_action(action)
            and not (unconditional_only and statement.conditional)
            and not (all_resources_only and not statement.all_resources)
            for statement in self.boundary
        )

    def _literal_status(self, grant: Grant, action: str) -> tuple[bool, bool] | None:
        """For an action outside the catalogue: None if this grant does not allow it, else
        (maybe denied by a conditional deny, denied on some of its resources)."""
        allow = grant.statement
        if not allow.covers_action(action):
            return None
        maybe_denied = partly_denied = False
        for deny in self.denies:
            statement = deny.statement
            if not statement.covers_action(action) or not _resources_may_overlap(statement, allow):
                continue
            if statement.conditional:
                maybe_denied = True
            elif _deny_covers(statement, allow):
                return None
            else:
                partly_denied = True
        return maybe_denied, partly_denied

    @staticmethod
    def statement_evidence(grant: Grant) -> dict[str, Any]:
        """A JSON-able description of the statement behind a grant, for a finding's evidence."""
        statement = grant.statement
        return {
            "policy": grant.source.policy_name,
            "policy_ref": grant.source.policy_ref,
            "source": grant.source.source,
            "via": grant.source.via,
            "sid": statement.sid,
            "statement": statement.index,
            "not_action": statement.not_action,
            "actions": list(statement.action_patterns),
            "conditional": grant.conditional,
            "conditions": copy.deepcopy(dict(statement.conditions)),  # the parse is cached: hand out a copy
            "not_resource": statement.not_resource,
            "resources": list(statement.resources),
            "maybe_denied_by": list(grant.maybe_denied_by),
            "limited_by_boundary": grant.limited_by_boundary,
        }


def _boundary_masks(statements: tuple[Statement, ...]) -> dict[tuple[bool, bool], int]:
    """For each (unconditional_only, all_resources_only): the bits the boundary's Allow statements grant."""
    masks: dict[tuple[bool, bool], int] = {}
    for flags in _FLAGS:
        unconditional_only, all_resources_only = flags
        bits = 0
        for statement in statements:
            if (unconditional_only and statement.conditional) or (all_resources_only and not statement.all_resources):
                continue
            bits |= statement.granted
        masks[flags] = bits
    return masks


def _sourced(item: ParsedPolicy | tuple[PolicySource, ParsedPolicy]) -> tuple[PolicySource, ParsedPolicy]:
    if isinstance(item, ParsedPolicy):
        return PolicySource(BOUNDARY_SOURCE, "permissions boundary", BOUNDARY_SOURCE), item
    return item


def effective_permissions(
    policies: Iterable[tuple[PolicySource, ParsedPolicy]],
    boundary: Iterable[ParsedPolicy | tuple[PolicySource, ParsedPolicy]] = (),
    catalogue: ActionCatalogue | None = None,
) -> EffectivePermissions:
    """Combine all of a principal's policies (its own and its groups') into effective permissions.

    ``boundary``: the permission boundary's parsed document(s), bare or with their source; empty means no
    boundary. Its Allow statements intersect; its Deny statements are explicit denies like any other.
    """
    catalogue = catalogue or default_catalogue()
    allows: list[tuple[PolicySource, Statement]] = []
    denies: list[Deny] = []
    warnings: dict[str, None] = {}
    _collect(policies, allows, denies, warnings)
    boundary_pairs = [_sourced(item) for item in boundary]
    boundary_allows: list[tuple[PolicySource, Statement]] = []
    _collect(boundary_pairs, boundary_allows, denies, warnings)
    boundary_statements = tuple(statement for _, statement in boundary_allows) if boundary_pairs else None
    masks = None if boundary_statements is None else _boundary_masks(boundary_statements)

    if not denies and masks is None:
        # Fast path, the common case: nothing can take an Allow away.
        grants = tuple(Grant(source, st, st.granted, st.conditional) for source, st in allows)
    else:
        grants = tuple(_evaluate(source, statement, denies, masks) for source, statement in allows)
    return EffectivePermissions(grants, tuple(denies), tuple(warnings), catalogue, boundary_statements, masks)


def _collect(
    policies: Iterable[tuple[PolicySource, ParsedPolicy]],
    allows: list[tuple[PolicySource, Statement]],
    denies: list[Deny],
    warnings: dict[str, None],
) -> None:
    for source, parsed in policies:
        for warning in parsed.warnings:
            warnings[f"{source.policy_name}: {warning}"] = None
        for statement in parsed.statements:
            if statement.no_resources:
                continue  # NotResource "*" applies to nothing
            if statement.effect == "Allow":
                allows.append((source, statement))
            else:
                denies.append(Deny(source, statement))


def _evaluate(
    source: PolicySource,
    allow: Statement,
    denies: list[Deny],
    boundary_masks: dict[tuple[bool, bool], int] | None,
) -> Grant:
    bits = allow.granted
    for deny in denies:
        statement = deny.statement
        if not statement.conditional and bits & statement.granted and _deny_covers(statement, allow):
            bits &= ~statement.granted
    limited = False
    if boundary_masks is not None:
        limited = bool(bits & ~boundary_masks[True, True])
        bits &= boundary_masks[False, False]
    # What survives may still be hit by denies that could not be shown to cancel: record them.
    maybe_denied = partly_denied = 0
    refs: list[str] = []
    for deny in denies:
        statement = deny.statement
        overlap = bits & statement.granted
        if not overlap or not _resources_may_overlap(statement, allow):
            continue
        if statement.conditional:
            maybe_denied |= overlap
        else:
            partly_denied |= overlap
        refs.append(deny.ref)
    return Grant(source, allow, bits, allow.conditional, tuple(refs), limited, maybe_denied, partly_denied)
