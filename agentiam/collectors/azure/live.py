"""Reading one Azure subscription live into an AzureSnapshot (I/O only; the transform is elsewhere and pure).

What is read, per subscription, all read-only (docs/permissions.md lists the permissions):

- the subscription (display name, tags, tenant);
- role definitions, built-in and custom, as listed at the subscription's scope;
- role assignments that apply to the subscription: the list at subscription scope *without* `$filter=atScope()`,
  which returns those at the subscription, its resource groups and resources, and those inherited from management
  groups and the root (`atScope()` would drop the ones below the subscription);
- deny assignments;
- user-assigned managed identities and their federated identity credentials;
- resources: the generic resources list (it carries `identity` and `kind`) keeps every resource with an identity;
  the types that matter to agents (web and function apps, container apps and jobs, AI Services / Foundry accounts
  and their projects, AKS clusters, VMs) are then read through their own providers for full properties
  (`disableLocalAuth`, `oidcIssuerProfile`, ...), and only when the generic list shows the type (or could not be read),
  so that an unregistered resource provider is never called;
- last sign-in activity per service principal from Microsoft Graph (tenant-wide, read once per tenant).

A 403 on one part makes that part "not evaluated" with an error issue naming the subscription, the part and the
permission it needs; the other parts are still read. A subscription that cannot be read at all, or credentials that
do not work, fail the whole scope with the reason.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError

from agentiam.collectors.azure.arm import UNREACHABLE, ApiError, RawReader, arm_reader, graph_reader, pipeline_options
from agentiam.collectors.azure.snapshot import AzureSnapshot, RawObject
from agentiam.collectors.base import CollectContext, Scope
from agentiam.config import AzureSettings
from agentiam.errors import CollectorError, UsageError
from agentiam.inventory.records import IssueRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

AUTHORIZATION_API = "2022-04-01"
MSI_API = "2023-01-31"
RESOURCES_API = "2021-04-01"
SUBSCRIPTIONS_API = "2022-12-01"
SIGN_INS_PATH = "/beta/reports/servicePrincipalSignInActivities"
SIGN_INS_PERMISSION = "Microsoft Graph application permission AuditLog.Read.All (and an Entra ID P1 or P2 licence)"
INACTIVE_SUBSCRIPTION_STATES = frozenset({"disabled", "deleted"})


@dataclass(frozen=True)
class SdkClient:
    """An azure-mgmt client class, imported only when a subscription has something it reads."""

    module: str
    name: str
    per_subscription: bool = True


SUBSCRIPTIONS = SdkClient("azure.mgmt.subscription", "SubscriptionClient", per_subscription=False)
AUTHORIZATION = SdkClient("azure.mgmt.authorization", "AuthorizationManagementClient")
MSI = SdkClient("azure.mgmt.msi", "ManagedServiceIdentityClient")
RESOURCES = SdkClient("azure.mgmt.resource.resources", "ResourceManagementClient")


@dataclass(frozen=True)
class ProviderList:
    """Every object of one type in a subscription, through its own provider: `/subscriptions/<id>/providers/<type>`."""

    arm_type: str
    client: SdkClient
    api_version: str
    children: tuple[str, ...] = ()  # child types listed under each object (`<id>/<child>`)

    @property
    def permission(self) -> str:
        return f"{self.arm_type}/read"


ROLE_DEFINITIONS = ProviderList("Microsoft.Authorization/roleDefinitions", AUTHORIZATION, AUTHORIZATION_API)
# No `$filter=atScope()`: that would drop the assignments below the subscription (resource groups, resources).
ROLE_ASSIGNMENTS = ProviderList("Microsoft.Authorization/roleAssignments", AUTHORIZATION, AUTHORIZATION_API)
DENY_ASSIGNMENTS = ProviderList("Microsoft.Authorization/denyAssignments", AUTHORIZATION, AUTHORIZATION_API)
USER_ASSIGNED_IDENTITIES = ProviderList("Microsoft.ManagedIdentity/userAssignedIdentities", MSI, MSI_API)
# Resource types read in full, for the properties the generic resources list leaves out.
RESOURCE_TYPES = (
    ProviderList("Microsoft.Web/sites", SdkClient("azure.mgmt.web", "WebSiteManagementClient"), "2024-04-01"),
    ProviderList(
        "Microsoft.App/containerApps", SdkClient("azure.mgmt.appcontainers", "ContainerAppsAPIClient"), "2024-03-01"
    ),
    ProviderList("Microsoft.App/jobs", SdkClient("azure.mgmt.appcontainers", "ContainerAppsAPIClient"), "2024-03-01"),
    ProviderList(
        "Microsoft.CognitiveServices/accounts",
        SdkClient("azure.mgmt.cognitiveservices", "CognitiveServicesManagementClient"),
        "2025-06-01",
        children=("projects",),
    ),
    ProviderList(
        "Microsoft.ContainerService/managedClusters",
        SdkClient("azure.mgmt.containerservice", "ContainerServiceClient"),
        "2024-09-01",
    ),
    ProviderList(
        "Microsoft.Compute/virtualMachines", SdkClient("azure.mgmt.compute", "ComputeManagementClient"), "2024-07-01"
    ),
)
_TYPES_READ_DIRECTLY = {t.arm_type.lower() for t in RESOURCE_TYPES} | {
    f"{t.arm_type}/{child}".lower() for t in RESOURCE_TYPES for child in t.children
}


def make_credential(settings: AzureSettings) -> TokenCredential:
    """DefaultAzureCredential: environment, workload identity (OIDC in CI), managed identity, Azure CLI, ...

    The configured tenant is preferred by every credential of the chain that takes one.
    """
    from azure.identity import DefaultAzureCredential

    tenant = settings.tenant_id
    if not tenant:
        return DefaultAzureCredential()
    return DefaultAzureCredential(
        workload_identity_tenant_id=tenant,
        shared_cache_tenant_id=tenant,
        visual_studio_code_tenant_id=tenant,
        interactive_browser_tenant_id=tenant,
        broker_tenant_id=tenant,
    )


def shared_credential(ctx: CollectContext) -> TokenCredential:
    """One credential for the whole scan: it caches its tokens, and the scopes run in parallel (it is thread-safe)."""
    assert ctx.azure_credential_factory is not None
    with ctx.shared.lock:
        credential = ctx.shared.memo.get("azure-credential")
        if credential is None:
            credential = ctx.shared.memo["azure-credential"] = ctx.azure_credential_factory()
        return credential  # type: ignore[no-any-return]


class AzureSession:
    """One scope's credential and SDK clients, built lazily with the scope's retry and counting policies; closing
    the session closes their connections."""

    def __init__(self, ctx: CollectContext, subscription_id: str = "") -> None:
        if ctx.azure_credential_factory is None:
            raise UsageError("Azure collection needs credentials: give --azure or --azure-subscription")
        self.ctx = ctx
        self.subscription_id = subscription_id
        self.credential = shared_credential(ctx)
        self._readers: dict[SdkClient, RawReader] = {}
        self._clients: list[Any] = []

    def __enter__(self) -> AzureSession:
        return self

    def __exit__(self, *_: object) -> None:
        for client in self._clients:
            client.close()

    def options(self) -> dict[str, Any]:
        return pipeline_options(self.ctx.settings.azure, self.ctx.stats, self.ctx.azure_transport_factory)

    def arm(self, sdk: SdkClient) -> RawReader:
        if sdk not in self._readers:
            client_class = getattr(importlib.import_module(sdk.module), sdk.name)
            arguments: tuple[Any, ...] = (
                (self.credential, self.subscription_id) if sdk.per_subscription else (self.credential,)
            )
            client = client_class(*arguments, **self.options())
            self._clients.append(client)
            self._readers[sdk] = arm_reader(client)
        return self._readers[sdk]

    def graph(self) -> RawReader:
        reader = graph_reader(self.credential, self.options())
        self._clients.append(reader.client)
        return reader


def _unreachable(exc: Exception) -> CollectorError:
    """No token, or no connection: every other request of the scope would fail alike."""
    log.debug("Azure credentials or network failed", exc_info=exc)
    lines = str(exc).strip().splitlines()
    first_line = lines[0] if lines else type(exc).__name__
    if isinstance(exc, ClientAuthenticationError):
        return CollectorError(
            f"Azure credentials: {first_line} (log in with `az login`, or set AZURE_CLIENT_ID and AZURE_TENANT_ID "
            "with a federated token file or a certificate; -vv lists every credential tried)"
        )
    return CollectorError(f"Azure network: {type(exc).__name__}: {first_line}")


# -- subscriptions (scopes) ----------------------------------------------------------------------------------------


def get_subscriptions(session: AzureSession) -> list[RawObject]:
    return session.arm(SUBSCRIPTIONS).list("/subscriptions", {"api-version": SUBSCRIPTIONS_API})


def subscription_scopes(ctx: CollectContext) -> list[Scope]:
    """The configured subscriptions (by id or display name), or every enabled subscription the credential sees."""
    try:
        with AzureSession(ctx) as session:
            visible = get_subscriptions(session)
    except UNREACHABLE as exc:
        raise _unreachable(exc) from None
    except ApiError as exc:
        raise CollectorError(f"Azure subscriptions could not be listed: {exc}") from None
    by_key: dict[str, RawObject] = {}
    for subscription in visible:
        by_key[str(subscription.get("subscriptionId", "")).lower()] = subscription
        by_key.setdefault(str(subscription.get("displayName", "")).lower(), subscription)
    configured = ctx.settings.azure.subscriptions
    if not configured:
        active = [s for s in visible if str(s.get("state", "")).lower() not in INACTIVE_SUBSCRIPTION_STATES]
        if not active:
            raise CollectorError("the Azure credential sees no enabled subscription (give --azure-subscription ID)")
        return [_scope(s) for s in active]
    scopes = []
    for wanted in configured:
        found = by_key.get(wanted.lower())
        # One the credential does not list is still a scope: reading it fails alone, with the reason.
        scopes.append(_scope(found) if found else Scope(key=wanted.lower(), label=wanted))
    return scopes


def _scope(subscription: RawObject) -> Scope:
    key = str(subscription["subscriptionId"]).lower()
    return Scope(key=key, label=str(subscription.get("displayName") or key))


# -- one subscription ----------------------------------------------------------------------------------------------


def read_subscription(ctx: CollectContext, scope: Scope) -> AzureSnapshot:
    """Everything the transform needs of one subscription, as raw ARM JSON; raises CollectorError when unreadable."""
    snapshot = AzureSnapshot(subscription_id=scope.key, source="live")
    try:
        with AzureSession(ctx, scope.key) as session:
            _read_into(snapshot, ctx, session, scope)
    except UNREACHABLE as exc:
        raise _unreachable(exc) from None
    if snapshot.sign_ins_unavailable:
        snapshot.issues.append(
            IssueRecord(
                subject_uid=None,
                source=f"Microsoft Graph {SIGN_INS_PATH}",
                problem=f"usage unknown: {snapshot.sign_ins_unavailable}",
                severity="warning",
            )
        )
    return snapshot


def _read_into(snapshot: AzureSnapshot, ctx: CollectContext, session: AzureSession, scope: Scope) -> None:
    snapshot.subscription = get_subscription(session, scope)
    reader = _PartReader(snapshot, scope, ctx.settings.azure.max_concurrency)

    def read_list(part: str, listed: ProviderList) -> list[RawObject]:
        return reader.read(part, listed.permission, lambda: get_provider_list(session, scope.key, listed), [])

    snapshot.role_definitions = read_list("role_definitions", ROLE_DEFINITIONS)
    snapshot.role_assignments = read_list("role_assignments", ROLE_ASSIGNMENTS)
    snapshot.deny_assignments = read_list("deny_assignments", DENY_ASSIGNMENTS)
    snapshot.user_assigned_identities = read_list("user_assigned_identities", USER_ASSIGNED_IDENTITIES)
    federated = reader.read_each(
        [str(identity["id"]) for identity in snapshot.user_assigned_identities],
        "federated_credentials",
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
        lambda identity_id: get_federated_credentials(session, identity_id),
    )
    snapshot.federated_credentials = {identity_id.lower(): found for identity_id, found in federated.items()}
    snapshot.resources = get_resources(session, reader, scope.key)
    tenant = str(snapshot.subscription.get("tenantId") or ctx.settings.azure.tenant_id or "")
    snapshot.sign_ins, snapshot.sign_ins_unavailable = tenant_sign_ins(ctx, session, tenant)


def get_subscription(session: AzureSession, scope: Scope) -> RawObject:
    try:
        subscription = session.arm(SUBSCRIPTIONS).get(f"/subscriptions/{scope.key}", {"api-version": SUBSCRIPTIONS_API})
    except ApiError as exc:
        raise CollectorError(
            f"subscription {scope.label} ({scope.key}) cannot be read: {exc} "
            "(the credential needs Reader, or at least Microsoft.Resources/subscriptions/read, on it)"
        ) from None
    return dict(subscription)


class _PartReader:
    """Reads one part of a snapshot; an API error leaves the part not evaluated, with an error issue."""

    def __init__(self, snapshot: AzureSnapshot, scope: Scope, max_concurrency: int) -> None:
        self.snapshot = snapshot
        self.scope = scope
        self.max_concurrency = max_concurrency

    def read_each(
        self, parents: list[str], part: str, permission: str, get: Callable[[str], list[RawObject]]
    ) -> dict[str, list[RawObject]]:
        """One list per parent resource (the SDK clients are thread-safe), a few at a time: with hundreds of
        identities one after another, the round trips would dominate the scan. A parent that fails is left out."""
        if not parents:
            return {}
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="azure-read") as pool:
            outcomes = list(pool.map(lambda parent: self._attempt(get, parent), parents))
        found = {}
        for parent, outcome in zip(parents, outcomes, strict=True):
            if isinstance(outcome, ApiError):
                self.not_evaluated(f"{part}:{parent}", permission, outcome)
            else:
                found[parent] = outcome
        return found

    @staticmethod
    def _attempt(get: Callable[[str], list[RawObject]], parent: str) -> list[RawObject] | ApiError:
        try:
            return get(parent)
        except ApiError as exc:  # recorded by the caller's thread, in the parents' order
            return exc

    def read(self, part: str, permission: str, get: Callable[[], T], default: T) -> T:
        try:
            return get()
        except ApiError as exc:
            self.not_evaluated(part, permission, exc)
            return default

    def not_evaluated(self, part: str, permission: str, exc: ApiError) -> None:
        where = f"subscription {self.scope.label} ({self.scope.key})"
        # ARM's 403 message repeats the client and the scope: its code and the permission needed say it all.
        reason = f"denied (HTTP 403 {exc.code}); needs {permission}" if exc.denied else f"could not be read ({exc})"
        self.snapshot.not_evaluated[part] = reason
        self.snapshot.issues.append(
            IssueRecord(
                subject_uid=None, source=f"azure {where} {part}", problem=f"{part} not evaluated in {where}: {reason}"
            )
        )


def get_provider_list(session: AzureSession, subscription_id: str, listed: ProviderList) -> list[RawObject]:
    """One type's objects in a subscription, raw; role assignments this way: at, above and below the subscription."""
    return session.arm(listed.client).list(
        f"/subscriptions/{subscription_id}/providers/{listed.arm_type}", {"api-version": listed.api_version}
    )


