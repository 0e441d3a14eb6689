"""AWS-HYG-002 on the binding table: one identity that several workloads run as.

The workloads and bindings are written into the scan as records, the way the Lambda and agent-runtime collectors
write them, beside the roles of an authorization-details export (an example reads them from a real
`aws lambda list-functions` export: tests/rules/examples/AWS-HYG-002).
"""

from __future__ import annotations

from typing import Any

from agentiam.config import Settings
from agentiam.inventory.records import BindingRecord
from tests.conftest import ACCOUNT, Scanner, authorization_details, bound_workload, role

READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def role_uid(name: str) -> str:
    return f"aws:arn:aws:iam::{ACCOUNT}:role/{name}"


def shared(report: Any) -> dict[str, Any]:
    return {f.subject_name: f for f in report.findings if f.rule_id == "AWS-HYG-002"}


def test_a_role_that_three_functions_run_as_is_reported_once_with_every_workload(scan_document: Scanner) -> None:
    records = [
        r for name in ("orders-sync", "refunds", "emails") for r in bound_workload(name, role_uid("shared-exec"))
    ]
    report = scan_document(authorization_details([role("shared-exec", [READ])]), records=records)
    finding = shared(report)["shared-exec"]
    assert finding.message == "shared-exec is shared by 3 workloads: emails, orders-sync, refunds"
    assert [w["name"] for w in finding.evidence["workloads"]] == ["emails", "orders-sync", "refunds"]
    assert {w["mechanism"] for w in finding.evidence["workloads"]} == {"lambda_exec_role"}


def test_agents_among_the_workloads_are_named_and_an_agent_identity_is_graded_up(scan_document: Scanner) -> None:
    agent_role = role("support-runtime", [READ], trust_service="bedrock.amazonaws.com")
    records = [
        *bound_workload(
            "support-agent",
            role_uid("support-runtime"),
            kind="bedrock_agent",
            mechanism="bedrock_service_role",
            is_agent=True,
        ),
        *bound_workload("order-lookup", role_uid("support-runtime")),
    ]
    finding = shared(scan_document(authorization_details([agent_role]), records=records))["support-runtime"]
    assert "(1 of them agents)" in finding.message
    assert finding.severity == "high"  # medium, raised: the role is an agent's
    assert [w["is_agent"] for w in finding.evidence["workloads"]] == [False, True]


def test_one_workload_per_role_and_the_same_workload_bound_twice_are_not_shared(scan_document: Scanner) -> None:
    roles = [role("orders-exec", [READ]), role("refunds-exec", [READ])]
    refunds = bound_workload("refunds", role_uid("refunds-exec"))
    records = [
        *bound_workload("orders-sync", role_uid("orders-exec")),
        *refunds,
        refunds[1],  # the same binding recorded twice (two collectors saw it) is one workload, not two
    ]
    assert shared(scan_document(authorization_details(roles), records=records)) == {}


def test_bindings_to_roles_outside_the_inventory_or_owned_by_aws_are_ignored(scan_document: Scanner) -> None:
    linked = role("AWSServiceRoleForLambdaReplicator", [READ])
    linked["Path"] = "/aws-service-role/replicator.lambda.amazonaws.com/"
    linked["Arn"] = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/replicator.lambda.amazonaws.com/{linked['RoleName']}"
    records = [
        *bound_workload("a", role_uid("deleted-role")),
        *bound_workload("b", role_uid("deleted-role")),
        *bound_workload("edge-1", f"aws:{linked['Arn']}"),
        *bound_workload("edge-2", f"aws:{linked['Arn']}"),
    ]
    assert shared(scan_document(authorization_details([linked]), records=records)) == {}


def test_a_binding_to_a_workload_no_collector_returned_still_counts(scan_document: Scanner) -> None:
    """The Lambda scope of one region may fail while another binds the role: the workload is named by its uid."""
    records = [
        *bound_workload("orders-sync", role_uid("shared-exec")),
        BindingRecord(workload_uid="aws:unlisted", identity_uid=role_uid("shared-exec"), mechanism="lambda_exec_role"),
    ]
    finding = shared(scan_document(authorization_details([role("shared-exec", [READ])]), records=records))
    assert [w["name"] for w in finding["shared-exec"].evidence["workloads"]] == ["orders-sync", "aws:unlisted"]


def test_the_number_of_workloads_allowed_per_identity_is_a_parameter(
    scan_document: Scanner, settings: Settings
) -> None:
    settings.rules["AWS-HYG-002"] = {"max_workloads": 2}
    records = [
        *bound_workload("orders-sync", role_uid("shared-exec")),
        *bound_workload("refunds", role_uid("shared-exec")),
    ]
    assert shared(scan_document(authorization_details([role("shared-exec", [READ])]), records=records)) == {}
