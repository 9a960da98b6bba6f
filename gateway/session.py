"""The per-request session: what one request fetches from the cloud and the state store, fetched once.

A request's handlers and lookups ask the session, never the backend, for the caller's services: the
compute, network and object store handles are made on first use (each costs the backend a token/endpoint
resolution) and reused for the rest of the request. It is protocol-neutral: the EC2 and S3 layers wrap
its getters with their own error mapping (a missing backend is `Unsupported` to EC2, `NotImplemented` to S3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends.base import Backend, ObjectStore
from backends.compute import Compute
from backends.network import Network

from .store import Store

if TYPE_CHECKING:
    from .auth.credentials import Identity
    from .context import RequestContext


class NoBackend(Exception):
    """No cloud backend is configured: the protocol layer answers its own 'not implemented' error."""


class Session:
    """One request's handles on the caller's cloud services and the gateway's state store."""

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx
        self._compute: Compute | None = None
        self._network: Network | None = None
        self._object_store: ObjectStore | None = None
        self.bucket_owners: dict[str, str] = {}  # S3: buckets whose owner this request already resolved

    @property
    def store(self) -> Store:
        return self._ctx.gateway.store

    @property
    def account(self) -> str:
        """The caller's account as the cloud knows it: EC2 handlers and their state work in these ids (the
        EC2 edge shows them as AWS account numbers, gateway/ec2/account_edge.py)."""
        return self._identity().cloud_id

    def _identity(self) -> Identity:
        identity = self._ctx.identity
        assert identity is not None, "the session is used after authentication"
        return identity

    def _backend(self) -> Backend:
        backend = self._ctx.gateway.backend
        if backend is None:
            raise NoBackend()
        return backend

    async def compute(self) -> Compute:
        if self._compute is None:
            self._compute = await self._backend().compute(self._identity().principal())
        return self._compute

    async def network(self) -> Network:
        if self._network is None:
            self._network = await self._backend().network(self._identity().principal())
        return self._network

    async def object_store(self) -> ObjectStore:
        if self._object_store is None:
            self._object_store = await self._backend().object_store(self._identity().principal())
        return self._object_store

    def act_on_object_store(self, store: ObjectStore) -> None:
        """The rest of the request uses this object store (S3 ACLs: a granted request acts as the bucket's
        owner, whose store the gateway opened)."""
        self._object_store = store


def session(ctx: RequestContext) -> Session:
    """The request's session, made on first use."""
    if ctx.session is None:
        ctx.session = Session(ctx)
    return ctx.session
