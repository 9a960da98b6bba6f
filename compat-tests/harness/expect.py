"""Outcomes and assertions: `Fail` / `Skip`, and the AWS error envelope as scenarios see it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .http import Response

# Codes that mean "the request did not get past authentication". A request that passed auth may get any
# other AWS answer (on a gateway without a backend: Unsupported / NotImplemented).
AUTH_CODES = frozenset({
    "AuthFailure", "MissingAuthenticationToken", "RequestExpired", "IncompleteSignature",
    "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId", "RequestTimeTooSkewed",
    "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError", "AccessDenied",
})


class Fail(Exception):
    """The endpoint answered differently from AWS."""


class Skip(Exception):
    """The endpoint lacks something the scenario needs; the reason says what."""


@dataclass
class ErrorInfo:
    status: int
    code: str | None
    message: str | None = None
    request_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    root: ET.Element | None = None  # the parsed error document (raw responses only)

    def describe(self) -> str:
        message = f" ({self.message[:120]!r})" if self.message else ""
        return f"{self.code or 'no error code'} {self.status}{message}"


def check(condition: object, message: str) -> None:
    if not condition:
        raise Fail(message)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child_text(elem: ET.Element, name: str) -> str | None:
    for child in elem:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def parse_error(resp: Response) -> ErrorInfo:
    """Code/Message/RequestId from an EC2 (`Response/Errors/Error`) or S3 (`Error`) document."""
    info = ErrorInfo(resp.status, None, headers=resp.headers)
    try:
        info.root = ET.fromstring(resp.body) if resp.body.strip() else None
    except ET.ParseError:
        return info
    if info.root is None:
        return info
    error = info.root
    if _local(error.tag) == "Response":
        errors = next((c for c in error if _local(c.tag) == "Errors"), None)
        error = next((c for c in errors if _local(c.tag) == "Error"), None) if errors is not None else None
        info.request_id = _child_text(info.root, "RequestID")
    else:
        info.request_id = _child_text(error, "RequestId")
    if error is not None and _local(error.tag) == "Error":
        info.code, info.message = _child_text(error, "Code"), _child_text(error, "Message")
    return info


def _from_client_error(err: ClientError) -> ErrorInfo:
    meta = err.response.get("ResponseMetadata", {})
    detail = err.response.get("Error", {})
    return ErrorInfo(meta.get("HTTPStatusCode", 0), detail.get("Code"), detail.get("Message"),
                     meta.get("RequestId"), meta.get("HTTPHeaders", {}))


def outcome_of(outcome: Response | Callable[[], Any]) -> ErrorInfo | None:
    """The error a raw response or an SDK call (a zero-argument callable) produced; None on success."""
    if isinstance(outcome, Response):
        return parse_error(outcome) if outcome.status >= 300 else None
    try:
        outcome()
    except ClientError as err:
        return _from_client_error(err)
    return None


def expect_error(code: str, status: int, outcome: Response | Callable[[], Any]) -> ErrorInfo:
    """Assert the exact AWS error code AND HTTP status; return the error for further checks."""
    info = outcome_of(outcome)
    if info is None:
        answered = f" ({outcome.status})" if isinstance(outcome, Response) else ""
        raise Fail(f"expected {code} {status}, got success{answered}")
    if info.code != code or info.status != status:
        if info.code is None and isinstance(outcome, Response):
            raise Fail(f"expected {code} {status}, got {info.status} with no AWS error document: "
                       f"{outcome.body[:120]!r}")
        raise Fail(f"expected {code} {status}, got {info.describe()}")
    return info


def expect_no_auth_error(outcome: Response | Callable[[], Any]) -> ErrorInfo | None:
    """Assert the request got past authentication: success, or an AWS error that is not an auth error."""
    info = outcome_of(outcome)
    if info is not None and (info.code in AUTH_CODES or info.code is None):
        raise Fail(f"valid credentials were refused: {info.describe()}")
    return info
