"""Collection progress: every finished (collector, scope) is reported; drawn on a terminal only."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from agentiam.config import Settings
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, collect
from agentiam.plugins import Plugins
from agentiam.progress import collection_progress
from tests.conftest import LOGS, Cli, authorization_details, role


def test_collect_reports_each_finished_scope(tmp_path: Path, settings: Settings, plugins: Plugins) -> None:
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(authorization_details([role(name, [LOGS])])))
        paths.append(path)
    finished: list[tuple[str, str, str | None]] = []

    collect(Store.open(settings.db), settings, ScanRequest(offline=paths), plugins, lambda *done: finished.append(done))

    assert finished == [("aws-iam", str(paths[0]), None), ("aws-iam", str(paths[1]), None)]


def test_a_terminal_shows_progress() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with collection_progress(console, quiet=False) as done:
        done("aws-iam", "111122223333", None)
        done("aws-iam", "444455556666", "AccessDenied")
        console.file.flush()
    assert "2 scope(s), 1 failed" in screen.getvalue()


def test_quiet_or_not_a_terminal_shows_nothing() -> None:
    for console, quiet in (
        (Console(file=io.StringIO(), force_terminal=True), True),
        (Console(file=io.StringIO()), False),
    ):
        with collection_progress(console, quiet=quiet) as done:
            done("aws-iam", "111122223333", None)
        assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_a_scan_in_a_pipe_writes_no_progress(run: Cli) -> None:
    result = run("scan", "--offline", run.export([role("a", [LOGS])]))
    assert result.exit_code == 0, result.output
    assert "scope(s)" not in result.stderr and "\r" not in result.stderr and "\x1b[" not in result.stderr
