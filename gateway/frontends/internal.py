"""Health and metrics: unsigned GET/HEAD of /healthz and /metrics, answered before any operation.

A *signed* request to those paths is S3 (a bucket may be called `healthz`), so it is no match here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..protocol import errors
from .base import FrontEnd

if TYPE_CHECKING:
    from ..context import RequestContext

PATHS = ("/healthz", "/metrics")
# Query parameters that make a request signed (SigV2, presigned SigV4) or carry a token.
SECRET_QUERY = frozenset({"signature", "x-amz-signature", "x-amz-security-token", "x-amz-credential",
                          "awsaccesskeyid"})


class InternalFrontEnd(FrontEnd):
    name = "internal"
    metered = False  # /metrics does not count its own scrapes

    def matches(self, request: web.Request) -> bool:
        if request.path not in PATHS or request.method not in ("GET", "HEAD"):
            return False
        return "Authorization" not in request.headers and not any(k.lower() in SECRET_QUERY
                                                                  for k in request.query)

    async def shortcut(self, ctx: RequestContext) -> web.StreamResponse:
        ctx.service = "internal"
        if ctx.request.path == "/metrics":
            return web.Response(text=self.gw.metrics.render(), content_type="text/plain", charset="utf-8")
        return web.json_response({"status": "ok", "backend": self.gw.backend_name})

    # Every request is answered by `shortcut`: the operation steps below are never reached.
    async def route(self, ctx: RequestContext) -> None:
        ctx.service = "internal"

    async def limits(self, ctx: RequestContext) -> None:
        return None

    async def authenticate(self, ctx: RequestContext) -> None:
        return None

    async def parse(self, ctx: RequestContext) -> None:
        return None

    def no_handler(self, ctx: RequestContext) -> errors.AwsError:
        return errors.InternalError()

    def unsupported(self, message: str) -> errors.AwsError:
        return errors.InternalError()

    def unavailable(self) -> errors.AwsError:
        return errors.ServiceUnavailable()

    async def respond(self, ctx: RequestContext, result: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(result)

    def render_error(self, ctx: RequestContext, err: errors.AwsError) -> web.Response:
        return web.json_response({"code": err.code, "message": err.message, "request_id": ctx.request_id},
                                 status=err.status, headers=self.base_headers(ctx, None))
