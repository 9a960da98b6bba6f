"""The query front end: AWS's form-encoded `Action=` APIs. EC2 today; STS and IAM (awsQuery) are chosen
here too, each with its own botocore model, parser and envelope.

Which service a request is for: the SigV4 credential scope's service (`…/us-east-1/sts/aws4_request`)
when the request carries one, else the `Version` parameter when it names another query service's API
version, else EC2. A service with no handler registered at all answers `InvalidAction`, as AWS does for an
action it does not know, before authentication.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from ..auth import AuthRequest, authenticate_ec2
from ..auth.body import DeadlineStream
from ..protocol import errors
from ..protocol.ec2 import Ec2RequestParser, Ec2ResponseSerializer
from ..protocol.formparse import FormRequestParser
from ..protocol.models import service_model
from ..protocol.query import QueryRequestParser, QueryResponseSerializer, XmlEnvelopeSerializer
from .base import FrontEnd, raw_query, read_capped

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..app import Gateway
    from ..context import RequestContext

FORM_TYPE = "application/x-www-form-urlencoded"
DEFAULT_SERVICE = "ec2"
# The query-protocol services this front end can serve (handlers decide which answer anything).
SERVICES = ("ec2", "sts", "iam")
# Auth parameters of the query API: consumed by authentication, not operation parameters.
AUTH_PARAMS = frozenset({"AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp",
                         "Expires", "SecurityToken", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                         "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"})


@dataclass(frozen=True)
class QueryService:
    """One query-protocol service: its model's parser and serializer, and its response content type."""

    name: str
    api_version: str
    parser: FormRequestParser
    serializer: XmlEnvelopeSerializer
    content_type: str

    @classmethod
    def build(cls, name: str) -> QueryService:
        model = service_model(name)
        if name == "ec2":  # EC2's own dialect of the query protocol (Name.N lists, its envelope)
            return cls(name, model.api_version, Ec2RequestParser(model), Ec2ResponseSerializer(model),
                       "text/xml;charset=UTF-8")
        return cls(name, model.api_version, QueryRequestParser(model), QueryResponseSerializer(model),
                   "text/xml")


