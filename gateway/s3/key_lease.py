"""A short exclusive claim on one object key, across requests and replicas, for conditional writes.

A conditional PutObject / CopyObject / CompleteMultipartUpload (If-None-Match: *, If-Match) or DeleteObject(s)
(If-Match, x-amz-if-match-*) checks the key and then changes it. The backend has no compare-and-swap on
ETags, so the check and the change are made atomic against every other conditional request on that key by
a lease in the shared state store (`put_if_version`: of two replicas taking the same lease exactly one
wins). A request that finds the lease held answers 409 ConditionalRequestConflict, as S3 does while a
conflicting conditional operation is in flight ("retry the upload"); once the first one finished, the
condition itself decides (412 PreconditionFailed). The lease is renewed while a long body streams, and a
holder that died stops blocking the key after `LEASE_SECONDS`. Unconditional writes never take it: they
cost nothing more, and S3 does not order them against conditional ones either.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

from ..context import RequestContext
from ..protocol import errors

NS_KEY_LEASE = "s3:key-lease"  # "<bucket>/<key>" -> {"holder", "until"} while a conditional request runs
LEASE_SECONDS = 30.0           # renewed every third of it while held
_TAKE_ATTEMPTS = 3             # an expired lease changed under us: look again this often, then 409


async def _take(store, k: str, holder: str) -> None:
    """Take the lease on `k`; ConditionalRequestConflict while someone else holds it."""
    for _ in range(_TAKE_ATTEMPTS):
        held, version = await store.get_versioned(NS_KEY_LEASE, k)
        now = time.time()
        if held is not None and float(held.get("until", 0)) > now:
            raise errors.ConditionalRequestConflict()
        mine = {"holder": holder, "until": now + LEASE_SECONDS}
        # Absent (version 0) or expired: only if nobody changed it since we read it.
        if await store.put_if_version(NS_KEY_LEASE, k, mine, version):
            return
    raise errors.ConditionalRequestConflict()


async def _renew(store, k: str, holder: str) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        with contextlib.suppress(Exception):  # a failed renewal is retried; expiry is the backstop
            held, version = await store.get_versioned(NS_KEY_LEASE, k)
            if held is None or held.get("holder") != holder:
                return
            await store.put_if_version(NS_KEY_LEASE, k, {"holder": holder, "until": time.time() + LEASE_SECONDS},
                                       version)


@contextlib.asynccontextmanager
async def exclusive(ctx: RequestContext, bucket: str, key: str, *, wanted: bool = True) -> AsyncIterator[None]:
    """Hold the key's lease for the block (`wanted=False`: a no-op, for unconditional requests)."""
    if not wanted:
        yield
        return
    store, k, holder = ctx.gateway.store, f"{bucket}/{key}", uuid.uuid4().hex
    await _take(store, k, holder)
    renewer = asyncio.ensure_future(_renew(store, k, holder))
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(BaseException):
            await renewer
        # Release only our own lease (a stalled holder's may have been taken over since).
        with contextlib.suppress(Exception):
            held, version = await store.get_versioned(NS_KEY_LEASE, k)
            if held is not None and held.get("holder") == holder:
                await store.delete_if_version(NS_KEY_LEASE, k, version)
