"""AWS-ESC-001: privilege-escalation paths of the pathfinding.cloud catalogue, on each principal's effective
permissions (all its policies and its groups', explicit Deny, the permission boundary).

**What a finding is.** One finding per principal for the paths it holds itself, listing every path id; its key is
the sorted ids, so a principal that gains a new way to escalate gets a new finding to review. Escalation is fixed per
principal (remove or scope a permission, add a Deny or a boundary), and a principal with `iam:*` holds twenty paths:
one finding each would bury the one decision a reviewer has to make. The evidence still names, per path, the actions,
the resources they are granted on and the statements that grant them (`statements`, keyed by policy#index).

Paths are transitive. A principal that can assume a role reaches that role's permissions and paths, and from there
further roles. It can when `sts:AssumeRole` is allowed on the role's ARN and the role's trust admits it (names its
ARN, its own account's root, or `*`), or when the trust of a role of its own account names its ARN: within an account
such a resource-based grant needs no identity policy (a trust naming the account root does). An explicit Deny of
`sts:AssumeRole` still applies to that grant, and so does a role's permission boundary (a grant to a role's ARN, not
to one of its sessions, is bounded), not a user's. The two-step paths that assume their target role (iam-014,
iam-016, iam-017) take the same hop. Each role reached that adds something (it is administrator-equivalent, or holds
paths the principal does not already hold unconditionally) is one more finding, keyed by the chain, whose evidence
carries `{"chain": [principal ARN, role ARN, ...], "hops": [...], "paths": [...]}` with `sts-001` first; a hop
granted by the trust alone says so (`granted_by`).

**How a path is decided** (data: `findings/data/aws_escalation.py`):

- Every required action is allowed, by a statement whose Resource can reach the path's target: a role ARN for
  `iam:PassRole` (a role path such as `role/cfn-exec-*` still can), a customer-managed policy for
  `iam:CreatePolicyVersion` and `iam:SetDefaultPolicyVersion` (AWS-owned policies cannot be edited), another user
  for `iam:CreateAccessKey` (one's own keys are no escalation), the principal itself for `iam:PutRolePolicy`, a role
  it can assume or take over for the two-step paths, and so on. `${aws:username}` resolves to the user's name (and
  to nothing for a role).
- A Deny anywhere (another policy, a group's, the boundary) that covers the target removes the action when it
  certainly applies, and makes it conditional when it may.
- Conditions are decided where what is known settles them: the principal's account, ARN and type, and for
  `iam:PassRole` the services the path passes the role to (`iam:PassedToService`, absent from other requests). A
  statement whose Condition can never hold is ignored and one whose Condition always holds counts as unconditional,
  in an Allow, a Deny, a boundary or a trust (cases listed in the data module). Any other condition keeps the path,
  marked conditional.
- The boundary must allow the action on the target too.

**The project's own paths** (ids `agentiam-...`) complete the catalogue. `agentiam-iam-001`,
`iam:SetDefaultPolicyVersion` (Rhino Security Labs' method 2), makes an older version of a customer-managed policy
the default again: an escalation only when such a version grants more. The inventory holds default versions only, so
the path is potential: reported unconditionally, graded high (not critical), and its evidence says (`potential`) that
older versions could not be compared.

**Severity.** High; critical when a path's category leads to administrator access (self-escalation, unless the path
is only potential) or its target role is administrator-equivalent, or a chain reaches an administrator-equivalent
role. One step lower when every path holds only under conditions (a Condition, a conditional Deny or boundary, a trust
with conditions). Administrators themselves (AWS-IAM-001) are not reported: they have nothing to escalate to.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from agentiam.findings.context import AnalysisContext, AwsPrincipal
from agentiam.findings.data.aws_escalation import (
    ADMIN_OUTCOME_CATEGORIES,
    ASSUMABLE_TARGETS,
    ASSUME_ROLE_PATH,
    AWS_OWNED_POLICIES,
    BOOLEAN_OPERATORS,
    BOOLEAN_VALUES,
    CONTRADICTING_OPERATORS,
    ESCALATION_PATHS,
    MATCH_OPERATORS,
    NEGATED_OPERATORS,
    PASSED_TO_SERVICE,
    PATHS_BY_ID,
    PRINCIPAL_KEYS,
    PRINCIPAL_TYPES,
    RHINO,
    TAKEOVER_TARGETS,
    TARGET_GLOBS,
    Comparison,
    EscalationPath,
    Requirement,
    Target,
)
from agentiam.findings.policy.aws import Grant, Statement, glob_subsumes, resource_matches
from agentiam.findings.policy.catalogue import glob_regex, has_wildcard, mask_from_indices
from agentiam.findings.registry import Hit, rule
from agentiam.findings.rules.aws_iam import ADMIN_COVERAGE, NHI5, STATEMENTS, admin_equivalence, statement_evidence

PATHFINDING = "https://pathfinding.cloud (AWS privilege-escalation paths; each finding names its path ids)"
BOUND_TARGETS = ASSUMABLE_TARGETS | TAKEOVER_TARGETS
ASSUME_ROLE = "sts:AssumeRole"
# What a role-bound target is, whichever role: a necessary condition checked before trying roles one by one.
LOOSE_TARGETS = {
    Target.ASSUMABLE_ROLE: Target.ROLE,
    Target.OTHER_ROLE: Target.ROLE,
    Target.ASSUMABLE_ROLE_POLICY: Target.CUSTOMER_POLICY,
    Target.OTHER_ROLE_POLICY: Target.CUSTOMER_POLICY,
}
RESOURCES_SHOWN = 5  # qualifying Resource patterns listed per action
IDS_IN_MESSAGE = 8


# ----------------------------------------------------------------------------------------------------------------
# The principal, its policy variables and condition facts
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Who:
    principal: AwsPrincipal
    arn: str
    account: str
    groups: tuple[str, ...]  # names of the groups a user belongs to

    @property
    def uid(self) -> str:
        return self.principal.uid

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def kind(self) -> str:
        return self.principal.kind

    @cached_property
    def facts(self) -> dict[str, tuple[str, ...]]:
        """Condition keys whose value the principal fixes in every request it makes, and `iam:PassedToService`,
        absent from every request but an `iam:PassRole`'s."""
        known = {"account": self.account, "arn": self.arn, "type": PRINCIPAL_TYPES.get(self.kind, "")}
        return {key: (known[fact],) for key, fact in PRINCIPAL_KEYS.items()} | {PASSED_TO_SERVICE: ()}


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = frozenset({"*", "?", "$"})  # ${*}, ${?} and ${$} are literal characters, not variables


