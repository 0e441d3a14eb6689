"""Every rule has passing and failing examples (tests/rules/examples/<RULE>/{pass,fail}/*.json), the Checkov way.

Each example is one role's policies (plus optional boundary and tags). It goes through the real pipeline: offline
import of an authorization-details document, the store, the permission engine and the rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Scanner, authorization_details, managed_policy, role

EXAMPLES = Path(__file__).parent / "examples"


def _examples(outcome: str) -> list[Any]:
    return [
        pytest.param(path.parent.parent.name, json.loads(path.read_text()), id=f"{path.parent.parent.name}-{path.stem}")
        for path in sorted(EXAMPLES.glob(f"*/{outcome}/*.json"))
    ]


def _document_for(example: dict[str, Any]) -> dict[str, Any]:
    policies = []
    boundary_arn = None
    if "boundary" in example:
        boundary = managed_policy("example-boundary", example["boundary"])
        policies.append(boundary)
        boundary_arn = boundary["Arn"]
    subject = role("example-role", example["policies"], tags=example.get("tags"), boundary=boundary_arn)
    return authorization_details([subject], policies)


def test_every_rule_has_passing_and_failing_examples(plugins: Any) -> None:
    for rule_id in plugins.rules:
        assert list((EXAMPLES / rule_id / "fail").glob("*.json")), f"{rule_id} has no failing example"
        assert list((EXAMPLES / rule_id / "pass").glob("*.json")), f"{rule_id} has no passing example"


@pytest.mark.parametrize(("rule_id", "example"), _examples("fail"))
def test_failing_example_is_reported(rule_id: str, example: dict[str, Any], scan_document: Scanner) -> None:
    report = scan_document(_document_for(example))
    hits = [f for f in report.findings if f.rule_id == rule_id and f.subject_name == "example-role"]
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
    report = scan_document(_document_for(example))
    hits = [f for f in report.findings if f.rule_id == rule_id]
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
