"""Writing every report into a folder: all but one in forked processes beside this one, with failures reported."""

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


class BrokenCsv:
    format: ClassVar[str] = "csv"
    filename: ClassVar[str] = "broken.csv"

    def render(self, data: object) -> str:
        raise RuntimeError("cell exploded")


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


def test_every_forked_writer_that_fails_is_named_and_the_others_are_still_written(tmp_path: Path, report_data) -> None:  # type: ignore[no-untyped-def]
    reporters = [BrokenHtml(), BrokenCsv(), CsvReporter(), JsonReporter()]
    with pytest.raises(ReportWriteError, match=r"broken\.html, .*broken\.csv: "):
        write_reports(reporters, report_data, tmp_path)
    assert (tmp_path / "findings.csv").read_text(encoding="utf-8") == CsvReporter().render(report_data)
    assert (tmp_path / "findings.json").read_text(encoding="utf-8") == JsonReporter().render(report_data)
