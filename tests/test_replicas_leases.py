"""Lease takeovers across replicas, on every store: three store instances on one database stand for three
replicas; many contenders take over one *expired* lease at once and exactly one may win (a delete followed by
an insert let two win: the second deleted the first's fresh lease)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from gateway.protocol import errors
from gateway.s3 import multipart_state
from gateway.s3.expiry import NS_SWEEP, Sweeper
from tests import store_fixtures
from tests.store_fixtures import open_test_store

pg_server, my_server = store_fixtures.pg_server, store_fixtures.my_server
store_url = store_fixtures.store_url
CONTENDERS = 12


@pytest.fixture
async def replicas(store_url):
    stores = [open_test_store(store_url) for _ in range(3)]
    yield stores
    for s in stores:
        await s.close()


async def test_sweep_lease_expired_one_taker(replicas):
    for round_ in range(3):
        await replicas[0].put(NS_SWEEP, "lease", {"holder": "dead", "until": time.time() - 1})
        sweepers = [Sweeper(SimpleNamespace(store=replicas[i % 3]), interval=60, max_keys=10)
                    for i in range(CONTENDERS)]
        won = await asyncio.gather(*(s._lease() for s in sweepers))
        assert sum(won) == 1, (round_, won)
        holder = (await replicas[1].get(NS_SWEEP, "lease"))["holder"]
        assert holder == sweepers[won.index(True)]._holder
        # the holder renews; the others still see it held
        assert await sweepers[won.index(True)]._lease()
        assert not await sweepers[won.index(False)]._lease()


async def test_upload_lease_expired_one_taker(replicas):
    upload = multipart_state.Upload("111111111111", "bkt", "key", "upl", {})
    stale = {"op": "complete", "at": time.time() - multipart_state.LEASE_SECONDS - 1, "holder": "dead"}
    entered: list[int] = []

    async def contender(i: int) -> str:
        ctx = SimpleNamespace(gateway=SimpleNamespace(store=replicas[i % 3]))
        try:
            async with multipart_state.finishing(ctx, upload, "abort"):
                entered.append(i)
                await asyncio.sleep(0.2)  # held while the others try
            return "done"
        except errors.OperationAborted:
            return "aborted"

    for _round in range(3):
        entered.clear()
        await replicas[0].put(multipart_state.NS_UPLOAD_LEASE, upload.store_key, stale)
        outcomes = await asyncio.gather(*(contender(i) for i in range(CONTENDERS)))
        assert len(entered) == 1 and outcomes.count("done") == 1, outcomes
        assert outcomes.count("aborted") == CONTENDERS - 1
        # the winner released its own lease: the next operation gets it at once
        assert await replicas[2].get(multipart_state.NS_UPLOAD_LEASE, upload.store_key) is None
