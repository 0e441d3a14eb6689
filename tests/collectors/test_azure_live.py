"""Live Azure reading: the real azure-mgmt clients and azure-core pipelines against the replay transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentiam.collectors.azure import live
from agentiam.collectors.azure.collector import AzureCollector
from agentiam.collectors.base import CollectContext, Scope
from agentiam.config import Settings, load_settings
from agentiam.errors import CollectorError
from tests.fakes.azure_replay import (
    FIXTURES,
    GRAPH_FORBIDDEN,
    Estate,
    FakeCredential,
    ReplayTransport,
    rest_role_definition,
)

PROD = "11111111-1111-4111-8111-111111111111"
SANDBOX = "22222222-2222-4222-8222-222222222222"
PROD_SCOPE = Scope(key=PROD, label="contoso-agents-prod")
SUB = f"/subscriptions/{PROD}"
ASSIGNMENTS = f"{SUB}/providers/Microsoft.Authorization/roleAssignments"
SIGN_INS = "/beta/reports/servicePrincipalSignInActivities"


@pytest.fixture
def transport() -> ReplayTransport:
    return ReplayTransport(Estate.from_file(FIXTURES / "estate.json"), page_size=3)


def context(transport: ReplayTransport, settings: Settings | None = None) -> CollectContext:
    return CollectContext(
        settings=settings or load_settings(None, {}, environ={}),
        azure_credential_factory=FakeCredential,
        azure_transport_factory=lambda: transport,
    )


def test_live_collection_is_requested_only_when_the_cli_hands_in_a_credential(transport: ReplayTransport) -> None:
    assert AzureCollector().live_requested(context(transport))
    assert not AzureCollector().live_requested(CollectContext(settings=load_settings(None, {}, environ={})))


def test_every_enabled_subscription_the_credential_sees_is_a_scope_named_by_its_display_name(
    transport: ReplayTransport,
) -> None:
    scopes = live.subscription_scopes(context(transport))

    assert scopes == [Scope(PROD, "contoso-agents-prod"), Scope(SANDBOX, "contoso-sandbox")]


def test_configured_subscriptions_are_found_by_id_or_display_name_and_an_unlisted_one_is_still_a_scope(
    transport: ReplayTransport,
) -> None:
    settings = load_settings(
        None, {"azure": {"subscriptions": ["CONTOSO-SANDBOX", "33333333-3333-4333-8333-333333333333"]}}, environ={}
    )

    scopes = live.subscription_scopes(context(transport, settings))

    assert scopes == [
        Scope(SANDBOX, "contoso-sandbox"),
        Scope("33333333-3333-4333-8333-333333333333", "33333333-3333-4333-8333-333333333333"),
    ]


def test_a_subscription_is_read_whole_following_absolute_next_links(transport: ReplayTransport) -> None:
    ctx = context(transport)

    snapshot = live.read_subscription(ctx, PROD_SCOPE)

    assert snapshot.subscription["displayName"] == "contoso-agents-prod"
    assert snapshot.subscription["tags"] == {"environment": "production"}
    assert len(snapshot.role_definitions) == 7
    assert len(snapshot.role_assignments) == 7  # 3 pages of 3
    assert transport.requests.count(f"GET {ASSIGNMENTS}") == 3
    # Inherited from the root and a management group, as well as at the subscription, a resource group and a resource.
    scopes = {a["properties"]["scope"] for a in snapshot.role_assignments}
    assert "/" in scopes and "/providers/Microsoft.Management/managementGroups/contoso-platform" in scopes
    assert any("/resourceGroups/" in s and "/providers/" in s for s in scopes)
    assert [d["properties"]["denyAssignmentName"] for d in snapshot.deny_assignments] == [
        "Deny assignment 'agents-stack' created by Deployment Stack"
    ]
    [identity] = snapshot.user_assigned_identities
    credentials = snapshot.federated_credentials[identity["id"].lower()]
    assert {c["properties"]["issuer"] for c in credentials} >= {"https://token.actions.githubusercontent.com"}
    assert all(c["properties"]["audiences"] == ["api://AzureADTokenExchange"] for c in credentials)
    assert snapshot.not_evaluated == {} and snapshot.issues == []
    assert ctx.stats.api_calls == len(transport.requests) and ctx.stats.throttled == 0


def test_resources_are_those_with_an_identity_plus_every_agent_type_read_in_full(transport: ReplayTransport) -> None:
    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    by_type = {r["type"]: r for r in snapshot.resources}
    assert sorted(by_type) == [
        "Microsoft.App/containerApps",
        "Microsoft.App/jobs",
        "Microsoft.Automation/automationAccounts",  # only in the generic list, kept for its identity
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.CognitiveServices/accounts/projects",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.Web/sites",
    ]
    assert len(snapshot.resources) == 9  # a function app and a logic app; no storage account or key vault
    # Full properties, which the generic list leaves out.
    assert by_type["Microsoft.CognitiveServices/accounts"]["properties"]["disableLocalAuth"] is False
    aks = by_type["Microsoft.ContainerService/managedClusters"]
    assert aks["properties"]["oidcIssuerProfile"]["issuerURL"].startswith("https://eastus.oic.prod-aks.azure.com/")
    kinds = sorted(r.get("kind", "") for r in snapshot.resources if r["type"] == "Microsoft.Web/sites")
    assert kinds == ["functionapp,linux", "functionapp,workflowapp"]


def test_a_resource_type_absent_from_the_generic_list_is_never_asked_for(transport: ReplayTransport) -> None:
    live.read_subscription(context(transport), Scope(SANDBOX, "contoso-sandbox"))

    assert not [r for r in transport.requests if f"/subscriptions/{SANDBOX}/providers/Microsoft.Web" in r]


def test_a_throttled_list_is_retried_after_the_time_retry_after_asks_and_counted(transport: ReplayTransport) -> None:
    transport.throttle(ASSIGNMENTS, times=2, retry_after=7)
    ctx = context(transport)

    snapshot = live.read_subscription(ctx, PROD_SCOPE)

    assert len(snapshot.role_assignments) == 7
    assert transport.sleeps == [7, 7]
    assert ctx.stats.throttled == 2
    assert ctx.stats.api_calls == len(transport.requests) - 2  # a call is counted once, however often it is retried


def test_throttling_beyond_the_configured_attempts_leaves_the_part_not_evaluated(transport: ReplayTransport) -> None:
    transport.throttle(ASSIGNMENTS, times=5, retry_after=1)
    settings = load_settings(None, {"azure": {"max_attempts": 3}}, environ={})

    snapshot = live.read_subscription(context(transport, settings), PROD_SCOPE)

    assert snapshot.role_assignments == []
    assert "HTTP 429" in snapshot.not_evaluated["role_assignments"]
    assert [i.severity for i in snapshot.issues] == ["error"]


def test_a_denied_resource_type_is_not_evaluated_with_an_error_naming_it_and_the_permission(
    transport: ReplayTransport,
) -> None:
    transport.deny(f"{SUB}/providers/Microsoft.App/jobs")

    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    assert "Microsoft.App/jobs/read" in snapshot.not_evaluated["Microsoft.App/jobs"]
    [issue] = snapshot.issues
    assert issue.severity == "error"
    assert "Microsoft.App/jobs" in issue.problem and PROD in issue.problem and "contoso-agents-prod" in issue.problem
    assert "needs Microsoft.App/jobs/read" in issue.problem and "AuthorizationFailed" in issue.problem
    # Everything else is still read.
    assert {r["type"] for r in snapshot.resources} >= {"Microsoft.App/containerApps", "Microsoft.Web/sites"}
    assert len(snapshot.role_assignments) == 7


def test_denied_role_assignments_are_not_evaluated_while_identities_are_still_read(transport: ReplayTransport) -> None:
    transport.deny(ASSIGNMENTS)

    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    assert "Microsoft.Authorization/roleAssignments/read" in snapshot.not_evaluated["role_assignments"]
    assert snapshot.user_assigned_identities and snapshot.role_definitions


def test_when_the_generic_resources_list_is_denied_every_agent_type_is_read_directly(
    transport: ReplayTransport,
) -> None:
    transport.deny(f"{SUB}/resources")

    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    assert "resources" in snapshot.not_evaluated
    assert "Microsoft.Automation/automationAccounts" not in {r["type"] for r in snapshot.resources}
    assert {r["type"] for r in snapshot.resources} >= {"Microsoft.Web/sites", "Microsoft.Compute/virtualMachines"}


def test_a_subscription_that_cannot_be_read_fails_its_scope_with_a_clear_message(transport: ReplayTransport) -> None:
    transport.deny(SUB)

    with pytest.raises(CollectorError, match=r"subscription contoso-agents-prod \(1111.*\) cannot be read: HTTP 403"):
        live.read_subscription(context(transport), PROD_SCOPE)


def test_sign_in_activity_is_keyed_by_lower_case_app_id_and_read_once_per_tenant(transport: ReplayTransport) -> None:
    ctx = context(transport)

    first = live.read_subscription(ctx, PROD_SCOPE)
    second = live.read_subscription(ctx.for_scope(), Scope(SANDBOX, "contoso-sandbox"))

    assert first.sign_ins is not None and "a1c4e7f0-3b6d-4a9c-8e1f-4d7a0b3c6e92" in first.sign_ins
    assert second.sign_ins == first.sign_ins
    assert transport.requests.count(f"GET {SIGN_INS}") == 1


def test_sign_ins_denied_by_graph_leave_usage_unknown_with_a_warning_not_an_error(transport: ReplayTransport) -> None:
    transport.deny(SIGN_INS, GRAPH_FORBIDDEN)

    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    assert snapshot.sign_ins is None
    assert snapshot.sign_ins_unavailable and "AuditLog.Read.All" in snapshot.sign_ins_unavailable
    assert "NonPremium" in snapshot.sign_ins_unavailable
    assert [i.severity for i in snapshot.issues] == ["warning"]
    assert snapshot.not_evaluated == {}


def test_graph_is_asked_with_the_graph_scope_and_arm_with_the_management_scope(transport: ReplayTransport) -> None:
    credential = FakeCredential()
    ctx = context(transport)
    ctx.azure_credential_factory = lambda: credential

    live.read_subscription(ctx, PROD_SCOPE)

    assert set(credential.scopes) == {"https://management.azure.com/.default", "https://graph.microsoft.com/.default"}


def test_plain_http_never_reaches_the_transport() -> None:
    from azure.core.exceptions import ServiceRequestError

    from agentiam.collectors.azure.arm import RawReader, graph_reader

    reader = graph_reader(FakeCredential(), {"per_call_policies": [], "per_retry_policies": [], "user_agent": "t"})
    plain = RawReader(reader.client, "http://graph.microsoft.com")
    with pytest.raises(ServiceRequestError, match=r"[Bb]earer token authentication is not permitted for non-TLS"):
        plain.get("http://graph.microsoft.com/beta/reports/servicePrincipalSignInActivities")


@pytest.mark.corpus
def test_every_real_built_in_role_definition_pages_through(corpora: Path, transport: ReplayTransport) -> None:
    roles = [json.loads(p.read_text()) for p in sorted((corpora / "azure" / "builtin-roles").glob("*.json"))]
    transport.estate.add_collection(
        f"{SUB}/providers/Microsoft.Authorization/roleDefinitions", [rest_role_definition(r, PROD) for r in roles]
    )
    transport.page_size = 100

    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    assert len(snapshot.role_definitions) == len(roles) > 900
    names = {d["properties"]["roleName"] for d in snapshot.role_definitions}
    assert {"Owner", "Contributor", "User Access Administrator", "Azure AI Developer"} <= names


def test_one_credential_serves_every_scope_of_a_scan(transport: ReplayTransport) -> None:
    made: list[FakeCredential] = []
    ctx = context(transport)
    ctx.azure_credential_factory = lambda: made.append(FakeCredential()) or made[-1]

    live.subscription_scopes(ctx)
    live.read_subscription(ctx.for_scope(), PROD_SCOPE)
    live.read_subscription(ctx.for_scope(), Scope(SANDBOX, "contoso-sandbox"))

    assert len(made) == 1


def test_an_answer_that_is_not_json_leaves_its_part_not_evaluated(transport: ReplayTransport) -> None:
    transport.answer(f"{SUB}/providers/Microsoft.Web/sites", 200, b"<html>upstream gateway error</html>")

    snapshot = live.read_subscription(context(transport), PROD_SCOPE)

    assert "InvalidJson" in snapshot.not_evaluated["Microsoft.Web/sites"]
    assert "Microsoft.Web/sites" in snapshot.issues[0].problem


class NoCredential:
    """What DefaultAzureCredential does when nothing in its chain is configured."""

    def get_token(self, *scopes: str, **_: object) -> None:
        from azure.identity import CredentialUnavailableError

        raise CredentialUnavailableError(
            "DefaultAzureCredential failed to retrieve a token.\nEnvironmentCredential: ..."
        )


def test_credentials_that_give_no_token_fail_the_scope_with_a_hint_and_no_traceback(
    transport: ReplayTransport,
) -> None:
    ctx = context(transport)
    ctx.azure_credential_factory = NoCredential

    with pytest.raises(CollectorError, match=r"Azure credentials: DefaultAzureCredential failed .*az login"):
        live.subscription_scopes(ctx)
    with pytest.raises(CollectorError, match="Azure credentials"):
        live.read_subscription(ctx, PROD_SCOPE)
    assert transport.requests == []
