"""Helpers of the S3 configuration tests (tagging, ACL, CORS, lifecycle): exact-error assertions and raw,
unsigned HTTP requests (what a browser or an anonymous client sends)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def assert_error(call: Callable[[], Any], code: str, status: int) -> dict[str, Any]:
    """`call` fails with exactly this AWS error code and HTTP status; returns the error response."""
    try:
        call()
    except ClientError as e:
        got = (e.response["Error"].get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"expected {code} {status}, got {got}: {e.response['Error']}"
        return e.response
    raise AssertionError(f"expected {code} {status}, the call succeeded")


def raw(method: str, url: str, headers: dict[str, str] | None = None,
        body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """An unsigned HTTP request: (status, headers with lower-case names, body)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def error_code(body: bytes) -> str | None:
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def error_field(body: bytes, name: str) -> str | None:
    m = re.search(rb"<" + name.encode() + rb">([^<]*)</" + name.encode() + rb">", body)
    return m.group(1).decode() if m else None
