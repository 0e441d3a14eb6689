"""AWS EKS: the IAM role each Kubernetes service account runs as through EKS Pod Identity.

Each association becomes a binding from the service account (`kubernetes:<cluster ARN>:serviceaccount:<ns>/<name>`,
the uid the Kubernetes collector gives it) to the role. Until that collector runs, the service account has no row:
the binding is an unresolved link, and reports name the workload by its uid. Each binding carries the cluster's OIDC
issuer, on which IRSA and Azure federation are matched.

One account x region is one scope: a denied `eks:ListClusters` fails it. A cluster whose associations cannot be read
costs only itself (a warning); the other clusters are collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentiam.collectors.aws.iam import uid
from agentiam.collectors.aws.regional import (
    NOT_FOUND_CODES,
    RegionalAwsCollector,
    error_code,
    is_scope_fatal,
    split_scope,
)
from agentiam.collectors.aws.session import client, describe_error
from agentiam.collectors.base import CollectContext, OfflineImport, Scope
from agentiam.errors import CollectorError
from agentiam.inventory.records import AnyRecord, BindingRecord, IssueRecord


@dataclass
class ClusterAssociations:
    """A cluster (DescribeCluster's `cluster`) and its Pod Identity associations (DescribePodIdentityAssociation's)."""

    cluster: dict[str, Any]
    associations: list[dict[str, Any]]


# -- I/O -------------------------------------------------------------------------------------------------------


def get_cluster_names(eks: Any) -> list[str]:
    names: list[str] = []
    for page in eks.get_paginator("list_clusters").paginate():
        names.extend(page["clusters"])
    return names


def get_cluster_associations(eks: Any, name: str) -> ClusterAssociations | None:
    """The cluster and its associations; None when the cluster was deleted since it was listed.

    The list call names the service account but not the role: each association is described for its roleArn. One
    deleted in between is skipped.
    """
    try:
        cluster = eks.describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND_CODES:
            return None
        raise
    associations: list[dict[str, Any]] = []
    for page in eks.get_paginator("list_pod_identity_associations").paginate(clusterName=name):
        for summary in page["associations"]:
            try:
                response = eks.describe_pod_identity_association(
                    clusterName=name, associationId=summary["associationId"]
                )
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND_CODES:
                    continue
                raise
            associations.append(response["association"])
    return ClusterAssociations(cluster=cluster, associations=associations)


# -- transform ---------------------------------------------------------------------------------------------------


def service_account_uid(cluster_arn: str, namespace: str, service_account: str) -> str:
    """The uid of a Kubernetes service account, shared with the Kubernetes collector."""
    return f"kubernetes:{cluster_arn}:serviceaccount:{namespace}/{service_account}"


def transform_cluster(found: ClusterAssociations) -> list[AnyRecord]:
    cluster = found.cluster
    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
    return [
        BindingRecord(
            workload_uid=service_account_uid(cluster["arn"], association["namespace"], association["serviceAccount"]),
            identity_uid=uid(association["roleArn"]),
            mechanism="eks_pod_identity",
            attributes={
                "cluster": cluster["name"],
                "cluster_arn": cluster["arn"],
                "namespace": association["namespace"],
                "service_account": association["serviceAccount"],
                "association_id": association["associationId"],
                "oidc_issuer": issuer,
                # Set when the pod's credentials are in the end those of a role chained from roleArn.
                "target_role_arn": association.get("targetRoleArn"),
            },
        )
        for association in found.associations
    ]


# -- collector ---------------------------------------------------------------------------------------------------


class AwsEksCollector(RegionalAwsCollector):
    name = "aws-eks"
    offline_format = ""  # live only: Pod Identity associations have no standard export

    def collect(self, ctx: CollectContext, scope: Scope) -> Iterator[AnyRecord]:
        account, region = split_scope(scope)
        eks = client(ctx.aws_session(account), "eks", ctx.settings.aws, ctx.stats, region=region)
        try:
            names = get_cluster_names(eks)
        except (ClientError, BotoCoreError) as exc:
            raise CollectorError(describe_error(exc, "eks:ListClusters")) from None
        for name in names:
            try:
                found = get_cluster_associations(eks, name)
            except ClientError as exc:
                message = describe_error(exc, f"eks:{exc.operation_name}")
                if is_scope_fatal(exc):
                    raise CollectorError(message) from None
                # An error, not a warning: that cluster's bindings are unknown, so the run is partial and nothing it
                # would have shown is resolved on the strength of its absence.
                yield IssueRecord(
                    subject_uid=None,
                    source=f"account {account} region {region} cluster {name}",
                    problem=f"Pod Identity associations not collected: {message}",
                )
                continue
            except BotoCoreError as exc:
                raise CollectorError(describe_error(exc, "eks")) from None
            if found is not None:
                yield from transform_cluster(found)

    def detect(self, document: Any) -> bool:
        return False

    def import_document(self, ctx: CollectContext, document: Any, source: str) -> OfflineImport:
        raise NotImplementedError("EKS Pod Identity associations have no offline export format")
