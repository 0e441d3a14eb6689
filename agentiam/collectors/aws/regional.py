"""Scopes of the regional AWS collectors: one per account x configured region, each succeeding or failing alone.

A region where the credentials expired or a service is denied fails only its own collector run; the other regions
and accounts are still collected.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, NoCredentialsError

from agentiam.collectors.aws.accounts import AwsCollector
from agentiam.collectors.base import CollectContext, Scope

# After these, no further call in the scope can succeed with the same credentials: the scope fails as a whole.
SCOPE_FATAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})


def regional_scopes(ctx: CollectContext) -> list[Scope]:
    """`<account>/<region>` for every scanned account and every region of `aws.regions`."""
    return [
        Scope(key=f"{account.id}/{region}", label=f"{account.label}, {region}")
        for account in ctx.aws_accounts()
        for region in ctx.settings.aws.regions
    ]


class RegionalAwsCollector(AwsCollector):
    """A live AWS collector of a regional service: one scope per account x configured region."""

    def scopes(self, ctx: CollectContext) -> list[Scope]:
        return regional_scopes(ctx)


def split_scope(scope: Scope) -> tuple[str, str]:
    account, _, region = scope.key.partition("/")
    return account, region


def error_code(exc: Exception) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def is_scope_fatal(exc: Exception) -> bool:
    """Missing, expired or invalid credentials: every other call of the scope would fail the same way."""
    return error_code(exc) in SCOPE_FATAL_CODES or isinstance(exc, NoCredentialsError)
