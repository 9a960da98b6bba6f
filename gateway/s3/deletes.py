"""DeleteObject and DeleteObjects.

Deleting is idempotent: a missing key (or version) answers 204, as S3 does. In a versioned bucket a
delete without versionId adds a delete marker (x-amz-delete-marker, x-amz-version-id); gateway-held
extras (tags, ACL) go with the version that is actually removed, never with a version that stays.
DeleteObjects requires Content-MD5 or a checksum header (verified for every buffered body by the
pipeline), takes at most 1000 keys, and reports each key's failure in `Errors` without failing the batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from backends import base

from ..context import RequestContext
from ..protocol import errors
from . import access, acl, conditions, key_lease, names, object_lock
from .buckets import check_expected_owner
from .common import backend_errors, object_store, s3_handler, set_object_extra
from .listing import s3_etag
from .objects import find_delete_marker
from .versioning import version_id_param

MAX_KEYS = 1000
_CONCURRENCY = 16  # backend deletes in flight for one DeleteObjects


def _has_conditions(etag: str | None, modified: dt.datetime | None, size: int | None) -> bool:
    return etag is not None or modified is not None or size is not None


async def _check_delete_conditions(store: base.ObjectStore, bucket: str, key: str, version_id: str | None, *,
                                   etag: str | None, modified: dt.datetime | None, size: int | None) -> None:
    """If-Match / x-amz-if-match-last-modified-time / x-amz-if-match-size, against the current version (or
    the one named): 412 when it differs — a delete marker differs from every condition —, NoSuchKey for an
    If-Match on a key that holds nothing; the size and time conditions alone delete nothing quietly (204)."""
    if not _has_conditions(etag, modified, size):
        return
    try:
        with backend_errors(bucket=bucket, key=key, version_id=version_id):
            info = await store.head_object(bucket, key, version_id=version_id)
    except (errors.NoSuchKey, errors.NoSuchVersion):
        if await find_delete_marker(store, bucket, key, version_id) is not None:
            raise errors.PreconditionFailed(Condition=_first_condition(etag, modified)) from None
        if etag is not None:
            raise errors.NoSuchKey(Key=key) from None
        return
    if etag is not None:
        conditions.check_write_if_match(etag, info, s3_etag(info))
    if modified is not None and info.last_modified.replace(microsecond=0) != \
            modified.astimezone(dt.UTC).replace(microsecond=0):
        raise errors.PreconditionFailed(Condition="x-amz-if-match-last-modified-time")
    if size is not None and info.size != size:
        raise errors.PreconditionFailed(Condition="x-amz-if-match-size")


def _first_condition(etag: str | None, modified: dt.datetime | None) -> str:
    if etag is not None:
        return "If-Match"
    return "x-amz-if-match-last-modified-time" if modified is not None else "x-amz-if-match-size"


async def delete_one(ctx: RequestContext, store: base.ObjectStore, bucket: str, key: str,
                     version_id: str | None, *, bypass: bool = False) -> base.ObjectInfo | None:
    """Delete a key or one version; None when there was nothing to delete. NoSuchBucket propagates; a
    version under Object Lock is AccessDenied (`bypass`: an allowed governance bypass)."""
    await object_lock.check_delete(ctx, bucket, key, version_id, bypass=bypass)
    with backend_errors(bucket=bucket, key=key, version_id=version_id):
        try:
            result = await store.delete_object(bucket, key, version_id=version_id)
        except base.NotFound as e:
            if e.kind == "container":
                raise  # NoSuchBucket
            result = None
    if version_id is not None:
        await set_object_extra(ctx, bucket, key, version_id, None)
        await object_lock.forget(ctx, bucket, key, version_id)
    elif result is None or not result.delete_marker:
        # The current (unversioned, or "null") object is gone: so is what the gateway kept for it.
        await set_object_extra(ctx, bucket, key, result.version_id if result else None, None)
    return result


async def _delete_tolerant(ctx: RequestContext, store: base.ObjectStore, bucket: str, key: str,
                           version_id: str | None, bypass: bool) -> base.ObjectInfo | None:
    try:
        return await delete_one(ctx, store, bucket, key, version_id, bypass=bypass)
    except errors.NoSuchBucket:
        raise
    except (errors.NoSuchKey, errors.NoSuchVersion):
        return None


def _result_headers(result: base.ObjectInfo | None, version_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if result is not None and result.delete_marker:
        out["DeleteMarker"] = True
    vid = version_id or (result.version_id if result is not None else None)
    if vid:
        out["VersionId"] = vid
    return out


@s3_handler("DeleteObject", anonymous=True)
async def delete_object(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key, version_id = p["Bucket"], p["Key"], version_id_param(p.get("VersionId"))
    names.check_bucket_name(bucket)
    await acl.require(ctx, bucket, permission="WRITE")
    owner_id = await acl.resolve_owner(ctx, bucket)
    check_expected_owner(ctx, owner_id)
    if p.get("MFA") is not None:
        raise errors.S3NotImplemented("MFA delete is not supported.", Header="x-amz-mfa")
    store = await object_store(ctx)
    etag, modified, size = p.get("IfMatch"), p.get("IfMatchLastModifiedTime"), p.get("IfMatchSize")
    bypass = object_lock.bypass_allowed(ctx, owner_id, p.get("BypassGovernanceRetention"))
    # Check and delete under the key's lease: atomic against other conditional requests (key_lease.py).
    async with key_lease.exclusive(ctx, bucket, key, wanted=_has_conditions(etag, modified, size)):
        await _check_delete_conditions(store, bucket, key, version_id, etag=etag, modified=modified, size=size)
        result = await _delete_tolerant(ctx, store, bucket, key, version_id, bypass)
    return _result_headers(result, version_id)


def _has_integrity_header(ctx: RequestContext) -> bool:
    headers = ctx.request.headers
    return "Content-MD5" in headers or any(k.lower().startswith("x-amz-checksum-") for k in headers)


@s3_handler("DeleteObjects", anonymous=True)
async def delete_objects(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket = p["Bucket"]
    names.check_bucket_name(bucket)
    if not _has_integrity_header(ctx):
        raise errors.InvalidRequest("Missing required header for this request: Content-MD5")
    spec = p.get("Delete")
    objects = (spec or {}).get("Objects")
    if not objects or len(objects) > MAX_KEYS or any("Key" not in o for o in objects):
        raise errors.MalformedXML()
    if p.get("MFA") is not None:
        raise errors.S3NotImplemented("MFA delete is not supported.", Header="x-amz-mfa")
    await acl.require(ctx, bucket, permission="WRITE")
    owner_id = await acl.resolve_owner(ctx, bucket)
    check_expected_owner(ctx, owner_id)
    bypass = object_lock.bypass_allowed(ctx, owner_id, p.get("BypassGovernanceRetention"))
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        await store.head_container(bucket)  # NoSuchBucket for the whole request, not per key
    quiet = bool(spec.get("Quiet"))
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(item: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        key, version_id = item["Key"], item.get("VersionId")
        async with gate:
            try:
                version_id = version_id_param(version_id)
                # The policy's word per key (AWS checks each key): a Deny is this key's AccessDenied.
                await access.decide(ctx, bucket, key, "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject")
                etag, modified, size = item.get("ETag"), item.get("LastModifiedTime"), item.get("Size")
                async with key_lease.exclusive(ctx, bucket, key, wanted=_has_conditions(etag, modified, size)):
                    await _check_delete_conditions(store, bucket, key, version_id, etag=etag, modified=modified,
                                                   size=size)
                    result = await _delete_tolerant(ctx, store, bucket, key, version_id, bypass)
            except errors.AwsError as e:
                failure = {"Key": key, "Code": e.code, "Message": e.message}
                if version_id:
                    failure["VersionId"] = version_id
                return None, failure
        done: dict[str, Any] = {"Key": key}
        if version_id:
            done["VersionId"] = version_id
        if result is not None and result.delete_marker:
            done["DeleteMarker"] = True
            if result.version_id:
                done["DeleteMarkerVersionId"] = result.version_id
        return done, None

    outcomes = await asyncio.gather(*(one(item) for item in objects))
    deleted = [d for d, _ in outcomes if d is not None]
    failed = [f for _, f in outcomes if f is not None]
    out: dict[str, Any] = {}
    if deleted and not quiet:
        out["Deleted"] = deleted
    if failed:
        out["Errors"] = failed
    return out
