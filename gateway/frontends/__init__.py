"""One front end per protocol family, chosen at routing (see docs/architecture.md).

`FrontEnds.select(request)` asks each front end in a fixed order: health/metrics, the query API (EC2,
and the home of STS/IAM), then S3 (whatever is left). The pipeline runs the shared steps and delegates
every protocol-specific part to the chosen one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .base import ClientClosed, FrontEnd, client_connected, read_capped
from .internal import InternalFrontEnd
from .query import QueryFrontEnd, QueryService
from .s3 import S3FrontEnd

if TYPE_CHECKING:
    from ..app import Gateway

__all__ = ["ClientClosed", "FrontEnd", "FrontEnds", "InternalFrontEnd", "QueryFrontEnd", "QueryService",
           "S3FrontEnd", "client_connected", "read_capped"]


class FrontEnds:
    """The gateway's front ends, built once; `select` never fails (S3 takes what no other claims)."""

    def __init__(self, gw: Gateway) -> None:
        self.internal = InternalFrontEnd(gw)
        self.query = QueryFrontEnd(gw)
        self.s3 = S3FrontEnd(gw)
        self.order: tuple[FrontEnd, ...] = (self.internal, self.query, self.s3)

    def select(self, request: web.Request) -> FrontEnd:
        return next(fe for fe in self.order if fe.matches(request))
