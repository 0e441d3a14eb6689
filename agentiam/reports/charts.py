"""The HTML summary's charts as geometry: horizontal stacked bars, counted with pandas, drawn as inline SVG.

The template draws what these describe; nothing here is markup, so every label is escaped where it is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from agentiam.reports.agent_chains import AgentChain
from agentiam.reports.model import SEVERITIES, FindingRow, IdentityRow

# The chart's coordinate system (viewBox units): labels on the left, bars, then the row's total.
WIDTH = 640
LABEL_WIDTH = 170
BAR_WIDTH = 400
ROW_HEIGHT = 24
BAR_HEIGHT = 14
MAX_ROWS = 12  # a chart of 40 categories reads as noise: the rest are summed into "other"
PALETTE_SIZE = 6  # fill-k0 .. fill-k5 in report.css, for keys that are not severities


class Segment(NamedTuple):
    key: str
    count: int
    x: float
    width: float


class BarRow(NamedTuple):
    label: str
    total: int
    y: int
    segments: tuple[Segment, ...]


class Chart(NamedTuple):
    id: str  # unique in the page: the SVG's <title> and <desc> are referenced by it
    title: str
    description: str  # every count in words, for screen readers
    keys: tuple[str, ...]  # the stack's layers, in order; their legend
    fills: dict[str, str]  # key -> CSS class
    rows: tuple[BarRow, ...]
    height: int

    stacked: bool  # more than one layer per bar: the chart has a legend


def summary_charts(
    open_findings: Sequence[FindingRow], identities: Sequence[IdentityRow], chains: Sequence[AgentChain]
) -> list[Chart]:
    findings = pd.DataFrame(
        [(f.severity, f.provider, f.category) for f in open_findings], columns=["severity", "provider", "category"]
    )
    identity_frame = pd.DataFrame(
        [(i.provider, "agent identities" if i.is_agent else "other identities") for i in identities],
        columns=["provider", "kind"],
    )
    agent_frame = pd.DataFrame([(c.provider, c.kind) for c in chains], columns=["provider", "kind"])
    return [
        _chart("chart-severity", "Open findings by severity", findings, "severity", "severity", list(SEVERITIES)),
        _chart("chart-provider", "Open findings by provider and severity", findings, "provider", "severity"),
        _chart("chart-category", "Open findings by category and severity", findings, "category", "severity"),
        _chart(
            "chart-identities",
            "Identities by provider",
            identity_frame,
            "provider",
            "kind",
            row_order=None,
            keys=["agent identities", "other identities"],
        ),
        _chart("chart-agents", "Agents by provider and kind", agent_frame, "provider", "kind"),
    ]


def _chart(
    chart_id: str,
    title: str,
    frame: pd.DataFrame,
    row: str,
    stack: str,
    row_order: list[str] | None = None,
    keys: list[str] | None = None,
) -> Chart:
    """One bar per value of `row`, stacked by the values of `stack`; bars are ordered by `row_order` or by size.

    `row == stack` draws one plain bar per value, in its own colour.
    """
    stacked = row != stack
    counts = pd.crosstab(frame[row].rename("row"), frame[stack].rename("stack")) if len(frame) else pd.DataFrame()
    if stack == "severity" or keys is not None:
        counts = counts.reindex(columns=keys or list(SEVERITIES), fill_value=0)
    if row_order is not None:
        counts = counts.reindex(index=row_order, fill_value=0)
    else:
        counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
        if len(counts) > MAX_ROWS:
            rest = counts.iloc[MAX_ROWS - 1 :].sum().rename("other")
            counts = pd.concat([counts.iloc[: MAX_ROWS - 1], rest.to_frame().T])
    stack_keys = [str(k) for k in counts.columns]
    widest = int(counts.sum(axis=1).max()) if len(counts) else 0
    rows = tuple(
        _bar(str(label), [int(n) for n in values], stack_keys, index, widest)
        for index, (label, values) in enumerate(counts.iterrows())
    )
    fills = {
        key: f"fill-{key}" if key in SEVERITIES else f"fill-k{i % PALETTE_SIZE}" for i, key in enumerate(stack_keys)
    }
    return Chart(
        id=chart_id,
        title=title,
        description="; ".join(_describe(r, stacked) for r in rows) or "none",
        keys=tuple(stack_keys),
        fills=fills,
        rows=rows,
        height=max(len(rows), 1) * ROW_HEIGHT,
        stacked=stacked,
    )


def _describe(row: BarRow, stacked: bool) -> str:
    layers = ", ".join(f"{s.count} {s.key}" for s in row.segments if s.count)
    return f"{row.label}: {row.total} ({layers})" if stacked and layers else f"{row.label}: {row.total}"


def _bar(label: str, counts: list[int], keys: list[str], index: int, widest: int) -> BarRow:
    scale = BAR_WIDTH / widest if widest else 0.0
    segments = []
    x = float(LABEL_WIDTH)
    for key, count in zip(keys, counts, strict=True):
        width = round(count * scale, 2)
        segments.append(Segment(key=key, count=count, x=round(x, 2), width=width))
        x += width
    return BarRow(label=label, total=sum(counts), y=index * ROW_HEIGHT, segments=tuple(segments))