def _resolve(pattern: str, who: _Who, unknown: str | None) -> str | None:
    """`pattern` with the principal's policy variables filled in, or None when it names one the principal lacks
    (`${aws:username}` of a role): AWS then matches nothing. Other variables become `unknown`, or stay as written
    when `unknown` is None, so that a Deny is never taken to cover more than it certainly does."""
    if "${" not in pattern:
        return pattern
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        key = name.lower()
        if name in _ESCAPES:
            return match.group(0)
        if key == "aws:username":
            missing = missing or who.kind != "aws_user"
            return who.name
        if key == "aws:principalaccount":
            return who.account
        return match.group(0) if unknown is None else unknown

    resolved = _VARIABLE.sub(fill, pattern)
    return None if missing else resolved


def _resolved(patterns: Iterable[str], who: _Who, unknown: str | None) -> tuple[str, ...]:
    return tuple(p for p in (_resolve(pattern, who, unknown) for pattern in patterns) if p is not None)


Facts = Mapping[str, tuple[str, ...]]  # lowercased condition key -> the values it can take in the request


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _compare(how: Comparison, value: str, fact: str) -> bool:
    if how == "exact":
        return value == fact
    if how == "ignore-case":
        return value.casefold() == fact.casefold()
    return glob_regex(value).fullmatch(fact) is not None


def _decide_key(operator: str, if_exists: bool, key: str, values: list[str], facts: Facts) -> bool | None:
    """One condition key under one operator: True when it certainly holds, False when it never can, else None."""
    if operator in BOOLEAN_OPERATORS and not if_exists and BOOLEAN_VALUES.isdisjoint(v.lower() for v in values):
        return False
    if operator in MATCH_OPERATORS and not values and not if_exists:
        return False
    known = facts.get(key)
    positive, negated = MATCH_OPERATORS.get(operator), NEGATED_OPERATORS.get(operator)
    if known is None or not (positive or negated):
        return None
    if not known:  # the key is absent from the request: only a negated or an ...IfExists comparison holds
        return bool(negated) or if_exists
    how = positive or negated
    assert how is not None
    matching = [any(_compare(how, v, fact) for v in values) for fact in known]
    if all(matching):
        return bool(positive)
    if not any(matching):
        return bool(negated)
    return None


