"""The cryptography of SigV4 and SigV2: key derivation, strings to sign, HMACs, constant-time checks."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass

V4_ALGORITHM = "AWS4-HMAC-SHA256"
V4_TERMINATOR = "aws4_request"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# SigV2 SignatureMethod values and the digest each one names.
V2_METHODS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


@dataclass(frozen=True)
class Scope:
    """A SigV4 credential scope: `<yyyymmdd>/<region>/<service>/aws4_request`."""

    date: str
    region: str
    service: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{V4_TERMINATOR}"


def _hmac(key: bytes, message: str | bytes) -> bytes:
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, scope: Scope) -> bytes:
    """The per-day, per-region, per-service key; what aws-chunked verification needs instead of the secret.
    Cached: it changes once a day per key, and deriving it is four HMACs on every request otherwise."""
    key = _hmac(f"AWS4{secret}".encode(), scope.date)
    for part in (scope.region, scope.service, V4_TERMINATOR):
        key = _hmac(key, part)
    return key


def v4_sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def v4_string_to_sign(timestamp: str, scope: Scope, canonical_request: str) -> str:
    return f"{V4_ALGORITHM}\n{timestamp}\n{scope}\n{sha256_hex(canonical_request)}"


def v4_canonical_request(method: str, uri: str, query: str, headers: str, signed_headers: str,
                         payload_hash: str) -> str:
    return f"{method}\n{uri}\n{query}\n{headers}\n{signed_headers}\n{payload_hash}"


def chunk_string_to_sign(timestamp: str, scope: Scope, previous: str, chunk_sha256: str) -> str:
    """Each aws-chunked chunk signs its data chained to the previous signature (the seed for chunk one)."""
    return f"{V4_ALGORITHM}-PAYLOAD\n{timestamp}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{chunk_sha256}"


def trailer_string_to_sign(timestamp: str, scope: Scope, previous: str, trailer_sha256: str) -> str:
    return f"{V4_ALGORITHM}-TRAILER\n{timestamp}\n{scope}\n{previous}\n{trailer_sha256}"


def v2_sign(secret: str, string_to_sign: str, method: str = "HmacSHA256") -> str:
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8", "surrogateescape"),
                      V2_METHODS[method]).digest()
    return base64.b64encode(digest).decode("ascii")


def same(expected: str, provided: str) -> bool:
    """Constant-time equality; bytes so that a non-ASCII forgery cannot raise from compare_digest."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogateescape"),
                               provided.encode("utf-8", "surrogateescape"))
