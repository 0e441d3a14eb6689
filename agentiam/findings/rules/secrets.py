"""Secret rules, for any provider: secrets that collectors found in workloads' environment variables.

Collectors keep only metadata (agentiam/collectors/secrets.py): the variable's name, the kind of secret and a
short non-reversible fingerprint. Findings carry the same, never a value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.secret_patterns import ENV_SECRET, severity_of
from agentiam.findings.registry import Hit, rule

NHI2 = "OWASP NHI Top 10 2025: NHI2 Secret Leakage"
NHI7 = "OWASP NHI Top 10 2025: NHI7 Long-Lived Secrets"
LAMBDA_SECRETS = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html"
SHARED_SHOWN = 10  # other holders of the same secret listed in the evidence


@rule(
    id="SECRET-001",
    title="Secret in a workload's environment variables",
    category="secret",
    severity="high",
    provider="any",
    rationale="""Environment variables are read by everyone who can read the workload's configuration (for Lambda,
    lambda:GetFunction and ListFunctions), copied into logs, crash reports and infrastructure state, and never
    rotated. A secret there is long-lived and widely readable. In an agent, a prompt injection that makes the agent
    print its environment hands the secret out.""",
    remediation="""Move the secret to a secret store (AWS Secrets Manager or SSM Parameter Store SecureString, Azure
    Key Vault, a Kubernetes Secret mounted as a file) and read it at run time with the workload's identity; then
    rotate it, since it has been exposed. Prefer short-lived credentials (an IAM role, workload identity) to API keys
    where the provider offers them.""",
    references=(NHI2, NHI7, LAMBDA_SECRETS),
)
def secret_in_environment(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    credentials = ctx.credentials
    if credentials.empty:
        return
    secrets = credentials[credentials["credential_kind"] == ENV_SECRET]
    holders_of: dict[str, set[str]] = defaultdict(set)
    for row in secrets.itertuples():
        if row.fingerprint:
            holders_of[row.fingerprint].add(row.holder_uid)
    for row in secrets.itertuples():
        attributes = row.attributes or {}
        kind = str(attributes.get("secret_kind", "secret"))
        evidence: dict[str, Any] = {
            "variable": row.name,
            "kind": kind,
            "fingerprint": row.fingerprint,
            "matched_by": attributes.get("matched_by", []),
            "location": attributes.get("location", "environment"),
        }
        others = sorted(holders_of.get(row.fingerprint, set()) - {row.holder_uid})
        if others:
            names = [ctx.subjects.get(uid, {}).get("name", uid) for uid in others]
            evidence["same_secret_in"] = names[:SHARED_SHOWN]
            evidence["same_secret_in_count"] = len(others)
        subject = ctx.subjects.get(row.holder_uid, {}).get("name", row.holder_uid)
        shared = f", also held by {len(others)} other workload(s)" if others else ""
        yield Hit(
            subject_uid=row.holder_uid,
            key=f"env:{row.name}",
            message=f"{subject}: environment variable {row.name} holds a secret ({kind.replace('_', ' ')}){shared}",
            evidence=evidence,
            severity=severity_of(kind),
        )
