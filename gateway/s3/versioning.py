"""Bucket versioning: Put/GetBucketVersioning and ListObjectVersions.

The versioning state is the backend's (`ObjectStore.set_versioning`, `ContainerInfo.versioning`: None =
never enabled, True = Enabled, False = Suspended); versions and delete markers are listed by the backend
(`list_objects(versions=True)`). An object written while the bucket was unversioned (or suspended) has no
version id in the backend (`version_id` None) and is version "null" to S3 clients. Per-version operations
(Get/Head/Delete/Copy/tagging with `versionId`) live in their own modules and pass the id through;
`version_id_param` is the shared check of that parameter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from backends.base import ObjectInfo

from ..context import RequestContext
from ..protocol import errors
from ..protocol.scalars import CharRefText
from . import object_lock, sse
from .buckets import bucket_access, owned_bucket
from .common import backend_errors, object_store, owner, s3_handler
from .listing import s3_etag
from .names import version_id_param  # noqa: F401 - re-exported: the per-version modules import it here

NULL_VERSION = "null"
MAX_KEYS = 1000
def version_out(info: ObjectInfo) -> str:
    """The version id clients see for a stored version."""
    return info.version_id or NULL_VERSION


# ---- Put/GetBucketVersioning -------------------------------------------------------------------------
@s3_handler("PutBucketVersioning")
async def put_bucket_versioning(ctx: RequestContext) -> dict:
    bucket, _ = await owned_bucket(ctx)
    config = ctx.params.get("VersioningConfiguration")
    if config is None:
        raise errors.MalformedXML()
    status, mfa_delete = config.get("Status"), config.get("MFADelete")
    if status not in ("Enabled", "Suspended") or mfa_delete not in (None, "Enabled", "Disabled"):
        raise errors.MalformedXML()
    if mfa_delete == "Enabled" or ctx.params.get("MFA") is not None:
        # MFA delete needs the root account's MFA device: there is no such thing behind this gateway.
        raise errors.S3NotImplemented("MFA Delete is not supported by this gateway.")
    if status == "Suspended" and await object_lock.bucket_config(ctx, bucket) is not None:
        raise errors.InvalidBucketState("An Object Lock configuration is present on this bucket, so the "
                                        "versioning state cannot be changed.")
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        await store.set_versioning(bucket, status == "Enabled")
    return {}


@s3_handler("GetBucketVersioning")
async def get_bucket_versioning(ctx: RequestContext) -> dict:
    bucket, _ = await owned_bucket(ctx)
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        info = await store.head_container(bucket)
    if info.versioning is None:
        return {}  # never enabled: an empty <VersioningConfiguration/>
    return {"Status": "Enabled" if info.versioning else "Suspended"}


# ---- ListObjectVersions --------------------------------------------------------------------------------
def _encoder(encoding_type: str | None):
    if encoding_type is None:  # control characters as character references (&#x1;), as S3 writes them
        return lambda s: CharRefText(s) if s else s
    if encoding_type != "url":
        raise errors.InvalidArgument("Invalid Encoding Method specified in Request",
                                     ArgumentName="encoding-type", ArgumentValue=encoding_type)
    return lambda s: quote_plus(s, safe="/")


def _max_keys(params: dict[str, Any]) -> int:
    value = params.get("MaxKeys")
    if value is None:
        return MAX_KEYS
    if not 0 <= value <= 2**31 - 1:
        raise errors.InvalidArgument("Argument maxKeys must be an integer between 0 and 2147483647",
                                     ArgumentName="maxKeys", ArgumentValue=str(value))
    return min(value, MAX_KEYS)


@s3_handler("ListObjectVersions", anonymous=True)
async def list_object_versions(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket = p["Bucket"]
    prefix, delimiter = p.get("Prefix") or "", p.get("Delimiter") or None
    key_marker, vid_marker = p.get("KeyMarker") or None, p.get("VersionIdMarker") or None
    enc = _encoder(p.get("EncodingType"))
    max_keys = _max_keys(p)
    if vid_marker is not None and key_marker is None:
        raise errors.InvalidArgument("A version-id marker cannot be specified without a key marker.",
                                     ArgumentName="version-id-marker", ArgumentValue=vid_marker)
    if vid_marker is not None:
        version_id_param(vid_marker)
    if p.get("OptionalObjectAttributes"):
        raise errors.S3NotImplemented("x-amz-optional-object-attributes is not supported.")
    owner_id = await bucket_access(ctx, bucket, "READ")
    store = await object_store(ctx)
    entries: list[ObjectInfo | str] = []
    truncated = False
    if max_keys:
        with backend_errors(bucket=bucket):
            page = await store.list_objects(bucket, prefix=prefix, delimiter=delimiter, marker=key_marker,
                                            version_marker=vid_marker, limit=max_keys, versions=True)
        # A stable sort by name keeps each key's versions newest first, with prefixes in key order.
        entries = sorted([*page.objects, *(c for c in page.prefixes if c != key_marker)],
                         key=lambda e: e if isinstance(e, str) else e.key)
        truncated = page.truncated or len(entries) > max_keys
        entries = entries[:max_keys]
    await sse.present_listing(ctx, bucket, entries)  # plaintext sizes and ETags of encrypted objects
    # Objects belong to the bucket owner (the ACL model's "bucket owner preferred").
    who = owner(ctx) if ctx.identity is not None and ctx.identity.account_id == owner_id else {"ID": owner_id}
    versions, markers, prefixes = [], [], []
    for e in entries:
        if isinstance(e, str):
            prefixes.append({"Prefix": enc(e)})
        elif e.delete_marker:
            markers.append({"Owner": who, "Key": enc(e.key), "VersionId": version_out(e), "IsLatest": e.is_latest,
                            "LastModified": e.last_modified})
        else:
            versions.append({"ETag": s3_etag(e), "Size": e.size, "StorageClass": "STANDARD", "Key": enc(e.key),
                             "VersionId": version_out(e), "IsLatest": e.is_latest,
                             "LastModified": e.last_modified, "Owner": who})
    out: dict[str, Any] = {"Name": bucket, "Prefix": enc(prefix), "KeyMarker": enc(key_marker or ""),
                           "VersionIdMarker": vid_marker or "", "MaxKeys": max_keys, "IsTruncated": truncated,
                           "Versions": versions, "DeleteMarkers": markers, "CommonPrefixes": prefixes}
    if delimiter:
        out["Delimiter"] = enc(delimiter)
    if p.get("EncodingType"):
        out["EncodingType"] = p["EncodingType"]
    if truncated and entries:
        last = entries[-1]
        if isinstance(last, str):
            out["NextKeyMarker"] = enc(last)
        else:
            out["NextKeyMarker"] = enc(last.key)
            out["NextVersionIdMarker"] = version_out(last)
    return out
