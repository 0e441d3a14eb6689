"""`agentiam scan --azure` end to end: the CLI, DefaultAzureCredential's place taken by a fake credential, the real
SDK clients and pipelines, the replay transport where azure-core's requests transport would be, the store, the
rules and the reports."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli
from tests.fakes.azure_replay import FIXTURES, Estate, FakeCredential, ReplayTransport

PROD = "11111111-1111-4111-8111-111111111111"
SANDBOX = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> ReplayTransport:
    """The two boundaries with the outside: the credential chain and the HTTP transport."""
    transport = ReplayTransport(Estate.from_file(FIXTURES / "estate.json"), page_size=4)
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **_: FakeCredential())
    monkeypatch.setattr("azure.core.pipeline.transport._requests_basic.RequestsTransport", lambda **_: transport)
    return transport


def test_a_live_azure_scan_inventories_every_subscription_and_its_agent_identities(
    run: Cli, azure: ReplayTransport
) -> None:
    result = run("scan", "--azure", "--output-dir", str(run.tmp_path / "reports"), "--report-format", "json")

    assert result.exit_code == 0, result.stderr
    report = json.loads((run.tmp_path / "reports" / "findings.json").read_text())
    runs = {(r["collector"], r["scope"]): r for r in report["scan"]["collector_runs"]}
    assert {runs[("azure", PROD)]["status"], runs[("azure", SANDBOX)]["status"]} == {"complete"}
    assert runs[("azure", PROD)]["api_calls"] > 10
    identities = json.loads(run("inventory", "identities", "--json").stdout)
    names = {i["name"] for i in identities if i["uid"].startswith("azure:")}
    assert {"id-support-agent", "func-support-agent", "ai-contoso-agents/support-agents"} <= names
    # Owner on the subscription, held by the AKS cluster's identity, is found by the Azure rules.
    assert any(f["subject"]["name"] == "aks-agents" for f in report["findings"])


def test_a_subscription_that_refuses_fails_alone_and_the_scan_is_partial(run: Cli, azure: ReplayTransport) -> None:
    azure.deny(f"/subscriptions/{SANDBOX}")

    result = run("scan", "--azure-subscription", PROD, "--azure-subscription", "contoso-sandbox")

    assert result.exit_code == 3
    assert "contoso-sandbox" in result.stderr and "cannot be read: HTTP 403" in result.stderr
    identities = json.loads(run("inventory", "identities", "--json").stdout)
    assert "id-support-agent" in {i["name"] for i in identities}


def test_a_denied_resource_type_makes_the_scan_partial_and_is_reported(run: Cli, azure: ReplayTransport) -> None:
    azure.deny(f"/subscriptions/{PROD}/providers/Microsoft.App/jobs")

    reports = str(run.tmp_path / "r")
    result = run("scan", "--azure-subscription", PROD, "--output-dir", reports, "--report-format", "json")

    assert result.exit_code == 3
    report = json.loads((run.tmp_path / "r" / "findings.json").read_text())
    problems = [issue["problem"] for issue in report["issues"]]
    assert any("Microsoft.App/jobs" in p and "needs Microsoft.App/jobs/read" in p for p in problems), problems
