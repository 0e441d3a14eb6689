"""Kubernetes uids split back into cluster, kind and name, even where clusters (EKS ARNs) and group names hold colons;
a finding about a subject the inventory lacks is named from its uid."""

from __future__ import annotations

import pytest

from agentiam.collectors.kubernetes.uids import parse_uid, service_account_uid
from agentiam.findings.engine import _unknown_subject

EKS = "arn:aws:eks:eu-west-1:111122223333:cluster/prod"


@pytest.mark.parametrize(
    ("uid", "parts"),
    [
        (service_account_uid("dev", "ci", "deployer"), ("dev", "serviceaccount", "ci/deployer")),
        (service_account_uid(EKS, "agents", "bot"), (EKS, "serviceaccount", "agents/bot")),
        (f"kubernetes:{EKS}:group:system:serviceaccounts:agents", (EKS, "group", "system:serviceaccounts:agents")),
        ("kubernetes:dev:user:system:serviceaccount:ns:sa", ("dev", "user", "system:serviceaccount:ns:sa")),
        ("kubernetes:dev:kagent.dev/Agent:agents/helper", ("dev", "kagent.dev/Agent", "agents/helper")),
        ("kubernetes:dev:deployment:agents/helper", ("dev", "deployment", "agents/helper")),
    ],
)
def test_a_uid_splits_into_cluster_kind_and_name(uid: str, parts: tuple[str, str, str]) -> None:
    assert parse_uid(uid) == parts


def test_what_is_not_a_kubernetes_uid_does_not_split() -> None:
    assert parse_uid("aws:arn:aws:iam::111122223333:role/x") is None
    assert parse_uid("kubernetes:dev") is None


def test_a_missing_service_account_is_reported_by_its_namespace_and_name_in_its_cluster() -> None:
    subject = _unknown_subject(service_account_uid(EKS, "ci", "deployer"))

    assert (subject["provider"], subject["kind"], subject["name"], subject["scope"]) == (
        "kubernetes",
        "k8s_service_account",
        "ci/deployer",
        EKS,
    )
    assert _unknown_subject("something-else")["provider"] == "unknown"
