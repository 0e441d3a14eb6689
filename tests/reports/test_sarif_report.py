"""The SARIF report: valid SARIF 2.1.0, accepted by GitHub code scanning, every result anchored to a real line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sarif_kit.validate import validation_errors

from agentiam.cli import cli
from agentiam.findings.registry import RuleMeta
from agentiam.reports.base import write_report, write_reports
from agentiam.reports.json_report import JsonReporter
from agentiam.reports.model import FindingRow, ReportData
from agentiam.reports.sarif_report import (
    FINGERPRINT_KEY,
    INVENTORY_ANCHOR,
    MAX_RESULTS,
    SarifReporter,
    inventory_anchor,
)
from tests.conftest import ADMIN, authorization_details, role

ADMIN_META = RuleMeta(
    id="aws.iam.admin-access",
    title="Administrator access",
    category="admin",
    severity="high",
    provider="aws",
    rationale="Administrator access lets the identity do anything.\n    Including *this*.",
    remediation="Scope the policy to what the agent calls.",
    references=("https://owasp.org/www-project-non-human-identities-top-10/", "CIS AWS 1.16"),
)


def sarif(data: ReportData, rules: dict[str, RuleMeta] | None = None) -> dict[str, Any]:
    return json.loads(SarifReporter(rules={} if rules is None else rules).render(data))


def run_of(log: dict[str, Any]) -> dict[str, Any]:
    [run] = log["runs"]
    return run


def test_the_report_is_valid_sarif_2_1_0(report_data: ReportData) -> None:
    log = sarif(report_data, {"aws.iam.admin-access": ADMIN_META})
    assert log["version"] == "2.1.0"
    assert validation_errors(log) == []


def test_the_installed_rules_are_the_default_catalogue(report_data: ReportData) -> None:
    from agentiam.plugins import installed_plugins

    log = json.loads(SarifReporter().render(report_data))
    ids = [rule["id"] for rule in run_of(log)["tool"]["driver"]["rules"]]
    assert set(installed_plugins().rules) <= set(ids)
    assert {f.rule_id for f in report_data.findings} <= set(ids)  # the fixture's rules are not installed
    assert ids == sorted(ids)
    assert validation_errors(log) == []


def test_every_result_meets_githubs_upload_rules(report_data: ReportData) -> None:
    run = run_of(sarif(report_data, {"aws.iam.admin-access": ADMIN_META}))
    rules = run["tool"]["driver"]["rules"]
    assert run["results"]
    for result in run["results"]:
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == INVENTORY_ANCHOR
        assert physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    for rule in rules:
        float(rule["properties"]["security-severity"])  # a numeric string, as GitHub requires
        assert isinstance(rule["properties"]["security-severity"], str)
        assert len(rule["properties"]["tags"]) <= 20


def test_an_installed_rule_carries_its_full_metadata(report_data: ReportData) -> None:
    run = run_of(sarif(report_data, {"aws.iam.admin-access": ADMIN_META}))
    [admin] = [rule for rule in run["tool"]["driver"]["rules"] if rule["id"] == "aws.iam.admin-access"]
    assert admin["name"] == "AdministratorAccess"
    assert admin["shortDescription"]["text"] == "Administrator access"
    assert admin["fullDescription"]["text"] == "Administrator access lets the identity do anything. Including *this*."
    assert "Scope the policy" in admin["help"]["text"] and "CIS AWS 1.16" in admin["help"]["text"]
    assert "Including \\*this\\*." in admin["help"]["markdown"]  # rule text is not markup
    assert "<https://owasp.org/www-project-non-human-identities-top-10/>" in admin["help"]["markdown"]
    assert admin["properties"] == {
        "security-severity": "8.0",
        "tags": ["security", "admin", "aws"],
        "precision": "high",
    }


def test_a_rule_that_is_not_installed_is_described_from_its_findings(report_data: ReportData) -> None:
    run = run_of(sarif(report_data))
    [secrets] = [rule for rule in run["tool"]["driver"]["rules"] if rule["id"] == "k8s.rbac.secrets-read"]
    assert secrets["shortDescription"]["text"] == "Reads every secret in its namespace"
    assert secrets["properties"]["security-severity"] == "5.5"
    assert secrets["properties"]["tags"] == ["security", "data-access", "kubernetes"]


def test_severity_maps_to_level_and_status_to_baseline_state(report_data: ReportData) -> None:
    results = {r["partialFingerprints"][FINGERPRINT_KEY]: r for r in run_of(sarif(report_data))["results"]}
    assert {fp: (r["level"], r["baselineState"]) for fp, r in results.items()} == {
        "fp-admin-0001": ("error", "new"),
        "fp-privesc-0002": ("error", "unchanged"),
        "fp-secrets-0003": ("warning", "unchanged"),
        "fp-owner-0004": ("note", "new"),
        "fp-intent-0005": ("note", "new"),
    }
    assert results["fp-admin-0001"]["properties"]["subject"]["is_agent"] is True


def test_only_open_findings_are_results_because_github_closes_the_missing_ones(report_data: ReportData) -> None:
    run = run_of(sarif(report_data))
    assert "fp-wild-0006" not in {r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"]}
    assert run["properties"]["openFindings"] == 5
    assert "1 resolved by this scan are omitted" in run["properties"]["notes"][0]


def test_a_result_points_at_the_line_that_names_its_subject(report_data: ReportData) -> None:
    lines = inventory_anchor(report_data).splitlines()
    for result in run_of(sarif(report_data))["results"]:
        line = lines[result["locations"][0]["physicalLocation"]["region"]["startLine"] - 1]
        kind, uid, _ = line.split("\t")
        assert (uid, kind) == (result["properties"]["subject"]["uid"], result["properties"]["subject"]["kind"])


def test_the_anchor_has_one_sorted_line_per_resource_whatever_the_names_hold(
    make_report: Callable[..., ReportData], make_finding: Callable[..., FindingRow]
) -> None:
    workload = make_finding(subject_uid="aws:lambda:fn/x", subject_kind="lambda_function", subject_name="a\nb\tc\\")
    data = make_report(findings=[workload])
    data.identities[0] = dataclasses.replace(data.identities[0], name="evil\u2028name\r\n")
    lines = inventory_anchor(data).split("\n")[:-1]
    assert len(lines) == len(data.identities) + 1 and lines == sorted(lines)
    assert "lambda_function\taws:lambda:fn/x\ta\\u000ab\\u0009c\\\\" in lines
    assert any(line.endswith("\tevil\\u2028name\\u000d\\u000a") for line in lines)


def test_hostile_strings_stay_data(report_data: ReportData, hostile: Any) -> None:
    text = SarifReporter(rules={}).render(report_data)
    log = json.loads(text)
    assert validation_errors(log) == []
    messages = [r["message"]["text"] for r in run_of(log)["results"]]
    assert f"support-agent {hostile.script}: Grants * on *; tagged {hostile.attribute}" in messages
    assert any(hostile.dde in m for m in messages) and any(hostile.unicode in m for m in messages)
    notes = run_of(log)["invocations"][0]["toolExecutionNotifications"]
    assert any(hostile.script in n["message"]["text"] for n in notes)


def test_a_partial_scan_says_so(make_report: Callable[..., ReportData]) -> None:
    [invocation] = run_of(sarif(make_report(partial=True)))["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["level"] == "error"
    assert run_of(sarif(make_report(partial=False)))["invocations"][0]["executionSuccessful"] is True


def test_more_results_than_github_accepts_keeps_the_worst_and_says_so(
    make_report: Callable[..., ReportData], make_finding: Callable[..., FindingRow]
) -> None:
    worst = make_finding(severity="critical", fingerprint="fp-worst")
    filler = [make_finding(severity="low", fingerprint=f"fp-{n:05}") for n in range(MAX_RESULTS)]
    run = run_of(sarif(make_report(findings=[*filler, worst])))
    assert len(run["results"]) == MAX_RESULTS
    assert run["results"][0]["partialFingerprints"][FINGERPRINT_KEY] == "fp-worst"
    assert run["properties"]["truncated"] is True and run["properties"]["openFindings"] == MAX_RESULTS + 1
    assert "the worst 25000 of 25001" in run["properties"]["notes"][1]


def test_writing_the_report_writes_its_anchor_beside_it(tmp_path: Path, report_data: ReportData) -> None:
    written = write_report(SarifReporter(rules={}), report_data, tmp_path / "out.sarif")
    assert written == [tmp_path / "out.sarif", tmp_path / INVENTORY_ANCHOR]
    assert written[1].read_text(encoding="utf-8") == inventory_anchor(report_data)
    paths = write_reports([JsonReporter(), SarifReporter(rules={})], report_data, tmp_path / "all")
    assert [p.name for p in paths] == ["findings.json", "findings.sarif", INVENTORY_ANCHOR]


def test_a_companion_must_not_leave_the_report_folder(tmp_path: Path, report_data: ReportData) -> None:
    class Escaping(SarifReporter):
        def companions(self, data: ReportData) -> dict[str, str]:
            return {"../outside.txt": "x"}

    with pytest.raises(Exception, match="without a folder"):
        write_report(Escaping(rules={}), report_data, tmp_path / "out.sarif")
    assert not (tmp_path.parent / "outside.txt").exists()


def test_scan_and_report_write_the_sarif_and_its_anchor(tmp_path: Path) -> None:
    export = tmp_path / "authz.json"
    export.write_text(json.dumps(authorization_details([role("admin", [ADMIN])])))
    db = str(tmp_path / "inventory.db")
    scanned = CliRunner().invoke(cli, ["--db", db, "scan", "--offline", str(export), "--output-dir", str(tmp_path)])
    assert scanned.exit_code == 0, scanned.output
    log = json.loads((tmp_path / "findings.sarif").read_text(encoding="utf-8"))
    assert validation_errors(log) == [] and run_of(log)["results"]
    anchor = (tmp_path / INVENTORY_ANCHOR).read_text(encoding="utf-8").splitlines()
    for result in run_of(log)["results"]:
        assert "role/admin\tadmin" in anchor[result["locations"][0]["physicalLocation"]["region"]["startLine"] - 1]

    reported = CliRunner().invoke(cli, ["--db", db, "report", "--format", "sarif", "-o", str(tmp_path / "r/x.sarif")])
    assert reported.exit_code == 0, reported.output
    assert json.loads((tmp_path / "r/x.sarif").read_text(encoding="utf-8")) == log
    assert (tmp_path / "r" / INVENTORY_ANCHOR).read_text(encoding="utf-8") == "\n".join(anchor) + "\n"


def test_a_suppressed_finding_stays_a_result_with_an_accepted_external_suppression(
    make_report: Callable[..., ReportData], make_finding: Callable[..., FindingRow], hostile: Any
) -> None:
    suppression = {
        "kind": "suppression",
        "owner": "secops",
        "reason": f"accepted {hostile.script}",
        "expires": "2030-01-01",
        "source": "s.yaml entry 1",
    }
    log = sarif(make_report(findings=[make_finding(suppression=suppression), make_finding(fingerprint="other")]))

    assert validation_errors(log) == []
    suppressed, plain = sorted(run_of(log)["results"], key=lambda r: "suppressions" not in r)
    (entry,) = suppressed["suppressions"]
    assert (entry["kind"], entry["status"]) == ("external", "accepted")
    assert (
        entry["justification"]
        == f"accepted {hostile.script} (owner secops, until 2030-01-01; suppression s.yaml entry 1)"
    )
    assert "suppressions" not in plain
