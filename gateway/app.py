"""aiohttp application factory: one Gateway object holds what every request needs, built once."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

from aiohttp import HttpVersion11, web

from backends.base import Backend

from . import ec2 as _ec2_handlers  # noqa: F401 - importing the handler packages registers their handlers
from . import framing, pipeline
from . import s3 as _s3_handlers  # noqa: F401
from . import sts as _sts_handlers  # noqa: F401
from .auth import sessions
from .auth.accounts import AccountNumbers
from .auth.backend_provider import BackendCredentialProvider
from .auth.credentials import CredentialProvider, StaticProvider
from .backend_factory import build_backend
from .config import Config
from .ec2 import paging, work
from .frontends import FrontEnds
from .frontends.base import CONTINUE_PENDING, send_continue
from .logs import HTTP_SERVER_LOG
from .metrics import Metrics
from .protocol.s3_routing import S3Router
from .registry import Registry, default_registry
from .s3 import expiry
from .store import Store, open_store
from .store.cache import CachedStore

log = logging.getLogger("cloudgate.app")
# State read on every S3 request and written only by bucket-level calls: cached (gateway/store/cache.py).
CACHED_NAMESPACES = ("s3:bucket-owner", "s3:bucket-config")
GATEWAY_KEY = web.AppKey("gateway", object)


class Gateway:
    def __init__(self, config: Config, registry: Registry | None = None,
                 credentials: CredentialProvider | None = None, backend: Backend | None = None,
                 store: Store | None = None) -> None:
        self.config = config
        self.registry = registry if registry is not None else default_registry()
        self.backend = backend if backend is not None else build_backend(config)
        self.store = CachedStore(store if store is not None else open_store(config.state.url, **config.state.store_options()),
                                 namespaces=CACHED_NAMESPACES, ttl=config.state.cache_seconds)
        # cloud account ids <-> the 12-digit AWS account numbers clients see (gateway/auth/accounts.py)
        validator = self.backend.signature_validator() if self.backend is not None else None
        self.accounts = AccountNumbers(self.store, cloud_accounts=credentials is None and validator is not None)
        provider = credentials or (
            BackendCredentialProvider(validator, self.accounts) if validator is not None else StaticProvider.from_config(
                [{"access_key": c.access_key, "secret_key": c.secret_key, "account_id": c.account_id,
                  "display_name": c.display_name, "backend": c.backend} for c in config.auth.static]))
        # temporary credentials (STS GetSessionToken) over whichever provider holds the long-term keys; the
        # key that mints them is replaced at start by the one every replica shares (start())
        self.credentials = sessions.SessionProvider(provider, sessions.SessionKeys(os.urandom(32)))
        self.metrics = Metrics()
        self.draining = False  # set on SIGTERM (cli._serve): see handle
        self.backend_name = config.backend.type if config.backend else "none"
        self._vhost_suffixes = tuple("." + d.lower() for d in config.s3.virtual_host_domains)
        self._tasks: set[asyncio.Task] = set()
        self.frontends = FrontEnds(self)  # one per protocol family; the pipeline picks one per request

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Work a request starts and does not wait for (bounded by its own deadline); cancelled at close."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def is_virtual_host(self, host: str | None) -> bool:
        name = (host or "").rsplit(":", 1)[0].lower()
        return name.endswith(self._vhost_suffixes)

    @property
    def session_keys(self) -> sessions.SessionKeys:
        """What mints temporary credentials (STS GetSessionToken)."""
        return self.credentials.keys

    @property
    def s3_router(self) -> S3Router:
        """The S3 front end's router (CORS preflights route the URL they are asked about)."""
        return self.frontends.s3.router

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.draining:
            return await self._handle_draining(request)
        response = await pipeline.run(self, request)
        if request.get(CONTINUE_PENDING) and not response.prepared:
            # Answered without inviting the body (no 100 Continue): the client may or may not send it, so
            # the connection can't carry another request.
            response.force_close()
        return response

    async def _handle_draining(self, request: web.Request) -> web.StreamResponse:
        """While draining, /healthz fails (the load balancer takes this replica out of rotation) and every
        response closes its connection, so no client or proxy keeps reusing one to a stopping replica."""
        if request.path == "/healthz" and self.frontends.internal.matches(request):  # the health check
            response: web.StreamResponse = web.json_response({"status": "draining"}, status=503)
        else:
            response = await pipeline.run(self, request)
        response.force_close()
        return response

    async def start(self, _app: web.Application | None = None) -> None:
        # NextToken signing key shared by every replica through the state store.
        fresh = os.urandom(32).hex()
        key = await self.store.put_if_absent("gateway", "paging-token-key", fresh) or fresh
        paging.configure(bytes.fromhex(key))
        fresh = os.urandom(32).hex()
        key = await self.store.put_if_absent(sessions.KEY_NS, sessions.KEY_NAME, fresh) or fresh
        self.credentials.keys = sessions.SessionKeys(bytes.fromhex(key))
        if self.backend is not None:
            await self.backend.start()

    async def close(self, _app: web.Application | None = None) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.backend is not None:
            await self.backend.close()
        await self.store.close()


async def expect_continue(request: web.Request) -> None:
    """aiohttp's Expect handling, minus its failure modes: `100-continue` gets the interim response as
    before; any other value (non-ASCII bytes included, which crashed aiohttp's own handler into a
    plain-text 500) is left to the pipeline, which refuses it with an AWS-shaped 400."""
    if request.version == HttpVersion11 and pipeline.is_continue(request.headers.get("Expect", "")):
        if request.method == "PUT":  # S3 object and part bodies: owed until the caller is authenticated
            request[CONTINUE_PENDING] = True
            return
        await send_continue(request)


def create_app(config: Config, registry: Registry | None = None,
               credentials: CredentialProvider | None = None, backend: Backend | None = None,
               store: Store | None = None) -> web.Application:
    gateway = Gateway(config, registry, credentials, backend, store)
    # S3 bodies stream through request.content; client_max_size only bounds request.read(), unused here.
    # HTTP_SERVER_LOG: aiohttp's own errors (malformed framing) as one line, not an error traceback.
    app = web.Application(client_max_size=config.limits.max_form_bytes,
                          handler_args={"logger": HTTP_SERVER_LOG})
    app[GATEWAY_KEY] = gateway
    app.router.add_route("*", "/{tail:.*}", gateway.handle, expect_handler=expect_continue)
    app.on_startup.append(gateway.start)
    app.on_cleanup.append(gateway.close)
    framing.install(app, gateway)  # aiohttp's own refusals of malformed heads, answered as AWS does
    expiry.install(app, gateway)  # the S3 lifecycle sweeper (s3.lifecycle_interval_seconds)
    work.install(app, gateway)  # EC2 background work under leases, resumed by any replica (ec2/work.py)
    if config.metadata.enabled:  # the instance metadata listener, on its own port (docs/metadata.md)
        from .metadata import listener

        listener.install(app, gateway)
    return app
