"""The store: migrations, refusal of newer or corrupt databases, concurrent readers, and per-scope bookkeeping."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from agentiam.errors import DatabaseError
from agentiam.inventory import migrations, views
from agentiam.inventory.records import GrantRecord, IdentityRecord, PolicyRecord
from agentiam.inventory.store import Store


def _identities(n: int, scope: str = "111122223333") -> list[IdentityRecord]:
    return [
        IdentityRecord(
            uid=f"aws:arn:aws:iam::{scope}:role/r{i}",
            provider="aws",
            identity_kind="aws_role",
            name=f"r{i}",
            native_id=f"arn:aws:iam::{scope}:role/r{i}",
            scope=scope,
            tags={"i": str(i)},
        )
        for i in range(n)
    ]


def test_a_new_database_is_created_at_the_latest_schema(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "sub" / "new.db"))
    info = store.info()
    assert info["schema_version"] == migrations.LATEST_VERSION
    assert info["rows"]["scan"] == 0


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_upgrade_applies_nothing_twice(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    assert store.upgrade() == []


def test_a_version_1_database_gains_grant_attributes_and_keeps_its_grants(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    store = Store.open(str(path))
    scan = store.begin_scan("0", {})
    run = store.begin_collector_run(scan, "aws-iam", "aws", "111122223333", "test")
    policy = PolicyRecord(provider="aws", policy_kind="aws_iam_policy", document={"Statement": []})
    old_grant = GrantRecord(
        identity_uid="aws:r", policy_hash=policy.hash, policy_name="p", policy_ref="p", policy_source="inline"
    )
    store.complete_collector_run(scan, run, [policy, old_grant])
    store.engine.dispose()
    with sqlite3.connect(path) as conn:  # what agentiam 0.1 wrote: no attributes column, schema version 1
        conn.execute('ALTER TABLE "grant" DROP COLUMN attributes_json')
        conn.execute("DELETE FROM migration WHERE version > 1")

    upgraded = Store.open(str(path))
    assert upgraded.info()["schema_version"] == migrations.LATEST_VERSION
    with upgraded.read() as conn:
        assert views.grants(conn, scan)["attributes"].tolist() == [{}]


def test_a_version_2_database_gains_the_review_decision_table_and_reads_before_it(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    Store.open(str(path)).engine.dispose()
    with sqlite3.connect(path) as conn:  # what agentiam wrote before access reviews: schema version 2
        conn.execute("DROP TABLE review_decision")
        conn.execute("DELETE FROM migration WHERE version > 2")

    reader = Store.open(str(path), migrate=False)  # readers do not migrate: no decisions yet, not an error
    with reader.read() as conn:
        assert views.review_decisions(conn).empty
    upgraded = Store.open(str(path))
    assert upgraded.info()["schema_version"] == migrations.LATEST_VERSION == 3
    with upgraded.read() as conn:
        assert views.review_decisions(conn).empty


def test_a_database_from_a_newer_agentiam_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store.open(str(path))
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO migration (version, name, applied_at) VALUES (999, 'from the future', '2030-01-01')")
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="schema version 999, newer than this agentiam"):
        Store.open(str(path))
    assert path.read_bytes() == before


def test_a_corrupt_file_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(DatabaseError, match="not a readable SQLite database"):
        Store.open(str(path))
    assert path.read_bytes().startswith(b"this is not a database")


def test_a_foreign_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(DatabaseError, match="not an agentiam inventory"):
        Store.open(str(path))


def test_records_of_a_scope_are_written_in_one_transaction_with_counts(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    scan_id = store.begin_scan("test", {})
    run_id = store.begin_collector_run(scan_id, "aws-iam", "aws", "111122223333", "live")
    policy = PolicyRecord(provider="aws", policy_kind="aws_iam_policy", document={"Statement": []})
    records = [
        *_identities(3),
        policy,
        policy,
        GrantRecord(
            identity_uid="aws:x", policy_hash=policy.hash, policy_name="p", policy_ref="p", policy_source="inline"
        ),
    ]
    counts = store.complete_collector_run(scan_id, run_id, records, api_calls=7, throttled=2)
    assert counts == {"identities": 3, "policies": 1, "grants": 1}
    assert store.finish_scan(scan_id) == "complete"
    with store.read() as conn:
        run = views.collector_runs(conn, scan_id).iloc[0]
    assert (run.status, run.api_calls, run.throttled, run.counts["identities"]) == ("complete", 7, 2, 3)


def test_policies_are_stored_once_across_scans(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    policy = PolicyRecord(provider="aws", policy_kind="aws_iam_policy", document={"Statement": [], "Version": "1"})
    for _ in range(2):
        scan_id = store.begin_scan("test", {})
        run_id = store.begin_collector_run(scan_id, "aws-iam", "aws", "1", "live")
        store.complete_collector_run(scan_id, run_id, [policy])
    assert store.info()["rows"]["policy"] == 1


def test_a_failed_scope_makes_the_scan_partial_and_keeps_earlier_scans(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    first = store.begin_scan("test", {})
    run = store.begin_collector_run(first, "aws-iam", "aws", "111122223333", "live")
    store.complete_collector_run(first, run, _identities(5))
    assert store.finish_scan(first) == "complete"

    second = store.begin_scan("test", {})
    good = store.begin_collector_run(second, "aws-iam", "aws", "444455556666", "live")
    store.complete_collector_run(second, good, _identities(2, "444455556666"))
    bad = store.begin_collector_run(second, "aws-iam", "aws", "111122223333", "live")
    store.fail_collector_run(bad, "iam:GetAccountAuthorizationDetails: AccessDenied: not authorized")
    assert store.finish_scan(second) == "partial"

    with store.read() as conn:
        assert len(views.identities(conn, first)) == 5
        assert len(views.identities(conn, second)) == 2
        failed = views.collector_runs(conn, second).set_index("scope").loc["111122223333"]
        assert failed.status == "failed" and "AccessDenied" in failed.error


def test_a_scan_whose_every_scope_failed_is_failed(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    scan_id = store.begin_scan("test", {})
    store.fail_collector_run(store.begin_collector_run(scan_id, "aws-iam", "aws", "1", "live"), "boom")
    assert store.finish_scan(scan_id) == "failed"


def test_readers_see_the_last_committed_scan_while_a_writer_works(tmp_path: Path) -> None:
    path = str(tmp_path / "x.db")
    writer = Store.open(path)
    reader = Store.open(path)
    scan_id = writer.begin_scan("test", {})
    run_id = writer.begin_collector_run(scan_id, "aws-iam", "aws", "1", "live")
    started, release = threading.Event(), threading.Event()

    def slow_write() -> None:
        with writer.write() as conn:
            conn.execute(text("UPDATE scan SET status = 'writing' WHERE id = :id"), {"id": scan_id})
            started.set()
            release.wait(5)

    thread = threading.Thread(target=slow_write)
    thread.start()
    assert started.wait(5)
    with reader.read() as conn:  # WAL: a reader is not blocked by the open write transaction
        assert views.scan(conn, scan_id)["status"] == "running"
    release.set()
    thread.join()
    writer.complete_collector_run(scan_id, run_id, _identities(1))
    with reader.read() as conn:
        assert views.scan(conn, scan_id)["status"] == "writing"
        assert len(views.identities(conn, scan_id)) == 1


def test_two_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    path = str(tmp_path / "x.db")
    stores = [Store.open(path), Store.open(path)]
    errors: list[Exception] = []

    def write_scans(store: Store) -> None:
        try:
            for _ in range(10):
                scan_id = store.begin_scan("test", {})
                run_id = store.begin_collector_run(scan_id, "aws-iam", "aws", "1", "live")
                store.complete_collector_run(scan_id, run_id, _identities(50))
                store.finish_scan(scan_id)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write_scans, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].info()["rows"]["scan"] == 20


def test_an_identity_collected_twice_in_one_scan_is_kept_once(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "x.db"))
    scan_id = store.begin_scan("test", {})
    for source in ("live", "offline.json"):
        run_id = store.begin_collector_run(scan_id, "aws-iam", "aws", "111122223333", source)
        counts = store.complete_collector_run(scan_id, run_id, _identities(2))
    assert counts == {"policies": 0, "identities": 0, "identities_already_collected": 2}
    assert store.finish_scan(scan_id) == "complete"
    with store.read() as conn:
        assert len(views.identities(conn, scan_id)) == 2
