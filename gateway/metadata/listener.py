"""The metadata listener: its own aiohttp application and port (config `metadata:`), started and stopped with
the gateway's application on the same event loop (the same store, backend and credentials).

The order of the checks, each answering as AWS's instance metadata service does:
  1. the proxy's signature (neutron.py): 403, nothing else said;
  2. an instance the gateway launched and that still exists, with its endpoint enabled: else 404;
  3. the method: PUT only for /latest/api/token, GET/HEAD elsewhere: else 405;
  4. PUT /latest/api/token: a request that came through another proxy first (X-Forwarded-For naming more
     than the guest, which Neutron's proxy appends) 403; X-aws-ec2-metadata-token-ttl-seconds missing or
     outside 1-21600 400; else a token for this instance, the TTL echoed in the same header;
  5. a token that is present must be valid for this instance and unexpired (401); none at all is 401 when
     the instance's HttpTokens is `required` (IMDSv1 off);
  6. the path: a directory lists its entries, a value is its text (user-data: its bytes), else 404.
HttpPutResponseHopLimit cannot be enforced here (the guest's packets end at Neutron's proxy): it is kept
and shown, not applied.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backends import base as backend_base

from ..logs import HTTP_SERVER_LOG
from . import neutron, tokens, tree
from .owners import Owner, owner
from .view import Views, gate

if TYPE_CHECKING:
    from ..app import Gateway

log = logging.getLogger("cloudgate.metadata")
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_PATH = "/latest/api/token"
SERVICE_KEY = web.AppKey("metadata", object)
_MAX_OWNERS = 100_000
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"}


def error(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """AWS's own error page: the status and its reason, nothing about the request."""
    title = f"{status} - {_REASONS[status]}"
    body = ('<?xml version="1.0" encoding="iso-8859-1"?>\n'
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
            '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
            f" <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n")
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


def _text(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/plain")


class MetadataService:
    def __init__(self, gw: Gateway) -> None:
        cfg = gw.config.metadata
        self.gw = gw
        self.secret = cfg.shared_secret
        self.token_key = tokens.TokenKey(gw.store)
        self.views = Views(gw, cfg.cache_seconds)
        self.identity_key = _load_key(cfg.identity_key_file) if cfg.identity_key_file else None
        self._owners: OrderedDict[str, Owner] = OrderedDict()  # never change once written: kept
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except backend_base.Unavailable:  # the state store or the cloud: try again later
            return error(503)
        except Exception:
            log.exception("metadata request failed", extra={"fields": {"path": request.path}})
            return error(500)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            caller = neutron.caller(request.headers, self.secret)
        except neutron.Refused:
            return error(403)
        found = await self._owner(caller.server_id)
        if found is None:
            return error(404)
        state = await gate(self.gw, found)
        if state.terminated or state.options["HttpEndpoint"] != "enabled":
            return error(404)
        path = request.path
        if request.method == "PUT":
            if path.rstrip("/") != TOKEN_PATH:
                return error(405, {"Allow": "GET, HEAD"})
            return await self._token(request, caller, found)
        if request.method not in ("GET", "HEAD"):
            return error(405, {"Allow": "GET, HEAD, PUT"})
        if path.rstrip("/") == TOKEN_PATH:
            return error(405, {"Allow": "PUT"})
        token = request.headers.get(TOKEN_HEADER)
        if token is not None:
            if not tokens.valid(await self.token_key.key(), token, found.instance_id):
                return error(401)
        elif state.options["HttpTokens"] == "required":
            return error(401)
        return await self._serve(request, found, tags=state.options["InstanceMetadataTags"] == "enabled")

    async def _token(self, request: web.Request, caller: neutron.Caller, found: Owner) -> web.Response:
        if not self.gw.config.metadata.guest_headers:  # no token could reach us: IMDSv1 only, say so as AWS would
            return error(404)
        if len(caller.forwarded_for) > 1:  # relayed by something on the guest's side before Neutron's proxy
            return error(403)
        ttl = tokens.ttl_of(request.headers.get(TTL_HEADER))
        if ttl is None:
            return error(400)
        token = tokens.mint(await self.token_key.key(), found.instance_id, ttl)
        return web.Response(text=token, content_type="text/plain", headers={TTL_HEADER: str(ttl)})

    async def _serve(self, request: web.Request, found: Owner, *, tags: bool) -> web.Response:
        parts = request.path.split("/")[1:]
        if not [p for p in parts if p]:
            return _text("\n".join(tree.VERSIONS))
        version, rest = parts[0], parts[1:]
        if version not in tree.VERSIONS:
            return error(404)
        view = await self.views.get(request, found)
        if view is None:
            return error(404)
        root = tree.version_root(view, tags=tags, identity_key=self.identity_key)
        node = tree.walk(root, rest)
        if node is None:
            return error(404)
        if isinstance(node, dict):
            return _text(tree.listing(view, node, rest))
        if isinstance(node, bytes):
            return web.Response(body=node, content_type="application/octet-stream")
        return _text(node)

    async def _owner(self, server_id: str) -> Owner | None:
        hit = self._owners.get(server_id)
        if hit is not None:
            return hit
        found = await owner(self.gw.store, server_id)
        if found is not None:
            self._owners[server_id] = found
            while len(self._owners) > _MAX_OWNERS:
                self._owners.popitem(last=False)
        return found

    # ---- life cycle: with the gateway's application ---------------------------------------------------------
    async def start(self, _app: Any = None) -> None:
        cfg = self.gw.config.metadata
        app = web.Application(handler_args={"logger": HTTP_SERVER_LOG})
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0,
                                    keepalive_timeout=self.gw.config.limits.header_timeout_seconds)
        await self.runner.setup()
        await web.TCPSite(self.runner, cfg.host, cfg.port).start()
        log.info("metadata listening", extra={"fields": {"endpoint": f"http://{cfg.host}:{cfg.port}"}})

    async def stop(self, _app: Any = None) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


def _load_key(path: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("metadata.identity_key_file: not an RSA private key")
    return key


def install(app: web.Application, gw: Gateway) -> MetadataService:
    """Start the listener once the gateway has started; stop it before the gateway closes."""
    service = MetadataService(gw)
    app[SERVICE_KEY] = service
    app.on_startup.append(service.start)
    app.on_cleanup.insert(0, service.stop)
    return service
