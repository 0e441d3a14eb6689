"""Findings across scans: new, persisting, resolved, with stable fingerprints; a failed scope resolves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentiam.config import Settings
from agentiam.findings.engine import apply_lifecycle, fingerprint, grade, shift
from agentiam.findings.registry import Hit
from agentiam.inventory.store import Store
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from tests.conftest import Scanner, authorization_details, role

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
S3_ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _statuses(report: Any) -> dict[tuple[str, str], str]:
    return {(f.rule_id, f.subject_name): f.status for f in report.findings}


def test_a_finding_is_new_then_persisting_then_resolved_when_fixed(scan_document: Scanner) -> None:
    first = scan_document(authorization_details([role("admin", [ADMIN]), role("storage", [S3_ADMIN])]))
    assert _statuses(first)[("AWS-IAM-001", "admin")] == "new"

    second = scan_document(authorization_details([role("admin", [ADMIN]), role("storage", [S3_ADMIN])]))
    assert _statuses(second)[("AWS-IAM-001", "admin")] == "persisting"
    persisting = next(f for f in second.findings if f.rule_id == "AWS-IAM-001")
    original = next(f for f in first.findings if f.rule_id == "AWS-IAM-001")
    assert persisting.fingerprint == original.fingerprint
    assert persisting.first_seen_at == original.first_seen_at

    third = scan_document(authorization_details([role("admin", []), role("storage", [S3_ADMIN])]))
    assert _statuses(third)[("AWS-IAM-001", "admin")] == "resolved"
    assert _statuses(third)[("AWS-IAM-002", "storage")] == "persisting"
    assert all(f.rule_id != "AWS-IAM-001" for f in third.open_findings)


def test_findings_of_a_scope_that_failed_are_carried_not_resolved(
    tmp_path: Path, settings: Settings, plugins: Plugins, scan_document: Scanner
) -> None:
    first = scan_document(authorization_details([role("admin", [ADMIN])]))
    assert first.open_findings
    store = Store.open(settings.db)
    # A second scan whose only collector run for the account failed (e.g. AccessDenied).
    scan_id = store.begin_scan("test", {})
    run_id = store.begin_collector_run(scan_id, "aws-iam", "aws", "123456789012", "live")
    store.fail_collector_run(run_id, "iam:GetAccountAuthorizationDetails: AccessDenied")
    assert store.finish_scan(scan_id) == "failed"
    from agentiam.pipeline import analyze_scan

    analyze_scan(store, scan_id, settings, plugins)
    second = load_report_data(store, scan_id)
    assert {f.fingerprint for f in second.open_findings} == {f.fingerprint for f in first.open_findings}
    assert all(f.status == "persisting" for f in second.findings)


def test_fingerprints_depend_only_on_rule_subject_and_key() -> None:
    assert fingerprint("R1", "aws:a", "s3") == fingerprint("R1", "aws:a", "s3")
    assert (
        len(
            {
                fingerprint("R1", "aws:a", "s3"),
                fingerprint("R1", "aws:a", "iam"),
                fingerprint("R2", "aws:a", "s3"),
                fingerprint("R1", "aws:b", "s3"),
            }
        )
        == 4
    )


def test_severity_steps_are_explained() -> None:
    agent = {"is_agent": True, "agent_evidence": [{"reason": "agent-tag", "detail": "ai-agent=true"}]}
    severity, steps = grade("high", agent, Hit(subject_uid="x", message="m", conditional=True))
    assert severity == "high"
    assert steps[0] == "base severity high"
    assert "raised to critical" in steps[1] and "ai-agent=true" in steps[1]
    assert "lowered to high" in steps[2] and "conditions" in steps[2]


def test_severity_shifts_stop_at_the_ends() -> None:
    assert shift("critical", +1) == "critical"
    assert shift("info", -1) == "info"
    assert shift("medium", +1) == "high"


def test_lifecycle_resolves_only_scopes_that_completed() -> None:
    previous = [
        {
            "fingerprint": "a",
            "status": "new",
            "collector": "aws-iam",
            "scope": "1",
            "first_seen_at": 0,
            "first_seen_scan_id": 1,
        },
        {
            "fingerprint": "b",
            "status": "new",
            "collector": "aws-iam",
            "scope": "2",
            "first_seen_at": 0,
            "first_seen_scan_id": 1,
        },
        {
            "fingerprint": "c",
            "status": "resolved",
            "collector": "aws-iam",
            "scope": "1",
            "first_seen_at": 0,
            "first_seen_scan_id": 1,
        },
    ]
    rows = apply_lifecycle([], previous, {("aws-iam", "1")}, scan_id=2)
    assert {r["fingerprint"]: r["status"] for r in rows} == {"a": "resolved", "b": "persisting"}
