"""The demo's HTML report, markup for markup, against a reviewed golden file (tests/golden/demo-report.html).

What changes from run to run is normalised: timestamps, the tool's version, where the package is installed (issues
name the estate's files), and the inlined style sheet and script with their hashes (they are checked on their own in
test_html_report.py; here they would only add noise). Regenerate with AGENTIAM_UPDATE_GOLDEN=1 and review the diff
before committing it.
"""

from __future__ import annotations

import os
import re
from importlib.resources import files
from pathlib import Path

from click.testing import CliRunner

from agentiam import __version__
from agentiam.cli import cli

GOLDEN = Path(__file__).parents[1] / "golden" / "demo-report.html"

_NORMALISE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"), "TIMESTAMP"),
    (re.compile(r"<style>.*?</style>", re.DOTALL), "<style>report.css</style>"),
    (re.compile(r"<script>.*?</script>", re.DOTALL), "<script>report.js</script>"),
    (re.compile(r"sha256-[A-Za-z0-9+/]+=*"), "sha256-HASH"),
]


def normalised(html: str) -> str:
    html = html.replace(str(files("agentiam.demo") / "estate"), "ESTATE")
    for pattern, replacement in _NORMALISE:
        html = pattern.sub(replacement, html)
    return html.replace(f"agentiam {__version__}", "agentiam VERSION").replace(
        f'<span class="version">{__version__}</span>', '<span class="version">VERSION</span>'
    )


def test_the_demo_html_report_matches_the_reviewed_golden_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.stderr
    current = normalised((tmp_path / "demo" / "report.html").read_text())

    if os.environ.get("AGENTIAM_UPDATE_GOLDEN"):
        GOLDEN.write_text(current)
    assert current == GOLDEN.read_text()


def test_normalising_leaves_only_what_the_estate_decides() -> None:
    html = (
        '<meta content="script-src \'sha256-abc+/=\'"><span class="version">'
        f"{__version__}</span><style>a{{}}</style><script>x()</script>at 2025-03-01T09:00:00.123Z"
    )

    assert normalised(html) == (
        '<meta content="script-src \'sha256-HASH\'"><span class="version">VERSION</span>'
        "<style>report.css</style><script>report.js</script>at TIMESTAMP"
    )
