"""Shared helpers for the auth tests: botocore-signed requests as AuthRequests, fake body streams, and an
independent aws-chunked encoder (hashlib/hmac only, so it does not share code with the gateway)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from gateway.auth import AuthRequest, StaticProvider

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"
REGION = "us-east-1"
CREDS = Credentials(AKID, SECRET)
WRONG_SECRET = Credentials(AKID, SECRET[:-1] + "X")
UNKNOWN_KEY = Credentials("AKIDUNKNOWN", SECRET)


def provider() -> StaticProvider:
    return StaticProvider.from_config([
        {"access_key": AKID, "secret_key": SECRET, "account_id": ACCOUNT, "display_name": "example"},
    ])


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def to_auth_request(request: AWSRequest, *, bucket: str | None = None, virtual_host: bool = False,
                    ec2_form: bool = False) -> AuthRequest:
    """What the front end would hand to authentication for this signed botocore request."""
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    headers = CIMultiDict((name, value) for name, value in prepared.headers.items())
    headers.setdefault("Host", split.netloc)
    body = prepared.body
    if isinstance(body, str):
        body = body.encode()
    form = None
    if ec2_form:
        form = parse_qsl(body.decode() if body else split.query, keep_blank_values=True)
    return AuthRequest(method=prepared.method, raw_path=split.path, query_string=split.query,
                       headers=headers, host=split.netloc, body=body if ec2_form else None, form=form,
                       bucket=bucket, virtual_host=virtual_host)


class FakeStream:
    """aiohttp.StreamReader-like: hands out at most `piece` bytes per read from an iterable of blocks,
    producing them lazily so a test never has to hold a whole large body."""

    def __init__(self, blocks: bytes | Iterable[bytes], piece: int = 4096) -> None:
        self._blocks: Iterator[bytes] = iter([blocks] if isinstance(blocks, bytes) else blocks)
        self._current = b""
        self._piece = piece
        self.bytes_read = 0

    async def read(self, n: int = -1) -> bytes:
        while not self._current:
            block = next(self._blocks, None)
            if block is None:
                return b""
            self._current = block
        limit = self._piece if n < 0 else min(n, self._piece)
        out, self._current = self._current[:limit], self._current[limit:]
        self.bytes_read += len(out)
        return out

    async def readexactly(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            data = await self.read(n - len(out))
            if not data:
                raise EOFError
            out += data
        return out

    async def readline(self) -> bytes:
        out = b""
        while not out.endswith(b"\n") and (data := await self.read(1)):
            out += data
        return out

    def at_eof(self) -> bool:
        return not self._current


async def drain(reader, n: int = 65536) -> bytes:
    parts = []
    while data := await reader.read(n):
        parts.append(data)
    return b"".join(parts)


def flip_last(text: str) -> str:
    """`text` with its last hex digit changed (always a different value, so a tamper never no-ops)."""
    return text[:-1] + ("1" if text[-1] == "0" else "0")


# ---- independent aws-chunked encoder --------------------------------------------------------------

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def v4_key(secret: str, date: str, region: str = REGION, service: str = "s3") -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def chunk_signature(key: bytes, timestamp: str, scope: str, previous: str, data: bytes) -> str:
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, EMPTY_SHA256,
                     hashlib.sha256(data).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def trailer_signature(key: bytes, timestamp: str, scope: str, previous: str, trailer: str) -> str:
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous,
                     hashlib.sha256(trailer.encode()).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def signed_chunks(chunks: Iterable[bytes], *, key: bytes, seed: str, timestamp: str, scope: str,
                  trailers: list[tuple[str, str]] | None = None) -> Iterator[bytes]:
    """Encoded STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] blocks, one per chunk, then the final chunk."""
    previous = seed
    for data in [*chunks, b""]:
        signature = chunk_signature(key, timestamp, scope, previous, data)
        previous = signature
        if data:
            yield f"{len(data):x};chunk-signature={signature}\r\n".encode() + data + b"\r\n"
        elif trailers is None:
            yield f"0;chunk-signature={signature}\r\n\r\n".encode()
        else:
            canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
            tsig = trailer_signature(key, timestamp, scope, previous, canonical)
            lines = "".join(f"{name}:{value}\r\n" for name, value in trailers)
            yield f"0;chunk-signature={signature}\r\n{lines}x-amz-trailer-signature:{tsig}\r\n\r\n".encode()
