"""Inventory write throughput: rows per second through Store.complete_collector_run (Core executemany).

DESIGN.md anchor: sqlmodel `add_all` writes ~11k rows/s on this 2-core machine; target >= 100k rows/s.
Run: python bench/bench_store.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from agentiam.inventory.records import GrantRecord, IdentityRecord, TrustRecord
from agentiam.inventory.store import Store

ANCHOR_ROWS_PER_S = 11_000
TARGET_ROWS_PER_S = 100_000


def records(n: int) -> list[object]:
    """A realistic mix: per role one identity, two grants and one trust row."""
    out: list[object] = []
    for i in range(n // 4):
        uid = f"aws:arn:aws:iam::111122223333:role/role-{i}"
        out.append(
            IdentityRecord(
                uid=uid,
                provider="aws",
                identity_kind="aws_role",
                name=f"role-{i}",
                native_id=uid[4:],
                scope="111122223333",
                tags={"team": "platform", "env": "prod"},
            )
        )
        for j in range(2):
            out.append(
                GrantRecord(
                    identity_uid=uid,
                    policy_hash="0" * 64,
                    policy_name=f"p{j}",
                    policy_ref=f"{uid[4:]}/inline/p{j}",
                    policy_source="inline",
                )
            )
        out.append(
            TrustRecord(
                identity_uid=uid, principal_type="Service", principal="lambda.amazonaws.com", actions=["sts:AssumeRole"]
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    batch = records(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.db"))
        with store.write() as conn:  # the policy the grants point at
            conn.exec_driver_sql(
                "INSERT INTO policy (hash, provider, policy_kind, document_json) VALUES (?, 'aws', 'x', '{}')",
                ("0" * 64,),
            )
        scan_id = store.begin_scan("bench", {})
        run_id = store.begin_collector_run(scan_id, "bench", "aws", "111122223333", "bench")
        started = time.perf_counter()
        store.complete_collector_run(scan_id, run_id, batch)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
    rate = len(batch) / elapsed
    print(f"rows written     {len(batch):>12,}")
    print(f"elapsed          {elapsed:>12.2f} s")
    print(f"rows/s           {rate:>12,.0f}")
    print(f"vs anchor        {rate / ANCHOR_ROWS_PER_S:>12.1f}x  (sqlmodel add_all ~{ANCHOR_ROWS_PER_S:,}/s)")
    print(f"vs target        {rate / TARGET_ROWS_PER_S:>12.2f}x  (target {TARGET_ROWS_PER_S:,}/s)")


if __name__ == "__main__":
    main()