def get_federated_credentials(session: AzureSession, identity_id: str) -> list[RawObject]:
    """Issuer, subject and audiences of each federated identity credential of one user-assigned identity."""
    return session.arm(MSI).list(f"{identity_id}/federatedIdentityCredentials", {"api-version": MSI_API})


def get_resources(session: AzureSession, reader: _PartReader, subscription_id: str) -> list[RawObject]:
    """Resources with an identity (generic list), and every resource of the agent-relevant types, in full."""
    generic = reader.read(
        "resources",
        "Microsoft.Resources/subscriptions/resources/read",
        lambda: session.arm(RESOURCES).list(
            f"/subscriptions/{subscription_id}/resources",
            {"api-version": RESOURCES_API, "$expand": "createdTime,changedTime"},
        ),
        None,
    )
    present = {str(r.get("type", "")).lower() for r in generic} if generic is not None else None
    resources = [
        r for r in generic or [] if _has_identity(r) and str(r.get("type", "")).lower() not in _TYPES_READ_DIRECTLY
    ]
    for resource_type in RESOURCE_TYPES:
        if present is not None and resource_type.arm_type.lower() not in present:
            continue
        listed = reader.read(
            resource_type.arm_type,
            resource_type.permission,
            lambda resource_type=resource_type: get_provider_list(session, subscription_id, resource_type),
            [],
        )
        resources.extend(listed)
        for child in resource_type.children:
            children = reader.read_each(
                [str(parent["id"]) for parent in listed],
                f"{resource_type.arm_type}/{child}",
                f"{resource_type.arm_type}/{child}/read",
                lambda parent_id, child=child, resource_type=resource_type: session.arm(resource_type.client).list(
                    f"{parent_id}/{child}", {"api-version": resource_type.api_version}
                ),
            )
            resources.extend(item for found in children.values() for item in found)
    return resources


