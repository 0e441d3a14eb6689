"""`report --format sarif`: SARIF 2.1.0 for GitHub code scanning, with an inventory file its results point into.

GitHub rejects a result without a physical location, and findings are about cloud identities, not source lines.
Each result is therefore anchored to the line of its subject in `agentiam-inventory.txt`, a companion file written
beside the SARIF with one line per identity. Only open findings are results: code scanning closes every alert a
new upload does not mention, which is what "resolved" means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from agentiam.findings.registry import RuleMeta, prose
from agentiam.reports.json_report import TOOL_NAME
from agentiam.reports.model import FindingRow, ReportData
from agentiam.reports.safety import iso_utc, sorted_findings, strict_json

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INVENTORY_ANCHOR = "agentiam-inventory.txt"
FINGERPRINT_KEY = "agentiamFingerprint/v1"

# GitHub rejects a run with more results than this (and displays the worst 5,000 of those it accepts):
# https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/results-exceed-limit
MAX_RESULTS = 25_000

# GitHub buckets `security-severity` as critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9; each value sits
# inside its band. Info is 0.0, below "low", so GitHub shows no security severity for it.
# https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning#reportingdescriptor-object
SECURITY_SEVERITY: dict[str, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL: dict[str, str] = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
BASELINE_STATE: dict[str, str] = {"new": "new", "persisting": "unchanged"}

_SAFE_URL = re.compile(r"https?://[^\s<>\"'`()\[\]\\]+")
# Characters that are markup anywhere in a paragraph; `.`, `-`, `+` matter only at its start (lists), handled there.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()<>#!|~&])")
_MARKDOWN_LIST_START = re.compile(r"^(\d*)([-+.)])")


class SarifReporter:
    format: ClassVar[str] = "sarif"
    filename: ClassVar[str] = "findings.sarif"

    def __init__(self, rules: Mapping[str, RuleMeta] | None = None) -> None:
        # Rule metadata is not part of ReportData: by default it comes from the installed rules, read at render
        # time; a finding whose rule is not installed (a plugin removed since the scan) falls back on itself.
        self._rules = rules

    def render(self, data: ReportData) -> str:
        # Compact: an `indent` drops the json module to pure Python, five times slower on 25,000 results, and this
        # file is read by code scanning, not by people (the JSON and HTML reports are).
        return strict_json(self.document(data), ensure_ascii=False) + "\n"

    def companions(self, data: ReportData) -> dict[str, str]:
        return {INVENTORY_ANCHOR: inventory_anchor(data)}

    def document(self, data: ReportData) -> dict[str, Any]:
        """The SARIF log as plain Python."""
        open_findings = sorted_findings(data.open_findings)
        kept = open_findings[:MAX_RESULTS]  # worst first, so what is dropped is the least severe
        rules = self._descriptors(data)
        index = {descriptor["id"]: position for position, descriptor in enumerate(rules)}
        lines = anchor_lines(data)
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": TOOL_NAME,
                    "version": data.tool_version,
                    "semanticVersion": data.tool_version,
                    "rules": rules,
                }
            },
            "invocations": [_invocation(data)],
            "automationDetails": {"id": f"{TOOL_NAME}/scan-{data.scan.id}"},
            "results": [_result(finding, index[finding.rule_id], lines[finding.subject_uid]) for finding in kept],
            "properties": {
                "scanId": data.scan.id,
                "scanStatus": data.scan.status,
                "openFindings": len(open_findings),
                "resultsEmitted": len(kept),
                "truncated": len(kept) < len(open_findings),
                "notes": _run_notes(len(open_findings), len(kept), len(data.findings) - len(open_findings)),
            },
        }
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    def _descriptors(self, data: ReportData) -> list[dict[str, Any]]:
        """Every installed rule, and every rule a finding names that is not installed, sorted by id."""
        installed = self._installed()
        fallback: dict[str, FindingRow] = {}
        for finding in sorted_findings(data.findings):
            if finding.rule_id not in installed:
                fallback.setdefault(finding.rule_id, finding)
        descriptors = {rule_id: _descriptor(meta) for rule_id, meta in installed.items()}
        descriptors.update({rule_id: _fallback_descriptor(finding) for rule_id, finding in fallback.items()})
        return [descriptors[rule_id] for rule_id in sorted(descriptors)]

    def _installed(self) -> Mapping[str, RuleMeta]:
        if self._rules is not None:
            return self._rules
        from agentiam.plugins import installed_plugins  # at render time: plugins load reporters themselves

        return {rule_id: found.meta for rule_id, found in installed_plugins().rules.items()}


def inventory_anchor(data: ReportData) -> str:
    """The companion file results point into: `kind<TAB>uid<TAB>name`, one line per identity, sorted.

    A finding's subject that is not an identity (a workload, a secret) gets a line of its own too. Non-printable
    characters are escaped, so that a name holding a newline cannot shift the lines the results point at.
    """
    return "".join(f"{line}\n" for line in _anchor_entries(data).values())


def anchor_lines(data: ReportData) -> dict[str, int]:
    """Subject uid -> its line number (from 1) in the inventory anchor."""
    return {uid: number for number, uid in enumerate(_anchor_entries(data), start=1)}


def _anchor_entries(data: ReportData) -> dict[str, str]:
    """uid -> its anchor line, in file order."""
    entries = {i.uid: (i.identity_kind, i.uid, i.name) for i in data.identities}
    for finding in data.findings:
        entries.setdefault(finding.subject_uid, (finding.subject_kind, finding.subject_uid, finding.subject_name))
    rendered = {uid: "\t".join(_printable(field) for field in fields) for uid, fields in entries.items()}
    return dict(sorted(rendered.items(), key=lambda item: (item[1], item[0])))


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() and char != "\\" else _escape(char) for char in text)


def _escape(char: str) -> str:
    return "\\\\" if char == "\\" else f"\\u{ord(char):04x}"


def _descriptor(meta: RuleMeta) -> dict[str, Any]:
    return _reporting_descriptor(
        rule_id=meta.id,
        title=meta.title,
        rationale=meta.rationale,
        remediation=meta.remediation,
        references=list(meta.references),
        severity=meta.severity,
        category=meta.category,
        provider=meta.provider,
    )


def _fallback_descriptor(finding: FindingRow) -> dict[str, Any]:
    return _reporting_descriptor(
        rule_id=finding.rule_id,
        title=finding.title,
        rationale=finding.title,
        remediation=finding.remediation,
        references=finding.references,
        severity=finding.base_severity,
        category=finding.category,
        provider=finding.provider,
    )


def _reporting_descriptor(
    *,
    rule_id: str,
    title: str,
    rationale: str,
    remediation: str,
    references: list[str],
    severity: str,
    category: str,
    provider: str,
) -> dict[str, Any]:
    # GitHub reads security-severity from the rule only, so it carries the rule's base severity; a result's own
    # (graded) severity is its level and its properties.
    return {
        "id": rule_id,
        "name": _pascal_case(title) or rule_id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": prose(rationale)},
        "defaultConfiguration": {"level": LEVEL.get(severity, "warning")},
        "help": {
            "text": _help_text(rationale, remediation, references),
            "markdown": _help_markdown(rationale, remediation, references),
        },
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(severity, SECURITY_SEVERITY["medium"]),
            "tags": ["security", category, provider],
            # Rules evaluate the policies themselves, not heuristics over code: few false positives.
            "precision": "high",
        },
    }


def _pascal_case(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", text))


def _help_text(rationale: str, remediation: str, references: list[str]) -> str:
    parts = [prose(rationale), f"Remediation: {prose(remediation)}"]
    if references:
        parts.append("References:\n" + "\n".join(f"- {reference}" for reference in references))
    return "\n\n".join(parts)


def _help_markdown(rationale: str, remediation: str, references: list[str]) -> str:
    """Markdown whose every interpolated value is escaped: rule text from a plugin is data, not markup."""
    parts = [_markdown_text(rationale), f"**Remediation:** {_markdown_text(remediation)}"]
    if references:
        parts.append("**References:**\n\n" + "\n".join(f"- {_markdown_reference(r)}" for r in references))
    return "\n\n".join(parts)


def _markdown_text(text: str) -> str:
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", prose(text))
    return _MARKDOWN_LIST_START.sub(r"\1\\\2", escaped, count=1)


def _markdown_reference(reference: str) -> str:
    return f"<{reference}>" if _SAFE_URL.fullmatch(reference) else _markdown_text(reference)


def _result(finding: FindingRow, rule_index: int, line: int) -> dict[str, Any]:
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL.get(finding.severity, "warning"),
        "message": {"text": f"{finding.subject_name}: {finding.message}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": INVENTORY_ANCHOR},
                    "region": {"startLine": line},
                },
                "logicalLocations": [
                    {"name": finding.subject_name, "fullyQualifiedName": finding.subject_uid, "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "baselineState": BASELINE_STATE.get(finding.status, "new"),
        **_suppressions(finding),
        "properties": {
            "severity": finding.severity,
            "security-severity": SECURITY_SEVERITY.get(finding.severity, SECURITY_SEVERITY["medium"]),
            "status": finding.status,
            "subject": {
                "uid": finding.subject_uid,
                "kind": finding.subject_kind,
                "provider": finding.provider,
                "scope": finding.scope,
                "is_agent": finding.subject_is_agent,
            },
            "firstSeenAt": iso_utc(finding.first_seen_at),
        },
    }


def _suppressions(finding: FindingRow) -> dict[str, Any]:
    """A suppressed finding stays a result, with a `suppressions` entry: GitHub then shows the alert dismissed.

    "external": the acceptance lives outside the scanned artefact (a suppressions file or an access review).
    """
    suppression = finding.suppression
    if suppression is None:
        return {}
    justification = (
        f"{suppression['reason']} (owner {suppression['owner']}, until {suppression['expires']}; "
        f"{suppression['kind']} {suppression['source']})"
    )
    return {
        "suppressions": [
            {
                "kind": "external",
                "status": "accepted",
                "justification": justification,
                "properties": {key: suppression[key] for key in ("kind", "owner", "expires", "source")},
            }
        ]
    }


def _invocation(data: ReportData) -> dict[str, Any]:
    """A partial scan says so: alerts it fails to repeat are closed by GitHub, so the reader must know why."""
    notifications = [
        {"level": "error", "message": {"text": f"collector {run.collector} failed on {run.scope}: {run.error}"}}
        for run in data.scan.collector_runs
        if run.status != "complete"
    ]
    notifications += [
        {"level": "warning", "message": {"text": f"{issue.source}: {issue.problem}"}} for issue in data.issues
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": data.scan.status == "complete",
        "startTimeUtc": iso_utc(data.scan.started_at),
        "toolExecutionNotifications": notifications,
    }
    if data.scan.finished_at is not None:
        invocation["endTimeUtc"] = iso_utc(data.scan.finished_at)
    return invocation


def _run_notes(open_count: int, emitted: int, resolved: int) -> list[str]:
    notes = [
        f"Only open findings are results; {resolved} resolved by this scan are omitted, "
        "and GitHub closes the alerts an upload no longer reports."
    ]
    if emitted < open_count:
        notes.append(
            f"GitHub rejects more than {MAX_RESULTS} results per run: the worst {emitted} of {open_count} open "
            "findings are reported; see the JSON report for all of them."
        )
    return notes
