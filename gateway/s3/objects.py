"""Objects: PutObject, GetObject, HeadObject (DeleteObject(s) in deletes.py, CopyObject in copy.py).

Bodies stream both ways: PutObject hands the backend a `VerifiedBody` (digests checked before the last
byte is released, so a mismatch stores nothing); GetObject returns the backend's stream as `Body`.
Per-object state the backend can't hold lives in the object's extras: tags, ACL, and checksums that
only arrive at the end of the body (aws-chunked trailers), pinned to the ETag of the data they describe.
Checksums declared up front travel with the object itself (private metadata).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from backends import base
from backends.base import ObjectInfo

from ..context import RequestContext
from ..protocol import errors
from ..protocol.scalars import format_timestamp, to_datetime
from . import (
    acl,
    checksums,
    conditions,
    key_lease,
    lifecycle,
    meta_words,
    names,
    object_lock,
    ownership,
    put_order,
    sse,
    sse_stream,
)
from . import multipart_checksums as mp_checksums
from .buckets import check_expected_owner
from .checksums import ChecksumSpec, VerifiedBody, body_errors
from .common import backend_errors, get_object_extra, object_store, s3_handler, set_object_extra
from .listing import s3_etag
from .object_input import (
    DEFAULT_CONTENT_TYPE,
    PRIVATE_REDIRECT,
    content_headers,
    declared_size,
    redirect_private,
    refuse_unsupported_write,
    user_metadata,
)
from .tagging import parse_tagging_header
from .versioning import version_id_param

_HEADER_MEMBERS = {"cache-control": "CacheControl", "content-disposition": "ContentDisposition",
                   "content-encoding": "ContentEncoding", "content-language": "ContentLanguage"}
_OVERRIDES = {"ResponseCacheControl": "CacheControl", "ResponseContentDisposition": "ContentDisposition",
              "ResponseContentEncoding": "ContentEncoding", "ResponseContentLanguage": "ContentLanguage",
              "ResponseContentType": "ContentType", "ResponseExpires": "Expires"}


def object_checksums(info: ObjectInfo, extra: dict[str, Any]) -> dict[str, str]:
    """Output members for the checksums kept for this object (private metadata, or extras that were
    recorded for exactly this data)."""
    stored = dict(checksums.from_private(info.private))
    late = extra.get("checksums") or {}
    if not stored and late.get("etag") == info.etag:
        stored = checksums.from_private(checksums.to_private(late.get("values") or {}))
    return stored


def _extra_with(extra: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(extra)
    for k, v in changes.items():
        if v:
            out[k] = v
        else:
            out.pop(k, None)
    return out


# ---- PutObject ----------------------------------------------------------------------------------------
@s3_handler("PutObject", anonymous=True)
async def put_object(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key = p["Bucket"], p["Key"]
    names.check_bucket_name(bucket)
    names.check_key(key)
    refuse_unsupported_write(p, lock=True, sse=True)
    size = declared_size(ctx.request)
    spec = ChecksumSpec.from_request(p, ctx.request.headers)
    metadata, headers = user_metadata(p), content_headers(p)
    tags = parse_tagging_header(p["Tagging"]) if p.get("Tagging") is not None else []
    if_match, if_none_match = conditions.write_conditions(p)

    await acl.require(ctx, bucket, permission="WRITE")
    bucket_owner = await acl.resolve_owner(ctx, bucket)
    check_expected_owner(ctx, bucket_owner)
    acl_doc = await ownership.object_acl_for_write(ctx, bucket, bucket_owner)
    lock = await object_lock.for_new_version(ctx, bucket, p)
    crypt = await sse.for_write(ctx, bucket)
    store = await object_store(ctx)
    # A conditional write holds the key's lease from its check to its end (key_lease.py): atomic against
    # every other conditional request on the key, on any replica.
    async with key_lease.exclusive(ctx, bucket, key, wanted=if_match is not None or if_none_match is not None):
        if if_match is not None or if_none_match is not None:
            current = await _head_or_none(store, bucket, key)
            conditions.check_write(if_match, if_none_match, current, s3_etag(current) if current else None)
        return await _put(ctx, store, bucket, key, size=size, spec=spec, metadata=metadata, headers=headers,
                          tags=tags, acl_doc=acl_doc, lock=lock, crypt=crypt,
                          if_none_match=if_none_match is not None)


async def _put(ctx: RequestContext, store: base.ObjectStore, bucket: str, key: str, *, size: int | None,
               spec: ChecksumSpec, metadata: dict, headers: dict, tags: list, acl_doc: Any, lock: Any,
               crypt: Any, if_none_match: bool) -> dict:
    p = ctx.params
    private = redirect_private(p)
    if spec.expected is not None:  # known before the body: stored atomically with the object
        private.update(checksums.to_private({spec.algorithm: spec.expected}))
    body = VerifiedBody(ctx.body, spec, declared_size=size)
    stored_body, stored_size, md5 = body, size, spec.md5_hex
    # SSE-S3 shows the plaintext MD5 as ETag (as S3), digested beside the sealing; SSE-C's ETag is not it.
    plain_md5 = hashlib.md5() if crypt is not None and crypt.mode == "S3" else None
    if crypt is not None:  # ciphertext at rest; VerifiedBody checks Content-MD5 on the plaintext
        private.update(crypt.private)
        stored_body, md5 = crypt.seal(sse.md5_beside(body, plain_md5) if plain_md5 else body), None
        stored_size = None if size is None else sse_stream.ciphertext_size(size)
    if size == 0:  # the backend sends nothing for an empty object: verify its (empty) body here
        async for _ in body:
            pass
    # Registered in start order while it uploads: overlapping overwrites end with the one that completed
    # last (put_order.py).
    with body_errors(body), backend_errors(bucket=bucket, key=key):
        async with put_order.ordered(ctx, bucket, key):
            info = await store.put_object(bucket, key, stored_body, size=stored_size,
                                          content_type=p.get("ContentType") or DEFAULT_CONTENT_TYPE,
                                          metadata=metadata, private=private, headers=headers, md5=md5,
                                          if_none_match=if_none_match)
    late = {} if spec.expected is not None else dict(body.result.checksums)
    extra: dict[str, Any] = {}
    if tags:
        extra["tags"] = tags
    if acl_doc is not None:
        extra["acl"] = acl_doc
    if late:
        extra["checksums"] = {"etag": info.etag, "values": late}
    # An overwrite must not inherit the previous object's tags or ACL; a new version id has none to clear.
    if extra or info.version_id is None:
        await set_object_extra(ctx, bucket, key, info.version_id, extra or None)
    await object_lock.record(ctx, bucket, key, info.version_id, lock)
    out: dict[str, Any] = {"ETag": f'"{info.etag}"'}
    if crypt is not None:
        out["ETag"] = '"%s"' % await sse.record(ctx, bucket, info, crypt, size=body.result.size,
                                               md5_hex=plain_md5.hexdigest() if plain_md5 else None)
        out.update(crypt.output())
    out.update(checksums.from_private(checksums.to_private(body.result.checksums)))
    if info.version_id:
        out["VersionId"] = info.version_id
    out["Expiration"] = await lifecycle.expiration(ctx, bucket, info, tags)  # x-amz-expiration (lifecycle)
    return out


async def _head_or_none(store: base.ObjectStore, bucket: str, key: str) -> ObjectInfo | None:
    try:
        with backend_errors(bucket=bucket, key=key):
            return await store.head_object(bucket, key)
    except errors.NoSuchKey:
        return None


# ---- GetObject / HeadObject ------------------------------------------------------------------------------
def _output(ctx: RequestContext, info: ObjectInfo, extra: dict[str, Any], *, with_checksums: bool) -> dict:
    out: dict[str, Any] = {"ETag": s3_etag(info), "LastModified": info.last_modified, "ContentLength": info.size,
                           "ContentType": info.content_type or DEFAULT_CONTENT_TYPE,
                           "Metadata": {k: meta_words.encode(v) for k, v in info.metadata.items()}, "AcceptRanges": "bytes"}
    if info.version_id:
        out["VersionId"] = info.version_id
    for name, member in _HEADER_MEMBERS.items():
        if info.headers.get(name):
            out[member] = info.headers[name]
    expires = info.headers.get("expires")
    if expires:
        try:
            out["Expires"] = to_datetime(expires)
        except (ValueError, TypeError, OverflowError):
            ctx.response_headers["Expires"] = expires  # stored as the client sent it
    if info.private.get(PRIVATE_REDIRECT):
        out["WebsiteRedirectLocation"] = info.private[PRIVATE_REDIRECT]
    if extra.get("tags"):
        out["TagCount"] = len(extra["tags"])
    if with_checksums:
        out.update(object_checksums(info, extra))
    for param, member in _OVERRIDES.items():
        value = ctx.params.get(param)
        if value is not None:
            if member == "Expires":
                ctx.response_headers.pop("Expires", None)
            out[member] = value
    return out


def _checksum_mode(ctx: RequestContext) -> bool:
    mode = ctx.params.get("ChecksumMode")
    if mode is not None and mode != "ENABLED":
        raise errors.InvalidArgument("Invalid value for x-amz-checksum-mode", ArgumentName="x-amz-checksum-mode",
                                     ArgumentValue=mode)
    return mode == "ENABLED"


async def _read_prologue(ctx: RequestContext) -> tuple[str, str, str | None]:
    p = ctx.params
    bucket, key, version_id = p["Bucket"], p["Key"], version_id_param(p.get("VersionId"))
    names.check_bucket_name(bucket)
    if ctx.identity is None and any(p.get(k) is not None for k in _OVERRIDES):
        raise errors.InvalidRequest("Request specific response headers cannot be used for anonymous GET "
                                    "requests.")
    if p.get("PartNumber") is not None and p.get("Range"):
        raise errors.InvalidRequest("Cannot specify both Range header and partNumber query parameter")
    await acl.require(ctx, bucket, key, "READ", version_id=version_id)
    check_expected_owner(ctx, await acl.resolve_owner(ctx, bucket))
    return bucket, key, version_id


def _check_part_bounds(part_number: int) -> None:
    if part_number < 1 or part_number > 10_000:
        raise errors.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                                     ArgumentName="partNumber", ArgumentValue=str(part_number))


def _check_part_number(info: ObjectInfo, part_number: int) -> None:
    """partNumber on an object that was not uploaded in parts: part 1 is the whole object."""
    _check_part_bounds(part_number)
    if mp_checksums.is_multipart(info):  # completed before part layouts were kept
        raise errors.S3NotImplemented("GetObject by partNumber of this multipart object is not supported.")
    if part_number != 1:
        raise errors.InvalidPartNumber(PartNumberRequested=part_number, ActualPartCount=1)


async def _locate_part(ctx: RequestContext, info: ObjectInfo, bucket: str) -> mp_checksums.PartRead | None:
    """The byte range of the part ?partNumber= names in a multipart object (None: not multipart, or no
    layout kept), once the read's conditions hold."""
    number = ctx.params["PartNumber"]
    _check_part_bounds(number)
    if not mp_checksums.is_multipart(info):
        return None
    _check_conditions(ctx, info)
    return await mp_checksums.locate_part(ctx, bucket, info, number)


