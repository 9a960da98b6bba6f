"""The read-through cache in front of the state store: hits skip the store, the gateway's own writes are
seen at once, a read racing a write never caches what it read, other namespaces pass straight through."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.store import open_store
from gateway.store.cache import CachedStore


class Counting(CachedStore):
    """A CachedStore over SQLite that counts the reads reaching SQLite."""

    def __init__(self, ttl: float = 30.0, **kw) -> None:
        inner = open_store("sqlite://:memory:")
        self.reads = 0
        get = inner.get

        async def counted(ns: str, key: str):
            self.reads += 1
            return await get(ns, key)
        inner.get = counted  # type: ignore[method-assign]
        super().__init__(inner, namespaces=("cfg",), ttl=ttl, **kw)


@pytest.fixture
async def cached():
    s = Counting()
    yield s
    await s.close()


async def test_repeated_reads_hit_memory_and_absent_keys_are_cached_too(cached):
    await cached.put("cfg", "b/acl", {"owner": "1"})
    assert [await cached.get("cfg", "b/acl") for _ in range(5)] == [{"owner": "1"}] * 5
    assert [await cached.get("cfg", "b/lifecycle") for _ in range(5)] == [None] * 5
    assert cached.reads == 2


async def test_own_writes_are_seen_at_once(cached):
    assert await cached.get("cfg", "k") is None
    await cached.put("cfg", "k", 1)
    assert await cached.get("cfg", "k") == 1
    assert await cached.put_if_absent("cfg", "k", 2) == 1
    await cached.delete("cfg", "k")
    assert await cached.get("cfg", "k") is None
    assert await cached.put_if_absent("cfg", "k", 3) is None
    assert await cached.get("cfg", "k") == 3
    await cached.put("cfg", "b/x", 1)
    await cached.put("cfg", "c/x", 1)
    assert (await cached.get("cfg", "b/x"), await cached.get("cfg", "c/x")) == (1, 1)
    await cached.delete_prefix("cfg", "b/")
    assert (await cached.get("cfg", "b/x"), await cached.get("cfg", "c/x")) == (None, 1)


async def test_a_read_racing_a_write_does_not_cache_the_old_value(cached):
    await cached.put("cfg", "k", "old")
    gate = asyncio.Event()
    get = cached.inner.get

    async def slow_get(ns: str, key: str):
        value = await get(ns, key)
        await gate.wait()  # the write lands while this read is in flight
        return value
    cached.inner.get = slow_get  # type: ignore[method-assign]
    reader = asyncio.create_task(cached.get("cfg", "k"))
    await asyncio.sleep(0.05)
    await cached.put("cfg", "k", "new")
    gate.set()
    assert await reader == "old"  # it began before the write
    cached.inner.get = get  # type: ignore[method-assign]
    assert await cached.get("cfg", "k") == "new"


async def test_entries_expire_and_callers_cannot_change_the_cache(cached):
    short = Counting(ttl=0.2)
    try:
        await short.put("cfg", "k", {"rules": [1]})
        value = await short.get("cfg", "k")
        value["rules"].append(2)
        assert await short.get("cfg", "k") == {"rules": [1]}
        assert short.reads == 1
        await short.inner.put("cfg", "k", {"rules": []})  # another replica's write
        assert await short.get("cfg", "k") == {"rules": [1]}
        time.sleep(0.25)
        assert await short.get("cfg", "k") == {"rules": []}
    finally:
        await short.close()


async def test_other_namespaces_and_ttl_zero_are_never_cached(cached):
    off = Counting(ttl=0)
    try:
        for store in (cached, off):
            await store.put("other", "k", 1)
            await store.put("cfg", "k", 1)
        before = (cached.reads, off.reads)
        for _ in range(3):
            assert await cached.get("other", "k") == 1
            assert await off.get("cfg", "k") == 1
        assert (cached.reads - before[0], off.reads - before[1]) == (3, 3)
    finally:
        await off.close()


async def test_the_cache_is_bounded():
    small = Counting(max_entries=3)
    try:
        for i in range(10):
            await small.get("cfg", f"k{i}")
        assert len(small._entries) <= 3
        assert await small.get("cfg", "k9") is None and small.reads == 10  # the newest stays
    finally:
        await small.close()


def test_the_gateway_caches_the_s3_bucket_namespaces():
    from gateway.app import CACHED_NAMESPACES
    from gateway.s3.common import NS_BUCKET_CONFIG, NS_BUCKET_OWNER, NS_OBJECT_EXTRA

    assert set(CACHED_NAMESPACES) == {NS_BUCKET_OWNER, NS_BUCKET_CONFIG}
    assert NS_OBJECT_EXTRA not in CACHED_NAMESPACES  # per object: too many keys, read once per request


async def test_compare_and_set_writes_drop_the_cached_entry(cached):
    await cached.put("cfg", "b/tags", {"a": "1"})
    assert await cached.get("cfg", "b/tags") == {"a": "1"}  # cached now
    assert await cached.update("cfg", "b/tags", lambda t: {**t, "b": "2"}) == {"a": "1", "b": "2"}
    assert await cached.get("cfg", "b/tags") == {"a": "1", "b": "2"}
    _, version = await cached.get_versioned("cfg", "b/tags")
    assert await cached.delete_if_version("cfg", "b/tags", version) is True
    assert await cached.get("cfg", "b/tags") is None
