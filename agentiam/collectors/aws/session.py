"""boto3 sessions and clients for the AWS collectors: standard credential chain, adaptive retries, call counting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from agentiam.collectors.base import CallStats
from agentiam.config import AwsSettings
from agentiam.errors import UsageError

if TYPE_CHECKING:
    import boto3

USER_AGENT = "agentiam"
# Error codes AWS services use to say "slow down"; counted per response on the collector run.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
    }
)


def make_session(settings: AwsSettings) -> boto3.Session:
    """The standard boto3 chain (env, profile, SSO, instance role); `--aws-profile` picks a named profile.

    An unknown profile is the user's mistake, not a failed collection: it is a usage error, before any scan.
    """
    import boto3  # here, not at the top: boto3 costs ~0.1 s of start-up to every command, offline ones included

    try:
        return boto3.Session(profile_name=settings.profile) if settings.profile else boto3.Session()
    except ProfileNotFound:
        known = ", ".join(sorted(boto3.Session().available_profiles)) or "none configured"
        raise UsageError(f"AWS profile {settings.profile!r} not found (available: {known})") from None


def client(session: Any, service: str, settings: AwsSettings, stats: CallStats, region: str | None = None) -> Any:
    """A client that retries in adaptive mode and counts its calls and throttled responses into `stats`."""
    from botocore.config import Config  # loads botocore's core (~0.08 s): only for live collection

    config = Config(
        retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
        user_agent_extra=USER_AGENT,
    )
    made = session.client(service, region_name=region or settings.regions[0], config=config)

    def _count_call(**_: Any) -> None:
        stats.count_call()

    def _count_throttling(response: tuple[Any, dict[str, Any]] | None = None, **_: Any) -> None:
        # needs-retry sees every attempt's response, whether or not it is then retried.
        if response is not None:
            http, parsed = response
            code = (parsed or {}).get("Error", {}).get("Code")
            if code in THROTTLING_CODES or getattr(http, "status_code", None) == 429:
                stats.count_throttled()

    made.meta.events.register("before-call", _count_call)
    made.meta.events.register("needs-retry", _count_throttling)
    return made


def describe_error(exc: Exception, operation: str) -> str:
    """A one-line, secret-free explanation of a failed AWS call."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        suffix = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""
        return f"{operation}: {error.get('Code', 'Error')}: {error.get('Message', '').strip()}{suffix}"
    if isinstance(exc, NoCredentialsError):
        return f"{operation}: no AWS credentials found (set AWS_PROFILE, use --aws-profile, or configure SSO)"
    if isinstance(exc, BotoCoreError):
        return f"{operation}: {exc}"
    return f"{operation}: {type(exc).__name__}: {exc}"
