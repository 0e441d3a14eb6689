"""What the loader gathers for the HTML report from a real inventory: agent workloads with the identities they run
as, and what changed since the previous analysed scan."""

from __future__ import annotations

from agentiam.reports.agent_chains import agent_chains
from agentiam.reports.html_report import HtmlReporter
from tests.conftest import ACCOUNT, ADMIN, LOGS, Scanner, authorization_details, bound_workload, role

ROLE_UID = f"aws:arn:aws:iam::{ACCOUNT}:role/"


def test_the_first_scan_has_no_changes_to_show(scan_document: Scanner) -> None:
    data = scan_document(authorization_details([role("worker", [LOGS])]))

    assert data.changes is None


def test_a_later_scan_carries_new_and_removed_identities_agents_and_grants(scan_document: Scanner) -> None:
    scan_document(authorization_details([role("worker", [LOGS]), role("old", [LOGS])]))
    data = scan_document(
        authorization_details(
            [role("worker", [LOGS, ADMIN]), role("helper", [LOGS], tags={"ai-agent": "true"})],
        )
    )

    assert data.changes is not None
    assert data.changes.from_scan == 1
    assert [i["name"] for i in data.changes.new_identities] == ["helper"]
    assert [i["name"] for i in data.changes.removed_identities] == ["old"]
    assert [a["name"] for a in data.changes.new_agents] == ["helper"]
    assert [(g["identity_uid"], g["policy_name"]) for g in data.changes.granted] == [(ROLE_UID + "worker", "policy1")]
    assert "Changes since scan #1" in HtmlReporter().render(data)


def test_agent_workloads_are_loaded_with_the_identities_they_run_as(scan_document: Scanner) -> None:
    data = scan_document(
        authorization_details([role("bot-role", [ADMIN]), role("plain", [LOGS])]),
        records=bound_workload("support-bot", ROLE_UID + "bot-role", kind="bedrock_agent", is_agent=True),
    )

    [workload] = data.workloads
    assert (workload.name, workload.workload_kind, workload.is_agent) == ("support-bot", "bedrock_agent", True)
    assert workload.runs_as == [{"identity_uid": ROLE_UID + "bot-role", "mechanism": "lambda_exec_role"}]
    [chain] = agent_chains(data)
    assert chain.name == "support-bot" and chain.is_workload
    [reach] = chain.identities
    assert (reach.name, reach.mechanism, reach.is_admin) == ("bot-role", "lambda_exec_role", True)
    assert reach.open_findings == len([f for f in data.open_findings if f.subject_name == "bot-role"])
