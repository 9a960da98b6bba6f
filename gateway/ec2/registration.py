"""Registering EC2 handlers: `@ec2_handler("RunInstances")` on an `async def handler(ctx) -> dict` that returns the
botocore output shape (the codec writes the wire format; handlers never write XML). DryRun is declared when the
operation's input has it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..context import RequestContext
from ..protocol.models import service_model
from ..registry import Handler, default_registry
from . import account_edge


def ec2_handler(operation: str) -> Callable[[Handler], Handler]:
    """Register an EC2 handler in the default registry; DryRun is declared when the input has it. The
    handler works in cloud account ids: account numbers are mapped on the way in and out (account_edge.py)."""
    shape = service_model("ec2").operation_model(operation).input_shape
    dry_run = shape is not None and "DryRun" in shape.members
    register = default_registry().register("ec2", operation, dry_run=dry_run)

    def deco(fn: Handler) -> Handler:
        @functools.wraps(fn)
        async def at_the_edge(ctx: RequestContext) -> dict[str, Any]:
            ctx.params = await account_edge.inbound(ctx, ctx.params)
            return await account_edge.outbound(ctx, await fn(ctx) or {})
        return register(at_the_edge)
    return deco
