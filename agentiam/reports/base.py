"""The reporter contract, as registered under the `agentiam.reporters` entry-point group."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

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
