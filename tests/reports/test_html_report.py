"""`report --format html`: one self-contained file that makes no request and runs nothing but its own script."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources

import pytest

from agentiam.reports.charts import BAR_WIDTH, summary_charts
from agentiam.reports.html_report import HtmlReporter, evidence_html
from agentiam.reports.model import OverdueRevocation, ReportData, ScanChanges, WorkloadRow
from tests.reports.synthetic import HOSTILE_NAME, synthetic_report


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]


@dataclass
class Page(HTMLParser):
    """Every element with its attributes, and the text of each <script> and <style>, in document order."""

    elements: list[Element] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    _in: str = ""

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in:
            texts = self.scripts if self._in == "script" else self.styles
            texts[-1] += data

    def find(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]

    def by_id(self, element_id: str) -> Element:
        [element] = [element for element in self.elements if element.attrs.get("id") == element_id]
        return element

    def has_class(self, tag: str, css_class: str) -> list[Element]:
        return [e for e in self.find(tag) if css_class in (e.attrs.get("class") or "").split()]


def render(data: ReportData) -> str:
    return HtmlReporter().render(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def section(html: str, section_id: str) -> str:
    """The markup of one top-level <section>, to check what is shown where."""
    match = re.search(rf'<section [^>]*id="{section_id}".*?</section>', html, re.DOTALL)
    assert match, section_id
    return match.group(0)


def test_reporter_registers_as_html_with_its_default_file_name():
    assert HtmlReporter.format == "html"
    assert HtmlReporter.filename == "report.html"


def test_hostile_markup_is_escaped_everywhere(report_data, hostile):
    html = render(report_data)

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '"onmouseover' not in html
    assert "&#34;onmouseover=alert(1)" in html
    assert hostile.unicode in html


def test_the_only_script_element_is_the_reports_own(report_data):
    page = parse(render(report_data))

    [script] = page.find("script")
    assert script.attrs == {}  # inline, no src
    assert len(page.scripts) == 1
    assert "alert(1)" not in page.scripts[0]
    assert page.scripts[0] == resources.files("agentiam.reports").joinpath("templates", "report.js").read_text()


def test_no_element_carries_an_event_handler_attribute(report_data):
    page = parse(render(report_data))

    handlers = [(e.tag, name) for e in page.elements for name in e.attrs if name.lower().startswith("on")]
    assert handlers == []


def sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def rows(html: str) -> list[dict[str, str | None]]:
    """The findings table's rows in document order (the live page's, then each chunk's), as their attributes."""
    return [e.attrs for e in parse(html).find("tr") if "data-fp" in e.attrs]


