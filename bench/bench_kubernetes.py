"""Live Kubernetes reading at scale: 20,000 pods (200 of them agents) and 5,000 RBAC objects behind the fake API server.

DESIGN.md anchor: listing the pods with the typed client models (`list_pod_for_all_namespaces`, no selector) takes
11-14 s and 1 GB on this 2-core machine; target for the raw-JSON reader with a server-side selector: <= 3 s, <= 200 MB.

The server runs in its own process, so that what is measured is the client alone; each measurement runs in a fresh
process too (spawned), so that one's peak memory cannot inflate another's.

Run: python bench/bench_kubernetes.py [--pods 20000] [--agents 200] [--rbac 5000] [--skip-anchor]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake server lives with the tests

TARGET_SECONDS = 3.0
TARGET_MB = 200
ANCHOR = "typed client models: 11-14 s, 1 GB (DESIGN.md)"
NAMESPACES = 100
REPLICAS = 4  # agent pods per Deployment


def _pod(i: int, namespace: str, agent: bool) -> dict[str, Any]:
    """A pod as an API server returns it: labels, owner, two containers with env and probes, a full status."""
    group = i // REPLICAS if agent else i // 10
    app = "ai-agent" if agent else f"svc-{group % 50}"
    name = f"{app}-{group}-{i}"
    replica_set = f"{'agent' if agent else 'svc'}-{group}-7d9f8c"
    container = {
        "name": "main",
        "image": f"registry.example.com/{app}:1.{i % 9}.0",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": f"SETTING_{n}", "value": f"value-{n}"} for n in range(8)],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "imagePullPolicy": "IfNotPresent",
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"00000000-0000-0000-0000-{i:012d}",
            "labels": {"app": app, "pod-template-hash": "7d9f8c", "team": f"team-{i % 20}"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-10-01T00:00:00Z"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": replica_set,
                    "uid": f"rs-{namespace}-{replica_set}",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "serviceAccountName": f"sa-{group % 10}",
            "containers": [container, {**container, "name": "sidecar", "env": container["env"][:2]}],
            "volumes": [
                {"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
            ],
            "nodeName": f"node-{i % 40}",
            "restartPolicy": "Always",
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
            "conditions": [{"type": t, "status": "True"} for t in ("Initialized", "Ready", "PodScheduled")],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": 0,
                    "image": container["image"],
                    "imageID": f"sha256:{i:064x}",
                }
            ],
        },
    }


def estate(pods: int, agents: int, rbac: int) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    every = max(1, pods // agents)
    for i in range(pods):
        objects.append(_pod(i, f"ns-{i % NAMESPACES}", agent=(i % every == 0 and i // every < agents)))
    # The agents' owners: ReplicaSet -> Deployment, so that the owner chain is fetched as in a real cluster.
    for pod in [o for o in objects if o["metadata"]["labels"]["app"] == "ai-agent"]:
        namespace, ref = pod["metadata"]["namespace"], pod["metadata"]["ownerReferences"][0]
        deployment = ref["name"].rsplit("-", 1)[0]
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": ref["name"],
                    "namespace": namespace,
                    "uid": ref["uid"],
                    "ownerReferences": [
                        {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment, "controller": True}
                    ],
                },
            }
        )
        objects.append(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": deployment, "namespace": namespace}}
        )
    rbac_group = "rbac.authorization.k8s.io/v1"
    rules = [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list", "watch"]}]
    quarter = rbac // 5
    for n in range(NAMESPACES * 10):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": f"sa-{n % 10}", "namespace": f"ns-{n // 10}"},
            }
        )
    for n in range(quarter):
        namespace = f"ns-{n % NAMESPACES}"
        subject = {"kind": "ServiceAccount", "name": f"sa-{n % 10}", "namespace": namespace}
        objects += [
            {
                "apiVersion": rbac_group,
                "kind": "Role",
                "metadata": {"name": f"role-{n}", "namespace": namespace},
                "rules": rules,
            },
            {
                "apiVersion": rbac_group,
                "kind": "RoleBinding",
                "metadata": {"name": f"rb-{n}", "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{n}"},
                "subjects": [subject],
            },
            {"apiVersion": rbac_group, "kind": "ClusterRole", "metadata": {"name": f"cr-{n}"}, "rules": rules},
            {
                "apiVersion": rbac_group,
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"crb-{n}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"cr-{n}"},
                "subjects": [
                    subject,
                    {"kind": "Group", "name": f"group-{n % 30}", "apiGroup": "rbac.authorization.k8s.io"},
                ],
            },
            {
                "apiVersion": rbac_group,
                "kind": "RoleBinding",
                "metadata": {"name": f"rb-cr-{n}", "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"cr-{n}"},
                "subjects": [subject],
            },
        ]
    return objects


def serve(args: argparse.Namespace, connection: Any) -> None:
    from tests.fakes.kube_apiserver import FakeKubeApiServer

    with FakeKubeApiServer() as server:
        server.load(*estate(args.pods, args.agents, args.rbac))
        connection.send((server.url, server.token, server.certificates.ca_pem, len(server.requests)))
        connection.recv()  # until told to stop
        connection.send(sum(r.items_sent for r in server.requests if r.path.endswith("/pods")))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(what: str, kubeconfig: str, connection: Any) -> None:
    """One measurement, in its own process: (seconds, peak RSS MB, RSS MB before, detail)."""
    from agentiam.collectors.base import CollectContext
    from agentiam.collectors.kubernetes.live import client_factory, cluster_scopes, read_cluster
    from agentiam.collectors.kubernetes.transform import transform_snapshot
    from agentiam.config import load_settings

    settings = load_settings(None, {"kubernetes": {"kubeconfig": kubeconfig}}, environ={})
    factory = client_factory(settings.kubernetes)
    started = time.perf_counter()
    import kubernetes.client  # noqa: F401 - ~1 s of generated models, paid once per process: timed apart

    imported = time.perf_counter() - started
    before = _peak_mb()
    started = time.perf_counter()
    if what == "typed":
        from kubernetes.client import CoreV1Api

        api = factory("bench")
        pods = CoreV1Api(api).list_pod_for_all_namespaces()
        detail = f"{len(pods.items)} pods as typed models"
        api.close()
    else:
        ctx = CollectContext(settings=settings, kubernetes_client_factory=factory)
        (scope,) = cluster_scopes(ctx)
        snapshot = read_cluster(ctx, scope)
        read = time.perf_counter() - started
        counts = {kind: len(objects) for kind, objects in snapshot.objects.items()}
        detail = f"read {read:.2f} s, {ctx.stats.api_calls} API calls, {counts}"
        if what == "transform":
            records = transform_snapshot(snapshot, settings.kubernetes)
            detail += f"; transform {time.perf_counter() - started - read:.2f} s, {len(records)} records"
    detail += f" (importing the kubernetes client before: {imported:.2f} s)"
    connection.send((time.perf_counter() - started, _peak_mb(), before, detail))


def _run(what: str, kubeconfig: str) -> tuple[float, float, float, str]:
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    process = spawn.Process(target=measure, args=(what, kubeconfig, child))
    process.start()
    child.close()  # so that a measurement that dies is an EOFError here, not a wait forever
    result = parent.recv()
    process.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rbac", type=int, default=5_000)
    parser.add_argument("--skip-anchor", action="store_true", help="do not time the typed-model anchor")
    args = parser.parse_args()

    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    server = spawn.Process(target=serve, args=(args, child), daemon=True)
    server.start()
    url, token, ca_pem, _ = parent.recv()
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "ca.crt"
        ca.write_bytes(ca_pem)
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "bench", "cluster": {"server": url, "certificate-authority": str(ca)}}],
                    "users": [{"name": "bench", "user": {"token": token}}],
                    "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
                    "current-context": "bench",
                }
            )
        )
        print(f"estate: {args.pods} pods ({args.agents} agents), {args.rbac} RBAC objects, {NAMESPACES} namespaces")
        for what in ("live", "transform", *([] if args.skip_anchor else ["typed"])):
            seconds, peak, before, detail = _run(what, str(kubeconfig))
            label = {"live": "read_cluster", "transform": "read_cluster + transform", "typed": "anchor: typed"}[what]
            print(f"{label:26} {seconds:6.2f} s  peak RSS {peak:6.0f} MB (after imports {before:4.0f} MB)  {detail}")
        parent.send("stop")
        pods_sent = parent.recv()
    print(f"pods transferred over all runs: {pods_sent}")
    print(f"target: <= {TARGET_SECONDS} s, <= {TARGET_MB} MB; anchor: {ANCHOR}")


if __name__ == "__main__":
    main()