def _decide(conditions: Mapping[str, Any], facts: Facts) -> bool | None:
    """Whether a Condition block certainly holds (True), can never hold (False) or may hold (None), for requests
    with these facts (the cases are listed in the data module). No Condition at all certainly holds."""
    certain = True
    accepted: dict[str, set[str]] = {}
    excluded: dict[str, set[str]] = {}
    for raw_operator, keys in conditions.items():
        name = raw_operator.lower()
        operator = name.removesuffix("ifexists")
        if_exists = operator != name
        for raw_key, raw in keys.items():
            key, values = raw_key.lower(), _values(raw)
            if ":" in name:  # ForAnyValue: / ForAllValues: set operators are always treated as satisfiable
                certain = False
                continue
            outcome = _decide_key(operator, if_exists, key, values, facts)
            if outcome is False:
                return False
            certain = certain and outcome is True
            if not if_exists and operator == CONTRADICTING_OPERATORS[0]:
                accepted[key] = set(values)
            elif not if_exists and operator == CONTRADICTING_OPERATORS[1]:
                excluded[key] = set(values)
    if any(values <= excluded[key] for key, values in accepted.items() if key in excluded):
        return False
    return True if certain else None


# ----------------------------------------------------------------------------------------------------------------
# Resources: where a required action must apply
# ----------------------------------------------------------------------------------------------------------------

_STAR, _ONE = "\x00*", "\x00?"  # wildcard tokens; a literal "*" or "?" (from ${*} / ${?}) stays a plain character


@lru_cache(maxsize=4096)
def _tokens(pattern: str) -> tuple[str, ...]:
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("${", i) and pattern[i + 2 : i + 4] in ("*}", "?}", "$}"):
            tokens.append(pattern[i + 2])
            i += 4
            continue
        char = pattern[i]
        tokens.append(_STAR if char == "*" else _ONE if char == "?" else char)
        i += 1
    return tuple(tokens)


@lru_cache(maxsize=16384)
def _globs_intersect(a: str, b: str) -> bool:
    """Whether some resource matches both IAM globs (exact: a search over pairs of positions)."""
    x, y = _tokens(a), _tokens(b)
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(x) and j == len(y):
            return True
        if i < len(x) and x[i] == _STAR:
            stack.append((i + 1, j))  # the star ends here
            if j < len(y):
                stack.append((i, j + 1))  # or takes what y[j] produces
        if j < len(y) and y[j] == _STAR:
            stack.append((i, j + 1))
            if i < len(x):
                stack.append((i + 1, j))
        if i < len(x) and j < len(y) and _STAR not in (x[i], y[j]) and (_ONE in (x[i], y[j]) or x[i] == y[j]):
            stack.append((i + 1, j + 1))
    return False


def _arn_globs_intersect(pattern: str, template: str) -> bool:
    """Whether a Resource pattern and a target glob can match the same real ARN. Real IAM ARNs have six
    colon-separated segments and no colon in the resource part, so whole ARNs are compared segment by segment
    (`arn:aws:iam::*:user/*` never meets `arn:aws:iam::*:role/*`); a shorter pattern such as `arn:aws:*` ends in a
    wildcard that spans the remaining segments."""
    a, b = pattern.split(":", 5), template.split(":", 5)
    if len(a) == len(b) == 6:
        return all(_globs_intersect(x, y) for x, y in zip(a, b, strict=True))
    return _globs_intersect(pattern, template)


def _in_account(pattern: str, account: str) -> str:
    """IAM actions act only in the caller's account: an IAM ARN pattern with any account names the caller's."""
    parts = pattern.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[4] in ("*", ""):
        parts[4] = account
        return ":".join(parts)
    return pattern


@dataclass(frozen=True)
class _Scope:
    """The resources a required action must be able to reach: globs it may intersect or concrete ARNs it must
    match, except resources lying entirely within `outside` (an IAM pattern's any-account read as `account`).
    `anywhere`: no requirement."""

    globs: tuple[str, ...] = ()
    arns: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()
    account: str = ""
    anywhere: bool = False

    def reached_by(self, pattern: str) -> bool:
        if self.anywhere:
            return True
        own = _in_account(pattern, self.account) if self.account else pattern
        if any(glob_subsumes(excluded, own) for excluded in self.outside):
            return False
        return any(_arn_globs_intersect(pattern, g) for g in self.globs) or any(
            resource_matches(pattern, a) for a in self.arns
        )

    def covered_by(self, patterns: tuple[str, ...]) -> bool:
        """Whether these patterns certainly match every resource of the scope."""
        if "*" in patterns:
            return True
        if self.anywhere:
            return False
        return all(any(glob_subsumes(p, g) for p in patterns) for g in self.globs) and all(
            any(resource_matches(p, a) for p in patterns) for a in self.arns
        )


ANYWHERE = _Scope(anywhere=True)


