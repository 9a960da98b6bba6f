"""Whole-body checksums S3 clients send as trailers (`x-amz-checksum-<algorithm>`, base64 of the digest).

CRC32, SHA-1 and SHA-256 come from the standard library; CRC32C and CRC64NVME need awscrt (what botocore
uses) and are passed through unverified when it is absent, rather than run at pure-Python speed.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

try:  # optional accelerator, as in botocore
    from awscrt import checksums as _crt  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    _crt = None

PREFIX = "x-amz-checksum-"


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...
    def b64digest(self) -> str: ...


class _Hash:
    def __init__(self, factory: Callable[[], hashlib._Hash]) -> None:
        self._hash = factory()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def b64digest(self) -> str:
        return base64.b64encode(self._hash.digest()).decode("ascii")


class _Crc:
    def __init__(self, function: Callable[[bytes, int], int], width: int) -> None:
        self._function, self._width, self._value = function, width, 0

    def update(self, data: bytes) -> None:
        self._value = self._function(data, self._value)

    def b64digest(self) -> str:
        return base64.b64encode(self._value.to_bytes(self._width, "big")).decode("ascii")


def _factories() -> dict[str, Callable[[], Checksum]]:
    found: dict[str, Callable[[], Checksum]] = {
        "crc32": lambda: _Crc(zlib.crc32, 4),
        "sha1": lambda: _Hash(hashlib.sha1),
        "sha256": lambda: _Hash(hashlib.sha256),
    }
    if _crt is not None:
        found["crc32c"] = lambda: _Crc(_crt.crc32c, 4)
        if hasattr(_crt, "crc64nvme"):
            found["crc64nvme"] = lambda: _Crc(_crt.crc64nvme, 8)
    return found


_FACTORIES = _factories()
KNOWN = frozenset({"crc32", "crc32c", "crc64nvme", "sha1", "sha256"})


def algorithm_of(header_name: str) -> str | None:
    """`x-amz-checksum-crc32` -> `crc32`; None for anything that is not a checksum header."""
    name = header_name.lower()
    if not name.startswith(PREFIX):
        return None
    algorithm = name[len(PREFIX):]
    return algorithm if algorithm in KNOWN else None


def new(algorithm: str) -> Checksum | None:
    """A running checksum, or None when this host cannot compute the algorithm."""
    factory = _FACTORIES.get(algorithm)
    return factory() if factory is not None else None
