"""Access reviews: `review export` writes one row per identity and grant, `review import` reads decisions back.

An approval is an exception that suppresses the row's findings (every report says so, the gate ignores them) until
it expires; a revocation the next scan still finds is overdue; a file with any bad row is refused whole.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agentiam.config import Settings
from agentiam.findings.policy.catalogue import default_catalogue
from agentiam.findings.privilege import document_privilege, grant_privilege
from agentiam.inventory import views
from agentiam.inventory.records import GrantRecord, PolicyRecord
from agentiam.inventory.store import Store
from agentiam.reports.access_review import REVIEW_COLUMNS
from agentiam.reports.loader import load_report_data
from tests.conftest import ACCOUNT, ADMIN, LOGS, Cli, Scanner, authorization_details, managed_policy, role

TODAY = datetime.now(UTC).date()
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData", "ec2:DescribeInstances"], "Resource": "*"}
    ],
}


def arn_uid(name: str) -> str:
    return f"aws:arn:aws:iam::{ACCOUNT}:role/{name}"


def unused(entry: dict[str, Any], days: int = 200) -> dict[str, Any]:
    """A role nobody has used: no last use, created `days` ago."""
    entry = {**entry, "CreateDate": (datetime.now(UTC) - timedelta(days=days)).isoformat()}
    entry.pop("RoleLastUsed")
    return entry


def estate(*, with_admin: bool = True) -> dict[str, Any]:
    roles = [role("logger", [LOGS]), unused(role("forgotten", [READ_ONLY]))]
    if with_admin:
        roles.insert(0, role("agent-admin", [ADMIN, LOGS], tags={"ai-agent": "true", "owner": "ml-team"}))
    return authorization_details(roles)


def export(run: Cli, name: str = "review.csv") -> tuple[Path, list[dict[str, str]]]:
    path = run.tmp_path / name
    result = run("review", "export", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path, list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def decide(path: Path, rows: list[dict[str, str]], decisions: dict[tuple[str, str], dict[str, str]]) -> None:
    """Fill in decisions for rows keyed by (identity name, policy name), as a reviewer in a spreadsheet would."""
    for row in rows:
        row.update(decisions.get((row["identity_name"], row["policy_name"]), {}))
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=REVIEW_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def approve(expires: date, reviewer: str = "alice@example.com") -> dict[str, str]:
    return {
        "decision": "approve",
        "reviewer": reviewer,
        "reviewed_at": TODAY.isoformat(),
        "justification": "break-glass role, monitored",
        "expires": expires.isoformat(),
    }


def revoke() -> dict[str, str]:
    return {"decision": "revoke", "reviewer": "bob", "reviewed_at": "", "justification": "not needed", "expires": ""}


def test_export_has_one_row_per_identity_and_grant_with_privilege_usage_risk_and_a_recommendation(
    scan_document: Scanner, run: Cli
) -> None:
    data = scan_document(estate())
    _, rows = export(run)

    assert list(rows[0]) == list(REVIEW_COLUMNS)
    by_grant = {(r["identity_name"], r["policy_name"]): r for r in rows}
    assert set(by_grant) == {
        ("agent-admin", "policy0"),
        ("agent-admin", "policy1"),
        ("forgotten", "policy0"),
        ("logger", "policy0"),
    }
    admin = by_grant["agent-admin", "policy0"]
    assert admin["identity_uid"] == arn_uid("agent-admin") and admin["is_agent"] == "true"
    assert admin["owner"] == "ml-team" and admin["provider"] == "aws" and admin["identity_kind"] == "aws_role"
    assert admin["grant_kind"] == "permission" and admin["grant_source"] == "inline"
    assert admin["policy_ref"] == f"arn:aws:iam::{ACCOUNT}:role/agent-admin/inline/policy0"
    assert admin["privilege"] == "admin"
    assert admin["last_used_source"] == "iam:RoleLastUsed" and admin["last_used_at"].startswith(str(TODAY.year))
    assert admin["risk"] == "critical"
    assert admin["recommendation"] == "reduce" and "admin access" in admin["recommendation_reason"]
    admin_findings = {f.fingerprint for f in data.findings if f.subject_uid == arn_uid("agent-admin")}
    assert set(admin["finding_ids"].split()) <= admin_findings and admin["finding_ids"]
    # The logging grant of the same role is not what makes it an administrator: its findings name other policies.
    logs_grant = by_grant["agent-admin", "policy1"]
    assert logs_grant["privilege"] == "write"
    assert not set(logs_grant["finding_ids"].split()) & {
        f.fingerprint for f in data.findings if f.rule_id == "AWS-IAM-001"
    }
    forgotten = by_grant["forgotten", "policy0"]
    assert forgotten["privilege"] == "read" and forgotten["last_used_at"] == ""
    assert forgotten["recommendation"] == "revoke" and forgotten["recommendation_reason"].startswith(
        "unused for 200 days"
    )
    logger = by_grant["logger", "policy0"]
    assert (logger["privilege"], logger["risk"], logger["recommendation"]) == ("write", "none", "keep")
    assert all(r[c] == "" for r in rows for c in ("decision", "reviewer", "reviewed_at", "justification", "expires"))


def test_report_format_review_csv_is_the_same_file_as_review_export(scan_document: Scanner, run: Cli) -> None:
    scan_document(estate())
    path, _ = export(run)
    report = run("report", "--format", "review-csv")
    assert report.exit_code == 0, report.output
    assert report.stdout.encode() == path.read_bytes()


def test_approval_suppresses_the_rows_findings_in_every_report_and_the_gate_passes(
    scan_document: Scanner, run: Cli
) -> None:
    scan_document(estate())
    assert run("gate", "--fail-on", "high").exit_code == 1
    path, rows = export(run)
    expires = TODAY + timedelta(days=30)
    decide(path, rows, {("agent-admin", "policy0"): approve(expires)})

    imported = run("review", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert "recorded 1 approve" in imported.stderr

    accepted = set(
        next(r for r in rows if r["policy_name"] == "policy0" and r["identity_name"] == "agent-admin")[
            "finding_ids"
        ].split()
    )
    findings = json.loads(run("report", "--format", "json").stdout)["findings"]
    suppressed = {f["fingerprint"]: f["suppression"] for f in findings if f["suppressed"]}
    assert set(suppressed) == accepted
    assert all(
        s["kind"] == "exception" and s["owner"] == "alice@example.com" and s["expires"] == expires.isoformat()
        for s in suppressed.values()
    )
    assert all(f["suppression"] is None for f in findings if f["fingerprint"] not in accepted)

    sarif = json.loads(run("report", "--format", "sarif").stdout)
    results = {r["partialFingerprints"]["agentiamFingerprint/v1"]: r for r in sarif["runs"][0]["results"]}
    for fingerprint in accepted:
        (entry,) = results[fingerprint]["suppressions"]
        assert entry["kind"] == "external" and entry["status"] == "accepted"
        assert "break-glass role, monitored" in entry["justification"]
    assert all("suppressions" not in r for fp, r in results.items() if fp not in accepted)

    events = json.loads(run("report", "--format", "ocsf").stdout)
    statuses = {e["finding_info"]["uid"]: (e["status_id"], e["status"]) for e in events}
    assert all(statuses[fp] == (3, "Suppressed") for fp in accepted)

    table = list(csv.DictReader(io.StringIO(run("report", "--format", "csv").stdout)))
    marked = {r["fingerprint"]: r for r in table if r["suppressed"] == "true"}
    assert set(marked) == accepted
    assert {(r["suppression_kind"], r["suppression_owner"]) for r in marked.values()} == {
        ("exception", "alice@example.com")
    }

    gate = run("gate", "--fail-on", "high")
    assert gate.exit_code == 0, gate.output
    assert "suppressed" in gate.stderr


def test_an_expired_exception_stops_suppressing_and_says_so(
    scan_document: Scanner, run: Cli, settings: Settings
) -> None:
    data = scan_document(estate())
    path, rows = export(run)
    expires = TODAY + timedelta(days=10)
    decide(path, rows, {("agent-admin", "policy0"): approve(expires)})
    assert run("review", "import", str(path)).exit_code == 0

    store = Store.open(settings.db)
    assert any(f.suppressed for f in load_report_data(store, data.scan.id, today=expires).findings)
    later = load_report_data(store, data.scan.id, today=expires + timedelta(days=1))
    assert not any(f.suppressed for f in later.findings)
    (warning,) = later.issues
    assert warning.severity == "warning" and "expired on" in warning.problem
    assert warning.source == f"{path} line 2"


def test_a_revocation_is_overdue_while_the_grant_is_still_there_and_not_once_it_is_gone(
    scan_document: Scanner, run: Cli
) -> None:
    scan_document(estate())
    path, rows = export(run)
    decide(path, rows, {("agent-admin", "policy0"): revoke()})
    assert run("review", "import", str(path)).exit_code == 0
    # Not overdue in the scan the review was made on: nobody has had a chance to act yet.
    assert json.loads(run("report", "--format", "json").stdout)["overdue_revocations"] == []

    scan_document(estate())
    document = json.loads(run("report", "--format", "json").stdout)
    (overdue,) = document["overdue_revocations"]
    assert overdue["identity"] == {"uid": arn_uid("agent-admin"), "name": "agent-admin"}
    assert overdue["grant"]["policy_name"] == "policy0" and overdue["reviewer"] == "bob"
    assert overdue["decided_in_scan"] == 1 and document["summary"]["overdue_revocations"] == 1
    table = list(csv.DictReader(io.StringIO(run("report", "--format", "csv").stdout)))
    assert [(r["rule_id"], r["status"], r["subject_name"]) for r in table if r["status"] == "overdue"] == [
        ("REVIEW-OVERDUE", "overdue", "agent-admin")
    ]
    # An overdue revocation is something to do, not a finding: the gate does not count it.
    gate = run("gate", "--fail-on", "high")
    assert "overdue" not in gate.stdout

    scan_document(estate(with_admin=False))
    assert json.loads(run("report", "--format", "json").stdout)["overdue_revocations"] == []


def test_a_file_with_bad_rows_is_refused_whole_with_every_problem_by_line(
    scan_document: Scanner, run: Cli, settings: Settings
) -> None:
    scan_document(estate())
    path, rows = export(run)
    rows[0].update(approve(TODAY + timedelta(days=5)))  # a good row: still not applied, since others are bad
    rows[1].update({**approve(TODAY + timedelta(days=5)), "decision": "maybe"})
    rows[2].update({**approve(TODAY - timedelta(days=1)), "justification": " "})
    rows[3].update({**approve(TODAY + timedelta(days=400)), "reviewed_at": "last tuesday"})
    unknown = {**rows[0], **revoke(), "identity_uid": arn_uid("no-such-role")}
    decide(path, [*rows, unknown], {})

    result = run("review", "import", str(path))

    assert result.exit_code == 2
    message = result.stderr
    assert "nothing was imported" in message
    assert f"{path} line 3: decision 'maybe' is not one of approve, revoke, keep, reduce" in message
    assert f"{path} line 4: justification is empty" in message
    assert f"{path} line 4: expires {TODAY - timedelta(days=1)} is in the past" in message
    assert f"{path} line 5: reviewed_at 'last tuesday' is not a date" in message
    assert f"{path} line 5: expires {TODAY + timedelta(days=400)} is more than 90 days away" in message
    assert f"{path} line 6: unknown row" in message and "no-such-role" in message
    assert f"{path} line 2:" not in message
    with Store.open(settings.db).read() as conn:
        assert views.review_decisions(conn).empty


def test_an_approval_without_an_expiry_is_refused(scan_document: Scanner, run: Cli) -> None:
    scan_document(estate())
    path, rows = export(run)
    decide(path, rows, {("logger", "policy0"): {**approve(TODAY), "expires": ""}})

    result = run("review", "import", str(path))

    assert result.exit_code == 2
    assert "an approval needs an expiry date" in result.stderr


def test_hostile_cells_are_neutralised_on_export_and_still_match_on_import(scan_document: Scanner, run: Cli) -> None:
    hyperlink, at_formula, minus = '=HYPERLINK("http://x","y")', "@SUM(1)", "-2+3"
    policy = PolicyRecord(provider="kubernetes", policy_kind="k8s_role", document={"rules": []})
    grant = GrantRecord(
        identity_uid=arn_uid("logger"),
        policy_hash=policy.hash,
        policy_name=hyperlink,
        policy_ref=at_formula,
        policy_source="rolebinding",
        grant_kind="role_binding",
        via=hyperlink,
        scope=minus,
    )
    scan_document(authorization_details([role("logger", [LOGS])]), records=[policy, grant])
    path, _ = export(run)
    raw = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header = raw[0]
    (hostile,) = [dict(zip(header, r, strict=True)) for r in raw[1:] if r[header.index("grant_kind")] == "role_binding"]
    assert hostile["policy_name"] == "'" + hyperlink and hostile["grant_via"] == "'" + hyperlink
    assert hostile["policy_ref"] == "'" + at_formula and hostile["grant_scope"] == "'" + minus
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in raw for cell in row)

    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    decide(path, rows, {("logger", "'" + hyperlink): revoke()})
    result = run("review", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "recorded 1 revoke" in result.stderr


def test_kubernetes_and_azure_grants_get_a_privilege_from_their_role() -> None:
    catalogue = default_catalogue()
    cluster_admin = {"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    pod_reader = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}
    binder = [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}]
    owner = {"properties": {"permissions": [{"actions": ["*"], "notActions": []}]}}
    reader = {"permissions": [{"actions": ["*/read"], "dataActions": []}]}
    blob_writer = {"permissions": [{"actions": [], "dataActions": ["Microsoft.Storage/blobs/write"]}]}
    assert document_privilege("kubernetes", cluster_admin, catalogue) == "admin"
    assert document_privilege("kubernetes", pod_reader, catalogue) == "read"
    assert document_privilege("kubernetes", binder, catalogue) == "permissions-management"
    assert document_privilege("azure", owner, catalogue) == "admin"
    assert document_privilege("azure", reader, catalogue) == "read"
    assert document_privilege("azure", blob_writer, catalogue) == "write"
    # A document no reading understands is judged by the identity's findings, or left unknown.
    unreadable = document_privilege("gcp", {"bindings": []}, catalogue)
    assert grant_privilege(unreadable, ["admin", "unused"]) == "admin"
    assert grant_privilege(unreadable, ["unused"]) == "unknown"
    assert grant_privilege("read", ["admin"]) == "read"  # a document that was read is not overruled


def test_a_permission_boundary_is_not_a_row_to_review(scan_document: Scanner, run: Cli) -> None:
    boundary_arn = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
    document = authorization_details(
        [role("bounded", [LOGS], boundary=boundary_arn)], policies=[managed_policy("boundary", LOGS)]
    )
    scan_document(document)
    _, rows = export(run)
    assert [r["grant_kind"] for r in rows] == ["permission"]


def test_scan_writes_the_access_review_into_its_output_folder_only_when_asked(run: Cli) -> None:
    export_file = run.export([role("logger", [LOGS])])
    default, asked = run.tmp_path / "default", run.tmp_path / "asked"
    assert run("scan", "--offline", export_file, "--output-dir", str(default)).exit_code == 0
    assert (
        run("scan", "--offline", export_file, "--output-dir", str(asked), "--report-format", "review-csv").exit_code
        == 0
    )

    assert (default / "findings.json").exists() and not (default / "access-review.csv").exists()
    assert [p.name for p in asked.iterdir()] == ["access-review.csv"]
