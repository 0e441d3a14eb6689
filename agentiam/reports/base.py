"""The reporter contract, as registered under the `agentiam.reporters` entry-point group."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar, Protocol

from agentiam.errors import AgentiamError
from agentiam.reports.model import ReportData


class Reporter(Protocol):
    format: ClassVar[str]  # the value of `report --format`
    filename: ClassVar[str]  # default file name when writing into an output folder

    def render(self, data: ReportData) -> str: ...


def write_report(reporter: Reporter, data: ReportData, path: Path) -> None:
    """Write a report to a file; a reporter that can `stream(data)` (an iterator of str) is written piece by piece."""
    with path.open("w", encoding="utf-8") as out:
        stream = getattr(reporter, "stream", None)
        if stream is not None:
            out.writelines(stream(data))
        else:
            out.write(reporter.render(data))


def write_reports(reporters: list[Reporter], data: ReportData, folder: Path) -> list[Path]:
    """Every reporter's file in `folder`, under its default name.

    With two cores or more, the HTML report (the costliest) is written by a forked process while this one writes
    the others: the data is shared copy-on-write, nothing is pickled, and the child touches no database.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / reporter.filename for reporter in reporters]
    jobs = list(zip(reporters, paths, strict=True))
    if len(jobs) < 2 or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        for reporter, path in jobs:
            write_report(reporter, data, path)
        return paths
    forked = max(jobs, key=lambda job: job[0].format == "html")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which exits without returning
        code = 0
        try:
            write_report(forked[0], data, forked[1])
        except BaseException as exc:
            sys.stderr.write(f"error: writing {forked[1]} failed: {type(exc).__name__}: {exc}\n")
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    try:
        for reporter, path in jobs:
            if (reporter, path) != forked:
                write_report(reporter, data, path)
    finally:
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise ReportWriteError(f"{forked[1]}: the report could not be written (see the error above)")
    return paths


class ReportWriteError(AgentiamError):
    exit_code = 2
