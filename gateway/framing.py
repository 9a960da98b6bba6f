"""AWS-shaped answers to requests aiohttp's HTTP parser refuses before the pipeline ever sees them.

A malformed head (bad or duplicated Content-Length, Content-Length with Transfer-Encoding, an invalid
header, a header section or request line over aiohttp's limits) is refused inside aiohttp's connection
handler, which answers with its own plain-text 400. aiohttp offers no public hook for that answer: the
one place is `RequestHandler.handle_error`, so the application's server builds a handler subclass that
renders the error in the envelope of the front end the request was meant for. The parser gives no
request object for a head it could not parse, so the request line is read back from the bytes last
received (the read that failed, else the one before; references, no copy): `/` with `Action=` or a POST is the query front end (EC2),
anything else S3. Errors raised inside a request (a handler's exception aiohttp caught) keep their real
request and are rendered as InternalError in its front end's envelope.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from .context import RequestContext
from .protocol import errors

if TYPE_CHECKING:
    from .app import Gateway

_REQUEST_LINE = re.compile(rb"(?:^|\n)([A-Z]{3,7}) (\S{1,8192}) HTTP/1\.[01]\r?\n")
_WINDOW = 16384


def error_for(family: str, exc: BaseException, line_seen: bool) -> errors.AwsError:
    """The AWS error for a refused head: S3 has codes for an oversized header section and URI (a line too
    long whose request line was never seen complete is the request line); EC2 has one code for any
    malformed request."""
    too_long = isinstance(exc, LineTooLong) or "too many headers" in str(exc).lower()
    if family == "s3":
        if too_long:
            return errors.RequestHeaderSectionTooLarge() if line_seen else errors.InvalidURI()
        return errors.BadRequest("An error occurred when parsing the HTTP request.")
    if too_long:
        return errors.InvalidRequest("The request header section or URI exceeds the maximum allowed size.")
    return errors.InvalidRequest("The request received was invalid: malformed HTTP framing.")


class AwsRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors as AWS does (see the module doc)."""

    def __init__(self, manager: web.Server, gateway: Gateway, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gateway = gateway
        self._previous: bytes = b""
        self._last: bytes = b""

    def data_received(self, data: bytes) -> None:
        self._previous, self._last = self._last, data  # references only: the request line, if refused
        super().data_received(data)

    def _sniffed(self) -> tuple[str, str]:
        """(method, target) of the refused request: the first request line of the read that failed (a
        smuggled request after it was never parsed), else the last one of the read before."""
        found = _REQUEST_LINE.search(self._last[:_WINDOW])
        if found is None:
            found = next(reversed(list(_REQUEST_LINE.finditer(self._previous[-_WINDOW:]))), None)
        if found is None:
            return "", ""
        return found.group(1).decode(), found.group(2).decode("latin-1")

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        gw = self._gateway
        self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        if request.writer.output_size > 0:  # some of an answer went out already: the connection is broken
            raise ConnectionError("Response is sent already, cannot send another response with the error")
        if isinstance(exc, HttpProcessingError):
            method, target = self._sniffed()
            path, _, query = target.partition("?")
            ec2 = path == "/" and ("Action=" in query or method == "POST")
            frontend = gw.frontends.query if ec2 else gw.frontends.s3
            err = error_for("ec2" if ec2 else "s3", exc, bool(method))
        else:  # a request aiohttp parsed, whose handling failed outside the pipeline
            frontend = gw.frontends.select(request)  # type: ignore[arg-type]
            err = errors.InternalError()
        ctx = RequestContext(request=request, request_id=str(uuid.uuid4()),  # type: ignore[arg-type]
                             gateway=gw, frontend=frontend)
        if frontend is gw.frontends.query:
            ctx.service = "ec2"
        response = frontend.render_error(ctx, err)
        response.force_close()
        gw.metrics.observe(ctx.service or frontend.name, "-", response.status, 0.0)
        return response


class AwsServer(web.Server):
    """aiohttp's Server, building AwsRequestHandler connections for one gateway."""

    def __init__(self, *args: Any, gateway: Gateway, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gateway = gateway

    def __call__(self) -> RequestHandler:
        return AwsRequestHandler(self, self._gateway, loop=self._loop, **self._kwargs)


def install(app: web.Application, gateway: Gateway) -> None:
    """Make the application's server (built by AppRunner, at start) an AwsServer. aiohttp builds it in
    `Application._make_handler`; wrapping that one method is the narrowest place to choose the class."""
    make = app._make_handler

    def make_handler(*, loop: Any = None, **kwargs: Any) -> web.Server:
        server = make(loop=loop, **kwargs)
        aws = AwsServer(server.request_handler, request_factory=server.request_factory,
                        handler_cancellation=server.handler_cancellation, loop=server._loop,
                        gateway=gateway, **server._kwargs)
        return aws

    app._make_handler = make_handler  # type: ignore[method-assign]
