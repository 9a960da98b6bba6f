"""Registering EC2 handlers: `@ec2_handler("RunInstances")` on an `async def handler(ctx) -> dict` that returns the
botocore output shape (the codec writes the wire format; handlers never write XML). DryRun is declared when the
operation's input has it."""

from __future__ import annotations

from collections.abc import Callable

from ..protocol.models import service_model
from ..registry import Handler, default_registry


def ec2_handler(operation: str) -> Callable[[Handler], Handler]:
    """Register an EC2 handler in the default registry; DryRun is declared when the input has it."""
    shape = service_model("ec2").operation_model(operation).input_shape
    dry_run = shape is not None and "DryRun" in shape.members
    return default_registry().register("ec2", operation, dry_run=dry_run)
