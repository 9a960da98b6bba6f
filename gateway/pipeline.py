"""The request pipeline: a short list of named steps, each small and testable alone.

request id → route → limits → authenticate → parse → resolve → DryRun → dispatch → serialize → log/metrics.
Every step either enriches the RequestContext or raises an AwsError; `run` turns any error into the
envelope of the request's protocol, so a client never sees a bare 500 or a Python traceback.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from backends import base as backend_base

from .auth import AuthRequest, authenticate_ec2, authenticate_s3
from .context import RequestContext
from .logs import ACCESS
from .protocol import errors
from .protocol.rest_xml import response_has_body

if TYPE_CHECKING:
    from .app import Gateway

log = logging.getLogger("cloudgate.pipeline")

Step = Callable[["Gateway", RequestContext], Awaitable[None]]
FORM_TYPE = "application/x-www-form-urlencoded"
# Never echoed into logs: they carry signatures (SigV2, presigned SigV4) or tokens.
_SECRET_QUERY = {"signature", "x-amz-signature", "x-amz-security-token", "x-amz-credential", "awsaccesskeyid"}
# Auth parameters of the EC2 query API: consumed by authentication, not operation parameters.
_EC2_AUTH_PARAMS = frozenset({"AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp",
                              "Expires", "SecurityToken", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                              "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
                              "X-Amz-Security-Token"})


def new_context(gw: Gateway, request: web.Request) -> RequestContext:
    return RequestContext(request=request, request_id=str(uuid.uuid4()), gateway=gw)


# ---- steps -----------------------------------------------------------------------------------------
async def route(gw: Gateway, ctx: RequestContext) -> None:
    """Decide EC2 query vs S3 REST; for S3, which operation (path/virtual-host + sub-resources)."""
    req = ctx.request
    if _is_ec2(gw, req):
        ctx.service = "ec2"
        return
    ctx.service = "s3"
    ctx.route = gw.s3_router.route(req.method, req.raw_path.split("?", 1)[0],
                                   parse_qsl(req.query_string, keep_blank_values=True), req.host,
                                   req.headers)
    ctx.operation = ctx.route.operation


async def limits(gw: Gateway, ctx: RequestContext) -> None:
    """Refuse oversized buffered input by its declared length, before reading any of it; then read the
    (small, capped) EC2 parameters. S3 object bodies are not limited here: they stream."""
    req, declared = ctx.request, ctx.request.content_length or 0
    if ctx.service == "ec2":
        limit = gw.config.limits.max_form_bytes
        if declared > limit or len(req.query_string) > limit:
            raise errors.RequestEntityTooLarge(f"The request exceeds the limit of {limit} bytes.")
        await _read_ec2_params(gw, ctx)
    elif not gw.s3_streams_payload(ctx.operation) and declared > gw.config.limits.max_xml_bytes:
        raise errors.MaxMessageLengthExceeded()


async def cors(gw: Gateway, ctx: RequestContext) -> None:
    """S3 requests with an Origin header carry the bucket's matching Access-Control-* headers, on
    success and on error alike (set before authentication, so a refused request has them too)."""
    if ctx.service == "s3" and "Origin" in ctx.request.headers:
        from .s3 import cors as s3_cors  # lazy: the pipeline does not load the S3 handler package

        ctx.response_headers.update(await s3_cors.actual_headers(ctx))


async def cors_preflight(gw: Gateway, ctx: RequestContext) -> web.Response:
    """OPTIONS is no operation in botocore's S3 model: a CORS preflight, answered before routing."""
    from .s3 import cors as s3_cors  # lazy, as above

    ctx.service, ctx.operation = "s3", "PreflightRequest"
    headers = _base_headers(ctx, None)
    headers.update(await s3_cors.preflight(gw, ctx))
    return web.Response(status=200, headers=headers)


async def authenticate(gw: Gateway, ctx: RequestContext) -> None:
    req = ctx.request
    auth_req = AuthRequest(method=req.method, raw_path=req.raw_path.split("?", 1)[0],
                           query_string=req.query_string, headers=req.headers, host=req.host or "",
                           body=ctx.ec2_body, form=ctx.ec2_pairs or None,
                           bucket=ctx.route.bucket if ctx.route else None,
                           virtual_host=bool(ctx.route and ctx.route.virtual_host))
    authenticate_fn = authenticate_ec2 if ctx.service == "ec2" else authenticate_s3
    ctx.auth = await authenticate_fn(auth_req, gw.credentials, region=gw.config.region)


