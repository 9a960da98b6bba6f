"""The S3 front end (rest-xml): path- and virtual-hosted-style routing, S3's auth flavours (SigV4 header,
presigned, aws-chunked, SigV2), capped reads of XML bodies with their checksums verified, streamed object
bodies in both directions, CORS (preflight and the headers of actual requests) and S3's error document.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from ..auth import AuthRequest, authenticate_s3
from ..protocol import errors
from ..protocol.models import service_model
from ..protocol.rest_xml import RestXmlRequestParser, RestXmlResponseSerializer, response_has_body
from ..protocol.s3_routing import S3Router
from ..s3 import checksums as s3_checksums
from ..s3 import cors as s3_cors
from ..s3 import post_object
from .base import (
    CONTINUE_PENDING,
    ClientClosed,
    FrontEnd,
    client_connected,
    raw_query,
    read_capped,
    send_continue,
)

log = logging.getLogger("cloudgate.s3")

if TYPE_CHECKING:
    from ..app import Gateway
    from ..context import RequestContext


@functools.cache
def streams_payload(operation: str) -> bool:
    """True when the operation's payload is a streaming blob (PutObject, UploadPart): never buffered."""
    shape = service_model("s3").operation_model(operation).input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return bool(payload) and shape.members[payload].type_name == "blob"


class CoalescedStreamResponse(web.StreamResponse):
    """A streamed response whose headers leave with its first body chunk (one send instead of two: a small
    object's GET is then a single write), as aiohttp already does for a plain Response. A body whose first
    chunk is late delays only bytes the client could not use before it anyway."""

    _send_headers_immediately = False