def _part_output(ctx: RequestContext, out: dict[str, Any], part: mp_checksums.PartRead, size: int, *,
                 with_checksums: bool) -> None:
    """206 with the part's bytes, the object's part count, and the part's own checksum (never the
    object's: an SDK would validate the part's body against it)."""
    if part.last >= part.first:
        ctx.response_status = 206
        out["ContentRange"] = f"bytes {part.first}-{part.last}/{size}"
    out["ContentLength"] = part.last - part.first + 1  # an empty (last) part: 200, no range to show
    out["PartsCount"] = part.count
    if with_checksums:
        out.update(part.checksum)


def _whole_as_part(ctx: RequestContext, out: dict[str, Any], size: int) -> None:
    """partNumber=1 of an object not uploaded in parts is a range over all of it: 206 with its
    Content-Range (as S3; an empty object has no range to show)."""
    if size > 0:
        ctx.response_status = 206
        out["ContentRange"] = f"bytes 0-{size - 1}/{size}"


def _not_modified_headers(ctx: RequestContext, info: ObjectInfo) -> None:
    # A 304 still tells the client what it has (RFC 7232 §4.1).
    ctx.response_headers["ETag"] = s3_etag(info)
    ctx.response_headers["Last-Modified"] = format_timestamp(info.last_modified, "rfc822")


