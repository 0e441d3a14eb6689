"""boto3 sessions and clients for the AWS collectors: standard credential chain, adaptive retries, call counting."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from agentiam.collectors.base import CallStats
from agentiam.config import AwsSettings

USER_AGENT = "agentiam"


def make_session(settings: AwsSettings) -> boto3.Session:
    """The standard boto3 chain (env, profile, SSO, instance role); `--aws-profile` picks a named profile."""
    return boto3.Session(profile_name=settings.profile) if settings.profile else boto3.Session()


def client(session: Any, service: str, settings: AwsSettings, stats: CallStats, region: str | None = None) -> Any:
    """A client that retries throttling in adaptive mode and counts its calls and retries into `stats`."""
    config = Config(
        retries={"mode": "adaptive", "max_attempts": settings.max_attempts},
        user_agent_extra=USER_AGENT,
    )
    made = session.client(service, region_name=region or settings.regions[0], config=config)

    def _count_call(**_: Any) -> None:
        stats.api_calls += 1

    def _count_retries(parsed: dict[str, Any] | None = None, **_: Any) -> None:
        if parsed:
            stats.throttled += parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0)

    made.meta.events.register("before-call", _count_call)
    made.meta.events.register("after-call", _count_retries)
    return made


def describe_error(exc: Exception, operation: str) -> str:
    """A one-line, secret-free explanation of a failed AWS call."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        suffix = f" after {retries} retries" if retries else ""
        return f"{operation}: {error.get('Code', 'Error')}: {error.get('Message', '').strip()}{suffix}"
    if isinstance(exc, NoCredentialsError):
        return f"{operation}: no AWS credentials found (set AWS_PROFILE, use --aws-profile, or configure SSO)"
    if isinstance(exc, BotoCoreError):
        return f"{operation}: {exc}"
    return f"{operation}: {type(exc).__name__}: {exc}"
