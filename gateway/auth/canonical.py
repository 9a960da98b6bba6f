"""Canonical forms shared by the signature versions: RFC 3986 encoding, paths, queries, headers.

Everything here works on the request exactly as received so that a byte the client signed is the byte
we hash: queries are decoded to bytes and re-encoded (never via str, which would lose invalid UTF-8).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from urllib.parse import quote, unquote, unquote_to_bytes

from multidict import CIMultiDict, CIMultiDictProxy


def uri_encode(value: str | bytes, *, keep_slash: bool = False) -> str:
    """AWS's UriEncode: every byte but A-Z a-z 0-9 - _ . ~ (and '/' for paths) becomes %XX."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return quote(value, safe="/" if keep_slash else "")


def normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal plus collapsing of empty segments, as SigV4 wants for non-S3 services."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    is_directory = path.endswith(("/", "/.", "/.."))
    if is_directory and normalized != "/":
        normalized += "/"
    return normalized


def canonical_uri(raw_path: str, *, s3: bool) -> str:
    """S3 signs the path as sent (already encoded once); other services normalize it and encode it again."""
    if s3:
        return raw_path or "/"
    return uri_encode(normalize_path(raw_path), keep_slash=True)


def _split_query(raw_query: str) -> Iterable[tuple[str, str]]:
    for part in raw_query.split("&"):
        if part:
            key, _, value = part.partition("=")
            yield key, value


def canonical_query(raw_query: str, *, exclude: Collection[str] = ()) -> str:
    """Sorted by encoded key, then encoded value; bare `key` becomes `key=`; `exclude` drops decoded keys."""
    pairs = []
    excluded = {name.encode() for name in exclude}
    for key, value in _split_query(raw_query):
        raw_key = unquote_to_bytes(key)
        if raw_key in excluded:
            continue
        pairs.append((uri_encode(raw_key), uri_encode(unquote_to_bytes(value))))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs in order; '+' stays '+' because AWS clients encode spaces as %20."""
    return [(unquote(key), unquote(value)) for key, value in _split_query(raw_query)]


def as_multidict(headers: object) -> CIMultiDictProxy[str] | CIMultiDict[str]:
    """Case-insensitive, multi-valued view of whatever header mapping the caller passed."""
    if isinstance(headers, CIMultiDictProxy | CIMultiDict):
        return headers
    return CIMultiDict(headers)  # type: ignore[arg-type]


def header_value(values: Iterable[str]) -> str:
    """Trimmed values with runs of whitespace (folded lines included) collapsed, joined by ','."""
    return ",".join(" ".join(value.split()) for value in values)


def canonical_headers(headers: CIMultiDictProxy[str] | CIMultiDict[str], names: Iterable[str]) -> str:
    """`name:value\\n` for each signed header, names lower-case; an absent header signs as empty."""
    return "".join(f"{name}:{header_value(headers.getall(name, []))}\n" for name in names)
