"""Links across planes: aliases resolved after collection, agent status carried along chains of bindings, and
findings that say which pods use a cloud role and which cloud permissions a pod reaches."""

from __future__ import annotations

from typing import Any

from agentiam.config import Settings
from agentiam.inventory import views
from agentiam.inventory.records import AnyRecord, BindingRecord, IdentityRecord, WorkloadRecord
from agentiam.inventory.store import Store
from agentiam.pipeline import analyze_scan, link_agents
from agentiam.plugins import Plugins
from agentiam.reports.model import ReportData
from tests.collectors import kube_manifests as k
from tests.conftest import ACCOUNT, ADMIN, LOGS, Scanner, authorization_details, role

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/agent-irsa"


def _export(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """`kubectl get ... -A -o json`: one List whose items carry kind and apiVersion."""
    return {"apiVersion": "v1", "kind": "List", "items": manifests, "metadata": {"resourceVersion": ""}}


def _cluster_with_irsa() -> dict[str, Any]:
    return _export(k.small_cluster({"eks.amazonaws.com/role-arn": ROLE_ARN}))


def _findings(report: ReportData, rule_id: str) -> dict[str, Any]:
    return {f.subject_uid: f for f in report.findings if f.rule_id == rule_id}


def test_an_irsa_role_becomes_an_agents_role_through_the_pod_and_its_service_account(scan_document: Scanner) -> None:
    report = scan_document(
        authorization_details([role("agent-irsa", [ADMIN]), role("unrelated", [ADMIN])]), _cluster_with_irsa()
    )
    identities = {i.uid: i for i in report.identities}
    irsa = identities[f"aws:{ROLE_ARN}"]
    assert irsa.is_agent
    (evidence,) = [e for e in irsa.agent_evidence if e["reason"] == "runs-agent-workload"]
    assert evidence["detail"].startswith("k8s_pod ")
    assert "agent-0 (k8s_sa) -> k8s_service_account " in evidence["detail"]
    assert evidence["detail"].endswith("agent-sa (irsa)")
    assert not identities[f"aws:arn:aws:iam::{ACCOUNT}:role/unrelated"].is_agent


def test_a_cloud_finding_on_a_linked_role_names_the_pods_that_use_it(scan_document: Scanner) -> None:
    report = scan_document(authorization_details([role("agent-irsa", [ADMIN])]), _cluster_with_irsa())
    admin = _findings(report, "AWS-IAM-001")[f"aws:{ROLE_ARN}"]
    users = {u["kind"]: u for u in admin.evidence["used_by"]["entries"]}
    assert set(users) == {"k8s_pod", "k8s_service_account"}
    assert users["k8s_pod"]["uid"].endswith(":pod:agents/agent-0")
    assert users["k8s_pod"]["via"].endswith("(irsa) -> aws_role agent-irsa")
    assert "raised" in " ".join(admin.evidence["severity_steps"])  # an agent's role ranks higher


def test_a_finding_on_a_service_account_shows_the_cloud_permissions_it_reaches(scan_document: Scanner) -> None:
    report = scan_document(authorization_details([role("agent-irsa", [ADMIN])]), _cluster_with_irsa())
    on_account = [
        f
        for f in report.findings
        if f.subject_uid.endswith(":serviceaccount:agents/agent-sa") and "reaches" in f.evidence
    ]
    assert on_account, "the service account that reads secrets cluster-wide has a finding"
    (reached,) = on_account[0].evidence["reaches"]["entries"]
    assert reached["uid"] == f"aws:{ROLE_ARN}" and reached["provider"] == "aws"
    assert reached["admin"] is True
    assert "AWS-IAM-001" in {w["rule_id"] for w in reached["worst"]}
    assert reached["via"].endswith("(irsa) -> aws_role agent-irsa")


def test_findings_off_any_chain_carry_no_reach(scan_document: Scanner) -> None:
    report = scan_document(authorization_details([role("logger", [LOGS]), role("admin", [ADMIN])]))
    assert all("used_by" not in f.evidence and "reaches" not in f.evidence for f in report.findings)


def _scan_with_records(settings: Settings, plugins: Plugins, records: list[AnyRecord]) -> tuple[Store, int]:
    """A scan whose records come from a collector run, linked and analysed the way `scan` does it."""
    store = Store.open(settings.db)
    scan_id = store.begin_scan("test", {})
    run_id = store.begin_collector_run(scan_id, "test-records", "kubernetes", "prod", "test")
    store.complete_collector_run(scan_id, run_id, records)
    link_agents(store, scan_id)
    store.finish_scan(scan_id)
    analyze_scan(store, scan_id, settings, plugins)
    return store, scan_id


def test_a_binding_to_an_alias_is_pointed_at_the_identity_that_answers_to_it(
    settings: Settings, plugins: Plugins
) -> None:
    pod, account = "kubernetes:prod:pod:agents/agent-0", "kubernetes:prod:serviceaccount:agents/agent-sa"
    azure = "azure:5c2f0000-0000-0000-0000-00000000abcd"
    records: list[AnyRecord] = [
        WorkloadRecord(
            uid=pod, provider="kubernetes", workload_kind="k8s_pod", name="agents/agent-0", scope="prod", is_agent=True
        ),
        IdentityRecord(
            uid=account,
            provider="kubernetes",
            identity_kind="k8s_service_account",
            name="agents/agent-sa",
            native_id="agents/agent-sa",
            scope="prod",
        ),
        IdentityRecord(
            uid=azure,
            provider="azure",
            identity_kind="azure_user_assigned_identity",
            name="agent-mi",
            native_id="/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/agent-mi",
            scope="s",
            attributes={"aliases": ["azure:client-id:0f0f0000-aaaa-bbbb-cccc-000000000001"]},
        ),
        BindingRecord(workload_uid=pod, identity_uid=account, mechanism="k8s_sa"),
        BindingRecord(
            workload_uid=account,
            identity_uid="azure:client-id:0f0f0000-aaaa-bbbb-cccc-000000000001",
            mechanism="azure_workload_identity",
        ),
        BindingRecord(
            workload_uid=account, identity_uid="gcp:agent@project.iam.gserviceaccount.com", mechanism="k8s_sa"
        ),
    ]
    store, scan_id = _scan_with_records(settings, plugins, records)
    with store.read() as conn:
        bindings = {(b.workload_uid, b.identity_uid): b for b in views.bindings(conn, scan_id).itertuples()}
        identities = {i.uid: i for i in views.identities(conn, scan_id).itertuples()}
    linked = bindings[(account, azure)]
    assert linked.attributes["resolved_aliases"] == {
        "identity_uid": "azure:client-id:0f0f0000-aaaa-bbbb-cccc-000000000001"
    }
    assert (account, "gcp:agent@project.iam.gserviceaccount.com") in bindings  # unresolved, kept as it is
    assert identities[account].is_agent and identities[azure].is_agent
    assert identities[azure].agent_evidence == [
        {
            "reason": "runs-agent-workload",
            "detail": "k8s_pod agents/agent-0 (k8s_sa) -> "
            "k8s_service_account agents/agent-sa (azure_workload_identity)",
        }
    ]
