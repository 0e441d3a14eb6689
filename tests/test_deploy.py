"""deploy/: the structural promises of the scheduling examples (docs/scheduling.md), read from the files themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def _documents() -> list[dict[str, Any]]:
    return [doc for path in YAML_FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


def _one(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in _documents() if doc.get("kind") == kind]
    return found


def _scanner_container() -> dict[str, Any]:
    pod = _one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return container


def _workflow() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "github-actions" / "agentiam.yml").read_text())


def _steps() -> list[dict[str, Any]]:
    return [step for job in _workflow()["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_cronjob_never_overlaps_and_never_retries_a_scan() -> None:
    cronjob = _one("CronJob")["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert cronjob["jobTemplate"]["spec"]["backoffLimit"] in (0, 1)
    assert cronjob["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_cronjob_keeps_its_database_on_the_persistent_volume_claim() -> None:
    pod = _one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    args = _scanner_container()["args"]
    db = Path(args[args.index("--db") + 1])
    claimed = {v["name"] for v in pod["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName")}
    mounts = [Path(m["mountPath"]) for m in _scanner_container()["volumeMounts"] if m["name"] in claimed]
    assert any(db.is_relative_to(mount) for mount in mounts)
    claims = {doc["metadata"]["name"] for doc in _documents() if doc.get("kind") == "PersistentVolumeClaim"}
    assert {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v} <= claims


def test_cronjob_scan_does_not_fail_on_findings_and_accepts_partial_scans() -> None:
    container = _scanner_container()
    args = container["args"]
    assert args[args.index("scan") :][:2] == ["scan", "--aws"]
    assert "--allow-partial" in args
    assert not any(arg.startswith("--fail-on") for arg in args)
    # `scan` gates on the environment's threshold too.
    assert "AGENTIAM_FAIL_ON" not in {variable["name"] for variable in container.get("env", [])}


def test_cronjob_runs_locked_down() -> None:
    pod = _one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = _scanner_container()
    context = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert "/tmp" in [m["mountPath"] for m in container["volumeMounts"]]
    assert {"requests", "limits"} <= container["resources"].keys()


def test_cluster_role_only_reads() -> None:
    rules = _one("ClusterRole")["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} <= {"get", "list", "watch"}
    assert not any("*" in rule.get("resources", []) or "*" in rule.get("apiGroups", []) for rule in rules)
    assert "secrets" not in {resource for rule in rules for resource in rule.get("resources", [])}


def test_cluster_role_is_bound_to_the_cronjob_service_account() -> None:
    binding = _one("ClusterRoleBinding")
    pod = _one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert binding["roleRef"]["name"] == _one("ClusterRole")["metadata"]["name"]
    assert {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": "agentiam"} in binding["subjects"]


def test_workflow_authenticates_with_oidc_and_no_stored_keys() -> None:
    workflow = _workflow()
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["permissions"]["security-events"] == "write"
    text = (DEPLOY / "github-actions" / "agentiam.yml").read_text().lower()
    for stored_credential in ("aws-access-key-id", "aws-secret-access-key", "client-secret", "secrets."):
        assert stored_credential not in text
    uses = {step.get("uses", "").split("@")[0]: step for step in _steps()}
    assert "role-to-assume" in uses["aws-actions/configure-aws-credentials"]["with"]
    assert {"client-id", "tenant-id", "subscription-id"} <= uses["azure/login"]["with"].keys()


def test_workflow_runs_on_a_schedule_and_on_pull_requests() -> None:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = _workflow()[True]
    assert "schedule" in triggers and "pull_request" in triggers


def test_workflow_uploads_sarif_and_the_reports_even_when_the_scan_fails() -> None:
    uses = {step.get("uses", "").split("@")[0]: step for step in _steps()}
    sarif = uses["github/codeql-action/upload-sarif"]
    assert sarif["with"]["sarif_file"] == "reports/findings.sarif"
    assert sarif["if"].startswith("always()")
    assert uses["actions/upload-artifact"]["if"] == "always()"
    assert uses["actions/upload-artifact"]["with"]["path"].rstrip("/") == "reports"


def test_workflow_gates_pull_requests_only() -> None:
    runs = [step for step in _steps() if "run" in step]
    scan = next(step for step in runs if "agentiam scan" in step["run"])
    assert "--output-dir reports" in scan["run"] and "--fail-on" not in scan["run"]
    gate = next(step for step in runs if "agentiam gate" in step["run"])
    assert "--fail-on high" in gate["run"]
    assert gate["if"] == "github.event_name == 'pull_request'"


def test_dockerfile_runs_agentiam_as_a_non_root_user() -> None:
    instructions = [
        line.split(maxsplit=1)
        for line in (DEPLOY / "docker" / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith((" ", "#"))
    ]
    users = [argument for keyword, argument in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("ENTRYPOINT", '["agentiam"]') in [tuple(i) for i in instructions]
    assert ("FROM", "python:3.12-slim") in [tuple(i) for i in instructions]
