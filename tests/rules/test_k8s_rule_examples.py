"""Every Kubernetes rule has passing and failing examples (tests/rules/examples/K8S-*/{pass,fail}/*.yaml), the
Checkov way; provider-neutral rules (SECRET-001) may add Kubernetes examples beside their JSON ones. Examples are
manifests, imported through the real pipeline offline (YAML detection, the transform, the store, the RBAC engine and
the rules).

The first YAML document of an example is its expectation; the others are the manifests:

- `description` (required);
- `subject` (required): the finding's subject, as the end of its uid: `serviceaccount:<ns>/<name>`, `user:<name>`,
  `group:<name>`, `deployment:<ns>/<name>`;
- `as_list`: import the manifests as a `kubectl get -A -o json` List (a whole cluster: what it lacks is missing)
  rather than as a YAML file;
- `expect` (fail examples): `severity`, `message` (a substring), `scope` (`cluster` or `namespace:<ns>`).

Agent pods are those labelled `app=ai-agent` (the default selector).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentiam.config import Settings
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from agentiam.reports.model import ReportData

EXAMPLES = Path(__file__).parent / "examples"


def _examples(outcome: str) -> list[Any]:
    found = []
    for path in sorted(EXAMPLES.glob(f"*/{outcome}/*.yaml")):
        expectation, *manifests = yaml.safe_load_all(path.read_text())
        rule_id = path.parent.parent.name
        found.append(pytest.param(rule_id, expectation, manifests, id=f"{rule_id}-{path.stem}"))
    return found


def scan_manifests(
    manifests: list[Any], settings: Settings, plugins: Plugins, folder: Path, as_list: bool
) -> ReportData:
    if as_list:
        path = folder / "cluster.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}))
    else:
        path = folder / "manifests.yaml"
        path.write_text(yaml.safe_dump_all(manifests))
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=[path]), plugins)
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    return load_report_data(store, outcome.scan_id)


def _example_hits(
    rule_id: str, expectation: dict[str, Any], manifests: list[Any], settings: Settings, plugins: Plugins, folder: Path
) -> tuple[list[Any], ReportData]:
    """The example's findings of `rule_id` about its subject, and the whole report (for messages)."""
    report = scan_manifests(manifests, settings, plugins, folder, expectation.get("as_list", False))
    subject = expectation["subject"]
    return [f for f in report.findings if f.rule_id == rule_id and f.subject_uid.endswith(f":{subject}")], report


def test_every_kubernetes_rule_has_passing_and_failing_examples(plugins: Plugins) -> None:
    kubernetes = [rule_id for rule_id, found in plugins.rules.items() if found.meta.provider == "kubernetes"]
    assert len(kubernetes) >= 17
    for rule_id in kubernetes:
        assert list((EXAMPLES / rule_id / "fail").glob("*.yaml")), f"{rule_id} has no failing example"
        assert list((EXAMPLES / rule_id / "pass").glob("*.yaml")), f"{rule_id} has no passing example"


@pytest.mark.parametrize(("rule_id", "expectation", "manifests"), _examples("fail"))
def test_failing_example_is_reported(
    rule_id: str,
    expectation: dict[str, Any],
    manifests: list[Any],
    settings: Settings,
    plugins: Plugins,
    tmp_path: Path,
) -> None:
    hits, report = _example_hits(rule_id, expectation, manifests, settings, plugins, tmp_path)
    assert hits, (
        f"{expectation['description']}: expected {rule_id}; got {[(f.rule_id, f.subject_uid) for f in report.findings]}"
    )
    expect = expectation.get("expect", {})
    if "severity" in expect:
        assert hits[0].severity == expect["severity"], hits[0].evidence
    if "message" in expect:
        assert expect["message"] in hits[0].message
    if "scope" in expect:
        assert [h.evidence["scope"] for h in hits] == [expect["scope"]]


@pytest.mark.parametrize(("rule_id", "expectation", "manifests"), _examples("pass"))
def test_passing_example_is_not_reported(
    rule_id: str,
    expectation: dict[str, Any],
    manifests: list[Any],
    settings: Settings,
    plugins: Plugins,
    tmp_path: Path,
) -> None:
    hits, _ = _example_hits(rule_id, expectation, manifests, settings, plugins, tmp_path)
    assert not hits, f"{expectation['description']}: unexpected {[h.message for h in hits]}"
