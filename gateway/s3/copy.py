"""CopyObject: a server-side copy in the backend (data never passes through the gateway).

x-amz-copy-source is `bucket/key[?versionId=v]`, URL-encoded (a `?` in a key arrives as %3F). The
source must be readable by the caller and at most 5 GiB; copy-source conditions answer 412. Metadata:
COPY (default) keeps the source's metadata and content headers, REPLACE takes the request's. Tags:
TaggingDirective COPY (default) carries the source's, REPLACE takes x-amz-tagging. ACLs are never copied.
Copying an object onto itself is only legal when it changes something (REPLACE), as in S3.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

from ..context import RequestContext
from ..protocol import errors
from . import acl, checksums, conditions, key_lease, names, object_lock, ownership, put_order, sse, sse_copy
from .buckets import check_expected_owner
from .checksums import MAX_OBJECT_SIZE
from .common import backend_errors, get_object_extra, object_store, s3_handler, set_object_extra
from .listing import s3_etag
from .object_input import (
    DEFAULT_CONTENT_TYPE,
    PRIVATE_REDIRECT,
    content_headers,
    redirect_private,
    refuse_unsupported_write,
    user_metadata,
)
from .objects import object_checksums
from .tagging import parse_tagging_header
from .versioning import version_id_param

_SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing "
              "the object's metadata, storage class, website redirect location or encryption attributes.")
_BAD_SOURCE = "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) from an x-amz-copy-source header."""
    text = value.strip()
    if text.startswith("arn:"):
        raise errors.S3NotImplemented("Access point and Outposts copy sources are not supported.",
                                      Header="x-amz-copy-source")
    path, sep, query = text.partition("?")
    version_id = None
    if sep:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k != "versionId" for k, _ in pairs):
            raise errors.InvalidArgument(_BAD_SOURCE, ArgumentName="x-amz-copy-source", ArgumentValue=value)
        version_id = pairs[0][1] if pairs else None
        if version_id == "":
            raise errors.InvalidArgument("Invalid version id specified", ArgumentName="x-amz-copy-source",
                                         ArgumentValue=value)
    bucket, _, key = unquote(path, errors="strict").lstrip("/").partition("/")
    if not bucket or not key:
        raise errors.InvalidArgument(_BAD_SOURCE, ArgumentName="x-amz-copy-source", ArgumentValue=value)
    return bucket, key, version_id


def _directive(params: dict[str, Any], member: str, header: str) -> str:
    value = params.get(member) or "COPY"
    if value not in ("COPY", "REPLACE"):
        raise errors.InvalidArgument(f"Unknown {'metadata' if member == 'MetadataDirective' else 'tagging'} "
                                     "directive.", ArgumentName=header, ArgumentValue=value)
    return value