def _reach(statement: Statement, scope: _Scope, who: _Who) -> tuple[str, ...]:
    """The statement's Resource patterns (variables resolved) that can reach the scope. A NotResource statement that
    does not certainly exclude the whole scope reaches it as ("*",): what it spares cannot be narrowed further."""
    if statement.not_resource:
        excluded = _resolved(statement.resources, who, None)
        return () if scope.covered_by(excluded) else ("*",)
    return tuple(p for p in _resolved(statement.resources, who, "*") if scope.reached_by(p))


def _deny_covers(deny: Statement, reached: tuple[str, ...], scope: _Scope, who: _Who) -> bool:
    """Whether the Deny certainly applies to every resource through which the Allow reaches the scope."""
    if deny.all_resources:
        return True
    if deny.not_resource:
        spared = _resolved(deny.resources, who, "*")
        return not any(_arn_globs_intersect(n, p) for n in spared for p in reached)
    patterns = _resolved(deny.resources, who, None)
    return scope.covered_by(patterns) or all(any(glob_subsumes(d, p) for d in patterns) for p in reached)


# ----------------------------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Support:
    """How one required action is allowed on its target."""

    action: str
    grants: tuple[Grant, ...]  # unconditional ones when there are any
    resources: tuple[str, ...]
    conditional: bool
    by_trust: bool = False  # sts:AssumeRole granted by the role's trust alone (it names the principal's ARN)


@dataclass(frozen=True)
class _Hop:
    source: _Who
    role: _Who
    assume: _Support
    trust: dict[str, Any]
    conditional: bool


@dataclass(frozen=True)
class _Match:
    path: EscalationPath
    supports: tuple[_Support, ...]
    conditional: bool
    target: _Who | None = None  # the role a two-step path acts on
    target_is_admin: bool = False

    @property
    def admin(self) -> bool:
        outcome = self.path.category in ADMIN_OUTCOME_CATEGORIES and not self.path.potential
        return outcome or self.target_is_admin


def _rank(match: _Match) -> tuple[bool, bool]:
    return (not match.conditional, match.target_is_admin)


def _root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def _assumes_role(actions: Iterable[str]) -> bool:
    return any(glob_regex(action.lower()).fullmatch("sts:assumerole") for action in actions)


def _by_hop(requirement: Requirement) -> bool:
    """Whether the requirement is assuming the role a two-step path acts on: met by the hop to that role, which the
    role's trust alone may grant."""
    return requirement.action == ASSUME_ROLE and requirement.target is Target.ASSUMABLE_ROLE


