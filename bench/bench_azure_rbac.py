"""Time the Azure offline import and analysis of a large RBAC estate (DESIGN.md: 50,000 role assignments, <= 3 s).

Generates `az role definition list` (the real built-in roles from the corpus, plus custom roles drawn from the
operation catalogue) and `az role assignment list --all` with N assignments over N/5 service principals at mixed
scopes, then runs the real pipeline in-process and prints where the time goes:

    python bench/bench_azure_rbac.py --assignments 10000 50000 [--seed 1] [--builtin-roles DIR]

Figures: import (parse, transform, store), and analysis (evaluating every distinct role once, every principal's
assignments, and all rules). Growth is checked by running 10,000 and 50,000.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from agentiam.config import Settings
from agentiam.findings.context import AnalysisContext
from agentiam.findings.policy.azure_catalogue import default_operation_catalogue
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import load_plugins

SUBSCRIPTIONS = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(20)]


def custom_roles(count: int, rng: random.Random) -> list[dict[str, Any]]:
    catalogue = default_operation_catalogue()
    names = [n for n in catalogue.names if not catalogue.is_data_action(n)]
    roles = []
    for i in range(count):
        actions = rng.sample(names, rng.randint(3, 40))
        if rng.random() < 0.2:
            actions.append(rng.choice(["Microsoft.Compute/*", "Microsoft.Web/sites/*", "*/read"]))
        guid = f"c0000000-0000-4000-8000-{i:012d}"
        roles.append(
            {
                "id": f"/subscriptions/{SUBSCRIPTIONS[0]}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                "name": guid,
                "roleName": f"custom-{i}",
                "roleType": "CustomRole",
                "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
                "assignableScopes": [f"/subscriptions/{s}" for s in SUBSCRIPTIONS],
                "type": "Microsoft.Authorization/roleDefinitions",
            }
        )
    return roles


def scope(rng: random.Random) -> str:
    subscription = f"/subscriptions/{rng.choice(SUBSCRIPTIONS)}"
    roll = rng.random()
    if roll < 0.02:
        return "/providers/Microsoft.Management/managementGroups/corp"
    if roll < 0.25:
        return subscription
    group = f"{subscription}/resourceGroups/rg-{rng.randint(0, 400)}"
    return group if roll < 0.75 else f"{group}/providers/Microsoft.Web/sites/app-{rng.randint(0, 5000)}"


def assignments(count: int, definitions: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    # Real estates assign a few roles often (Reader, Contributor, data roles) and most rarely.
    weights = [50 if d["roleName"] in ("Reader", "Contributor", "Storage Blob Data Reader") else 1 for d in definitions]
    principals = [f"a0000000-0000-4000-8000-{i:012d}" for i in range(max(1, count // 5))]
    chosen = rng.choices(definitions, weights, k=count)
    return [
        {
            "id": f"/subscriptions/{SUBSCRIPTIONS[0]}/providers/Microsoft.Authorization/roleAssignments/{i:032x}",
            "principalId": rng.choice(principals),
            "principalType": "ServicePrincipal",
            "roleDefinitionId": definition["id"],
            "roleDefinitionName": definition["roleName"],
            "scope": scope(rng),
            "type": "Microsoft.Authorization/roleAssignments",
        }
        for i, definition in enumerate(chosen)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignments", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--builtin-roles", type=Path, default=Path(__file__).resolve().parents[2] / "shared/corpora/azure/builtin-roles"
    )
    args = parser.parse_args()
    plugins = load_plugins()
    rng = random.Random(args.seed)
    builtin = [json.loads(p.read_text()) for p in sorted(args.builtin_roles.glob("*.json"))]
    definitions = builtin + custom_roles(200, rng)
    print(f"{len(builtin)} built-in + 200 custom role definitions")
    for count in args.assignments:
        with tempfile.TemporaryDirectory() as folder:
            definitions_file, assignments_file = Path(folder, "definitions.json"), Path(folder, "assignments.json")
            definitions_file.write_text(json.dumps(definitions))
            assignments_file.write_text(json.dumps(assignments(count, definitions, random.Random(args.seed))))
            settings = Settings(db=str(Path(folder, "inventory.db")))
            store = Store.open(settings.db)
            started = time.perf_counter()
            outcome = collect(store, settings, ScanRequest(offline=[definitions_file, assignments_file]), plugins)
            imported = time.perf_counter()
            ctx = AnalysisContext(store, outcome.scan_id, settings)
            ctx.identities  # noqa: B018 (the inventory read, shared by every provider's rules)
            loaded = time.perf_counter()
            principals = ctx.azure_principals
            evaluated = time.perf_counter()
            result = analyze_scan(store, outcome.scan_id, settings, plugins)
            analysed = time.perf_counter()
            print(
                f"{count:>7} assignments, {len(principals)} principals, {len(ctx.azure_roles)} distinct roles: "
                f"import {imported - started:.2f} s; inventory read {loaded - imported:.2f} s; "
                f"roles and principals {evaluated - loaded:.2f} s; "
                f"analysis with all rules {analysed - evaluated:.2f} s ({sum(result.counts.values())} findings)"
            )


if __name__ == "__main__":
    main()
