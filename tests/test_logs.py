"""--log-format json: one JSON object per line on stderr, for log pipelines."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from agentiam.logs import JsonFormatter
from tests.conftest import ADMIN, Cli, role


def _json_lines(stderr: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_json_logs_during_a_scan_are_parseable_lines_on_stderr(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    result = run("--log-format", "json", "-v", "scan", "--offline", run.export([role("admin", [ADMIN])]))
    assert result.exit_code == 0, result.output
    records = _json_lines(result.stderr)
    assert records, result.stderr
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"] == "agentiam" and "scan 1 collected" in r["message"] for r in records)
    assert all(r["time"].endswith("+00:00") for r in records)
    assert not _json_lines(result.stdout)  # data stays on stdout, logs never


def test_the_log_format_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIAM_LOG_FORMAT", "json")
    run = Cli(tmp_path)
    result = run("-v", "scan", "--offline", run.export([role("admin", [ADMIN])]))
    assert _json_lines(result.stderr)


def _record_with_traceback() -> logging.LogRecord:
    try:
        raise ValueError("boom")
    except ValueError:
        return logging.getLogger("agentiam").makeRecord(
            "agentiam", logging.DEBUG, __file__, 0, "rule %s failed", ("X-1",), sys.exc_info()
        )


def test_tracebacks_are_included_only_at_debug() -> None:
    record = _record_with_traceback()
    assert json.loads(JsonFormatter(with_tracebacks=True).format(record))["exc_info"].endswith("ValueError: boom")
    quiet = json.loads(JsonFormatter().format(record))
    assert quiet["message"] == "rule X-1 failed" and "exc_info" not in quiet
