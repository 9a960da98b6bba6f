"""Concurrent overwrites of one key end with the write that completed last, as in S3.

The object store orders writes by when they *started* (Swift stamps a PUT with its X-Timestamp when the
request arrives, and a stock Swift's gatekeeper shunts a client's own X-Timestamp away): of two overlapping
PUTs, a slow one that started first is silently discarded when a faster one that started later finishes
first — S3 would keep the slow one, the write that completed last.

So every PutObject registers itself, for the time of its upload, in a record of the key in the shared state
store (atomic `update`, across replicas), which numbers writers in start order:
- a writer that found earlier writers still uploading keeps its answer back (its data is stored already)
  until they have answered, up to `WAIT_SECONDS`: it then completes last, and its object — the one the store
  kept, as it started last — is the one S3 would keep. Nothing is copied, nothing is staged.
- should that wait run out, the later writer answers first anyway and says so in the record; the earlier one
  then learns, when it finishes, that its data was discarded, and answers 503 (S3's retryable
  ServiceUnavailable) instead of a success it could not deliver: its client sends it again, and that write,
  started last, wins.
A lone writer pays two single-statement state-store writes (insert its record, delete it), no read and
no backend call (bench/put_order.py). A writer whose
replica died stops being waited for when its entry expires (`TTL_SECONDS`, renewed while it uploads).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from ..context import RequestContext
from ..protocol import errors

NS_PUT_ORDER = "s3:put-order"  # "<bucket>/<key>" -> {"n": last start number, "w": {id: {n, u}}, "d": [n...]}
TTL_SECONDS = 30.0             # an entry not renewed for this long belongs to a dead writer
WAIT_SECONDS = 20.0            # how long a later writer holds its answer back for earlier ones
ENABLED = True                 # benchmarks switch it off to measure its cost (bench/put_order.py)
_POLL = (0.02, 0.5)            # first and longest pause between looks while waiting
# Writer ids: unique across replicas (a random prefix per process) without a UUID and a getrandom per PUT.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def _live(rec: dict[str, Any], now: float) -> dict[str, dict]:
    return {wid: w for wid, w in (rec.get("w") or {}).items() if float(w.get("u", 0)) > now}


class _Writer:
    def __init__(self, store: Any, k: str) -> None:
        self.store, self.k, self.id = store, k, f"{_ID_PREFIX}{next(_ID_COUNTER):x}"
        self.n = 0
        self.earlier: set[str] = set()
        self.alone = False  # made the record itself: releasing it is one delete while nobody else came

    async def register(self) -> None:
        now = time.time()
        # The common case, a lone writer: one insert of a fresh record (row version 1), no read.
        if await self.store.put_if_version(NS_PUT_ORDER, self.k, {
                "n": 1, "w": {self.id: {"n": 1, "u": now + TTL_SECONDS}}, "d": []}, 0):
            self.n, self.alone = 1, True
            return

        def add(cur: dict | None) -> dict:
            rec = dict(cur or {})
            live = _live(rec, now)
            n = int(rec.get("n", 0)) + 1
            live[self.id] = {"n": n, "u": now + TTL_SECONDS}
            floor = min(w["n"] for w in live.values())
            return {"n": n, "w": live, "d": [d for d in rec.get("d", []) if d > floor]}

        rec = await self.store.update(NS_PUT_ORDER, self.k, add)
        self.n = rec["w"][self.id]["n"]
        self.earlier = {wid for wid, w in rec["w"].items() if w["n"] < self.n}

    async def renew(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed renewal is retried; expiry is the backstop

                def extend(cur: dict | None) -> dict | None:
                    if cur is None or self.id not in (cur.get("w") or {}):
                        return cur
                    w = dict(cur["w"])
                    w[self.id] = {**w[self.id], "u": time.time() + TTL_SECONDS}
                    return {**cur, "w": w}

                await self.store.update(NS_PUT_ORDER, self.k, extend)
            await asyncio.sleep(TTL_SECONDS / 3)

    async def wait_for_earlier(self) -> None:
        """Hold back until every writer that started before this one has answered (bounded)."""
        if not self.earlier:
            return
        deadline, pause = time.monotonic() + WAIT_SECONDS, _POLL[0]
        while time.monotonic() < deadline:
            rec = await self.store.get(NS_PUT_ORDER, self.k) or {}
            if not self.earlier & set(_live(rec, time.time())):
                return
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, _POLL[1])

    async def release(self) -> bool:
        """Leave the record; True when a writer that started later answered first (this data is lost)."""
        if self.alone and await self.store.delete_if_version(NS_PUT_ORDER, self.k, 1):
            return False  # untouched since it was made: nobody else wrote meanwhile
        now, overtaken = time.time(), [False]

        def remove(cur: dict | None) -> dict | None:
            rec = dict(cur or {})
            overtaken[0] = any(d > self.n for d in rec.get("d", []))
            live = _live(rec, now)
            live.pop(self.id, None)
            if not live:
                return None
            floor = min(w["n"] for w in live.values())
            done = [d for d in rec.get("d", []) if d > floor]
            if self.n > floor:  # an earlier writer is still uploading: it must learn this one answered first
                done.append(self.n)
            return {"n": rec.get("n", self.n), "w": live, "d": done}

        await self.store.update(NS_PUT_ORDER, self.k, remove)
        return overtaken[0]


@contextlib.asynccontextmanager
async def ordered(ctx: RequestContext, bucket: str, key: str) -> AsyncIterator[_Writer | None]:
    """Around one PutObject's backend write, and nothing else: on the way out it waits for earlier writers,
    leaves the record, and raises WriteOvertaken (503) when this write's data was discarded."""
    if not ENABLED:
        yield None
        return
    writer = _Writer(ctx.gateway.store, f"{bucket}/{key}")
    await writer.register()
    # The renewing task starts only for an upload still running after a third of the TTL: a small PUT
    # (nearly all) costs a timer, not a task made, cancelled and awaited.
    loop = asyncio.get_running_loop()
    renewer: list[asyncio.Task] = []
    timer = loop.call_later(TTL_SECONDS / 3, lambda: renewer.append(loop.create_task(writer.renew())))
    released = False
    try:
        yield writer
        timer.cancel()
        for task in renewer:
            task.cancel()
        await writer.wait_for_earlier()
        released = True
        if await writer.release():
            raise errors.WriteOvertaken("A concurrent write of this key completed first and replaced this one; please "
                            "send it again.")
    finally:
        timer.cancel()
        for task in renewer:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if not released:
            with contextlib.suppress(Exception):
                await writer.release()
