"""`report --format csv`: one row per finding, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json

import pytest

from agentiam.reports.csv_report import COLUMNS, CsvReporter
from agentiam.reports.model import ReportData
from agentiam.reports.safety import neutralise_formula


def rows(data: ReportData) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(CsvReporter().render(data))))


def by_fingerprint(data: ReportData) -> dict[str, dict[str, str]]:
    return {row["fingerprint"]: row for row in rows(data)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("  =1+1", "'  =1+1"),  # spreadsheets look past leading whitespace
        ("\n@x", "'\n@x"),
        (" \t x", "' \t x"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ],
)
def test_cells_a_spreadsheet_would_evaluate_get_a_leading_quote(value, expected):
    assert neutralise_formula(value) == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "support-agent", "a=b", "1-2", "'=already quoted", "Ünïcødé 代理 🤖", "<script>x</script>"]
)
def test_other_cells_are_left_untouched(value):
    assert neutralise_formula(value) == value


def test_reporter_registers_as_csv_with_its_default_file_name():
    assert CsvReporter.format == "csv"
    assert CsvReporter.filename == "findings.csv"


def test_header_row_names_the_columns(report_data):
    header = next(csv.reader(io.StringIO(CsvReporter().render(report_data))))

    assert header == list(COLUMNS)
    assert header == [
        "severity",
        "status",
        "rule_id",
        "category",
        "title",
        "subject_name",
        "subject_uid",
        "subject_kind",
        "provider",
        "scope",
        "is_agent",
        "message",
        "evidence",
        "remediation",
        "fingerprint",
        "first_seen_at",
        "last_seen_at",
        "suppressed",
        "suppression_kind",
        "suppression_reason",
        "suppression_owner",
        "suppression_expires",
    ]


def test_one_row_per_finding_resolved_included_worst_first(report_data):
    parsed = rows(report_data)

    assert len(parsed) == len(report_data.findings)
    assert [row["severity"] for row in parsed] == ["critical", "high", "high", "medium", "low", "info"]
    assert {row["status"] for row in parsed} == {"new", "persisting", "resolved"}


def test_every_hostile_formula_is_neutralised_wherever_it_lands(report_data, hostile):
    found = by_fingerprint(report_data)

    assert found["fp-privesc-0002"]["message"] == "'" + hostile.dde
    assert found["fp-secrets-0003"]["message"] == "'" + hostile.minus
    assert found["fp-owner-0004"]["subject_name"] == "'" + hostile.at


def test_no_cell_starts_like_a_formula(make_report, make_finding, hostile):
    # Each formula value in every text column, evidence included.
    findings = [
        make_finding(
            fingerprint=f"fp-{index}",
            title=value,
            message=value,
            subject_name=value,
            subject_uid=value,
            scope=value,
            remediation=value,
            rule_id=value,
            category=value,
        )
        for index, value in enumerate(hostile.formulas)
    ]
    text = CsvReporter().render(make_report(findings=findings))

    for row in list(csv.reader(io.StringIO(text)))[1:]:
        for cell in row:
            assert cell.lstrip()[:1] not in {"=", "+", "-", "@"} or cell.startswith("'"), cell


def test_values_that_are_not_formulas_are_kept_verbatim(report_data, hostile):
    row = by_fingerprint(report_data)["fp-admin-0001"]

    assert row["subject_name"] == f"support-agent {hostile.script}"
    assert row["message"] == 'Grants * on *; tagged "onmouseover=alert(1)'
    assert row["subject_uid"] == "aws:arn:aws:iam::123456789012:role/support-agent"
    assert row["rule_id"] == "aws.iam.admin-access"
    assert row["is_agent"] == "true"
    assert row["first_seen_at"] == "2025-03-01T09:00:00Z"
    assert by_fingerprint(report_data)["fp-owner-0004"]["message"] == f"No owner tag {hostile.unicode}"
    assert by_fingerprint(report_data)["fp-owner-0004"]["is_agent"] == "false"


def test_evidence_is_compact_json_that_parses_back(report_data, hostile):
    row = by_fingerprint(report_data)["fp-privesc-0002"]

    assert " " not in row["evidence"].replace("/C calc", "")  # compact separators
    assert json.loads(row["evidence"]) == {
        "certain": True,
        "combo": ["iam:PassRole", "lambda:CreateFunction"],
        "conditions": None,
        "path": {"id": hostile.at, "via": {"last_used": "2025-03-01T09:00:00Z", "service": "lambda"}},
    }


def test_lines_end_with_a_bare_newline_and_fields_are_quoted_only_when_needed(report_data):
    text = CsvReporter().render(report_data)

    assert "\r\n" not in text
    assert text.endswith("\n")
    assert text.splitlines()[1].startswith("critical,new,aws.iam.admin-access,admin,")


def test_nan_in_evidence_is_written_as_null(make_report, make_finding):
    finding = make_finding(evidence={"via_group": float("nan")})

    assert rows(make_report(findings=[finding]))[0]["evidence"] == '{"via_group":null}'