class _Escalation:
    """One scan's principals, their trusts and escalation paths, each computed once."""

    def __init__(self, ctx: AnalysisContext) -> None:
        self.catalogue = ctx.catalogue
        rows = {row.uid: row for row in ctx.identities.itertuples()}
        self.principals: list[_Who] = []
        for principal in ctx.aws_principals:
            row = rows[principal.uid]
            attributes = row.attributes or {}
            self.principals.append(_Who(principal, row.native_id, row.scope, tuple(attributes.get("groups") or ())))
        self.by_uid = {who.uid: who for who in self.principals}
        self.trust_rows: dict[str, list[Any]] = defaultdict(list)
        self.trusted: dict[str, set[str]] = defaultdict(set)  # principal ARN, account root or "*" -> role uids
        for row in ctx.trusts.itertuples():
            if row.identity_uid not in self.by_uid:
                continue
            self.trust_rows[row.identity_uid].append(row)
            if row.effect == "Allow" and row.principal_type in ("AWS", "*"):
                principal = _root(row.principal) if re.fullmatch(r"\d{12}", row.principal) else row.principal
                self.trusted[principal].add(row.identity_uid)
        # Each path's actions as catalogue positions: a cheap first test of whether a principal holds them at all.
        index = self.catalogue.index
        self.positions = {
            path.id: frozenset(
                i
                for requirement in path.requires
                if not _by_hop(requirement) and (i := index(requirement.action)) is not None
            )
            for path in ESCALATION_PATHS
        }
        self.table_mask = mask_from_indices(set().union(*self.positions.values()), len(self.catalogue))
        self._admin: dict[str, tuple[int, bool] | None] = {}
        self._direct: dict[str, list[_Match]] = {}
        self._hops: dict[str, list[_Hop]] = {}

    def _held(self, who: _Who) -> frozenset[int]:
        """The catalogue positions of the table's actions that the principal is allowed somewhere."""
        bits = who.principal.permissions.allowed() & self.table_mask
        held = set()
        while bits:
            lowest = bits & -bits
            held.add(lowest.bit_length() - 1)
            bits ^= lowest
        return frozenset(held)

    def admin(self, who: _Who) -> tuple[int, bool] | None:
        if who.uid not in self._admin:
            self._admin[who.uid] = admin_equivalence(who.principal, self.catalogue, ADMIN_COVERAGE)
        return self._admin[who.uid]

    @cached_property
    def role_by_arn(self) -> dict[str, str]:
        return {who.arn: who.uid for who in self.principals if who.kind == "aws_role"}

    @cached_property
    def roles_admins_first(self) -> list[_Who]:
        roles = [who for who in self.principals if who.kind == "aws_role"]
        return sorted(roles, key=lambda who: (self.admin(who) is None, who.name))

    # -- one required action -----------------------------------------------------------------------------------

    def support(self, who: _Who, action: str, scope: _Scope, facts: Facts) -> _Support | None:
        """How `action` is allowed on the scope, for requests with these facts; None when it is not."""
        permissions = who.principal.permissions
        boundary_conditional = self._boundary(who, action, scope, facts)
        if boundary_conditional is None:
            return None
        live: list[tuple[Grant, tuple[str, ...], bool]] = []
        for grant in permissions.grants_for(action):
            holds = _decide(grant.conditions, facts)
            if holds is False:
                continue
            reached = _reach(grant.statement, scope, who)
            if not reached:
                continue
            denied = self._denied(who, action, reached, scope, facts)
            if denied is not True:
                live.append((grant, reached, holds is None or denied is None))
        if not live:
            return None
        chosen = [item for item in live if not item[2]] or live
        return _Support(
            action,
            tuple(grant for grant, _, _ in chosen),
            tuple(dict.fromkeys(p for _, reached, _ in chosen for p in reached)),
            conditional=boundary_conditional or chosen[0][2],
        )

    @staticmethod
    def _denied(who: _Who, action: str, reached: tuple[str, ...], scope: _Scope, facts: Facts) -> bool | None:
        """Whether a Deny certainly applies to the action through these resources (True), may (None), or not."""
        maybe = False
        for deny in who.principal.permissions.denies:
            statement = deny.statement
            if not statement.covers_action(action):
                continue
            applies = _decide(statement.conditions, facts)
            if applies is False or not _deny_covers(statement, reached, scope, who):
                continue
            if applies:
                return True
            maybe = True
        return None if maybe else False

    def granted_by_trust(self, who: _Who, role: _Who) -> _Support | None:
        """sts:AssumeRole on a role of the principal's own account whose trust names the principal's ARN: the trust
        grants it without any identity policy. A Deny still applies; a role's boundary too, since a resource-based
        policy naming a role's ARN (not one of its sessions) grants no more than the boundary allows, whereas a
        user's boundary does not limit it."""
        scope = _Scope(arns=(role.arn,))
        denied = self._denied(who, ASSUME_ROLE, scope.arns, scope, who.facts)
        if denied is True:
            return None
        boundary_conditional = self._boundary(who, ASSUME_ROLE, scope, who.facts) if who.kind == "aws_role" else False
        if boundary_conditional is None:
            return None
        return _Support(ASSUME_ROLE, (), scope.arns, denied is None or boundary_conditional, by_trust=True)

    @staticmethod
    def _boundary(who: _Who, action: str, scope: _Scope, facts: Facts) -> bool | None:
        """None when the boundary does not let the action reach the scope; else whether only conditionally."""
        statements = who.principal.permissions.boundary
        if statements is None:
            return False
        found = False
        for statement in statements:
            if not statement.covers_action(action) or not _reach(statement, scope, who):
                continue
            holds = _decide(statement.conditions, facts)
            if holds:
                return False
            found = found or holds is None
        return True if found else None

    def require(
        self, who: _Who, requirement: Requirement, role: _Who | None = None, target: Target | None = None
    ) -> _Support | None:
        """How a requirement is met on its target (`role` for a bound one; `target` overrides the requirement's)."""
        scope = self.scope(who, target or requirement.target, role)
        if scope is None:
            return None
        facts = {**who.facts, PASSED_TO_SERVICE: requirement.passed_to} if requirement.passed_to else who.facts
        return self.support(who, requirement.action, scope, facts)

    def scope(self, who: _Who, target: Target, role: _Who | None = None) -> _Scope | None:
        if target is Target.ANY:
            return ANYWHERE
        if target is Target.SELF:
            return _Scope(arns=(who.arn,))
        if target is Target.USER:
            return _Scope(globs=TARGET_GLOBS[target], outside=(who.arn,), account=who.account)
        if target is Target.CUSTOMER_POLICY:
            return _Scope(globs=TARGET_GLOBS[target], outside=(AWS_OWNED_POLICIES,))
        if target is Target.OWN_GROUP:
            prefix = f"arn:aws:iam::{who.account}:group/"
            globs = tuple(g for name in who.groups for g in (f"{prefix}{name}", f"{prefix}*/{name}"))
            return _Scope(globs=globs) if globs else None
        if target in TARGET_GLOBS:
            return _Scope(globs=TARGET_GLOBS[target])
        assert role is not None, f"{target} is bound to a role"
        if target in (Target.ASSUMABLE_ROLE, Target.OTHER_ROLE):
            return _Scope(arns=(role.arn,))
        policies = self.customer_policies(role)
        return _Scope(arns=policies) if policies else None

    @staticmethod
    def customer_policies(role: _Who) -> tuple[str, ...]:
        permissions = role.principal.permissions
        sources = [g.source for g in permissions.grants] + [d.source for d in permissions.denies]
        return tuple(
            sorted(
                {
                    s.policy_ref
                    for s in sources
                    if s.source == "customer_managed" and not glob_subsumes(AWS_OWNED_POLICIES, s.policy_ref)
                }
            )
        )

    # -- paths -------------------------------------------------------------------------------------------------

    def direct(self, who: _Who) -> list[_Match]:
        """The paths the principal holds with its own permissions (sts-001 is a chain's step, not listed here)."""
        if who.uid not in self._direct:
            held = self._held(who)
            self._direct[who.uid] = [
                match
                for path in ESCALATION_PATHS
                if self.positions[path.id] <= held
                and path.id != ASSUME_ROLE_PATH
                and who.kind in path.principals
                and (match := self._match(who, path)) is not None
            ]
        return self._direct[who.uid]

    def _match(self, who: _Who, path: EscalationPath) -> _Match | None:
        supports: dict[int, _Support] = {}
        bound = []
        for position, requirement in enumerate(path.requires):
            if requirement.target in BOUND_TARGETS:
                bound.append(position)
                continue
            found = self.require(who, requirement)
            if found is None:
                return None
            supports[position] = found
        if not bound:
            ordered = tuple(supports[i] for i in range(len(path.requires)))
            return _Match(path, ordered, any(s.conditional for s in ordered))
        # Necessary, and cheap before trying roles one by one: each bound requirement reaches some role or
        # customer-managed policy at all. What it reaches also narrows the candidates.
        loose = {}
        for position in bound:
            requirement = path.requires[position]
            if _by_hop(requirement):
                continue
            found = self.require(who, requirement, target=LOOSE_TARGETS[requirement.target])
            if found is None:
                return None
            loose[position] = found
        unconditional_possible = not any(s.conditional for s in loose.values())
        best: _Match | None = None
        for role, hop in self._candidates(who, path, bound, loose):
            hop_conditional = hop is not None and hop.conditional
            on_role = dict(supports)
            for position in bound:
                requirement = path.requires[position]
                found = hop.assume if hop is not None and _by_hop(requirement) else self.require(who, requirement, role)
                if found is None:
                    break
                on_role[position] = found
            else:
                ordered = tuple(on_role[i] for i in range(len(path.requires)))
                conditional = hop_conditional or any(s.conditional for s in ordered)
                match = _Match(path, ordered, conditional, role, self.admin(role) is not None)
                if best is None or _rank(match) > _rank(best):
                    best = match
                if not conditional or not unconditional_possible:
                    break  # candidates come administrators first: nothing ranks higher
        return best

    def _candidates(
        self, who: _Who, path: EscalationPath, bound: list[int], loose: dict[int, _Support]
    ) -> Iterator[tuple[_Who, _Hop | None]]:
        """The roles a two-step path may act on, administrators first, with the hop to a role to be assumed."""
        if path.requires[bound[0]].target in ASSUMABLE_TARGETS:
            hops = sorted(self.hops(who), key=lambda hop: (self.admin(hop.role) is None, hop.role.name))
            yield from ((hop.role, hop) for hop in hops)
            return
        # A takeover may consider every role of the estate: keep those that the role-ARN requirement's resources
        # name (a plain lookup for ARNs without wildcards) before evaluating anything.
        named = next(loose[i].resources for i in bound if path.requires[i].target is Target.OTHER_ROLE)
        roles: Iterable[_Who]
        if "*" in named:
            roles = self.roles_admins_first
        elif any(has_wildcard(p) for p in named):
            roles = (r for r in self.roles_admins_first if any(resource_matches(p, r.arn) for p in named))
        else:
            found = {uid for arn in named if (uid := self.role_by_arn.get(arn)) is not None}
            roles = [r for r in self.roles_admins_first if r.uid in found]
        yield from ((role, None) for role in roles if role is not who)

    # -- assuming roles ----------------------------------------------------------------------------------------

    def hops(self, who: _Who) -> list[_Hop]:
        """The roles the principal can assume directly: allowed sts:AssumeRole on the role and admitted by its trust,
        or named by ARN in the trust of a role of its own account, which needs no identity-policy grant."""
        if who.uid not in self._hops:
            hops = []
            allowed = who.principal.permissions.allows(ASSUME_ROLE)
            candidates = self.trusted[who.arn]
            if allowed:
                candidates = candidates | self.trusted["*"] | self.trusted[_root(who.account)]
            for uid in sorted(candidates - {who.uid}):
                role = self.by_uid[uid]
                ways = []
                if allowed and (admitted := self._admitted(role, who)) is not None:
                    assume = self.support(who, ASSUME_ROLE, _Scope(arns=(role.arn,)), who.facts)
                    if assume is not None:
                        ways.append(_Hop(who, role, assume, admitted[0], admitted[1] or assume.conditional))
                if role.account == who.account and (named := self._admitted(role, who, who.arn)) is not None:
                    assume = self.granted_by_trust(who, role)
                    if assume is not None:
                        ways.append(_Hop(who, role, assume, named[0], named[1] or assume.conditional))
                if ways:
                    hops.append(min(ways, key=lambda hop: hop.conditional))
            self._hops[who.uid] = hops
        return self._hops[who.uid]

    def _admitted(self, role: _Who, who: _Who, allowed_as: str | None = None) -> tuple[dict[str, Any], bool] | None:
        """The trust statement that lets `who` assume `role`, and whether only under conditions; `allowed_as`: only
        an Allow naming that principal counts (a Deny of the principal under any name still applies)."""
        names = {"*", who.arn, _root(who.account), who.account}
        admitted: tuple[dict[str, Any], bool] | None = None
        maybe_denied = False
        for row in self.trust_rows[role.uid]:
            if row.principal not in names or not _assumes_role(row.actions or []):
                continue
            if row.effect == "Allow" and allowed_as is not None and row.principal != allowed_as:
                continue
            conditions = row.conditions or {}
            holds = _decide(conditions, who.facts)
            if holds is False:
                continue
            if row.effect == "Deny":
                if holds:
                    return None
                maybe_denied = True
                continue
            trust = {"principal": row.principal, **({"conditions": conditions} if conditions else {})}
            if admitted is None or (admitted[1] and holds):
                admitted = (trust, not holds)
        if admitted is None:
            return None
        return admitted[0], admitted[1] or maybe_denied

    def reached(self, who: _Who) -> Iterator[list[_Hop]]:
        """Every role reachable by assuming roles, once, by its shortest chain; not beyond an administrator."""
        seen = {who.uid}
        queue: deque[tuple[_Who, list[_Hop]]] = deque([(who, [])])
        while queue:
            current, chain = queue.popleft()
            for hop in self.hops(current):
                if hop.role.uid in seen:
                    continue
                seen.add(hop.role.uid)
                hops = [*chain, hop]
                yield hops
                if self.admin(hop.role) is None:
                    queue.append((hop.role, hops))


