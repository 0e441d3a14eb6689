"""The CI gate with a baseline (fail only on what was not accepted) and --new-only (fail only on what is new)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ADMIN, LOGS, Cli, role


def test_a_baseline_excuses_accepted_findings_and_fails_on_new_ones(run: Cli, tmp_path: Path) -> None:
    baseline = tmp_path / "ci" / "baseline.json"
    run("scan", "--offline", run.export([role("legacy-admin", [ADMIN]), role("logger", [LOGS])]))

    created = run("gate", "--fail-on", "high", "--create-baseline", str(baseline))
    assert created.exit_code == 0, created.output  # writing a baseline does not gate
    document = json.loads(baseline.read_text())
    assert document["tool"] == "agentiam" and document["scan"] == 1 and document["created_at"]
    fingerprints = [entry["fingerprint"] for entry in document["fingerprints"]]
    assert fingerprints == sorted(fingerprints)
    assert any(entry["subject_uid"].endswith(":role/legacy-admin") for entry in document["fingerprints"])

    assert run("gate", "--fail-on", "high").exit_code == 1
    excused = run("gate", "--fail-on", "high", "--baseline", str(baseline))
    assert excused.exit_code == 0, excused.output
    assert "excused by the baseline" in excused.stderr

    run("scan", "--offline", run.export([role("legacy-admin", [ADMIN]), role("new-admin", [ADMIN])]))
    failed = run("gate", "--fail-on", "high", "--baseline", str(baseline))
    assert failed.exit_code == 1
    assert "new-admin" in failed.stdout and "legacy-admin" not in failed.stdout


def test_new_only_passes_a_second_identical_scan(run: Cli) -> None:
    export = run.export([role("admin", [ADMIN])])
    run("scan", "--offline", export)
    assert run("gate", "--fail-on", "high", "--new-only").exit_code == 1  # the first scan: everything is new

    run("scan", "--offline", export)
    result = run("gate", "--fail-on", "high", "--new-only")
    assert result.exit_code == 0, result.output
    assert "1 finding(s) not new" in result.stderr


def test_new_only_and_a_baseline_combine(run: Cli, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    run("scan", "--offline", run.export([role("accepted-admin", [ADMIN])]))
    run("gate", "--create-baseline", str(baseline))
    run("scan", "--offline", run.export([role("other-admin", [ADMIN])]))
    # accepted-admin comes back (reopened, so new again) and other-admin persists (not new, not accepted)
    run("scan", "--offline", run.export([role("accepted-admin", [ADMIN]), role("other-admin", [ADMIN])]))

    assert "accepted-admin" in run("gate", "--fail-on", "high", "--new-only").stdout
    assert "other-admin" in run("gate", "--fail-on", "high", "--baseline", str(baseline)).stdout
    both = run("gate", "--fail-on", "high", "--new-only", "--baseline", str(baseline))
    assert both.exit_code == 0, both.output
    assert "1 finding(s) excused by the baseline" in both.stderr and "1 finding(s) not new" in both.stderr


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not found"),
        ("{not json", "not JSON"),
        ('{"fingerprints": []}', "not an agentiam baseline"),
        ('{"tool": "agentiam", "fingerprints": ["abc"]}', '"fingerprints"'),
    ],
)
def test_a_missing_or_malformed_baseline_is_a_usage_error_naming_the_file(
    run: Cli, tmp_path: Path, content: str | None, problem: str
) -> None:
    baseline = tmp_path / "baseline.json"
    if content is not None:
        baseline.write_text(content)
    run("scan", "--offline", run.export([role("admin", [ADMIN])]))
    result = run("gate", "--baseline", str(baseline))
    assert result.exit_code == 2
    assert str(baseline) in result.stderr and problem in result.stderr


def test_create_baseline_refuses_gating_flags(run: Cli, tmp_path: Path) -> None:
    run("scan", "--offline", run.export([role("admin", [ADMIN])]))
    result = run("gate", "--create-baseline", str(tmp_path / "b.json"), "--new-only")
    assert result.exit_code == 2
    assert not (tmp_path / "b.json").exists()