async def parse(gw: Gateway, ctx: RequestContext) -> None:
    if ctx.service == "ec2":
        pairs = [(k, v) for k, v in ctx.ec2_pairs if k not in _EC2_AUTH_PARAMS]
        ctx.operation, ctx.params = gw.ec2_parser.parse(pairs)
        return
    req, route_ = ctx.request, ctx.route
    assert route_ is not None and ctx.auth is not None
    stream = ctx.auth.body_reader(req.content)
    body: bytes | None = None
    if gw.s3_streams_payload(route_.operation):
        ctx.body = stream
    elif req.can_read_body:
        body = await _read_capped(stream, gw.config.limits.max_xml_bytes, errors.MaxMessageLengthExceeded)
        from .s3.checksums import verify_buffered  # lazy, as in the cors step

        verify_buffered(req.headers, body)  # Content-MD5 / x-amz-checksum-* of any buffered body
    ctx.params = gw.s3_parser.parse(route_.operation, req.method, req.raw_path.split("?", 1)[0],
                                    req.query_string, req.headers, body, host=req.host,
                                    labels=route_.labels())


async def resolve(gw: Gateway, ctx: RequestContext) -> None:
    spec = gw.registry.get(ctx.service, ctx.operation)
    if spec is None:
        if ctx.service == "ec2":
            raise errors.Unsupported(f"The operation {ctx.operation} is not supported by this gateway.")
        raise errors.S3NotImplemented(f"The operation {ctx.operation} is not implemented by this gateway.")
    if ctx.identity is None and not spec.anonymous:
        raise errors.AccessDenied()
    ctx.handler = spec
    if ctx.service == "s3":  # S3 authorization (bucket policy; ACLs follow in the handlers): one entry point
        from .s3.access import authorize  # lazy, as in the cors step; belongs in the S3 front end

        await authorize(ctx)


async def dry_run(gw: Gateway, ctx: RequestContext) -> None:
    """DryRun=true on an operation whose handler declares it: authenticated and parsed, so the request
    would have succeeded. The handler is never called, so no handler can act on a dry run by mistake."""
    if ctx.service != "ec2" or ctx.params.get("DryRun") is not True:
        return
    assert ctx.handler is not None
    if not ctx.handler.dry_run:
        raise errors.Unsupported(f"DryRun is not supported for {ctx.operation}.")
    raise errors.DryRunOperation()


STEPS: tuple[Step, ...] = (route, cors, limits, authenticate, parse, resolve, dry_run)


# ---- run ---------------------------------------------------------------------------------------------
async def run(gw: Gateway, request: web.Request) -> web.StreamResponse:
    ctx = new_context(gw, request)
    gw.metrics.in_flight += 1
    try:
        try:
            if _is_internal(ctx.request):
                ctx.service = "internal"
                response = _internal(gw, ctx)
            elif request.method == "OPTIONS" and not _is_ec2(gw, request):
                response = await cors_preflight(gw, ctx)
            else:
                for step in STEPS:
                    await step(gw, ctx)
                assert ctx.handler is not None
                result = await ctx.handler.fn(ctx) or {}
                response = await _respond(gw, ctx, result)
        except errors.AwsError as e:
            response = _error_response(gw, ctx, e)
        except backend_base.Unavailable:  # a backend failure no handler translated: still an AWS answer
            log.warning("backend unavailable", extra={"fields": _fields(ctx)})
            response = _error_response(gw, ctx, _unavailable(ctx))
        except Exception:
            log.exception("unhandled error", extra={"fields": _fields(ctx)})
            response = _error_response(gw, ctx, errors.InternalError())
        ctx.status = response.status
        return response
    finally:
        gw.metrics.in_flight -= 1
        observe(gw, ctx)


def observe(gw: Gateway, ctx: RequestContext) -> None:
    elapsed = time.monotonic() - ctx.started
    if ctx.service != "internal":
        gw.metrics.observe(ctx.service or "unknown", ctx.operation or "-", ctx.status, elapsed)
    fields = _fields(ctx)
    fields.update(status=ctx.status, ms=round(elapsed * 1000, 2))
    ACCESS.info("request", extra={"fields": fields})


# ---- helpers -------------------------------------------------------------------------------------------
def _is_internal(req: web.Request) -> bool:
    """Health and metrics answer unsigned GETs; a signed request there is S3 (a bucket may be named so)."""
    if req.path not in ("/healthz", "/metrics") or req.method not in ("GET", "HEAD"):
        return False
    return "Authorization" not in req.headers and not any(k.lower() in _SECRET_QUERY for k in req.query)


