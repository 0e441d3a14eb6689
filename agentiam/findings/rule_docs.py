"""The rule catalogue as Markdown, generated from rule metadata (docs/rules.md; CI checks it is current)."""

from __future__ import annotations

from collections.abc import Iterable

from agentiam.findings.registry import Rule, prose

HEADER = """# Rule catalogue

Generated from the rules' metadata by `agentiam rules doc > docs/rules.md`; a test fails when it is stale.

Severity is the base severity. Each finding's evidence lists the steps that adjusted it: raised one step when the
identity is an AI agent's, lowered one step when the grant holds only under conditions.
"""


def render_markdown(rules: Iterable[Rule]) -> str:
    ordered = sorted(rules, key=lambda r: r.id)
    lines = [HEADER, "| id | severity | category | title |", "|---|---|---|---|"]
    lines += [
        f"| [{r.id}](#{r.id.lower()}) | {r.meta.severity} | {r.meta.category} | {r.meta.title} |" for r in ordered
    ]
    for r in ordered:
        meta = r.meta
        lines += [
            "",
            f"## {meta.id}",
            "",
            f"**{meta.title}** — {meta.provider}, {meta.category}, base severity {meta.severity}.",
            "",
            prose(meta.rationale),
            "",
            f"*Remediation.* {prose(meta.remediation)}",
        ]
        if meta.references:
            lines += ["", "References:", *[f"- {ref}" for ref in meta.references]]
        if meta.parameters:
            lines += [
                "",
                f"Parameters (override under `[rules.{meta.id}]`):",
                *[f"- `{key}` = `{value!r}`" for key, value in meta.parameters.items()],
            ]
    return "\n".join(lines) + "\n"
