"""Suppressions files: accepted findings with an owner, a reason and an expiry; validated strictly, applied to every
report alike, ignored by the gate, and loud once expired."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agentiam.errors import UsageError
from agentiam.findings.suppressions import load_suppressions
from tests.conftest import ADMIN, LOGS, Cli, role

TODAY = datetime.now(UTC).date()


def write_suppressions(folder: Path, body: str, name: str = "suppressions.yaml") -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def entry(rule: str = "AWS-IAM-001", subject: str = "*:role/break-glass-*", expires: date | str | None = None) -> str:
    expires = expires or TODAY + timedelta(days=30)
    return (
        f"  - rule: {rule}\n    subject: '{subject}'\n    owner: secops@example.com\n"
        f"    reason: emergency access, alarmed\n    expires: {expires}\n"
    )


@pytest.fixture
def scanned(run: Cli) -> Cli:
    result = run("scan", "--offline", run.export([role("break-glass-admin", [ADMIN]), role("logger", [LOGS])]))
    assert result.exit_code == 0, result.output
    return run


def test_a_suppressed_finding_is_still_reported_marked_and_the_gate_ignores_it(scanned: Cli, tmp_path: Path) -> None:
    suppressions = write_suppressions(tmp_path, "suppressions:\n" + entry())
    assert scanned("gate", "--fail-on", "critical").exit_code == 1

    findings = json.loads(scanned("report", "--format", "json", "--suppressions", str(suppressions)).stdout)["findings"]
    (admin,) = [f for f in findings if f["rule_id"] == "AWS-IAM-001"]
    assert admin["suppressed"] is True
    assert admin["suppression"] == {
        "kind": "suppression",
        "owner": "secops@example.com",
        "reason": "emergency access, alarmed",
        "expires": (TODAY + timedelta(days=30)).isoformat(),
        "source": f"{suppressions} entry 1",
    }
    sarif = json.loads(scanned("report", "--format", "sarif", "--suppressions", str(suppressions)).stdout)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AWS-IAM-001"]
    assert result["suppressions"][0]["kind"] == "external" and result["suppressions"][0]["status"] == "accepted"
    rows = csv.DictReader(io.StringIO(scanned("report", "--format", "csv", "--suppressions", str(suppressions)).stdout))
    assert {(r["rule_id"], r["suppressed"], r["suppression_reason"]) for r in rows if r["suppressed"] == "true"} == {
        ("AWS-IAM-001", "true", "emergency access, alarmed")
    }

    gate = scanned("gate", "--fail-on", "critical", "--suppressions", str(suppressions))
    assert gate.exit_code == 0, gate.output
    assert "1 finding(s) suppressed" in gate.stderr


def test_the_suppressions_file_setting_applies_without_the_flag(scanned: Cli, tmp_path: Path) -> None:
    suppressions = write_suppressions(tmp_path, "suppressions:\n" + entry())
    config = tmp_path / "agentiam.toml"
    config.write_text(f'suppressions_file = "{suppressions}"\n')

    assert scanned("--config", str(config), "gate", "--fail-on", "critical").exit_code == 0


def test_a_subject_glob_matches_names_as_well_as_uids(scanned: Cli, tmp_path: Path) -> None:
    suppressions = write_suppressions(tmp_path, "suppressions:\n" + entry(subject="break-glass-*"))
    assert scanned("gate", "--fail-on", "critical", "--suppressions", str(suppressions)).exit_code == 0


def test_an_expired_suppression_stops_suppressing_and_warns(scanned: Cli, tmp_path: Path) -> None:
    suppressions = write_suppressions(tmp_path, "suppressions:\n" + entry(expires=TODAY - timedelta(days=1)))

    gate = scanned("gate", "--fail-on", "critical", "--suppressions", str(suppressions))
    assert gate.exit_code == 1
    assert f"{suppressions} entry 1" in gate.stderr and "expired on" in gate.stderr

    document = json.loads(scanned("report", "--format", "json", "--suppressions", str(suppressions)).stdout)
    assert not any(f["suppressed"] for f in document["findings"])
    (issue,) = document["issues"]
    assert issue["severity"] == "warning" and issue["source"] == f"{suppressions} entry 1"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("suppressions:\n  - rule: AWS-IAM-001\n    subject: '*'\n", "entry 1: owner: Field required"),
        ("suppressions:\n" + entry() + entry(expires="someday"), "entry 2: expires: Value error, must be a date"),
        ("suppressions:\n" + entry().replace("reason: emergency access, alarmed", "reason: ''"), "entry 1: reason"),
        ("suppressions:\n" + entry() + "    colour: red\n", "entry 1: colour: Extra inputs are not permitted"),
        ("suppressions:\n  - just a string\n", "entry 1: expected a mapping"),
        ("rules: []\n", 'expected one key, "suppressions"'),
        ("suppressions: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_malformed_suppressions_file_is_a_usage_error_naming_file_and_entry(
    scanned: Cli, tmp_path: Path, body: str, problem: str
) -> None:
    suppressions = write_suppressions(tmp_path, body)

    result = scanned("gate", "--fail-on", "critical", "--suppressions", str(suppressions))

    assert result.exit_code == 2
    assert str(suppressions) in result.stderr and problem in result.stderr


def test_an_expiry_beyond_the_maximum_lifetime_is_refused(tmp_path: Path) -> None:
    path = write_suppressions(tmp_path, "suppressions:\n" + entry(expires=TODAY + timedelta(days=91)))
    with pytest.raises(UsageError, match=r"entry 1: expires .* is more than 90 days away"):
        load_suppressions(path, max_days=90, today=TODAY)
    assert len(load_suppressions(path, max_days=91, today=TODAY)) == 1


def test_a_missing_suppressions_file_fails_the_scan_before_collecting(run: Cli, tmp_path: Path) -> None:
    result = run("scan", "--offline", run.export([role("a", [LOGS])]), "--suppressions", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2
    assert "none.yaml: suppressions file not found" in result.stderr
    assert not Path(run.db).exists()  # refused before the inventory was even opened


def test_a_rule_id_no_installed_rule_has_is_refused_rather_than_suppressing_nothing(
    scanned: Cli, tmp_path: Path
) -> None:
    suppressions = write_suppressions(tmp_path, "suppressions:\n" + entry() + entry(rule="AWS-IAM-0001"))

    result = scanned("gate", "--fail-on", "critical", "--suppressions", str(suppressions))

    assert result.exit_code == 2
    assert "entry 2: rule 'AWS-IAM-0001' is not a known rule id" in result.stderr
    assert "entry 1" not in result.stderr
