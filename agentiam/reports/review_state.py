"""The access-review decisions in force, as reports use them: approved exceptions, and revocations not yet done.

For one review row (an identity and one of its grants) the decision imported last is the one in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from agentiam.findings.suppressions import Suppression
from agentiam.inventory import views
from agentiam.reports.model import OverdueRevocation

# What names one review row; the same grant across scans has the same key (a row without a grant: all but the uid
# empty). Via and scope are part of it: one role bound twice, or assigned at two scopes, is two grants to review.
GRANT_KEY = ("identity_uid", "grant_kind", "policy_ref", "grant_via", "grant_scope")

GrantKey = tuple[str, ...]


def grant_key(row: Mapping[str, Any]) -> GrantKey:
    return tuple(str(row.get(column) or "") for column in GRANT_KEY)


def inventory_grant_key(grant: Mapping[str, Any]) -> GrantKey:
    """The key of a grant as the inventory stores it (columns `via` and `scope`)."""
    return grant_key({**grant, "grant_via": grant.get("via"), "grant_scope": grant.get("scope")})


def decisions_in_force(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    latest: dict[GrantKey, dict[str, Any]] = {}
    for record in decisions.to_dict("records"):  # oldest first: a later import overrides
        latest[grant_key(record)] = record
    return list(latest.values())


def review_exceptions(decisions: Iterable[Mapping[str, Any]]) -> list[Suppression]:
    """Approvals with an expiry accept the findings related to their row, as they were when it was reviewed."""
    exceptions = []
    for decision in decisions:
        expires = views.as_utc(decision["expires_at"])
        if decision["decision"] != "approve" or expires is None:
            continue
        exceptions.append(
            Suppression(
                kind="exception",
                owner=decision["reviewer"],
                reason=decision["justification"],
                expires=expires.date(),
                source=decision["source"],
                fingerprints=frozenset(decision["fingerprints"] or ()),
            )
        )
    return exceptions


def overdue_revocations(
    decisions: Iterable[Mapping[str, Any]], scan_id: int, grants: pd.DataFrame, identities: pd.DataFrame
) -> list[OverdueRevocation]:
    """Revocations decided on an earlier scan whose grant (or identity, for a row without a grant) is still here."""
    revokes = [d for d in decisions if d["decision"] == "revoke" and int(d["scan_id"]) < scan_id]
    if not revokes:
        return []
    present = {inventory_grant_key(g) for g in grants.to_dict("records")}
    present_identities = set(identities["uid"])
    overdue = []
    for decision in revokes:
        key = grant_key(decision)
        still_there = key in present if decision["grant_kind"] else decision["identity_uid"] in present_identities
        if still_there:
            overdue.append(
                OverdueRevocation(
                    identity_uid=decision["identity_uid"],
                    identity_name=decision["identity_name"],
                    grant_kind=decision["grant_kind"],
                    policy_name=decision["policy_name"],
                    policy_ref=decision["policy_ref"],
                    grant_via=decision["grant_via"],
                    grant_scope=decision["grant_scope"],
                    reviewer=decision["reviewer"],
                    reviewed_at=views.as_utc(decision["reviewed_at"]),  # type: ignore[arg-type]
                    justification=decision["justification"],
                    decided_in_scan=int(decision["scan_id"]),
                    source=decision["source"],
                )
            )
    return sorted(overdue, key=lambda o: (o.identity_uid, o.policy_ref, o.grant_via, o.grant_scope))
