"""Knowledge behind the AWS trust, unused-grant and hygiene rules (AWS-TRUST-*, AWS-UNUSED-*, AWS-HYG-*).

Every table says where its entries come from, so that a reviewer can check them and a user can extend them through
the rules' parameters without editing code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# -- who can assume a role ---------------------------------------------------------------------------------------

# The STS actions that let a trusted principal become the role. A trust statement that allows only, say,
# sts:TagSession or sts:SetSourceIdentity lets nobody in on its own.
ASSUME_ACTIONS: tuple[str, ...] = ("sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml")

# Condition operators that hold only when the key is present and matches a listed value. Negated operators
# (StringNotEquals...), `Null`, the `...IfExists` variants and `ForAllValues:` all hold when the key is absent, so
# they do not say who the caller is. References: IAM User Guide, "Condition operators" and "Single-valued vs.
# multivalued context keys" (ForAllValues returns true for a missing key); aws-actions/configure-aws-credentials
# README warns against ForAllValues for the same reason.
RESTRICTING_OPERATORS: frozenset[str] = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
)

# Condition keys that pin a cross-account caller. sts:ExternalId is the documented defence for third parties
# (IAM User Guide, "Access to AWS accounts owned by third parties"); aws:PrincipalOrgID / aws:PrincipalOrgPaths say
# the caller is inside one's own organization, where an external ID has nothing to protect against.
CROSS_ACCOUNT_KEYS: frozenset[str] = frozenset({"sts:externalid", "aws:principalorgid", "aws:principalorgpaths"})
CROSS_ACCOUNT_REFERENCES: tuple[str, ...] = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html",
)

# Keys that tie a service principal to the account or resource it acts for ("cross-service confused deputy
# prevention", IAM User Guide: aws:SourceArn, aws:SourceAccount, aws:SourceOrgID, aws:SourceOrgPaths).
SOURCE_KEYS: frozenset[str] = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"})

# Services whose own documentation puts aws:SourceAccount / aws:SourceArn in the *trust policy* of the role they
# assume, because one service principal serves every customer and acts for whichever resource names the role. Only
# these are flagged by AWS-TRUST-004; each entry cites the page that shows the condition in the trust policy.
#
# Deliberately not here:
# - ec2, lambda, ecs-tasks, glue and the like: the service assumes an execution role for a resource of the same
#   account, and only a principal allowed iam:PassRole on that role, which never works across accounts, can attach
#   it. Flagging them is the false positive Prowler users reported (prowler-cloud/prowler#2810).
# - s3, sns, events, cloudtrail, logs, and lambda invoked by another service: their confused-deputy guidance is about
#   *resource-based* policies (bucket, topic, function and key policies), not role trust. Some of them do not send
#   the source keys when they assume a role, so adding the condition breaks delivery (CloudTrail to CloudWatch Logs:
#   prowler-cloud/prowler#4714; AWS's own example trust for the CloudWatch Logs subscription role has no condition).
#   They belong to a resource-policy rule once resource policies are collected.
CONFUSED_DEPUTY_SERVICES: dict[str, str] = {
    "bedrock.amazonaws.com": "https://docs.aws.amazon.com/bedrock/latest/userguide/agents-permissions.html",
    "bedrock-agentcore.amazonaws.com": (
        "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-permissions.html"
    ),
    "config.amazonaws.com": "https://docs.aws.amazon.com/config/latest/developerguide/iamrole-permissions.html",
    "fis.amazonaws.com": (
        "https://docs.aws.amazon.com/resilience-hub/latest/userguide/next-gen-resilience-testing-iam-single-account.html"
    ),
    "iot.amazonaws.com": "https://docs.aws.amazon.com/iot/latest/developerguide/cross-service-confused-deputy-prevention.html",
    "personalize.amazonaws.com": (
        "https://docs.aws.amazon.com/personalize/latest/dg/cross-service-confused-deputy-prevention.html"
    ),
    "scheduler.amazonaws.com": "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html",
    "transfer.amazonaws.com": "https://docs.aws.amazon.com/transfer/latest/userguide/confused-deputy.html",
}


@dataclass(frozen=True)
class OidcProvider:
    """A web-identity issuer whose tokens anyone on the platform can obtain: only a claim condition narrows them."""

    name: str
    issuer: re.Pattern[str]  # matches the provider id: the part of the principal after "oidc-provider/"
    claim: str  # the claim that names the caller
    claim_prefix: str  # the fixed start of the claim's value, before its owner (org, namespace, project)
    owner_separator: str | None  # ends the owner segment; None: the whole value is the owner
    audience: str  # who can obtain a token, for the message
    severity: str
    reference: str

    def is_broad(self, value: str) -> bool:
        """A claim value that matches any owner: a wildcard in the owner segment (`repo:*`, `*`, `repo:acme*/x`)."""
        value = value.lower()
        rest = value[len(self.claim_prefix) :] if value.startswith(self.claim_prefix) else value
        owner = rest.split(self.owner_separator, 1)[0] if self.owner_separator else rest
        return not owner or "*" in owner or "?" in owner


OIDC_PROVIDERS: tuple[OidcProvider, ...] = (
    OidcProvider(
        name="GitHub Actions",
        issuer=re.compile(r"token\.actions\.githubusercontent\.com(/[^/]+)?", re.IGNORECASE),
        claim="sub",
        claim_prefix="repo:",
        owner_separator="/",
        audience="any GitHub Actions workflow in any repository",
        severity="critical",
        reference="https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
        "configuring-openid-connect-in-amazon-web-services",
    ),
    OidcProvider(
        name="GitLab CI",
        issuer=re.compile(r"gitlab\.com", re.IGNORECASE),
        claim="sub",
        claim_prefix="project_path:",
        owner_separator="/",
        audience="any GitLab.com CI job in any project",
        severity="critical",
        reference="https://docs.gitlab.com/ci/cloud_services/aws/",
    ),
    OidcProvider(
        name="HCP Terraform",
        issuer=re.compile(r"app\.terraform\.io", re.IGNORECASE),
        claim="sub",
        claim_prefix="organization:",
        owner_separator=":",
        audience="any HCP Terraform run in any organization",
        severity="critical",
        reference="https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/"
        "aws-configuration",
    ),
    OidcProvider(
        name="EKS (IRSA)",
        issuer=re.compile(r"oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/[0-9a-z]+", re.IGNORECASE),
        claim="sub",
        claim_prefix="system:serviceaccount:",
        owner_separator=":",
        audience="any service account of any namespace in the cluster",
        severity="high",
        reference="https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
    ),
    OidcProvider(
        name="Amazon Cognito identity pools",
        issuer=re.compile(r"cognito-identity\.amazonaws\.com", re.IGNORECASE),
        claim="aud",
        claim_prefix="",
        owner_separator=None,
        audience="any Cognito identity pool in any account",
        severity="critical",
        reference="https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html",
    ),
)

# A role that this many distinct principals can assume (or that names a wildcard AWS principal) is an identity many
# parties share: AWS-TRUST-005.
MANY_PRINCIPALS = 5

# -- use, age and rotation -----------------------------------------------------------------------------------------

# Days without use after which a role is unused. CIS AWS Foundations 1.12 uses 45 days for users' credentials; 90 is
# the common review period for roles (IAM Access Analyzer's unused-access default is 90 days).
UNUSED_DAYS = 90
# Agents are offboarded faster: an agent identity idle for a month usually belongs to a retired agent.
AGENT_UNUSED_DAYS = 30
# CIS AWS Foundations 1.14: access keys are rotated every 90 days or less.
KEY_ROTATION_DAYS = 90
# IAM reports RoleLastUsed for the trailing 400 days only (IAM API Reference, RoleLastUsed), so "no last use" means
# "not used in that window", not "never".
ROLE_LAST_USED_WINDOW_DAYS = 400
ROLE_LAST_USED_REFERENCE = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_RoleLastUsed.html"

# -- long-lived keys in workloads ----------------------------------------------------------------------------------

# Services whose use with an IAM user's access key points at a workload, not a person, running on the key: model and
# agent invocation (an LLM application or agent), function invocation and ML endpoints. GetAccessKeyLastUsed reports
# the service namespace of the key's last call (IAM API Reference, AccessKeyLastUsed.ServiceName).
WORKLOAD_KEY_SERVICES: tuple[str, ...] = ("bedrock", "bedrock-agentcore", "lambda", "sagemaker")
