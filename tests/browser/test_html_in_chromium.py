"""The HTML report as a person uses it, in headless Chromium with no network: it loads clean, its table sorts,
filters, searches and pages, details open, the agents view leads to an agent's findings, hostile names stay text,
and 50,000 findings still render and filter."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from agentiam.reports.model import FindingRow, ReportData, WorkloadRow
from tests.browser.conftest import LoadedReport
from tests.reports.synthetic import HOSTILE_NAME, synthetic_report

Opener = Callable[..., LoadedReport]


def open_count(data: ReportData, keep: Callable[[FindingRow], bool] = lambda f: True) -> int:
    return sum(1 for f in data.open_findings if keep(f))


def test_the_report_loads_with_no_console_error_no_request_and_no_policy_violation(open_report: Opener, report_data):
    report = open_report(report_data)

    report.assert_clean()
    assert report.page.title() == "agentiam report · scan #7"
    assert report.page.locator("#summary svg[role=img]").count() == 5
    assert report.page_info() == "1\N{EN DASH}5 of 5 open findings"


def test_a_hostile_role_name_stays_inert_text_everywhere(open_report: Opener, make_report, make_finding):
    data = make_report(partial=False, findings=[])
    agent = dataclasses.replace(
        data.identities[0], name=HOSTILE_NAME, tags={HOSTILE_NAME: HOSTILE_NAME}, owner=HOSTILE_NAME
    )
    data.identities[0] = agent
    data.findings.append(
        make_finding(
            subject_uid=agent.uid,
            subject_name=HOSTILE_NAME,
            title=HOSTILE_NAME,
            message=HOSTILE_NAME,
            category=HOSTILE_NAME,
            evidence={HOSTILE_NAME: [HOSTILE_NAME]},
            remediation=HOSTILE_NAME,
            references=[HOSTILE_NAME, f"https://example.com/{HOSTILE_NAME}"],
        )
    )
    report = open_report(data)
    page = report.page

    page.click("#findings-body button.more")  # details are attached from templates: still inert
    report.page.fill("#filter-text", "onerror")
    report.wait_for_change("1\N{EN DASH}1 of 1 open findings")

    report.assert_clean()
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].some(e => e.getAttributeNames().some(n => n.startsWith('on')))"
        )
        is False
    )
    assert page.locator("#findings-body button.more").inner_text() == HOSTILE_NAME
    assert page.locator("tr.detail-row dl.ev dt").first.inner_text() == HOSTILE_NAME
    assert page.locator("details.agent .agent-name").first.inner_text() == HOSTILE_NAME
    assert report.page_info() == "1\N{EN DASH}1 of 1 matching findings (1 in the report)"


@pytest.fixture
def estate() -> ReportData:
    """400 findings: eight pages of open ones, every status, category and provider, some suppressed."""
    return synthetic_report(400, hostile_every=37)


def test_filters_narrow_the_table_to_what_they_say(open_report: Opener, estate: ReportData):
    report = open_report(estate)

    report.change("filter-severity", "high")
    assert report.page_info().endswith(
        f"of {open_count(estate, lambda f: f.severity == 'high')} matching findings (400 in the report)"
    )
    assert set(report.visible_rows("data-s")) == {"high"}

    report.change("filter-provider", "azure")
    expected = open_count(estate, lambda f: f.severity == "high" and f.provider == "azure")
    assert f"of {expected} matching" in report.page_info()
    assert set(report.visible_rows("data-p")) == {"azure"}

    report.change("filter-severity", "")
    report.change("filter-provider", "")
    report.change("filter-category", "privilege-escalation")
    assert f"of {open_count(estate, lambda f: f.category == 'privilege-escalation')} matching" in report.page_info()

    before = report.page_info()
    report.page.check("#filter-agent")
    report.wait_for_change(before)
    expected = open_count(estate, lambda f: f.category == "privilege-escalation" and f.subject_is_agent)
    assert f"of {expected} matching" in report.page_info()
    assert set(report.visible_rows("data-a")) == {"1"}
    report.assert_clean()


def test_status_and_suppression_filters_show_new_resolved_and_suppressed_findings(
    open_report: Opener, estate: ReportData
):
    report = open_report(estate)
    fresh = open_count(estate, lambda f: f.status in ("new", "reopened"))
    resolved = sum(1 for f in estate.findings if f.status == "resolved")
    suppressed = open_count(estate, lambda f: f.suppressed)

    report.change("filter-status", "fresh")
    assert f"of {fresh} matching" in report.page_info()
    assert set(report.visible_rows("data-t")) <= {"new", "reopened"}

    report.change("filter-status", "resolved")
    assert f"of {resolved} matching" in report.page_info()
    assert set(report.visible_rows("data-t")) == {"resolved"}

    report.change("filter-status", "open")
    report.change("filter-suppressed", "only")
    assert f"of {suppressed} matching" in report.page_info()
    assert set(report.visible_rows("data-x")) == {"1"}

    report.change("filter-suppressed", "hide")
    assert f"of {open_count(estate) - suppressed} matching" in report.page_info()
    assert None in report.visible_rows("data-x") and "1" not in report.visible_rows("data-x")


def test_free_text_search_matches_names_messages_uids_and_evidence(open_report: Opener, estate: ReportData):
    report = open_report(estate)
    subject = estate.open_findings[0]
    own_policy = next(f for f in estate.open_findings if "statement" in f.evidence)
    bucket = own_policy.evidence["statement"]["Resource"]  # only in the evidence, which is not on the row

    for needle, expected in (
        (
            subject.subject_uid.upper(),
            open_count(estate, lambda f: subject.subject_uid.lower() in f.subject_uid.lower()),
        ),
        (bucket, 1),
    ):
        before = report.page_info()
        report.page.fill("#filter-text", needle)
        report.wait_for_change(before)
        assert f"of {expected} matching" in report.page_info(), needle


def sort_by(report: LoadedReport, column: str, header: str, direction: str) -> None:
    report.page.click(f"button[data-sort={column}]")
    report.page.wait_for_function(
        "([header, direction]) => document.querySelector(header).getAttribute('aria-sort') === direction",
        arg=[header, direction],
    )


def shown_subjects(report: LoadedReport) -> list[str]:
    return report.page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#findings-body > tr[data-fp] td:nth-child(4) span", "s => s.map(e => e.textContent.toLowerCase())"
    )


def test_column_headers_sort_both_ways_and_pages_follow(open_report: Opener, estate: ReportData):
    report = open_report(estate)
    names = sorted(f.subject_name.lower() for f in estate.open_findings)

    sort_by(report, "subject", "th.c-subj", "ascending")
    assert shown_subjects(report) == names[:50]

    sort_by(report, "subject", "th.c-subj", "descending")
    assert shown_subjects(report) == sorted(names, reverse=True)[:50]

    before = report.page_info()
    report.page.click("#page-next")
    report.wait_for_change(before)
    assert shown_subjects(report) == sorted(names, reverse=True)[50:100]
    assert report.page_info().startswith("51\N{EN DASH}100 of")

    sort_by(report, "severity", "th.c-sev", "ascending")
    severities = report.visible_rows("data-s")
    ranks = ["critical", "high", "medium", "low", "info"]
    assert severities[0] == "critical" and severities == sorted(severities, key=ranks.index)
    report.assert_clean()


def test_a_findings_details_open_with_its_evidence_remediation_and_facts(open_report: Opener, report_data):
    report = open_report(report_data)
    page = report.page

    page.click("#findings-body tr[data-fp=fp-admin-0001] button.more")
    detail = page.locator("#findings-body tr.detail-row")

    assert page.get_attribute("#findings-body tr[data-fp=fp-admin-0001] button.more", "aria-expanded") == "true"
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in detail.inner_text()
    assert "Replace AdministratorAccess with a policy scoped to what the agent calls." in detail.inner_text()
    assert "critical, adjusted from the rule default high" in detail.inner_text()
    assert "aws:arn:aws:iam::123456789012:role/support-agent" in detail.inner_text()
    page.click("#findings-body tr[data-fp=fp-admin-0001] button.more")
    assert page.locator("#findings-body tr.detail-row").count() == 0
    report.assert_clean()


def test_the_agents_view_shows_an_agents_chain_and_leads_to_its_findings(
    open_report: Opener, make_report, make_finding
):
    data = make_report(partial=False)
    role = data.identities[0]
    data.workloads.append(
        WorkloadRow(
            uid="aws:bedrock:agent/A1",
            name="support-assistant",
            provider="aws",
            workload_kind="bedrock_agent",
            scope="123456789012",
            is_agent=True,
            agent_evidence=[{"reason": "agent-runtime", "detail": "Bedrock agent"}],
            runs_as=[{"identity_uid": role.uid, "mechanism": "bedrock_service_role"}],
        )
    )
    report = open_report(data)
    page = report.page
    chain = page.locator("details.agent").first

    assert chain.locator(".agent-name").inner_text() == "support-assistant"
    assert "runs as, through bedrock_service_role" in chain.locator(".hop").inner_text()
    assert chain.locator(".identity-name").inner_text() == role.name
    assert "administrator" in chain.locator(".can").inner_text()
    assert "Identity has administrator access" in chain.locator(".top-findings").inner_text()
    assert "3 open findings" in chain.locator(".blast").inner_text()

    before = report.page_info()
    chain.locator("button[data-show-subject]").click()
    report.wait_for_change(before)
    assert report.page_info() == "1\N{EN DASH}3 of 3 matching findings (6 in the report)"
    assert set(report.visible_rows("data-u")) == {role.uid}
    assert page.is_visible("#subject-filter")
    page.click("#subject-clear")
    report.page.wait_for_function("() => document.getElementById('page-info').textContent.includes('of 5 matching')")
    report.assert_clean()


def test_fifty_thousand_findings_render_and_filter(open_report: Opener):
    data = synthetic_report(50_000)
    report = open_report(data, timeout_ms=180_000)

    assert report.page.locator("#findings-body > tr[data-fp]").count() == 50
    report.change("filter-severity", "critical")
    assert f"of {open_count(data, lambda f: f.severity == 'critical')} matching" in report.page_info()
    before = report.page_info()
    report.page.fill("#filter-text", "aws:id/000100")
    report.wait_for_change(before)
    expected = open_count(data, lambda f: f.severity == "critical" and "aws:id/000100" in f.subject_uid)
    assert f"of {expected} matching" in report.page_info() or (
        expected == 0 and "No finding matches" in report.page_info()
    )
    report.assert_clean()
