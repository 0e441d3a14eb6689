"""`agentiam demo`: the whole pipeline on the bundled estate, and what that estate must show (see its README)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agentiam.cli import cli

GOLDEN = Path(__file__).parents[1] / "golden" / "demo-findings.json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(cli, ["demo", "-o", str(folder)])
    assert result.exit_code == 0, result.stderr
    assert "Open findings" in result.stderr
    return folder, json.loads((folder / "findings.json").read_text())


def _findings(report: Any, name: str) -> dict[str, str]:
    return {f["rule_id"]: f["severity"] for f in report["findings"] if f["subject"]["name"] == name}


def test_demo_writes_the_inventory_and_every_report(demo: tuple[Path, Any]) -> None:
    folder, report = demo
    assert {p.name for p in folder.iterdir()} >= {"agentiam.db", "report.html", "findings.csv", "findings.json"}
    assert report["scan"]["status"] == "complete"
    assert "<!DOCTYPE html>" in (folder / "report.html").read_text()


def test_demo_is_repeatable_in_the_same_folder(demo: tuple[Path, Any]) -> None:
    folder, _ = demo
    again = CliRunner().invoke(cli, ["demo", "-o", str(folder)])
    assert again.exit_code == 0
    assert json.loads((folder / "findings.json").read_text())["scan"]["id"] == 1  # a fresh inventory each time


def test_agents_are_classified_with_evidence(demo: tuple[Path, Any]) -> None:
    _, report = demo
    agents = {i["name"]: i["agent_evidence"] for i in report["identities"] if i["is_agent"]}
    assert agents["bedrock-agent-support-assistant"] == [
        {"reason": "trusted-by-agent-service", "detail": "bedrock.amazonaws.com"}
    ]
    assert agents["AmazonBedrockAgentCoreRuntime-triage"][0]["detail"] == "bedrock-agentcore.amazonaws.com"
    assert {"agent-devops-bot", "agent-invoice-reader", "research-agent-sandbox"} <= set(agents)


def test_broad_grants_are_reported(demo: tuple[Path, Any]) -> None:
    _, report = demo
    assert _findings(report, "OrganizationAccountAccessRole")["AWS-IAM-001"] == "critical"
    assert _findings(report, "agent-devops-bot")["AWS-IAM-002"] == "critical"  # iam:*, raised for an agent
    assert "AWS-IAM-002" in _findings(report, "data-lake-etl")
    assert "AWS-IAM-003" in _findings(report, "analytics-poweruser")
    assert "AWS-IAM-003" in _findings(report, "sandbox-developer")


def test_grants_cancelled_by_a_deny_or_capped_by_a_boundary_are_not_reported(demo: tuple[Path, Any]) -> None:
    _, report = demo
    assert not {"AWS-IAM-002", "AWS-IAM-004"} & set(_findings(report, "legacy-reporting-quarantined"))
    assert not {"AWS-IAM-001", "AWS-IAM-002", "AWS-IAM-004"} & set(_findings(report, "billing-exporter"))
    assert "AWS-IAM-001" not in _findings(report, "contractor-sandbox")
    assert _findings(report, "reports-bucket-reader") == {}
    assert "northwind-old-admin-helper" not in json.dumps(report["findings"])


def test_a_conditional_grant_is_reported_one_step_lower(demo: tuple[Path, Any]) -> None:
    _, report = demo
    assert _findings(report, "iam-operator-mfa")["AWS-IAM-002"] == "medium"


def test_bad_input_is_reported_and_everything_else_analysed(demo: tuple[Path, Any]) -> None:
    _, report = demo
    assert "AWS-IAM-090" in _findings(report, "marketing-sync-broken")
    assert _findings(report, "legacy-codestar-pipeline").get("AWS-IAM-091") == "info"


def _reviewable(report: Any) -> Any:
    """What the demo concludes, without what changes with the installed catalogue (action counts in messages) or
    the clock: the findings' rule, severity, subject and fingerprint, and who is an agent and why."""
    return {
        "scan_status": report["scan"]["status"],
        "findings": sorted(
            [f["rule_id"], f["severity"], f["status"], f["subject"]["name"], f["fingerprint"]]
            for f in report["findings"]
        ),
        "agents": sorted([i["name"], i["agent_evidence"]] for i in report["identities"] if i["is_agent"]),
        "identities": len(report["identities"]),
    }


def test_the_demo_report_matches_the_reviewed_golden_file(demo: tuple[Path, Any]) -> None:
    """Any change in what the demo concludes shows up as a diff of tests/golden/demo-findings.json.

    Regenerate with AGENTIAM_UPDATE_GOLDEN=1 and review the diff before committing it.
    """
    _, report = demo
    current = _reviewable(report)
    if os.environ.get("AGENTIAM_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(current, indent=1) + "\n")
    assert current == json.loads(GOLDEN.read_text())
