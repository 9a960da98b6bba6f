"""The request pipeline: a short list of named steps, the same for every protocol.

request id → route (choose the front end) → limits → authenticate → parse → resolve → authorize →
DryRun → dispatch → respond → log/metrics.

Everything protocol-specific (how to read, which auth flavour, the codec, the envelopes) belongs to the
request's front end (gateway/frontends/), chosen once at routing. Every step either enriches the
RequestContext or raises an AwsError; `run` renders any error in the front end's envelope, so a client
never sees a bare 500 or a Python traceback. A client that hangs up is no server error: it is logged at
info as `client closed` and counted with status 499 (nginx's "client closed request").
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from backends import base as backend_base

from .context import RequestContext
from .frontends import ClientClosed, client_connected
from .logs import ACCESS, describe
from .metrics import CLIENT_CLOSED
from .protocol import errors

if TYPE_CHECKING:
    from .app import Gateway

log = logging.getLogger("cloudgate.pipeline")

Step = Callable[["Gateway", RequestContext], Awaitable[None]]
EXPECT_CONTINUE = "100-continue"


def new_context(gw: Gateway, request: web.Request) -> RequestContext:
    """Request id and front end: the front end is chosen from the request line and headers alone."""
    return RequestContext(request=request, request_id=str(uuid.uuid4()), gateway=gw,
                          frontend=gw.frontends.select(request))


# ---- steps -----------------------------------------------------------------------------------------
async def route(gw: Gateway, ctx: RequestContext) -> None:
    """The front end has routed the request (service, and the operation where the URL names it)."""
    await ctx.frontend.route(ctx)


async def limits(gw: Gateway, ctx: RequestContext) -> None:
    """Refuse what cannot be honoured before reading any input (an Expect other than 100-continue; the
    front end's size limits by declared length), then let the front end read its small, capped input."""
    expect = ctx.request.headers.get("Expect")
    if expect is not None and not is_continue(expect):
        raise errors.InvalidRequest("The Expect header supports only 100-continue.")
    await ctx.frontend.limits(ctx)


async def authenticate(gw: Gateway, ctx: RequestContext) -> None:
    await ctx.frontend.authenticate(ctx)


async def parse(gw: Gateway, ctx: RequestContext) -> None:
    await ctx.frontend.parse(ctx)


async def resolve(gw: Gateway, ctx: RequestContext) -> None:
    spec = gw.registry.get(ctx.service, ctx.operation)
    if spec is None:
        raise ctx.frontend.no_handler(ctx)
    if ctx.identity is None and not spec.anonymous:
        raise errors.AccessDenied()
    ctx.handler = spec


async def authorize(gw: Gateway, ctx: RequestContext) -> None:
    """Resource-level authorization once the handler is known (S3 bucket policies); the front end's."""
    await ctx.frontend.authorize(ctx)


async def dry_run(gw: Gateway, ctx: RequestContext) -> None:
    """DryRun=true on an operation whose handler declares it: authenticated and parsed, so the request
    would have succeeded. The handler is never called, so no handler can act on a dry run by mistake."""
    if not ctx.frontend.dry_run_requested(ctx):
        return
    assert ctx.handler is not None
    if not ctx.handler.dry_run:
        raise ctx.frontend.unsupported(f"DryRun is not supported for {ctx.operation}.")
    raise errors.DryRunOperation()


STEPS: tuple[Step, ...] = (route, limits, authenticate, parse, resolve, authorize, dry_run)


async def dispatch(gw: Gateway, ctx: RequestContext) -> web.StreamResponse:
    assert ctx.handler is not None
    result = await ctx.handler.fn(ctx) or {}
    return await ctx.frontend.respond(ctx, result)


# ---- run ---------------------------------------------------------------------------------------------
async def run(gw: Gateway, request: web.Request) -> web.StreamResponse:
    ctx = new_context(gw, request)
    gw.metrics.in_flight += 1
    try:
        try:
            response = await ctx.frontend.shortcut(ctx)
            if response is None:
                for step in STEPS:
                    await step(gw, ctx)
                response = await dispatch(gw, ctx)
        except errors.AwsError as e:
            response = ctx.frontend.render_error(ctx, e)
        except ClientClosed as e:
            response = _client_closed(ctx, e, e.response)
        except backend_base.Unavailable:  # a backend failure no handler translated: still an AWS answer
            log.warning("backend unavailable", extra={"fields": _fields(ctx)})
            response = ctx.frontend.render_error(ctx, ctx.frontend.unavailable())
        except HttpProcessingError as e:  # the client's body broke HTTP framing (chunk sizes, length)
            log.info("bad http framing", extra={"fields": {**_fields(ctx), "error": describe(e)}})
            response = ctx.frontend.render_error(ctx, errors.InvalidRequest("The request body is malformed."))
        except Exception as e:
            if not client_connected(request):  # whatever failed, it failed because the client left
                response = _client_closed(ctx, e, None)
            else:
                log.exception("unhandled error", extra={"fields": _fields(ctx)})
                response = ctx.frontend.render_error(ctx, errors.InternalError())
        if not ctx.status and not response.prepared and not client_connected(request):
            response = _client_closed(ctx, None, response)  # gone before its answer: nothing will be sent
        if not ctx.status:
            ctx.status = response.status
        return response
    finally:
        gw.metrics.in_flight -= 1
        observe(gw, ctx)


def observe(gw: Gateway, ctx: RequestContext) -> None:
    elapsed = time.monotonic() - ctx.started
    if ctx.frontend is None or ctx.frontend.metered:  # health and metrics scrapes are not counted
        gw.metrics.observe(ctx.service or "unknown", ctx.operation or "-", ctx.status, elapsed)
    fields = _fields(ctx)
    fields.update(status=ctx.status, ms=round(elapsed * 1000, 2))
    if ctx.bytes_sent:
        fields["bytes_sent"] = ctx.bytes_sent
    ACCESS.info("request", extra={"fields": fields})


def is_continue(expect: str) -> bool:
    """`Expect: 100-continue` (any case); anything else, non-ASCII bytes included, is refused."""
    return expect.isascii() and expect.strip().lower() == EXPECT_CONTINUE


# ---- helpers -------------------------------------------------------------------------------------------
def _client_closed(ctx: RequestContext, exc: BaseException | None,
                   response: web.StreamResponse | None) -> web.StreamResponse:
    """The client hung up: info, not error; status 499 in the access log and metrics. The response (the
    one already started, or a stand-in) goes back to aiohttp, which drops it quietly."""
    ctx.status = CLIENT_CLOSED
    cause = exc.__cause__ if isinstance(exc, ClientClosed) and exc.__cause__ else exc
    fields = {**_fields(ctx), "bytes_sent": ctx.bytes_sent}
    if cause is not None:
        fields["error"] = describe(cause)
    log.info("client closed", extra={"fields": fields})
    return response if response is not None else web.Response(status=CLIENT_CLOSED)


def _fields(ctx: RequestContext) -> dict[str, Any]:
    req = ctx.request
    ident = ctx.identity
    return {"request_id": ctx.request_id, "method": req.method, "path": req.path, "service": ctx.service,
            "operation": ctx.operation, "access_key": ident.access_key if ident else None,
            "remote": req.remote}
