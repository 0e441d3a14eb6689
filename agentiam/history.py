"""What changed between two scans of one inventory: findings opened and resolved, agents and identities that
appeared or went, and grants attached, detached or rewritten.

Pure reads through `inventory.views`: every scan keeps its own snapshot, so a diff is a comparison of two snapshots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from agentiam.errors import UsageError
from agentiam.findings.registry import SEVERITIES
from agentiam.inventory import views
from agentiam.inventory.store import Store

# A grant is the same grant across scans when the same identity holds the same policy in the same way; its
# document hash then says whether the policy's content changed.
GRANT_KEY = ["identity_uid", "policy_ref", "grant_kind"]
_FINDING_COLUMNS = ["severity", "rule_id", "subject_name", "title", "message", "subject_uid", "fingerprint"]
_ENTITY_COLUMNS = ["uid", "name", "kind", "scope"]
_GRANT_COLUMNS = [*GRANT_KEY, "policy_name", "policy_source"]


@dataclass
class ScanDiff:
    from_scan: int
    to_scan: int
    new_findings: list[dict[str, Any]] = field(default_factory=list)  # open in `to`, not in `from`: new or reopened
    resolved_findings: list[dict[str, Any]] = field(default_factory=list)  # open in `from`, not open in `to`
    new_agents: list[dict[str, Any]] = field(default_factory=list)  # identities and workloads classified as agents'
    removed_agents: list[dict[str, Any]] = field(default_factory=list)
    new_identities: list[dict[str, Any]] = field(default_factory=list)
    removed_identities: list[dict[str, Any]] = field(default_factory=list)
    granted: list[dict[str, Any]] = field(default_factory=list)  # attached to an identity present in both scans
    revoked: list[dict[str, Any]] = field(default_factory=list)  # detached from an identity present in both scans
    changed_grants: list[dict[str, Any]] = field(default_factory=list)  # same grant, another document

    @property
    def empty(self) -> bool:
        return not any(v for k, v in asdict(self).items() if isinstance(v, list))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_scans(store: Store, from_id: int | None, to_id: int | None) -> tuple[int, int]:
    """`to`: the latest analysed scan unless given; `from`: the analysed scan before `to` unless given."""
    with store.read() as conn:
        for scan_id in (from_id, to_id):
            if scan_id is not None and views.scan(conn, scan_id) is None:
                raise UsageError(f"{store.location}: no scan {scan_id} (see `agentiam db info`)")
        if to_id is None:
            to_id = views.latest_scan_id(conn, analyzed=True)
            if to_id is None:
                raise UsageError(f"{store.location}: no analysed scan to compare; run `agentiam scan` first")
        if from_id is None:
            from_id = views.previous_analyzed_scan_id(conn, to_id)
            if from_id is None:
                raise UsageError(
                    f"scan {to_id} is the first analysed scan: there is no earlier scan to compare it with"
                )
    if from_id == to_id:
        raise UsageError(f"--from and --to are both scan {to_id}: nothing to compare")
    return from_id, to_id


def diff_scans(store: Store, from_id: int, to_id: int, *, findings: bool = True) -> ScanDiff:
    """`findings=False` leaves the findings lists empty and skips reading them: a report has their lifecycle."""
    with store.read() as conn:
        before = _Snapshot.read(conn, from_id, findings)
        after = _Snapshot.read(conn, to_id, findings)
    new_findings, resolved_findings = _added_removed(before.open_findings, after.open_findings, "fingerprint")
    new_agents, removed_agents = _added_removed(before.agents, after.agents, "uid")
    new_identities, removed_identities = _added_removed(before.identities, after.identities, "uid")
    kept = set(before.identities["uid"]) & set(after.identities["uid"])
    granted, revoked = _added_removed(_of(before.grants, kept), _of(after.grants, kept), GRANT_KEY)
    return ScanDiff(
        from_scan=from_id,
        to_scan=to_id,
        new_findings=_findings(new_findings, [*_FINDING_COLUMNS, "status"]),
        resolved_findings=_findings(resolved_findings, _FINDING_COLUMNS),
        new_agents=_records(new_agents, _ENTITY_COLUMNS),
        removed_agents=_records(removed_agents, _ENTITY_COLUMNS),
        new_identities=_records(new_identities, _ENTITY_COLUMNS),
        removed_identities=_records(removed_identities, _ENTITY_COLUMNS),
        granted=_records(granted, _GRANT_COLUMNS),
        revoked=_records(revoked, _GRANT_COLUMNS),
        changed_grants=_changed_grants(_of(before.grants, kept), _of(after.grants, kept)),
    )


@dataclass
class _Snapshot:
    identities: pd.DataFrame
    agents: pd.DataFrame
    grants: pd.DataFrame
    open_findings: pd.DataFrame

    @classmethod
    def read(cls, conn: Connection, scan_id: int, with_findings: bool = True) -> _Snapshot:
        identities = views.identities(conn, scan_id).rename(columns={"identity_kind": "kind"})
        workloads = views.workloads(conn, scan_id).rename(columns={"workload_kind": "kind"})
        entities = pd.concat([identities[[*_ENTITY_COLUMNS, "is_agent"]], workloads[[*_ENTITY_COLUMNS, "is_agent"]]])
        findings = (
            views.findings(conn, scan_id) if with_findings else pd.DataFrame(columns=[*_FINDING_COLUMNS, "status"])
        )
        return cls(
            identities=identities[_ENTITY_COLUMNS],
            agents=entities[entities["is_agent"].astype(bool)][_ENTITY_COLUMNS],
            # One policy can reach an identity twice (attached, and through a group): one grant is enough here.
            grants=views.grants(conn, scan_id).drop_duplicates(GRANT_KEY),
            open_findings=findings[findings["status"] != "resolved"],
        )


def _of(grants: pd.DataFrame, identity_uids: set[str]) -> pd.DataFrame:
    return grants[grants["identity_uid"].isin(identity_uids)]


def _keys(frame: pd.DataFrame, key: str | list[str]) -> pd.Index:
    return pd.MultiIndex.from_frame(frame[key]) if isinstance(key, list) else pd.Index(frame[key])


def _added_removed(
    before: pd.DataFrame, after: pd.DataFrame, key: str | list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    before_keys, after_keys = _keys(before, key), _keys(after, key)
    return after[~after_keys.isin(before_keys)], before[~before_keys.isin(after_keys)]


def _changed_grants(before: pd.DataFrame, after: pd.DataFrame) -> list[dict[str, Any]]:
    both = before.merge(after, on=GRANT_KEY, suffixes=("_before", "_after"))
    changed = both[both["policy_hash_before"] != both["policy_hash_after"]].rename(
        columns={"policy_name_after": "policy_name", "policy_source_after": "policy_source"}
    )
    return _records(changed, [*_GRANT_COLUMNS, "policy_hash_before", "policy_hash_after"])


def _findings(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Worst first."""
    ranked = frame.assign(rank=frame["severity"].map(SEVERITIES.index)).sort_values(["rank", "rule_id", "subject_name"])
    return ranked[columns].to_dict("records")  # type: ignore[no-any-return]


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return frame[columns].sort_values(columns[:2]).to_dict("records")  # type: ignore[no-any-return]
