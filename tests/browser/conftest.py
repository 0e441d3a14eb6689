"""The HTML report in a real browser: Debian's headless Chromium, driven by Playwright, with the network shut.

Every request the page makes is routed here: the report file itself is served, anything else is aborted and
recorded, so a test can prove the page asked for nothing. Console messages, page errors, dialogs and Content
Security Policy violations are recorded as well.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentiam.reports.base import write_report
from agentiam.reports.html_report import HtmlReporter
from agentiam.reports.model import ReportData
from tests.reports.conftest import hostile, make_finding, make_report, report_data  # noqa: F401 - shared fixtures

CHROMIUM = Path("/usr/bin/chromium")

# Before any page script: collect CSP violations, which the page cannot report anywhere else.
WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@dataclass
class LoadedReport:
    page: Any  # playwright.sync_api.Page
    url: str
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # requests for anything but the report itself

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations")  # type: ignore[no-any-return]

    def assert_clean(self) -> None:
        """No console error or warning, no script error, no dialog, no request, no policy violation."""
        assert [m for m in self.console if m[0] in ("error", "warning")] == []
        assert self.errors == []
        assert self.dialogs == []
        assert self.blocked == []
        assert self.violations() == []

    def page_info(self) -> str:
        return self.page.inner_text("#page-info")  # type: ignore[no-any-return]

    def visible_rows(self, attribute: str) -> list[str]:
        return self.page.eval_on_selector_all(  # type: ignore[no-any-return]
            "#findings-body > tr[data-fp]", f"rows => rows.map(r => r.getAttribute({attribute!r}))"
        )

    def change(self, control_id: str, value: str) -> None:
        """Set a filter the way a person does, then wait for the table to say what it shows."""
        before = self.page_info()
        self.page.select_option(f"#{control_id}", value)
        self.wait_for_change(before)

    def wait_for_change(self, before: str) -> None:
        self.page.wait_for_function(
            "before => document.getElementById('page-info').textContent !== before", arg=before, timeout=60_000
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Callable[..., LoadedReport]]:
    """`open_report(data)`: write the report to a file and open it in a fresh page of the shared browser."""
    contexts: list[Any] = []

    def load(data: ReportData, name: str = "report.html", timeout_ms: int = 30_000) -> LoadedReport:
        path = tmp_path / name
        write_report(HtmlReporter(), data, path)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        loaded = LoadedReport(page=page, url=path.as_uri())
        page.add_init_script(WATCH_POLICY)
        page.on("console", lambda message: loaded.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: loaded.errors.append(str(error)))

        def on_dialog(dialog: Any) -> None:
            loaded.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

        def route(request_route: Any) -> None:
            if request_route.request.url == loaded.url:
                request_route.continue_()
            else:
                loaded.blocked.append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        page.on("request", lambda request: request.url != loaded.url and loaded.blocked.append(request.url))
        page.goto(loaded.url, wait_until="load", timeout=timeout_ms)
        page.wait_for_selector("html[data-ready]", timeout=timeout_ms)
        return loaded

    yield load
    for context in contexts:
        context.close()
