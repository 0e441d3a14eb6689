"""AWS privilege-escalation paths, after the pathfinding.cloud catalogue (rule AWS-ESC-001).

One `EscalationPath` per pathfinding.cloud path id, with the permissions its YAML lists as `required` (all must be
allowed) and, for each, where it must apply (`Target`). The name and category are the catalogue's; the reference is
`https://pathfinding.cloud/paths/<id>`. None of the catalogue's 65 paths lists alternative ("any of") permissions,
so every requirement here is mandatory. The YAML's `additional` permissions (discovery helpers such as
`iam:ListRoles`) are left out: a separate read-only principal can supply them.

Resource requirements encode the catalogue's `resourceConstraints` as far as an export can decide them: a required
permission granted only on resources that can never be the target (a user ARN for `iam:PassRole`, AWS-owned policies
for `iam:CreatePolicyVersion`, the principal's own user for `iam:CreateAccessKey`) does not make the path.

The project adds paths of its own that the catalogue lacks (OWN_PATHS): their ids start with `agentiam-`, which no
catalogue id does, and their reference is their public write-up. A path whose outcome the inventory cannot decide
(`potential`) is reported with that caveat in its evidence and never graded as leading to administrator access.

The condition cases decided from what is known (never holding, or always holding) are listed at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

REFERENCE_BASE = "https://pathfinding.cloud/paths/"
OWN_PATH_PREFIX = "agentiam-"  # ids of the project's own paths; no pathfinding.cloud id starts with it
RHINO = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"

PathCategory = Literal["self-escalation", "principal-access", "new-passrole", "existing-passrole", "credential-access"]

# The catalogue's categories whose outcome is administrator access whatever else the estate holds: a principal that
# can rewrite its own permissions can grant itself everything. The others lead to whatever another principal, a
# passed role or an existing resource's role holds.
ADMIN_OUTCOME_CATEGORIES: frozenset[str] = frozenset({"self-escalation"})

ROLES = frozenset({"aws_role"})
USERS = frozenset({"aws_user"})
ROLES_AND_USERS = ROLES | USERS


class Target(StrEnum):
    """Where a required permission must apply for the path to work."""

    ANY = (
        "any"  # any resource: the action creates it (its name is the attacker's choice) or acts on one we do not model
    )
    ROLE = "role"  # may match a role ARN
    USER = "user"  # may match the ARN of a user other than the principal itself
    GROUP = "group"  # may match a group ARN
    CUSTOMER_POLICY = "customer-policy"  # may match a managed policy ARN other than the AWS-owned ones
    SELF = "self"  # matches the principal's own ARN
    OWN_GROUP = "own-group"  # may match a group the principal (a user) belongs to
    # Bound to one role of the estate; every bound requirement of a path must hold for the same role:
    ASSUMABLE_ROLE = "assumable-role"  # a role the principal can assume (sts:AssumeRole on it, and its trust admits)
    ASSUMABLE_ROLE_POLICY = "assumable-role-policy"  # a customer-managed policy attached to such a role
    OTHER_ROLE = "other-role"  # an existing role other than the principal (taken over by rewriting its trust)
    OTHER_ROLE_POLICY = "other-role-policy"  # a customer-managed policy attached to such a role


ASSUMABLE_TARGETS = frozenset({Target.ASSUMABLE_ROLE, Target.ASSUMABLE_ROLE_POLICY})
TAKEOVER_TARGETS = frozenset({Target.OTHER_ROLE, Target.OTHER_ROLE_POLICY})

# Resource globs a statement's Resource must be able to match (they may contain wildcards themselves).
TARGET_GLOBS: dict[Target, tuple[str, ...]] = {
    Target.ROLE: ("arn:aws:iam::*:role/*",),
    Target.USER: ("arn:aws:iam::*:user/*",),
    Target.GROUP: ("arn:aws:iam::*:group/*",),
    Target.CUSTOMER_POLICY: ("arn:aws:iam::*:policy/*",),
}
# A Resource lying entirely under this prefix names only AWS-owned managed policies, which no account can edit:
# `iam:CreatePolicyVersion` or `iam:SetDefaultPolicyVersion` there is not exploitable.
AWS_OWNED_POLICIES = "arn:aws:iam::aws:policy/*"


@dataclass(frozen=True)
class Requirement:
    action: str
    target: Target = Target.ANY
    passed_to: tuple[str, ...] = ()  # iam:PassRole only: the services the role is passed to


@dataclass(frozen=True)
class EscalationPath:
    id: str  # the pathfinding.cloud path id, or OWN_PATH_PREFIX + a number for the project's own
    name: str  # the catalogue's name
    category: PathCategory
    requires: tuple[Requirement, ...]  # all must be allowed
    principals: frozenset[str] = ROLES_AND_USERS  # identity kinds the path applies to
    source: str = ""  # the write-up of one of the project's own paths (the catalogue's paths have their page)
    # Why the path may lead nowhere, when that depends on what the inventory does not hold; shown in the evidence.
    potential: str = ""

    @property
    def reference(self) -> str:
        return self.source or f"{REFERENCE_BASE}{self.id}"

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(r.action for r in self.requires)


def need(action: str, target: Target = Target.ANY) -> Requirement:
    return Requirement(action, target)


def pass_role(*services: str) -> Requirement:
    """`iam:PassRole` of a role to the services a path passes it to (the `iam:PassedToService` of the request)."""
    return Requirement("iam:PassRole", Target.ROLE, services)


# The services each family of paths passes the role to, as the catalogue's recommendations name them.
PASS_ROLE_TO_APPRUNNER = pass_role("apprunner.amazonaws.com", "tasks.apprunner.amazonaws.com")
PASS_ROLE_TO_BEDROCK = pass_role("bedrock-agentcore.amazonaws.com")
PASS_ROLE_TO_CLOUDFORMATION = pass_role("cloudformation.amazonaws.com")
PASS_ROLE_TO_CODEBUILD = pass_role("codebuild.amazonaws.com")
PASS_ROLE_TO_DATAPIPELINE = pass_role("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com")
PASS_ROLE_TO_EC2 = pass_role("ec2.amazonaws.com")
PASS_ROLE_TO_ECS = pass_role("ecs-tasks.amazonaws.com")
PASS_ROLE_TO_GLUE = pass_role("glue.amazonaws.com")
PASS_ROLE_TO_LAMBDA = pass_role("lambda.amazonaws.com")
PASS_ROLE_TO_SAGEMAKER = pass_role("sagemaker.amazonaws.com")

# sts-001 is the step of a chain rather than an escalation by itself: a principal that can assume a role reaches
# that role's permissions and paths. AWS-ESC-001 reports it when the role reached is administrator-equivalent or has
# escalation paths of its own, with the chain.
ASSUME_ROLE_PATH = "sts-001"

CATALOGUE_PATHS: tuple[EscalationPath, ...] = (
    EscalationPath(
        "apprunner-001",
        "iam:PassRole + apprunner:CreateService",
        "new-passrole",
        (PASS_ROLE_TO_APPRUNNER, need("apprunner:CreateService")),
    ),
    EscalationPath(
        "apprunner-002",
        "apprunner:UpdateService",
        "existing-passrole",
        (need("apprunner:UpdateService"),),
    ),
    EscalationPath(
        "bedrock-001",
        "iam:PassRole + bedrock-agentcore:CreateCodeInterpreter + bedrock-agentcore:StartCodeInterpreterSession"
        " + bedrock-agentcore:InvokeCodeInterpreter",
        "new-passrole",
        (
            PASS_ROLE_TO_BEDROCK,
            need("bedrock-agentcore:CreateCodeInterpreter"),
            need("bedrock-agentcore:StartCodeInterpreterSession"),
            need("bedrock-agentcore:InvokeCodeInterpreter"),
        ),
    ),
    EscalationPath(
        "bedrock-002",
        "bedrock-agentcore:StartCodeInterpreterSession + bedrock-agentcore:InvokeCodeInterpreter",
        "existing-passrole",
        (need("bedrock-agentcore:StartCodeInterpreterSession"), need("bedrock-agentcore:InvokeCodeInterpreter")),
    ),
    EscalationPath(
        "cloudformation-001",
        "iam:PassRole + cloudformation:CreateStack",
        "new-passrole",
        (PASS_ROLE_TO_CLOUDFORMATION, need("cloudformation:CreateStack")),
    ),
    EscalationPath(
        "cloudformation-002",
        "cloudformation:UpdateStack",
        "existing-passrole",
        (need("cloudformation:UpdateStack"),),
    ),
    EscalationPath(
        "cloudformation-003",
        "iam:PassRole + cloudformation:CreateStackSet + cloudformation:CreateStackInstances",
        "new-passrole",
        (
            PASS_ROLE_TO_CLOUDFORMATION,
            need("cloudformation:CreateStackSet"),
            need("cloudformation:CreateStackInstances"),
        ),
    ),
    EscalationPath(
        "cloudformation-004",
        "iam:PassRole + cloudformation:UpdateStackSet",
        "new-passrole",
        (PASS_ROLE_TO_CLOUDFORMATION, need("cloudformation:UpdateStackSet")),
    ),
    EscalationPath(
        "cloudformation-005",
        "cloudformation:CreateChangeSet + cloudformation:ExecuteChangeSet",
        "new-passrole",
        (need("cloudformation:CreateChangeSet"), need("cloudformation:ExecuteChangeSet")),
    ),
    EscalationPath(
        "codebuild-001",
        "iam:PassRole + codebuild:CreateProject + codebuild:StartBuild",
        "new-passrole",
        (PASS_ROLE_TO_CODEBUILD, need("codebuild:CreateProject"), need("codebuild:StartBuild")),
    ),
    EscalationPath(
        "codebuild-002",
        "codebuild:StartBuild",
        "existing-passrole",
        (need("codebuild:StartBuild"),),
    ),
    EscalationPath(
        "codebuild-003",
        "codebuild:StartBuildBatch",
        "existing-passrole",
        (need("codebuild:StartBuildBatch"),),
    ),
    EscalationPath(
        "codebuild-004",
        "iam:PassRole + codebuild:CreateProject + codebuild:StartBuildBatch",
        "new-passrole",
        (PASS_ROLE_TO_CODEBUILD, need("codebuild:CreateProject"), need("codebuild:StartBuildBatch")),
    ),
    EscalationPath(
        "datapipeline-001",
        "iam:PassRole + datapipeline:CreatePipeline + datapipeline:PutPipelineDefinition"
        " + datapipeline:ActivatePipeline",
        "new-passrole",
        (
            PASS_ROLE_TO_DATAPIPELINE,
            need("datapipeline:CreatePipeline"),
            need("datapipeline:PutPipelineDefinition"),
            need("datapipeline:ActivatePipeline"),
        ),
    ),
    EscalationPath(
        "ec2-001",
        "iam:PassRole + ec2:RunInstances",
        "new-passrole",
        (PASS_ROLE_TO_EC2, need("ec2:RunInstances")),
    ),
    EscalationPath(
        "ec2-002",
        "ec2:ModifyInstanceAttribute + ec2:StopInstances + ec2:StartInstances",
        "existing-passrole",
        (need("ec2:ModifyInstanceAttribute"), need("ec2:StopInstances"), need("ec2:StartInstances")),
    ),
    EscalationPath(
        "ec2-003",
        "iam:PassRole + ec2:RequestSpotInstances",
        "new-passrole",
        (PASS_ROLE_TO_EC2, need("ec2:RequestSpotInstances")),
    ),
    EscalationPath(
        "ec2-004",
        "ec2:CreateLaunchTemplateVersion + ec2:ModifyLaunchTemplate",
        "existing-passrole",
        (need("ec2:CreateLaunchTemplateVersion"), need("ec2:ModifyLaunchTemplate")),
    ),
    EscalationPath(
        "ec2instanceconnect-003",
        "ec2-instance-connect:SendSSHPublicKey",
        "existing-passrole",
        (need("ec2-instance-connect:SendSSHPublicKey"), need("ec2:DescribeInstances")),
    ),
    EscalationPath(
        "ecs-001",
        "iam:PassRole + ecs:CreateCluster + ecs:RegisterTaskDefinition + ecs:CreateService",
        "new-passrole",
        (PASS_ROLE_TO_ECS, need("ecs:CreateCluster"), need("ecs:RegisterTaskDefinition"), need("ecs:CreateService")),
    ),
    EscalationPath(
        "ecs-002",
        "iam:PassRole + ecs:CreateCluster + ecs:RegisterTaskDefinition + ecs:RunTask",
        "new-passrole",
        (PASS_ROLE_TO_ECS, need("ecs:CreateCluster"), need("ecs:RegisterTaskDefinition"), need("ecs:RunTask")),
    ),
    EscalationPath(
        "ecs-003",
        "iam:PassRole + ecs:RegisterTaskDefinition + ecs:CreateService",
        "new-passrole",
        (PASS_ROLE_TO_ECS, need("ecs:RegisterTaskDefinition"), need("ecs:CreateService")),
    ),
    EscalationPath(
        "ecs-004",
        "iam:PassRole + ecs:RegisterTaskDefinition + ecs:RunTask",
        "new-passrole",
        (PASS_ROLE_TO_ECS, need("ecs:RegisterTaskDefinition"), need("ecs:RunTask")),
    ),
    EscalationPath(
        "ecs-005",
        "iam:PassRole + ecs:RegisterTaskDefinition + ecs:StartTask",
        "new-passrole",
        (PASS_ROLE_TO_ECS, need("ecs:RegisterTaskDefinition"), need("ecs:StartTask")),
    ),
    EscalationPath(
        "glue-001",
        "iam:PassRole + glue:CreateDevEndpoint",
        "new-passrole",
        (PASS_ROLE_TO_GLUE, need("glue:CreateDevEndpoint")),
    ),
    EscalationPath(
        "glue-002",
        "glue:UpdateDevEndpoint",
        "existing-passrole",
        (need("glue:UpdateDevEndpoint"),),
    ),
    EscalationPath(
        "glue-003",
        "iam:PassRole + glue:CreateJob + glue:StartJobRun",
        "new-passrole",
        (PASS_ROLE_TO_GLUE, need("glue:CreateJob"), need("glue:StartJobRun")),
    ),
    EscalationPath(
        "glue-004",
        "iam:PassRole + glue:CreateJob + glue:CreateTrigger",
        "new-passrole",
        (PASS_ROLE_TO_GLUE, need("glue:CreateJob"), need("glue:CreateTrigger")),
    ),
    EscalationPath(
        "glue-005",
        "iam:PassRole + glue:UpdateJob + glue:StartJobRun",
        "new-passrole",
        (PASS_ROLE_TO_GLUE, need("glue:UpdateJob"), need("glue:StartJobRun")),
    ),
    EscalationPath(
        "glue-006",
        "iam:PassRole + glue:UpdateJob + glue:CreateTrigger",
        "new-passrole",
        (PASS_ROLE_TO_GLUE, need("glue:UpdateJob"), need("glue:CreateTrigger")),
    ),
    EscalationPath(
        "iam-001",
        "iam:CreatePolicyVersion",
        "self-escalation",
        (need("iam:CreatePolicyVersion", Target.CUSTOMER_POLICY),),
    ),
    EscalationPath(
        "iam-002",
        "iam:CreateAccessKey",
        "principal-access",
        (need("iam:CreateAccessKey", Target.USER),),
    ),
    EscalationPath(
        "iam-003",
        "iam:CreateAccessKey + iam:DeleteAccessKey",
        "principal-access",
        (need("iam:CreateAccessKey", Target.USER), need("iam:DeleteAccessKey", Target.USER)),
    ),
    EscalationPath(
        "iam-004",
        "iam:CreateLoginProfile",
        "principal-access",
        (need("iam:CreateLoginProfile", Target.USER),),
    ),
    EscalationPath(
        "iam-005",
        "iam:PutRolePolicy",
        "self-escalation",
        (need("iam:PutRolePolicy", Target.SELF),),
        principals=ROLES,
    ),
    EscalationPath(
        "iam-006",
        "iam:UpdateLoginProfile",
        "principal-access",
        (need("iam:UpdateLoginProfile", Target.USER),),
    ),
    EscalationPath(
        "iam-007",
        "iam:PutUserPolicy",
        "self-escalation",
        (need("iam:PutUserPolicy", Target.SELF),),
        principals=USERS,
    ),
    EscalationPath(
        "iam-008",
        "iam:AttachUserPolicy",
        "self-escalation",
        (need("iam:AttachUserPolicy", Target.SELF),),
        principals=USERS,
    ),
    EscalationPath(
        "iam-009",
        "iam:AttachRolePolicy",
        "self-escalation",
        (need("iam:AttachRolePolicy", Target.SELF),),
        principals=ROLES,
    ),
    EscalationPath(
        "iam-010",
        "iam:AttachGroupPolicy",
        "self-escalation",
        (need("iam:AttachGroupPolicy", Target.OWN_GROUP),),
        principals=USERS,
    ),
    EscalationPath(
        "iam-011",
        "iam:PutGroupPolicy",
        "self-escalation",
        (need("iam:PutGroupPolicy", Target.OWN_GROUP),),
        principals=USERS,
    ),
    EscalationPath(
        "iam-012",
        "iam:UpdateAssumeRolePolicy",
        "principal-access",
        (need("iam:UpdateAssumeRolePolicy", Target.OTHER_ROLE),),
    ),
    EscalationPath(
        "iam-013",
        "iam:AddUserToGroup",
        "self-escalation",
        (need("iam:AddUserToGroup", Target.GROUP),),
        principals=USERS,
    ),
    EscalationPath(
        "iam-014",
        "iam:AttachRolePolicy + sts:AssumeRole",
        "principal-access",
        (need("iam:AttachRolePolicy", Target.ASSUMABLE_ROLE), need("sts:AssumeRole", Target.ASSUMABLE_ROLE)),
    ),
    EscalationPath(
        "iam-015",
        "iam:AttachUserPolicy + iam:CreateAccessKey",
        "principal-access",
        (need("iam:AttachUserPolicy", Target.USER), need("iam:CreateAccessKey", Target.USER)),
    ),
    EscalationPath(
        "iam-016",
        "iam:CreatePolicyVersion + sts:AssumeRole",
        "principal-access",
        (
            need("iam:CreatePolicyVersion", Target.ASSUMABLE_ROLE_POLICY),
            need("sts:AssumeRole", Target.ASSUMABLE_ROLE),
        ),
    ),
    EscalationPath(
        "iam-017",
        "iam:PutRolePolicy + sts:AssumeRole",
        "principal-access",
        (need("iam:PutRolePolicy", Target.ASSUMABLE_ROLE), need("sts:AssumeRole", Target.ASSUMABLE_ROLE)),
    ),
    EscalationPath(
        "iam-018",
        "iam:PutUserPolicy + iam:CreateAccessKey",
        "principal-access",
        (need("iam:PutUserPolicy", Target.USER), need("iam:CreateAccessKey", Target.USER)),
    ),
    EscalationPath(
        "iam-019",
        "iam:AttachRolePolicy + iam:UpdateAssumeRolePolicy",
        "principal-access",
        (need("iam:AttachRolePolicy", Target.OTHER_ROLE), need("iam:UpdateAssumeRolePolicy", Target.OTHER_ROLE)),
    ),
    EscalationPath(
        "iam-020",
        "iam:CreatePolicyVersion + iam:UpdateAssumeRolePolicy",
        "principal-access",
        (
            need("iam:CreatePolicyVersion", Target.OTHER_ROLE_POLICY),
            need("iam:UpdateAssumeRolePolicy", Target.OTHER_ROLE),
        ),
    ),
    EscalationPath(
        "iam-021",
        "iam:PutRolePolicy + iam:UpdateAssumeRolePolicy",
        "principal-access",
        (need("iam:PutRolePolicy", Target.OTHER_ROLE), need("iam:UpdateAssumeRolePolicy", Target.OTHER_ROLE)),
    ),
    EscalationPath(
        "lambda-001",
        "iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction",
        "new-passrole",
        (PASS_ROLE_TO_LAMBDA, need("lambda:CreateFunction"), need("lambda:InvokeFunction")),
    ),
    EscalationPath(
        "lambda-002",
        "iam:PassRole + lambda:CreateFunction + lambda:CreateEventSourceMapping",
        "new-passrole",
        (PASS_ROLE_TO_LAMBDA, need("lambda:CreateFunction"), need("lambda:CreateEventSourceMapping")),
    ),
    EscalationPath(
        "lambda-003",
        "lambda:UpdateFunctionCode",
        "existing-passrole",
        (need("lambda:UpdateFunctionCode"),),
    ),
    EscalationPath(
        "lambda-004",
        "lambda:UpdateFunctionCode + lambda:InvokeFunction",
        "existing-passrole",
        (need("lambda:UpdateFunctionCode"), need("lambda:InvokeFunction")),
    ),
    EscalationPath(
        "lambda-005",
        "lambda:UpdateFunctionCode + lambda:AddPermission",
        "existing-passrole",
        (need("lambda:UpdateFunctionCode"), need("lambda:AddPermission")),
    ),
    EscalationPath(
        "lambda-006",
        "iam:PassRole + lambda:CreateFunction + lambda:AddPermission",
        "new-passrole",
        (PASS_ROLE_TO_LAMBDA, need("lambda:CreateFunction"), need("lambda:AddPermission")),
    ),
    EscalationPath(
        "sagemaker-001",
        "iam:PassRole + sagemaker:CreateNotebookInstance",
        "new-passrole",
        (PASS_ROLE_TO_SAGEMAKER, need("sagemaker:CreateNotebookInstance")),
    ),
    EscalationPath(
        "sagemaker-002",
        "iam:PassRole + sagemaker:CreateTrainingJob",
        "new-passrole",
        (PASS_ROLE_TO_SAGEMAKER, need("sagemaker:CreateTrainingJob")),
    ),
    EscalationPath(
        "sagemaker-003",
        "iam:PassRole + sagemaker:CreateProcessingJob",
        "new-passrole",
        (PASS_ROLE_TO_SAGEMAKER, need("sagemaker:CreateProcessingJob")),
    ),
    EscalationPath(
        "sagemaker-004",
        "sagemaker:CreatePresignedNotebookInstanceUrl",
        "existing-passrole",
        (need("sagemaker:CreatePresignedNotebookInstanceUrl"),),
    ),
    EscalationPath(
        "sagemaker-005",
        "sagemaker:CreateNotebookInstanceLifecycleConfig + sagemaker:StopNotebookInstance"
        " + sagemaker:UpdateNotebookInstance + sagemaker:StartNotebookInstance",
        "existing-passrole",
        (
            need("sagemaker:CreateNotebookInstanceLifecycleConfig"),
            need("sagemaker:StopNotebookInstance"),
            need("sagemaker:UpdateNotebookInstance"),
            need("sagemaker:StartNotebookInstance"),
        ),
    ),
    EscalationPath(
        "ssm-001",
        "ssm:StartSession",
        "existing-passrole",
        (need("ssm:StartSession"),),
    ),
    EscalationPath(
        "ssm-002",
        "ssm:SendCommand",
        "existing-passrole",
        (need("ssm:SendCommand"),),
    ),
    EscalationPath(
        ASSUME_ROLE_PATH,
        "sts:AssumeRole",
        "principal-access",
        (need("sts:AssumeRole", Target.ASSUMABLE_ROLE),),
    ),
)

# Paths the catalogue lacks, after their original write-ups.
OWN_PATHS: tuple[EscalationPath, ...] = (
    # Rhino Security Labs' method 2 (Spencer Gietzen, 2019): make an older version of a customer-managed policy the
    # default again. It escalates only when such a version exists and grants more than the default one; the inventory
    # keeps default versions only, so the path is reported as potential, on the same resources as iam-001.
    EscalationPath(
        f"{OWN_PATH_PREFIX}iam-001",
        "iam:SetDefaultPolicyVersion",
        "self-escalation",
        (need("iam:SetDefaultPolicyVersion", Target.CUSTOMER_POLICY),),
        source=RHINO,
        potential="only the default version of each managed policy is inventoried, so older versions, which this path"
        " would make the default again, could not be compared with it: check them (`aws iam list-policy-versions`)",
    ),
)
ESCALATION_PATHS: tuple[EscalationPath, ...] = CATALOGUE_PATHS + OWN_PATHS

PATHS_BY_ID: dict[str, EscalationPath] = {path.id: path for path in ESCALATION_PATHS}

# Catalogue paths deliberately not encoded, with the reason. Every one of the 65 paths can be decided from an
# authorization-details export, so there are none today; the corpus test keeps this list and the catalogue in step.
NOT_APPLICABLE: dict[str, str] = {}


# ----------------------------------------------------------------------------------------------------------------
# Conditions decided from what is known
# ----------------------------------------------------------------------------------------------------------------
# A Condition is decided only where what is known settles it; anything else is satisfiable, and never erases a grant:
# the path is reported as conditional, one step lower. What is known: the keys the calling principal fixes in every
# request (PRINCIPAL_KEYS: always present and single-valued, so `...IfExists` changes nothing), and
# PASSED_TO_SERVICE: in an `iam:PassRole` request, one of the services the path passes the role to; absent from every
# other request (an absent key fails a positive comparison and satisfies a negated or `...IfExists` one). Keys and
# operators compare case-insensitively; a single value counts as a list of one.
#
# Never holds: the statement grants (or denies, or admits through a trust) nothing, and is ignored.
# 1. `Bool` or `Null` (not their `...IfExists` forms, which hold when the key is absent) where no value is "true" or
#    "false": no request ever carries another value, e.g. `{"Bool": {"aws:SecureTransport": "maybe"}}`.
# 2. A known key under a positive operator (MATCH_OPERATORS) none of whose values matches what the key can be, e.g.
#    `{"StringEquals": {"aws:PrincipalAccount": "999999999999"}}` for a principal of another account, or
#    `iam:PassedToService` = `ecs-tasks.amazonaws.com` on the `iam:PassRole` of a path that passes the role to Lambda
#    (or on any other action, whose requests never carry the key); or under a negated operator (NEGATED_OPERATORS)
#    whose values match everything the key can be, e.g.
#    `{"StringNotEquals": {"aws:PrincipalArn": "<the principal's own ARN>"}}`.
# 3. A positive operator with an empty list of values: nothing matches it.
# 4. The same key under `StringEquals` and `StringNotEquals` of one statement, where every value the first accepts
#    the second excludes, e.g. `aws:RequestedRegion` equal to "us-east-1" and not equal to "us-east-1".
#
# Always holds: the statement acts as if it had no Condition. Only when every key of the block is known and holds for
# everything it can be, e.g. `{"StringEquals": {"aws:PrincipalAccount": "<the principal's own account>"}}`, or a Deny
# of `iam:PassRole` with `{"StringNotEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}` met by a path that
# passes the role to Lambda: that Deny certainly applies.
#
# Set operators (`ForAnyValue:`, `ForAllValues:`) are always treated as satisfiable, never as certain.

BOOLEAN_OPERATORS = frozenset({"bool", "null"})
BOOLEAN_VALUES = frozenset({"true", "false"})

# Condition key -> the principal fact it carries.
PRINCIPAL_KEYS: dict[str, str] = {
    "aws:principalaccount": "account",
    "aws:principalarn": "arn",
    "aws:principaltype": "type",
}
# aws:PrincipalType of a call made by each kind of identity (a role calls through an assumed-role session).
PRINCIPAL_TYPES: dict[str, str] = {"aws_role": "AssumedRole", "aws_user": "User"}
# The request key of `iam:PassRole` that a path fixes (Requirement.passed_to).
PASSED_TO_SERVICE = "iam:passedtoservice"

Comparison = Literal["exact", "ignore-case", "glob"]
MATCH_OPERATORS: dict[str, Comparison] = {
    "stringequals": "exact",
    "stringequalsignorecase": "ignore-case",
    "stringlike": "glob",
    "arnequals": "glob",
    "arnlike": "glob",
}
NEGATED_OPERATORS: dict[str, Comparison] = {
    "stringnotequals": "exact",
    "stringnotequalsignorecase": "ignore-case",
    "stringnotlike": "glob",
    "arnnotequals": "glob",
    "arnnotlike": "glob",
}
# (accepting, excluding) operator pair of case 4.
CONTRADICTING_OPERATORS = ("stringequals", "stringnotequals")
