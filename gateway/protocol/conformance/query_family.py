"""Conformance adapters for the form-parameter protocols: ec2 and awsQuery."""

from __future__ import annotations

from urllib.parse import parse_qsl

from botocore.model import ServiceModel

from .. import errors
from ..ec2 import Ec2RequestParser, Ec2ResponseSerializer
from ..query import QueryRequestParser, QueryResponseSerializer

_HEADERS = {"Content-Type": "text/xml;charset=UTF-8"}
_REQUEST_ID = "requestid"


def _pairs(serialized: dict) -> list[tuple[str, str]]:
    """Form body plus any query string, decoded as the front end does."""
    query = serialized.get("uri", "").partition("?")[2]
    body = serialized.get("body") or ""
    return parse_qsl(query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)


def _error(code: str, message: str, members: dict) -> errors.AwsError:
    extra = {k: v for k, v in members.items() if k not in ("Code", "Message")}
    return errors.by_code(code)(message, **extra)


class _FormAdapter:
    protocol = ""

    def _parser(self, sm: ServiceModel):
        raise NotImplementedError

    def _serializer(self, sm: ServiceModel, xmlns: str | None):
        raise NotImplementedError

    def parse_request(self, sm: ServiceModel, op_name: str, serialized: dict) -> dict:
        action, params = self._parser(sm).parse(_pairs(serialized))
        if action != op_name:
            raise AssertionError(f"parsed action {action!r}, expected {op_name!r}")
        return params

    def serialize_response(self, sm: ServiceModel, op_name: str, result: dict, xmlns: str | None
                           ) -> tuple[int, dict[str, str], bytes]:
        return 200, dict(_HEADERS), self._serializer(sm, xmlns).serialize(op_name, result, _REQUEST_ID)

    def serialize_error(self, sm: ServiceModel, op_name: str, code: str, message: str, members: dict,
                        status: int) -> tuple[int, dict[str, str], bytes]:
        body = self._serializer(sm, None).serialize_error(_error(code, message, members), _REQUEST_ID)
        return status, dict(_HEADERS), body


class Ec2Adapter(_FormAdapter):
    protocol = "ec2"

    def _parser(self, sm: ServiceModel) -> Ec2RequestParser:
        return Ec2RequestParser(sm)

    def _serializer(self, sm: ServiceModel, xmlns: str | None) -> Ec2ResponseSerializer:
        # The suites model output-less operations as empty responses, without EC2's <return>true</return>.
        return Ec2ResponseSerializer(sm, xmlns=xmlns, strict=True, void_return=False)


class QueryAdapter(_FormAdapter):
    protocol = "query"

    def _parser(self, sm: ServiceModel) -> QueryRequestParser:
        return QueryRequestParser(sm)

    def _serializer(self, sm: ServiceModel, xmlns: str | None) -> QueryResponseSerializer:
        return QueryResponseSerializer(sm, xmlns=xmlns, strict=True)
