"""AWS unused-grant and hygiene rules: use and age of roles, access keys and agent identities; ownership, sharing and
permission boundaries of agents.

Ages are measured at the scan's start, not at analysis time, so that analysing an old scan again gives the same
findings. An identity's last use is the latest of every use the inventory records for it (IAM's RoleLastUsed, a
user's password or access-key use, and whatever later collectors add as usage rows). An identity without any recorded
use is judged by its age: created within the window, it is new, not unused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.aws_access import ROUTINE_WRITE_ACTIONS, SERVICE_LINKED_ROLE_PATH
from agentiam.findings.data.aws_trust import (
    AGENT_UNUSED_DAYS,
    KEY_ROTATION_DAYS,
    ROLE_LAST_USED_REFERENCE,
    ROLE_LAST_USED_WINDOW_DAYS,
    UNUSED_DAYS,
    WORKLOAD_KEY_SERVICES,
)
from agentiam.findings.registry import Hit, rule
from agentiam.findings.rules.aws_iam import EXAMPLES
from agentiam.inventory import views

NHI1 = "OWASP NHI Top 10 2025: NHI1 Improper Offboarding"
NHI5 = "OWASP NHI Top 10 2025: NHI5 Overprivileged NHI"
NHI7 = "OWASP NHI Top 10 2025: NHI7 Long-Lived Secrets"
NHI9 = "OWASP NHI Top 10 2025: NHI9 NHI Reuse"
ACCESS_KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"
BOUNDARIES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
ACTIVE = "Active"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(frozen=True)
class Idleness:
    """How long an identity has gone unused, and what that is based on."""

    days: int
    last_used_at: datetime | None
    created_at: datetime | None

    @property
    def summary(self) -> str:
        if self.last_used_at is not None:
            return f"last used {self.last_used_at:%Y-%m-%d}, {self.days} days ago"
        return f"no recorded use, created {self.created_at:%Y-%m-%d} ({self.days} days ago)"

    def evidence(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "idle_days": self.days,
            "last_used_at": _iso(self.last_used_at),
            "created_at": _iso(self.created_at),
        }
        if self.last_used_at is None:
            evidence["note"] = (
                f"no use recorded; IAM reports a role's last use for the trailing {ROLE_LAST_USED_WINDOW_DAYS} days"
            )
        return evidence


def idleness(last_used_at: datetime | None, created_at: datetime | None, now: datetime) -> Idleness | None:
    """Days since last use, or since creation when there is no use; None when neither is known."""
    since = last_used_at or created_at
    return None if since is None else Idleness(max(0, (now - since).days), last_used_at, created_at)


def last_uses(ctx: AnalysisContext) -> dict[str, datetime]:
    """The latest recorded use of every identity: its own last-used time and every usage row about it."""
    latest: dict[str, datetime] = {}
    # Whole columns as lists: per-row access to pandas columns costs ~20x more at 10,000 identities.
    pairs = [
        *zip(ctx.identities["uid"].tolist(), ctx.identities["last_used_at"].tolist(), strict=True),
        *zip(ctx.usage["subject_uid"].tolist(), ctx.usage["last_used_at"].tolist(), strict=True),
    ]
    for uid, value in pairs:
        moment = views.as_utc(value)
        if moment is not None and (uid not in latest or moment > latest[uid]):
            latest[uid] = moment
    return latest


def _audited(ctx: AnalysisContext) -> pd.DataFrame:
    """AWS identities the account controls: service-linked roles belong to AWS."""
    frame = ctx.identities[ctx.identities["provider"] == "aws"]
    return frame[~frame["path"].fillna("").str.startswith(SERVICE_LINKED_ROLE_PATH)]


def _idle_identities(ctx: AnalysisContext, frame: pd.DataFrame, days: int) -> Iterator[tuple[str, str, Idleness]]:
    """(uid, name, idleness) of the identities in `frame` idle for `days` or more."""
    now, used = ctx.as_of, last_uses(ctx)
    for uid, name, created in zip(*(frame[c].tolist() for c in ("uid", "name", "created_at")), strict=True):
        idle = idleness(used.get(uid), views.as_utc(created), now)
        if idle is not None and idle.days >= days:
            yield uid, name, idle


@rule(
    id="AWS-UNUSED-001",
    title="Role unused",
    category="unused",
    severity="medium",
    provider="aws",
    rationale="""A role nobody has used for `unused_days` still holds its permissions and its trust: it is
    attack surface that serves no one, and often belongs to a retired workload nobody offboarded. A role with no
    recorded use counts as unused only when it is older than the window, so one created yesterday is not reported.
    Agent identities have their own, shorter window (AWS-UNUSED-003).""",
    remediation="""Confirm with the owner that nothing uses the role, then delete it (or first remove its trust
    policy's principals and watch for failures). Keep roles for rare break-glass use documented and tagged.""",
    references=(NHI1, ROLE_LAST_USED_REFERENCE),
    parameters={"unused_days": UNUSED_DAYS},
)
def role_unused(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    frame = _audited(ctx)
    roles = frame[(frame["identity_kind"] == "aws_role") & ~frame["is_agent"]]
    for uid, name, idle in _idle_identities(ctx, roles, int(params["unused_days"])):
        yield Hit(
            subject_uid=uid,
            message=f"{name} has not been used for {params['unused_days']} days or more: {idle.summary}",
            evidence=idle.evidence(),
        )


@rule(
    id="AWS-UNUSED-003",
    title="Agent identity with no recent use",
    category="unused",
    severity="low",
    provider="aws",
    rationale="""An agent that stopped running leaves its identity behind, with everything the agent was allowed
    to do. Agents come and go faster than other workloads, so their identities are checked on a shorter window
    (`unused_days`) than other roles: this is the offboarding signal. An identity with no recorded use counts only
    when it is older than the window.""",
    remediation="""Ask the agent's owner whether it is retired. If so, delete its role or user; if not, find out
    why it has not run.""",
    references=(NHI1, ROLE_LAST_USED_REFERENCE),
    parameters={"unused_days": AGENT_UNUSED_DAYS},
)
def agent_unused(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    frame = _audited(ctx)
    for uid, name, idle in _idle_identities(ctx, frame[frame["is_agent"]], int(params["unused_days"])):
        yield Hit(
            subject_uid=uid,
            message=f"agent identity {name} has not been used for {params['unused_days']} days or more: {idle.summary}",
            evidence=idle.evidence(),
        )


@dataclass(frozen=True)
class AccessKey:
    uid: str
    holder_uid: str
    name: str
    created_at: datetime | None
    last_used_at: datetime | None
    service: str | None

    def evidence(self) -> dict[str, Any]:
        return {
            "access_key": self.name,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "last_used_service": self.service,
        }


def active_access_keys(ctx: AnalysisContext) -> list[AccessKey]:
    """Active access keys of identities in the inventory (the IAM collector's credential rows)."""
    credentials = ctx.credentials
    if credentials.empty:
        return []
    rows = credentials[(credentials["credential_kind"] == "aws_access_key") & (credentials["status"] == ACTIVE)]
    return [
        AccessKey(
            row.uid,
            row.holder_uid,
            row.name,
            views.as_utc(row.created_at),
            views.as_utc(row.last_used_at),
            (row.attributes or {}).get("service_name"),
        )
        for row in rows.itertuples()
        if row.holder_uid in ctx.subjects
    ]


@rule(
    id="AWS-UNUSED-002",
    title="Access key unused",
    category="unused",
    severity="medium",
    provider="aws",
    rationale="""An active access key that has not been used for `unused_days` is a long-lived secret nobody needs
    but anybody who finds it can use. A key with no recorded use counts only when it is older than the window.""",
    remediation="""Deactivate the key, wait for complaints, then delete it. Workloads should use roles (instance
    profiles, IRSA, Lambda execution roles) instead of access keys.""",
    references=(NHI7, ACCESS_KEYS, "CIS AWS Foundations 1.12"),
    parameters={"unused_days": UNUSED_DAYS},
)
def access_key_unused(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    now, days = ctx.as_of, int(params["unused_days"])
    for key in active_access_keys(ctx):
        idle = idleness(key.last_used_at, key.created_at, now)
        if idle is None or idle.days < days:
            continue
        holder = ctx.subjects[key.holder_uid]["name"]
        yield Hit(
            subject_uid=key.holder_uid,
            key=key.uid,
            message=f"{holder}: active {key.name} has not been used for {days} days or more: {idle.summary}",
            evidence={**key.evidence(), "idle_days": idle.days},
        )


@rule(
    id="AWS-HYG-004",
    title="Access key older than the rotation age",
    category="credential-exposure",
    severity="medium",
    provider="aws",
    rationale="""The longer an access key lives, the more places it has been copied to (laptops, CI variables,
    config files, logs) and the longer a leaked copy keeps working. Active keys older than `rotation_days` are
    reported.""",
    remediation="""Create a new key, move its users to it, deactivate and then delete the old one. Better, replace
    the key with a role the workload assumes.""",
    references=(NHI7, ACCESS_KEYS, "CIS AWS Foundations 1.14"),
    parameters={"rotation_days": KEY_ROTATION_DAYS},
)
def access_key_not_rotated(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    now, days = ctx.as_of, int(params["rotation_days"])
    for key in active_access_keys(ctx):
        if key.created_at is None or (age := (now - key.created_at).days) < days:
            continue
        holder = ctx.subjects[key.holder_uid]["name"]
        yield Hit(
            subject_uid=key.holder_uid,
            key=key.uid,
            message=f"{holder}: active {key.name} is {age} days old (rotation age {days} days)",
            evidence={**key.evidence(), "age_days": age},
        )


@rule(
    id="AWS-HYG-005",
    title="IAM user's long-lived access key used by a workload",
    category="credential-exposure",
    severity="high",
    provider="aws",
    rationale="""A workload that runs on an IAM user's access key carries a secret that never expires and works from
    anywhere. A user counts as a workload's when it is classified as an agent (its tags), or when one of its
    active keys was last used with a service that workloads, not people, call (`workload_services`: model and
    agent invocation, functions, ML endpoints). For an agent, a prompt injection that reads its environment or
    files takes the key with it.""",
    remediation="""Run the workload under a role (Lambda execution role, ECS task role, IRSA, EKS Pod Identity,
    AgentCore runtime role) and delete the user's access keys.""",
    references=(NHI7, ACCESS_KEYS, "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"),
    parameters={"workload_services": list(WORKLOAD_KEY_SERVICES)},
)
def user_key_in_workload(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    services = {s.lower() for s in params["workload_services"]}
    keys_by_user: dict[str, list[AccessKey]] = defaultdict(list)
    for key in active_access_keys(ctx):
        if ctx.subjects[key.holder_uid]["kind"] == "aws_user":
            keys_by_user[key.holder_uid].append(key)
    for uid, keys in sorted(keys_by_user.items()):
        user = ctx.subjects[uid]
        used_by_workload = [k for k in keys if (k.service or "").lower() in services]
        if not user["is_agent"] and not used_by_workload:
            continue
        reason = (
            "is an agent's identity"
            if user["is_agent"]
            else f"has a key last used with {', '.join(sorted({k.service or '' for k in used_by_workload}))}"
        )
        yield Hit(
            subject_uid=uid,
            message=f"IAM user {user['name']} {reason} and holds {len(keys)} active access key(s)",
            evidence={
                "access_keys": [k.evidence() for k in keys],
                "workload_services_seen": sorted({k.service for k in used_by_workload if k.service}),
            },
        )


@rule(
    id="AWS-HYG-001",
    title="Agent identity without an owner",
    category="hygiene",
    severity="low",
    provider="aws",
    rationale="""Nobody can review, rotate or offboard an agent's identity that nobody owns. The owner comes from
    the identity's tags (`classification.owner_tag_keys`); an agent identity without one is reported.""",
    remediation="""Tag the role or user with its owner (a team mailbox or alias that outlives people), for example
    `owner=platform-eng@example.com`.""",
    references=(NHI1,),
)
def agent_without_owner(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    frame = _audited(ctx)
    for row in frame[frame["is_agent"]].itertuples():
        if (row.owner or "").strip():
            continue
        yield Hit(
            subject_uid=row.uid,
            message=f"agent identity {row.name} has no owner: none of the owner tag keys is set",
            evidence={"tags": dict(row.tags or {}), "owner_tag_keys": list(ctx.settings.classification.owner_tag_keys)},
        )


def _workload(uid: str, row: Any, mechanism: str) -> dict[str, Any]:
    """A bound workload for the evidence; a binding may name a workload another scope failed to collect."""
    if row is None:
        return {"uid": uid, "name": uid, "kind": None, "is_agent": False, "mechanism": mechanism}
    return {
        "uid": uid,
        "name": row.name,
        "kind": row.workload_kind,
        "is_agent": bool(row.is_agent),
        "mechanism": mechanism,
    }


@rule(
    id="AWS-HYG-002",
    title="Identity shared by several workloads",
    category="hygiene",
    severity="medium",
    provider="aws",
    rationale="""When several agents or functions run as one role, each holds the union of what all of them need,
    a compromise of one is a compromise of all, and the logs cannot tell them apart. Reported when more than
    `max_workloads` workloads are bound to one identity.""",
    remediation="""Give each workload its own role with only the permissions it uses.""",
    references=(NHI9, NHI5),
    parameters={"max_workloads": 1},
)
def shared_identity(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    identities = set(_audited(ctx)["uid"])
    for uid, described in crowded_identities(ctx, identities, int(params["max_workloads"])):
        agents = sum(w["is_agent"] for w in described)
        yield Hit(
            subject_uid=uid,
            message=f"{ctx.subjects[uid]['name']} is shared by {len(described)} workloads"
            + (f" ({agents} of them agents)" if agents else "")
            + f": {', '.join(w['name'] for w in described[:5])}"
            + (" ..." if len(described) > 5 else ""),
            evidence={"workloads": described, "workloads_count": len(described)},
        )


def crowded_identities(
    ctx: AnalysisContext, identities: set[str], limit: int, mechanism: str | None = None
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(identity uid, its bound workloads described) for each of `identities` bound to more than `limit`
    workloads (through `mechanism` only, when given)."""
    if ctx.bindings.empty:
        return
    workloads = {row.uid: row for row in ctx.workloads.itertuples()}
    bound: dict[str, dict[str, str]] = defaultdict(dict)
    for row in ctx.bindings.itertuples():
        if row.identity_uid in identities and mechanism in (None, row.mechanism):
            bound[row.identity_uid][row.workload_uid] = row.mechanism
    for uid, by_workload in sorted(bound.items()):
        if len(by_workload) > limit:
            yield uid, [_workload(w, workloads.get(w), m) for w, m in sorted(by_workload.items())]


@rule(
    id="AWS-HYG-003",
    title="Agent role without a permission boundary",
    category="hygiene",
    severity="low",
    provider="aws",
    rationale="""A permission boundary caps what an identity can ever do, whatever policies are attached to it
    later. An agent's behaviour is steered by its inputs, so an agent role that can write or change permissions on
    any resource should have that cap. By default only such roles are reported (write or permissions-management
    actions on all resources, other than routine log/trace/metric writes and actions that take no resource); set
    `all_agents` to require a boundary on every agent role.""",
    remediation="""Attach a permission boundary that allows only the services and resources the agent's purpose
    covers, so that neither a later policy change nor the agent itself can widen its access.""",
    references=(NHI5, BOUNDARIES),
    parameters={"all_agents": False, "ignore_actions": list(ROUTINE_WRITE_ACTIONS)},
)
def agent_without_boundary(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    catalogue = ctx.catalogue
    mask = (catalogue.level_mask("Write") | catalogue.level_mask("Permissions management")) & ~(
        catalogue.wildcard_only_mask
    )
    for action in params["ignore_actions"]:
        mask &= ~catalogue.expand(action)
    for principal in ctx.aws_principals:
        if principal.kind != "aws_role" or not principal.is_agent or principal.has_boundary:
            continue
        uncapped = principal.permissions.allowed(all_resources_only=True) & mask
        if not uncapped and not params["all_agents"]:
            continue
        message = f"agent role {principal.name} has no permission boundary"
        if uncapped:
            message += (
                f", and can use {catalogue.count(uncapped)} write or permissions-management actions on any resource"
            )
        yield Hit(
            subject_uid=principal.uid,
            message=message,
            evidence={
                "uncapped_actions_count": catalogue.count(uncapped),
                "uncapped_actions": catalogue.names_of(uncapped, limit=EXAMPLES),
            },
        )


SERVICE_LAST_ACCESSED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html"


def service_reports(ctx: AnalysisContext) -> dict[str, dict[str, Any]]:
    """Each identity's latest service-last-accessed report (the usage row's detail), by uid."""
    usage = ctx.usage
    if usage.empty:
        return {}
    rows = usage[usage["usage_kind"] == "service_last_accessed"]
    latest: dict[str, dict[str, Any]] = {}
    for uid, detail in zip(rows["subject_uid"].tolist(), rows["detail"].tolist(), strict=True):
        detail = detail or {}
        if uid not in latest or (detail.get("job_completed") or "") > (latest[uid].get("job_completed") or ""):
            latest[uid] = detail
    return latest


@rule(
    id="AWS-UNUSED-004",
    title="Services granted but never accessed",
    category="unused",
    severity="low",
    provider="aws",
    rationale="""IAM's service-last-accessed report says, per service a principal's policies grant, when the
    principal last authenticated to it. A service it has not used within `unused_days`, or never in the tracking
    period (400 days), is a grant nobody needs: least privilege says remove it. A never-used service is reported only
    once the principal itself is older than `unused_days`. Only principals with a report are judged (collect with
    `--aws-last-accessed`): no report never means unused. Severity rises to medium when any such service is granted
    write or permissions-management actions.""",
    remediation="""Remove the unused services from the principal's policies (IAM's Access Advisor and policy
    generation from CloudTrail help). If a service is needed only rarely, keep it and suppress the finding with a
    reason.""",
    references=(NHI5, SERVICE_LAST_ACCESSED),
    parameters={"unused_days": UNUSED_DAYS},
)
def services_never_accessed(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    reports = service_reports(ctx)
    if not reports:
        return
    days, now, catalogue = int(params["unused_days"]), ctx.as_of, ctx.catalogue
    changes = catalogue.level_mask("Write") | catalogue.level_mask("Permissions management")
    created = dict(zip(ctx.identities["uid"].tolist(), ctx.identities["created_at"].tolist(), strict=True))
    for principal in ctx.aws_principals:
        report = reports.get(principal.uid)
        if report is None:
            continue
        born = views.as_utc(created.get(principal.uid))
        new_principal = born is not None and (now - born).days < days
        allowed = principal.permissions.allowed()
        unused: list[dict[str, Any]] = []
        for namespace, last in sorted((report.get("services") or {}).items()):
            granted = allowed & catalogue.service_mask(namespace)
            if not granted:
                continue
            last_at = views.as_utc(datetime.fromisoformat(last)) if last else None
            if last_at is None and new_principal:
                continue
            if last_at is not None and (now - last_at).days < days:
                continue
            unused.append(
                {
                    "service": namespace,
                    "last_authenticated": _iso(last_at),
                    "granted_actions_count": catalogue.count(granted),
                    "write_or_permissions_management": bool(granted & changes),
                }
            )
        if not unused:
            continue
        never = [u["service"] for u in unused if u["last_authenticated"] is None]
        stale = [u["service"] for u in unused if u["last_authenticated"] is not None]
        parts = ([f"never accessed: {', '.join(never)}"] if never else []) + (
            [f"not accessed for {days} days or more: {', '.join(stale)}"] if stale else []
        )
        yield Hit(
            subject_uid=principal.uid,
            message=f"{principal.name} is granted {len(unused)} service(s) it does not use ({'; '.join(parts)})",
            evidence={
                "unused_services": unused,
                "tracking_since": report.get("tracking_since"),
                "report_completed": report.get("job_completed"),
            },
            severity="medium" if any(u["write_or_permissions_management"] for u in unused) else None,
        )
