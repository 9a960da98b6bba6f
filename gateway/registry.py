"""Operation name → async handler. Handlers register per service; the pipeline dispatches through here.

A known operation with no handler answers EC2 `Unsupported` / S3 `NotImplemented` — that decision lives in
the pipeline; the registry only knows what is registered and refuses names botocore's model doesn't have.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .protocol.models import service_model

if TYPE_CHECKING:
    from .context import RequestContext

Handler = Callable[["RequestContext"], Awaitable[dict[str, Any] | None]]
SERVICES = ("ec2", "s3")


@dataclass(frozen=True)
class HandlerSpec:
    service: str
    operation: str
    fn: Handler
    # DryRun=true answers DryRunOperation (412) once auth and parsing succeed, without calling the
    # handler; an operation whose handler doesn't declare it answers Unsupported for DryRun=true.
    dry_run: bool = False
    # S3 only: the handler accepts unsigned requests (it enforces ACLs/policies itself).
    anonymous: bool = False


class Registry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], HandlerSpec] = {}

    def register(self, service: str, operation: str, *, dry_run: bool = False,
                 anonymous: bool = False) -> Callable[[Handler], Handler]:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        if operation not in service_model(service).operation_names:
            raise ValueError(f"{service} has no operation {operation!r} in botocore's model")

        def deco(fn: Handler) -> Handler:
            key = (service, operation)
            if key in self._handlers:
                raise ValueError(f"{service}:{operation} registered twice")
            self._handlers[key] = HandlerSpec(service, operation, fn, dry_run, anonymous)
            return fn

        return deco

    def get(self, service: str, operation: str) -> HandlerSpec | None:
        return self._handlers.get((service, operation))

    def operations(self, service: str) -> list[str]:
        return sorted(op for svc, op in self._handlers if svc == service)


@functools.cache
def default_registry() -> Registry:
    """The registry the handler packages (gateway.ec2, gateway.s3) fill when imported."""
    return Registry()