class QueryFrontEnd(FrontEnd):
    name = "query"

    def __init__(self, gw: Gateway, services: Iterable[str] = SERVICES) -> None:
        super().__init__(gw)
        self.services = tuple(services)
        self._built: dict[str, QueryService] = {}

    def service(self, name: str) -> QueryService:
        """The service's codec, built on first use (STS and IAM models load only when asked for)."""
        svc = self._built.get(name)
        if svc is None:
            svc = self._built[name] = QueryService.build(name)
        return svc

    @functools.cached_property
    def _by_version(self) -> dict[str, str]:
        return {self.service(n).api_version: n for n in self.services if n != DEFAULT_SERVICE}

    def select_service(self, headers: Mapping[str, str], pairs: Iterable[tuple[str, str]]) -> str:
        """The service named by the SigV4 scope, else by a non-EC2 `Version`, else EC2. A scope naming
        no query service leaves EC2, whose authentication then refuses the scope as AWS does."""
        params = dict(pairs)
        scoped = _scope_service(headers.get("Authorization", "")) or _scope_service(
            "Credential=" + params.get("X-Amz-Credential", ""))
        if scoped:
            return scoped if scoped in self.services else DEFAULT_SERVICE
        version = params.get("Version")
        if version and version != self.service(DEFAULT_SERVICE).api_version:
            return self._by_version.get(version, DEFAULT_SERVICE)
        return DEFAULT_SERVICE

    # ---- routing ------------------------------------------------------------------------------------
    def matches(self, request: web.Request) -> bool:
        if request.path != "/" or self.gw.is_virtual_host(request.host):
            return False
        if "Action" in request.query:
            return True
        return request.method == "POST" and request.content_type == FORM_TYPE

    async def route(self, ctx: RequestContext) -> None:
        # The header scope is known before the body is read: errors of the limits step already
        # answer in the right envelope. `limits` refines the choice once the form is read.
        ctx.service = self.select_service(ctx.request.headers, ())

    # ---- input --------------------------------------------------------------------------------------
    async def limits(self, ctx: RequestContext) -> None:
        req, limit = ctx.request, self.gw.config.limits.max_form_bytes
        if (req.content_length or 0) > limit or len(raw_query(req)) > limit:
            raise errors.RequestEntityTooLarge(f"The request exceeds the limit of {limit} bytes.")
        pairs = parse_qsl(raw_query(req), keep_blank_values=True)
        if req.method == "POST" and req.content_type == FORM_TYPE:
            ctx.form_body = await read_capped(DeadlineStream(req.content, self.gw.config.limits.body_idle_timeout_seconds),
                                             limit, errors.RequestEntityTooLarge)
            try:
                pairs += parse_qsl(ctx.form_body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                raise errors.InvalidParameterValue("The request body is not valid UTF-8.") from None
        ctx.form_pairs = pairs
        ctx.service = self.select_service(req.headers, pairs)
        if ctx.service != DEFAULT_SERVICE and not self.gw.registry.has_service(ctx.service):
            raise self._unknown_action(ctx.service, dict(pairs).get("Action") or "")

    async def authenticate(self, ctx: RequestContext) -> None:
        req = ctx.request
        auth_req = AuthRequest(method=req.method, raw_path=req.raw_path.split("?", 1)[0],
                               query_string=raw_query(req), headers=req.headers, host=req.host or "",
                               body=ctx.form_body, form=ctx.form_pairs or None)
        ctx.auth = await authenticate_ec2(auth_req, self.gw.credentials, region=self.gw.config.region,
                                          service=ctx.service, sigv2=self.gw.config.auth.signature_v2)

    async def parse(self, ctx: RequestContext) -> None:
        pairs = [(k, v) for k, v in ctx.form_pairs if k not in AUTH_PARAMS]
        ctx.operation, ctx.params = self.service(ctx.service).parser.parse(pairs)

    def no_handler(self, ctx: RequestContext) -> errors.AwsError:
        if ctx.service == DEFAULT_SERVICE:
            return errors.Unsupported(f"The operation {ctx.operation} is not supported by this gateway.")
        return self._unknown_action(ctx.service, ctx.operation)

    def _unknown_action(self, service: str, action: str) -> errors.AwsError:
        if not action:
            return errors.MissingAction()
        return errors.InvalidAction(f"Could not find operation {action} for version "
                                    f"{self.service(service).api_version}")

    def dry_run_requested(self, ctx: RequestContext) -> bool:
        return ctx.params.get("DryRun") is True

    def unsupported(self, message: str) -> errors.AwsError:
        return errors.Unsupported(message)

    def unavailable(self) -> errors.AwsError:
        return errors.ServiceUnavailable()

    # ---- output -------------------------------------------------------------------------------------
    async def respond(self, ctx: RequestContext, result: dict[str, Any]) -> web.StreamResponse:
        svc = self.service(ctx.service)
        body = svc.serializer.serialize(ctx.operation, result, ctx.request_id)
        return web.Response(body=body, headers=self.base_headers(ctx, svc.content_type))

    def render_error(self, ctx: RequestContext, err: errors.AwsError) -> web.Response:
        svc = self.service(ctx.service or DEFAULT_SERVICE)
        body = svc.serializer.serialize_error(err, ctx.request_id)
        return web.Response(status=err.status, body=body, headers=self.base_headers(ctx, svc.content_type))


def _scope_service(text: str) -> str | None:
    """The service of a SigV4 credential (`Credential=AK/date/region/service/aws4_request`), leniently:
    authentication checks the whole scope later; here it only picks the model."""
    _, found, rest = text.partition("Credential=")
    if not found:
        return None
    parts = rest.split(",", 1)[0].strip().split("/")
    return parts[3] if len(parts) == 5 and parts[3] else None
