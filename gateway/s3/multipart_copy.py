"""UploadPartCopy: a part made from (a byte range of) an existing object.

A whole plain object is copied server-side (`ObjectStore.copy_object`). A byte range, a segmented
(multipart) source, or a source in another account's storage streams through the gateway instead, one
backend chunk at a time: Swift's COPY takes no range, and copying a manifest server-side could store a
manifest rather than bytes, whose etag would not be the part's MD5.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote

from backends.base import ObjectStore

from ..context import RequestContext
from ..protocol import errors
from . import acl, conditions, object_input
from . import multipart_state as state
from .common import backend_errors, object_store, s3_handler
from .multipart import ensure_open, open_upload, part_number, put_part

_RANGE = re.compile(r"bytes=(\d+)-(\d+)\Z")
_RANGE_FORM = ("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last "
               "are the zero-based offsets of the first and last bytes to copy")


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """`[/]bucket/key[?versionId=v]` (URL-encoded) -> (bucket, key, version id)."""
    path, _, query = value.strip().partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    version_id = None
    if query:
        versions = parse_qs(query, keep_blank_values=True).get("versionId")
        if versions is not None:
            version_id = versions[0]
            if not version_id:
                raise errors.InvalidArgument("Version id cannot be the empty string",
                                             ArgumentName="versionId", ArgumentValue="")
    if not bucket or not key:
        raise errors.InvalidArgument("Copy Source must mention the source bucket and key: "
                                     "sourcebucket/sourcekey", ArgumentName="x-amz-copy-source",
                                     ArgumentValue=value)
    return bucket, key, version_id


def parse_copy_range(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = _RANGE.match(value.strip())
    if m is None or int(m.group(1)) > int(m.group(2)):
        raise errors.InvalidArgument(_RANGE_FORM, ArgumentName="x-amz-copy-source-range", ArgumentValue=value)
    return int(m.group(1)), int(m.group(2))


async def _stores(ctx: RequestContext, owner_id: str, src_bucket: str, src_key: str,
                  src_version: str | None) -> tuple[ObjectStore, ObjectStore]:
    """(source store, destination store). Access to the destination is already checked."""
    await acl.require(ctx, src_bucket, src_key, "READ", version_id=src_version,
                      action="s3:GetObjectVersion" if src_version else "s3:GetObject")
    src_owner = await acl.resolve_owner(ctx, src_bucket)
    if src_owner == owner_id:
        store = await object_store(ctx)
        return store, store
    await acl.act_as_owner(ctx, src_owner)
    src_store = await object_store(ctx)
    await acl.act_as_owner(ctx, owner_id)
    return src_store, await object_store(ctx)


@s3_handler("UploadPartCopy", anonymous=True)
async def upload_part_copy(ctx: RequestContext) -> dict:
    p = ctx.params
    number = part_number(p)
    object_input.refuse_sse(p)
    src_bucket, src_key, src_version = parse_copy_source(p["CopySource"])
    wanted = parse_copy_range(p.get("CopySourceRange"))
    upload, _ = await open_upload(ctx, "WRITE")
    src_store, dst_store = await _stores(ctx, upload.account, src_bucket, src_key, src_version)
    with backend_errors(bucket=src_bucket, key=src_key, version_id=src_version):
        source = await src_store.head_object(src_bucket, src_key, version_id=src_version)
    if source.delete_marker:
        if src_version is not None:
            raise errors.InvalidRequest("The source of a copy request may not specifically refer to a delete "
                                        "marker by version id.")
        raise errors.NoSuchKey(Key=src_key)
    conditions.check_copy_source(p, source, source.private.get(state.PRIVATE_ETAG) or source.etag)
    if wanted is not None and wanted[1] >= source.size:
        raise errors.InvalidArgument(f"Range specified is not valid for source object of size: {source.size}",
                                     ArgumentName="x-amz-copy-source-range", ArgumentValue=p["CopySourceRange"])
    first, last = wanted if wanted is not None else (0, source.size - 1)
    if last - first + 1 > state.MAX_PART_SIZE:
        raise errors.InvalidRequest("The specified copy source is larger than the maximum allowable size for a "
                                    f"copy source: {state.MAX_PART_SIZE}")
    if wanted is None and not source.manifest and src_store is dst_store:
        with backend_errors(bucket=src_bucket, key=src_key, version_id=src_version):
            info = await dst_store.copy_object(src_bucket, src_key, upload.segments, upload.part(number),
                                               src_version_id=src_version,
                                               content_type="application/octet-stream", metadata={},
                                               private={}, headers={})
    elif source.size == 0:
        info = await put_part(dst_store, upload, number, _nothing(), 0)
    else:
        with backend_errors(bucket=src_bucket, key=src_key, version_id=src_version):
            _, _, body = await src_store.get_object(src_bucket, src_key, version_id=source.version_id
                                                    if src_version is not None else None,
                                                    byte_range=(first, last))
        try:
            info = await put_part(dst_store, upload, number, body, last - first + 1)
        finally:
            await body.aclose()
    await ensure_open(ctx, dst_store, upload, number)
    out: dict[str, Any] = {"CopyPartResult": {"ETag": f'"{info.etag}"', "LastModified": info.last_modified}}
    if source.version_id is not None:
        out["CopySourceVersionId"] = source.version_id
    return out


async def _nothing():
    for chunk in ():
        yield chunk