class S3FrontEnd(FrontEnd):
    name = "s3"

    def __init__(self, gw: Gateway) -> None:
        super().__init__(gw)
        model = service_model("s3")
        self.router = S3Router(model, virtual_host_domains=gw.config.s3.virtual_host_domains)
        self.parser = RestXmlRequestParser(model)
        self.serializer = RestXmlResponseSerializer(model)

    # ---- routing ------------------------------------------------------------------------------------
    def matches(self, request: web.Request) -> bool:
        return True  # the last front end asked: whatever is no query request is S3

    async def shortcut(self, ctx: RequestContext) -> web.StreamResponse | None:
        """OPTIONS is no operation in botocore's S3 model: a CORS preflight, answered before routing."""
        if ctx.request.method != "OPTIONS":
            return None
        ctx.service, ctx.operation = "s3", "PreflightRequest"
        headers = self.base_headers(ctx, None)
        headers.update(await s3_cors.preflight(self.gw, ctx))
        return web.Response(status=200, headers=headers)

    async def route(self, ctx: RequestContext) -> None:
        """The operation from path/virtual host + sub-resources; then, for a request with an Origin, the
        bucket's matching Access-Control-* headers, carried on success and error alike (set before
        authentication, so a refused request has them too)."""
        req = ctx.request
        ctx.service = "s3"
        ctx.route = self.router.route(req.method, req.raw_path.split("?", 1)[0],
                                      parse_qsl(raw_query(req), keep_blank_values=True), req.host,
                                      req.headers)
        ctx.operation = ctx.route.operation
        if "Origin" in req.headers:
            ctx.response_headers.update(await s3_cors.actual_headers(ctx))

    # ---- input --------------------------------------------------------------------------------------
    async def limits(self, ctx: RequestContext) -> None:
        """XML bodies are capped by their declared length; object bodies are not limited: they stream (a
        POST form's fields are capped as they are read, its file streams)."""
        if ctx.operation == post_object.POST_OBJECT:
            return
        if not streams_payload(ctx.operation) and (ctx.request.content_length or 0) > self.max_xml_bytes:
            raise errors.MaxMessageLengthExceeded()

    @property
    def max_xml_bytes(self) -> int:
        return self.gw.config.limits.max_xml_bytes

    async def authenticate(self, ctx: RequestContext) -> None:
        if ctx.operation == post_object.POST_OBJECT:  # the form signs its own policy document
            await post_object.authenticate(ctx)
            return
        req, route = ctx.request, ctx.route
        auth_req = AuthRequest(method=req.method, raw_path=req.raw_path.split("?", 1)[0],
                               query_string=raw_query(req), headers=req.headers, host=req.host or "",
                               bucket=route.bucket if route else None,
                               virtual_host=bool(route and route.virtual_host))
        ctx.auth = await authenticate_s3(auth_req, self.gw.credentials, region=self.gw.config.region,
                                         sigv2=self.gw.config.auth.signature_v2)
        if req.get(CONTINUE_PENDING):
            # Authenticated: the body is invited now. A refusal before this point (a bad signature) answers
            # without it and closes; one after it reads or drains the body, so the connection stays in step
            # with a proxy in front (HAProxy counts the announced body: un-invited, it would eat the next request).
            req[CONTINUE_PENDING] = False
            await send_continue(req)

    async def parse(self, ctx: RequestContext) -> None:
        if ctx.operation == post_object.POST_OBJECT:
            post_object.parse(ctx)
            return
        req, route = ctx.request, ctx.route
        assert route is not None and ctx.auth is not None
        stream = ctx.auth.body_reader(req.content, idle_timeout=self.gw.config.limits.body_idle_timeout_seconds)
        body: bytes | None = None
        if streams_payload(route.operation):
            ctx.body = stream
        elif req.can_read_body:
            body = await read_capped(stream, self.max_xml_bytes, errors.MaxMessageLengthExceeded)
            s3_checksums.verify_buffered(req.headers, body, route.operation)  # Content-MD5 / checksums of the body
        ctx.params = self.parser.parse(route.operation, req.method, req.raw_path.split("?", 1)[0],
                                       raw_query(req), req.headers, body, host=req.host,
                                       labels=route.labels())

    def no_handler(self, ctx: RequestContext) -> errors.AwsError:
        return errors.S3NotImplemented(f"The operation {ctx.operation} is not implemented by this gateway.")

    async def authorize(self, ctx: RequestContext) -> None:
        """Resource-level authorization (bucket policies) once the handler is known: every authorizer
        registered for S3 (`Registry.authorizer("s3")`) runs, in order; none registered, nothing runs."""
        for check in self.gw.registry.authorizers("s3"):
            await check(ctx)

    def unsupported(self, message: str) -> errors.AwsError:
        return errors.S3NotImplemented(message)

    def unavailable(self) -> errors.AwsError:
        return errors.S3ServiceUnavailable()

    # ---- output -------------------------------------------------------------------------------------
    def base_headers(self, ctx: RequestContext, content_type: str | None) -> dict[str, str]:
        headers = super().base_headers(ctx, content_type)
        headers["x-amz-id-2"] = ctx.request_id
        return headers

    async def respond(self, ctx: RequestContext, result: dict[str, Any]) -> web.StreamResponse:
        if ctx.operation == post_object.POST_OBJECT:  # no output shape in the model: its own answers
            return post_object.respond(ctx, result, self.base_headers(ctx, None), self.serializer)
        status, headers, body = self.serializer.serialize(ctx.operation, result, ctx.request_id)
        status = ctx.response_status or status
        all_headers = self.base_headers(ctx, None)
        all_headers.update(headers)
        all_headers.update(ctx.response_headers)
        if not response_has_body(ctx.request.method, status):
            return web.Response(status=status, headers=all_headers)
        if isinstance(body, (bytes, bytearray)):
            return web.Response(status=status, body=body, headers=all_headers)
        return await self._stream(ctx, status, all_headers, body)

    async def _stream(self, ctx: RequestContext, status: int, headers: dict[str, str],
                      body: AsyncIterable[bytes]) -> web.StreamResponse:
        """Send a streaming object body chunk by chunk: memory stays at one chunk, whatever the size.
        A failure mid-body can no longer become an error document: the connection is cut, which clients
        detect as a short read. A client that hangs up raises ClientClosed (not a server error). The
        source is closed either way (client gone, backend failed, done)."""
        response = CoalescedStreamResponse(status=status, headers=headers)
        chunks = aiter(body)
        try:
            try:
                # The first chunk before the status line: a source failing at once still gets an AWS answer
                # (the headers would otherwise be on their way with nothing after them).
                first = await anext(chunks, None)
            except errors.AwsError:
                raise
            except Exception as exc:
                raise errors.S3ServiceUnavailable("The object's data could not be read; retry.") from exc
            try:
                await response.prepare(ctx.request)
                chunk = first
                while chunk is not None:
                    await response.write(chunk)
                    ctx.bytes_sent += len(chunk)
                    chunk = await anext(chunks, None)
                await response.write_eof()
            except ConnectionError as exc:
                if not client_connected(ctx.request):
                    raise ClientClosed(response) from exc
                if not response.prepared:  # the backend's connection failed before anything was sent
                    raise
                _cut(ctx, exc)
            except Exception as exc:
                if not response.prepared:
                    raise
                _cut(ctx, exc)
        finally:
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                await aclose()
        return response

    def render_error(self, ctx: RequestContext, err: errors.AwsError) -> web.Response:
        status, headers, body = self.serializer.serialize_error(err, ctx.request_id)
        all_headers = self.base_headers(ctx, None)
        all_headers.update(headers)
        all_headers.update(ctx.response_headers)
        has_body = response_has_body(ctx.request.method, status)
        return web.Response(status=status, body=body if has_body else None, headers=all_headers)


def _cut(ctx: RequestContext, exc: BaseException) -> None:
    """The source failed mid-body (a backend connection cut, a deadline): the status line and length are
    sent, so no error document can follow. Abort the connection at once, so the client sees a short read
    now instead of waiting for bytes that will never come."""
    log.warning("body source failed mid-body", extra={"fields": {
        "request_id": ctx.request_id, "bytes_sent": ctx.bytes_sent, "error": type(exc).__name__}})
    transport = ctx.request.transport
    if transport is not None:
        transport.abort()
