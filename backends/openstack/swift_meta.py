"""How objects and containers are described in Swift: metadata headers, the stored Content-Type (which
also carries gateway-private metadata and the null-version mark), times, and listing entries.

- User metadata ↔ `X-Object-Meta-<name>` / `X-Container-Meta-<name>`. Swift's WSGI server silently drops
  header names with '_', so names are stored %-escaped ('_' → %5F, '%' → %25) and unescaped on the way back.
- Gateway-private metadata ↔ a `cloudgate=<url-encoded pairs, quoted again>` parameter on the stored
  Content-Type. Not `X-Object-Meta-*`: the gateway needs it in listings too (S3 lists the multipart ETag),
  and a Swift listing shows only name, hash, bytes, content_type and last_modified (SLO keeps its
  `swift_bytes` there the same way; the container-update override s3api uses is sysmeta, out of a client's
  reach). Readers get the caller's Content-Type back without it; a caller's Content-Type that names one
  of our parameters is refused (InvalidInput), so nobody can forge them.
- `cloudgate-null=1` on the Content-Type marks an object written while versioning was off: S3 calls it
  version "null" for life, while Swift gives it a fresh version id once versioning moves it aside.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from typing import Any

from backends import base
from backends.base import ObjectInfo

OBJ_META = "x-object-meta-"
CONT_META = "x-container-meta-"
PRIVATE_PARAM = "cloudgate"      # Content-Type parameter holding private metadata
NULL_PARAM = "cloudgate-null"    # Content-Type parameter marking S3's null version
NULL_VERSION = "null"
STANDARD_HEADERS = ("content-encoding", "content-disposition", "content-language", "cache-control", "expires")
DELETE_MARKER_TYPE = "application/x-deleted;swift_versions_deleted=1"
DEFAULT_TYPE = "application/octet-stream"


# ---- metadata names and values -------------------------------------------------------------------
def enc_name(name: str) -> str:
    return name.lower().replace("%", "%25").replace("_", "%5F")


def _dec_name(name: str) -> str:
    return urllib.parse.unquote(name)


def meta_headers(prefix: str, metadata: Mapping[str, str] | None) -> dict[str, str]:
    return {prefix + enc_name(name): str(value) for name, value in (metadata or {}).items()}


def split_meta(prefix: str, headers: Mapping[str, str]) -> dict[str, str]:
    """User metadata (lower-case names) from response headers."""
    return {_dec_name(raw.lower()[len(prefix):]): value for raw, value in headers.items()
            if raw.lower().startswith(prefix)}


def _params(content_type: str) -> list[tuple[str, str, str]]:
    """[(lower-case name, value, raw text)] of a Content-Type's parameters."""
    out = []
    for raw in content_type.split(";")[1:]:
        name, _, value = raw.strip().partition("=")
        out.append((name.lower(), value, raw))
    return out


def stored_content_type(content_type: str | None, private: Mapping[str, str] | None, null: bool = False) -> str:
    ctype = content_type or DEFAULT_TYPE
    if any(name in (PRIVATE_PARAM, NULL_PARAM) for name, _, _ in _params(ctype)):
        raise base.InvalidInput(f"content type {ctype!r} uses a reserved parameter")
    if null:
        ctype += f";{NULL_PARAM}=1"
    if private:
        # Quoted twice: Swift's listings re-parse parameters and cut a value at its second '='.
        pairs = urllib.parse.urlencode(sorted(private.items()), quote_via=urllib.parse.quote)
        ctype += f";{PRIVATE_PARAM}=" + urllib.parse.quote(pairs, safe="")
    return ctype


def split_content_type(stored: str) -> tuple[str, dict[str, str], bool]:
    """(the caller's Content-Type, private metadata, null-version mark) from a stored Content-Type;
    Swift's own swift_bytes parameter is dropped too."""
    keep = [stored.split(";", 1)[0]]
    private: dict[str, str] = {}
    null = False
    for name, value, raw in _params(stored):
        if name == PRIVATE_PARAM:
            private = dict(urllib.parse.parse_qsl(urllib.parse.unquote(value), keep_blank_values=True))
        elif name == NULL_PARAM:
            null = True
        elif name != "swift_bytes":
            keep.append(raw)
    return ";".join(keep), private, null


