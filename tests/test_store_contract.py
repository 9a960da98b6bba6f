"""The state store contract, on SQLite, PostgreSQL and MariaDB alike (real servers, tests/db_servers.py):
every operation, prefix scans with LIKE metacharacters and non-ASCII keys, large values, atomicity under
concurrency (one put_if_absent winner, no lost CAS update), schema migrations applied once, export →
import between stores."""

from __future__ import annotations

import asyncio
import io

import pytest

from backends.base import Unavailable
from gateway.store import StoreContention
from gateway.store.transfer import export_lines, import_lines
from tests import store_fixtures
from tests.store_fixtures import new_database, open_test_store

# The fixtures, by name (pytest finds them in this module's namespace).
pg_server, my_server = store_fixtures.pg_server, store_fixtures.my_server
store_url, store = store_fixtures.store_url, store_fixtures.store


async def test_put_get_delete_roundtrip_json(store):
    assert await store.get("ns", "k") is None
    await store.put("ns", "k", {"a": [1, "x"], "n": None, "f": 1.5, "u": "\u00e9\u4e2d\U0001f600\u0000"})
    assert await store.get("ns", "k") == {"a": [1, "x"], "n": None, "f": 1.5, "u": "\u00e9\u4e2d\U0001f600\u0000"}
    await store.put("ns", "k", [2])  # overwrite
    assert await store.get("ns", "k") == [2]
    assert await store.get("other", "k") is None  # namespaces are separate
    assert await store.get("ns", "K") is None  # keys are case-sensitive
    assert await store.delete("ns", "k") is True
    assert await store.delete("ns", "k") is False
    assert await store.get("ns", "k") is None


async def test_scalar_values_roundtrip(store):
    for i, value in enumerate([0, 1, -7, "", "x", True, False, [], {}, 10**15]):
        await store.put("ns", f"k{i}", value)
        assert await store.get("ns", f"k{i}") == value


async def test_put_if_absent_returns_none_then_the_stored_value(store):
    assert await store.put_if_absent("ns", "t", {"by": 1}) is None
    assert await store.put_if_absent("ns", "t", {"by": 2}) == {"by": 1}
    assert await store.get("ns", "t") == {"by": 1}
    await store.delete("ns", "t")
    assert await store.put_if_absent("ns", "t", {"by": 3}) is None


async def test_put_if_absent_has_exactly_one_winner_under_concurrency(store):
    results = await asyncio.gather(*(store.put_if_absent("ns", "token", {"by": i}) for i in range(50)))
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1
    assert all(r == {"by": winners[0]} for r in results if r is not None)
    assert await store.get("ns", "token") == {"by": winners[0]}


ODD_KEYS = ["a/2", "a/1", "A/3", "a%/4", "a_5", "ab/6", "b/1", "a/\u00e9", "a/\U0001f600", "a/%", "a/_x",
            "a/\\", "a\u00e9/7", "a/\u4e2d", "%", "_", "\u00e9"]


async def test_scan_is_prefix_exact_case_sensitive_and_code_point_ordered(store):
    for key in ODD_KEYS:
        await store.put("ns", key, key)
    await store.put("other", "a/0", "elsewhere")
    a_slash = sorted(k for k in ODD_KEYS if k.startswith("a/"))
    assert [k for k, _ in await store.scan("ns", "a/")] == a_slash
    assert a_slash[:3] == ["a/%", "a/1", "a/2"] and a_slash[-1] == "a/\U0001f600"  # code point order
    assert [k for k, v in await store.scan("ns", "a%")] == ["a%/4"]  # % and _ are not wildcards
    assert [k for k, _ in await store.scan("ns", "a_")] == ["a_5"]
    assert [k for k, _ in await store.scan("ns", "%")] == ["%"]
    assert [k for k, _ in await store.scan("ns", "a\u00e9")] == ["a\u00e9/7"]
    assert [k for k, _ in await store.scan("ns", "a/", limit=2)] == a_slash[:2]
    assert [k for k, _ in await store.scan("ns")] == sorted(ODD_KEYS)
    assert all(k == v for k, v in await store.scan("ns"))
    assert await store.scan("ns", "zz") == []
    assert await store.delete_prefix("ns", "a/") == len(a_slash)
    assert [k for k, _ in await store.scan("ns")] == sorted(k for k in ODD_KEYS if not k.startswith("a/"))
    assert await store.delete_prefix("ns", "_") == 1
    assert await store.get("other", "a/0") == "elsewhere"


