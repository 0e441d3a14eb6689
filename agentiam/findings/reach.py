"""Reach across planes: who uses an identity, and what a workload reaches, through any chain of bindings.

A pod runs as its service account, which runs as an IAM role (IRSA) or an Azure identity (workload identity). So a
finding on the role should name the pods that use it (`used_by`), and a finding on the pod or its service account
should say which cloud identities it reaches and what they can do (`reaches`: their worst open findings, and
whether they are administrators). This is added to finding evidence after every rule ran, whatever the provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentiam.findings.registry import SEVERITIES

LISTED = 20  # entries per list in one finding's evidence; the rest are counted
FINDINGS_PER_IDENTITY = 3


@dataclass
class _Graph:
    """Bindings as edges workload -> identity, with the mechanism; a service account is both ends of some."""

    outgoing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    incoming: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_bindings(cls, bindings: Any) -> _Graph:
        graph = cls()
        for row in bindings.itertuples():
            graph.outgoing.setdefault(row.workload_uid, []).append((row.identity_uid, row.mechanism))
            graph.incoming.setdefault(row.identity_uid, []).append((row.workload_uid, row.mechanism))
        return graph

    @staticmethod
    def walk(start: str, edges: dict[str, list[tuple[str, str]]]) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every node reachable from `start` along `edges`, with the shortest path to it as (node, mechanism) hops."""
        found: list[tuple[str, list[tuple[str, str]]]] = []
        seen = {start}
        frontier: list[tuple[str, list[tuple[str, str]]]] = [(start, [])]
        while frontier:
            following = []
            for uid, hops in frontier:
                for other, mechanism in edges.get(uid, []):
                    if other not in seen:
                        seen.add(other)
                        path = [*hops, (other, mechanism)]
                        found.append((other, path))
                        following.append((other, path))
            frontier = following
        return found


def _label(subjects: dict[str, dict[str, Any]], uid: str) -> str:
    subject = subjects.get(uid)
    return f"{subject['kind']} {subject['name']}" if subject else f"{uid} (not in the inventory)"


def _chain(subjects: dict[str, dict[str, Any]], start: str, hops: list[tuple[str, str]], upstream: bool) -> str:
    """ "k8s_pod agents/a (k8s_sa) -> k8s_service_account agents/sa (irsa) -> aws_role r", always workload first."""
    nodes = [start, *(uid for uid, _ in hops)]
    mechanisms = [mechanism for _, mechanism in hops]
    if upstream:
        nodes.reverse()
        mechanisms.reverse()
    parts = [f"{_label(subjects, uid)} ({mechanism})" for uid, mechanism in zip(nodes, mechanisms, strict=False)]
    return " -> ".join([*parts, _label(subjects, nodes[-1])])


def _summaries(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What each subject can do, from this scan's findings: its worst few, and whether it is an administrator."""
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] != "resolved":
            by_subject.setdefault(row["subject_uid"], []).append(row)
    summaries = {}
    for uid, found in by_subject.items():
        worst = sorted(found, key=lambda r: (SEVERITIES.index(r["severity"]), r["rule_id"]))
        summaries[uid] = {
            "admin": any(r["category"] == "admin" for r in found),
            "open_findings": len(found),
            "worst": [
                {"rule_id": r["rule_id"], "severity": r["severity"], "title": r["title"]}
                for r in worst[:FINDINGS_PER_IDENTITY]
            ],
        }
    return summaries


def _listed(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entries": entries[:LISTED], "total": len(entries)}


def add_reach_evidence(rows: list[dict[str, Any]], bindings: Any, subjects: dict[str, dict[str, Any]]) -> None:
    """Add `used_by` and `reaches` to the evidence of findings whose subject sits on a chain of bindings."""
    graph = _Graph.from_bindings(bindings)
    if not graph.outgoing:
        return
    summaries = _summaries(rows)
    cache: dict[str, dict[str, Any]] = {}
    for row in rows:
        uid = row["subject_uid"]
        if uid not in graph.outgoing and uid not in graph.incoming:
            continue
        if uid not in cache:
            cache[uid] = _reach(uid, graph, subjects, summaries)
        if cache[uid]:
            evidence = json.loads(row["evidence_json"])
            evidence.update(cache[uid])
            row["evidence_json"] = json.dumps(evidence, sort_keys=True, default=str)


def _reach(
    uid: str, graph: _Graph, subjects: dict[str, dict[str, Any]], summaries: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    users = [
        {
            "uid": other,
            "name": subjects.get(other, {}).get("name", other),
            "kind": subjects.get(other, {}).get("kind", "unresolved"),
            "via": _chain(subjects, uid, hops, upstream=True),
        }
        for other, hops in graph.walk(uid, graph.incoming)
    ]
    if users:
        extra["used_by"] = _listed(users)
    reached = []
    for other, hops in graph.walk(uid, graph.outgoing):
        subject = subjects.get(other)
        entry: dict[str, Any] = {
            "uid": other,
            "name": subject["name"] if subject else other,
            "kind": subject["kind"] if subject else "unresolved",
            "provider": subject["provider"] if subject else "unknown",
            "via": _chain(subjects, uid, hops, upstream=False),
        }
        entry.update(summaries.get(other, {"admin": False, "open_findings": 0, "worst": []}))
        reached.append(entry)
    if reached:
        extra["reaches"] = _listed(reached)
    return extra
