"""Conformance adapter for rest-xml: botocore's suites use their own test models, not S3's.

So there is no S3 root-tag table and no S3 namespace here: the root element comes from the output
shape's locationName or name, and a namespace only from the shape or the suite's constant.
"""

from __future__ import annotations

from botocore.model import NoShapeFoundError, ServiceModel

from ..rest_xml import RestXmlRequestParser, RestXmlResponseSerializer

_REQUEST_ID = "requestid"


class RestXmlAdapter:
    protocol = "rest-xml"

    def parse_request(self, sm: ServiceModel, op_name: str, serialized: dict) -> dict:
        path, _, query = serialized["uri"].partition("?")
        body = serialized.get("body") or ""
        return RestXmlRequestParser(sm).parse(
            op_name, serialized.get("method", "GET"), path, query, serialized.get("headers") or {},
            body.encode("utf-8") if body else None, host=serialized.get("host"))

    def serialize_response(self, sm: ServiceModel, op_name: str, result: dict, xmlns: str | None
                           ) -> tuple[int, dict[str, str], bytes]:
        ser = RestXmlResponseSerializer(sm, root_tags={}, root_xmlns=xmlns)
        status, headers, body = ser.serialize(op_name, result, _REQUEST_ID)
        return status, headers, body if isinstance(body, bytes) else bytes(body)

    def serialize_error(self, sm: ServiceModel, op_name: str, code: str, message: str, members: dict,
                        status: int) -> tuple[int, dict[str, str], bytes]:
        try:
            shape = sm.shape_for_error_code(code)
        except NoShapeFoundError:
            shape = None
        ser = RestXmlResponseSerializer(sm, root_tags={}, root_xmlns=None)
        return ser.serialize_generic_error(code, message, _REQUEST_ID, status, members, shape)
