"""`report --format ocsf`: one OCSF Detection Finding (class 2004) per finding (see ocsf_events.py).

The document is a JSON array written one event per line, like the JSON report's lists. The OCSF models are imported
when a report is written, not when the reporter is registered: every command loads every reporter, and the models
cost ~0.15 s of start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from agentiam.reports.json_report import list_lines
from agentiam.reports.model import ReportData


class OcsfReporter:
    format: ClassVar[str] = "ocsf"
    filename: ClassVar[str] = "findings.ocsf.json"

    def render(self, data: ReportData) -> str:
        return "".join(self.stream(data))

    def stream(self, data: ReportData) -> Iterator[str]:
        from agentiam.reports.ocsf_events import detection_findings

        yield from list_lines(event.model_dump(exclude_none=True) for event in detection_findings(data))
        yield "\n"
