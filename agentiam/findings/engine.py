"""Evaluate rules over one scan, fingerprint their hits, grade severity in explainable steps, and track lifecycle.

Lifecycle against the previous analysed scan:
- a finding open in the previous scan is `persisting` (its first-seen date is kept);
- a finding not open in the previous scan but seen, open or resolved, in an earlier one is `reopened`: a fix that
  did not hold. Its first-seen date is the original one;
- any other finding is `new`;
- a previously open finding that is not seen again is `resolved` only if the (collector, scope) that produced it
  completed in this scan. If that scope failed, the finding is carried over unchanged: absence of data is not a fix.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from agentiam.collectors.kubernetes.uids import parse_uid as parse_kubernetes_uid
from agentiam.config import Settings
from agentiam.findings.context import AnalysisContext
from agentiam.findings.parallel import map_on_two_cores
from agentiam.findings.reach import add_reach_evidence
from agentiam.findings.registry import SEVERITIES, Hit, Rule
from agentiam.inventory import views
from agentiam.inventory.records import Provider
from agentiam.inventory.store import Store

log = logging.getLogger(__name__)


def fingerprint(rule_id: str, subject_uid: str, key: str) -> str:
    """Stable across scans and output formats: the rule, the subject and the key of the evidence, nothing else."""
    return hashlib.sha256(f"{rule_id}\x1f{subject_uid}\x1f{key}".encode()).hexdigest()[:32]


def shift(severity: str, steps: int) -> str:
    index = SEVERITIES.index(severity) - steps  # SEVERITIES runs from worst to mildest
    return SEVERITIES[max(0, min(len(SEVERITIES) - 1, index))]


def grade(base: str, subject: dict[str, Any], hit: Hit) -> tuple[str, list[str]]:
    """The severity of a hit, and each step that led to it, for the evidence."""
    severity = hit.severity or base
    steps = [f"base severity {severity}"]
    if subject.get("is_agent"):
        reasons = ", ".join(f"{e['reason']} {e['detail']}" for e in subject.get("agent_evidence") or [])
        severity = shift(severity, +1)
        steps.append(f"raised to {severity}: the identity is an AI agent's ({reasons})")
    if hit.conditional:
        severity = shift(severity, -1)
        steps.append(f"lowered to {severity}: the grant applies only under conditions")
    return severity, steps


@dataclass
class AnalysisResult:
    scan_id: int
    counts: dict[str, int] = field(default_factory=dict)  # new / persisting / reopened / resolved
    rule_errors: list[str] = field(default_factory=list)


def _unknown_subject(uid: str) -> dict[str, Any]:
    """A subject the inventory lacks (a binding to a service account that does not exist): named from its uid."""
    subject = {"uid": uid, "name": uid, "kind": "unknown", "provider": "unknown", "scope": ""}
    provider = uid.partition(":")[0]
    if provider in get_args(Provider):
        subject["provider"] = provider
    parsed = parse_kubernetes_uid(uid) if provider == "kubernetes" else None
    if parsed is not None:
        cluster, kind, name = parsed
        subject |= {"name": name, "kind": f"k8s_{kind.replace('serviceaccount', 'service_account')}", "scope": cluster}
    return subject | {"collector": "", "is_agent": False, "agent_evidence": []}


def evaluate(ctx: AnalysisContext, rules: Iterable[Rule], settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """Run every rule; a rule that crashes is reported and the others still run.

    The rules run on two cores when there are two (findings/parallel.py), over the context read beforehand; the
    findings come out in rule order either way.
    """
    rows: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    now = datetime.now(UTC)
    ctx.prepare()
    for found, error in map_on_two_cores(list(rules), lambda rule: _rule_rows(ctx, rule, settings, now)):
        if error is not None:
            errors.append(error)
        rows.update((row["fingerprint"], row) for row in found)
    found_rows = list(rows.values())
    add_reach_evidence(found_rows, ctx.bindings, ctx.subjects)  # who uses each identity, what each workload reaches
    return found_rows, errors


def _rule_rows(
    ctx: AnalysisContext, rule: Rule, settings: Settings, now: datetime
) -> tuple[list[dict[str, Any]], str | None]:
    """One rule's findings as rows to store, or the error it crashed with."""
    params = {**rule.meta.parameters, **settings.rules.get(rule.id, {})}
    try:
        hits = list(rule.check(ctx, params))
    except Exception as exc:  # one broken rule must not cost the user every other finding
        log.debug("rule %s failed", rule.id, exc_info=True)  # the traceback is for -vv; the user gets the error
        return [], f"rule {rule.id} failed: {type(exc).__name__}: {exc}"
    rows = []
    for hit in hits:
        subject = ctx.subjects.get(hit.subject_uid) or _unknown_subject(hit.subject_uid)
        severity, steps = grade(rule.meta.severity, subject, hit)
        rows.append(
            {
                "fingerprint": fingerprint(rule.id, hit.subject_uid, hit.key),
                "rule_id": rule.id,
                "category": rule.meta.category,
                "severity": severity,
                "base_severity": rule.meta.severity,
                "title": rule.meta.title,
                "message": hit.message,
                "subject_uid": hit.subject_uid,
                "subject_name": subject["name"],
                "subject_kind": subject["kind"],
                "provider": subject["provider"],
                "scope": subject["scope"],
                "collector": subject["collector"],
                "subject_is_agent": subject["is_agent"],
                "evidence_json": json.dumps({**hit.evidence, "severity_steps": steps}, sort_keys=True, default=str),
                "remediation": rule.meta.remediation,
                "references_json": json.dumps(list(rule.meta.references)),
                "status": "new",
                "first_seen_at": now,
                "last_seen_at": now,
            }
        )
    return rows, None