def _has_identity(resource: RawObject) -> bool:
    identity = resource.get("identity")
    return isinstance(identity, dict) and str(identity.get("type", "None")).lower() != "none"


# -- usage (Microsoft Graph, tenant-wide) ---------------------------------------------------------------------------


def tenant_sign_ins(
    ctx: CollectContext, session: AzureSession, tenant_id: str
) -> tuple[dict[str, RawObject] | None, str | None]:
    """Sign-in activity per service principal, keyed by app id (lower-case); read once per tenant per scan.

    Returns (activities, None), or (None, why): a denial or a missing licence means usage is unknown, never unused.
    """
    key = f"azure-sign-ins:{tenant_id}"
    with ctx.shared.lock:
        if key not in ctx.shared.memo:
            ctx.shared.memo[key] = get_sign_ins(session)
        result: tuple[dict[str, RawObject] | None, str | None] = ctx.shared.memo[key]
        return result


def get_sign_ins(session: AzureSession) -> tuple[dict[str, RawObject] | None, str | None]:
    try:
        activities = session.graph().list(SIGN_INS_PATH)
    except ClientAuthenticationError as exc:  # no Graph token for this credential: usage unknown, ARM still read
        return None, f"no Microsoft Graph token ({type(exc).__name__}); needs {SIGN_INS_PERMISSION}"
    except ApiError as exc:
        need = f"; needs {SIGN_INS_PERMISSION}" if exc.status in (401, 403) else ""
        log.info("sign-in activity could not be read: %s", exc)
        return None, f"service principal sign-in activity could not be read ({exc}){need}"
    return {str(a["appId"]).lower(): a for a in activities if a.get("appId")}, None
