"""The access review: one row per identity and grant, with what it gives, when it was last used, its risk and a
recommendation, and empty columns for the reviewer's decision (`agentiam review import` reads them back).

`agentiam review export` and `agentiam report --format review-csv` both render through `ReviewCsvReporter`.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, ClassVar

import pandas as pd

from agentiam.findings.data.aws_trust import UNUSED_DAYS
from agentiam.findings.policy.catalogue import default_catalogue
from agentiam.findings.privilege import document_privilege, grant_privilege
from agentiam.findings.rules.aws_hygiene import idleness
from agentiam.inventory import views
from agentiam.inventory.store import Store
from agentiam.reports.base import ReportWriteError
from agentiam.reports.model import FindingRow, ReportData
from agentiam.reports.safety import iso_utc, neutralise_formula, severity_rank

DECISION_COLUMNS = ("decision", "reviewer", "reviewed_at", "justification", "expires")
REVIEW_COLUMNS: tuple[str, ...] = (
    "scan_id",
    "identity_uid",
    "identity_name",
    "identity_kind",
    "provider",
    "is_agent",
    "owner",
    "grant_kind",
    "policy_name",
    "policy_ref",
    "grant_source",
    "grant_via",
    "grant_scope",
    "privilege",
    "last_used_at",
    "last_used_source",
    "risk",
    "finding_ids",
    "recommendation",
    "recommendation_reason",
    *DECISION_COLUMNS,
)
# A boundary only limits, and a deny assignment only takes away: neither gives access to review.
NOT_REVIEWED_GRANT_KINDS = ("boundary", "deny_assignment")
# Findings of these categories on a broad grant say it gives more than the workload needs.
_BROAD_CATEGORIES = frozenset({"admin", "wildcard", "privilege-escalation"})
_BROAD_LEVELS = frozenset({"admin", "permissions-management"})
GRANT_COLUMNS = ["grant_kind", "policy_name", "policy_ref", "grant_source", "grant_via", "grant_scope"]


class ReviewCsvReporter:
    format: ClassVar[str] = "review-csv"
    filename: ClassVar[str] = "access-review.csv"
    # Not among the files `scan --output-dir` writes by default: it reads every grant's policy again.
    on_request: ClassVar[bool] = True

    def render(self, data: ReportData) -> str:
        return "".join(self.stream(data))

    def stream(self, data: ReportData) -> Iterator[str]:
        if data.access_review is None:
            raise ReportWriteError("the access review needs the inventory: render it from a scan in a database")
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(REVIEW_COLUMNS)
        # Every cell: names, scopes and policy names come from the scanned estate (see csv_report).
        writer.writerows([neutralise_formula(row[column]) for column in REVIEW_COLUMNS] for row in data.access_review())
        yield buffer.getvalue()


def policy_mentions(evidence: Any) -> set[str]:
    """Every policy a finding's evidence names (its `policy_ref` and `policy` values, at any depth)."""
    found: set[str] = set()
    stack = [evidence]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if key in ("policy_ref", "policy") and isinstance(child, str):
                    found.add(child)
                else:
                    stack.append(child)
        elif isinstance(value, list):
            stack.extend(value)
    return found


def related_findings(
    findings: list[tuple[FindingRow, set[str]]], policy_ref: str, policy_name: str
) -> list[FindingRow]:
    """An identity's findings (each with its `policy_mentions`) that concern one of its grants: those naming its
    policy, and those naming none (unused, trust, ownership: about the identity as a whole, hence each grant)."""
    return [
        finding
        for finding, mentions in findings
        if not mentions or (policy_ref and policy_ref in mentions) or (policy_name and policy_name in mentions)
    ]


