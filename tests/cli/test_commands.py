"""The command line end to end through click's CliRunner: scan, report, gate, inventory, rules, db, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agentiam.cli import cli
from tests.conftest import ADMIN, LOGS, Cli, authorization_details, role


def test_scan_exits_0_without_a_threshold_and_1_when_the_gate_fails(run: Cli) -> None:
    export = run.export([role("admin", [ADMIN]), role("logger", [LOGS])])
    assert run("scan", "--offline", export).exit_code == 0
    failed = run("scan", "--offline", export, "--fail-on", "high")
    assert failed.exit_code == 1
    assert "critical" in failed.stderr


def test_scan_passes_the_gate_when_nothing_reaches_the_threshold(run: Cli) -> None:
    assert run("scan", "--offline", run.export([role("logger", [LOGS])]), "--fail-on", "low").exit_code == 0


def test_gate_lists_failing_findings_on_stdout_and_exits_1(run: Cli) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN])]))
    result = run("gate", "--fail-on", "critical")
    assert result.exit_code == 1
    assert "AWS-IAM-001" in result.stdout and "admin" in result.stdout
    assert "gate failed" in result.stderr


def test_a_partial_scan_exits_3_unless_allowed(run: Cli, tmp_path: Path) -> None:
    broken = authorization_details([role("fine", [LOGS])])
    broken["RoleDetailList"].append("not a role")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = run("scan", "--offline", str(path))
    assert result.exit_code == 3
    assert run("scan", "--offline", str(path), "--allow-partial").exit_code == 0
    report = json.loads(run("report", "--format", "json").stdout)
    assert report["scan"]["status"] == "partial"
    assert "RoleDetailList[1]" in json.dumps(report["scan"]["collector_runs"])
    identities = json.loads(run("inventory", "identities", "--json").stdout)
    assert [i["name"] for i in identities] == ["fine"]


def test_report_writes_each_format_to_a_file_or_stdout(run: Cli, tmp_path: Path) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN])]))
    for fmt, marker in (("json", '"rule_id"'), ("csv", "rule_id"), ("html", "<!DOCTYPE html>")):
        target = tmp_path / "out" / f"report.{fmt}"
        assert run("report", "--format", fmt, "-o", str(target)).exit_code == 0
        assert marker.lower() in target.read_text().lower()
    assert '"AWS-IAM-001"' in run("report", "--format", "json", "-o", "-").stdout


def test_report_json_carries_the_contract_fields(run: Cli) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN], tags={"ai-agent": "true"})]))
    document = json.loads(run("report", "--format", "json").stdout)
    finding = next(f for f in document["findings"] if f["rule_id"] == "AWS-IAM-001")
    for field in ("rule_id", "category", "severity", "title", "message", "fingerprint", "status"):
        assert finding[field]
    assert finding["subject"] == {**finding["subject"], "name": "admin", "kind": "aws_role", "provider": "aws"}
    assert finding["subject"]["uid"] == "aws:arn:aws:iam::123456789012:role/admin"
    assert document["scan"]["status"] == "complete"


def test_report_of_an_unknown_format_is_a_usage_error(run: Cli) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN])]))
    result = run("report", "--format", "docx")
    assert result.exit_code == 2 and "available: csv, html, json" in result.stderr


def test_report_before_any_scan_says_what_to_do(run: Cli) -> None:
    result = run("report", "--format", "json")
    assert result.exit_code == 2 and "run `agentiam scan` first" in result.stderr


def test_inventory_show_gives_grants_trust_and_findings(run: Cli) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN], trust_service="bedrock.amazonaws.com")]))
    shown = json.loads(run("inventory", "show", "admin", "--json").stdout)
    assert shown["is_agent"] is True
    assert shown["grants"][0]["policy_source"] == "inline"
    assert shown["trust"][0]["principal"] == "bedrock.amazonaws.com"
    assert "AWS-IAM-001" in {f["rule_id"] for f in shown["findings"]}
    assert run("inventory", "show", "nobody").exit_code == 2


def test_inventory_tables_render_for_people(run: Cli) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN], tags={"agent": "true"})]))
    assert "admin" in run("inventory", "identities").stdout
    assert "agent-tag" in run("inventory", "agents").stdout
    assert run("inventory", "workloads").exit_code == 0


def test_rules_list_and_show(run: Cli) -> None:
    listed = json.loads(run("rules", "list", "--json").stdout)
    assert {r["id"] for r in listed} >= {"AWS-IAM-001", "AWS-IAM-002", "AWS-IAM-003", "AWS-IAM-004"}
    shown = run("rules", "show", "aws-iam-001")
    assert "Administrator-equivalent" in shown.stdout and "Remediation" in shown.stdout
    assert run("rules", "show", "NOPE-1").exit_code == 2


def test_db_info_and_upgrade(run: Cli) -> None:
    assert "applied migration 1" in run("db", "upgrade").stderr
    assert "up to date" in run("db", "upgrade").stderr
    info = json.loads(run("db", "info").stdout)
    assert info["schema_version"] == info["latest_schema_version"]


def test_a_bad_configuration_file_is_a_usage_error(run: Cli, tmp_path: Path) -> None:
    config = tmp_path / "agentiam.toml"
    config.write_text('fail_on = "catastrophic"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "db", "info"])
    assert result.exit_code == 2
    assert "agentiam.toml" in result.stderr and "fail_on" in result.stderr


def test_scan_with_nothing_to_scan_is_a_usage_error(run: Cli) -> None:
    result = run("scan")
    assert result.exit_code == 2 and "nothing to scan" in result.stderr


def test_a_corrupt_database_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"definitely not sqlite " * 100)
    for command in (["db", "info"], ["scan", "--offline", str(tmp_path / "x.json")], ["report", "--format", "json"]):
        result = CliRunner().invoke(cli, ["--db", str(db), *command])
        assert result.exit_code == 2
        assert "Traceback" not in result.stderr
    assert "not a readable SQLite database" in CliRunner().invoke(cli, ["--db", str(db), "db", "info"]).stderr
    assert db.read_bytes().startswith(b"definitely not sqlite")


def test_a_database_from_a_newer_agentiam_is_refused(run: Cli) -> None:
    import sqlite3

    run("db", "upgrade")
    with sqlite3.connect(run.db) as conn:
        conn.execute("INSERT INTO migration (version, name, applied_at) VALUES (99, 'future', '2030-01-01')")
    result = run("scan", "--offline", run.export([role("r", [LOGS])]))
    assert result.exit_code == 2
    assert "newer than this agentiam" in result.stderr


def test_hostile_names_and_tags_stay_inert_end_to_end(run: Cli, tmp_path: Path) -> None:
    import csv
    import io

    hostile = role(
        "<script>alert(1)</script>", [ADMIN], tags={"ai-agent": "true", "owner": '"onmouseover=alert(1) x="'}
    )
    hostile["Tags"].append({"Key": "team", "Value": '=HYPERLINK("http://evil.example","click")'})
    run("scan", "--offline", run.export([hostile]), "--output-dir", str(tmp_path / "out"))
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"onmouseover=alert(1)' not in page
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "findings.csv").read_text())))
    assert all(not cell.lstrip().startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_a_rule_that_crashes_is_reported_and_the_scan_is_not_a_silent_pass(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentiam.findings.rules import aws_iam

    def broken(*_: Any) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(aws_iam, "admin_equivalence", broken)
    result = run("scan", "--offline", run.export([role("admin", [ADMIN])]))
    assert result.exit_code == 3
    assert "rule AWS-IAM-001 failed: RuntimeError: boom" in result.stderr
    # The other rules still ran.
    assert "AWS-IAM-003" in run("rules", "list").stdout


def test_an_unreachable_aws_endpoint_fails_the_scope_and_keeps_earlier_scans(
    run: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    assert run("scan", "--offline", run.export([role("admin", [ADMIN])])).exit_code == 0
    with socket.socket() as probe:  # a port on loopback that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    config = tmp_path / "agentiam.toml"
    config.write_text("[aws]\nmax_attempts = 2\n")
    result = CliRunner().invoke(cli, ["--db", run.db, "--config", str(config), "scan", "--aws"])
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    assert "sts:GetCallerIdentity" in result.stderr and "Could not connect" in result.stderr
    scans = json.loads(run("db", "info").stdout)
    assert scans["rows"]["scan"] == 2 and scans["last_scan"]["status"] == "failed"
    first = json.loads(run("report", "--format", "json", "--scan", "1").stdout)
    assert [f["rule_id"] for f in first["findings"]] == ["AWS-IAM-001"]


def test_scan_writes_only_the_report_formats_asked_for(run: Cli, tmp_path: Path) -> None:
    export = run.export([role("admin", [ADMIN])])
    out = tmp_path / "reports"
    assert run("scan", "--offline", export, "--output-dir", str(out), "--report-format", "sarif").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["agentiam-inventory.txt", "findings.sarif"]
    result = run("scan", "--offline", export, "--output-dir", str(out), "--report-format", "docx")
    assert result.exit_code == 2 and "unknown report format docx" in result.stderr


def test_allow_partial_never_accepts_a_scan_that_collected_nothing(
    run: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    config = tmp_path / "agentiam.toml"
    config.write_text("[aws]\nmax_attempts = 1\n")
    result = CliRunner().invoke(cli, ["--db", run.db, "--config", str(config), "scan", "--aws", "--allow-partial"])
    assert result.exit_code == 3


def test_every_rule_runs_cleanly_on_an_empty_account(run: Cli) -> None:
    result = run("scan", "--offline", run.export([]))
    assert result.exit_code == 0, result.stderr
    assert "failed" not in result.stderr.split("Collector runs")[0]
    assert "error: rule" not in result.stderr
