"""Lease takeovers across replicas, on every store: three store instances on one database stand for three
replicas; many contenders take over one *expired* lease at once and exactly one may win (a delete followed by
an insert let two win: the second deleted the first's fresh lease)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from gateway.ec2 import work
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


class _Keys:
    """identity_for_key as a credential provider answers it (the resumed work acts as the key's holder)."""

    async def identity_for_key(self, access_key: str):
        from gateway.auth.credentials import Identity

        return Identity(access_key, "111111111111", "tester")


def _worker(store, lease_seconds: float) -> work.Worker:
    gw = SimpleNamespace(store=store, credentials=_Keys(), backend=None, spawn=asyncio.create_task)
    return work.Worker(gw, lease_seconds=lease_seconds, sweep_seconds=0.1)


async def test_background_work_of_a_dead_replica_resumed_once(replicas):
    """Recorded work whose holder died (its lease runs out in 0.5 s), 12 workers on 3 store instances sweeping
    every 50 ms: exactly one resumes it, once, acting as the recorded key's holder, keeping its lease while it
    runs longer than the lease (renewed), and the record is dropped when done."""
    runs: list[tuple[str, str]] = []

    @work.handler("test-count")
    async def count(ctx, job) -> None:
        runs.append((ctx.identity.access_key, job.record["what"]))
        await asyncio.sleep(1.2)  # 4 lease periods: only renewals keep the others out

    key = "test-count/111111111111/x"
    await replicas[0].put(work.NS_WORK, key, {"kind": "test-count", "account": "111111111111", "key": "AKIDTEST",
                                              "until": time.time() + 60, "what": "x"})
    await replicas[0].put(work.NS_WORK_LEASE, key, {"holder": "dead", "until": time.time() + 0.5})
    workers = [_worker(replicas[i % 3], lease_seconds=0.3) for i in range(CONTENDERS)]
    deadline = time.monotonic() + 10
    while await replicas[1].get(work.NS_WORK, key) is not None and time.monotonic() < deadline:
        await asyncio.gather(*(w.sweep() for w in workers))
        await asyncio.sleep(0.05)
    assert runs == [("AKIDTEST", "x")]
    assert await replicas[2].get(work.NS_WORK, key) is None
    await asyncio.sleep(0.1)  # the runner released its lease
    assert await replicas[2].get(work.NS_WORK_LEASE, key) is None
    assert not any(w._running for w in workers)