async def test_keys_with_nul_separators(store):
    """The S3 namespaces separate key and version / upload id with NUL (s3/common.py, multipart_state.py)."""
    keys = ["b/k\0null", "b/k\0v2", "b/k/x\0null", "b/k\x01", "b/\0"]
    for key in keys:
        await store.put("ns", key, key)
    assert await store.get("ns", "b/k\0v2") == "b/k\0v2"
    assert [k for k, _ in await store.scan("ns", "b/k\0")] == ["b/k\0null", "b/k\0v2"]
    assert [k for k, _ in await store.scan("ns", "b/")] == sorted(keys)
    assert await store.put_if_absent("ns", "b/k\0null", 0) == "b/k\0null"
    assert await store.delete_prefix("ns", "b/k\0") == 2
    assert await store.delete("ns", "b/\0") is True


async def test_large_values_and_long_keys(store):
    big = {"blob": "x" * (2 << 20), "list": list(range(20_000))}
    await store.put("ns", "big", big)
    assert await store.get("ns", "big") == big
    key = "bucket/" + "\u00e9" * 500  # an S3 key is at most 1024 UTF-8 bytes
    await store.put("ns", key, 1)
    assert await store.scan("ns", "bucket/") == [(key, 1)]


async def test_versions_compare_and_set(store):
    assert await store.get_versioned("ns", "k") == (None, 0)
    assert await store.put_if_version("ns", "k", "v1", 5) is False  # absent: only version 0 matches
    assert await store.put_if_version("ns", "k", "v1", 0) is True
    assert await store.put_if_version("ns", "k", "again", 0) is False
    value, v1 = await store.get_versioned("ns", "k")
    assert value == "v1" and v1 > 0
    assert await store.put_if_version("ns", "k", "v2", v1) is True
    assert await store.put_if_version("ns", "k", "lost", v1) is False  # stale
    value, v2 = await store.get_versioned("ns", "k")
    assert value == "v2" and v2 != v1
    await store.put("ns", "k", "v3")  # a plain write bumps the version too
    value, v3 = await store.get_versioned("ns", "k")
    assert value == "v3" and v3 not in (v1, v2)
    assert await store.delete_if_version("ns", "k", v2) is False
    assert await store.delete_if_version("ns", "k", v3) is True
    assert await store.get_versioned("ns", "k") == (None, 0)


async def test_update_helper_writes_deletes_and_reports(store):
    assert await store.update("ns", "tags", lambda cur: {**(cur or {}), "a": "1"}) == {"a": "1"}
    assert await store.update("ns", "tags", lambda cur: {**cur, "b": "2"}) == {"a": "1", "b": "2"}
    assert await store.get("ns", "tags") == {"a": "1", "b": "2"}
    assert await store.update("ns", "tags", lambda cur: None) is None  # None deletes
    assert await store.get("ns", "tags") is None
    assert await store.update("ns", "tags", lambda cur: None) is None  # deleting nothing is fine


