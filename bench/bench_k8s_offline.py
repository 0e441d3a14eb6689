"""Offline Kubernetes import + every rule on a generated `kubectl get ... -A -o json` dump: time and peak memory.

    python bench/bench_k8s_offline.py --pods 20000 [--pods 100000]

The dump: N pods in N/100 namespaces (1% agents, labelled app=ai-agent; each pod with two env variables and a
secretKeyRef), one service account per 10 pods, 50 ClusterRoles with 10 ClusterRoleBindings and one RoleBinding per
namespace. Prints one line per size: pods, import (parse, transform, store) and analysis seconds, wall and CPU, and
the peak RSS of the process so far.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from agentiam.config import load_settings
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import load_plugins


def _pod(i: int, namespaces: int) -> dict[str, Any]:
    ns = f"team-{i % namespaces}"
    labels = {"app": "ai-agent" if i % 100 == 0 else f"svc-{i % 37}", "pod-template-hash": f"{i:08x}"}
    env = [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB_URL", "value": f"postgres://db-{i % 7}.internal:5432/app"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"db-{i % 7}", "key": "password"}}},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"pod-{i}",
            "namespace": ns,
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"rs-{i // 3}",
                    "uid": f"rs-{i // 3}",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "serviceAccountName": f"sa-{i % 10}",
            "containers": [{"name": "main", "image": f"registry.example.com/app-{i % 37}:1.{i % 9}", "env": env}],
        },
        "status": {"phase": "Running"},
    }


def dump(pods: int) -> dict[str, Any]:
    namespaces = max(1, pods // 100)
    items: list[dict[str, Any]] = [_pod(i, namespaces) for i in range(pods)]
    items += [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"sa-{k}", "namespace": f"team-{n}"}}
        for n in range(namespaces)
        for k in range(10)
    ]
    verbs = [["get", "list"], ["create"], ["*"], ["get", "watch"]]
    resources = [["pods"], ["secrets"], ["deployments"], ["configmaps", "services"], ["pods/exec"]]
    items += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"role-{r}"},
            "rules": [{"apiGroups": ["", "apps"], "resources": resources[r % 5], "verbs": verbs[r % 4]}],
        }
        for r in range(50)
    ]
    items += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"crb-{b}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"role-{b}"},
            "subjects": [{"kind": "ServiceAccount", "name": f"sa-{b}", "namespace": f"team-{b % namespaces}"}],
        }
        for b in range(10)
    ]
    items += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "team", "namespace": f"team-{n}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"role-{n % 50}"},
            "subjects": [{"kind": "Group", "name": f"system:serviceaccounts:team-{n}"}],
        }
        for n in range(namespaces)
    ]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def run(pods: int, folder: Path) -> None:
    export = folder / f"cluster-{pods}.json"
    export.write_text(json.dumps(dump(pods)))
    settings = load_settings(None, {"db": str(folder / f"inventory-{pods}.db")}, environ={})
    plugins = load_plugins()
    store = Store.open(settings.db)
    # CPU time beside wall time: on a shared 2-core machine the wall clock measures the neighbours too.
    started, started_cpu = time.perf_counter(), time.process_time()
    outcome = collect(store, settings, ScanRequest(offline=[export]), plugins)
    collected, collected_cpu = time.perf_counter(), time.process_time()
    analyze_scan(store, outcome.scan_id, settings, plugins)
    analysed, analysed_cpu = time.perf_counter(), time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{pods} pods: import {collected - started:.1f} s ({collected_cpu - started_cpu:.1f} s CPU), "
        f"analysis {analysed - collected:.1f} s ({analysed_cpu - collected_cpu:.1f} s CPU), "
        f"peak RSS {peak:.0f} MB ({outcome.status})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, action="append", help="pods in the dump (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for pods in args.pods or [20000]:
            run(pods, Path(folder))


if __name__ == "__main__":
    main()
