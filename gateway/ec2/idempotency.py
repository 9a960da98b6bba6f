"""ClientToken idempotency: the same token with the same parameters returns the first call's result;
with different parameters it is `IdempotentParameterMismatch`. Atomic across concurrent requests and
replicas: the token is claimed with the state store's put-if-absent before any backend work starts.

A pending claim names its holder and lives `CLAIM_SECONDS` unless renewed; the holder renews it while the
call runs. A replica killed mid-call stops renewing, so a retry of the same token takes the claim over
(compare-and-set on the version read: of two retrying replicas one wins) and runs the call, instead of
waiting on a claim no one will ever finish.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..protocol import errors
from ..protocol.models import service_model
from ..store import Store, StoreUnavailable, lease

NS_TOKENS = "ec2:client-token"  # "<account>/<action>/<token>" -> {"fp", "state", "result" | "holder", "until"}
_IGNORED = frozenset({"ClientToken", "DryRun"})
# A concurrent duplicate waits for the first call to finish, up to this long.
WAIT_SECONDS = 30.0
# A pending claim not renewed for this long belongs to a dead replica; its holder renews it 3 times as often.
CLAIM_SECONDS = 15.0


def fingerprint(params: dict[str, Any]) -> str:
    relevant = {k: v for k, v in params.items() if k not in _IGNORED}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


@functools.cache
def _echoes_token(action: str) -> bool:
    """Whether the action's output shape carries the ClientToken back (CreateRouteTable, CreateNatGateway...)."""
    model = service_model("ec2")
    if action not in model.operation_names:
        return False
    shape = model.operation_model(action).output_shape
    return shape is not None and "ClientToken" in shape.members


async def once(store: Store, account: str, action: str, params: dict[str, Any],
               run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run `run` at most once per (account, action, ClientToken); without a token, just run it. The token is
    echoed in the result where the action's output has a member for it. `run`'s result must be
    JSON-serializable (timestamps as ISO strings)."""
    token = params.get("ClientToken")
    if not token:
        return await run()
    result = await _once(store, account, action, params, run, token)
    return {**result, "ClientToken": token} if _echoes_token(action) else result


async def _once(store: Store, account: str, action: str, params: dict[str, Any],
                run: Callable[[], Awaitable[dict[str, Any]]], token: str) -> dict[str, Any]:
    if len(token) > 64:
        raise errors.InvalidParameterValue("The client token must be at most 64 characters.")
    key, fp, me = f"{account}/{action}/{token}", fingerprint(params), uuid.uuid4().hex
    existing = await store.put_if_absent(NS_TOKENS, key, lease.row(me, CLAIM_SECONDS, fp=fp, state="pending"))
    if existing is None:
        return await _run_claimed(store, key, fp, me, run)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if existing is None:  # the first call failed and released the token: take it over
            return await _once(store, account, action, params, run, token)
        if existing["fp"] != fp:
            raise errors.IdempotentParameterMismatch()
        if existing["state"] == "done":
            return existing["result"]
        if not lease.live(existing) and await _claim(store, key, fp, me):  # its holder stopped renewing
            return await _run_claimed(store, key, fp, me, run)
        if time.monotonic() > deadline:
            raise errors.ServiceUnavailable("A request with the same client token is still in progress.")
        await asyncio.sleep(0.2)
        existing = await store.get(NS_TOKENS, key)


async def _claim(store: Store, key: str, fp: str, me: str) -> bool:
    """Take a pending claim whose holder stopped renewing it, or renew ours (a lease row: store/lease.py);
    False when another replica holds it or was quicker, or the call is done."""
    return await lease.take(store, NS_TOKENS, key, me, CLAIM_SECONDS, fp=fp, state="pending")


async def _run_claimed(store: Store, key: str, fp: str, me: str,
                       run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    renewing = asyncio.create_task(_renew(store, key, fp, me))
    try:
        result = await run()
    except BaseException:
        renewing.cancel()
        await lease.release(store, NS_TOKENS, key, me)  # nothing was created: a retry may try again
        raise
    renewing.cancel()
    # Done, unless a replica that took the claim over (we stalled past CLAIM_SECONDS) finished first.
    done = {"fp": fp, "state": "done", "result": result}
    await store.update(NS_TOKENS, key, lambda v: v if isinstance(v, dict) and v.get("state") == "done" else done)
    return result


async def _renew(store: Store, key: str, fp: str, me: str) -> None:
    while True:
        await asyncio.sleep(CLAIM_SECONDS / 3)
        try:
            if not await _claim(store, key, fp, me):
                return  # taken over (we stalled): nothing more to hold
        except StoreUnavailable:
            continue  # the store is down for a moment: the next tick tries again, well before `until`
