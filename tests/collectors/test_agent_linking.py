"""Agent awareness across collectors: the role an agent workload runs as is an agent's role, with the evidence."""

from __future__ import annotations

from tests.conftest import ACCOUNT, ADMIN, Scanner, authorization_details, role


def _functions(*functions: dict[str, object]) -> dict[str, object]:
    """`aws lambda list-functions` output, with the optional per-function Tags the importer accepts."""
    return {"Functions": list(functions)}


def _function(name: str, role_name: str, tags: dict[str, str]) -> dict[str, object]:
    return {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
        "Runtime": "python3.12",
        "Role": f"arn:aws:iam::{ACCOUNT}:role/{role_name}",
        "Handler": "app.handler",
        "Tags": tags,
    }


def test_the_execution_role_of_an_agent_function_becomes_an_agents_role(scan_document: Scanner) -> None:
    report = scan_document(
        authorization_details([role("support-bot-exec", [ADMIN]), role("thumbnailer-exec", [ADMIN])]),
        _functions(
            _function("support-bot", "support-bot-exec", {"ai-agent": "true"}),
            _function("thumbnailer", "thumbnailer-exec", {"team": "media"}),
        ),
    )
    identities = {i.name: i for i in report.identities}
    assert identities["support-bot-exec"].is_agent
    assert identities["support-bot-exec"].agent_evidence == [
        {"reason": "runs-agent-workload", "detail": "lambda_function support-bot (lambda_exec_role)"}
    ]
    assert not identities["thumbnailer-exec"].is_agent
    admin = {f.subject_name: f for f in report.findings if f.rule_id == "AWS-IAM-001"}
    assert "raised" in " ".join(admin["support-bot-exec"].evidence["severity_steps"])
    assert "raised" not in " ".join(admin["thumbnailer-exec"].evidence["severity_steps"])