@contextlib.asynccontextmanager
async def _delete_markers(ctx: RequestContext, store: base.ObjectStore, bucket: str, key: str,
                          version_id: str | None) -> AsyncIterator[None]:
    """S3 says when a 404 is a delete marker (x-amz-delete-marker, x-amz-version-id), and answers
    MethodNotAllowed (405) for a GET/HEAD of the marker's own version. Looked up on the 404 path only."""
    try:
        yield
    except (errors.NoSuchKey, errors.NoSuchVersion):
        marker = await find_delete_marker(store, bucket, key, version_id)
        if marker is None:
            raise
        ctx.response_headers["x-amz-delete-marker"] = "true"
        if marker.version_id:
            ctx.response_headers["x-amz-version-id"] = marker.version_id
        if version_id is None:
            raise
        ctx.response_headers["Last-Modified"] = format_timestamp(marker.last_modified, "rfc822")
        raise errors.MethodNotAllowed(Method=ctx.request.method, ResourceType="DeleteMarker") from None


async def find_delete_marker(store: base.ObjectStore, bucket: str, key: str,
                              version_id: str | None) -> ObjectInfo | None:
    try:
        if not await store.may_hold_delete_markers(bucket):  # never versioned: no listing to ask
            return None
        # The latest entry comes first: one is enough for it; a named version may be further down.
        listing = await store.list_objects(bucket, prefix=key, versions=True, limit=1 if version_id is None else 1000)
    except base.BackendError:
        return None
    for entry in listing.objects:  # a key's versions come first among keys it prefixes, newest first
        if entry.key != key:
            break
        if version_id is None:
            return entry if entry.is_latest and entry.delete_marker else None
        if entry.version_id == version_id:
            return entry if entry.delete_marker else None
    return None


