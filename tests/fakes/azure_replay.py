"""A fake Azure for the real SDK clients: a TokenCredential that hands out a dummy token, and an HTTP transport
that replays ARM and Microsoft Graph JSON from fixtures.

The transport sits where azure-core's requests transport would: every policy of the SDK clients (bearer token,
retries honouring Retry-After, the collector's counting policies) runs for real. It serves list paths a page at a
time with absolute `nextLink`s (`@odata.nextLink` on Graph), single objects by path, a 404 for anything else, and
injectable answers per path: a 403 AuthorizationFailed, or a number of 429s with a Retry-After. Header lookups are
case-insensitive, as on the wire. It refuses plain http (the bearer-token policy refuses it first, as it should).
Retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from azure.core.credentials import AccessToken
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import CaseInsensitiveDict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
ARM_HOST = "management.azure.com"
GRAPH_HOST = "graph.microsoft.com"


class FakeCredential:
    """A TokenCredential: any scope gets a token that expires in an hour; the scopes asked for are recorded."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("fake-token", int(time.time()) + 3600)


class ReplayResponse(HttpResponse):
    """A complete, already-read response (azure.core.rest.HttpResponse)."""

    def __init__(
        self, request: HttpRequest, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:  # body: JSON-able, or bytes sent as they are
        self._request = request
        self._status = status
        self._content = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        self._headers: MutableMapping[str, str] = CaseInsensitiveDict(
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        )
        self._encoding: str | None = None

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def headers(self) -> MutableMapping[str, str]:
        return self._headers

    @property
    def reason(self) -> str:
        return {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}.get(
            self._status, "Too Many Requests" if self._status == 429 else "Error"
        )

    @property
    def content_type(self) -> str | None:
        return self._headers.get("content-type")

    @property
    def is_closed(self) -> bool:
        return True

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        return self._encoding or "utf-8"

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._content

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or self.encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._content) if self._content else None

    def raise_for_status(self) -> None:
        from azure.core.exceptions import HttpResponseError

        if self._status >= 400:
            raise HttpResponseError(response=self)

    def __enter__(self) -> ReplayResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def close(self) -> None:
        return None

    def read(self) -> bytes:
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content


@dataclass
class Estate:
    """What the fake Azure holds: collections (paged lists) and objects, by path (case-insensitive)."""

    collections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_collection(self, path: str, items: list[dict[str, Any]]) -> None:
        self.collections[path.lower().rstrip("/")] = items

    def add_object(self, path: str, item: dict[str, Any]) -> None:
        self.objects[path.lower().rstrip("/")] = item

    @classmethod
    def from_file(cls, path: Path) -> Estate:
        """A fixture: {"collections": {path: [items]}, "objects": {path: item}}."""
        document = json.loads(path.read_text(encoding="utf-8"))
        estate = cls()
        for key, items in document.get("collections", {}).items():
            estate.add_collection(key, items)
        for key, item in document.get("objects", {}).items():
            estate.add_object(key, item)
        return estate


def rest_role_definition(az_role: dict[str, Any], subscription_id: str) -> dict[str, Any]:
    """An `az role definition list` entry (flattened) in the REST shape ARM lists at a subscription's scope."""
    properties = {
        "roleName": az_role["roleName"],
        "type": az_role["roleType"],
        "description": az_role.get("description", ""),
        "assignableScopes": az_role.get("assignableScopes", ["/"]),
        "permissions": az_role.get("permissions", []),
        "createdOn": az_role.get("createdOn"),
        "updatedOn": az_role.get("updatedOn"),
        "createdBy": az_role.get("createdBy"),
        "updatedBy": az_role.get("updatedBy"),
    }
    return {
        "id": f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{az_role['name']}",
        "name": az_role["name"],
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": properties,
    }


