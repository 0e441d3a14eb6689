"""Talking to Azure Resource Manager and Microsoft Graph: the real SDK clients' pipelines, read as raw JSON.

Every `azure-mgmt-*` client is built with the credential from the context, a retry policy from settings (429 and
5xx, honouring Retry-After) and two counting policies, so that calls and throttled responses land on the collector
run. Lists are read as raw JSON pages through the client's own pipeline (authentication, retries, user agent,
logging): the snapshot holds ARM JSON anyway, and deserialising 50,000 role assignments into typed models only to
serialise them back costs seconds (bench/bench_azure.py). Paging follows each page's absolute `nextLink`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError, DecodeError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    ContentDecodePolicy,
    HeadersPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse

from agentiam import __version__
from agentiam.collectors.base import CallStats
from agentiam.config import AzureSettings

ARM_ENDPOINT = "https://management.azure.com"
GRAPH_ENDPOINT = "https://graph.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
USER_AGENT = f"agentiam/{__version__}"
# Failures of the transport or the credential: no other call of the scope can succeed either.
UNREACHABLE = (ClientAuthenticationError, ServiceRequestError, ServiceResponseError)


class CountCalls(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Per call (before retries): one logical API call."""

    def __init__(self, stats: CallStats) -> None:
        self.stats = stats

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        self.stats.count_call()


class CountThrottled(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Per attempt (after the retry policy): every 429 answer, whether or not it is then retried."""

    def __init__(self, stats: CallStats) -> None:
        self.stats = stats

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        if response.http_response.status_code == 429:
            self.stats.count_throttled()


def pipeline_options(
    settings: AzureSettings, stats: CallStats, transport_factory: Callable[[], HttpTransport] | None
) -> dict[str, Any]:
    """Keyword arguments every SDK client and the Graph client are built with."""
    retries = settings.max_attempts - 1
    options: dict[str, Any] = {
        "retry_total": retries,
        "retry_status": retries,  # azure-core stops status retries at 3 unless told otherwise
        "retry_backoff_max": 60,
        "per_call_policies": [CountCalls(stats)],
        "per_retry_policies": [CountThrottled(stats)],
        "user_agent": USER_AGENT,
    }
    if transport_factory is not None:
        options["transport"] = transport_factory()
    return options


@dataclass(frozen=True)
class ApiError(Exception):
    """An answer other than 200 from ARM or Graph, with what it said (never a token or a secret)."""

    status: int
    code: str
    message: str
    url: str

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code}: {self.message}".strip()

    @property
    def denied(self) -> bool:
        return self.status == 403


def _error(response: HttpResponse, url: str) -> ApiError:
    code, message = "", ""
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, UnicodeDecodeError, AttributeError):
        message = (response.reason or "").strip()
    return ApiError(response.status_code, code or (response.reason or ""), message, url.split("?")[0])


def _absolute(url: str, base: str) -> str:
    return url if url.startswith("https://") else urljoin(base, url)


class RawReader:
    """GETs through one SDK client's pipeline, parsed as JSON; `list` follows `nextLink` until the last page."""

    def __init__(self, client: Any, base_url: str, next_link_key: str = "nextLink") -> None:
        self.client = client  # an azure.core PipelineClient (an SDK client's `_client`)
        self._base_url = base_url
        self._next_link_key = next_link_key

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = _absolute(path, self._base_url)
        try:
            # The pipeline response, not just the HTTP one: its ContentDecodePolicy has parsed the JSON already, and
            # parsing 50,000 role assignments twice would cost more than everything else of the read.
            answer = self.client.send_request(
                HttpRequest("GET", url, params=params or {}), _return_pipeline_response=True
            )
        except DecodeError as exc:
            raise ApiError(200, "InvalidJson", f"the answer is not JSON ({exc.message})", url.split("?")[0]) from None
        response = answer.http_response
        if response.status_code != 200:
            raise _error(response, url)
        decoded = answer.context.get(ContentDecodePolicy.CONTEXT_NAME)
        return decoded if decoded is not None else json.loads(response.content)

    def pages(self, path: str, params: dict[str, str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """The `value` of every page; the first request carries `params`, next links carry their own query."""
        page = self.get(path, params)
        seen: set[str] = set()
        while True:
            yield page.get("value") or []
            next_link = page.get(self._next_link_key)
            if not next_link:
                return
            if next_link in seen:  # a server that hands back a link it already gave would never end
                raise ApiError(200, "PagingLoop", f"nextLink repeats: {next_link.split('?')[0]}", next_link)
            seen.add(next_link)
            page = self.get(next_link)

    def list(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return [item for page in self.pages(path, params) for item in page]


def arm_reader(client: Any) -> RawReader:
    """Raw reads through an azure-mgmt client's own pipeline (its credential, retry and counting policies)."""
    return RawReader(client._client, ARM_ENDPOINT)  # `_client` is the generated clients' ARMPipelineClient


def graph_reader(credential: TokenCredential, options: dict[str, Any]) -> RawReader:
    """Microsoft Graph through an azure-core pipeline with the same credential (Graph scope) and policies."""
    options = dict(options)
    transport = options.pop("transport", None)
    policies = [
        *options.pop("per_call_policies"),
        HeadersPolicy(),
        UserAgentPolicy(base_user_agent=options.pop("user_agent")),
        ContentDecodePolicy(),
        RetryPolicy(**options),
        BearerTokenCredentialPolicy(credential, GRAPH_SCOPE),
        *options.pop("per_retry_policies"),
    ]
    client: PipelineClient[Any, Any] = PipelineClient(GRAPH_ENDPOINT, policies=policies, transport=transport)
    return RawReader(client, GRAPH_ENDPOINT, next_link_key="@odata.nextLink")
