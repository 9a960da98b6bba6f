"""Bucket and object tagging: Put/Get/DeleteBucketTagging, Put/Get/DeleteObjectTagging, and the
`x-amz-tagging` header helpers the object and multipart handlers share.

Stored form: a list of {"Key": ..., "Value": ...} in the order given — bucket config kind "tagging",
and the "tags" member of an object's extras (keyed by version, see common.object_extra_key).

Limits as S3 applies them: 10 tags per object / 50 per bucket (`BadRequest`); keys 1-128 and values
0-256 characters counted in UTF-16 units as S3 does, from letters, digits, white space and `_ . : / = + - @`;
unique keys; the `aws:` prefix is reserved (`InvalidTag` for each of these).
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import unquote_plus

from ..context import RequestContext
from ..protocol import errors
from . import acl
from .common import (
    backend_errors,
    get_bucket_config,
    get_object_extra,
    object_store,
    s3_handler,
    set_bucket_config,
    update_object_extra,
)

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY, MAX_VALUE = 128, 256
_SYMBOLS = frozenset("_.:/=+-@")
_HEADER_ERROR = ("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                 "parameters without tag name duplicates.")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _allowed(text: str) -> bool:
    """Unicode letters, numbers, separators (white space) and _ . : / = + - @ (S3's tag pattern)."""
    return all(c in _SYMBOLS or unicodedata.category(c)[0] in "LNZ" for c in text)


def validate_tags(tags: list[dict[str, Any]], *, bucket: bool = False) -> list[dict[str, str]]:
    """Check a tag set (botocore Tag shapes) and return it as the stored form."""
    limit = MAX_BUCKET_TAGS if bucket else MAX_OBJECT_TAGS
    if len(tags) > limit:
        raise errors.BadRequest(f"Bucket tag count cannot be greater than {limit}" if bucket
                                else f"Object tags cannot be greater than {limit}")
    seen: set[str] = set()
    out = []
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value")
        if key is None or value is None:
            raise errors.MalformedXML()
        if not key or _utf16_len(key) > MAX_KEY or not _allowed(key):
            raise errors.InvalidTag("The TagKey you have provided is invalid")
        if _utf16_len(value) > MAX_VALUE or not _allowed(value):
            raise errors.InvalidTag("The TagValue you have provided is invalid")
        if key.lower().startswith("aws:"):
            raise errors.InvalidTag("Your TagKey cannot be prefixed with aws:")
        if key in seen:
            raise errors.InvalidTag("Cannot provide multiple Tags with the same key")
        seen.add(key)
        out.append({"Key": key, "Value": value})
    return out


def parse_tagging_header(value: str) -> list[dict[str, str]]:
    """`x-amz-tagging: k1=v1&k2=v2` (URL query encoding; a key without `=` has the empty value) ->
    the validated stored form, in key order as S3 returns header-set tags. InvalidArgument for a
    malformed header or a repeated key, then validate_tags' errors."""
    pairs: dict[str, str] = {}
    for item in value.split("&"):
        if not item:
            continue
        name, eq, text = item.partition("=")
        if "=" in text:
            raise errors.InvalidArgument(_HEADER_ERROR, ArgumentName="x-amz-tagging", ArgumentValue=value)
        try:
            key = unquote_plus(name, errors="strict")
            val = unquote_plus(text, errors="strict") if eq else ""
        except UnicodeDecodeError:
            raise errors.InvalidArgument(_HEADER_ERROR, ArgumentName="x-amz-tagging",
                                         ArgumentValue=value) from None
        if key in pairs:
            raise errors.InvalidArgument(_HEADER_ERROR, ArgumentName="x-amz-tagging", ArgumentValue=value)
        pairs[key] = val
    return validate_tags([{"Key": k, "Value": pairs[k]} for k in sorted(pairs)])


def _tag_set(ctx: RequestContext) -> list[dict[str, Any]]:
    tagging = ctx.params.get("Tagging")
    if tagging is None or "TagSet" not in tagging:
        raise errors.MalformedXML()
    return tagging["TagSet"]


# ---- bucket tagging ----------------------------------------------------------------------------------
@s3_handler("PutBucketTagging")
async def put_bucket_tagging(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    tags = validate_tags(_tag_set(ctx), bucket=True)
    await set_bucket_config(ctx, bucket, "tagging", tags or None)  # an empty set removes the tags
    return {}


@s3_handler("GetBucketTagging")
async def get_bucket_tagging(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    tags = await get_bucket_config(ctx, bucket, "tagging")
    if not tags:
        raise errors.NoSuchTagSet(BucketName=bucket)
    return {"TagSet": tags}


@s3_handler("DeleteBucketTagging")
async def delete_bucket_tagging(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    await set_bucket_config(ctx, bucket, "tagging", None)
    return {}


# ---- object tagging ----------------------------------------------------------------------------------
async def _object(ctx: RequestContext) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of an existing object; NoSuchKey / NoSuchVersion otherwise."""
    bucket, key, version_id = ctx.params["Bucket"], ctx.params["Key"], ctx.params.get("VersionId")
    await acl.require_owner(ctx, bucket)
    store = await object_store(ctx)
    with backend_errors(bucket=bucket, key=key, version_id=version_id):
        info = await store.head_object(bucket, key, version_id=version_id)
    return bucket, key, info.version_id


def _version_out(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


@s3_handler("PutObjectTagging")
async def put_object_tagging(ctx: RequestContext) -> dict:
    bucket, key, version_id = await _object(ctx)
    tags = validate_tags(_tag_set(ctx))

    def put(extra: dict) -> dict:
        if tags:
            extra["tags"] = tags
        else:
            extra.pop("tags", None)  # an empty tag set deletes the tags
        return extra

    await update_object_extra(ctx, bucket, key, version_id, put)
    return _version_out(version_id)


@s3_handler("GetObjectTagging")
async def get_object_tagging(ctx: RequestContext) -> dict:
    bucket, key, version_id = await _object(ctx)
    extra = await get_object_extra(ctx, bucket, key, version_id)
    return {"TagSet": extra.get("tags", []), **_version_out(version_id)}


@s3_handler("DeleteObjectTagging")
async def delete_object_tagging(ctx: RequestContext) -> dict:
    bucket, key, version_id = await _object(ctx)
    if (await get_object_extra(ctx, bucket, key, version_id)).get("tags") is not None:
        await update_object_extra(ctx, bucket, key, version_id,
                                  lambda extra: {k: v for k, v in extra.items() if k != "tags"})
    return _version_out(version_id)
