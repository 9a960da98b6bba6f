"""ListObjects (v1) and ListObjectsV2 on the backend's ordered listing.

Both count keys and common prefixes together against max-keys, as S3 does. v2's continuation token is
opaque to clients (base64 of a versioned marker) and anything else is refused with InvalidArgument.
With `encoding-type=url` every key-like element (keys, prefixes, delimiter, markers, start-after) is
form-URL-encoded, which is how clients carry keys that XML 1.0 cannot (control characters).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any
from urllib.parse import quote_plus

from backends.base import BackendError, ObjectInfo, ObjectStore

from ..context import RequestContext
from ..protocol import errors
from ..protocol.scalars import CharRefText
from . import acl, names, sse
from .buckets import check_expected_owner
from .common import backend_errors, object_store, owner, s3_handler
from .multipart_state import PRIVATE_ETAG

MAX_KEYS = 1000
_MAX_ROUNDS = 20  # backend pages per S3 page (a page only comes back short when entries are skipped)
_TOKEN_PREFIX = b"cg1:"
_HEAD_CONCURRENCY = 16


def s3_etag(info: ObjectInfo) -> str:
    """The ETag S3 shows for an object, quoted: the multipart ETag when the object has one."""
    return '"' + (info.private.get(PRIVATE_ETAG) or info.etag).strip('"') + '"'


async def resolve_manifest_etags(store: ObjectStore, bucket: str, entries: list[Any]) -> None:
    """Listings can't carry private metadata: fetch the multipart ETag of each segmented object in the
    page (a HEAD each, a few at a time). Other objects cost nothing."""
    todo = [e for e in entries if isinstance(e, ObjectInfo) and e.manifest and not e.delete_marker
            and PRIVATE_ETAG not in e.private]
    if not todo:
        return
    gate = asyncio.Semaphore(_HEAD_CONCURRENCY)

    async def fill(info: ObjectInfo) -> None:
        async with gate:
            try:
                head = await store.head_object(bucket, info.key, version_id=info.version_id)
            except BackendError:
                return  # deleted meanwhile: keep the listing's own ETag
            if head.private.get(PRIVATE_ETAG):
                info.private[PRIVATE_ETAG] = head.private[PRIVATE_ETAG]

    await asyncio.gather(*(fill(info) for info in todo))


def _encoder(encoding_type: str | None):
    if encoding_type is None:  # control characters as character references (&#x1;), as S3 writes them
        return lambda s: CharRefText(s) if s else s
    if encoding_type != "url":
        raise errors.InvalidArgument("Invalid Encoding Method specified in Request",
                                     ArgumentName="encoding-type", ArgumentValue=encoding_type)
    return lambda s: quote_plus(s, safe="/") if s is not None else None


def _max_keys(ctx: RequestContext) -> int:
    value = ctx.params.get("MaxKeys")
    if value is None:
        return MAX_KEYS
    if value < 0 or value > 2_147_483_647:
        raise errors.InvalidArgument("Argument maxKeys must be an integer between 0 and 2147483647",
                                     ArgumentName="maxKeys", ArgumentValue=str(value))
    return value


async def _open(ctx: RequestContext) -> tuple[str, ObjectStore]:
    bucket = ctx.params["Bucket"]
    names.check_bucket_name(bucket)
    await acl.require(ctx, bucket, permission="READ")
    check_expected_owner(ctx, await acl.resolve_owner(ctx, bucket))
    if ctx.params.get("OptionalObjectAttributes"):
        raise errors.S3NotImplemented("x-amz-optional-object-attributes is not supported.",
                                      Header="x-amz-optional-object-attributes")
    return bucket, await object_store(ctx)


async def collect(store: ObjectStore, bucket: str, *, prefix: str, delimiter: str | None, after: str | None,
                  max_keys: int) -> tuple[list[ObjectInfo | str], bool]:
    """Up to max_keys entries (ObjectInfo, or a common prefix as str) after `after`, in key order, and
    whether more follow."""
    entries: list[ObjectInfo | str] = []
    if max_keys == 0:
        return entries, False
    marker = after
    for _ in range(_MAX_ROUNDS):
        with backend_errors(bucket=bucket):
            page = await store.list_objects(bucket, prefix=prefix, delimiter=delimiter or None, marker=marker,
                                            limit=max_keys - len(entries))
        merged: list[ObjectInfo | str] = [*page.objects, *page.prefixes]
        merged.sort(key=lambda e: e if isinstance(e, str) else e.key)
        for entry in merged:
            # A common prefix given back as the marker was already returned: never twice.
            if isinstance(entry, str) and entry == after:
                continue
            entries.append(entry)
        if not page.truncated or not merged:
            await resolve_manifest_etags(store, bucket, entries)
            return entries, False
        if len(entries) >= max_keys:
            entries = entries[:max_keys]
            await resolve_manifest_etags(store, bucket, entries)
            return entries, True
        last = merged[-1]
        marker = page.next_marker or (last if isinstance(last, str) else last.key)
    await resolve_manifest_etags(store, bucket, entries)
    return entries, True


def _contents(ctx: RequestContext, entries: list[ObjectInfo | str], encode, with_owner: bool
              ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    contents, prefixes = [], []
    who = owner(ctx) if with_owner else None
    for e in entries:
        if isinstance(e, str):
            prefixes.append({"Prefix": encode(e)})
            continue
        item: dict[str, Any] = {"Key": encode(e.key), "LastModified": e.last_modified, "ETag": s3_etag(e),
                                "Size": e.size, "StorageClass": "STANDARD"}
        if who is not None:
            item["Owner"] = who
        contents.append(item)
    return contents, prefixes


def _name_of(entry: ObjectInfo | str) -> str:
    return entry if isinstance(entry, str) else entry.key


@s3_handler("ListObjects", anonymous=True)
async def list_objects(ctx: RequestContext) -> dict:
    p = ctx.params
    encode = _encoder(p.get("EncodingType"))
    max_keys = _max_keys(ctx)
    bucket, store = await _open(ctx)
    prefix, delimiter, marker = p.get("Prefix") or "", p.get("Delimiter") or None, p.get("Marker") or None
    entries, truncated = await collect(store, bucket, prefix=prefix, delimiter=delimiter, after=marker,
                                       max_keys=min(max_keys, MAX_KEYS))
    await sse.present_listing(ctx, bucket, entries)  # plaintext sizes and ETags of encrypted objects
    contents, prefixes = _contents(ctx, entries, encode, with_owner=True)
    out: dict[str, Any] = {"Name": bucket, "Prefix": encode(prefix), "Marker": encode(marker or ""),
                           "MaxKeys": max_keys, "IsTruncated": truncated}
    if delimiter:
        out["Delimiter"] = encode(delimiter)
        if truncated and entries:
            out["NextMarker"] = encode(_name_of(entries[-1]))
    if contents:
        out["Contents"] = contents
    if prefixes:
        out["CommonPrefixes"] = prefixes
    if p.get("EncodingType"):
        out["EncodingType"] = p["EncodingType"]
    return out


def encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(_TOKEN_PREFIX + key.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if raw.startswith(_TOKEN_PREFIX):
            return raw[len(_TOKEN_PREFIX):].decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        pass
    raise errors.InvalidArgument("The continuation token provided is incorrect",
                                 ArgumentName="continuation-token", ArgumentValue=token)


@s3_handler("ListObjectsV2", anonymous=True)
async def list_objects_v2(ctx: RequestContext) -> dict:
    p = ctx.params
    encode = _encoder(p.get("EncodingType"))
    max_keys = _max_keys(ctx)
    token = p.get("ContinuationToken")
    if token is not None and token == "":
        raise errors.InvalidArgument("The continuation token provided is incorrect",
                                     ArgumentName="continuation-token", ArgumentValue=token)
    resume = decode_token(token) if token is not None else None
    bucket, store = await _open(ctx)
    prefix, delimiter, start_after = p.get("Prefix") or "", p.get("Delimiter") or None, p.get("StartAfter")
    after = resume if resume is not None else (start_after or None)
    entries, truncated = await collect(store, bucket, prefix=prefix, delimiter=delimiter, after=after,
                                       max_keys=min(max_keys, MAX_KEYS))
    await sse.present_listing(ctx, bucket, entries)
    contents, prefixes = _contents(ctx, entries, encode, with_owner=bool(p.get("FetchOwner")))
    out: dict[str, Any] = {"Name": bucket, "Prefix": encode(prefix), "MaxKeys": max_keys,
                           "KeyCount": len(entries), "IsTruncated": truncated}
    if delimiter:
        out["Delimiter"] = encode(delimiter)
    if token is not None:
        out["ContinuationToken"] = token
    if truncated and entries:
        out["NextContinuationToken"] = encode_token(_name_of(entries[-1]))
    if start_after is not None:
        out["StartAfter"] = encode(start_after)
    if contents:
        out["Contents"] = contents
    if prefixes:
        out["CommonPrefixes"] = prefixes
    if p.get("EncodingType"):
        out["EncodingType"] = p["EncodingType"]
    return out