def apply_lifecycle(
    current: list[dict[str, Any]],
    previous: list[dict[str, Any]],
    completed_scopes: set[tuple[str, str]],
    scan_id: int,
    first_sightings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Mark current rows new, persisting or reopened, and decide what became of the previous scan's open findings.

    `first_sightings`: fingerprint -> `first_seen_at` and `first_seen_scan_id` of every finding of earlier scans,
    open or resolved (see `views.first_sightings()`).
    """
    previous_open = {row["fingerprint"]: row for row in previous if row["status"] != "resolved"}
    for row in current:
        earlier = previous_open.pop(row["fingerprint"], None)
        if earlier is not None:
            row["status"] = "persisting"
        elif (earlier := (first_sightings or {}).get(row["fingerprint"])) is not None:
            row["status"] = "reopened"
        if earlier is None:
            row["first_seen_scan_id"] = scan_id
        else:
            row["first_seen_at"] = earlier["first_seen_at"]
            row["first_seen_scan_id"] = earlier["first_seen_scan_id"]
    carried = []
    for earlier in previous_open.values():
        row = {k: v for k, v in earlier.items() if k not in ("id", "scan_id")}
        if (earlier["collector"], earlier["scope"]) in completed_scopes:
            row["status"] = "resolved"
        else:
            row["status"] = "persisting"  # its scope was not collected this time: the finding still stands
        carried.append(row)
    return current + carried


def _stored_rows(frame: Any) -> list[dict[str, Any]]:
    rows = []
    for record in frame.to_dict("records"):
        record["evidence_json"] = json.dumps(record.pop("evidence"), sort_keys=True, default=str)
        record["references_json"] = json.dumps(record.pop("references"))
        for column in ("first_seen_at", "last_seen_at"):
            record[column] = record[column].to_pydatetime()
        rows.append(record)
    return rows


def analyze(store: Store, scan_id: int, settings: Settings, rules: Iterable[Rule]) -> AnalysisResult:
    ctx = AnalysisContext(store, scan_id, settings)
    current, errors = evaluate(ctx, rules, settings)
    with store.read() as conn:
        previous_id = views.previous_analyzed_scan_id(conn, scan_id)
        previous = _stored_rows(views.findings(conn, previous_id)) if previous_id else []
        sightings = views.first_sightings(conn, scan_id) if previous_id else {}
    runs = ctx.collector_runs
    completed = {(r.collector, r.scope) for r in runs.itertuples() if r.status == "complete"}
    rows = apply_lifecycle(current, previous, completed, scan_id, sightings)
    store.replace_findings(scan_id, rows)
    result = AnalysisResult(scan_id, rule_errors=errors)
    for row in rows:
        result.counts[row["status"]] = result.counts.get(row["status"], 0) + 1
    return result