@s3_handler("CopyObject", anonymous=True)
async def copy_object(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key = p["Bucket"], p["Key"]
    names.check_bucket_name(bucket)
    names.check_key(key)
    refuse_unsupported_write(p, lock=True, sse=True)
    try:
        src_bucket, src_key, src_version = parse_copy_source(p["CopySource"])
    except UnicodeDecodeError:
        raise errors.InvalidArgument(_BAD_SOURCE, ArgumentName="x-amz-copy-source",
                                     ArgumentValue=p["CopySource"]) from None
    names.check_bucket_name(src_bucket)
    src_version = version_id_param(src_version)
    metadata_directive = _directive(p, "MetadataDirective", "x-amz-metadata-directive")
    tagging_directive = _directive(p, "TaggingDirective", "x-amz-tagging-directive")
    replace = metadata_directive == "REPLACE"
    metadata = user_metadata(p) if replace else None
    tags_given = parse_tagging_header(p.get("Tagging") or "") if tagging_directive == "REPLACE" else None

    await acl.require(ctx, src_bucket, src_key, "READ", version_id=src_version,
                      action="s3:GetObjectVersion" if src_version else "s3:GetObject")
    src_owner = await acl.resolve_owner(ctx, src_bucket)
    await acl.require(ctx, bucket, permission="WRITE")
    dst_owner = await acl.resolve_owner(ctx, bucket)
    if src_owner != dst_owner:
        # The backend copies within one account; a cross-account copy would stream through the gateway.
        raise errors.S3NotImplemented("Copying between buckets of different owners is not supported.")
    check_expected_owner(ctx, dst_owner)
    expected_source_owner = p.get("ExpectedSourceBucketOwner")
    if expected_source_owner is not None and expected_source_owner != src_owner:
        raise errors.AccessDenied()
    acl_doc = await ownership.object_acl_for_write(ctx, bucket, dst_owner)
    lock = await object_lock.for_new_version(ctx, bucket, p, integrity=False)
    store = await object_store(ctx)

    with backend_errors(bucket=src_bucket, key=src_key, version_id=src_version):
        source = await store.head_object(src_bucket, src_key, version_id=src_version)
    src_crypt = sse.opener(ctx, source, copy_source=True)  # the source's SSE-C key, checked
    src_rec = await sse.present(ctx, src_bucket, source) if src_crypt is not None else None
    dst_crypt = await sse.for_write(ctx, bucket)
    conditions.check_copy_source(p, source, s3_etag(source))
    if source.size > MAX_OBJECT_SIZE:
        raise errors.InvalidRequest("The specified copy source is larger than the maximum allowable size for "
                                    f"a copy source: {MAX_OBJECT_SIZE}")
    same_object = (src_bucket, src_key) == (bucket, key) and src_version in (None, source.version_id)
    if same_object and not replace and not p.get("WebsiteRedirectLocation") and not p.get("StorageClass") \
            and not sse.requested(ctx):
        raise errors.InvalidRequest(_SELF_COPY)
    if_match, if_none_match = conditions.write_conditions(p)
    # Destination conditions are checked, and the copy made, under the key's lease (key_lease.py).
    async with key_lease.exclusive(ctx, bucket, key, wanted=if_match is not None or if_none_match is not None):
        await _check_destination(store, bucket, key, if_match, if_none_match)

        src_extra = await get_object_extra(ctx, src_bucket, src_key, source.version_id)
        src_sums = object_checksums(source, src_extra)
        algorithm = p.get("ChecksumAlgorithm")
        if algorithm is not None and f"Checksum{str(algorithm).upper()}" not in src_sums:
            raise errors.S3NotImplemented("Computing a new checksum during a copy is not supported.",
                                          Header="x-amz-checksum-algorithm")
        # Full-object checksums describe the copied bytes; a multipart source's ETag and composite
        # checksums do not (the copy is one plain object).
        private = {checksums.PRIVATE_PREFIX + member[len("Checksum"):].lower(): value
                   for member, value in src_sums.items() if member != "ChecksumType" and "-" not in value}
        if replace:
            private.update(redirect_private(p))
        elif source.private.get(PRIVATE_REDIRECT):
            private[PRIVATE_REDIRECT] = source.private[PRIVATE_REDIRECT]
        # A copy is a write of the key like a PUT: overlapping ones end with the last completed (put_order.py).
        if src_crypt is not None or dst_crypt is not None:  # re-encrypted on the way (sse_copy.py)
            with backend_errors(bucket=bucket, key=key):
                async with put_order.ordered(ctx, bucket, key):
                    info, plain_size, plain_md5 = await sse_copy.copy_through(
                        ctx, store, src_bucket, source, src_crypt, src_rec, bucket, key, dst_crypt,
                        content_type=(p.get("ContentType") or DEFAULT_CONTENT_TYPE) if replace else None,
                        metadata=metadata, headers=content_headers(p) if replace else None, private=private)
            if dst_crypt is not None:
                info.private[sse.PRIVATE_ETAG] = await sse.record(ctx, bucket, info, dst_crypt, size=plain_size,
                                                                  md5_hex=plain_md5)
        else:
            with backend_errors(bucket=bucket, key=key):
                async with put_order.ordered(ctx, bucket, key):
                    info = await store.copy_object(src_bucket, src_key, bucket, key, src_version_id=src_version,
                                                   content_type=(p.get("ContentType") or DEFAULT_CONTENT_TYPE)
                                                   if replace else None,
                                                   metadata=metadata, private=private,
                                                   headers=content_headers(p) if replace else None)

        tags = tags_given if tags_given is not None else src_extra.get("tags")
        extra: dict[str, Any] = {}
        if tags:
            extra["tags"] = tags
        if acl_doc is not None:
            extra["acl"] = acl_doc
        await set_object_extra(ctx, bucket, key, info.version_id, extra or None)
        await object_lock.record(ctx, bucket, key, info.version_id, lock)  # the source's lock is not copied

    result: dict[str, Any] = {"ETag": s3_etag(info), "LastModified": info.last_modified}
    result.update(checksums.from_private(private))
    out: dict[str, Any] = {"CopyObjectResult": result}
    if dst_crypt is not None:
        out.update(dst_crypt.output())
    if info.version_id:
        out["VersionId"] = info.version_id
    if source.version_id:
        out["CopySourceVersionId"] = source.version_id
    return out


async def _check_destination(store: Any, bucket: str, key: str, if_match: str | None,
                             if_none_match: str | None) -> None:
    """If-Match / If-None-Match: * on the destination (the caller holds the key's lease)."""
    if if_match is None and if_none_match is None:
        return
    try:
        with backend_errors(bucket=bucket, key=key):
            current = await store.head_object(bucket, key)
    except errors.NoSuchKey:
        current = None
    conditions.check_write(if_match, if_none_match, current, s3_etag(current) if current else None)
