"""Leases in the state store: one holder at a time for a piece of work, across replicas.

A lease is a row `{"holder", "until"}` (epoch seconds) written by compare-and-set on the version read, so of
two replicas taking the same free or expired lease exactly one wins. Its holder renews it (the same call)
well before `until`; a holder that dies simply stops renewing, and the lease is free once `until` passes.
Nothing is held across an `await` in the database: a dead replica leaves no lock behind.
Used by the S3 lifecycle sweep (one sweeper at a time), the EC2 background work (gateway/ec2/work.py) and
ClientToken claims (gateway/ec2/idempotency.py).
"""

from __future__ import annotations

import time
from typing import Any

from .base import Store


def live(held: Any, now: float | None = None) -> bool:
    """Whether a lease value read from the store is still held by someone."""
    now = time.time() if now is None else now
    return isinstance(held, dict) and float(held.get("until", 0)) > now


def row(holder: str, seconds: float, now: float | None = None, **fields: Any) -> dict[str, Any]:
    """A lease row held by `holder` for `seconds` from `now`; `fields` ride along."""
    return {**fields, "holder": holder, "until": (time.time() if now is None else now) + seconds}


async def take(store: Store, ns: str, key: str, holder: str, seconds: float, **fields: Any) -> bool:
    """Hold (or renew) the lease `ns/key` for `seconds` from now; `fields` ride along in the row. False while
    another holder's lease is live, when another replica took or renewed it between our read and our write,
    or when the row is not a lease (no `until`: e.g. a ClientToken claim that finished)."""
    now = time.time()
    held, version = await store.get_versioned(ns, key)
    if held is not None and not (isinstance(held, dict) and "until" in held):
        return False
    if live(held, now) and held.get("holder") != holder:
        return False
    # Absent (version 0), ours, or expired: written only if unchanged since read (one of two racers wins).
    return await store.put_if_version(ns, key, row(holder, seconds, now, **fields), version)


async def release(store: Store, ns: str, key: str, holder: str) -> None:
    """Give the lease up, only if it is still ours (once expired another holder may have taken it)."""
    held, version = await store.get_versioned(ns, key)
    if isinstance(held, dict) and held.get("holder") == holder:
        await store.delete_if_version(ns, key, version)