def _is_ec2(gw: Gateway, req: web.Request) -> bool:
    if req.path != "/" or gw.is_virtual_host(req.host):
        return False
    if "Action" in req.query:
        return True
    return req.method == "POST" and req.content_type == FORM_TYPE


async def _read_ec2_params(gw: Gateway, ctx: RequestContext) -> None:
    req, limit = ctx.request, gw.config.limits.max_form_bytes
    pairs = parse_qsl(req.query_string, keep_blank_values=True)
    if req.method == "POST" and req.content_type == FORM_TYPE:
        ctx.ec2_body = await _read_capped(req.content, limit, errors.RequestEntityTooLarge)
        try:
            pairs += parse_qsl(ctx.ec2_body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise errors.InvalidParameterValue("The request body is not valid UTF-8.") from None
    ctx.ec2_pairs = pairs


async def _read_capped(stream: Any, limit: int, too_large: type[errors.AwsError]) -> bytes:
    """Read a whole (small) body, refusing more than `limit` bytes without buffering past it."""
    parts, size = [], 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > limit:
            raise too_large(f"The request body exceeds the limit of {limit} bytes.")
        parts.append(chunk)
    return b"".join(parts)


async def _respond(gw: Gateway, ctx: RequestContext, result: dict[str, Any]) -> web.StreamResponse:
    if ctx.service == "ec2":
        body = gw.ec2_serializer.serialize(ctx.operation, result, ctx.request_id)
        return web.Response(body=body, headers=_base_headers(ctx, "text/xml;charset=UTF-8"))
    status, headers, body = gw.s3_serializer.serialize(ctx.operation, result, ctx.request_id)
    status = ctx.response_status or status
    all_headers = _base_headers(ctx, None)
    all_headers.update(headers)
    all_headers.update(ctx.response_headers)
    if not response_has_body(ctx.request.method, status):
        return web.Response(status=status, headers=all_headers)
    if isinstance(body, (bytes, bytearray)):
        return web.Response(status=status, body=body, headers=all_headers)
    return await _stream(ctx, status, all_headers, body)


async def _stream(ctx: RequestContext, status: int, headers: dict[str, str],
                  body: AsyncIterable[bytes]) -> web.StreamResponse:
    """Send a streaming object body chunk by chunk: memory stays at one chunk, whatever the size.
    A failure mid-body can no longer become an error document: the connection is cut, which clients
    detect as a short read. The source is closed either way (client gone, backend failed, done)."""
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(ctx.request)
    try:
        async for chunk in body:
            await response.write(chunk)
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
    await response.write_eof()
    return response


def _error_response(gw: Gateway, ctx: RequestContext, err: errors.AwsError) -> web.Response:
    if ctx.service == "ec2":
        body = gw.ec2_serializer.serialize_error(err, ctx.request_id)
        return web.Response(status=err.status, body=body, headers=_base_headers(ctx, "text/xml;charset=UTF-8"))
    status, headers, body = gw.s3_serializer.serialize_error(err, ctx.request_id)
    all_headers = _base_headers(ctx, None)
    all_headers.update(headers)
    all_headers.update(ctx.response_headers)
    has_body = response_has_body(ctx.request.method, status)
    return web.Response(status=status, body=body if has_body else None, headers=all_headers)


def _unavailable(ctx: RequestContext) -> errors.AwsError:
    return errors.S3ServiceUnavailable() if ctx.service == "s3" else errors.ServiceUnavailable()


def _internal(gw: Gateway, ctx: RequestContext) -> web.Response:
    if ctx.request.path == "/metrics":
        return web.Response(text=gw.metrics.render(), content_type="text/plain", charset="utf-8")
    return web.json_response({"status": "ok", "backend": gw.backend_name})


def _base_headers(ctx: RequestContext, content_type: str | None) -> dict[str, str]:
    headers = {"x-amz-request-id": ctx.request_id, "Server": "cloudgate"}
    if ctx.service == "s3":
        headers["x-amz-id-2"] = ctx.request_id
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _fields(ctx: RequestContext) -> dict[str, Any]:
    req = ctx.request
    ident = ctx.identity
    return {"request_id": ctx.request_id, "method": req.method, "path": req.path, "service": ctx.service,
            "operation": ctx.operation, "access_key": ident.access_key if ident else None,
            "remote": req.remote}
