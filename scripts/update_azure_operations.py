"""Regenerate agentiam/findings/data/azure_operations.tsv.gz from Azure's provider-operations listings.

The input is a folder of `az provider operation show --namespace <ns>` (or ARM providerOperations) JSON files, one
per resource provider, such as easimon/azure-builtin-roles' `provider-operations/` (MIT). Only what the permission
engine needs is kept: each operation's name and whether it is a data action.

    python scripts/update_azure_operations.py ../shared/corpora/azure/provider-operations
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parents[1] / "agentiam" / "findings" / "data" / "azure_operations.tsv.gz"


def operations(node: dict[str, Any]) -> dict[str, bool]:
    """Operation name -> is a data action, from a provider and all of its nested resource types."""
    found = {op["name"]: bool(op.get("isDataAction")) for op in node.get("operations") or []}
    for resource_type in node.get("resourceTypes") or []:
        found |= operations(resource_type)
    return found


def main(folder: str) -> None:
    found: dict[str, bool] = {}
    for path in sorted(Path(folder).glob("*.json")):
        found |= operations(json.loads(path.read_text(encoding="utf-8")))
    lines = [f"{name}\t{'data' if data else 'control'}\n" for name, data in sorted(found.items())]
    # mtime=0: the same input gives the same bytes, so a regeneration without changes is no diff.
    with gzip.GzipFile(TARGET, "wb", mtime=0) as out:
        out.write(f"# source: {Path(folder).name}, {len(lines)} operations\n".encode())
        out.write("".join(lines).encode())
    print(f"{TARGET}: {len(lines)} operations")


if __name__ == "__main__":
    main(sys.argv[1])
