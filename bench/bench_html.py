"""The HTML report at scale, measured in headless Chromium: render time, file size, time to interactive and the
latency of each table operation, for a synthetic estate of N findings (tests/reports/synthetic.py).

    python bench/bench_html.py                 # 50,000 findings
    python bench/bench_html.py --sizes 10000 50000 --runs 3

Times run from navigation start. The page's script runs once the first page of findings is parsed and wires every
control (it marks <html data-ready>); what needs the other rows (filters, paging, details) waits for the end of
parsing (DOMContentLoaded), which is when the report is fully interactive. Each operation's latency runs from the
event to the next painted frame, after load; the first filter reads every row's attributes once, and the search
text is indexed in idle time after load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.reports.synthetic

from playwright.sync_api import Page, sync_playwright

from agentiam.reports.base import write_report
from agentiam.reports.html_report import HtmlReporter
from tests.reports.synthetic import synthetic_report

CHROMIUM = "/usr/bin/chromium"

# Runs before the page exists (documentElement is still null): watch the document for the ready mark.
MARK_READY = """
new MutationObserver((_, observer) => {
  window.__ready = performance.now();
  observer.disconnect();
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-ready"]});
"""

# Run one operation, then wait for the frame that shows its result. (No eval: the report's policy forbids it.)
TIMED = """
async ([action, target, value, waitFor]) => {
  const info = document.getElementById("page-info");
  const before = info.textContent;
  const element = document.querySelector(target);
  const started = performance.now();
  if (action === "click") {
    element.click();
  } else {
    element.value = value;
    element.dispatchEvent(new Event(action));
  }
  if (waitFor === "info") {
    while (info.textContent === before) {
      if (performance.now() - started > 30000) { throw new Error("the table did not change: " + target); }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - started;
}
"""

SEARCH_PAUSE_MS = 150  # report.js waits for a pause in typing before it filters

# name, (action, element, value, what to wait for), milliseconds of deliberate waiting to subtract
OPERATIONS = [
    ("first filter (severity = high)", ("change", "#filter-severity", "high", "info"), 0),
    ("filter (severity = medium)", ("change", "#filter-severity", "medium", "info"), 0),
    ("filter (and provider = azure)", ("change", "#filter-provider", "azure", "info"), 0),
    ("filter (and new or reopened)", ("change", "#filter-status", "fresh", "info"), 0),
    ("back to open findings", ("change", "#filter-status", "open", "info"), 0),
    ("back to all providers", ("change", "#filter-provider", "", "info"), 0),
    ("back to all severities", ("change", "#filter-severity", "", "info"), 0),
    ("first search", ("input", "#filter-text", "escalation", "info"), SEARCH_PAUSE_MS),
    ("search", ("input", "#filter-text", "aws:id/0001", "info"), SEARCH_PAUSE_MS),
    ("clear search", ("input", "#filter-text", "", "info"), SEARCH_PAUSE_MS),
    ("first sort by subject", ("click", "button[data-sort=subject]", "", "none"), 0),
    ("sort by subject, descending", ("click", "button[data-sort=subject]", "", "none"), 0),
    ("next page", ("click", "#page-next", "", "info"), 0),
    ("open a finding's details", ("click", "#findings-body button.more", "", "none"), 0),
]


def measure(page: Page, url: str) -> dict[str, float]:
    page.goto(url, wait_until="load", timeout=120_000)
    page.wait_for_function("() => window.__ready !== undefined", timeout=120_000)
    figures = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType("navigation")[0];
          const paint = performance.getEntriesByName("first-contentful-paint")[0];
          return {"first contentful paint": paint ? paint.startTime : NaN,
                  "controls wired (first page usable)": window.__ready,
                  "every row parsed (DOMContentLoaded)": nav.domContentLoadedEventEnd};
        }"""
    )
    for name, operation, pause in OPERATIONS:
        figures[name] = page.evaluate(TIMED, list(operation)) - pause
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000])
    parser.add_argument("--runs", type=int, default=3, help="page loads per size; the median is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for size in args.sizes:
            data = synthetic_report(size)
            path = Path(folder) / f"report-{size}.html"
            started = time.perf_counter()
            write_report(HtmlReporter(), data, path)
            rendered = time.perf_counter() - started
            runs = []
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.add_init_script(MARK_READY)
                runs.append(measure(page, path.as_uri()))
                context.close()
            print(f"\n{size:,} findings: rendered in {rendered:.2f} s, {path.stat().st_size / 1e6:.1f} MB")
            print(f"  Chromium {browser.version}, median of {args.runs} loads (ms):")
            for name in runs[0]:
                print(f"  {name:<40} {statistics.median(run[name] for run in runs):8.0f}")
        browser.close()


if __name__ == "__main__":
    main()
