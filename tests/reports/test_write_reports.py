"""Writing every report into a folder: the HTML in a forked process beside the others, with failures reported."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from agentiam.reports.base import ReportWriteError, write_reports
from agentiam.reports.csv_report import CsvReporter
from agentiam.reports.html_report import HtmlReporter
from agentiam.reports.json_report import JsonReporter


class BrokenHtml:
    format: ClassVar[str] = "html"
    filename: ClassVar[str] = "broken.html"

    def render(self, data: object) -> str:
        raise RuntimeError("template exploded")


def test_every_report_is_written_whole(tmp_path: Path, report_data) -> None:  # type: ignore[no-untyped-def]
    reporters = [HtmlReporter(), CsvReporter(), JsonReporter()]
    paths = write_reports(reporters, report_data, tmp_path / "out")
    assert [p.name for p in paths] == ["report.html", "findings.csv", "findings.json"]
    for reporter, path in zip(reporters, paths, strict=True):
        assert path.read_text(encoding="utf-8") == reporter.render(report_data)


def test_a_report_that_fails_in_the_forked_writer_is_an_error(tmp_path: Path, report_data) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportWriteError, match=r"broken\.html"):
        write_reports([BrokenHtml(), JsonReporter()], report_data, tmp_path)
    assert (tmp_path / "findings.json").exists()  # the others are still written