async def test_concurrent_cas_increments_lose_no_update(store):
    tasks = 30
    results = await asyncio.gather(*(store.update("ns", "counter", lambda n: (n or 0) + 1, attempts=500)
                                     for _ in range(tasks)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(results) == list(range(1, tasks + 1))  # every task saw its own increment land
    assert await store.get("ns", "counter") == tasks


async def test_update_gives_up_after_bounded_attempts_with_a_503(store):
    await store.put("ns", "hot", 0)

    async def always_lose(ns, key, value, version):
        await store.put(ns, key, -1)
        return await original(ns, key, value, version)  # another writer got in between: stale
    original = store.put_if_version
    store.put_if_version = always_lose  # type: ignore[method-assign]
    with pytest.raises(StoreContention) as e:
        await store.update("ns", "hot", lambda n: n + 1, attempts=3)
    assert isinstance(e.value, Unavailable)  # the pipeline answers 503 ServiceUnavailable
    assert await store.get("ns", "hot") == -1


async def test_migrations_apply_once_when_two_replicas_start_together(request, store_url):
    a, b = open_test_store(store_url), open_test_store(store_url)
    try:
        applied = await asyncio.gather(a.migrate(), b.migrate())
        assert sorted(applied[0] + applied[1]) == [1, 2]  # each version applied by exactly one of them
        await a.put("ns", "k", 1)
        assert await b.get("ns", "k") == 1
    finally:
        await a.close()
        await b.close()
    c = open_test_store(store_url)
    try:
        assert await c.migrate() == []  # a later start finds nothing to do
        assert await c.get("ns", "k") == 1
    finally:
        await c.close()


SAMPLE = [("ec2:id", "i-0123456789abcdef0", {"os": "9f1c", "n": 1}), ("ec2:token", "acct/tok%_\u00e9", "r-1"),
          ("s3:bucket-owner", "bkt", "123456789012"), ("s3:bucket-config", "bkt/lifecycle", {"Rules": []}),
          ("tags", "vol-1", {"Name": "x\ny\u4e2d"}), ("s3:object-extra", "bkt/key\0null", {"tags": {}}),
          ("z", "\U0001f600", 0)]


@pytest.mark.parametrize("via", ["sqlite", "postgresql", "mysql"])
async def test_export_import_round_trip_between_stores(request, tmp_path, store, via):
    """`store` → JSON lines → a `via` store → JSON lines: every record arrives as it was."""
    for ns, key, value in SAMPLE:
        await store.put(ns, key, value)
    for i in range(250):  # several dump batches
        await store.put("bulk", f"{i:05d}", i)
    first = io.StringIO()
    assert await export_lines(store, first, batch=100) == len(SAMPLE) + 250
    other = open_test_store(await new_database(request, via, tmp_path))
    try:
        first.seek(0)
        assert await import_lines(other, first) == len(SAMPLE) + 250
        second = io.StringIO()
        await export_lines(other, second, batch=100)
        assert second.getvalue() == first.getvalue()
        for ns, key, value in SAMPLE:
            assert await other.get(ns, key) == value
    finally:
        await other.close()


async def test_import_refuses_a_malformed_line(store):
    with pytest.raises(ValueError, match="line 2"):
        await import_lines(store, io.StringIO('{"ns": "a", "key": "b", "value": 1}\n{"ns": "a"}\n'))
    assert await store.get("a", "b") == 1


async def test_replicas_on_one_database_agree(store_url):
    """Three store instances on one database (as three gateway replicas): one put_if_absent winner, no
    lost CAS update, each one's writes seen by the others at once (none of them caches)."""
    replicas = [open_test_store(store_url) for _ in range(3)]
    try:
        claims = await asyncio.gather(*(replicas[i % 3].put_if_absent("ns", "token", i) for i in range(30)))
        assert claims.count(None) == 1
        winner = claims.index(None)
        assert all(c == winner for c in claims if c is not None)
        incs = await asyncio.gather(*(replicas[i % 3].update("ns", "n", lambda n: (n or 0) + 1, attempts=500)
                                      for i in range(24)))
        assert sorted(incs) == list(range(1, 25))
        assert [await r.get("ns", "n") for r in replicas] == [24, 24, 24]
    finally:
        for r in replicas:
            await r.close()
