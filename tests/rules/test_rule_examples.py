"""Every rule has passing and failing examples (tests/rules/examples/<RULE>/{pass,fail}/*.json), the Checkov way.

Each example is one role, `example-role`, and what surrounds it. It goes through the real pipeline: offline import,
the store, the permission engine and the rules. Keys of an example:

- `description` (required) and `policies` (required): the role's inline policy documents;
- `boundary`: a permission-boundary document; `tags`: the role's tags;
- `trust`: the role's trust policy document (default: trusted by lambda.amazonaws.com);
- `path`, `created_days_ago`, `last_used_days_ago`: the role's path, age and last use, relative to today (a role is
  used yesterday unless it says otherwise; `"last_used_days_ago": null` means no recorded use);
- `other_roles`: more roles in the account, each `{"name", "policies", ...}` with the same optional keys;
- `users`, `groups`, `managed_policies`: raw UserDetailList / GroupDetailList / Policies entries;
- `exports`: further export documents imported in the same scan (for example `aws lambda list-functions`);
- `access_keys`: `{user name: [{"status", "created_days_ago", "last_used_days_ago", "service"}]}`, access keys as
  the live IAM collector records them (no offline export carries keys); `status` defaults to `Active`;
- `workloads`: `[{"name", "identity", "kind", "mechanism", "agent"}]`, functions bound to a role or user by name
  (`kind` defaults to `lambda_function`, `mechanism` to `lambda_exec_role`);
- `service_last_accessed`: `{service namespace: last authenticated}` for `example-role`, as IAM's service
  last-accessed report gives it (the live collector's usage row): an ISO date, a number of days ago, or null for
  "not accessed in the tracking period";
- `subject`: the identity or workload name the expectation is about (default `example-role`);
- `expect` (fail examples): `severity`, `message` (a substring), `conditional`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentiam.collectors.aws.iam import transform_access_keys
from agentiam.collectors.aws.last_accessed import transform_service_last_accessed
from agentiam.inventory.records import AnyRecord
from tests.conftest import Scanner, authorization_details, bound_workload, managed_policy, role

EXAMPLES = Path(__file__).parent / "examples"


def _examples(outcome: str) -> list[Any]:
    return [
        pytest.param(path.parent.parent.name, json.loads(path.read_text()), id=f"{path.parent.parent.name}-{path.stem}")
        for path in sorted(EXAMPLES.glob(f"*/{outcome}/*.json"))
        if not path.parent.parent.name.startswith("AZURE-")  # test_azure_rule_examples.py writes those as az exports
    ]


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _role_for(name: str, spec: dict[str, Any], policies: list[dict[str, Any]]) -> dict[str, Any]:
    boundary_arn = None
    if "boundary" in spec:
        boundary = managed_policy(f"{name}-boundary", spec["boundary"])
        policies.append(boundary)
        boundary_arn = boundary["Arn"]
    entry = role(name, spec.get("policies", []), tags=spec.get("tags"), boundary=boundary_arn)
    if "trust" in spec:
        entry["AssumeRolePolicyDocument"] = spec["trust"]
    if "path" in spec:
        entry["Path"] = spec["path"]
        entry["Arn"] = entry["Arn"].replace(f"role/{name}", f"role{spec['path']}{name}")
    if "created_days_ago" in spec:
        entry["CreateDate"] = _days_ago(spec["created_days_ago"])
    if "last_used_days_ago" in spec:
        days = spec["last_used_days_ago"]
        entry["RoleLastUsed"] = {} if days is None else {"LastUsedDate": _days_ago(days), "Region": "us-east-1"}
    return entry


def _document_for(example: dict[str, Any]) -> dict[str, Any]:
    policies = list(example.get("managed_policies", []))
    roles = [_role_for("example-role", example, policies)]
    roles += [_role_for(other["name"], other, policies) for other in example.get("other_roles", [])]
    return authorization_details(roles, policies, users=example.get("users"), groups=example.get("groups"))


def _access_key(user: str, position: int, spec: dict[str, Any]) -> dict[str, Any]:
    """One key as the live collector reads it: ListAccessKeys metadata plus GetAccessKeyLastUsed."""
    last_used: dict[str, Any] = {"ServiceName": spec.get("service", "N/A"), "Region": "us-east-1"}
    if "last_used_days_ago" in spec:
        last_used["LastUsedDate"] = _days_ago(spec["last_used_days_ago"])
    return {
        "UserName": user,
        "AccessKeyId": f"AKIA{user.upper()[:10]:X<10}{position:06d}",
        "Status": spec.get("status", "Active"),
        "CreateDate": _days_ago(spec.get("created_days_ago", 0)),
        "LastUsed": last_used,
    }


def _records_for(example: dict[str, Any], document: dict[str, Any]) -> list[AnyRecord]:
    arns = {u["UserName"]: u["Arn"] for u in document["UserDetailList"]}
    arns |= {r["RoleName"]: r["Arn"] for r in document["RoleDetailList"]}
    records: list[AnyRecord] = []
    for user, keys in example.get("access_keys", {}).items():
        records += transform_access_keys(arns[user], [_access_key(user, i, k) for i, k in enumerate(keys)])
    for workload in example.get("workloads", []):
        records += bound_workload(
            workload["name"],
            f"aws:{arns[workload['identity']]}",
            kind=workload.get("kind", "lambda_function"),
            mechanism=workload.get("mechanism", "lambda_exec_role"),
            is_agent=workload.get("agent", False),
        )
    if "service_last_accessed" in example:
        services = [
            {"ServiceNamespace": namespace, "LastAuthenticated": _days_ago(last) if isinstance(last, int) else last}
            for namespace, last in example["service_last_accessed"].items()
        ]
        report = {"JobStatus": "COMPLETED", "ServicesLastAccessed": services}
        records.append(transform_service_last_accessed(f"aws:{arns['example-role']}", report, datetime.now(UTC)))
    return records


def _scan(example: dict[str, Any], scan_document: Scanner) -> Any:
    document = _document_for(example)
    return scan_document(document, *example.get("exports", []), records=_records_for(example, document))


def test_every_rule_has_passing_and_failing_examples(plugins: Any) -> None:
    for rule_id, found in plugins.rules.items():
        if found.meta.provider == "kubernetes":
            continue  # YAML manifests, checked by test_k8s_rule_examples.py
        assert list((EXAMPLES / rule_id / "fail").glob("*.json")), f"{rule_id} has no failing example"
        assert list((EXAMPLES / rule_id / "pass").glob("*.json")), f"{rule_id} has no passing example"


@pytest.mark.parametrize(("rule_id", "example"), _examples("fail"))
def test_failing_example_is_reported(rule_id: str, example: dict[str, Any], scan_document: Scanner) -> None:
    report = _scan(example, scan_document)
    subject = example.get("subject", "example-role")
    hits = [f for f in report.findings if f.rule_id == rule_id and f.subject_name == subject]
    assert hits, f"{example['description']}: expected {rule_id}"
    expect = example.get("expect", {})
    if "severity" in expect:
        assert hits[0].severity == expect["severity"], hits[0].evidence["severity_steps"]
    if "message" in expect:
        assert expect["message"] in hits[0].message
    if expect.get("conditional"):
        steps = " ".join(hits[0].evidence["severity_steps"])
        assert "conditions" in steps
        assert '"conditional": true' in json.dumps(hits[0].evidence)


@pytest.mark.parametrize(("rule_id", "example"), _examples("pass"))
def test_passing_example_is_not_reported(rule_id: str, example: dict[str, Any], scan_document: Scanner) -> None:
    report = _scan(example, scan_document)
    subject = example.get("subject", "example-role")
    hits = [f for f in report.findings if f.rule_id == rule_id and f.subject_name == subject]
    assert not hits, f"{example['description']}: unexpected {[h.message for h in hits]}"


def test_service_linked_roles_are_not_audited(scan_document: Scanner) -> None:
    linked = role(
        "AWSServiceRoleForExample",
        [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    )
    linked["Path"] = "/aws-service-role/example.amazonaws.com/"
    report = scan_document(authorization_details([linked]))
    assert [i.name for i in report.identities] == ["AWSServiceRoleForExample"]  # inventoried...
    assert report.findings == []  # ...but AWS owns its policies


def test_rule_parameters_can_be_overridden_in_settings(scan_document: Scanner, settings: Any) -> None:
    settings.rules["AWS-IAM-005"] = {"ignore_actions": []}
    logs = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
    report = scan_document(authorization_details([role("logger", [logs])]))
    assert [f.rule_id for f in report.findings] == ["AWS-IAM-005"]
