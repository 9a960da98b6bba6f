"""Body readers that decode and verify what the signature promised about the body, while streaming.

Memory is bounded: plain and hash-checked bodies pass through in pieces; aws-chunked bodies hold at most
one signed chunk (its signature must be checked before any of it is released) plus a small read-ahead,
and chunk-header and trailer lines are capped. Errors are raised at the read where they are detected.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Protocol

from gateway.protocol import errors

from . import checksums
from .payload import (
    ChunkedSignedPayload,
    ChunkedUnsignedPayload,
    Payload,
    SignedPayload,
    UnsignedPayload,
)
from .signing import chunk_string_to_sign, same, sha256_hex, trailer_string_to_sign, v4_sign

READ_SIZE = 64 * 1024
MAX_LINE = 4096                 # a chunk header is `<hex>;chunk-signature=<64 hex>`: ~90 bytes
MAX_TRAILER_BYTES = 16 * 1024
MAX_SIGNED_CHUNK = 16 * 1024 * 1024  # SDKs use 8 KiB-1 MiB; a signed chunk is buffered until verified
TRAILER_SIGNATURE = "x-amz-trailer-signature"

_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")


class Stream(Protocol):
    """What the readers need from aiohttp.StreamReader (only `read` is used)."""

    async def read(self, n: int = -1) -> bytes: ...


def _malformed(detail: str) -> errors.AwsError:
    return errors.InvalidRequest(f"Invalid aws-chunked encoding: {detail}.")


class BodyReader:
    """The decoded, verified body: `await read(n)` (b"" at the end) or `async for piece in reader`.

    `trailers` holds the aws-chunked trailing headers (lower-case names) once the body has been read.
    """

    def __init__(self, pieces: AsyncIterator[bytes], trailers: dict[str, str] | None = None) -> None:
        self._pieces = pieces
        self._pending = b""
        self._offset = 0
        self._done = False
        self._error: BaseException | None = None
        self.trailers = trailers if trailers is not None else {}

    @property
    def finished(self) -> bool:
        return self._done

    async def _refill(self) -> bool:
        while self._offset >= len(self._pending):
            if self._error is not None:
                raise self._error
            if self._done:
                return False
            try:
                self._pending = await anext(self._pieces)
            except StopAsyncIteration:
                self._done = True
                return False
            except BaseException as exc:
                self._error = exc  # a failed body stays failed: later reads must not look like EOF
                raise
            self._offset = 0
        return True

    async def read(self, n: int = READ_SIZE) -> bytes:
        if n is None or n <= 0:
            n = READ_SIZE
        if not await self._refill():
            return b""
        piece = self._pending[self._offset:self._offset + n]
        self._offset += len(piece)
        return piece

    async def readall(self, limit: int) -> bytes:
        """The whole body, for small bodies only (XML documents); EntityTooLarge beyond `limit`."""
        parts, size = [], 0
        async for piece in self:
            size += len(piece)
            if size > limit:
                raise errors.EntityTooLarge()
            parts.append(piece)
        return b"".join(parts)

    def __aiter__(self) -> BodyReader:
        return self

    async def __anext__(self) -> bytes:
        if not await self._refill():
            raise StopAsyncIteration
        piece = self._pending[self._offset:] if self._offset else self._pending
        self._offset = len(self._pending)
        return piece


class _Source:
    """Read-ahead over the raw stream with bounded line reads; only `stream.read(n)` is called."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def _fill(self) -> bool:
        data = await self._stream.read(READ_SIZE)
        if not data:
            return False
        self._buffer += data
        return True

    async def line(self, limit: int = MAX_LINE) -> bytes | None:
        """One CRLF-terminated line without its CRLF; None at a clean end of stream."""
        start = 0
        while True:
            end = self._buffer.find(b"\r\n", start)
            if end >= 0:
                if end > limit:
                    raise _malformed("line too long")
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 2]
                return line
            if len(self._buffer) > limit + 1:
                raise _malformed("line too long")
            start = max(0, len(self._buffer) - 1)
            if not await self._fill():
                if not self._buffer:
                    return None
                raise errors.IncompleteBody()

    async def some(self, n: int) -> bytes:
        """1..n bytes, b"" at the end of the stream."""
        if not self._buffer and not await self._fill():
            return b""
        piece = bytes(self._buffer[:n])
        del self._buffer[:n]
        return piece

    async def exact(self, n: int) -> bytes:
        parts, need = [], n
        while need:
            if self._buffer:
                piece = await self.some(need)
            else:  # large chunks bypass the read-ahead buffer
                piece = await self._stream.read(min(need, MAX_SIGNED_CHUNK))
            if not piece:
                raise errors.IncompleteBody()
            parts.append(piece)
            need -= len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)


async def _plain(stream: Stream) -> AsyncIterator[bytes]:
    while data := await stream.read(READ_SIZE):
        yield data


async def _hashed(stream: Stream, expected: str) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    while data := await stream.read(READ_SIZE):
        digest.update(data)
        yield data
    computed = digest.hexdigest()
    if not same(computed, expected):
        raise errors.XAmzContentSHA256Mismatch(ClientComputedContentSHA256=expected,
                                               S3ComputedContentSHA256=computed)


def _chunk_header(line: bytes, signed: bool) -> tuple[int, str | None]:
    """`<hex size>[;chunk-signature=<sig>]` -> (size, signature)."""
    size_text, *extensions = line.split(b";")
    if not _HEX_SIZE.fullmatch(size_text.strip()):
        raise _malformed("bad chunk size")
    signature = None
    for extension in extensions:
        name, _, value = extension.partition(b"=")
        if name.strip() == b"chunk-signature":
            signature = value.strip().decode("ascii", "replace")
    if signed and not signature:
        raise errors.SignatureDoesNotMatch("The chunk signature is missing.")
    return int(size_text, 16), signature


