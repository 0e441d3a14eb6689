"""`report --format html`: one self-contained file for people, which makes no network request of any kind.

Everything that comes from the scanned estate (names, tags, messages, evidence) is attacker-influenced, so the
template is autoescaped and data is never marked safe; only the report's own CSS and JS are inlined as markup, and
the Content-Security-Policy admits exactly those two, pinned by the SHA-256 of the text actually written.

It stays usable at 50,000 findings. The findings table is served as rows, not as data for a script to build rows
from: the first page is live, the others wait, parsed but inert, in <template> chunks that the script pages through,
filtering and sorting on a few compact data attributes. The details of a finding (evidence, remediation) are
attached only when it is expanded, from templates that are written once per distinct content: a rule's remediation
and references are shared by all its findings, and identical evidence is written once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from agentiam.reports import charts
from agentiam.reports.agent_chains import agent_chains
from agentiam.reports.charts import summary_charts
from agentiam.reports.model import SEVERITIES, CollectorRunRow, FindingRow, ReportData
from agentiam.reports.safety import (
    iso_utc,
    json_default,
    sorted_findings,
    sorted_issues,
    strict_json,
)

_STATUSES = ("new", "reopened", "persisting", "resolved")
_EMPTY = '<span class="sub">empty</span>'
FIRST_PAGE = 50  # rows live in the table when the page opens; the script's default page size
CHUNK = 500  # rows per <template> chunk
CHANGES_SHOWN = 100  # items listed per kind of change; the rest are counted


class HtmlReporter:
    format: ClassVar[str] = "html"
    filename: ClassVar[str] = "report.html"

    def render(self, data: ReportData) -> str:
        return "".join(self.stream(data))

    def stream(self, data: ReportData) -> Iterator[str]:
        """The page in pieces, so that writing a report of 50,000 findings never holds all of it in memory."""
        assets = _assets()
        template = _environment().get_template("report.html.j2")
        details = _Details()
        ordered = sorted_findings(data.open_findings) + sorted_findings(
            [f for f in data.findings if f.status == "resolved"]
        )
        rows = [details.view(finding) for finding in ordered]
        open_count = len(data.open_findings)
        chains = agent_chains(data)
        return template.generate(
            data=data,
            scan=data.scan,
            assets=assets,
            csp=content_security_policy(assets),
            severities=SEVERITIES,
            incomplete=data.scan.status != "complete",
            failed_runs=[run for run in data.scan.collector_runs if run.status != "complete"],
            runs=_sorted_runs(data.scan.collector_runs),
            geometry=charts,
            charts=summary_charts(data.open_findings, data.identities, chains),
            status_counts=data.status_counts(),
            suppressed_count=sum(1 for f in data.open_findings if f.suppressed),
            agent_identities=len(data.agents),
            chains=chains,
            changes=data.changes,
            changes_shown=CHANGES_SHOWN,
            total=len(rows),
            open_count=open_count,
            first_page=rows[: min(FIRST_PAGE, open_count)],
            chunks=[rows[i : i + CHUNK] for i in range(min(FIRST_PAGE, open_count), len(rows), CHUNK)],
            page_size=FIRST_PAGE,
            categories=sorted({f.category for f in data.findings}),
            providers=sorted({f.provider for f in data.findings}),
            details=details,
            issues=sorted_issues(data.issues),
        )


def content_security_policy(assets: _Assets) -> str:
    """No fetch of any kind; the one inline style sheet and the one inline script, each pinned by its hash."""
    return (
        "default-src 'none'; "
        f"style-src 'sha256-{assets.style_hash}'; "
        f"script-src 'sha256-{assets.script_hash}'; "
        "base-uri 'none'; "
        "form-action 'none'"
    )


@dataclass(frozen=True)
class _Assets:
    style: Markup
    script: Markup
    style_hash: str  # base64 sha256 of exactly the text between <style> and </style>
    script_hash: str  # likewise for <script>


@functools.cache
def _assets() -> _Assets:
    style = _read_asset("report.css", closing_tag="</style")
    script = _read_asset("report.js", closing_tag="</script")
    return _Assets(style=Markup(style), script=Markup(script), style_hash=_sha256(style), script_hash=_sha256(script))


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _read_asset(name: str, closing_tag: str) -> str:
    text = resources.files("agentiam.reports").joinpath("templates", name).read_text(encoding="utf-8")
    # The asset is inlined raw, so it must not be able to end its own element early.
    if closing_tag in text.lower():
        raise ValueError(f"{name} must not contain {closing_tag!r}")
    return text


@functools.cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("agentiam.reports", "templates"),
        # The template is report.html.j2: ".j2" must be listed, or select_autoescape would not match it.
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["iso"] = iso_utc
    return environment


def evidence_html(evidence: Any) -> Markup:
    """Evidence as nested definition lists (maps) and bullet lists (lists), every key and leaf escaped here.

    This is a filter rather than a recursive macro because a macro call per node cost about a second per
    20,000 findings. Like Jinja's own markup-returning filters, it escapes each piece of data itself and only the
    fixed tags around them are trusted.
    """
    parts: list[str] = []
    _walk_evidence(evidence, parts)
    return Markup("".join(parts))


def _walk_evidence(value: Any, out: list[str]) -> None:
    # html.escape, not markupsafe.escape: the same five characters, without a Markup object per leaf.
    if isinstance(value, str):
        out.append(html.escape(value))
    elif isinstance(value, dict):
        if not value:
            out.append(_EMPTY)
            return
        out.append('<dl class="ev">')
        for key, child in value.items():
            out.append(f"<dt>{html.escape(str(key))}</dt><dd>")
            _walk_evidence(child, out)
            out.append("</dd>")
        out.append("</dl>")
    elif isinstance(value, list | tuple):
        if not value:
            out.append(_EMPTY)
            return
        out.append('<ul class="ev">')
        for child in value:
            out.append("<li>")
            _walk_evidence(child, out)
            out.append("</li>")
        out.append("</ul>")
    else:
        out.append(html.escape(_scalar_text(value)))


def _scalar_text(value: Any) -> str:
    # Non-string leaves are spelt as in the JSON report: null, true, 3, 2025-01-02T03:04:05Z.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return strict_json(value) if isinstance(value, float) else str(value)
    return str(json_default(value))


class _Reference(NamedTuple):
    text: str
    href: str | None  # only https:// references become links; anything else (javascript:, http:) stays text


class _RuleDetail(NamedTuple):
    remediation: str
    references: tuple[_Reference, ...]


# A NamedTuple rather than a frozen dataclass: one is built per finding, and they are cheaper to construct.
class _FindingView(NamedTuple):
    row: FindingRow
    severity: str  # a known severity or "unknown": used in class names and by the filter
    status: str
    evidence: int  # ids of the detail templates
    rule: int
    suppression: int | None


class _Details:
    """The detail templates, each distinct content once, numbered in the order findings first use them."""

    def __init__(self) -> None:
        self.evidence: dict[str, int] = {}  # evidence markup -> id
        self.rules: dict[_RuleDetail, int] = {}
        self.suppressions: dict[str, int] = {}  # canonical JSON -> id
        self._suppression_items: dict[int, list[tuple[str, str]]] = {}

    def view(self, finding: FindingRow) -> _FindingView:
        evidence = str(evidence_html(finding.evidence))
        rule = _RuleDetail(
            remediation=finding.remediation,
            references=tuple(
                _Reference(text=ref, href=ref if ref.startswith("https://") else None) for ref in finding.references
            ),
        )
        suppression = None
        if finding.suppression is not None:
            key = strict_json(finding.suppression, sort_keys=True)
            suppression = self.suppressions.setdefault(key, len(self.suppressions))
            self._suppression_items[suppression] = [
                (str(name), _scalar_text(value)) for name, value in finding.suppression.items()
            ]
        return _FindingView(
            row=finding,
            severity=finding.severity if finding.severity in SEVERITIES else "unknown",
            status=finding.status if finding.status in _STATUSES else "unknown",
            evidence=self.evidence.setdefault(evidence, len(self.evidence)),
            rule=self.rules.setdefault(rule, len(self.rules)),
            suppression=suppression,
        )

    def evidence_templates(self) -> Iterator[tuple[int, Markup]]:
        # The keys were built by evidence_html, which escapes every piece of data itself.
        return ((ident, Markup(markup)) for markup, ident in self.evidence.items())

    def rule_templates(self) -> Iterator[tuple[int, _RuleDetail]]:
        return ((ident, rule) for rule, ident in self.rules.items())

    def suppression_templates(self) -> Iterator[tuple[int, list[tuple[str, str]]]]:
        return iter(self._suppression_items.items())


def _sorted_runs(runs: list[CollectorRunRow]) -> list[CollectorRunRow]:
    # Failures first: they are what a reader of a partial scan looks for.
    return sorted(runs, key=lambda run: (run.status == "complete", run.collector, run.scope))
