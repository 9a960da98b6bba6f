"""The interface every protocol adapter of the conformance runner implements.

The runner drives botocore's protocol suites in the SERVER direction: an adapter parses what a client
sent (`case["serialized"]`) into params, and serializes a result or an error into what a server sends.
"""

from __future__ import annotations

from typing import Protocol

from botocore.model import ServiceModel


class ProtocolAdapter(Protocol):
    protocol: str  # "ec2" | "query" | "rest-xml"

    def parse_request(self, sm: ServiceModel, op_name: str, serialized: dict) -> dict:
        """serialized = case["serialized"]: {"method", "uri" (path?query), "headers", "body", "host"?}."""
        ...

    def serialize_response(self, sm: ServiceModel, op_name: str, result: dict, xmlns: str | None
                           ) -> tuple[int, dict[str, str], bytes]:
        ...

    def serialize_error(self, sm: ServiceModel, op_name: str, code: str, message: str, members: dict,
                        status: int) -> tuple[int, dict[str, str], bytes]:
        ...
