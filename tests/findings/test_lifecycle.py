"""Findings across scans: new, persisting, resolved, reopened; stable fingerprints; a failed scope resolves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentiam.config import Settings
from agentiam.findings.engine import apply_lifecycle, fingerprint, grade, shift
from agentiam.findings.registry import Hit
from agentiam.inventory.store import Store
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from tests.conftest import ADMIN, Scanner, authorization_details, role

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


def test_a_finding_back_after_its_fix_is_reopened_with_its_original_first_seen(scan_document: Scanner) -> None:
    first = scan_document(authorization_details([role("admin", [ADMIN])]))
    original = next(f for f in first.findings if f.rule_id == "AWS-IAM-001")
    fixed = scan_document(authorization_details([role("admin", [])]))
    assert _statuses(fixed)[("AWS-IAM-001", "admin")] == "resolved"

    broken_again = scan_document(authorization_details([role("admin", [ADMIN])]))
    reopened = next(f for f in broken_again.findings if f.rule_id == "AWS-IAM-001")
    assert reopened.status == "reopened"
    assert reopened.fingerprint == original.fingerprint
    assert reopened.first_seen_at == original.first_seen_at
    assert reopened in broken_again.open_findings
    assert broken_again.status_counts()["reopened"] == 1

    still_broken = scan_document(authorization_details([role("admin", [ADMIN])]))
    assert _statuses(still_broken)[("AWS-IAM-001", "admin")] == "persisting"


def test_a_finding_absent_for_several_scans_is_still_reopened(scan_document: Scanner) -> None:
    """Once resolved, a finding leaves the next scans' rows: its history is found in any earlier scan."""
    first = scan_document(authorization_details([role("admin", [ADMIN])]))
    scan_document(authorization_details([role("admin", [])]))
    scan_document(authorization_details([role("admin", [])]))
    back = scan_document(authorization_details([role("admin", [ADMIN])]))
    finding = next(f for f in back.findings if f.rule_id == "AWS-IAM-001")
    assert finding.status == "reopened"
    assert finding.first_seen_at == next(f for f in first.findings if f.rule_id == "AWS-IAM-001").first_seen_at


def _row(fp: str, status: str = "new", first_seen_scan_id: int = 1) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "status": status,
        "collector": "aws-iam",
        "scope": "1",
        "first_seen_at": first_seen_scan_id,
        "first_seen_scan_id": first_seen_scan_id,
    }


def test_lifecycle_reopens_what_earlier_scans_saw_and_leaves_new_and_persisting_alone() -> None:
    previous = [_row("open", "persisting"), _row("fixed", "resolved")]
    sightings = {"open": _row("open"), "fixed": _row("fixed"), "long-gone": _row("long-gone")}
    current = [_row(fp, first_seen_scan_id=4) for fp in ("open", "fixed", "long-gone", "brand-new")]
    rows = {r["fingerprint"]: r for r in apply_lifecycle(current, previous, {("aws-iam", "1")}, 4, sightings)}
    assert {fp: r["status"] for fp, r in rows.items()} == {
        "open": "persisting",
        "fixed": "reopened",
        "long-gone": "reopened",
        "brand-new": "new",
    }
    assert {fp: r["first_seen_scan_id"] for fp, r in rows.items()} == {
        "open": 1,
        "fixed": 1,
        "long-gone": 1,
        "brand-new": 4,
    }
