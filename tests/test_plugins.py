"""Plugins load through entry points; a broken one is reported and the others still load."""

from __future__ import annotations

from importlib.metadata import EntryPoint

from agentiam.plugins import COLLECTORS, REPORTERS, RULES, load_plugins


def _entry(group: str, name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=group)


def test_built_ins_are_registered_as_entry_points_like_any_plugin() -> None:
    plugins = load_plugins()
    assert plugins.failures == []
    assert "aws-iam" in plugins.collectors
    assert {"json", "csv", "html"} <= set(plugins.reporters)
    assert "AWS-IAM-001" in plugins.rules


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_load() -> None:
    plugins = load_plugins(
        {
            COLLECTORS: [
                _entry(COLLECTORS, "ghost", "agentiam_ghost_plugin:Collector"),
                _entry(COLLECTORS, "aws-iam", "agentiam.collectors.aws.iam:AwsIamCollector"),
            ],
            RULES: [
                _entry(RULES, "broken-rules", "agentiam.findings.rules.aws_iam:no_such_attribute"),
                _entry(RULES, "aws-iam", "agentiam.findings.rules.aws_iam"),
            ],
            REPORTERS: [_entry(REPORTERS, "json", "agentiam.reports.json_report:JsonReporter")],
        }
    )
    assert list(plugins.collectors) == ["aws-iam"]
    assert "AWS-IAM-001" in plugins.rules and list(plugins.reporters) == ["json"]
    described = [f.describe() for f in plugins.failures]
    assert any("'ghost'" in d and "ModuleNotFoundError" in d for d in described)
    assert any("'broken-rules'" in d for d in described)


def test_a_plugin_of_the_wrong_shape_is_refused() -> None:
    plugins = load_plugins(
        {
            REPORTERS: [_entry(REPORTERS, "not-a-reporter", "agentiam.errors:UsageError")],
            RULES: [_entry(RULES, "a-class", "agentiam.errors:UsageError")],
        }
    )
    assert plugins.reporters == {}
    assert {f.name for f in plugins.failures} == {"not-a-reporter", "a-class"}


def test_the_rule_catalogue_in_docs_is_current() -> None:
    from pathlib import Path

    from agentiam.findings.rule_docs import render_markdown

    documented = (Path(__file__).parents[1] / "docs" / "rules.md").read_text()
    assert documented == render_markdown(load_plugins().rules.values()), (
        "docs/rules.md is stale: run `agentiam rules doc > docs/rules.md`"
    )
