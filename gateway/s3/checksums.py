"""Integrity of object bodies: Content-MD5 and the flexible checksums (`x-amz-checksum-<algorithm>`).

`ChecksumSpec.from_request` reads what the client declared (a header value, a trailer to come, or just an
algorithm to compute); `VerifiedBody` wraps the request body on its way to the backend, computes what is
needed while the bytes stream through, and verifies everything *before it releases the last piece*: a
backend (Swift with a Content-Length, or chunked) only commits an object once it has every byte, so a
mismatch raised there leaves nothing stored. Memory: one piece is held back, nothing more.

Checksums are kept with the object as private metadata (`checksum-<algorithm>` → base64 digest) and
returned by Put, and by Get/Head when the client sends `x-amz-checksum-mode: ENABLED`.
UploadPart reuses the same pieces (multipart).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..auth import checksums as auth_checksums
from ..protocol import errors

MAX_OBJECT_SIZE = 5 * 1024 ** 3  # a single PUT (and a copy source) is capped at 5 GiB
PRIVATE_PREFIX = "checksum-"

# AWS's algorithm name → (lower-case name used in headers, the output/input member, digest bytes)
ALGORITHMS: dict[str, tuple[str, str, int]] = {
    "CRC32": ("crc32", "ChecksumCRC32", 4),
    "CRC32C": ("crc32c", "ChecksumCRC32C", 4),
    "CRC64NVME": ("crc64nvme", "ChecksumCRC64NVME", 8),
    "SHA1": ("sha1", "ChecksumSHA1", 20),
    "SHA256": ("sha256", "ChecksumSHA256", 32),
}
_BY_LOWER = {low: name for name, (low, _, _) in ALGORITHMS.items()}
# Newer members of the model that this gateway does not compute: refused, never silently dropped.
_UNSUPPORTED_MEMBERS = ("ChecksumSHA512", "ChecksumMD5", "ChecksumXXHASH64", "ChecksumXXHASH3",
                        "ChecksumXXHASH128")


def new_checksum(algorithm: str) -> Any:
    """A running checksum for an AWS algorithm name (`CRC32`...): `update(bytes)`, `b64digest()`."""
    running = auth_checksums.new(ALGORITHMS[algorithm][0])  # stdlib or awscrt, all at C speed
    assert running is not None
    return running


# ---- what the client declared ---------------------------------------------------------------------------
def _invalid_value(header: str) -> errors.AwsError:
    return errors.InvalidRequest(f"Value for {header} header is invalid.")


def parse_content_md5(value: str | None) -> str | None:
    """Content-MD5 (base64 of 16 bytes) → hex; InvalidDigest when it is not one."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidDigest(**{"Content-MD5": value}) from None
    if len(raw) != 16:
        raise errors.InvalidDigest(**{"Content-MD5": value})
    return raw.hex()


def _check_digest_value(algorithm: str, value: str) -> str:
    low, _, size = ALGORITHMS[algorithm]
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid_value(f"x-amz-checksum-{low}") from None
    if len(raw) != size:
        raise _invalid_value(f"x-amz-checksum-{low}")
    return value.strip()


@dataclass
class ChecksumSpec:
    """The integrity checks one upload asks for."""

    md5_hex: str | None = None          # from Content-MD5
    algorithm: str | None = None        # AWS name (CRC32...) of the flexible checksum, if any
    expected: str | None = None         # its base64 value from a header (None: trailer or compute only)
    trailer: str | None = None          # trailer header name carrying the value (x-amz-checksum-crc32)

    @classmethod
    def from_request(cls, params: Mapping[str, Any], headers: Mapping[str, str]) -> ChecksumSpec:
        """Validate the declared digests: InvalidDigest (Content-MD5), InvalidRequest (checksums)."""
        spec = cls(md5_hex=parse_content_md5(params.get("ContentMD5")))
        for member in _UNSUPPORTED_MEMBERS:
            if params.get(member) is not None:
                raise errors.S3NotImplemented(f"The checksum {member[len('Checksum'):]} is not supported.")
        given = [(name, params[member]) for name, (_, member, _) in ALGORITHMS.items()
                 if params.get(member) is not None]
        trailer_names = [t.strip().lower() for t in (headers.get("x-amz-trailer") or "").split(",") if t.strip()]
        trailers = [t for t in trailer_names if t.startswith(auth_checksums.PREFIX)]
        if len(given) + len(trailers) > 1:
            raise errors.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types "
                                        "are not allowed.")
        if given:
            spec.algorithm = given[0][0]
            spec.expected = _check_digest_value(spec.algorithm, given[0][1])
        elif trailers:
            name = _BY_LOWER.get(trailers[0][len(auth_checksums.PREFIX):])
            if name is None:
                raise errors.InvalidRequest(f"The value specified in the x-amz-trailer header is not supported: "
                                            f"{trailers[0]}")
            spec.algorithm, spec.trailer = name, trailers[0]
        declared = params.get("ChecksumAlgorithm")
        if declared is not None:
            declared = str(declared).upper()
            if declared not in ALGORITHMS:
                if declared.replace("CHECKSUM", "") in ("SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128"):
                    raise errors.S3NotImplemented(f"The checksum algorithm {declared} is not supported.")
                raise errors.InvalidRequest("Checksum algorithm provided is unsupported. Please try again with "
                                            "any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
            if spec.algorithm is not None and spec.algorithm != declared:
                raise errors.InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
            spec.algorithm = declared  # with no value given, the gateway computes and stores it
        return spec


# ---- the verifying body ------------------------------------------------------------------------------
@dataclass
class BodyResult:
    size: int = 0
    md5_hex: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)  # AWS name → verified base64 value


