"""The reporter contract, as registered under the `agentiam.reporters` entry-point group."""

from __future__ import annotations

from typing import ClassVar, Protocol

from agentiam.reports.model import ReportData


class Reporter(Protocol):
    format: ClassVar[str]  # the value of `report --format`
    filename: ClassVar[str]  # default file name when writing into an output folder

    def render(self, data: ReportData) -> str: ...
