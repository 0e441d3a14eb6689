"""Each agent as a chain: the agent -> the identities it runs as -> what they can do -> their open findings.

An agent is either a workload classified as an agent's (a pod, a function, a Bedrock agent), which reaches its
identities through bindings, or an identity that is an agent's on its own evidence (a tag, a trust in an agent
runtime) and that no agent workload already reaches. Pure: it reads a ReportData and nothing else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from agentiam.reports.model import SEVERITIES, FindingRow, IdentityRow, ReportData
from agentiam.reports.safety import severity_rank, sorted_findings

TOP_FINDINGS = 3


@dataclass(frozen=True)
class IdentityReach:
    """One identity an agent runs as, and what it lets the agent do."""

    uid: str
    name: str
    kind: str
    provider: str
    scope: str
    mechanism: str | None  # how the agent becomes it (lambda_exec_role, irsa, ...); None when the agent is it
    recorded: bool  # False when a binding names an identity that no collector recorded in this scan
    severity_counts: dict[str, int]  # open findings per severity, worst first, zeros left out
    categories: list[tuple[str, int]]  # categories of its open findings, the most frequent first
    is_admin: bool  # an open finding of category "admin": it can do anything
    top_findings: list[FindingRow]
    open_findings: int
    # Every workload that runs as it (uid, name, kind, mechanism), recorded or not: what else shares its power.
    workloads: list[dict[str, str]]


@dataclass(frozen=True)
class AgentChain:
    uid: str
    name: str
    kind: str  # workload kind (bedrock_agent, lambda_function, pod) or identity kind (aws_role, ...)
    provider: str
    scope: str
    is_workload: bool
    evidence: list[dict[str, str]]  # why it is an agent
    identities: list[IdentityReach]

    @property
    def severity_counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for identity in self.identities:
            total.update(identity.severity_counts)
        return {severity: total[severity] for severity in SEVERITIES if total[severity]}

    @property
    def open_findings(self) -> int:
        return sum(identity.open_findings for identity in self.identities)

    @property
    def is_admin(self) -> bool:
        return any(identity.is_admin for identity in self.identities)


def agent_chains(data: ReportData) -> list[AgentChain]:
    """Every agent, the one reaching the worst findings first, then the one reaching most, then by name."""
    findings_of: dict[str, list[FindingRow]] = defaultdict(list)
    for finding in data.open_findings:
        findings_of[finding.subject_uid].append(finding)
    identities = {identity.uid: identity for identity in data.identities}

    chains: list[AgentChain] = []
    reached: set[str] = set()
    for workload in data.workloads:
        if not workload.is_agent:
            continue
        reaches = [
            _reach(binding["identity_uid"], binding["mechanism"], identities, findings_of)
            for binding in workload.runs_as
        ]
        reached.update(binding["identity_uid"] for binding in workload.runs_as)
        chains.append(
            AgentChain(
                uid=workload.uid,
                name=workload.name,
                kind=workload.workload_kind,
                provider=workload.provider,
                scope=workload.scope,
                is_workload=True,
                evidence=workload.agent_evidence,
                identities=reaches,
            )
        )
    for identity in data.identities:
        if identity.is_agent and identity.uid not in reached:
            chains.append(
                AgentChain(
                    uid=identity.uid,
                    name=identity.name,
                    kind=identity.identity_kind,
                    provider=identity.provider,
                    scope=identity.scope,
                    is_workload=False,
                    evidence=identity.agent_evidence,
                    identities=[_reach(identity.uid, None, identities, findings_of)],
                )
            )
    return sorted(chains, key=_worst_first)


def _reach(
    uid: str, mechanism: str | None, identities: dict[str, IdentityRow], findings_of: dict[str, list[FindingRow]]
) -> IdentityReach:
    identity = identities.get(uid)
    findings = sorted_findings(findings_of.get(uid, []))
    severities = Counter(f.severity for f in findings)
    categories = Counter(f.category for f in findings)
    return IdentityReach(
        uid=uid,
        name=identity.name if identity else uid,
        kind=identity.identity_kind if identity else "unknown",
        provider=identity.provider if identity else "unknown",
        scope=identity.scope if identity else "",
        mechanism=mechanism,
        recorded=identity is not None,
        severity_counts={severity: severities[severity] for severity in SEVERITIES if severities[severity]},
        categories=sorted(categories.items(), key=lambda item: (-item[1], item[0])),
        is_admin="admin" in categories,
        top_findings=findings[:TOP_FINDINGS],
        open_findings=len(findings),
        workloads=identity.workloads if identity else [],
    )


def _worst_first(chain: AgentChain) -> tuple[int, int, str, str]:
    counts = chain.severity_counts
    worst = min((severity_rank(severity) for severity in counts), default=len(SEVERITIES))
    return (worst, -chain.open_findings, chain.name, chain.uid)
