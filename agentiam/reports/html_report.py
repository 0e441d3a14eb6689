"""`report --format html`: one self-contained file for people, which makes no network request of any kind.

Everything that comes from the scanned estate (names, tags, messages, evidence) is attacker-influenced, so the
template is autoescaped and data is never marked safe; only the report's own CSS and JS are inlined as markup.
The Content-Security-Policy allows no fetches at all and only the one inline script, pinned by its hash.
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

from agentiam.reports.model import SEVERITIES, CollectorRunRow, FindingRow, IdentityRow, ReportData
from agentiam.reports.safety import (
    iso_utc,
    json_default,
    severity_rank,
    sorted_findings,
    sorted_issues,
    strict_json,
)

_STATUSES = ("new", "reopened", "persisting", "resolved")
_EMPTY = '<span class="sub">empty</span>'


class HtmlReporter:
    format: ClassVar[str] = "html"
    filename: ClassVar[str] = "report.html"

    def render(self, data: ReportData) -> str:
        return "".join(self.stream(data))

    def stream(self, data: ReportData) -> Iterator[str]:
        """The page in pieces, so that writing a report of 20,000 findings never holds all of it in memory."""
        assets = _assets()
        template = _environment().get_template("report.html.j2")
        return template.generate(
            data=data,
            scan=data.scan,
            assets=assets,
            csp=content_security_policy(assets.script_hash),
            severities=SEVERITIES,
            incomplete=data.scan.status != "complete",
            failed_runs=[run for run in data.scan.collector_runs if run.status != "complete"],
            runs=_sorted_runs(data.scan.collector_runs),
            severity_bars=_severity_bars(data.severity_counts()),
            status_counts=data.status_counts(),
            agents=sorted(data.agents, key=_agent_sort_key),
            open_findings=[_finding_view(f) for f in sorted_findings(data.open_findings)],
            resolved_findings=[_finding_view(f) for f in sorted_findings(data.findings) if f.status == "resolved"],
            issues=sorted_issues(data.issues),
        )


def content_security_policy(script_hash: str) -> str:
    """No fetch of any kind; inline styles; the one inline script, pinned by hash instead of `unsafe-inline`."""
    return (
        "default-src 'none'; "
        "style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; "
        "img-src data:; "
        "base-uri 'none'; "
        "form-action 'none'"
    )


@dataclass(frozen=True)
class _Assets:
    style: Markup
    script: Markup
    script_hash: str  # base64 sha256 of exactly the text between <script> and </script>


@functools.cache
def _assets() -> _Assets:
    style = _read_asset("report.css", closing_tag="</style")
    script = _read_asset("report.js", closing_tag="</script")
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return _Assets(style=Markup(style), script=Markup(script), script_hash=base64.b64encode(digest).decode("ascii"))


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
    environment.filters["evidence"] = evidence_html
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


# NamedTuples rather than frozen dataclasses: one is built per finding, and they are cheaper to construct.
class _Reference(NamedTuple):
    text: str
    href: str | None  # only https:// references become links; anything else (javascript:, http:) stays text


class _FindingView(NamedTuple):
    row: FindingRow
    severity: str  # a known severity or "unknown": used in class names and by the filter
    status: str
    references: tuple[_Reference, ...]


def _finding_view(finding: FindingRow) -> _FindingView:
    return _FindingView(
        row=finding,
        severity=finding.severity if finding.severity in SEVERITIES else "unknown",
        status=finding.status if finding.status in _STATUSES else "unknown",
        references=tuple(
            _Reference(text=ref, href=ref if ref.startswith("https://") else None) for ref in finding.references
        ),
    )


class _Bar(NamedTuple):
    severity: str
    count: int
    width: float  # percent of the widest bar


def _severity_bars(counts: dict[str, int]) -> list[_Bar]:
    widest = max(counts.values(), default=0) or 1
    return [_Bar(severity, count, round(100 * count / widest, 1)) for severity, count in counts.items()]


def _sorted_runs(runs: list[CollectorRunRow]) -> list[CollectorRunRow]:
    # Failures first: they are what a reader of a partial scan looks for.
    return sorted(runs, key=lambda run: (run.status == "complete", run.collector, run.scope))


def _agent_sort_key(agent: IdentityRow) -> tuple[Any, ...]:
    # Agents with the worst open findings first, most of them first; then by name.
    worst = min((severity_rank(s) for s, n in agent.finding_counts.items() if n), default=len(SEVERITIES))
    return (worst, -sum(agent.finding_counts.values()), agent.name, agent.uid)
