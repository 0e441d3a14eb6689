"""The AWS EKS collector: Pod Identity associations become bindings from service accounts to IAM roles.

moto has no Pod Identity API, so EKS answers through a `Stubber`, which checks every scripted response against the
real API schema; STS (account discovery) and IAM are moto's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from agentiam.collectors.base import CollectContext
from agentiam.config import Settings
from agentiam.errors import CollectorError
from agentiam.inventory import views
from agentiam.inventory.records import AnyRecord, BindingRecord, IssueRecord
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.html_report import HtmlReporter
from agentiam.reports.json_report import JsonReporter
from agentiam.reports.loader import load_report_data
from tests.collectors.conftest import EU, US

ACCOUNT = "123456789012"  # moto's default account

Script = Callable[[Stubber], None]


@dataclass(frozen=True)
class Association:
    namespace: str
    service_account: str
    role: str
    id: str


def cluster_arn(name: str, region: str = EU) -> str:
    return f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}"


def issuer(name: str) -> str:
    return f"https://oidc.eks.{EU}.amazonaws.com/id/{name.upper()}0123456789"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def sa_uid(cluster: str, namespace: str, service_account: str) -> str:
    return f"kubernetes:{cluster_arn(cluster)}:serviceaccount:{namespace}/{service_account}"


# -- scripted EKS answers ----------------------------------------------------------------------------------------


def _token(page: int, pages: int) -> dict[str, str]:
    return {"nextToken": f"page-{page + 1}"} if page + 1 < pages else {}


def _after(page: int) -> dict[str, str]:
    return {"nextToken": f"page-{page}"} if page else {}


def expect_clusters(stubber: Stubber, *pages: list[str]) -> None:
    for page, names in enumerate(pages):
        stubber.add_response("list_clusters", {"clusters": names, **_token(page, len(pages))}, _after(page))


def expect_cluster(stubber: Stubber, name: str, *pages: list[Association]) -> None:
    """DescribeCluster, then each page of associations followed by the description of each association on it."""
    described = {"name": name, "arn": cluster_arn(name), "identity": {"oidc": {"issuer": issuer(name)}}}
    stubber.add_response("describe_cluster", {"cluster": described}, {"name": name})
    pages = pages or ([],)
    for page, associations in enumerate(pages):
        summaries = [
            {
                "clusterName": name,
                "namespace": a.namespace,
                "serviceAccount": a.service_account,
                "associationArn": f"arn:aws:eks:{EU}:{ACCOUNT}:podidentityassociation/{name}/{a.id}",
                "associationId": a.id,
            }
            for a in associations
        ]
        response = {"associations": summaries, **_token(page, len(pages))}
        stubber.add_response("list_pod_identity_associations", response, {"clusterName": name, **_after(page)})
        for summary, association in zip(summaries, associations, strict=True):
            stubber.add_response(
                "describe_pod_identity_association",
                {"association": {**summary, "roleArn": role_arn(association.role)}},
                {"clusterName": name, "associationId": association.id},
            )


def no_clusters(stubber: Stubber) -> None:
    expect_clusters(stubber, [])


@dataclass
class EksSession:
    """A real boto3 session whose EKS clients answer from the Stubber script of their region."""

    scripts: dict[str, Script]
    stubbers: list[Stubber] = field(default_factory=list)

    def client(self, service: str, **kwargs: Any) -> Any:
        made = boto3.Session().client(service, **kwargs)
        if service == "eks":
            stubber = Stubber(made)
            self.scripts.get(kwargs["region_name"], no_clusters)(stubber)
            stubber.activate()
            self.stubbers.append(stubber)
        return made

    def assert_every_answer_was_asked_for(self) -> None:
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


# -- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _moto_for_sts_and_iam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        yield


def only(plugins: Plugins, *names: str) -> Plugins:
    return Plugins(collectors={name: plugins.collectors[name] for name in names}, rules=plugins.rules)


def collect_eu(settings: Settings, plugins: Plugins, eu: Script) -> list[AnyRecord]:
    session = EksSession({EU: eu})
    ctx = CollectContext(settings=settings, aws_session_factory=lambda: session)
    collector = plugins.collectors["aws-eks"]
    (scope,) = [s for s in collector.scopes(ctx) if s.key == f"{ACCOUNT}/{EU}"]
    records = list(collector.collect(ctx, scope))
    session.assert_every_answer_was_asked_for()
    return records


PAYMENTS = Association("payments", "api", "payments-api", "a-1")
AGENT = Association("agents", "support-bot", "support-agent", "a-2")


# -- what an association becomes ---------------------------------------------------------------------------------


def test_each_association_binds_its_service_account_to_its_role_with_the_cluster_and_oidc_issuer(
    settings: Settings, plugins: Plugins
) -> None:
    def eu(stubber: Stubber) -> None:
        expect_clusters(stubber, ["prod"])
        expect_cluster(stubber, "prod", [PAYMENTS, AGENT])

    records = collect_eu(settings, plugins, eu)

    assert records == [
        BindingRecord(
            workload_uid=sa_uid("prod", a.namespace, a.service_account),
            identity_uid=f"aws:{role_arn(a.role)}",
            mechanism="eks_pod_identity",
            attributes={
                "cluster": "prod",
                "cluster_arn": cluster_arn("prod"),
                "namespace": a.namespace,
                "service_account": a.service_account,
                "association_id": a.id,
                "oidc_issuer": issuer("prod"),
                "target_role_arn": None,
            },
        )
        for a in (PAYMENTS, AGENT)
    ]


def test_clusters_and_associations_are_read_across_every_page(settings: Settings, plugins: Plugins) -> None:
    def eu(stubber: Stubber) -> None:
        expect_clusters(stubber, ["prod"], ["staging"])
        expect_cluster(stubber, "prod", [PAYMENTS], [AGENT])
        expect_cluster(stubber, "staging")

    records = collect_eu(settings, plugins, eu)

    assert [r.workload_uid for r in records if isinstance(r, BindingRecord)] == [
        sa_uid("prod", "payments", "api"),
        sa_uid("prod", "agents", "support-bot"),
    ]


def test_an_association_deleted_since_it_was_listed_is_skipped(settings: Settings, plugins: Plugins) -> None:
    def eu(stubber: Stubber) -> None:
        expect_clusters(stubber, ["prod"])
        stubber.add_response("describe_cluster", {"cluster": {"name": "prod", "arn": cluster_arn("prod")}})
        summaries = [
            {"namespace": a.namespace, "serviceAccount": a.service_account, "associationId": a.id}
            for a in (PAYMENTS, AGENT)
        ]
        stubber.add_response("list_pod_identity_associations", {"associations": summaries})
        stubber.add_client_error("describe_pod_identity_association", "ResourceNotFoundException", "gone", 404)
        stubber.add_response(
            "describe_pod_identity_association", {"association": {**summaries[1], "roleArn": role_arn(AGENT.role)}}
        )

    (binding,) = collect_eu(settings, plugins, eu)

    assert isinstance(binding, BindingRecord)
    assert binding.identity_uid == f"aws:{role_arn(AGENT.role)}"
    assert binding.attributes["oidc_issuer"] is None  # a cluster without an OIDC provider


# -- what cannot be read -----------------------------------------------------------------------------------------


def test_a_cluster_whose_associations_are_denied_is_an_error_and_the_other_clusters_are_collected(
    settings: Settings, plugins: Plugins
) -> None:
    def eu(stubber: Stubber) -> None:
        expect_clusters(stubber, ["locked", "prod"])
        stubber.add_response("describe_cluster", {"cluster": {"name": "locked", "arn": cluster_arn("locked")}})
        stubber.add_client_error("list_pod_identity_associations", "AccessDeniedException", "not authorized", 403)
        expect_cluster(stubber, "prod", [PAYMENTS])

    records = collect_eu(settings, plugins, eu)

    (issue,) = [r for r in records if isinstance(r, IssueRecord)]
    assert issue.severity == "error"  # the run is partial: that cluster's bindings are not known
    assert "cluster locked" in issue.source
    assert "eks:ListPodIdentityAssociations: AccessDeniedException" in issue.problem
    assert [r.workload_uid for r in records if isinstance(r, BindingRecord)] == [sa_uid("prod", "payments", "api")]


def test_an_expired_token_while_reading_a_cluster_fails_the_region(settings: Settings, plugins: Plugins) -> None:
    def eu(stubber: Stubber) -> None:
        expect_clusters(stubber, ["prod"])
        stubber.add_client_error("describe_cluster", "ExpiredTokenException", "expired", 403)

    with pytest.raises(CollectorError, match="eks:DescribeCluster: ExpiredTokenException"):
        collect_eu(settings, plugins, eu)


def test_denied_list_clusters_fails_its_region_and_the_other_regions_are_collected(
    settings: Settings, plugins: Plugins
) -> None:
    def eu(stubber: Stubber) -> None:
        stubber.add_client_error("list_clusters", "AccessDeniedException", "not authorized", 403)

    def us(stubber: Stubber) -> None:
        expect_clusters(stubber, [])

    store = Store.open(settings.db)
    request = ScanRequest(aws_session_factory=lambda: EksSession({EU: eu, US: us}))
    outcome = collect(store, settings, request, only(plugins, "aws-eks"))

    assert outcome.status == "partial"
    with store.read() as conn:
        runs = {r["scope"]: r for r in views.collector_runs(conn, outcome.scan_id).to_dict("records")}
    assert runs[f"{ACCOUNT}/{EU}"]["status"] == "failed"
    assert "eks:ListClusters: AccessDeniedException" in runs[f"{ACCOUNT}/{EU}"]["error"]
    assert runs[f"{ACCOUNT}/{US}"]["status"] == "complete"


# -- a binding whose service account is not (yet) in the inventory -----------------------------------------------


def test_a_binding_to_a_service_account_no_collector_recorded_renders_in_the_json_and_html_reports(
    settings: Settings, plugins: Plugins
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    boto3.client("iam", region_name=US).create_role(
        RoleName=AGENT.role, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "ai-agent", "Value": "true"}]
    )

    def eu(stubber: Stubber) -> None:
        expect_clusters(stubber, ["prod"])
        expect_cluster(stubber, "prod", [AGENT])

    store = Store.open(settings.db)
    request = ScanRequest(aws_session_factory=lambda: EksSession({EU: eu}))
    outcome = collect(store, settings, request, only(plugins, "aws-iam", "aws-eks"))  # runs link_agents
    analyze_scan(store, outcome.scan_id, settings, plugins)
    data = load_report_data(store, outcome.scan_id)

    assert outcome.status == "complete"
    unresolved = sa_uid("prod", "agents", "support-bot")
    report = json.loads(JsonReporter().render(data))
    (identity,) = [i for i in report["identities"] if i["uid"] == f"aws:{role_arn(AGENT.role)}"]
    assert identity["workloads"] == [
        {"uid": unresolved, "name": unresolved, "kind": "unknown", "mechanism": "eks_pod_identity"}
    ]
    html = HtmlReporter().render(data)
    assert unresolved in html and "eks_pod_identity" in html
