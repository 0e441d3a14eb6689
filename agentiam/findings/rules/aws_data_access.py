"""Reads of secrets, keys, parameters and objects, and actions that return credentials, on all resources.

The families live in agentiam/findings/data/aws_sensitive_actions.py; one finding per principal and family, from
its effective permissions (a Deny, a boundary or a resource-scoped boundary removes it; a condition lowers it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.aws_sensitive_actions import CREDENTIAL_RETURNING, DATA_ACCESS, SensitiveFamily
from agentiam.findings.registry import Hit, rule
from agentiam.findings.rules.aws_iam import NHI5, unconstrained_hits

OWASP_NHI2 = "OWASP NHI Top 10 2025: NHI2 Secret Leakage"


def _family_hits(ctx: AnalysisContext, families: tuple[SensitiveFamily, ...]) -> Iterator[Hit]:
    catalogue = ctx.catalogue
    for family in families:
        mask = 0
        for action in family.actions:
            mask |= catalogue.expand(action)
        yield from unconstrained_hits(ctx, mask & ~catalogue.wildcard_only_mask, family.key, family.description)


@rule(
    id="AWS-DATA-001",
    title="Reads secrets, keys, parameters or objects on all resources",
    category="data-access",
    severity="high",
    provider="aws",
    rationale="""`secretsmanager:GetSecretValue`, `kms:Decrypt`, `ssm:GetParameter*` or `s3:GetObject` on
    `Resource: "*"` reach every secret, key, parameter or object in the account, not just the workload's own. For an
    agent, whatever it can read, a prompt injection can make it repeat.""",
    remediation="""Scope these actions to the ARNs of the workload's own secrets, keys, parameter paths and bucket
    prefixes; for KMS, add a `kms:ViaService` or encryption-context condition.""",
    references=(NHI5, OWASP_NHI2, "https://github.com/salesforce/cloudsplaining (data exfiltration)"),
)
def sensitive_reads(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    yield from _family_hits(ctx, DATA_ACCESS)


@rule(
    id="AWS-CRED-001",
    title="Actions that return credentials, on all resources",
    category="credential-exposure",
    severity="high",
    provider="aws",
    rationale="""These actions return a credential: an access key, a database password or token, an instance's
    administrator password, a federation token. Granted on every resource, they hand the identity the keys of
    principals and systems it was never meant to act as.""",
    remediation="""Remove the action, or scope it to the one user, cluster, instance or repository the workload
    needs a credential for.""",
    references=(NHI5, OWASP_NHI2, "https://github.com/salesforce/cloudsplaining (credentials exposure)"),
)
def credential_returning(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    yield from _family_hits(ctx, CREDENTIAL_RETURNING)