def _check_conditions(ctx: RequestContext, info: ObjectInfo) -> None:
    try:
        conditions.check_read(ctx.params, info, s3_etag(info))
    except errors.NotModified:
        _not_modified_headers(ctx, info)
        raise


@s3_handler("GetObject", anonymous=True)
async def get_object(ctx: RequestContext) -> dict:
    bucket, key, version_id = await _read_prologue(ctx)
    p = ctx.params
    with_checksums = _checksum_mode(ctx)
    range_header = p.get("Range")
    rng = conditions.parse_range(range_header)
    store = await object_store(ctx)
    part = head = None
    if p.get("PartNumber") is not None:  # a part of a multipart object: its byte range, read as a Range
        async with _delete_markers(ctx, store, bucket, key, version_id):
            with backend_errors(bucket=bucket, key=key, version_id=version_id):
                head = await store.head_object(bucket, key, version_id=version_id)
        part = await _locate_part(ctx, head, bucket)
        if part is not None and part.last >= part.first:
            rng, range_header = (part.first, part.last), f"bytes={part.first}-{part.last}"
        elif part is not None:  # an empty (last) part: read the byte before it (if any), send none
            rng = None if part.first == 0 else (part.first - 1, part.first - 1)
            range_header = None if rng is None else f"bytes={part.first - 1}-{part.first - 1}"
    try:
        async with _delete_markers(ctx, store, bucket, key, version_id):
            with backend_errors(bucket=bucket, key=key, version_id=version_id):
                info, resolved, body, encryption = await sse.get_object(ctx, store, bucket, key, version_id,
                                                                        rng, range_header)
    except errors.InvalidRange as e:
        if conditions.has_read_conditions(p):  # a failed condition outranks an unsatisfiable range
            with backend_errors(bucket=bucket, key=key, version_id=version_id):
                _check_conditions(ctx, await store.head_object(bucket, key, version_id=version_id))
        raise conditions.invalid_range(range_header, e.extra.get("ActualObjectSize", 0)) from None
    try:
        if head is not None and part is not None and info.etag != head.etag:
            raise errors.S3ServiceUnavailable("The object changed while it was read; retry.")
        _check_conditions(ctx, info)
        if p.get("PartNumber") is not None and part is None:
            _check_part_number(info, p["PartNumber"])
        extra = await get_object_extra(ctx, bucket, key, info.version_id)
        # A checksum describes the whole object: never sent with a part of it.
        out = _output(ctx, info, extra, with_checksums=with_checksums and resolved is None)
        out.update(encryption)
        out.update(await object_lock.read_output(ctx, bucket, key, info.version_id))
        out["Expiration"] = await lifecycle.expiration(ctx, bucket, info, extra.get("tags", []))  # lifecycle
    except BaseException:
        with contextlib.suppress(Exception):
            await body.aclose()  # type: ignore[attr-defined]
        raise
    if part is not None:
        _part_output(ctx, out, part, info.size, with_checksums=with_checksums)
        if part.last < part.first:
            with contextlib.suppress(Exception):
                await body.aclose()  # type: ignore[attr-defined]
            body = _no_bytes()
    elif p.get("PartNumber") is not None:
        _whole_as_part(ctx, out, info.size)
    elif rng is not None and resolved is not None:
        ctx.response_status = 206
        out["ContentRange"] = conditions.content_range(resolved)
        out["ContentLength"] = resolved.last - resolved.first + 1
    out["Body"] = body
    return out