def object_headers(content_type: str | None, metadata: Mapping[str, str] | None,
                   private: Mapping[str, str] | None, headers: Mapping[str, str] | None,
                   null: bool = False) -> dict[str, str]:
    """What describes an object on a PUT/POST/COPY: content type (+ private), standard headers, metadata."""
    return {"Content-Type": stored_content_type(content_type, private, null), **standard(headers),
            **meta_headers(OBJ_META, metadata)}


def standard(headers: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for name, value in (headers or {}).items():
        if name.lower() not in STANDARD_HEADERS:
            raise base.InvalidInput(f"header {name!r} cannot be stored with an object")
        out[name.lower()] = value
    return out


# ---- times and etags -----------------------------------------------------------------------------
# Times are whole seconds, as S3 keeps them: a HEAD's Last-Modified, a listing's LastModified and the
# If-Modified-Since a client echoes back then all compare equal.
def from_timestamp(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(float(value)), dt.UTC) if value else None
    except ValueError:
        return None


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec"), 1)}


def from_http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    # Swift's exact IMF-fixdate ("Sun, 06 Dec 2026 09:40:45 GMT", every PUT answer) by slicing: strptime
    # costs ~10 us a call. Anything else, or out of range, goes to strptime.
    if len(value) == 29 and value[3:5] == ", " and value[25:] == " GMT" and value[8:11] in _MONTHS \
            and value.isascii() and (value[5:7] + value[12:16] + value[17:19] + value[20:22] + value[23:25]).isdigit():
        try:
            return dt.datetime(int(value[12:16]), _MONTHS[value[8:11]], int(value[5:7]), int(value[17:19]),
                               int(value[20:22]), int(value[23:25]), tzinfo=dt.UTC)
        except ValueError:
            pass
    try:
        return dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def from_listing(value: str) -> dt.datetime:
    # Swift listings: "2026-01-01T12:34:56.123456" (UTC, no zone)
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC, microsecond=0)


def etag_of(value: str | None) -> str:
    return (value or "").strip().strip('"')


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def object_info(key: str, headers: Mapping[str, str], size: int | None = None) -> ObjectInfo:
    """ObjectInfo from a GET/HEAD response's headers."""
    ctype, private, null = split_content_type(headers.get("Content-Type", DEFAULT_TYPE))
    version = headers.get("X-Object-Version-Id")
    modified = from_timestamp(headers.get("X-Timestamp")) or from_http_date(headers.get("Last-Modified"))
    return ObjectInfo(
        key=key,
        size=int(headers.get("Content-Length", 0)) if size is None else size,
        etag=etag_of(headers.get("Etag")),
        last_modified=modified or now(),
        content_type=ctype,
        metadata=split_meta(OBJ_META, headers), private=private,
        headers={h: headers[h] for h in STANDARD_HEADERS if h in headers},
        version_id=None if null or version == NULL_VERSION else version,
        manifest="X-Static-Large-Object" in headers,
    )


def listing_entry(entry: dict[str, Any], versions: bool) -> ObjectInfo:
    stored = entry.get("content_type", DEFAULT_TYPE)
    marker = stored == DELETE_MARKER_TYPE
    params = {name: value for name, value, _ in _params(stored)}
    ctype, private, null = (stored, {}, False) if marker else split_content_type(stored)
    version = entry.get("version_id") if versions else None
    slo_etag = entry.get("slo_etag")
    return ObjectInfo(
        key=entry["name"], size=0 if marker else int(params.get("swift_bytes", entry.get("bytes", 0))),
        etag=etag_of(slo_etag or entry.get("hash")),
        last_modified=from_listing(entry["last_modified"]),
        content_type=ctype, private=private,
        version_id=None if null or version == NULL_VERSION else version,
        is_latest=bool(entry.get("is_latest", True)),
        delete_marker=marker,
        manifest=slo_etag is not None or "swift_bytes" in params,
    )