def review_rows(store: Store, data: ReportData) -> list[dict[str, str]]:
    """The review of `data`'s scan: every identity joined with each grant it holds (or one row if it holds none)."""
    scan_id = data.scan.id
    with store.read() as conn:
        identities = views.identities(conn, scan_id)
        grants = views.grants(conn, scan_id)
        usage = views.usage(conn, scan_id)
        documents = views.policy_documents(conn, grants["policy_hash"].tolist())
    grants = grants[~grants["grant_kind"].isin(NOT_REVIEWED_GRANT_KINDS)]
    grants = grants.rename(columns={"via": "grant_via", "scope": "grant_scope", "policy_source": "grant_source"})
    identities = identities.rename(columns={"uid": "identity_uid", "name": "identity_name"})
    identity_columns = ["identity_uid", "identity_name", "identity_kind", "provider", "is_agent", "owner"]
    frame = identities[[*identity_columns, "created_at", "last_used_at"]].merge(
        grants[["identity_uid", "policy_hash", *GRANT_COLUMNS]],
        on="identity_uid",
        how="left",
    )
    text_columns = [*GRANT_COLUMNS, "owner"]
    frame[text_columns] = frame[text_columns].astype(object).where(frame[text_columns].notna(), "")
    frame = frame.drop_duplicates(["identity_uid", "grant_kind", "policy_ref", "grant_via", "grant_scope"])
    frame = frame.sort_values(["identity_uid", "grant_kind", "policy_ref", "grant_via", "grant_scope"])
    last_used = _last_uses(identities, usage)
    open_by_subject: dict[str, list[tuple[FindingRow, set[str]]]] = defaultdict(list)
    for finding in data.open_findings:
        open_by_subject[finding.subject_uid].append((finding, policy_mentions(finding.evidence)))
    catalogue = default_catalogue()
    levels: dict[tuple[str, str], str] = {}  # (provider, policy hash) -> level: a shared policy is judged once
    rows = []
    for record in frame.to_dict("records"):
        uid = record["identity_uid"]
        on_identity = open_by_subject.get(uid, [])
        related = related_findings(on_identity, record["policy_ref"], record["policy_name"])
        used_at, used_source = last_used.get(uid, (None, ""))
        privilege = "none"
        if record["grant_kind"]:
            digest = record["policy_hash"]
            key = (record["provider"], digest)
            if key not in levels:
                levels[key] = document_privilege(record["provider"], documents.get(digest), catalogue, digest)
            privilege = grant_privilege(levels[key], (finding.category for finding, _ in on_identity))
        risk = min((f.severity for f in related), key=severity_rank, default="none")
        recommendation, reason = recommend(record, privilege, related, used_at, data)
        rows.append(
            {
                **{column: str(record[column]) for column in (*identity_columns, *text_columns)},
                "scan_id": str(scan_id),
                "is_agent": "true" if record["is_agent"] else "false",
                "privilege": privilege,
                "last_used_at": iso_utc(used_at) or "",
                "last_used_source": used_source,
                "risk": risk,
                "finding_ids": " ".join(sorted(f.fingerprint for f in related)),
                "recommendation": recommendation,
                "recommendation_reason": reason,
                **dict.fromkeys(DECISION_COLUMNS, ""),
            }
        )
    return rows


def _last_uses(identities: pd.DataFrame, usage: pd.DataFrame) -> dict[str, tuple[Any, str]]:
    """uid -> (latest use, where it was seen): usage rows first, the identity's own last-used time otherwise."""
    # Identity rows first: on a tie, the usage row that says where the use was seen is the one kept.
    uses = pd.concat(
        [
            identities[["identity_uid", "last_used_at"]]
            .rename(columns={"identity_uid": "subject_uid"})
            .assign(source="inventory"),
            usage[["subject_uid", "last_used_at", "source"]],
        ]
    ).dropna(subset=["last_used_at"])
    latest = uses.sort_values("last_used_at", kind="stable").drop_duplicates("subject_uid", keep="last")
    return {
        uid: (views.as_utc(at), source)
        for uid, at, source in zip(latest["subject_uid"], latest["last_used_at"], latest["source"], strict=True)
    }


def recommend(
    record: dict[str, Any], privilege: str, related: list[FindingRow], used_at: Any, data: ReportData
) -> tuple[str, str]:
    """keep, reduce or revoke, with the reason in words: idle access goes; broad access with findings shrinks."""
    idle = idleness(used_at, views.as_utc(record["created_at"]), data.scan.started_at)
    if idle is not None and idle.days >= UNUSED_DAYS:
        return "revoke", f"unused for {idle.days} days ({idle.summary})"
    broad = sorted({f.rule_id for f in related if f.category in _BROAD_CATEGORIES})
    if related and (privilege in _BROAD_LEVELS or broad):
        worst = min((f.severity for f in related), key=severity_rank)
        because = f"{privilege} access" if privilege in _BROAD_LEVELS else "broad grant"
        rules = ", ".join(broad or sorted({f.rule_id for f in related}))
        return "reduce", f"{because} with {len(related)} open finding(s), worst {worst} ({rules})"
    if related:
        return "keep", f"in use; {len(related)} open finding(s) to address, none about broad access"
    return "keep", "in use, no open finding"
