"""Conditional requests and byte ranges, with S3's precedence rules.

Reads (GetObject/HeadObject), as S3 documents after RFC 7232: If-Match decides alone when present
(If-Unmodified-Since is then ignored), else If-Unmodified-Since; a failure is 412 PreconditionFailed.
Then If-None-Match decides alone when present (If-Modified-Since ignored), else If-Modified-Since; a
failure is 304 Not Modified. CopyObject's x-amz-copy-source-if-* follow the same pairing, but every failure
is 412. Ranges: one `bytes=` range (first-last, first-, -suffix); anything else — several ranges, another
unit, bad syntax — is ignored and the whole object returned, as S3 does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from backends.base import ByteRange, ObjectInfo

from ..protocol import errors

_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*\Z", re.IGNORECASE)


def _normal(etag: str) -> str:
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')


def etag_matches(header: str, etag: str) -> bool:
    """An If-Match / If-None-Match value (`*`, one ETag or a comma-separated list, quoted or not)."""
    if header.strip() == "*":
        return True
    target = _normal(etag)
    return any(_normal(candidate) == target for candidate in header.split(","))


def _seconds(value: dt.datetime) -> dt.datetime:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _modified_since(info: ObjectInfo, when: dt.datetime) -> bool:
    return _seconds(info.last_modified) > _seconds(when)


def _in_future(when: dt.datetime) -> bool:
    return _seconds(when) > dt.datetime.now(dt.UTC)


def check_read(params: Mapping[str, Any], info: ObjectInfo, etag: str) -> None:
    """GetObject/HeadObject conditions: PreconditionFailed (412) or NotModified (304)."""
    if_match, if_unmodified = params.get("IfMatch"), params.get("IfUnmodifiedSince")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise errors.PreconditionFailed(Condition="If-Match")
    elif if_unmodified is not None and _modified_since(info, if_unmodified):
        raise errors.PreconditionFailed(Condition="If-Unmodified-Since")
    if_none_match, if_modified = params.get("IfNoneMatch"), params.get("IfModifiedSince")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            raise errors.NotModified()
    elif if_modified is not None and not _in_future(if_modified) and not _modified_since(info, if_modified):
        raise errors.NotModified()


def has_read_conditions(params: Mapping[str, Any]) -> bool:
    return any(params.get(k) is not None for k in ("IfMatch", "IfNoneMatch", "IfModifiedSince",
                                                    "IfUnmodifiedSince"))


def check_copy_source(params: Mapping[str, Any], info: ObjectInfo, etag: str) -> None:
    """CopyObject/UploadPartCopy source conditions: every failure is PreconditionFailed (412)."""
    if_match, if_unmodified = params.get("CopySourceIfMatch"), params.get("CopySourceIfUnmodifiedSince")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-Match")
    elif if_unmodified is not None and _modified_since(info, if_unmodified):
        raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-Unmodified-Since")
    if_none_match, if_modified = params.get("CopySourceIfNoneMatch"), params.get("CopySourceIfModifiedSince")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")
    elif if_modified is not None and not _in_future(if_modified) and not _modified_since(info, if_modified):
        raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-Modified-Since")


def check_write_if_match(if_match: str, info: ObjectInfo | None, etag: str | None) -> None:
    """PutObject/DeleteObject If-Match: NoSuchKey when there is no object, 412 when the ETag differs."""
    if info is None or etag is None:
        raise errors.NoSuchKey()
    if not etag_matches(if_match, etag):
        raise errors.PreconditionFailed(Condition="If-Match")


def check_write(if_match: str | None, if_none_match: str | None, info: ObjectInfo | None,
                etag: str | None) -> None:
    """PutObject/CopyObject/CompleteMultipartUpload destination conditions against what the key holds now
    (`info` None: nothing, or a delete marker): If-None-Match: * wants nothing there (412), If-Match wants
    that ETag there (NoSuchKey when nothing, 412 when another)."""
    if if_none_match is not None and info is not None:
        raise errors.PreconditionFailed(Condition="If-None-Match")
    if if_match is not None:
        check_write_if_match(if_match, info, etag)


def write_conditions(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(If-Match, If-None-Match) of a write; If-None-Match takes only `*` (NotImplemented otherwise, as S3)."""
    if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise errors.S3NotImplemented("Only If-None-Match: * is supported for writes.", Header="If-None-Match")
    return if_match, if_none_match


# ---- ranges -------------------------------------------------------------------------------------------
def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """`bytes=a-b` → (a, b); `bytes=a-` → (a, None); `bytes=-n` → (None, n); None = whole object."""
    if not header:
        return None
    m = _RANGE.match(header)
    if m is None:  # several ranges, another unit or bad syntax: S3 ignores the header
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if first and last and int(last) < int(first):
        return None
    return (int(first) if first else None, int(last) if last else None)


def resolve_range(rng: tuple[int | None, int | None], size: int, header: str) -> ByteRange:
    """The bytes a range selects in an object of `size` bytes; InvalidRange (416) when none."""
    first, last = rng
    if first is None:  # suffix
        if not last or size == 0:
            raise invalid_range(header, size)
        return ByteRange(max(0, size - last), size - 1, size)
    if first >= size:
        raise invalid_range(header, size)
    return ByteRange(first, size - 1 if last is None else min(last, size - 1), size)


def invalid_range(header: str | None, size: int) -> errors.AwsError:
    return errors.InvalidRange(RangeRequested=header, ActualObjectSize=size)


def content_range(r: ByteRange) -> str:
    return f"bytes {r.first}-{r.last}/{r.size}"
