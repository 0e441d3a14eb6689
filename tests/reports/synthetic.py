"""A large, varied ReportData built in memory, for the HTML report's scale tests and bench/bench_html.py.

Shaped like a real estate: many identities across three providers, a few percent of them agents' (bound to Lambda
functions, Bedrock agents and pods), rules of every category with evidence that is partly shared between findings
(the same managed policy on many roles) and partly their own, every lifecycle status, some suppressed findings, and
hostile names planted among the ordinary ones.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from agentiam.reports.model import (
    CollectorRunRow,
    FindingRow,
    IdentityRow,
    ReportData,
    ScanChanges,
    ScanSummary,
    WorkloadRow,
)

HOSTILE_NAME = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
STARTED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

_RULES = [  # rule id, category, base severity, title
    ("AWS-IAM-001", "admin", "critical", "Identity has administrator access"),
    ("AWS-IAM-002", "wildcard", "high", "Wildcard action on all resources"),
    ("AWS-IAM-003", "wildcard", "medium", "Service wildcard"),
    ("AWS-ESC-001", "privilege-escalation", "high", "Privilege escalation through iam:PassRole"),
    ("AWS-ESC-002", "privilege-escalation", "high", "Can attach policies to itself"),
    ("AWS-DATA-001", "data-access", "medium", "Reads every S3 object"),
    ("AWS-TRUST-001", "trust", "high", "Trusted by any AWS account"),
    ("AWS-HYG-001", "unused", "low", "Unused for 90 days"),
    ("AWS-HYG-002", "hygiene", "low", "No owner"),
    ("AWS-HYG-003", "credential-exposure", "medium", "Access key older than 90 days"),
    ("SECRET-001", "secret", "high", "Secret in an environment variable"),
    ("AWS-EXP-001", "exposure", "high", "Function URL without authentication"),
    ("K8S-RBAC-001", "data-access", "medium", "Reads every secret in its namespace"),
    ("AZ-RBAC-001", "admin", "critical", "Owner on the subscription"),
    ("AWS-INT-001", "intent", "info", "Agent purpose not declared"),
]
_SEVERITIES = ("critical", "high", "medium", "low", "info")
_ACTIONS = ["iam:PassRole", "lambda:CreateFunction", "s3:GetObject", "s3:ListBucket", "ec2:RunInstances", "kms:Decrypt"]
_WORKLOAD_KINDS = [("aws", "lambda_function", "lambda_exec_role"), ("aws", "bedrock_agent", "bedrock_service_role")]


def synthetic_report(findings: int, *, seed: int = 7, hostile_every: int = 997) -> ReportData:
    """`findings` findings over findings // 5 identities; one identity in `hostile_every` has a hostile name."""
    rng = random.Random(seed)
    identity_count = max(findings // 5, 1)
    identities = [_identity(i, rng, hostile_every) for i in range(identity_count)]
    workloads = [_workload(identity, n) for n, identity in enumerate(i for i in identities if i.is_agent)]
    rows = [_finding(n, identities[rng.randrange(identity_count)], rng) for n in range(findings)]
    return ReportData(
        tool_version="1.2.3",
        generated_at=STARTED + timedelta(minutes=5),
        scan=ScanSummary(
            id=42,
            started_at=STARTED,
            finished_at=STARTED + timedelta(minutes=3),
            status="complete",
            collector_runs=[
                CollectorRunRow("aws-iam", "123456789012", "complete", None, {"identities": identity_count}, 9, 0)
            ],
        ),
        findings=rows,
        identities=identities,
        workloads=workloads,
        changes=ScanChanges(
            from_scan=41,
            new_agents=[
                {"uid": w.uid, "name": w.name, "kind": w.workload_kind, "scope": w.scope} for w in workloads[:3]
            ],
            new_identities=[
                {"uid": i.uid, "name": i.name, "kind": i.identity_kind, "scope": i.scope} for i in identities[:150]
            ],
            granted=[
                {
                    "identity_uid": identities[0].uid,
                    "policy_ref": "arn:aws:iam::aws:policy/AdministratorAccess",
                    "grant_kind": "attached",
                    "policy_name": "AdministratorAccess",
                    "policy_source": "aws_managed",
                }
            ],
        ),
    )


def _identity(i: int, rng: random.Random, hostile_every: int) -> IdentityRow:
    provider = ("aws", "aws", "aws", "azure", "kubernetes")[i % 5]
    kind = {"aws": "aws_role", "azure": "azure_managed_identity", "kubernetes": "k8s_service_account"}[provider]
    name = HOSTILE_NAME if i % hostile_every == 0 else f"{provider}-identity-{i:06d}"
    is_agent = i % 20 == 0
    return IdentityRow(
        uid=f"{provider}:id/{i:06d}",
        name=name,
        provider=provider,
        identity_kind=kind,
        scope=f"scope-{i % 7}",
        is_agent=is_agent,
        agent_evidence=[{"reason": "tag", "detail": "ai-agent=true"}] if is_agent else [],
        owner=None if rng.random() < 0.3 else f"team-{i % 13}",
        tags={"team": f"team-{i % 13}"},
        last_used_at=None,
        created_at=STARTED - timedelta(days=i % 900),
        finding_counts={},
        workloads=[],
    )


def _workload(identity: IdentityRow, n: int) -> WorkloadRow:
    provider, kind, mechanism = _WORKLOAD_KINDS[n % len(_WORKLOAD_KINDS)]
    return WorkloadRow(
        uid=f"{provider}:{kind}/{n:05d}",
        name=f"{kind.replace('_', '-')}-{n:05d}",
        provider=provider,
        workload_kind=kind,
        scope=identity.scope,
        is_agent=True,
        agent_evidence=[{"reason": "agent-runtime", "detail": kind}],
        runs_as=[{"identity_uid": identity.uid, "mechanism": mechanism}],
    )


def _finding(n: int, subject: IdentityRow, rng: random.Random) -> FindingRow:
    rule_id, category, base, title = _RULES[rng.randrange(len(_RULES))]
    severity = _SEVERITIES[max(_SEVERITIES.index(base) - 1, 0)] if subject.is_agent else base
    actions = rng.sample(_ACTIONS, 3)
    # Half the rules quote a shared managed policy (identical evidence on many findings), half the identity's own.
    shared = rng.random() < 0.5
    policy = "arn:aws:iam::aws:policy/PowerUserAccess" if shared else f"arn:aws:iam::123456789012:policy/p-{n}"
    evidence: dict[str, object] = {"policy": policy, "actions": actions if not shared else _ACTIONS[:3]}
    if not shared:
        evidence["statement"] = {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::bucket-{n}/*"}
    if subject.is_agent:
        evidence["severity_steps"] = [
            {"step": "base", "severity": base},
            {"step": "raised", "severity": severity, "because": "the identity is an agent's"},
        ]
    status = rng.choices(("new", "persisting", "reopened", "resolved"), weights=(15, 75, 2, 8))[0]
    first_seen = STARTED if status == "new" else STARTED - timedelta(days=1 + n % 200)
    return FindingRow(
        rule_id=rule_id,
        category=category,
        severity=severity,
        base_severity=base,
        title=title,
        message=f"{subject.name} can {', '.join(actions)} through {policy.rsplit('/', 1)[-1]}",
        fingerprint=f"{n:032x}",
        status=status,
        subject_uid=subject.uid,
        subject_name=subject.name,
        subject_kind=subject.identity_kind,
        provider=subject.provider,
        scope=subject.scope,
        subject_is_agent=subject.is_agent,
        evidence=evidence,
        remediation=f"Scope {title.lower()} down to what the workload calls; see the rule's references.",
        references=["https://owasp.org/www-project-non-human-identities-top-10/", f"CIS AWS 1.{n % 20}"][: 1 + n % 2],
        first_seen_at=first_seen,
        last_seen_at=STARTED,
        suppression=(
            {"kind": "suppression", "owner": "secops", "reason": "accepted risk", "expires": "2026-01-01"}
            if n % 97 == 0
            else None
        ),
    )
