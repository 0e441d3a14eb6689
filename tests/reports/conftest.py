"""A realistic ReportData for the reporter tests, seeded with values that try to break each output format."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentiam.reports.model import (
    CollectorRunRow,
    FindingRow,
    IdentityRow,
    IssueRow,
    ReportData,
    ScanSummary,
)

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"onmouseover=alert(1)'
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"
AT_FORMULA = "@SUM(1)"
MINUS_FORMULA = "-2+3"
UNICODE = "Ünïcødé 代理 🤖 naïve—café"

HOSTILE_VALUES = (SCRIPT, ATTRIBUTE_BREAKOUT, HYPERLINK, DDE, AT_FORMULA, MINUS_FORMULA, UNICODE)
FORMULA_VALUES = (HYPERLINK, DDE, AT_FORMULA, MINUS_FORMULA)

STARTED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
FINISHED = STARTED + timedelta(minutes=4, seconds=30)
GENERATED = STARTED + timedelta(minutes=5)

AGENT_ROLE_UID = "aws:arn:aws:iam::123456789012:role/support-agent"
AGENT_SA_UID = "kubernetes:prod:sa:agents/planner"
PLAIN_MI_UID = (
    "azure:/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/etl"
)


@dataclasses.dataclass(frozen=True)
class Hostile:
    """The values planted in the report data: markup, attribute breakouts, spreadsheet formulas, unicode."""

    script: str = SCRIPT
    attribute: str = ATTRIBUTE_BREAKOUT
    hyperlink: str = HYPERLINK
    dde: str = DDE
    at: str = AT_FORMULA
    minus: str = MINUS_FORMULA
    unicode: str = UNICODE
    formulas: tuple[str, ...] = FORMULA_VALUES
    all: tuple[str, ...] = HOSTILE_VALUES


@pytest.fixture
def hostile() -> Hostile:
    return Hostile()


def _finding(**overrides: Any) -> FindingRow:
    base = FindingRow(
        rule_id="aws.iam.admin-access",
        category="admin",
        severity="critical",
        base_severity="high",
        title="Identity has administrator access",
        message="The role can perform every action on every resource.",
        fingerprint="fp-admin-0001",
        status="new",
        subject_uid=AGENT_ROLE_UID,
        subject_name="support-agent",
        subject_kind="aws_role",
        provider="aws",
        scope="123456789012",
        subject_is_agent=True,
        evidence={},
        remediation="Replace AdministratorAccess with a policy scoped to what the agent calls.",
        references=[],
        first_seen_at=STARTED,
        last_seen_at=STARTED,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def make_finding() -> Callable[..., FindingRow]:
    """A valid finding; any field can be overridden by keyword."""
    return _finding


def _findings() -> list[FindingRow]:
    earlier = STARTED - timedelta(days=30)
    return [
        _finding(
            subject_name=f"support-agent {SCRIPT}",
            message=f"Grants * on *; tagged {ATTRIBUTE_BREAKOUT}",
            evidence={
                "policy": "arn:aws:iam::aws:policy/AdministratorAccess",
                "actions": ["*"],
                "note": HYPERLINK,
                "severity_steps": [
                    {"step": "base", "severity": "high"},
                    {"step": "raised", "severity": "critical", "because": f"identity is an agent's {SCRIPT}"},
                ],
            },
            references=[
                "https://owasp.org/www-project-non-human-identities-top-10/",
                "javascript:alert(1)",
                'https://example.com/"><script>alert(1)</script>',
                "CIS AWS 1.16",
            ],
        ),
        _finding(
            rule_id="aws.iam.privilege-escalation",
            category="privilege-escalation",
            severity="high",
            base_severity="high",
            title="Privilege escalation path",
            message=DDE,
            fingerprint="fp-privesc-0002",
            status="persisting",
            evidence={
                "combo": ["iam:PassRole", "lambda:CreateFunction"],
                "path": {"id": AT_FORMULA, "via": {"service": "lambda", "last_used": STARTED}},
                "conditions": None,
                "certain": True,
            },
            first_seen_at=earlier,
        ),
        _finding(
            rule_id="k8s.rbac.secrets-read",
            category="data-access",
            severity="medium",
            base_severity="medium",
            title="Reads every secret in its namespace",
            message=MINUS_FORMULA,
            fingerprint="fp-secrets-0003",
            status="persisting",
            subject_uid=AGENT_SA_UID,
            subject_name="planner",
            subject_kind="k8s_service_account",
            provider="kubernetes",
            scope="prod",
            evidence={"verbs": ["get", "list", "watch"], "resources": ["secrets"], "namespace": "agents"},
            first_seen_at=earlier,
        ),
        _finding(
            rule_id="azure.hygiene.no-owner",
            category="hygiene",
            severity="low",
            base_severity="low",
            title="No owner",
            message=f"No owner tag {UNICODE}",
            fingerprint="fp-owner-0004",
            subject_uid=PLAIN_MI_UID,
            subject_name=AT_FORMULA,
            subject_kind="azure_managed_identity",
            provider="azure",
            scope="0000",
            subject_is_agent=False,
            evidence={"tags": {"team": ATTRIBUTE_BREAKOUT}},
        ),
        _finding(
            rule_id="aws.intent.undeclared",
            category="intent",
            severity="info",
            base_severity="info",
            title="Agent purpose not declared",
            message="No agentiam:purpose tag.",
            fingerprint="fp-intent-0005",
            evidence={"unused_days": 120, "ratio": 0.25, "empty": {}, "none": []},
        ),
        _finding(
            rule_id="aws.iam.wildcard-resource",
            category="wildcard",
            severity="high",
            base_severity="medium",
            title="Wildcard resource",
            message="s3:GetObject on * (resolved by this scan)",
            fingerprint="fp-wild-0006",
            status="resolved",
            evidence={"actions": ["s3:GetObject"], "resource": "*"},
            first_seen_at=earlier,
        ),
    ]


def _identities() -> list[IdentityRow]:
    return [
        IdentityRow(
            uid=AGENT_ROLE_UID,
            name=f"support-agent {SCRIPT}",
            provider="aws",
            identity_kind="aws_role",
            scope="123456789012",
            is_agent=True,
            agent_evidence=[
                {"reason": "tag", "detail": f"agentiam:agent={SCRIPT}"},
                {"reason": "workload", "detail": "assumed by a Bedrock agent"},
            ],
            owner=HYPERLINK,
            tags={"team": ATTRIBUTE_BREAKOUT, "cost": AT_FORMULA, "name": UNICODE},
            last_used_at=STARTED - timedelta(days=1),
            created_at=STARTED - timedelta(days=400),
            finding_counts={"critical": 1, "high": 1, "info": 1},
            workloads=[
                {
                    "uid": "aws:lambda:us-east-1:123456789012:function/support-bot",
                    "name": f"support-bot {SCRIPT}",
                    "kind": "lambda_function",
                    "mechanism": "lambda_exec_role",
                },
            ],
        ),
        IdentityRow(
            uid=AGENT_SA_UID,
            name="planner",
            provider="kubernetes",
            identity_kind="k8s_service_account",
            scope="prod",
            is_agent=True,
            agent_evidence=[{"reason": "label", "detail": "app=ai-agent"}],
            owner=None,
            tags={},
            last_used_at=None,
            created_at=None,
            finding_counts={"medium": 1},
            workloads=[],
        ),
        IdentityRow(
            uid=PLAIN_MI_UID,
            name="etl",
            provider="azure",
            identity_kind="azure_managed_identity",
            scope="0000",
            is_agent=False,
            agent_evidence=[],
            owner=None,
            tags={},
            last_used_at=None,
            created_at=None,
            finding_counts={"low": 1},
            workloads=[],
        ),
    ]


def _collector_runs(partial: bool) -> list[CollectorRunRow]:
    kubernetes = CollectorRunRow(
        collector="kubernetes",
        scope="prod",
        status="complete",
        error=None,
        counts={"identities": 12, "workloads": 40},
        api_calls=18,
        throttled=0,
    )
    if partial:
        kubernetes = dataclasses.replace(
            kubernetes, status="failed", error=f"403 Forbidden listing clusterroles {SCRIPT}", counts={}
        )
    return [
        CollectorRunRow(
            collector="aws-iam",
            scope="123456789012",
            status="complete",
            error=None,
            counts={"identities": 3, "policies": 7},
            api_calls=42,
            throttled=2,
        ),
        kubernetes,
    ]


def _report(partial: bool = True, findings: list[FindingRow] | None = None) -> ReportData:
    return ReportData(
        tool_version="1.2.3",
        generated_at=GENERATED,
        scan=ScanSummary(
            id=7,
            started_at=STARTED,
            finished_at=FINISHED,
            status="partial" if partial else "complete",
            collector_runs=_collector_runs(partial),
        ),
        findings=_findings() if findings is None else findings,
        identities=_identities(),
        issues=[
            IssueRow(
                source="offline:authorization-details.json",
                problem=f"Unparseable policy document {SCRIPT} {HYPERLINK}",
                severity="warning",
                subject_uid=AGENT_ROLE_UID,
            ),
        ],
    )


@pytest.fixture
def make_report() -> Callable[..., ReportData]:
    """`make_report(partial=True, findings=None)`: a scan of three identities, two of them agents'.

    By default the scan is partial (the kubernetes collector failed) and holds six findings of every severity
    and status; pass `findings=` to replace them.
    """
    return _report


@pytest.fixture
def report_data() -> ReportData:
    return _report()
