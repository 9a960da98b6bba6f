"""The request as authentication sees it, and what authentication concludes about it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from multidict import CIMultiDict, CIMultiDictProxy

from .body import MAX_SIGNED_CHUNK, BodyReader, Stream, open_body
from .canonical import as_multidict
from .credentials import Identity
from .payload import Payload, UnsignedPayload


@dataclass
class AuthRequest:
    method: str
    raw_path: str             # path exactly as received, percent-encoded, without query
    query_string: str         # raw query string as received (may be empty)
    headers: Mapping[str, str] | CIMultiDictProxy[str] | CIMultiDict[str]  # multi-valued allowed
    host: str                 # Host header value
    body: bytes | None = None  # EC2 form body (already read, small); None for S3 streaming bodies
    form: list[tuple[str, str]] | None = None  # decoded EC2 params (query or form) for SigV2
    bucket: str | None = None  # S3 only: bucket the router extracted
    virtual_host: bool = False  # S3 only: bucket came from the Host header

    def signing_headers(self) -> CIMultiDictProxy[str] | CIMultiDict[str]:
        """Case-insensitive headers, with Host filled in from `host` when the mapping lacks it (HTTP/2)."""
        headers = as_multidict(self.headers)
        if "host" not in headers and self.host:
            headers = CIMultiDict(headers)
            headers["Host"] = self.host
        return headers


@dataclass
class AuthResult:
    identity: Identity | None  # None = anonymous (S3 only)
    payload: Payload = field(default_factory=UnsignedPayload)
    signature_version: str | None = None  # "v2" or "v4"; None when anonymous

    def body_reader(self, stream: Stream, *, max_chunk: int = MAX_SIGNED_CHUNK,
                    idle_timeout: float | None = None) -> BodyReader:
        """Wrap the raw body stream: yields the decoded, verified body and raises the AWS error where the
        body stops matching its signature (chunk signature, final SHA-256, trailer checksum, length), or
        RequestTimeout when the client sends nothing for `idle_timeout` seconds."""
        return open_body(stream, self.payload, max_chunk=max_chunk, idle_timeout=idle_timeout)
