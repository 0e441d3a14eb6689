"""End to end: the installed `agentiam` command, as a subprocess, against a moto server on 127.0.0.1.

The child process finds the server only through `AWS_ENDPOINT_URL`, exactly as a user would point the standard boto3
credential chain somewhere; its credentials are fake and there is no profile or config file it could read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

ACCOUNT = "123456789012"
AGENT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/support-agent"
AGENT_ROLE_UID = f"aws:{AGENT_ROLE_ARN}"
AGENTIAM = Path(sys.executable).with_name("agentiam")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(service: str) -> str:
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10):
        pass


@pytest.fixture
def fresh_moto(moto_server: str) -> str:
    """The server, emptied: every test seeds its own account."""
    reset(moto_server)
    return moto_server


def seed_account(endpoint: str) -> None:
    """A Bedrock agent role with an admin-like customer policy, and a plain ETL role with a narrow one."""
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    admin = iam.create_policy(
        PolicyName="agent-everything", PolicyDocument=_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    )["Policy"]["Arn"]
    iam.create_role(
        RoleName="support-agent",
        AssumeRolePolicyDocument=_trust("bedrock.amazonaws.com"),
        Tags=[{"Key": "owner", "Value": "ai-platform@example.com"}],
    )
    iam.attach_role_policy(RoleName="support-agent", PolicyArn=admin)
    iam.create_role(RoleName="etl-batch", AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
    iam.put_role_policy(
        RoleName="etl-batch",
        PolicyName="read-raw",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-data/*"}),
    )


def child_env(home: Path, endpoint: str | None) -> dict[str, str]:
    """A clean environment: no AGENTIAM_* or AWS_* from the developer's shell, no proxy, a home with no ~/.aws."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **FAKE_CREDENTIALS,
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def run_cli(tmp: Path, endpoint: str | None, *args: str) -> Result:
    completed = subprocess.run(
        [str(AGENTIAM), "--db", str(tmp / "inventory.db"), *args],
        cwd=tmp,
        env=child_env(tmp, endpoint),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@dataclass(frozen=True)
class Scanned:
    """One `scan --aws --fail-on high` of the seeded account, shared by the tests that only read its inventory."""

    folder: Path
    endpoint: str
    scan: Result

    def cli(self, *args: str) -> Result:
        return run_cli(self.folder, self.endpoint, *args)


@pytest.fixture(scope="module")
def scanned(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    reset(moto_server)
    seed_account(moto_server)
    folder = tmp_path_factory.mktemp("scanned")
    return Scanned(folder, moto_server, run_cli(folder, moto_server, "scan", "--aws", "--fail-on", "high"))


def test_cli_is_installed() -> None:
    assert AGENTIAM.is_file(), f"{AGENTIAM} missing: install the project into the test venv"


def test_scan_of_an_account_with_an_admin_agent_fails_the_gate_and_prints_the_summary_on_stderr(
    scanned: Scanned,
) -> None:
    result = scanned.scan

    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "scan #1" in result.stderr
    assert "complete" in result.stderr
    assert "AWS-IAM-001" in result.stderr
    assert "support-agent" in result.stderr
    assert result.stdout == ""  # data goes to stdout only when asked for; the summary is for humans, on stderr


def test_json_report_has_the_critical_admin_finding_on_the_agent_role(scanned: Scanned) -> None:
    result = scanned.cli("report", "--format", "json", "-o", "-")

    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["scan"]["status"] == "complete"
    (run,) = [r for r in document["scan"]["collector_runs"] if r["collector"] == "aws-iam"]
    assert (run["collector"], run["scope"], run["status"]) == ("aws-iam", ACCOUNT, "complete")
    assert run["api_calls"] >= 1
    admin = [f for f in document["findings"] if f["rule_id"] == "AWS-IAM-001"]
    assert [f["subject"]["uid"] for f in admin] == [AGENT_ROLE_UID]
    (finding,) = admin
    assert finding["severity"] == "critical"
    assert finding["status"] == "new"
    assert finding["subject"]["kind"] == "aws_role"
    assert finding["subject"]["is_agent"] is True
    assert finding["subject"]["scope"] == ACCOUNT
    identities = {i["name"]: i for i in document["identities"]}
    assert set(identities) == {"support-agent", "etl-batch"}
    assert identities["support-agent"]["owner"] == "ai-platform@example.com"
    assert not identities["etl-batch"]["is_agent"]
    assert not [
        f for f in document["findings"] if f["subject"]["name"] == "etl-batch" and f["severity"] in ("critical", "high")
    ]


def test_gate_at_critical_fails_and_lists_the_admin_finding(scanned: Scanned) -> None:
    result = scanned.cli("gate", "--fail-on", "critical")

    assert result.code == 1, result.stderr
    assert "AWS-IAM-001" in result.stdout
    assert "support-agent" in result.stdout
    assert "gate failed" in result.stderr


def test_inventory_agents_lists_the_bedrock_role_with_its_evidence(scanned: Scanned) -> None:
    result = scanned.cli("inventory", "agents", "--json")

    assert result.code == 0, result.stderr
    (agent,) = json.loads(result.stdout)
    assert agent["uid"] == AGENT_ROLE_UID
    assert agent["name"] == "support-agent"
    assert agent["identity_kind"] == "aws_role"
    assert agent["scope"] == ACCOUNT
    assert "trusted-by-agent-service: bedrock.amazonaws.com" in agent["evidence"]


def test_an_unknown_aws_profile_is_a_clear_error_without_a_traceback(tmp_path: Path, fresh_moto: str) -> None:
    result = run_cli(tmp_path, fresh_moto, "scan", "--aws-profile", "nosuchprofile")

    assert result.code == 2, result.stderr  # a usage error: no scan is started
    assert "Traceback" not in result.stderr
    assert "AWS profile 'nosuchprofile' not found" in result.stderr


# -- many accounts -----------------------------------------------------------------------------------------------


def _post(endpoint: str, path: str, body: bytes = b"") -> None:
    # text/plain: with the default form type the server would parse the body away.
    request = urllib.request.Request(
        f"{endpoint}{path}", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@dataclass(frozen=True)
class Organization:
    scanner_key: dict[str, str]
    reachable: str
    refusing: str


def seed_organization(endpoint: str) -> Organization:
    """An Organization of three accounts. The scanner user may assume the read-only role only in `prod`."""
    client = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    org = boto3.client("organizations", **client)
    org.create_organization(FeatureSet="ALL")
    for name in ("prod", "staging"):
        org.create_account(Email=f"{name}@example.com", AccountName=name)
    ids = {a["Name"]: a["Id"] for a in org.list_accounts()["Accounts"]}
    read = {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "sts:GetCallerIdentity"], "Resource": "*"}
    iam = boto3.client("iam", **client)
    iam.create_user(UserName="scanner")
    iam.put_user_policy(
        UserName="scanner",
        PolicyName="agentiam-scanner",
        PolicyDocument=_policy(
            {**read, "Action": [*read["Action"], "organizations:List*"]},
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::{ids['prod']}:role/AgentiamReadOnly",
            },
        ),
    )
    key = iam.create_access_key(UserName="scanner")["AccessKey"]
    for name in ("prod", "staging"):
        credentials = boto3.client("sts", **client).assume_role(
            RoleArn=f"arn:aws:iam::{ids[name]}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
        )["Credentials"]
        member = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        scanner = {"AWS": f"arn:aws:iam::{ACCOUNT}:user/scanner"}
        member.create_role(
            RoleName="AgentiamReadOnly",
            AssumeRolePolicyDocument=_policy({"Effect": "Allow", "Principal": scanner, "Action": "sts:AssumeRole"}),
        )
        member.put_role_policy(RoleName="AgentiamReadOnly", PolicyName="read", PolicyDocument=_policy(read))
        member.create_role(RoleName=f"{name}-agent", AssumeRolePolicyDocument=_trust("bedrock.amazonaws.com"))
    return Organization(
        {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]},
        reachable=ids["prod"],
        refusing=ids["staging"],
    )


