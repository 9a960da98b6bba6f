"""A streaming multipart/form-data reader (RFC 7578), for S3's browser-based POST uploads.

Memory stays bounded whatever the body: part headers are capped (`MAX_HEADER_BYTES`), field values are
read with a caller-given cap, and a part's data streams out in pieces of at most `READ_SIZE` plus one
delimiter's length held back (a delimiter can straddle two reads). Only `stream.read(n)` is called.

Framing errors raise `FormDataError`; the caller turns them into its protocol's error (S3's
MalformedPOSTRequest). The reader knows nothing of S3.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

READ_SIZE = 64 * 1024
MAX_HEADER_BYTES = 8 * 1024  # one part's header block (Content-Disposition, Content-Type)
MAX_BOUNDARY = 70            # RFC 2046 §5.1.1

_PARAM = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class Stream(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class FormDataError(ValueError):
    """The body is not well-formed multipart/form-data."""


class FieldTooLarge(FormDataError):  # noqa: N818 - a kind of FormDataError, named for its cause
    """A field value is longer than the cap its reader asked for."""


@dataclass(frozen=True)
class Part:
    name: str                  # the form field name, as sent
    filename: str | None       # present for file inputs (browsers send it for every <input type=file>)
    content_type: str | None
    header_bytes: int          # size of the part's header block on the wire


def boundary_of(content_type: str | None) -> str | None:
    """The boundary parameter of a `multipart/form-data` Content-Type, or None when it is another type or
    the boundary is missing or invalid."""
    if not content_type:
        return None
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for name, value in _params(";" + params):
        if name == "boundary" and 0 < len(value) <= MAX_BOUNDARY and value.isascii():
            return value
    return None


def _params(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _PARAM.finditer(text):
        value = m.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            # Only an escaped quote is unescaped: browsers send Windows paths with bare backslashes.
            value = value[1:-1].replace('\\"', '"')
        out.append((m.group(1).lower(), value))
    return out


def _disposition(value: str) -> tuple[str, str | None]:
    kind, _, rest = value.partition(";")
    if kind.strip().lower() != "form-data":
        raise FormDataError("part is not form-data")
    params = dict(_params(";" + rest))
    if "name" not in params:
        raise FormDataError("part has no name")
    filename = params.get("filename")
    extended = params.get("filename*")
    if extended:  # RFC 5987: charset'lang'percent-encoded
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        try:
            filename = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            raise FormDataError("bad filename*") from None
    return params["name"], filename


class FormDataReader:
    """Parts one after another: `await next_part()`, then the part's data with `read_value(cap)` (a small
    field) or `async for piece in data()` (a file). `next_part()` skips what is left of the current part."""

    def __init__(self, stream: Stream, boundary: str) -> None:
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary.encode("ascii")
        self._buffer = bytearray(b"\r\n")  # the first delimiter has no CRLF before it: pretend it had
        self._eof = False
        self._started = False   # the first delimiter (after the preamble) was read
        self._in_part = False   # inside a part's data (its end delimiter not yet consumed)
        self._finished = False  # the close delimiter was read
        self.consumed = 0       # body bytes taken from the stream so far

    @property
    def finished(self) -> bool:
        return self._finished

    async def _fill(self) -> bool:
        if self._eof:
            return False
        data = await self._stream.read(READ_SIZE)
        if not data:
            self._eof = True
            return False
        self.consumed += len(data)
        self._buffer += data
        return True

    async def next_part(self) -> Part | None:
        """The next part's headers, or None after the close delimiter."""
        if self._finished:
            return None
        if self._in_part:
            async for _ in self.data():
                pass
        elif not self._started:  # the preamble up to the first delimiter
            self._started = True
            while (at := self._buffer.find(self._delimiter)) < 0:
                del self._buffer[:max(0, len(self._buffer) - len(self._delimiter))]
                if not await self._fill():
                    raise FormDataError("no boundary delimiter")
            del self._buffer[:at + len(self._delimiter)]
        if await self._after_delimiter():
            return None
        return await self._headers()

    async def _after_delimiter(self) -> bool:
        """After `--boundary`: `--` closes the form (True); else optional whitespace then CRLF."""
        while len(self._buffer) < 2:
            if not await self._fill():
                raise FormDataError("truncated after a delimiter")
        if self._buffer[:2] == b"--":
            self._finished = True
            self._buffer.clear()  # the epilogue is ignored
            return True
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > 256 or not await self._fill():
                raise FormDataError("bad delimiter line")
        if self._buffer[:end].strip(b" \t"):
            raise FormDataError("bad delimiter line")
        del self._buffer[:end + 2]
        return False

    async def _headers(self) -> Part:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if self._buffer.startswith(b"\r\n"):  # a part without headers
                end = -2
                break
            if len(self._buffer) > MAX_HEADER_BYTES or not await self._fill():
                raise FormDataError("part headers too long or truncated")
        if end > MAX_HEADER_BYTES:
            raise FormDataError("part headers too long")
        block = bytes(self._buffer[:max(end, 0)])
        del self._buffer[:end + 4]
        name = filename = content_type = None
        for line in block.split(b"\r\n") if block else ():
            key, sep, value = line.decode("utf-8", "replace").partition(":")
            if not sep:
                raise FormDataError("malformed part header")
            key, value = key.strip().lower(), value.strip()
            if key == "content-disposition":
                name, filename = _disposition(value)
            elif key == "content-type":
                content_type = value
        if name is None:
            raise FormDataError("part without Content-Disposition")
        self._in_part = True
        return Part(name, filename, content_type, len(block) + 4)

    async def data(self) -> AsyncIterator[bytes]:
        """The current part's data in pieces; ends at its delimiter (FormDataError if the body ends first)."""
        keep = len(self._delimiter) - 1
        while self._in_part:
            at = self._buffer.find(self._delimiter)
            if at >= 0:
                piece = self._take(at)
                del self._buffer[:len(self._delimiter)]
                self._in_part = False
                if piece:
                    yield piece
                return
            if len(self._buffer) > keep:
                yield self._take(len(self._buffer) - keep)
            if not await self._fill():
                raise FormDataError("body ended inside a part")

    def _take(self, n: int) -> bytes:
        """The first n buffered bytes, copied once (a slice of a bytearray would copy twice)."""
        with memoryview(self._buffer) as view:
            piece = bytes(view[:n])
        del self._buffer[:n]
        return piece

    async def read_value(self, limit: int) -> bytes:
        """The whole current part, FieldTooLarge beyond `limit` bytes (never buffering past it)."""
        parts, size = [], 0
        async for piece in self.data():
            size += len(piece)
            if size > limit:
                raise FieldTooLarge(f"field longer than {limit} bytes")
            parts.append(piece)
        return b"".join(parts)
