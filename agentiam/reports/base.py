"""The reporter contract, as registered under the `agentiam.reporters` entry-point group."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar, Protocol

from agentiam.errors import AgentiamError
from agentiam.reports.model import ReportData
from agentiam.runtime import fork_child


class Reporter(Protocol):
    """A report format. Two optional methods are looked up, not required:

    - `stream(data) -> Iterator[str]`: the same text as `render`, in pieces, so a large report is never held whole;
    - `companions(data) -> dict[str, str]`: files (name -> text) the report refers to, written beside it whenever
      the report goes to a file (the SARIF report's inventory, which its results point into).

    And one optional attribute: `on_request = True` keeps a report out of the files `scan --output-dir` writes
    unless its format is named (the access review).
    """

    format: ClassVar[str]  # the value of `report --format`
    filename: ClassVar[str]  # default file name when writing into an output folder

    def render(self, data: ReportData) -> str: ...


def write_report(reporter: Reporter, data: ReportData, path: Path) -> list[Path]:
    """Write a report to a file, then its companions beside it; every path written, the report's first."""
    _write_main(reporter, data, path)
    return [path, *write_companions(reporter, data, path.parent)]


def write_companions(reporter: Reporter, data: ReportData, folder: Path) -> list[Path]:
    """The files a reporter's `companions(data)` names, in `folder`; none for a reporter without the method."""
    companions = getattr(reporter, "companions", None)
    if companions is None:
        return []
    written = []
    for name, text in companions(data).items():
        if Path(name).name != name:  # a plain file name: a plugin must not write outside the report's folder
            raise ReportWriteError(f"{name!r}: a companion file is named without a folder")
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _write_main(reporter: Reporter, data: ReportData, path: Path) -> None:
    """A reporter that can `stream(data)` (an iterator of str) is written piece by piece."""
    with path.open("w", encoding="utf-8") as out:
        stream = getattr(reporter, "stream", None)
        if stream is not None:
            out.writelines(stream(data))
        else:
            out.write(reporter.render(data))


def write_reports(reporters: list[Reporter], data: ReportData, folder: Path) -> list[Path]:
    """Every reporter's file in `folder`, under its default name, then their companions; every path written.

    With two cores or more, each report but one is written by a forked process (at most one per core at a time)
    while this one writes the last: the data is shared copy-on-write, nothing is pickled, and the children touch
    no database. The HTML report, the costliest, is never the one kept here.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / reporter.filename for reporter in reporters]
    jobs = list(zip(reporters, paths, strict=True))
    cores = os.cpu_count() or 1
    if len(jobs) < 2 or cores < 2 or not hasattr(os, "fork"):
        for reporter, path in jobs:
            _write_main(reporter, data, path)
        return paths + _all_companions(reporters, data, folder)
    kept = max(reversed(jobs), key=lambda job: job[0].format != "html")
    forked = [job for job in jobs if job != kept]
    running: dict[int, Path] = {}
    failed: list[Path] = []
    try:
        for reporter, path in forked:
            if len(running) >= cores:
                failed.extend(_reap(running))
            running[_fork_writer(reporter, data, path)] = path
        _write_main(kept[0], data, kept[1])
        # Companions, the forked reporters' included, are written here: their names must come back to the caller.
        companions = _all_companions(reporters, data, folder)
    finally:
        while running:
            failed.extend(_reap(running))
    if failed:
        names = ", ".join(str(path) for path in sorted(failed, key=paths.index))
        raise ReportWriteError(f"{names}: the report could not be written (see the error above)")
    return paths + companions


def _fork_writer(reporter: Reporter, data: ReportData, path: Path) -> int:
    """The process id of a forked child that writes one report, then exits 0, or 1 after saying why on stderr."""

    def write() -> None:
        try:
            _write_main(reporter, data, path)
        except BaseException as exc:
            sys.stderr.write(f"error: writing {path} failed: {type(exc).__name__}: {exc}\n")
            raise

    return fork_child(write)


def _reap(running: dict[int, Path]) -> list[Path]:
    """Wait for the oldest running writer (only for ours: a caller's children are not ours to reap); the path it
    failed to write, if it failed."""
    pid = next(iter(running))
    _, status = os.waitpid(pid, 0)
    path = running.pop(pid)
    return [path] if os.waitstatus_to_exitcode(status) != 0 else []


def _all_companions(reporters: list[Reporter], data: ReportData, folder: Path) -> list[Path]:
    return [path for reporter in reporters for path in write_companions(reporter, data, folder)]


class ReportWriteError(AgentiamError):
    exit_code = 2
