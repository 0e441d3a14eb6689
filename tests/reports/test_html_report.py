"""`report --format html`: one self-contained file that makes no request and runs nothing but its own script."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources

import pytest

from agentiam.reports.html_report import HtmlReporter, evidence_html
from agentiam.reports.model import ReportData


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]


@dataclass
class Page(HTMLParser):
    """Every element with its attributes, the text of each <script>, and the ids in document order."""

    elements: list[Element] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    _in_script: bool = False

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

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


def test_content_security_policy_forbids_the_network_and_pins_the_script_by_hash(report_data):
    html = render(report_data)
    page = parse(html)

    [meta] = [m for m in page.find("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    policy = meta.attrs["content"] or ""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()

    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["img-src"] == "data:"
    assert "unsafe-inline" not in directives["script-src"]
    # The policy must be in force before the browser meets the script.
    assert html.index("Content-Security-Policy") < html.index("<script>")


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

    assert {a.attrs["href"] for a in links} == {
        "https://owasp.org/www-project-non-human-identities-top-10/",
        'https://example.com/"><script>alert(1)</script>',  # attribute-escaped in the markup, hence inert
    }
    for link in links:
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
        "agents",
        "findings",
        "resolved",
        "issues",
    ]


def test_summary_counts_findings_by_severity_and_by_lifecycle(report_data):
    summary = section(render(report_data), "summary")

    for severity in ("critical", "high", "medium", "low", "info"):
        assert f'aria-label="1 {severity}"' in summary
    assert '<div class="num">3</div><div class="label">new</div>' in summary
    assert '<div class="num">2</div><div class="label">persisting</div>' in summary
    assert '<div class="num">1</div><div class="label">resolved</div>' in summary
    assert '<div class="num">2</div><div class="label">agent identities</div>' in summary


def test_each_agent_shows_its_evidence_workloads_and_open_finding_counts(report_data):
    agents = section(render(report_data), "agents")

    assert agents.count('<article class="agent">') == 2
    assert "agentiam:agent=&lt;script&gt;alert(1)&lt;/script&gt;" in agents
    assert "support-bot &lt;script&gt;" in agents
    assert "lambda_exec_role" in agents
    assert '<span class="sev sev-critical">1 critical</span>' in agents
    assert '<span class="sev sev-medium">1 medium</span>' in agents
    assert "team=&#34;onmouseover=alert(1)" in agents
    # The non-agent managed identity is counted in the summary, not listed here.
    assert "userAssignedIdentities/etl" not in agents


def test_open_findings_are_listed_worst_first_and_resolved_ones_apart(report_data):
    html = render(report_data)

    open_rows = re.findall(r'<tr data-sev="(\w+)">', section(html, "findings"))
    resolved = section(html, "resolved")
    assert open_rows == ["critical", "high", "medium", "low", "info"]
    assert re.findall(r'<tr data-sev="(\w+)">', resolved) == ["high"]
    assert "fp-wild-0006" in resolved
    assert "fp-wild-0006" not in section(html, "findings")
    assert "<details>" in resolved and "<details open" not in resolved  # collapsed


def test_evidence_is_a_readable_nested_definition_list(report_data):
    findings = section(render(report_data), "findings")

    assert '<dt>severity_steps</dt><dd><ul class="ev"><li><dl class="ev"><dt>step</dt><dd>base</dd>' in findings
    assert "<dt>note</dt><dd>=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)</dd>" in findings
    assert "<dt>conditions</dt><dd>null</dd><dt>certain</dt><dd>true</dd>" in findings
    assert "<dt>last_used</dt><dd>2025-03-01T09:00:00Z</dd>" in findings


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

    assert page.by_id("filter-severity").tag == "select"
    assert page.by_id("filter-text").tag == "input"
    options = [e.attrs["value"] for e in page.elements if e.tag == "option"]
    assert options == ["", "critical", "high", "medium", "low", "info"]


def test_issues_are_listed_escaped(report_data):
    issues = section(render(report_data), "issues")

    assert "offline:authorization-details.json" in issues
    assert "Unparseable policy document &lt;script&gt;" in issues


def test_an_empty_complete_scan_still_renders_every_section(make_report):
    data = make_report(partial=False, findings=[])
    data.identities.clear()
    data.issues.clear()

    html = render(data)

    assert "No open findings." in html
    assert "No agent identities were found." in html
    assert "No collection or parse problems." in html
    assert "Nothing was resolved in this scan." in html
    assert parse(html).find("script")


def test_the_template_never_marks_data_safe():
    source = resources.files("agentiam.reports").joinpath("templates", "report.html.j2").read_text()
    template = re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL)  # comments may mention it

    assert not re.search(r"\|\s*safe\b", template)
    assert "autoescape false" not in template


# A stand-in for the few DOM calls the filter makes: it proves the script only reads row text and toggles `hidden`.
FAKE_DOM = """
const rows = ROWS.map(([sev, text]) => ({dataset: {sev}, textContent: text, hidden: false}));
const handlers = {};
const control = (id) => ({id, value: "", addEventListener: (type, fn) => { handlers[id + ":" + type] = fn; }});
const controls = {"filter-severity": control("filter-severity"), "filter-text": control("filter-text"),
                  "filter-count": {textContent: ""}};
globalThis.document = {
  getElementById: (id) => controls[id],
  querySelectorAll: (selector) => { if (selector !== "tr[data-sev]") throw new Error(selector); return rows; },
};
eval(SCRIPT);
const visible = () => rows.filter((row) => !row.hidden).map((row) => row.textContent);
const results = {};
controls["filter-severity"].value = "high";
handlers["filter-severity:change"]();
results.high = visible();
controls["filter-text"].value = "  PASSROLE ";
handlers["filter-text:input"]();
results.highAndText = visible();
results.count = controls["filter-count"].textContent;
controls["filter-severity"].value = "";
controls["filter-text"].value = "";
handlers["filter-text:input"]();
results.all = visible();
console.log(JSON.stringify(results));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_filter_script_hides_rows_by_severity_and_text():
    script = resources.files("agentiam.reports").joinpath("templates", "report.js").read_text()
    rows = [["critical", "admin on *"], ["high", "iam:PassRole combo"], ["high", "wildcard s3"]]
    program = f"const ROWS = {json.dumps(rows)};\nconst SCRIPT = {json.dumps(script)};\n{FAKE_DOM}"

    completed = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True, timeout=30)

    assert json.loads(completed.stdout) == {
        "high": ["iam:PassRole combo", "wildcard s3"],
        "highAndText": ["iam:PassRole combo"],
        "count": "1 of 3 findings shown",
        "all": ["admin on *", "iam:PassRole combo", "wildcard s3"],
    }
