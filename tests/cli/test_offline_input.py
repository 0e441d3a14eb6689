"""Offline files: the format is detected from the content, and bad files are refused with a message that names
the file and says what was expected (exit 2), before anything is written."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from click.testing import CliRunner

from agentiam.cli import cli
from tests.conftest import authorization_details, role


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "inv.db"), *args])
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_a_file_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "export.json"
    bad.write_text("UserDetailList: not json at all\n")
    code, _, stderr = _run(tmp_path, "scan", "--offline", str(bad))
    assert code == 2
    assert str(bad) in stderr.replace("\n", "")
    assert "not valid JSON" in stderr
    assert "get-account-authorization-details" in stderr


def test_json_of_an_unknown_shape_says_what_was_expected(tmp_path: Path) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"Reservations": []}))
    code, _, stderr = _run(tmp_path, "scan", "--offline", str(odd))
    assert code == 2
    assert "unknown shape" in stderr and "Reservations" in stderr


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, stderr = _run(tmp_path, "scan", "--offline", str(tmp_path / "nope.json"))
    assert code == 2 and "file not found" in stderr


def test_a_bad_file_among_good_ones_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(authorization_details([role("r", [])])))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    code, _, _ = _run(tmp_path, "scan", "--offline", str(good), "--offline", str(bad))
    assert code == 2
    code, stdout, _ = _run(tmp_path, "db", "info")
    assert json.loads(stdout)["rows"]["scan"] == 0


def test_format_is_detected_from_content_not_file_name(tmp_path: Path) -> None:
    export = tmp_path / "whatever.txt"
    export.write_text(
        json.dumps(authorization_details([role("agent-role", [], trust_service="bedrock.amazonaws.com")]))
    )
    code, _, _ = _run(tmp_path, "scan", "--offline", str(export))
    assert code == 0
    code, stdout, _ = _run(tmp_path, "inventory", "agents", "--json")
    agents = json.loads(stdout)
    assert [a["name"] for a in agents] == ["agent-role"]
    assert "bedrock.amazonaws.com" in agents[0]["evidence"]


def test_a_url_encoded_policy_document_is_decoded(tmp_path: Path) -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    encoded = urllib.parse.quote(json.dumps(document))  # how the raw IAM API returns documents
    export = tmp_path / "raw.json"
    export.write_text(json.dumps(authorization_details([role("raw", [encoded])])))
    assert _run(tmp_path, "scan", "--offline", str(export))[0] == 0
    _, stdout, _ = _run(tmp_path, "report", "--format", "json")
    assert any(f["rule_id"] == "AWS-IAM-001" for f in json.loads(stdout)["findings"])