@pytest.fixture
def enforcing_moto(fresh_moto: str) -> Iterator[str]:
    """moto checking every request's credentials and IAM policies, as AWS does; switched back off afterwards."""
    yield fresh_moto
    _post(fresh_moto, "/moto-api/reset-auth", b"inf")


def test_an_organization_scan_collects_each_account_and_fails_only_the_one_that_refuses(
    tmp_path: Path, enforcing_moto: str
) -> None:
    organization = seed_organization(enforcing_moto)
    _post(enforcing_moto, "/moto-api/reset-auth", b"0")  # from now on, requests are authorised
    config = tmp_path / "agentiam.toml"
    config.write_text('[aws]\nmax_attempts = 2\nregions = ["us-east-1"]\n')
    env = {**child_env(tmp_path, enforcing_moto), **organization.scanner_key}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(AGENTIAM), "--db", str(tmp_path / "inventory.db"), "--config", str(config), *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False)

    scan = cli("scan", "--aws-org")
    assert scan.returncode == 3, scan.stderr  # partial: one account refused
    assert "Traceback" not in scan.stderr
    report = json.loads(cli("report", "--format", "json").stdout)
    runs = {r["scope"]: r for r in report["scan"]["collector_runs"] if r["collector"] == "aws-iam"}
    assert runs[ACCOUNT]["status"] == "complete"
    assert runs[organization.reachable]["status"] == "complete"
    refused = runs[organization.refusing]
    assert refused["status"] == "failed"
    assert "sts:AssumeRole" in refused["error"] and "AccessDenied" in refused["error"]
    names = {i["name"] for i in report["identities"]}
    assert "prod-agent" in names and "staging-agent" not in names