async def _no_bytes() -> AsyncIterator[bytes]:
    for piece in ():
        yield piece


@s3_handler("HeadObject", anonymous=True)
async def head_object(ctx: RequestContext) -> dict:
    bucket, key, version_id = await _read_prologue(ctx)
    p = ctx.params
    with_checksums = _checksum_mode(ctx)
    store = await object_store(ctx)
    async with _delete_markers(ctx, store, bucket, key, version_id):
        with backend_errors(bucket=bucket, key=key, version_id=version_id):
            info = await store.head_object(bucket, key, version_id=version_id)
    crypt = sse.opener(ctx, info)
    if crypt is not None:
        await sse.present(ctx, bucket, info)
    _check_conditions(ctx, info)
    part = None
    if p.get("PartNumber") is not None:
        part = await _locate_part(ctx, info, bucket)
        if part is None:
            _check_part_number(info, p["PartNumber"])
    extra = await get_object_extra(ctx, bucket, key, info.version_id)
    rng = conditions.parse_range(p.get("Range"))
    out = _output(ctx, info, extra, with_checksums=with_checksums and rng is None and part is None)
    if crypt is not None:
        out.update(crypt.output())
    out.update(await object_lock.read_output(ctx, bucket, key, info.version_id))
    out["Expiration"] = await lifecycle.expiration(ctx, bucket, info, extra.get("tags", []))  # lifecycle
    if part is not None:
        _part_output(ctx, out, part, info.size, with_checksums=with_checksums)
    elif p.get("PartNumber") is not None:
        _whole_as_part(ctx, out, info.size)
    elif rng is not None:
        resolved = conditions.resolve_range(rng, info.size, p["Range"])
        ctx.response_status = 206
        out["ContentRange"] = conditions.content_range(resolved)
        out["ContentLength"] = resolved.last - resolved.first + 1
    return out
