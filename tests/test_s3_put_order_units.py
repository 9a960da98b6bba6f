"""put_order's writer record (gateway/s3/put_order.py) on a real SQLite store: a long upload's entry is
renewed while it runs, a short one never starts the renewing task, and every writer id is distinct."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from gateway.s3 import put_order
from gateway.store import open_store


@pytest.fixture
async def ctx(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    yield SimpleNamespace(gateway=SimpleNamespace(store=store))
    await store.close()


async def test_a_long_upload_renews_its_entry_and_leaves_none_behind(ctx, monkeypatch):
    monkeypatch.setattr(put_order, "TTL_SECONDS", 0.6)
    async with put_order.ordered(ctx, "b", "k") as writer:
        first = (await ctx.gateway.store.get(put_order.NS_PUT_ORDER, "b/k"))["w"][writer.id]["u"]
        await asyncio.sleep(0.5)  # past TTL/3 twice: renewed
        now = time.time()
        later = (await ctx.gateway.store.get(put_order.NS_PUT_ORDER, "b/k"))["w"][writer.id]["u"]
        assert later > first and later > now  # still live although the first deadline is nearly due
    assert await ctx.gateway.store.get(put_order.NS_PUT_ORDER, "b/k") is None


async def test_a_short_upload_starts_no_renewing_task_and_ids_are_distinct(ctx):
    before = len(asyncio.all_tasks())
    ids = set()
    for _ in range(20):
        async with put_order.ordered(ctx, "b", "k") as writer:
            assert len(asyncio.all_tasks()) == before
            ids.add(writer.id)
    assert len(ids) == 20
    assert await ctx.gateway.store.get(put_order.NS_PUT_ORDER, "b/k") is None
