"""What is particular to the SQLite store: durability across reopen, point reads and single-statement
writes on the loop thread (the worker thread when the write lock is held), a state file from before schema
migrations brought up to date. The contract itself: test_store_contract.py."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from gateway.store import open_store
from gateway.store import sqlite as sqlite_store


def worker_hops(store) -> list[tuple]:
    """The calls `store` hands to its worker thread from now on (each as the executor's submit arguments)."""
    hops: list[tuple] = []
    submit = store._executor.submit

    def counted(*a, **kw):
        hops.append(a)
        return submit(*a, **kw)
    store._executor.submit = counted
    return hops


@pytest.fixture
async def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    yield s
    await s.close()


async def test_data_survives_reopen(tmp_path):
    url = f"sqlite:///{tmp_path}/d/state.db"
    s = open_store(url)
    await s.put("ns", "k", 1)
    await s.close()
    s = open_store(url)
    assert await s.get("ns", "k") == 1
    await s.close()


def test_unsupported_url_is_refused():
    with pytest.raises(ValueError, match="unsupported state store URL"):
        open_store("redis://x")


async def test_point_reads_and_writes_skip_the_worker_thread_and_see_every_committed_write(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        assert await s.get("ns", "k") is None  # before the file is set up: through the worker
        hops = worker_hops(s)
        for i in range(20):
            await s.put("ns", "k", {"n": i})
            assert await s.get("ns", "k") == {"n": i}
            assert await s.get("ns", f"absent-{i}") is None
        await s.delete("ns", "k")
        assert await s.get("ns", "k") is None
        assert await s.put_if_version("ns", "k", 1, 0) is True
        assert await s.put_if_version("ns", "k", 2, 1) is True and await s.put_if_version("ns", "k", 3, 1) is False
        assert await s.get_versioned("ns", "k") == (2, 2)  # the worker's connection sees the loop's writes
        assert await s.delete_if_version("ns", "k", 1) is False and await s.delete_if_version("ns", "k", 2) is True
        assert hops[1:] == [] and await s.get("ns", "k") is None  # only get_versioned went to the worker
    finally:
        await s.close()


async def test_a_write_meeting_a_held_write_lock_waits_for_it_on_the_worker_thread(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    blocker = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    try:
        await s.put("ns", "k", "a")  # the file set up
        hops = worker_hops(s)
        blocker.execute("BEGIN IMMEDIATE")  # another process writing: the write lock is held
        write = asyncio.ensure_future(s.put_if_version("ns", "k", "b", 1))
        await asyncio.sleep(0.3)
        assert not write.done() and len(hops) == 1  # SQLITE_BUSY on the loop: handed to the worker, waiting
        blocker.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) is True
        assert await s.get_versioned("ns", "k") == ("b", 2)
    finally:
        blocker.close()
        await s.close()


async def test_the_worker_thread_checkpoints_what_the_loop_thread_wrote(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 5)
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        await s.put("ns", "k", 0)
        hops = worker_hops(s)
        for i in range(10):
            await s.put("ns", "k", i)
        assert [fn for fn, *_ in hops] == [s._checkpoint, s._checkpoint]
        await asyncio.sleep(0)
        assert await s.get("ns", "k") == 9
    finally:
        await s.close()


async def test_scans_and_deleting_an_absent_key_skip_the_worker_thread_and_a_present_one_deletes(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    other = open_store(f"sqlite:///{tmp_path}/state.db")  # another replica on the same file
    try:
        await s.put("ns", "k", 1)
        hops = worker_hops(s)
        assert await s.delete("ns", "absent") is False
        assert hops == []  # answered by the loop thread's reader: no write transaction
        await other.put("ns", "theirs", 2)  # written by another process: seen, so deleted
        assert await s.scan("ns") == [("k", 1), ("theirs", 2)]  # scans read on the loop thread too
        assert await s.scan("ns", "t", limit=1) == [("theirs", 2)]
        assert hops == []
        assert await s.delete("ns", "theirs") is True
        assert await s.delete("ns", "k") is True
        assert hops == []  # single-statement writes run on the loop thread too
        assert await other.get("ns", "theirs") is None and await other.get("ns", "k") is None
    finally:
        await s.close()
        await other.close()


async def test_a_state_file_from_before_migrations_keeps_its_rows_and_gains_versions(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
               " PRIMARY KEY (ns, key)) WITHOUT ROWID")
    db.execute("INSERT INTO kv VALUES ('ec2:token', 'acct/t1', '\"r-1\"')")
    db.commit()
    db.close()
    s = open_store(f"sqlite:///{path}")
    try:
        assert await s.migrate() == [1, 2]  # 1 finds its table there (IF NOT EXISTS) and records itself
        assert await s.get_versioned("ec2:token", "acct/t1") == ("r-1", 1)
        assert await s.put_if_version("ec2:token", "acct/t1", "r-2", 1) is True
    finally:
        await s.close()


def test_processes_opening_a_new_file_together_all_get_in(tmp_path):
    """The switch to WAL gets SQLITE_BUSY at once (no busy handler) when another opener holds the new
    file: before the retry, about one race in ten among three openers failed with "database is locked"."""
    failures: list[BaseException] = []

    def open_it(path):
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=5000")
            sqlite_store._enter_wal(db)
            sqlite_store._migrate(db)
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            db.close()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    for i in range(60):
        path = str(tmp_path / f"s{i}.db")
        threads = [threading.Thread(target=open_it, args=(path,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert failures == []
