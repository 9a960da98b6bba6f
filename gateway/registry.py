"""Operation name → async handler. Handlers register per service; the pipeline dispatches through here.

A known operation with no handler answers what its front end says (EC2 `Unsupported`, S3 `NotImplemented`,
STS/IAM `InvalidAction`); the registry only knows what is registered and refuses names botocore's model
doesn't have. Authorizers are resource-level checks a service registers (e.g. S3 bucket policies): the
service's front end runs them after the handler is resolved, before it is called.
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
# Raises the AWS error (AccessDenied, ...) when the resolved request may not run; returns None when it may.
Authorizer = Callable[["RequestContext"], Awaitable[None]]
SERVICES = ("ec2", "s3", "sts", "iam")
# Operations a service has that botocore's model does not describe: S3's browser-based POST upload.
NOT_IN_MODEL = {"s3": frozenset({"PostObject"})}


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
        self._services: set[str] = set()
        self._authorizers: dict[str, list[Authorizer]] = {}

    def register(self, service: str, operation: str, *, dry_run: bool = False,
                 anonymous: bool = False) -> Callable[[Handler], Handler]:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        if operation not in service_model(service).operation_names \
                and operation not in NOT_IN_MODEL.get(service, ()):
            raise ValueError(f"{service} has no operation {operation!r} in botocore's model")

        def deco(fn: Handler) -> Handler:
            key = (service, operation)
            if key in self._handlers:
                raise ValueError(f"{service}:{operation} registered twice")
            self._handlers[key] = HandlerSpec(service, operation, fn, dry_run, anonymous)
            self._services.add(service)
            return fn

        return deco

    def get(self, service: str, operation: str) -> HandlerSpec | None:
        return self._handlers.get((service, operation))

    def operations(self, service: str) -> list[str]:
        return sorted(op for svc, op in self._handlers if svc == service)

    def has_service(self, service: str) -> bool:
        """True when at least one handler of the service is registered."""
        return service in self._services

    def authorizer(self, service: str) -> Callable[[Authorizer], Authorizer]:
        """Register a resource-level check run for every resolved request of the service, in order."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")

        def deco(fn: Authorizer) -> Authorizer:
            self._authorizers.setdefault(service, []).append(fn)
            return fn

        return deco

    def authorizers(self, service: str) -> tuple[Authorizer, ...]:
        return tuple(self._authorizers.get(service, ()))


@functools.cache
def default_registry() -> Registry:
    """The registry the handler packages (gateway.ec2, gateway.s3) fill when imported."""
    return Registry()
