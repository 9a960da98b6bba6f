"""Whole-body checksums S3 clients send as trailers (`x-amz-checksum-<algorithm>`, base64 of the digest).

CRC32, SHA-1 and SHA-256 come from the standard library; CRC32C and CRC64NVME from awscrt (what botocore
uses for them too).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from awscrt import checksums as _crt

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


_FACTORIES: dict[str, Callable[[], Checksum]] = {
    "crc32": lambda: _Crc(zlib.crc32, 4),
    "crc32c": lambda: _Crc(_crt.crc32c, 4),
    "crc64nvme": lambda: _Crc(_crt.crc64nvme, 8),
    "sha1": lambda: _Hash(hashlib.sha1),
    "sha256": lambda: _Hash(hashlib.sha256),
}
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
