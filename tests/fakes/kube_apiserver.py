"""A small fake Kubernetes API server: the official `kubernetes` client and `kubectl` talk to it as to a cluster.

It serves the manifests loaded into it over HTTPS on 127.0.0.1, with a CA and a server certificate (IP SAN) generated
at start, and a bearer token. What it implements, because the collector depends on it:

- discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`, `/version`) and the OIDC discovery document;
- list (cluster-wide and namespaced) and get for core, apps, batch, RBAC, CRDs and any custom resource whose
  CustomResourceDefinition is loaded;
- `limit` / `continue` with opaque tokens that can expire (410), label selectors (=, ==, !=, in, notin, exists,
  !exists) and field selectors (metadata.name, metadata.namespace, and a few pod fields), refused with 400 otherwise;
- faults injected per path: 403, 410, 429 (with Retry-After), 500, once, a few times or always.

Every request is recorded (path, query, items sent) so tests can assert what travelled over the wire.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


BUILTIN_RESOURCES = (
    Resource("", "v1", "Pod", "pods", True),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True),
    Resource("", "v1", "Namespace", "namespaces", False),
    Resource("apps", "v1", "ReplicaSet", "replicasets", True),
    Resource("apps", "v1", "Deployment", "deployments", True),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True),
    Resource("apps", "v1", "DaemonSet", "daemonsets", True),
    Resource("batch", "v1", "Job", "jobs", True),
    Resource("batch", "v1", "CronJob", "cronjobs", True),
    Resource("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    Resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    Resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
)

# Field selectors the real server supports on every kind, plus a few per kind (it refuses the rest with 400).
_FIELDS = {"metadata.name", "metadata.namespace"}
_KIND_FIELDS = {"Pod": {"spec.serviceAccountName", "spec.nodeName", "status.phase"}}


@dataclass
class Fault:
    path: str
    status: int
    times: int | None  # None: every time
    retry_after: int | None = None
    with_continue: bool = False  # only requests that carry a continue token (an expiring listing)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    items_sent: int = 0
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class _Listing:
    """What a continue token stands for: a position in one listing."""

    key: tuple[str, str, str]
    offset: int
    issued: float


class SelectorError(ValueError):
    pass


# -- selectors -------------------------------------------------------------------------------------------------

_SET_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Commas separate requirements, except inside the parentheses of a set."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def label_matcher(selector: str) -> Any:
    """A predicate over a labels dict; SelectorError for a selector the real server would refuse."""
    checks = []
    for requirement in _split_requirements(selector):
        if match := _SET_REQUIREMENT.match(requirement):
            key, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if operator == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif match := _EQUALITY.match(requirement):
            key, operator, value = match.groups()
            if operator == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif match := _EXISTS.match(requirement):
            negated, key = match.groups()
            checks.append(lambda labels, k=key, n=bool(negated): (k in labels) != n)
        else:
            raise SelectorError(f"unable to parse requirement: {requirement.strip()!r}")
    return lambda labels: all(check(labels) for check in checks)


def _field_value(obj: Manifest, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_matcher(selector: str, kind: str) -> Any:
    checks = []
    allowed = _FIELDS | _KIND_FIELDS.get(kind, set())
    for requirement in _split_requirements(selector):
        match = _EQUALITY.match(requirement)
        if not match:
            raise SelectorError(f"invalid field selector: {requirement.strip()!r}")
        path, operator, value = match.groups()
        if path not in allowed:
            raise SelectorError(f'field label not supported: "{path}"')
        negate = operator == "!="
        checks.append(lambda obj, p=path, v=value, n=negate: (_field_value(obj, p) == v) != n)
    return lambda obj: all(check(obj) for check in checks)


# -- certificates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def generate_certificates() -> Certificates:
    """A CA, and a server certificate it signs for 127.0.0.1 (IP SAN) and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kubernetes-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Certificates(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


# -- the server ------------------------------------------------------------------------------------------------


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> Manifest:
    body: Manifest = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


_FAULT_REASONS = {
    403: "Forbidden",
    404: "NotFound",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class FakeKubeApiServer:
    """Start with `with FakeKubeApiServer() as server:`; load manifests with `server.load(...)`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        oidc_issuer: str | None = None,
        continue_ttl: float | None = None,
        certificates: Certificates | None = None,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.oidc_issuer = oidc_issuer
        self.continue_ttl = continue_ttl  # seconds a continue token stays valid; None: forever
        self.certificates = certificates or generate_certificates()
        self.resources: dict[tuple[str, str], Resource] = {}  # (group, kind) -> resource
        self.objects: dict[Resource, dict[tuple[str, str], Manifest]] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._listings: dict[str, _Listing] = {}
        self._lock = threading.Lock()
        self._resource_version = 1000
        for resource in BUILTIN_RESOURCES:
            self.register(resource)
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-kube-")
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content ---------------------------------------------------------------------------------------------

    def register(self, resource: Resource) -> None:
        self.resources[(resource.group, resource.kind)] = resource
        self.objects.setdefault(resource, {})

    def load(self, *manifests: Manifest) -> None:
        """Manifests as `kubectl apply` takes them; a `List` is unpacked; a CRD also serves its resource."""
        for manifest in manifests:
            if manifest.get("kind") == "List":
                self.load(*manifest.get("items", []))
                continue
            group, _, _version = str(manifest["apiVersion"]).rpartition("/")
            resource = self.resources.get((group, manifest["kind"]))
            if resource is None:
                raise KeyError(f"no resource serves {manifest['apiVersion']} {manifest['kind']}: load its CRD first")
            obj = json.loads(json.dumps(manifest))
            metadata = obj.setdefault("metadata", {})
            if resource.namespaced:
                metadata.setdefault("namespace", "default")
            with self._lock:
                self._resource_version += 1
                metadata.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource.kind}/{self._name(obj)}")))
                metadata.setdefault("resourceVersion", str(self._resource_version))
                metadata.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
                self.objects[resource][(metadata.get("namespace", ""), metadata["name"])] = obj
            if manifest["kind"] == "CustomResourceDefinition":
                self._serve_crd(obj)

    def load_yaml(self, text: str) -> None:
        self.load(*(doc for doc in yaml.safe_load_all(text) if doc))

    @staticmethod
    def _name(obj: Manifest) -> str:
        return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"

    def _serve_crd(self, crd: Manifest) -> None:
        spec = crd["spec"]
        versions = [v["name"] for v in spec.get("versions", []) if v.get("served", True)]
        storage = next((v["name"] for v in spec.get("versions", []) if v.get("storage")), versions[0])
        self.register(
            Resource(spec["group"], storage, spec["names"]["kind"], spec["names"]["plural"], spec["scope"] != "Cluster")
        )

    # -- faults ----------------------------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        with_continue: bool = False,
    ) -> None:
        """Answer requests to `path` with `status`, `times` times (None: always)."""
        with self._lock:
            self._faults.append(Fault(path, status, times, retry_after, with_continue))

    def expire_continue_tokens(self) -> None:
        with self._lock:
            self._listings.clear()

    def _take_fault(self, path: str, query: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path != path or (fault.with_continue and "continue" not in query):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        path = Path(self._tmp.name) / "ca.crt"
        if not path.exists():
            path.write_bytes(self.certificates.ca_pem)
        return path

    def start(self) -> FakeKubeApiServer:
        folder = Path(self._tmp.name)
        (folder / "tls.crt").write_bytes(self.certificates.cert_pem)
        (folder / "tls.key").write_bytes(self.certificates.key_pem)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(folder / "tls.crt", folder / "tls.key")
        self._httpd = _TlsServer(("127.0.0.1", 0), _Handler, tls, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-kube-apiserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self._tmp.cleanup()

    def __enter__(self) -> FakeKubeApiServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what was asked --------------------------------------------------------------------------------------

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # -- answering -------------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, Any, dict]:
        """(status, JSON body, extra headers) for one request."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token != self.token:  # the scheme is case-insensitive (RFC 9110)
            return 401, _status(401, "Unauthorized", "Unauthorized"), {}
        if method != "GET":
            return 405, _status(405, "MethodNotAllowed", f"the fake server only reads, not {method}"), {}
        fault = self._take_fault(path, query)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            reason = _FAULT_REASONS.get(fault.status, "InternalError")
            return fault.status, _status(fault.status, reason, f"injected {fault.status} for {path}"), headers
        discovery = self._discovery(path)
        if discovery is not None:
            return 200, discovery, {}
        return self._resource_request(path, query)

    def _discovery(self, path: str) -> Manifest | None:
        if path == "/version":
            return {"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "platform": "linux/amd64"}
        if path == "/.well-known/openid-configuration" and self.oidc_issuer:
            return {"issuer": self.oidc_issuer, "jwks_uri": f"{self.oidc_issuer}/openid/v1/jwks"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(g) for g in self._groups()]}
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2 and parts[1] in self._groups():
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1])}
        group_version = "/".join(parts[1:])
        if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
            served = [r for r in self.resources.values() if r.group_version == group_version]
            if served:
                return {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": group_version,
                    "resources": [
                        {
                            "name": r.plural,
                            "singularName": r.kind.lower(),
                            "namespaced": r.namespaced,
                            "kind": r.kind,
                            "verbs": ["get", "list"],
                        }
                        for r in served
                    ],
                }
        return None

    def _groups(self) -> list[str]:
        return sorted({r.group for r in self.resources.values() if r.group})

    def _group(self, name: str) -> Manifest:
        versions = sorted({r.version for r in self.resources.values() if r.group == name})
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[-1]}

    def _route(self, path: str) -> tuple[Resource, str | None, str | None] | None:
        """The resource, namespace and name a path names, or None."""
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not 1 <= len(rest) <= 2:
            return None
        for resource in self.resources.values():
            if (resource.group, resource.version, resource.plural) == (group, version, rest[0]):
                if namespace is not None and not resource.namespaced:
                    return None
                return resource, namespace, rest[1] if len(rest) == 2 else None
        return None

    def _resource_request(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict]:
        route = self._route(path)
        if route is None:
            return 404, _status(404, "NotFound", "the server could not find the requested resource"), {}
        resource, namespace, name = route
        with self._lock:
            stored = dict(self.objects[resource])
        if name is not None:
            obj = stored.get((namespace or "", name))
            if obj is None:
                message = f'{resource.plural} "{name}" not found'
                return 404, _status(404, "NotFound", message, {"name": name, "kind": resource.plural}), {}
            return 200, self._served(resource, obj), {}
        return self._list(path, resource, namespace, stored, query)

    def _list(
        self, path: str, resource: Resource, namespace: str | None, stored: dict, query: dict[str, str]
    ) -> tuple[int, Any, dict]:
        try:
            labels = label_matcher(query.get("labelSelector", ""))
            fields = field_matcher(query.get("fieldSelector", ""), resource.kind)
        except SelectorError as exc:
            return 400, _status(400, "BadRequest", str(exc)), {}
        key = (path, query.get("labelSelector", ""), query.get("fieldSelector", ""))
        offset = 0
        if query.get("continue"):
            with self._lock:
                listing = self._listings.get(query["continue"])
            expired = listing is None or (
                self.continue_ttl is not None and time.monotonic() - listing.issued > self.continue_ttl
            )
            if expired or listing is None or listing.key != key:
                message = "The provided continue parameter is too old to display a consistent list result."
                return 410, _status(410, "Expired", message), {}
            offset = listing.offset
        matching = [
            obj
            for (ns, _), obj in sorted(stored.items())
            if (namespace is None or ns == namespace) and labels(obj["metadata"].get("labels") or {}) and fields(obj)
        ]
        limit = int(query["limit"]) if query.get("limit", "").isdigit() and int(query["limit"]) > 0 else None
        page = matching[offset : offset + limit] if limit else matching[offset:]
        metadata: Manifest = {"resourceVersion": str(self._resource_version)}
        if limit and offset + limit < len(matching):
            token = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode()
            with self._lock:
                self._listings[token] = _Listing(key, offset + limit, time.monotonic())
            metadata["continue"] = token
            metadata["remainingItemCount"] = len(matching) - offset - limit
        body = {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.group_version,
            "metadata": metadata,
            "items": [self._served(resource, obj, in_list=True) for obj in page],
        }
        return 200, body, {}

    @staticmethod
    def _served(resource: Resource, obj: Manifest, *, in_list: bool = False) -> Manifest:
        # A real server leaves kind/apiVersion off the items of built-in lists, and keeps them on custom resources.
        if in_list and resource.group in {"", "apps", "batch", "rbac.authorization.k8s.io", "apiextensions.k8s.io"}:
            return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        return {**obj, "kind": resource.kind, "apiVersion": resource.group_version}


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, tls: ssl.SSLContext, fake: FakeKubeApiServer) -> None:
        self.tls = tls
        self.fake = fake
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, on the connection's own thread, never in the accept loop.
        try:
            request = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-response is not a test failure


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client pools connections
    disable_nagle_algorithm = True  # otherwise every small response waits ~40 ms for a delayed ACK
    server: _TlsServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _respond(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # always consume the body, or the next request on this connection is garbage
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        fake = self.server.fake
        status, body, headers = fake.answer(self.command, split.path, query, self.headers.get("Authorization"))
        payload = json.dumps(body, separators=(",", ":")).encode()
        recorded = RecordedRequest(self.command, split.path, query, status, len(body.get("items", [])))
        with fake._lock:
            fake.requests.append(recorded)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _respond


# -- kubeconfig --------------------------------------------------------------------------------------------------


@dataclass
class KubeContext:
    name: str
    server: FakeKubeApiServer
    cluster: str
    namespace: str | None = None


@dataclass
class Kubeconfig:
    contexts: list[KubeContext] = field(default_factory=list)
    current: str | None = None

    def render(self) -> str:
        clusters, users, contexts = {}, {}, []
        for context in self.contexts:
            clusters[context.cluster] = {
                "name": context.cluster,
                "cluster": {
                    "server": context.server.url,
                    "certificate-authority-data": base64.b64encode(context.server.certificates.ca_pem).decode(),
                },
            }
            users[context.name] = {"name": f"{context.name}-user", "user": {"token": context.server.token}}
            entry: Manifest = {"cluster": context.cluster, "user": f"{context.name}-user"}
            if context.namespace:
                entry["namespace"] = context.namespace
            contexts.append({"name": context.name, "context": entry})
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": list(clusters.values()),
            "users": list(users.values()),
            "contexts": contexts,
            "current-context": self.current or (self.contexts[0].name if self.contexts else ""),
            "preferences": {},
        }
        return yaml.safe_dump(document, sort_keys=False)

    def write(self, path: Path) -> Path:
        path.write_text(self.render())
        return path
