"""Fixtures shared by the whole suite: a sandboxed environment, settings on a temporary inventory, and a helper
that runs the real pipeline (offline import -> store -> analyze) on an authorization-details document."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agentiam.cli import cli
from agentiam.config import Settings, load_settings
from agentiam.inventory.records import AnyRecord, BindingMechanism, BindingRecord, WorkloadRecord
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins, load_plugins
from agentiam.reports.loader import load_report_data
from agentiam.reports.model import ReportData
from tests.fakes.kube_apiserver import FakeKubeApiServer

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _no_real_cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no profiles, so that no test can reach a real account; caches stay in the test's folder."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AGENTIAM_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/agentiam-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/agentiam-test-credentials")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"third-party corpora not found at {CORPORA} (they live beside the checkout, in ../shared)")
    return CORPORA


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"db": str(tmp_path / "inventory.db")}, environ={})


def role(
    name: str,
    policies: list[Any],
    *,
    trust_service: str = "lambda.amazonaws.com",
    tags: dict[str, str] | None = None,
    boundary: str | None = None,
) -> dict[str, Any]:
    """One RoleDetailList entry, as `aws iam get-account-authorization-details` prints it."""
    entry: dict[str, Any] = {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper()[:12]:0<12}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "CreateDate": "2025-03-01T10:00:00+00:00",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": trust_service}, "Action": "sts:AssumeRole"}],
        },
        "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": f"policy{i}", "PolicyDocument": doc} for i, doc in enumerate(policies)],
        "AttachedManagedPolicies": [],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        # In use, so that only the rules a test is about fire; tests of unused roles say so.
        "RoleLastUsed": {"LastUsedDate": (datetime.now(UTC) - timedelta(days=1)).isoformat(), "Region": "us-east-1"},
    }
    if boundary:
        entry["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return entry


def managed_policy(name: str, document: Any) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "PolicyId": f"ANPA{name.upper()[:12]:0<12}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        "Path": "/",
        "DefaultVersionId": "v1",
        "AttachmentCount": 1,
        "IsAttachable": True,
        "CreateDate": "2025-01-01T00:00:00+00:00",
        "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True}],
    }


def bound_workload(
    name: str,
    identity_uid: str,
    *,
    kind: str = "lambda_function",
    mechanism: BindingMechanism = "lambda_exec_role",
    is_agent: bool = False,
) -> list[AnyRecord]:
    """A workload and its binding to an identity, as the Lambda and agent-runtime collectors record them."""
    uid = f"aws:arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    return [
        WorkloadRecord(uid=uid, provider="aws", workload_kind=kind, name=name, scope=ACCOUNT, is_agent=is_agent),
        BindingRecord(workload_uid=uid, identity_uid=identity_uid, mechanism=mechanism),
    ]


def authorization_details(
    roles: list[dict[str, Any]],
    policies: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "UserDetailList": users or [],
        "GroupDetailList": groups or [],
        "RoleDetailList": roles,
        "Policies": policies or [],
    }


Scanner = Callable[..., ReportData]


@pytest.fixture
def scan_document(tmp_path: Path, settings: Settings, plugins: Plugins) -> Scanner:
    """Run the real pipeline on an authorization-details document; return what the reports would render."""

    def run(document: dict[str, Any], *more_exports: Any, records: Sequence[AnyRecord] = ()) -> ReportData:
        """`more_exports`: other export documents (any format agentiam reads) imported in the same scan.
        `records`: inventory records no export format carries (access keys, workloads), stored in the same scan as
        one more collector run, the way a live collector would write them."""
        paths = []
        for export in (document, *more_exports):
            path = tmp_path / f"export-{len(list(tmp_path.glob('export-*')))}.json"
            path.write_text(json.dumps(export))
            paths.append(path)
        store = Store.open(settings.db)
        outcome = collect(store, settings, ScanRequest(offline=paths), plugins)
        if records:
            run_id = store.begin_collector_run(outcome.scan_id, "test-records", "aws", ACCOUNT, "test")
            store.complete_collector_run(outcome.scan_id, run_id, records)
        analyze_scan(store, outcome.scan_id, settings, plugins)
        return load_report_data(store, outcome.scan_id)

    return run


# -- the command line, for end-to-end tests through click's CliRunner --------------------------------------------

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
LOGS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:PutLogEvents"],
            "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/a:*",
        }
    ],
}


class Cli:
    """`agentiam --db <a temporary inventory> ...` through CliRunner; a traceback on stderr fails the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = str(tmp_path / "inventory.db")
        self.tmp_path = tmp_path

    def __call__(self, *args: str) -> Result:
        result = CliRunner().invoke(cli, ["--db", self.db, *args])
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def export(self, roles: list[dict[str, Any]], name: str = "authz.json") -> str:
        path = self.tmp_path / name
        path.write_text(json.dumps(authorization_details(roles)))
        return str(path)


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


# -- Kubernetes: fake API servers on 127.0.0.1 that the official client and kubectl talk to ---------------------


@pytest.fixture
def kube_server() -> Iterator[Callable[..., FakeKubeApiServer]]:
    """Start fake API servers (HTTPS, own CA, bearer token); each is stopped after the test."""
    started: list[FakeKubeApiServer] = []

    def start(**options: Any) -> FakeKubeApiServer:
        server = FakeKubeApiServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