class VerifiedBody:
    """Async iterator over `source` that verifies size and digests before the last piece goes out."""

    def __init__(self, source: AsyncIterable[bytes], spec: ChecksumSpec, *, declared_size: int | None,
                 max_size: int = MAX_OBJECT_SIZE, want_md5: bool = False) -> None:
        self._source: AsyncIterator[bytes] = source.__aiter__()
        self._trailers_of = source
        self.spec = spec
        self.declared_size = declared_size
        self.max_size = max_size
        self.result = BodyResult()
        self._md5 = hashlib.md5() if (want_md5 or spec.md5_hex) else None
        self._running = None
        # A trailer is verified by the aws-chunked decoder; a header value is checked here.
        if spec.algorithm is not None and spec.trailer is None:
            self._running = new_checksum(spec.algorithm)
        self._held: bytes | None = None
        self.error: errors.AwsError | None = None
        self._started = False
        self._done = False

    def __aiter__(self) -> VerifiedBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._next()
        except errors.AwsError as e:
            self.error = e  # the backend may wrap what its body raised: the handler re-raises this
            raise

    async def _next(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            self._held = await self._pull()
        current = self._held
        if current is None:
            self._done = True
            self._finish()
            raise StopAsyncIteration
        self._held = await self._pull()
        if self._held is None:
            self._done = True
            self._finish()  # raises before the backend sees the last byte
        return current

    async def _pull(self) -> bytes | None:
        while True:
            try:
                piece = await anext(self._source)
            except StopAsyncIteration:
                return None
            if not piece:
                continue
            self.result.size += len(piece)
            if self.result.size > self.max_size:
                raise errors.EntityTooLarge(ProposedSize=self.result.size, MaxSizeAllowed=self.max_size)
            if self._md5 is not None:
                self._md5.update(piece)
            if self._running is not None:
                self._running.update(piece)
            return piece

    def _finish(self) -> None:
        result, spec = self.result, self.spec
        if self.declared_size is not None and result.size != self.declared_size:
            raise errors.IncompleteBody()
        if self._md5 is not None:
            result.md5_hex = self._md5.hexdigest()
            if spec.md5_hex is not None and result.md5_hex != spec.md5_hex:
                raise errors.BadDigest(
                    ExpectedDigest=base64.b64encode(bytes.fromhex(spec.md5_hex)).decode("ascii"),
                    CalculatedDigest=base64.b64encode(self._md5.digest()).decode("ascii"))
        if spec.algorithm is None:
            return
        computed = self._running.b64digest() if self._running is not None else None
        if spec.trailer is not None:
            trailers = getattr(self._trailers_of, "trailers", None) or {}
            value = trailers.get(spec.trailer)
            if value is None:
                raise errors.MalformedTrailerError()
            expected = _check_digest_value(spec.algorithm, value)
            result.checksums[spec.algorithm] = expected
            return
        if spec.expected is not None and computed != spec.expected:
            raise checksum_mismatch(spec.algorithm)
        assert computed is not None
        result.checksums[spec.algorithm] = computed


@contextlib.contextmanager
def body_errors(body: VerifiedBody) -> Iterator[None]:
    """Around a backend upload of `body`: the error the body itself raised (BadDigest, IncompleteBody, a
    bad chunk signature...) wins over whatever the backend made of the aborted transfer."""
    try:
        yield
    except Exception:
        if body.error is not None:
            raise body.error from None
        raise


def checksum_mismatch(algorithm: str) -> errors.AwsError:
    return errors.BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")


# ---- stored form and responses ------------------------------------------------------------------------
def to_private(checksums: Mapping[str, str]) -> dict[str, str]:
    """{"CRC32": v} → private metadata {"checksum-crc32": v}."""
    return {PRIVATE_PREFIX + ALGORITHMS[name][0]: value for name, value in checksums.items()}


def from_private(private: Mapping[str, str]) -> dict[str, str]:
    """Output members (ChecksumCRC32: v, ..., ChecksumType) for the checksums stored with an object."""
    out: dict[str, str] = {}
    for low, member, _ in ALGORITHMS.values():
        value = private.get(PRIVATE_PREFIX + low)
        if value:
            out[member] = value
    if out:
        composite = any("-" in v for v in out.values())
        out["ChecksumType"] = "COMPOSITE" if composite else "FULL_OBJECT"
    return out


def is_checksum_key(private_name: str) -> bool:
    return private_name.startswith(PRIVATE_PREFIX)


# ---- buffered (XML) bodies ------------------------------------------------------------------------------
# Operations whose x-amz-checksum-* headers describe the object they make, not their (XML) body.
OBJECT_CHECKSUM_HEADERS = frozenset({"CompleteMultipartUpload"})


def verify_buffered(headers: Mapping[str, str], body: bytes, operation: str | None = None) -> bool:
    """Check Content-MD5 and any x-amz-checksum-* header of a small buffered body (DeleteObjects, PUT
    ?tagging...). True when at least one digest was given (DeleteObjects requires one)."""
    lower = {k.lower(): v for k, v in headers.items()}
    md5_hex = parse_content_md5(lower.get("content-md5"))
    if md5_hex is not None and hashlib.md5(body).hexdigest() != md5_hex:
        raise errors.BadDigest()
    checked = md5_hex is not None
    if operation in OBJECT_CHECKSUM_HEADERS:
        return checked
    for name, (low, _, _) in ALGORITHMS.items():
        value = lower.get(auth_checksums.PREFIX + low)
        if value is None:
            continue
        expected = _check_digest_value(name, value)
        running = new_checksum(name)
        running.update(body)
        if running.b64digest() != expected:
            raise checksum_mismatch(name)
        checked = True
    return checked
