"""The Kubernetes transform: a cluster export in, identities, workloads, bindings, grants and credentials out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentiam.collectors.kubernetes.export import is_cluster_listing, read_export
from agentiam.collectors.kubernetes.snapshot import KubernetesSnapshot
from agentiam.collectors.kubernetes.transform import transform_snapshot
from agentiam.config import KubernetesSettings
from agentiam.inventory.records import (
    AnyRecord,
    BindingRecord,
    CredentialRecord,
    GrantRecord,
    IdentityRecord,
    IssueRecord,
    PolicyRecord,
    WorkloadRecord,
)
from agentiam.pipeline import YamlStream
from tests.collectors.kubernetes.k8s_objects import (
    binding,
    cluster_role,
    controller,
    custom_resource,
    kubectl_list,
    pod,
    service_account,
)

CLUSTER = "arn:aws:eks:us-east-1:111122223333:cluster/prod"
OPENAI_KEY = "sk-proj-" + "Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3"


def transform(*items: dict[str, Any], settings: KubernetesSettings | None = None, **snapshot: Any) -> list[AnyRecord]:
    chosen = settings or KubernetesSettings(offline_cluster=CLUSTER)
    found = read_export(kubectl_list(*items), "/exports/prod.json", chosen)
    for key, value in snapshot.items():
        setattr(found, key, value)
    return transform_snapshot(found, chosen)


def of(records: list[AnyRecord], kind: type) -> list[Any]:
    return [r for r in records if isinstance(r, kind)]


def workload(records: list[AnyRecord], name: str) -> WorkloadRecord:
    return next(w for w in of(records, WorkloadRecord) if w.name == name)


def identity(records: list[AnyRecord], name: str) -> IdentityRecord:
    return next(i for i in of(records, IdentityRecord) if i.name == name)


def test_pods_matching_a_selector_are_agents_with_the_selector_as_evidence() -> None:
    settings = KubernetesSettings(
        offline_cluster=CLUSTER, agent_label_selectors=["app=ai-agent", "tier in (llm, rag),env!=test"]
    )
    records = transform(
        pod("chat", labels={"app": "ai-agent"}),
        pod("rag", labels={"tier": "rag", "env": "prod"}),
        pod("rag-test", labels={"tier": "rag", "env": "test"}),
        pod("web", labels={"app": "storefront"}),
        settings=settings,
    )
    agents = {w.name: [e.detail for e in w.agent_evidence] for w in of(records, WorkloadRecord) if w.is_agent}
    assert agents == {"agents/chat": ["app=ai-agent"], "agents/rag": ["tier in (llm, rag),env!=test"]}


def test_pods_owned_by_an_agent_custom_resource_are_agents_through_their_owner_chain() -> None:
    agent = custom_resource("kagent.dev/v1alpha2", "Agent", "k8s-helper")
    deployment = controller("Deployment", "k8s-helper", owner=agent)
    replicaset = controller("ReplicaSet", "k8s-helper-7d9f", owner=deployment)
    records = transform(
        agent, deployment, replicaset, pod("k8s-helper-7d9f-x2", owner=replicaset, service_account="helper")
    )
    helper = workload(records, "agents/k8s-helper-7d9f-x2")
    assert helper.is_agent
    assert helper.agent_evidence[0].reason == "agent-custom-resource"
    assert [link["kind"] for link in helper.attributes["owner_chain"]] == [
        "ReplicaSet",
        "Deployment",
        "kagent.dev/Agent",
    ]
    resource = workload(records, "agents/k8s-helper")
    assert resource.workload_kind == "k8s_agent_resource" and resource.uid.endswith(
        ":kagent.dev/Agent:agents/k8s-helper"
    )
    assert any(
        b.workload_uid == resource.uid and b.identity_uid.endswith("serviceaccount:agents/helper")
        for b in of(records, BindingRecord)
    )
    # The pod stands for its controllers: their templates are not workloads of their own.
    assert {w.workload_kind for w in of(records, WorkloadRecord)} == {"k8s_pod", "k8s_agent_resource"}


def test_a_job_of_a_cronjob_owned_by_an_agent_resource_is_an_agent() -> None:
    agent = custom_resource("agents.x-k8s.io/v1alpha1", "Agent", "nightly-triage")
    cronjob = controller("CronJob", "triage", owner=agent)
    job = controller("Job", "triage-29012", owner=cronjob)
    records = transform(agent, cronjob, job, pod("triage-29012-abc", owner=job))
    assert workload(records, "agents/triage-29012-abc").is_agent


def test_an_agent_resource_selects_pods_by_its_label_selector() -> None:
    agent = custom_resource("kagent.dev/v1alpha2", "Agent", "planner", selector={"matchLabels": {"agent": "planner"}})
    records = transform(agent, pod("planner-0", labels={"agent": "planner"}), pod("other", labels={"agent": "x"}))
    assert workload(records, "agents/planner-0").is_agent
    assert not workload(records, "agents/other").is_agent


@pytest.mark.parametrize(
    ("pod_setting", "account_setting", "expected"),
    [
        (None, None, (True, "default")),
        (None, False, (False, "service account")),
        (True, False, (True, "pod")),
        (False, True, (False, "pod")),
    ],
)
def test_the_pods_automount_setting_overrides_its_service_accounts(
    pod_setting: bool | None, account_setting: bool | None, expected: tuple[bool, str]
) -> None:
    extra = {} if account_setting is None else {"automountServiceAccountToken": account_setting}
    spec = {} if pod_setting is None else {"automountServiceAccountToken": pod_setting}
    records = transform(service_account("bot", **extra), pod("p", service_account="bot", **spec))
    attributes = workload(records, "agents/p").attributes
    assert (attributes["automount_service_account_token"], attributes["automount_source"]) == expected


def test_host_access_counts_init_and_ephemeral_containers() -> None:
    records = transform(
        pod(
            "debugged",
            hostPID=True,
            volumes=[{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}, {"name": "tmp", "emptyDir": {}}],
            initContainers=[{"name": "setup", "image": "busybox:1.36", "securityContext": {"privileged": True}}],
            ephemeralContainers=[{"name": "debugger", "image": "nicolaka/netshoot"}],
        )
    )
    attributes = workload(records, "agents/debugged").attributes
    assert attributes["privileged_containers"] == ["setup"]
    assert attributes["host_pid"] and not attributes["host_network"] and not attributes["host_ipc"]
    assert attributes["host_paths"] == ["/var/run/docker.sock"]
    assert attributes["images"] == ["busybox:1.36", "ghcr.io/example/agent:2.1", "nicolaka/netshoot"]


def test_a_literal_key_in_the_environment_is_recorded_as_metadata_never_as_its_value() -> None:
    container = {
        "name": "agent",
        "image": "agent:1",
        "env": [
            {"name": "OPENAI_API_KEY", "value": OPENAI_KEY},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        ],
        "envFrom": [{"secretRef": {"name": "llm-keys"}}, {"configMapRef": {"name": "settings"}}],
    }
    records = transform(pod("chat", labels={"app": "ai-agent"}, containers=[container]))
    [credential] = of(records, CredentialRecord)
    assert credential.name == "OPENAI_API_KEY"
    assert credential.attributes["secret_kind"] == "openai_api_key"
    assert credential.attributes["location"] == "container agent"
    attributes = workload(records, "agents/chat").attributes
    assert attributes["environment_variables"] == ["DB_PASSWORD", "LOG_LEVEL", "OPENAI_API_KEY"]
    assert [(r["variable"], r["secret"]) for r in attributes["secret_refs"]] == [
        ("DB_PASSWORD", "db"),
        (None, "llm-keys"),
    ]
    assert OPENAI_KEY not in json.dumps([r.model_dump(mode="json") for r in records])


def test_a_referenced_secret_lists_every_subject_that_can_read_it() -> None:
    container = {
        "name": "agent",
        "image": "a",
        "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "llm", "key": "k"}}}],
    }
    reader = cluster_role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
    named = cluster_role(
        "other-secret", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["x"]}]
    )
    records = transform(
        reader,
        named,
        binding("RoleBinding", "ops", "ClusterRole", "secret-reader", [{"kind": "User", "name": "olivia"}], "agents"),
        binding("RoleBinding", "elsewhere", "ClusterRole", "secret-reader", [{"kind": "User", "name": "eli"}], "web"),
        binding(
            "ClusterRoleBinding",
            "all-sas",
            "ClusterRole",
            "secret-reader",
            [{"kind": "Group", "name": "system:serviceaccounts"}],
        ),
        binding("ClusterRoleBinding", "x-only", "ClusterRole", "other-secret", [{"kind": "User", "name": "xavier"}]),
        pod("chat", containers=[container]),
    )
    [ref] = workload(records, "agents/chat").attributes["secret_refs"]
    assert ref["readable_by"] == [
        "Group system:serviceaccounts (clusterrolebinding/all-sas)",
        "User olivia (rolebinding/agents/ops)",
    ]


def test_cloud_links_become_bindings_from_the_service_account() -> None:
    records = transform(
        service_account("irsa", annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/agent"}),
        service_account(
            "azure", annotations={"azure.workload.identity/client-id": "0A1B2C3D-0000-4000-8000-000000000001"}
        ),
        service_account(
            "azure-unused", annotations={"azure.workload.identity/client-id": "11111111-0000-4000-8000-000000000002"}
        ),
        service_account("gke", annotations={"iam.gke.io/gcp-service-account": "agent@proj.iam.gserviceaccount.com"}),
        pod("a", service_account="azure", labels={"azure.workload.identity/use": "true"}),
        pod("b", service_account="azure-unused"),
        oidc_issuer="https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
    )
    links = {
        (b.workload_uid.rpartition(":")[2], b.identity_uid, b.mechanism)
        for b in of(records, BindingRecord)
        if b.mechanism != "k8s_sa"
    }
    assert links == {
        ("agents/irsa", "aws:arn:aws:iam::111122223333:role/agent", "irsa"),
        ("agents/azure", "azure:client-id:0a1b2c3d-0000-4000-8000-000000000001", "azure_workload_identity"),
        ("agents/gke", "gcp:agent@proj.iam.gserviceaccount.com", "gke_workload_identity"),
    }
    assert identity(records, "agents/irsa").attributes["aliases"] == [
        "kubernetes:oidc:https://oidc.eks.us-east-1.amazonaws.com/id/ABC:serviceaccount:agents/irsa"
    ]


def test_service_account_and_pod_uids_follow_the_shared_contract() -> None:
    records = transform(service_account("bot"), pod("p", service_account="bot"))
    assert identity(records, "agents/bot").uid == f"kubernetes:{CLUSTER}:serviceaccount:agents/bot"
    assert workload(records, "agents/p").uid == f"kubernetes:{CLUSTER}:pod:agents/p"
    [link] = [b for b in of(records, BindingRecord)]
    assert (link.workload_uid, link.identity_uid, link.mechanism) == (
        f"kubernetes:{CLUSTER}:pod:agents/p",
        f"kubernetes:{CLUSTER}:serviceaccount:agents/bot",
        "k8s_sa",
    )
    # Every namespace has a default service account, listed or not.
    assert identity(records, "agents/default").attributes["implicit"] is True


def test_one_grant_per_binding_and_subject_with_the_roles_rules_as_policy() -> None:
    role = cluster_role("pod-reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}])
    records = transform(
        service_account("bot"),
        role,
        binding(
            "RoleBinding",
            "readers",
            "ClusterRole",
            "pod-reader",
            [
                {"kind": "ServiceAccount", "name": "bot"},
                {"kind": "Group", "name": "sre", "apiGroup": "rbac.authorization.k8s.io"},
            ],
            "agents",
        ),
    )
    grants = sorted(of(records, GrantRecord), key=lambda g: g.identity_uid)
    assert [(g.identity_uid, g.scope, g.via, g.policy_ref, g.policy_source) for g in grants] == [
        (
            f"kubernetes:{CLUSTER}:group:sre",
            "namespace:agents",
            "rolebinding/agents/readers",
            "clusterrole/pod-reader",
            "rolebinding",
        ),
        (
            f"kubernetes:{CLUSTER}:serviceaccount:agents/bot",
            "namespace:agents",
            "rolebinding/agents/readers",
            "clusterrole/pod-reader",
            "rolebinding",
        ),
    ]
    [policy] = of(records, PolicyRecord)
    assert policy.policy_kind == "k8s_cluster_role" and policy.document["rules"] == role["rules"]
    assert identity(records, "sre").identity_kind == "k8s_group"


def test_aggregated_cluster_roles_collect_the_rules_of_the_roles_they_select() -> None:
    monitoring = cluster_role(
        "monitoring",
        [],
        aggregationRule={
            "clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]
        },
    )
    secrets = cluster_role(
        "monitoring-secrets",
        [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}],
        labels={"rbac.example.com/aggregate-to-monitoring": "true"},
    )
    records = transform(
        monitoring,
        secrets,
        binding("ClusterRoleBinding", "mon", "ClusterRole", "monitoring", [{"kind": "User", "name": "prom"}]),
    )
    [grant] = of(records, GrantRecord)
    policy = next(p for p in of(records, PolicyRecord) if p.hash == grant.policy_hash)
    assert policy.document == {"rules": secrets["rules"], "aggregated_from": ["monitoring-secrets"]}


def test_a_binding_to_a_missing_role_or_service_account_is_recorded_as_such() -> None:
    records = transform(
        service_account("bot"),
        cluster_role("view-ish", []),
        binding(
            "ClusterRoleBinding",
            "gone",
            "ClusterRole",
            "deleted-role",
            [{"kind": "ServiceAccount", "name": "bot", "namespace": "agents"}],
        ),
        binding(
            "ClusterRoleBinding",
            "ghost",
            "ClusterRole",
            "view-ish",
            [{"kind": "ServiceAccount", "name": "retired", "namespace": "agents"}],
        ),
    )
    by_via = {g.via: g for g in of(records, GrantRecord)}
    assert by_via["clusterrolebinding/gone"].attributes["role_missing"] is True
    missing_policy = next(
        p for p in of(records, PolicyRecord) if p.hash == by_via["clusterrolebinding/gone"].policy_hash
    )
    assert missing_policy.document == {"rules": []}
    ghost = by_via["clusterrolebinding/ghost"]
    assert ghost.attributes["subject_missing"] is True
    assert ghost.identity_uid not in {i.uid for i in of(records, IdentityRecord)}


def test_malformed_objects_are_skipped_with_an_error_naming_them_and_the_rest_is_collected() -> None:
    records = transform(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "agents"}, "spec": {"containers": []}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "broken", "namespace": "agents"},
            "spec": {"containers": "x"},
        },
        "not an object",
        binding("ClusterRoleBinding", "no-ns", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "bot"}]),
        binding("ClusterRoleBinding", "to-role", "Role", "r", [{"kind": "User", "name": "u"}]),
        pod("fine"),
    )
    problems = sorted((i.source, i.problem) for i in of(records, IssueRecord) if i.severity == "error")
    assert problems == [
        (
            "/exports/prod.json: ClusterRoleBinding no-ns",
            "subjects[0] skipped: service account subject bot has no namespace",
        ),
        ("/exports/prod.json: ClusterRoleBinding to-role", "skipped: a ClusterRoleBinding cannot refer to a Role"),
        ("/exports/prod.json: Pod #0", "skipped: metadata.name is missing"),
        ("/exports/prod.json: Pod agents/broken", "skipped: spec.containers is not a list of objects"),
        ("/exports/prod.json: the document, items[2]", "skipped: not a Kubernetes object (no kind or apiVersion)"),
    ]
    assert [w.name for w in of(records, WorkloadRecord)] == ["agents/fine"]


def test_manifest_templates_are_workloads_with_their_namespace_defaulted() -> None:
    stream = YamlStream(
        [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "digest"},
                "spec": {
                    "schedule": "0 6 * * *",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "metadata": {"labels": {"app": "ai-agent"}},
                                "spec": {"containers": [{"name": "c", "image": "i"}]},
                            }
                        }
                    },
                },
            },
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dmFsdWU="}},
        ]
    )
    settings = KubernetesSettings()
    snapshot = read_export(stream, "/repo/deploy/digest.yaml", settings)
    assert snapshot.cluster == "digest"  # from the file name, when offline_cluster is not set
    assert "Secret" not in snapshot.objects  # never held
    records = transform_snapshot(snapshot, settings)
    digest = workload(records, "default/digest")
    assert (
        digest.workload_kind == "k8s_cronjob"
        and digest.uid == "kubernetes:digest:cronjob:default/digest"
        and digest.is_agent
    )


def test_live_snapshots_hold_preselected_agent_pods() -> None:
    settings = KubernetesSettings(agent_label_selectors=["team=ml"])
    snapshot = KubernetesSnapshot(cluster="prod", source="context prod", pods_preselected=True)
    snapshot.add(pod("chosen", labels={"whatever": "x"}))
    [chosen] = of(transform_snapshot(snapshot, settings), WorkloadRecord)
    assert chosen.is_agent and chosen.agent_evidence[0].detail == "selected by the live listing"


def test_a_kind_the_export_lacks_is_a_warning_and_bindings_to_what_it_would_hold_are_not_judged_missing() -> None:
    document = kubectl_list(
        pod("p"),
        binding(
            "ClusterRoleBinding",
            "b",
            "ClusterRole",
            "custom",
            [{"kind": "ServiceAccount", "name": "x", "namespace": "agents"}],
        ),
    )
    settings = KubernetesSettings(offline_cluster=CLUSTER)
    snapshot = read_export(document, "/exports/pods.json", settings)
    assert not is_cluster_listing(document, snapshot)
    records = transform_snapshot(snapshot, settings, complete_listing=is_cluster_listing(document, snapshot))
    warnings = sorted(i.problem for i in of(records, IssueRecord))
    assert [w.split(":")[0] for w in warnings] == ["no ClusterRole in the export", "no ServiceAccount in the export"]
    assert all(i.severity == "warning" for i in of(records, IssueRecord))
    [grant] = of(records, GrantRecord)
    assert grant.attributes["listing_complete"] is False


def test_bindings_are_not_judged_missing_when_a_live_read_could_not_list_service_accounts() -> None:
    snapshot = KubernetesSnapshot(cluster="prod", source="context prod", pods_preselected=True)
    snapshot.not_evaluated["ServiceAccount"] = "403 Forbidden (needs list serviceaccounts)"
    snapshot.add(
        binding(
            "ClusterRoleBinding",
            "b",
            "ClusterRole",
            "view",
            [{"kind": "ServiceAccount", "name": "x", "namespace": "a"}],
        )
    )
    [grant] = of(transform_snapshot(snapshot, KubernetesSettings()), GrantRecord)
    assert grant.attributes["listing_complete"] is False
    assert grant.attributes["subject_missing"] is False