def authorization_failed(path: str, action: str = "") -> dict[str, Any]:
    """ARM's body for a 403, as it names the action and scope that were refused."""
    what = f"perform action '{action}' over scope '{path}'" if action else f"perform this action over scope '{path}'"
    return {
        "error": {
            "code": "AuthorizationFailed",
            "message": f"The client 'agentiam-scanner' with object id '00000000-0000-0000-0000-00000000a11a' does not "
            f"have authorization to {what} or the scope is invalid. If access was recently granted, please "
            "refresh your credentials.",
        }
    }


GRAPH_FORBIDDEN = {
    "error": {
        "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "message": "Neither tenant is B2C or tenant doesn't have premium license",
    }
}


class ReplayTransport(HttpTransport):  # type: ignore[type-arg]
    """Serves an Estate over `https://management.azure.com` and `https://graph.microsoft.com`. Thread-safe."""

    def __init__(self, estate: Estate, page_size: int = 100) -> None:
        self.estate = estate
        self.page_size = page_size
        self.requests: list[str] = []  # "GET <path>" of every attempt
        self.sleeps: list[float] = []  # retry back-offs the pipeline asked for
        self._answers: dict[str, tuple[int, dict[str, Any] | bytes]] = {}
        self._throttled: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    # -- injection ------------------------------------------------------------------------------------------------

    def deny(self, path: str, body: dict[str, Any] | None = None) -> None:
        """Every request for `path` (any query) is refused with a 403."""
        self.answer(path, 403, body or authorization_failed(path))

    def answer(self, path: str, status: int, body: dict[str, Any] | bytes) -> None:
        """Every request for `path` (any query) gets this answer, instead of what the estate holds."""
        self._answers[path.lower().rstrip("/")] = (status, body)

    def throttle(self, path: str, times: int = 1, retry_after: int = 2) -> None:
        """The next `times` requests for `path` get a 429 with `Retry-After: retry_after`."""
        self._throttled.setdefault(path.lower().rstrip("/"), []).extend([retry_after] * times)

    # -- HttpTransport ----------------------------------------------------------------------------------------------

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> ReplayTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def sleep(self, duration: float) -> None:
        with self._lock:
            self.sleeps.append(duration)

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        url = urlsplit(request.url)
        if url.scheme != "https" or url.hostname not in (ARM_HOST, GRAPH_HOST):
            raise ServiceRequestError(f"the fake Azure serves https://{ARM_HOST} and https://{GRAPH_HOST} only")
        path = url.path.lower().rstrip("/") or "/"
        with self._lock:
            self.requests.append(f"{request.method} {url.path}")
            throttled = self._throttled.get(path)
            retry_after = throttled.pop(0) if throttled else None
        if retry_after is not None:
            body = {"error": {"code": "TooManyRequests", "message": "Rate limit exceeded. Retry later."}}
            return ReplayResponse(request, 429, body, {"retry-after": str(retry_after)})
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return ReplayResponse(request, 401, {"error": {"code": "AuthenticationFailed", "message": "no token"}})
        if path in self._answers:
            status, body = self._answers[path]
            return ReplayResponse(request, status, body)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.hostname == ARM_HOST and "api-version" not in query:
            body = {"error": {"code": "MissingApiVersionParameter", "message": "The api-version is required."}}
            return ReplayResponse(request, 400, body)
        if path in self.estate.collections:
            return ReplayResponse(request, 200, self._page(url.hostname, url.path, query, path))
        if path in self.estate.objects:
            return ReplayResponse(request, 200, self.estate.objects[path])
        code = "ResourceNotFound" if url.hostname == ARM_HOST else "Request_ResourceNotFound"
        return ReplayResponse(request, 404, {"error": {"code": code, "message": f"{url.path} was not found."}})

    def _page(self, host: str, raw_path: str, query: dict[str, str], path: str) -> dict[str, Any]:
        items = self.estate.collections[path]
        token = "$skiptoken"
        start = int(query.get(token, "0"))
        page: dict[str, Any] = {"value": items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            following = {**query, token: str(start + self.page_size)}
            link = f"https://{host}{raw_path}?{urlencode(following)}"
            page["nextLink" if host == ARM_HOST else "@odata.nextLink"] = link
        return page