# ----------------------------------------------------------------------------------------------------------------
# Evidence and hits
# ----------------------------------------------------------------------------------------------------------------


class _Evidence:
    """Path entries that refer to statements by policy#index, each statement described once."""

    def __init__(self, escalation: _Escalation) -> None:
        self.catalogue = escalation.catalogue
        self.statements: dict[str, Any] = {}

    def action(self, support: _Support) -> dict[str, Any]:
        for grant in support.grants[:STATEMENTS]:
            self.statements.setdefault(grant.ref, statement_evidence(grant, self.catalogue))
        entry: dict[str, Any] = {
            "action": support.action,
            "statements": [grant.ref for grant in support.grants[:STATEMENTS]],
            "resources": list(support.resources[:RESOURCES_SHOWN]),
        }
        if len(support.grants) > STATEMENTS:
            entry["statements_total"] = len(support.grants)
        if support.by_trust:
            entry["granted_by"] = "the role's trust policy, which names the principal's ARN in its own account"
        if support.conditional:
            entry["conditional"] = True
        return entry

    def path(self, match: _Match) -> dict[str, Any]:
        entry = _path_header(match.path, match.conditional)
        if match.target is not None:
            entry["target"] = match.target.arn
            if match.target_is_admin:
                entry["target_is_administrator"] = True
        if any("*" not in s.resources for s in match.supports):
            entry["resource_limited"] = True
        entry["actions"] = [self.action(s) for s in match.supports]
        return entry

    def hop(self, hop: _Hop) -> dict[str, Any]:
        return {
            "from": hop.source.arn,
            "to": hop.role.arn,
            "assume": self.action(hop.assume),
            "trust": hop.trust,
            "conditional": hop.conditional,
        }


