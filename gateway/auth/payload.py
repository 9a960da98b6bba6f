"""What the signature says about the body: the modes `x-amz-content-sha256` can announce.

A descriptor is data only; `body.open_body()` turns it into the reader that enforces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .signing import Scope

UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGV4A = ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256_hex(value: str) -> bool:
    return _SHA256_HEX.fullmatch(value) is not None


@dataclass(frozen=True)
class UnsignedPayload:
    """The body is not covered by the signature (UNSIGNED-PAYLOAD, SigV2, presigned URLs, anonymous)."""


@dataclass(frozen=True)
class SignedPayload:
    """The signature covers this SHA-256 of the body; a streamed body is checked when it ends."""

    sha256: str


@dataclass(frozen=True)
class ChunkedSignedPayload:
    """aws-chunked with a signature per chunk, chained from the request's (seed) signature."""

    signing_key: bytes = field(repr=False)
    seed_signature: str = field(repr=False)
    scope: Scope
    timestamp: str
    decoded_length: int
    trailer_names: tuple[str, ...] = ()
    signed_trailer: bool = False  # ...-PAYLOAD-TRAILER: the trailer carries x-amz-trailer-signature


@dataclass(frozen=True)
class ChunkedUnsignedPayload:
    """aws-chunked without chunk signatures; integrity comes from trailing checksums (x-amz-trailer)."""

    decoded_length: int | None
    trailer_names: tuple[str, ...] = ()


Payload = UnsignedPayload | SignedPayload | ChunkedSignedPayload | ChunkedUnsignedPayload


def trailer_names(header: str | None) -> tuple[str, ...]:
    """`x-amz-trailer: x-amz-checksum-crc32` (comma-separated, case-insensitive)."""
    if not header:
        return ()
    return tuple(name.strip().lower() for name in header.split(",") if name.strip())
