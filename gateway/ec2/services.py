"""The caller's cloud services and account for EC2 handlers, from the request's session (gateway/session.py):
fetched once per request, with EC2's error mapping."""

from __future__ import annotations

from backends.compute import Compute
from backends.network import Network

from ..context import RequestContext
from ..protocol import errors
from ..session import NoBackend, session
from .error_map import backend_errors
from .ids import IdMap
from .tags import Tags


async def compute(ctx: RequestContext) -> Compute:
    """The caller's compute service (the session fetches it once per request)."""
    try:
        with backend_errors():
            return await session(ctx).compute()
    except NoBackend:
        raise errors.Unsupported("No compute backend is configured.") from None


async def network(ctx: RequestContext) -> Network:
    """The caller's network service (the session fetches it once per request)."""
    try:
        with backend_errors():
            return await session(ctx).network()
    except NoBackend:
        raise errors.Unsupported("No compute backend is configured.") from None


def account(ctx: RequestContext) -> str:
    return session(ctx).account


def tags_of(ctx: RequestContext) -> Tags:
    """The caller's EC2 tags (a view on the state store: no I/O to make)."""
    return Tags(session(ctx).store, account(ctx))


def id_map(ctx: RequestContext) -> IdMap:
    return IdMap(session(ctx).store)
