"""The gateway state store (SQLite): atomic put-if-absent, prefix scans, durability."""

from __future__ import annotations

import asyncio

import pytest

from gateway.store import open_store


@pytest.fixture
async def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    yield s
    await s.close()


async def test_put_get_delete_roundtrip_json(store):
    await store.put("ns", "k", {"a": [1, "x"]})
    assert await store.get("ns", "k") == {"a": [1, "x"]}
    assert await store.get("other", "k") is None
    assert await store.delete("ns", "k") is True
    assert await store.delete("ns", "k") is False
    assert await store.get("ns", "k") is None


async def test_put_if_absent_has_exactly_one_winner_under_concurrency(store):
    results = await asyncio.gather(*(store.put_if_absent("ns", "token", {"by": i}) for i in range(50)))
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1
    assert all(r == {"by": winners[0]} for r in results if r is not None)


async def test_scan_is_prefix_exact_case_sensitive_and_ordered(store):
    for key in ["a/2", "a/1", "A/3", "a%/4", "a_5", "b/1", "a/\u00e9"]:
        await store.put("ns", key, key)
    assert [k for k, _ in await store.scan("ns", "a/")] == ["a/1", "a/2", "a/\u00e9"]
    assert [k for k, _ in await store.scan("ns", "a%")] == ["a%/4"]
    assert [k for k, _ in await store.scan("ns", "a/", limit=1)] == ["a/1"]
    assert await store.delete_prefix("ns", "a/") == 3
    assert [k for k, _ in await store.scan("ns")] == ["A/3", "a%/4", "a_5", "b/1"]


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


async def test_point_reads_skip_the_worker_thread_and_see_every_committed_write(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        assert await s.get("ns", "k") is None  # before the file is set up: through the worker
        hops = []
        submit = s._executor.submit

        def counted(*a, **kw):
            hops.append(a)
            return submit(*a, **kw)
        s._executor.submit = counted
        for i in range(20):
            await s.put("ns", "k", {"n": i})
            assert await s.get("ns", "k") == {"n": i}
            assert await s.get("ns", f"absent-{i}") is None
        await s.delete("ns", "k")
        assert await s.get("ns", "k") is None
        assert len(hops) == 21  # the writes alone
    finally:
        await s.close()
