"""Helpers of the POST Object tests: hand-built multipart forms, raw POSTs, SigV4/SigV2 policy signing."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import http.client
import io
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from gateway.auth.signing import Scope, signing_key, v4_sign

Field = tuple[str, str]


def form(fields: list[Field], file: bytes | None = b"hello", *, filename: str = "hello.txt",
         after: list[Field] = (), files: int = 1, named_fields: bool = False) -> tuple[bytes, str]:
    """A multipart/form-data body: fields, then `files` file parts, then `after` fields. `named_fields`:
    every field part carries a filename too (what Python's requests sends for `files={...}`)."""
    boundary = "----cg" + secrets.token_hex(8)
    out = io.BytesIO()
    for name, value in fields:
        extra = f'; filename="{name}"' if named_fields else ""
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for _ in range(files if file is not None else 0):
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                  f"Content-Type: application/octet-stream\r\n\r\n".encode())
        out.write(file + b"\r\n")
    for name, value in after:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post(endpoint: str, path: str, body: bytes, content_type: str | None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        sent = {"Content-Length": str(len(body)), **(headers or {})}
        if content_type is not None:
            sent["Content-Type"] = content_type
        conn.request("POST", path, body=body, headers=sent)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def expiry(seconds: int = 600) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(doc: Any) -> str:
    return base64.b64encode(json.dumps(doc).encode() if not isinstance(doc, bytes) else doc).decode()


def v2_fields(creds, policy: str) -> list[Field]:
    sig = base64.b64encode(hmac.new(creds.secret_key.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    return [("AWSAccessKeyId", creds.access_key), ("policy", policy), ("signature", sig)]


def v4_fields(creds, conditions: list[Any], *, expiration: str | None = None, region: str = "us-east-1",
              policy_doc: Any = None) -> list[Field]:
    """x-amz-* fields and a policy naming them (plus `conditions`), signed with SigV4."""
    now = dt.datetime.now(dt.UTC)
    date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{creds.access_key}/{date[:8]}/{region}/s3/aws4_request"
    amz = [("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential), ("x-amz-date", date)]
    doc = policy_doc if policy_doc is not None else {
        "expiration": expiration or expiry(), "conditions": [*conditions, *({k: v} for k, v in amz)]}
    policy = doc if isinstance(doc, str) else b64(doc)
    signature = v4_sign(signing_key(creds.secret_key, Scope(date[:8], region, "s3")), policy)
    return [*amz, ("policy", policy), ("x-amz-signature", signature)]


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class Chunks:
    """A stream handing out `size`-byte reads (to split delimiters across reads)."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._size = io.BytesIO(data), size

    async def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, self._size))


