"""ClientToken idempotency: the same token with the same parameters returns the first call's result;
with different parameters it is `IdempotentParameterMismatch`. Atomic across concurrent requests and
replicas: the token is claimed with the state store's put-if-absent before any backend work starts.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..protocol import errors
from ..protocol.models import service_model
from ..store import Store

NS_TOKENS = "ec2:client-token"  # "<account>/<action>/<token>" -> {"fp", "state", "result"}
_IGNORED = frozenset({"ClientToken", "DryRun"})
# A concurrent duplicate waits for the first call to finish, up to this long.
WAIT_SECONDS = 30.0


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
    key, fp = f"{account}/{action}/{token}", fingerprint(params)
    existing = await store.put_if_absent(NS_TOKENS, key, {"fp": fp, "state": "pending"})
    if existing is None:
        try:
            result = await run()
        except BaseException:
            await store.delete(NS_TOKENS, key)  # nothing was created: a retry may try again
            raise
        await store.put(NS_TOKENS, key, {"fp": fp, "state": "done", "result": result})
        return result
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if existing is None:  # the first call failed and released the token: take it over
            return await _once(store, account, action, params, run, token)
        if existing["fp"] != fp:
            raise errors.IdempotentParameterMismatch()
        if existing["state"] == "done":
            return existing["result"]
        if time.monotonic() > deadline:
            raise errors.ServiceUnavailable("A request with the same client token is still in progress.")
        await asyncio.sleep(0.2)
        existing = await store.get(NS_TOKENS, key)
