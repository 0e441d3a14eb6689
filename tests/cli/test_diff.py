"""`agentiam diff`: what changed between two scans — findings opened and resolved, agents and identities that came
and went, grants attached, detached or rewritten."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ACCOUNT, ADMIN, LOGS, Cli, authorization_details, managed_policy, role

S3_ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
LOGS_WIDER = {"Version": "2012-10-17", "Statement": [{**LOGS["Statement"][0], "Resource": "*"}]}
READ_LOGS = managed_policy("read-logs", {**LOGS, "Statement": [{**LOGS["Statement"][0], "Action": "logs:Get*"}]})


def _uid(name: str) -> str:
    return f"aws:arn:aws:iam::{ACCOUNT}:role/{name}"


def _inline(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}/inline/policy0"


def _hashes_differ(grant: dict[str, Any]) -> bool:
    return bool(grant["policy_hash_before"]) and grant["policy_hash_before"] != grant["policy_hash_after"]


def _with_managed(entry: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    entry["AttachedManagedPolicies"] = [{"PolicyName": policy["PolicyName"], "PolicyArn": policy["Arn"]}]
    return entry


def _scan(run: Cli, roles: list[dict[str, Any]], policies: list[dict[str, Any]] | None = None) -> None:
    path = run.tmp_path / "authz.json"
    path.write_text(json.dumps(authorization_details(roles, policies)))
    assert run("scan", "--offline", str(path)).exit_code == 0


@pytest.fixture
def three_scans(tmp_path: Any) -> Cli:
    """Scan 1: admin, storage, logger. Scan 2: admin fixed, storage deleted, logger's inline policy widened and a
    managed policy attached, a new agent role. Scan 3: admin broken again, logger's managed policy detached."""
    run = Cli(tmp_path)
    _scan(run, [role("admin", [ADMIN]), role("storage", [S3_ADMIN]), role("logger", [LOGS])])
    _scan(
        run,
        [
            role("admin", []),
            _with_managed(role("logger", [LOGS_WIDER]), READ_LOGS),
            role("helper", [S3_ADMIN], tags={"ai-agent": "true"}),
        ],
        [READ_LOGS],
    )
    _scan(
        run,
        [role("admin", [ADMIN]), role("logger", [LOGS_WIDER]), role("helper", [S3_ADMIN], tags={"ai-agent": "true"})],
    )
    return run


def _diff(run: Cli, *args: str) -> dict[str, Any]:
    result = run("diff", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _findings(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["subject_name"]) for f in items}


def test_diff_of_two_scans_names_every_kind_of_change(three_scans: Cli) -> None:
    diff = _diff(three_scans, "--from", "1", "--to", "2")
    assert (diff["from_scan"], diff["to_scan"]) == (1, 2)
    assert ("AWS-IAM-002", "helper") in _findings(diff["new_findings"])
    assert {("AWS-IAM-001", "admin"), ("AWS-IAM-002", "storage")} <= _findings(diff["resolved_findings"])
    assert [e["uid"] for e in diff["new_identities"]] == [_uid("helper")]
    assert [e["uid"] for e in diff["removed_identities"]] == [_uid("storage")]
    assert [e["uid"] for e in diff["new_agents"]] == [_uid("helper")]
    assert diff["removed_agents"] == []
    assert [(g["identity_uid"], g["policy_ref"]) for g in diff["granted"]] == [(_uid("logger"), READ_LOGS["Arn"])]
    assert [(g["identity_uid"], g["policy_ref"]) for g in diff["revoked"]] == [(_uid("admin"), _inline("admin"))]
    changed = [(g["identity_uid"], g["policy_ref"]) for g in diff["changed_grants"]]
    assert changed == [(_uid("logger"), _inline("logger"))]
    assert _hashes_differ(diff["changed_grants"][0])


def test_grants_of_identities_that_came_or_went_are_not_repeated_as_grant_changes(three_scans: Cli) -> None:
    diff = _diff(three_scans, "--from", "1", "--to", "2")
    touched = {g["identity_uid"] for key in ("granted", "revoked", "changed_grants") for g in diff[key]}
    assert _uid("helper") not in touched and _uid("storage") not in touched


def test_defaults_compare_the_latest_analysed_scan_with_the_one_before(three_scans: Cli) -> None:
    diff = _diff(three_scans)
    assert (diff["from_scan"], diff["to_scan"]) == (2, 3)
    reopened = [f for f in diff["new_findings"] if (f["rule_id"], f["subject_name"]) == ("AWS-IAM-001", "admin")]
    assert [f["status"] for f in reopened] == ["reopened"]
    assert [(g["identity_uid"], g["policy_ref"]) for g in diff["granted"]] == [(_uid("admin"), _inline("admin"))]
    assert [(g["identity_uid"], g["policy_ref"]) for g in diff["revoked"]] == [(_uid("logger"), READ_LOGS["Arn"])]
    assert diff["new_identities"] == diff["removed_identities"] == diff["new_agents"] == []


def test_the_text_output_is_for_people(three_scans: Cli) -> None:
    result = three_scans("diff", "--from", "1", "--to", "2")
    assert result.exit_code == 0
    text = result.stdout
    assert "Scan 1 → scan 2" in text
    for section in ("New findings", "Resolved findings", "New agents", "New identities", "Removed identities"):
        assert section in text
    assert "Grants attached" in text and "Grants whose policy document changed" in text
    assert "helper" in text and "storage" in text


def test_identical_scans_have_no_change(tmp_path: Any) -> None:
    run = Cli(tmp_path)
    _scan(run, [role("logger", [LOGS])])
    _scan(run, [role("logger", [LOGS])])
    assert "no change" in run("diff").stdout
    diff = _diff(run)
    assert all(diff[key] == [] for key in diff if key not in ("from_scan", "to_scan"))


def test_a_single_scan_has_nothing_to_compare_with(tmp_path: Any) -> None:
    run = Cli(tmp_path)
    _scan(run, [role("logger", [LOGS])])
    result = run("diff")
    assert result.exit_code == 2 and "no earlier scan" in result.stderr


def test_a_scan_that_does_not_exist_is_a_usage_error(three_scans: Cli) -> None:
    for args in (("--to", "9"), ("--from", "9"), ("--from", "0", "--to", "2")):
        result = three_scans("diff", *args)
        assert result.exit_code == 2 and "no scan" in result.stderr, args
    same = three_scans("diff", "--from", "2", "--to", "2")
    assert same.exit_code == 2 and "nothing to compare" in same.stderr


def test_diff_before_any_scan_says_what_to_do(tmp_path: Any) -> None:
    result = Cli(tmp_path)("diff")
    assert result.exit_code == 2 and "agentiam scan" in result.stderr
