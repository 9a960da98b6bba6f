"""The front-end interface: everything that differs between protocol families, behind one small class.

The pipeline (gateway/pipeline.py) runs the same named steps for every request and asks the request's
front end — chosen once, at routing — to do each protocol-specific part: route, read and limit input,
authenticate (the auth flavour), parse, say what a missing handler answers, authorize, render the result
and render errors. Adding a protocol family is adding a FrontEnd; the pipeline has no service branches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..protocol import errors

if TYPE_CHECKING:
    from ..app import Gateway
    from ..context import RequestContext


class ClientClosed(Exception):  # noqa: N818 - an event, not a failure of ours
    """The client hung up while we were answering (or reading its body): nothing more can be sent.
    Carries the response already started, if any, so aiohttp can finish it quietly."""

    def __init__(self, response: web.StreamResponse | None = None) -> None:
        super().__init__("client closed the connection")
        self.response = response


class FrontEnd(ABC):
    """One protocol family. Instances are built once per Gateway and shared by all requests."""

    name: str = ""
    metered = True  # counted in /metrics (health and metrics themselves are not)

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    # ---- routing ------------------------------------------------------------------------------------
    @abstractmethod
    def matches(self, request: web.Request) -> bool:
        """True when this front end serves the request (asked in a fixed order, cheap: no body read)."""

    async def shortcut(self, ctx: RequestContext) -> web.StreamResponse | None:
        """A response for requests that are no operation (health, metrics, CORS preflight), or None."""
        return None

    @abstractmethod
    async def route(self, ctx: RequestContext) -> None:
        """Set ctx.service (and the operation where the URL says it)."""

    # ---- input --------------------------------------------------------------------------------------
    @abstractmethod
    async def limits(self, ctx: RequestContext) -> None:
        """Refuse oversized buffered input by its declared length, then read what must be read before
        authentication (small and capped)."""

    @abstractmethod
    async def authenticate(self, ctx: RequestContext) -> None:
        """Set ctx.auth, or raise the family's authentication error."""

    @abstractmethod
    async def parse(self, ctx: RequestContext) -> None:
        """Set ctx.operation and ctx.params from the model (and ctx.body for streamed payloads)."""

    @abstractmethod
    def no_handler(self, ctx: RequestContext) -> errors.AwsError:
        """What a known operation without a handler answers."""

    async def authorize(self, ctx: RequestContext) -> None:
        """After the handler is resolved, before it runs: resource-level authorization (none by default)."""
        return None

    def dry_run_requested(self, ctx: RequestContext) -> bool:
        """True when the parsed request asks for a dry run (only the EC2 model has DryRun)."""
        return False

    @abstractmethod
    def unsupported(self, message: str) -> errors.AwsError:
        """A request this gateway understands but does not do (e.g. DryRun of an op that can't)."""

    @abstractmethod
    def unavailable(self) -> errors.AwsError:
        """The family's answer when a backend is down and no handler translated it."""

    # ---- output -------------------------------------------------------------------------------------
    @abstractmethod
    async def respond(self, ctx: RequestContext, result: dict[str, Any]) -> web.StreamResponse:
        """The handler's result, serialized from the model."""

    @abstractmethod
    def render_error(self, ctx: RequestContext, err: errors.AwsError) -> web.Response:
        """The error in the family's envelope."""

    def base_headers(self, ctx: RequestContext, content_type: str | None) -> dict[str, str]:
        headers = {"x-amz-request-id": ctx.request_id, "Server": "cloudgate"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers


def raw_query(req: web.Request) -> str:
    """The query exactly as sent. aiohttp's `query_string` is partly decoded (`%25` → `%`): a value with an
    encoded '%' would be decoded twice and its signature could never match."""
    return req.raw_path.partition("?")[2]


async def read_capped(stream: Any, limit: int, too_large: type[errors.AwsError]) -> bytes:
    """Read a whole (small) body, refusing more than `limit` bytes without buffering past it."""
    parts, size = [], 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > limit:
            raise too_large(f"The request body exceeds the limit of {limit} bytes.")
        parts.append(chunk)
    return b"".join(parts)


def client_connected(request: web.BaseRequest) -> bool:
    """False once the client's connection is closed or closing (aiohttp drops the transport on loss)."""
    transport = request.transport
    return transport is not None and not transport.is_closing()


CONTINUE_PENDING = web.RequestKey("cloudgate.continue_pending", bool)  # the interim 100 Continue is owed


async def send_continue(request: web.Request) -> None:
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # the interim response is no part of the answer