def _path_header(path: EscalationPath, conditional: bool) -> dict[str, Any]:
    header = {
        "id": path.id,
        "name": path.name,
        "category": path.category,
        "reference": path.reference,
        "conditional": conditional,
    }
    return header | ({"potential": path.potential} if path.potential else {})


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:IDS_IN_MESSAGE])
    return f"{shown} and {len(ids) - IDS_IN_MESSAGE} more" if len(ids) > IDS_IN_MESSAGE else shown


def _direct_hit(escalation: _Escalation, who: _Who, matches: list[_Match]) -> Hit:
    unconditional = [m for m in matches if not m.conditional]
    chosen = unconditional or matches
    ids = sorted(m.path.id for m in matches)
    evidence = _Evidence(escalation)
    paths = [evidence.path(m) for m in sorted(matches, key=lambda m: m.path.id)]
    plural = "s" if len(ids) > 1 else ""
    return Hit(
        subject_uid=who.uid,
        key=",".join(ids),
        message=f"{who.name} can escalate its privileges through {len(ids)} path{plural}: {_ids(ids)}"
        + ("" if unconditional else " (only under conditions)"),
        evidence={"paths": paths, "statements": evidence.statements},
        conditional=not unconditional,
        severity="critical" if any(m.admin for m in chosen) else "high",
    )