class _AwsChunkedDecoder:
    """One aws-chunked body: chunk framing, chunk signatures, decoded length, trailers, checksums."""

    def __init__(self, stream: Stream, payload: ChunkedSignedPayload | ChunkedUnsignedPayload,
                 trailers: dict[str, str], max_chunk: int) -> None:
        self._source = _Source(stream)
        self._payload = payload
        self._trailers = trailers  # shared with the BodyReader, filled once the body has ended
        self._max_chunk = max_chunk
        self._signed = isinstance(payload, ChunkedSignedPayload)
        self._previous = payload.seed_signature if isinstance(payload, ChunkedSignedPayload) else ""
        self._checksums: dict[str, checksums.Checksum] = {}
        for name in payload.trailer_names:
            algorithm = checksums.algorithm_of(name)
            running = checksums.new(algorithm) if algorithm else None
            if running is not None:
                self._checksums[name] = running

    def _update(self, data: bytes) -> None:
        for running in self._checksums.values():
            running.update(data)

    def _check_chunk(self, data: bytes, signature: str | None) -> None:
        payload = self._payload
        assert isinstance(payload, ChunkedSignedPayload)
        string_to_sign = chunk_string_to_sign(payload.timestamp, payload.scope, self._previous,
                                              sha256_hex(data))
        if signature is None or not same(v4_sign(payload.signing_key, string_to_sign), signature):
            raise errors.SignatureDoesNotMatch()
        self._previous = signature

    async def pieces(self) -> AsyncIterator[bytes]:
        source, decoded_length, total = self._source, self._payload.decoded_length, 0
        while True:
            line = await source.line()
            if line is None:
                raise errors.IncompleteBody()
            size, signature = _chunk_header(line, self._signed)
            total += size
            if decoded_length is not None and total > decoded_length:
                raise errors.IncompleteBody()
            if self._signed:
                if size > self._max_chunk:
                    raise _malformed(f"chunk of {size} bytes exceeds the limit of {self._max_chunk}")
                data = await source.exact(size) if size else b""
                self._check_chunk(data, signature)
                self._update(data)
                if data:
                    yield data
            else:
                remaining = size
                while remaining:
                    data = await source.some(min(remaining, READ_SIZE))
                    if not data:
                        raise errors.IncompleteBody()
                    remaining -= len(data)
                    self._update(data)
                    yield data
            if size == 0:
                break
            if await source.exact(2) != b"\r\n":
                raise _malformed("chunk data not followed by CRLF")
        if decoded_length is not None and total != decoded_length:
            raise errors.IncompleteBody()
        trailers = await self._read_trailers()
        self._verify_trailers(trailers)
        self._trailers.update(trailers)

    async def _read_trailers(self) -> dict[str, str]:
        trailers: dict[str, str] = {}
        canonical, signature, budget = [], None, MAX_TRAILER_BYTES
        while (line := await self._source.line()) is not None and line:  # end of stream ends them too
            budget -= len(line)
            name, sep, value = line.decode("utf-8", "replace").partition(":")
            name, value = name.strip().lower(), value.strip()
            if budget < 0 or not sep or not name:
                raise errors.MalformedTrailerError()
            if name == TRAILER_SIGNATURE:
                signature = value
                continue
            trailers[name] = value
            canonical.append(f"{name}:{value}\n")
        payload = self._payload
        if isinstance(payload, ChunkedSignedPayload) and not payload.signed_trailer and (trailers or signature):
            raise errors.MalformedTrailerError()  # unsigned data must not ride along a signed stream
        if isinstance(payload, ChunkedSignedPayload) and payload.signed_trailer:
            string_to_sign = trailer_string_to_sign(payload.timestamp, payload.scope, self._previous,
                                                    sha256_hex("".join(canonical)))
            if signature is None or not same(v4_sign(payload.signing_key, string_to_sign), signature):
                raise errors.SignatureDoesNotMatch()
        return trailers

    def _verify_trailers(self, trailers: dict[str, str]) -> None:
        for name in self._payload.trailer_names:
            if name not in trailers:
                raise errors.MalformedTrailerError()
            running = self._checksums.get(name)
            if running is not None and not same(running.b64digest(), trailers[name]):
                algorithm = (checksums.algorithm_of(name) or name).upper()
                raise errors.BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")


class DeadlineStream:
    """A body stream whose every read must bring data within `seconds`: a client that stops sending
    mid-body (slowloris) gets RequestTimeout instead of holding the request open for ever."""

    def __init__(self, stream: Stream, seconds: float) -> None:
        self._stream = stream
        self._seconds = seconds

    async def read(self, n: int = -1) -> bytes:
        try:
            async with asyncio.timeout(self._seconds):
                return await self._stream.read(n)
        except TimeoutError:
            raise errors.RequestTimeout() from None


def open_body(stream: Stream, payload: Payload, *, max_chunk: int = MAX_SIGNED_CHUNK,
              idle_timeout: float | None = None) -> BodyReader:
    """The reader that enforces `payload` on `stream` (each raw read bounded by `idle_timeout`)."""
    if idle_timeout is not None:
        stream = DeadlineStream(stream, idle_timeout)
    if isinstance(payload, SignedPayload):
        return BodyReader(_hashed(stream, payload.sha256))
    if isinstance(payload, ChunkedSignedPayload | ChunkedUnsignedPayload):
        trailers: dict[str, str] = {}
        return BodyReader(_AwsChunkedDecoder(stream, payload, trailers, max_chunk).pieces(), trailers)
    if isinstance(payload, UnsignedPayload):
        return BodyReader(_plain(stream))
    raise TypeError(f"unknown payload descriptor {payload!r}")