def test_content_security_policy_forbids_the_network_and_pins_the_style_and_the_script_by_hash(report_data):
    html = render(report_data)
    page = parse(html)

    [meta] = [m for m in page.find("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    policy = meta.attrs["content"] or ""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))

    assert directives == {
        "default-src": "'none'",
        "style-src": f"'sha256-{sha256(page.styles[0])}'",
        "script-src": f"'sha256-{sha256(page.scripts[0])}'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert "unsafe" not in policy
    assert len(page.styles) == 1 and len(page.find("style")) == 1
    # The policy must be in force before the browser meets the style or the script.
    assert html.index("Content-Security-Policy") < html.index("<style>") < html.index("<script>")


def test_no_element_carries_an_inline_style_which_the_policy_would_block(report_data):
    page = parse(render(report_data))

    assert [e.tag for e in page.elements if "style" in e.attrs] == []


def test_nothing_is_loaded_from_anywhere(report_data):
    html = render(report_data)
    page = parse(html)

    assert [e.tag for e in page.elements if "src" in e.attrs] == []
    assert page.find("link") == []
    assert page.find("iframe") == page.find("img") == page.find("object") == []
    style = resources.files("agentiam.reports").joinpath("templates", "report.css").read_text()
    assert "url(" not in style
    assert "@import" not in style


def test_only_https_references_become_links_and_they_leak_no_referrer(report_data):
    page = parse(render(report_data))
    links = page.find("a")

    assert {a.attrs["href"] for a in links if not (a.attrs["href"] or "").startswith("#")} == {
        "https://owasp.org/www-project-non-human-identities-top-10/",
        'https://example.com/"><script>alert(1)</script>',  # attribute-escaped in the markup, hence inert
    }
    for link in links:
        if not (link.attrs["href"] or "").startswith("#"):
            assert set((link.attrs["rel"] or "").split()) >= {"noreferrer", "noopener"}


def test_non_https_references_are_shown_as_text(report_data):
    html = render(report_data)

    assert "<li>javascript:alert(1)</li>" in html
    assert "<li>CIS AWS 1.16</li>" in html
    assert 'href="javascript' not in html


def test_http_urls_in_data_appear_only_as_escaped_text(report_data):
    html = render(report_data)

    for match in re.finditer(r"https?://", html):
        before = html[max(0, match.start() - 6) : match.start()]
        assert before.endswith(('href="', "&#34;", "&quot;", ">")), html[match.start() - 40 : match.end() + 40]


def test_a_partial_scan_shows_a_banner_naming_the_failed_runs(report_data):
    html = render(report_data)
    banner = section(html, "banner")

    assert "This scan is partial" in banner
    assert "<strong>kubernetes</strong>" in banner
    assert "403 Forbidden listing clusterroles &lt;script&gt;" in banner
    assert "aws-iam" not in banner


def test_a_complete_scan_shows_no_banner(make_report):
    html = render(make_report(partial=False))

    assert 'id="banner"' not in html
    assert "This scan is" not in html


def test_all_sections_are_present(report_data):
    page = parse(render(report_data))

    assert [e.attrs["id"] for e in page.find("section")] == [
        "banner",
        "summary",
        "changes",
        "agents",
        "findings",
        "issues",
    ]


def test_summary_counts_agents_identities_and_findings_by_lifecycle(report_data):
    summary = section(render(report_data), "summary")

    assert '<div class="num">2</div><div class="label">agents</div>' in summary
    assert '<div class="num">2</div><div class="label">agent identities</div>' in summary
    assert '<div class="num">3</div><div class="label">identities</div>' in summary
    assert '<div class="num">5</div><div class="label">open findings</div>' in summary
    assert '<div class="num">3</div><div class="label">new</div>' in summary
    assert '<div class="num">2</div><div class="label">persisting</div>' in summary
    assert '<div class="num">1</div><div class="label">resolved</div>' in summary


def test_summary_charts_are_inline_svg_labelled_with_every_count(report_data):
    page = parse(render(report_data))
    svgs = [e for e in page.find("svg") if e.attrs.get("role") == "img"]
    html = section(render(report_data), "summary")

    assert [svg.attrs["aria-labelledby"] for svg in svgs] == [
        f"{chart}-t {chart}-d"
        for chart in ("chart-severity", "chart-provider", "chart-category", "chart-identities", "chart-agents")
    ]
    assert '<desc id="chart-severity-d">critical: 1; high: 1; medium: 1; low: 1; info: 1</desc>' in html
    assert (
        '<desc id="chart-provider-d">aws: 3 (1 critical, 1 high, 1 info); azure: 1 (1 low); '
        "kubernetes: 1 (1 medium)</desc>"
    ) in html
    assert (
        '<desc id="chart-identities-d">aws: 1 (1 agent identities); azure: 1 (1 other identities); '
        "kubernetes: 1 (1 agent identities)</desc>"
    ) in html


def test_the_first_scan_says_there_is_nothing_to_compare_with(report_data):
    changes = section(render(report_data), "changes")

    assert "first analysed scan" in changes


def test_changes_since_the_previous_scan_list_agents_identities_and_grants(report_data):
    report_data.changes = ScanChanges(
        from_scan=6,
        new_agents=[{"uid": "aws:lambda/x", "name": "<b>new-bot</b>", "kind": "lambda_function", "scope": "123"}],
        removed_identities=[{"uid": "aws:role/old", "name": "old-role", "kind": "aws_role", "scope": "123"}],
        changed_grants=[
            {
                "identity_uid": "aws:role/kept",
                "policy_ref": "p",
                "grant_kind": "inline",
                "policy_name": "s3-writer",
                "policy_source": "inline",
                "policy_hash_before": "a",
                "policy_hash_after": "b",
            }
        ],
    )
    changes = section(render(report_data), "changes")

    assert "Changes since scan #6" in changes
    assert "&lt;b&gt;new-bot&lt;/b&gt;" in changes
    assert "old-role" in changes and "s3-writer" in changes and "aws:role/kept" in changes
    # Findings are counted from their own lifecycle: 3 new + 0 reopened, 1 resolved.
    assert '<div class="num">3</div><div class="label">new or reopened findings</div>' in changes
    assert '<div class="num">1</div><div class="label">resolved findings</div>' in changes


def test_a_long_list_of_changes_is_cut_and_counted(report_data):
    many = [{"uid": f"u{i}", "name": f"n{i}", "kind": "aws_role", "scope": "s"} for i in range(150)]
    report_data.changes = ScanChanges(from_scan=6, new_identities=many)
    changes = section(render(report_data), "changes")

    assert "<strong>n99</strong>" in changes and "<strong>n100</strong>" not in changes
    assert "… and 50 more" in changes


def test_each_agent_identity_shows_its_evidence_capabilities_and_blast_radius(report_data):
    agents = section(render(report_data), "agents")

    assert agents.count('<details class="agent"') == 2
    assert "agentiam:agent=&lt;script&gt;alert(1)&lt;/script&gt;" in agents
    assert '<span class="cap cap-admin">administrator</span>' in agents
    assert '<span class="cap">privilege-escalation <span class="n">1</span></span>' in agents
    assert '<span class="sev sev-critical">1 critical</span>' in agents
    assert '<span class="sev sev-medium">1 medium</span>' in agents
    assert "3 open findings" in agents
    assert 'data-show-subject="aws:arn:aws:iam::123456789012:role/support-agent"' in agents
    # The non-agent managed identity is counted in the summary, not listed here.
    assert "userAssignedIdentities/etl" not in agents


def test_an_agent_workload_is_shown_with_the_identity_it_runs_as(report_data):
    report_data.workloads.append(
        WorkloadRow(
            uid="aws:bedrock:agent/A1",
            name="support <i>assistant</i>",
            provider="aws",
            workload_kind="bedrock_agent",
            scope="123456789012",
            is_agent=True,
            agent_evidence=[{"reason": "agent-runtime", "detail": "Bedrock agent"}],
            runs_as=[
                {
                    "identity_uid": "aws:arn:aws:iam::123456789012:role/support-agent",
                    "mechanism": "bedrock_service_role",
                }
            ],
        )
    )
    agents = section(render(report_data), "agents")

    # The workload is the agent; the role it runs as is a hop of its chain, not an agent of its own.
    assert agents.count('<details class="agent"') == 2
    assert '<span class="agent-name">support &lt;i&gt;assistant&lt;/i&gt;</span>' in agents
    assert "runs as, through <code>bedrock_service_role</code>" in agents
    assert agents.index("support &lt;i&gt;assistant") < agents.index("support-agent &lt;script&gt;")


def test_open_findings_come_worst_first_then_the_resolved_ones(report_data):
    assert [(r["data-s"], r["data-t"]) for r in rows(render(report_data))] == [
        ("critical", "new"),
        ("high", "persisting"),
        ("medium", "persisting"),
        ("low", "new"),
        ("info", "new"),
        ("high", "resolved"),
    ]


def test_the_first_page_is_live_and_the_rest_waits_in_inert_template_chunks(make_report, make_finding):
    findings = [make_finding(fingerprint=f"fp-{i:04d}", severity="low") for i in range(120)]
    html = render(make_report(findings=findings))
    live = re.search(r'<tbody id="findings-body">(.*?)</tbody>', html, re.DOTALL)
    chunks = re.findall(r'<template class="chunk">(.*?)</template>', html, re.DOTALL)

    assert live and live.group(1).count("<tr ") == 50
    assert [chunk.count("<tr ") for chunk in chunks] == [70]
    assert "1\N{EN DASH}50 of 120 open findings" in html


def test_each_row_carries_the_attributes_the_filters_read(report_data):
    first, second, *_ = rows(render(report_data))

    assert first == {
        "data-s": "critical",
        "data-t": "new",
        "data-c": "admin",
        "data-p": "aws",
        "data-a": "1",
        "data-e": "0",
        "data-r": "0",
        "data-u": "aws:arn:aws:iam::123456789012:role/support-agent",
        "data-fp": "fp-admin-0001",
        "data-f": "2025-03-01T09:00:00Z",
        "data-b": "high",
    }
    assert "data-b" not in second and "data-x" not in second


def test_a_suppressed_finding_is_marked_and_its_suppression_detailed(make_report, make_finding):
    suppression = {"kind": "exception", "owner": "<secops>", "reason": "accepted", "expires": "2026-01-01"}
    html = render(make_report(findings=[make_finding(suppression=suppression), make_finding(fingerprint="fp-zz")]))
    suppressed, plain = rows(html)

    assert suppressed["data-x"] == "1" and suppressed["data-q"] == "0"
    assert "data-x" not in plain
    assert '<i class="supp">suppressed</i>' in html
    assert (
        '<template id="supp-0"><h4>Suppressed</h4><dl class="facts"><dt>kind</dt><dd>exception</dd>'
        "<dt>owner</dt><dd>&lt;secops&gt;</dd>"
    ) in html
    assert '<div class="num">1</div><div class="label">suppressed</div>' in html


def test_details_are_written_once_per_distinct_content(make_report, make_finding):
    shared = {"policy": "arn:aws:iam::aws:policy/PowerUserAccess"}
    findings = [make_finding(fingerprint=f"fp-{i}", evidence=shared) for i in range(3)]
    findings.append(make_finding(fingerprint="fp-own", evidence={"policy": "own"}))
    findings.append(make_finding(fingerprint="fp-rule", rule_id="other", remediation="Do the other thing."))
    html = render(make_report(findings=findings))

    assert [(r["data-e"], r["data-r"]) for r in rows(html)] == [("0", "0")] * 3 + [("1", "0"), ("2", "1")]
    assert html.count("PowerUserAccess</dd>") == 1
    assert html.count("Replace AdministratorAccess") == 1
    assert '<template id="rule-1"><h4>Remediation</h4><p class="remediation">Do the other thing.</p></template>' in html


def test_evidence_is_a_readable_nested_definition_list(report_data):
    html = render(report_data)

    assert '<dt>severity_steps</dt><dd><ul class="ev"><li><dl class="ev"><dt>step</dt><dd>base</dd>' in html
    assert "<dt>note</dt><dd>=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)</dd>" in html
    assert "<dt>conditions</dt><dd>null</dd><dt>certain</dt><dd>true</dd>" in html
    assert "<dt>last_used</dt><dd>2025-03-01T09:00:00Z</dd>" in html


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ({"<b>": "<i>x</i>"}, '<dl class="ev"><dt>&lt;b&gt;</dt><dd>&lt;i&gt;x&lt;/i&gt;</dd></dl>'),
        (["'", '"', "&"], '<ul class="ev"><li>&#x27;</li><li>&quot;</li><li>&amp;</li></ul>'),
        (
            {"a": {"b": ["<script>"]}},
            '<dl class="ev"><dt>a</dt><dd><dl class="ev"><dt>b</dt><dd><ul class="ev">'
            "<li>&lt;script&gt;</li></ul></dd></dl></dd></dl>",
        ),
        ({}, '<span class="sub">empty</span>'),
        ({"missing": float("nan")}, '<dl class="ev"><dt>missing</dt><dd>null</dd></dl>'),
        (
            {"n": 3, "f": 0.5, "no": False},
            '<dl class="ev"><dt>n</dt><dd>3</dd><dt>f</dt><dd>0.5</dd><dt>no</dt><dd>false</dd></dl>',
        ),
    ],
)
def test_evidence_filter_escapes_every_key_and_leaf_at_every_depth(evidence, expected):
    assert evidence_html(evidence) == expected


def test_findings_filter_controls_are_present(report_data):
    page = parse(render(report_data))

    for control, tag in (
        ("filter-status", "select"),
        ("filter-severity", "select"),
        ("filter-category", "select"),
        ("filter-provider", "select"),
        ("filter-suppressed", "select"),
        ("filter-agent", "input"),
        ("filter-text", "input"),
    ):
        assert page.by_id(control).tag == tag
    html = render(report_data)
    category_options = re.search(r'id="filter-category">(.*?)</select>', html, re.DOTALL)
    assert category_options and re.findall(r'value="([^"]*)"', category_options.group(1)) == [
        "",
        "admin",
        "data-access",
        "hygiene",
        "intent",
        "privilege-escalation",
        "wildcard",
    ]


def test_issues_are_listed_escaped(report_data):
    issues = section(render(report_data), "issues")

    assert "offline:authorization-details.json" in issues
    assert "Unparseable policy document &lt;script&gt;" in issues


def test_an_empty_complete_scan_still_renders_every_section(make_report):
    data = make_report(partial=False, findings=[])
    data.identities.clear()
    data.issues.clear()

    html = render(data)

    assert "No findings." in html
    assert "No agents were found." in html
    assert "No collection or parse problems." in html
    assert parse(html).find("script")


def test_the_templates_never_mark_data_safe():
    folder = resources.files("agentiam.reports").joinpath("templates")
    for name in ("report.html.j2", "findings_table.html.j2"):
        template = re.sub(r"\{#.*?#\}", "", folder.joinpath(name).read_text(), flags=re.DOTALL)  # comments may say it

        assert not re.search(r"\|\s*safe\b", template), name
        assert "autoescape false" not in template, name


def test_the_script_never_writes_markup():
    script = resources.files("agentiam.reports").joinpath("templates", "report.js").read_text()

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script


def test_a_chart_of_many_categories_keeps_the_largest_and_sums_the_rest_into_other(make_report, make_finding):
    findings = [
        make_finding(fingerprint=f"fp-{c}-{i}", category=f"cat-{c:02d}") for c in range(15) for i in range(c + 1)
    ]
    [chart] = [c for c in summary_charts(findings, [], []) if c.id == "chart-category"]

    assert [row.label for row in chart.rows] == [f"cat-{c:02d}" for c in range(14, 3, -1)] + ["other"]
    assert chart.rows[-1].total == sum(c + 1 for c in range(4))
    assert chart.rows[0].segments[0].width == BAR_WIDTH  # the largest bar spans the chart


def test_a_hostile_role_name_is_escaped_in_every_place_it_is_shown():
    html = render(synthetic_report(300, hostile_every=7))
    escaped = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"

    assert HOSTILE_NAME not in html
    assert "<img" not in html and "alert(2)</script>" not in html
    # In row cells, agent chains, chart labels' tooltips and attributes alike.
    assert html.count(escaped) > 100
    assert parse(html).find("img") == []


def test_revocations_still_present_are_listed_as_overdue_with_the_reviewer_and_escaped(report_data):
    assert 'id="overdue"' not in render(report_data)

    report_data.overdue_revocations = [
        OverdueRevocation(
            "aws:arn:aws:iam::1:role/r",
            HOSTILE_NAME,
            "permission",
            "AdminAccess",
            "arn:p",
            "",
            "",
            "bob",
            report_data.generated_at,
            "no longer needed",
            3,
            "review.csv line 7",
        )
    ]
    overdue = section(render(report_data), "overdue")

    assert "AdminAccess" in overdue and "bob" in overdue and "review.csv line 7" in overdue
    assert "scan #3" in overdue and "<script>" not in overdue
