"""The state one request carries through the pipeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .app import Gateway
    from .auth import AuthResult
    from .auth.credentials import Identity
    from .frontends import FrontEnd
    from .protocol.s3_routing import S3Route
    from .registry import HandlerSpec
    from .session import Session


@dataclass
class RequestContext:
    request: web.Request
    request_id: str
    gateway: Gateway  # what handlers need: backend, store, config
    started: float = field(default_factory=time.monotonic)
    frontend: FrontEnd | None = None  # the protocol family's front end: chosen first, always set by `run`
    service: str = ""                 # "ec2" | "sts" | "iam" | "s3" | "internal" once routed
    operation: str = ""               # botocore operation name once parsed
    params: dict[str, Any] = field(default_factory=dict)
    form_pairs: list[tuple[str, str]] = field(default_factory=list)  # query API: decoded query/form params
    form_body: bytes | None = None    # query API: the raw form body (signed as the payload)
    route: S3Route | None = None
    auth: AuthResult | None = None
    handler: HandlerSpec | None = None
    # S3 operations with a streaming payload (PutObject, UploadPart) read their body from here: the
    # decoded, signature-checked stream (aws-chunked and x-amz-content-sha256 verified as it flows).
    body: Any = None
    # Set by handlers when the model can't say it: 206 for a range, extra headers (CORS, ...).
    response_status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    bytes_sent: int = 0               # body bytes of a streamed response written so far
    status: int = 0                   # the status finally sent, for logs and metrics
    session: Session | None = None    # gateway.session.session(ctx): the cloud handles, fetched once

    @property
    def identity(self) -> Identity | None:
        return self.auth.identity if self.auth else None
