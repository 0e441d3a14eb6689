"""Which AWS accounts a live scan covers, and a session for each.

By default the account of the credentials. With a list of accounts in settings, or `--aws-org` (the accounts of the
AWS Organization, listed from its management or delegated-administrator account), every other account is reached
by assuming the configured read-only role in it, with an ExternalId when one is configured. An account whose role
cannot be assumed is returned with its error, so that only its scope fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from agentiam.collectors.aws.session import client, describe_error
from agentiam.collectors.base import CallStats, CollectContext, Scope
from agentiam.config import AwsSettings
from agentiam.errors import CollectorError

if TYPE_CHECKING:
    import boto3

SESSION_NAME = "agentiam-scan"


@dataclass(frozen=True)
class AwsAccount:
    id: str
    name: str = ""
    session_factory: Callable[[], Any] | None = None  # None when the account could not be reached
    error: str | None = None

    @property
    def label(self) -> str:
        return f"AWS account {self.id}" + (f" ({self.name})" if self.name else "")


def get_caller_account(session: Any, settings: AwsSettings, stats: CallStats) -> str:
    return str(client(session, "sts", settings, stats).get_caller_identity()["Account"])


def get_organization_accounts(session: Any, settings: AwsSettings, stats: CallStats) -> list[dict[str, Any]]:
    """Active accounts of the Organization (suspended and closed ones cannot be scanned)."""
    organizations = client(session, "organizations", settings, stats)
    accounts = []
    for page in organizations.get_paginator("list_accounts").paginate():
        accounts.extend(a for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE")
    return accounts


def role_arn(account_id: str, settings: AwsSettings) -> str:
    name = settings.assume_role.strip("/")
    return f"arn:aws:iam::{account_id}:role/{name}"


def assume_role_sessions(
    session: Any, account_id: str, settings: AwsSettings, stats: CallStats
) -> Callable[[], boto3.Session]:
    """Sessions in `account_id` through the configured role.

    A factory, not a session: boto3 sessions are not thread-safe, and the account's scopes (regions, collectors)
    run in parallel, so each gets its own. The temporary credentials live in memory only, never in the inventory.
    """
    import boto3  # here, not at the top: its import costs every command start-up, offline ones included

    parameters: dict[str, Any] = {"RoleArn": role_arn(account_id, settings), "RoleSessionName": SESSION_NAME}
    if settings.external_id:
        parameters["ExternalId"] = settings.external_id
    credentials = client(session, "sts", settings, stats).assume_role(**parameters)["Credentials"]
    return lambda: boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def resolve_accounts(
    session_factory: Callable[[], Any], settings: AwsSettings, stats: CallStats, *, organization: bool
) -> list[AwsAccount]:
    """The accounts to scan. Raises CollectorError only when nothing can be scanned at all."""
    base = session_factory()
    try:
        own = get_caller_account(base, settings, stats)
        listed = (
            [(a["Id"], a.get("Name", "")) for a in get_organization_accounts(base, settings, stats)]
            if organization
            else [(account, "") for account in settings.accounts]
        )
    except (ClientError, BotoCoreError) as exc:
        operation = "organizations:ListAccounts" if organization else "sts:GetCallerIdentity"
        raise CollectorError(describe_error(exc, operation)) from None
    if not listed:
        return [AwsAccount(own, session_factory=session_factory)]
    accounts = []
    for account_id, name in listed:
        if account_id == own and not settings.assume_role_in_own_account:
            accounts.append(AwsAccount(account_id, name, session_factory=session_factory))
            continue
        try:
            sessions = assume_role_sessions(base, account_id, settings, stats)
        except (ClientError, BotoCoreError) as exc:
            error = describe_error(exc, f"sts:AssumeRole {role_arn(account_id, settings)}")
            accounts.append(AwsAccount(account_id, name, error=error))
            continue
        accounts.append(AwsAccount(account_id, name, session_factory=sessions))
    return accounts


class AwsCollector:
    """What every live AWS collector shares: the AWS flags ask for it, and a global service (IAM) has one scope per
    scanned account. Regional collectors override `scopes` (see regional.py)."""

    provider = "aws"

    def live_requested(self, ctx: CollectContext) -> bool:
        return ctx.aws_session_factory is not None

    def scopes(self, ctx: CollectContext) -> list[Scope]:
        return [Scope(key=account.id, label=account.label) for account in ctx.aws_accounts()]