def _transitive_hit(escalation: _Escalation, who: _Who, hops: list[_Hop], held: set[str]) -> Hit | None:
    role = hops[-1].role
    admin = escalation.admin(role)
    adds = [m for m in escalation.direct(role) if m.path.id not in held] if admin is None else []
    if admin is None and not adds:
        return None
    hops_conditional = any(hop.conditional for hop in hops)
    if admin is not None:
        outcome_conditional, critical = admin[1], True
        outcome = "which is administrator-equivalent"
    else:
        chosen = [m for m in adds if not m.conditional] or adds
        outcome_conditional, critical = chosen[0].conditional, any(m.admin for m in chosen)
        outcome = f"which has escalation paths {_ids(sorted(m.path.id for m in adds))}"
    evidence = _Evidence(escalation)
    assume = _path_header(PATHS_BY_ID[ASSUME_ROLE_PATH], hops_conditional)
    assume["target"] = role.arn
    if admin is not None:
        assume["target_is_administrator"] = True
    paths = [assume, *(evidence.path(m) for m in sorted(adds, key=lambda m: m.path.id))]
    chain = [who.arn, *(hop.role.arn for hop in hops)]
    ids = sorted(entry["id"] for entry in paths)
    conditional = hops_conditional or outcome_conditional
    return Hit(
        subject_uid=who.uid,
        key=f"via {' > '.join(chain[1:])}: {','.join(ids)}",
        message=f"{who.name} can assume {role.name} ({' -> '.join([who.name, *(h.role.name for h in hops)])}), "
        f"{outcome}" + (" (only under conditions)" if conditional else ""),
        evidence={
            "chain": chain,
            "hops": [evidence.hop(hop) for hop in hops],
            "paths": paths,
            "statements": evidence.statements,
        },
        conditional=conditional,
        severity="critical" if critical else "high",
    )


@rule(
    id="AWS-ESC-001",
    title="Privilege escalation path",
    category="privilege-escalation",
    severity="high",
    provider="aws",
    rationale="""The identity holds a known privilege-escalation path (pathfinding.cloud): a combination of
    permissions, possibly spread over several policies or reached by assuming another role, that lets it gain more
    access than it was granted, by rewriting its own or another principal's permissions, taking over another
    principal, or running code under a more privileged role. Whoever controls the identity (for an agent, a prompt
    injection) can become that more privileged principal.""",
    remediation="""Remove the permission that completes each path, or scope it: `iam:PassRole` to the roles the
    workload passes (with `iam:PassedToService`), IAM write actions to resources the workload owns, `sts:AssumeRole`
    to the roles it needs and their trust policies to the principals that need them. A permission boundary or an
    explicit Deny closes a path for good. Each path's reference explains the attack and its mitigations.""",
    references=(NHI5, PATHFINDING, f"{RHINO} (iam:SetDefaultPolicyVersion, path agentiam-iam-001)"),
)
def escalation_paths(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    escalation = _Escalation(ctx)
    for who in escalation.principals:
        if escalation.admin(who) is not None:
            continue  # AWS-IAM-001 says more: there is nothing to escalate to
        matches = escalation.direct(who)
        if matches:
            yield _direct_hit(escalation, who, matches)
        held = {m.path.id for m in matches if not m.conditional}
        for hops in escalation.reached(who):
            hit = _transitive_hit(escalation, who, hops, held)
            if hit is not None:
                yield hit
