"""Buckets: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation.

S3 bucket names are global, the backend's containers are per account: CreateBucket claims the name in
gateway state first (`put_if_absent`, atomic across replicas), then creates the container; DeleteBucket
releases the claim and every piece of gateway state kept for the bucket. A bucket is a container with a
name S3 allows; other containers (`<bucket>+segments` holds multipart parts) are never shown or reachable.

Re-creating a bucket you own answers 200 in us-east-1 and BucketAlreadyOwnedByYou (409) elsewhere,
exactly as AWS documents (us-east-1's legacy behaviour, which also resets the bucket's ACL).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import logging
from typing import Any

from backends import base

from ..context import RequestContext
from ..protocol import errors
from . import access, acl, names, object_lock, ownership, sse
from .common import (
    NS_BUCKET_CONFIG,
    NS_BUCKET_OWNER,
    NS_OBJECT_EXTRA,
    backend_errors,
    object_store,
    owner,
    s3_handler,
    set_bucket_config,
)
from .multipart_state import abort_bucket_uploads, segments_container

log = logging.getLogger("cloudgate.s3.buckets")

US_EAST_1 = "us-east-1"
MAX_BUCKETS_PAGE = 10_000
_PURGE_PAGES = 100  # bounded cleanup of orphaned multipart parts per DeleteBucket (1000 keys a page)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def region(ctx: RequestContext) -> str:
    return ctx.gateway.config.region or US_EAST_1


def check_expected_owner(ctx: RequestContext, owner_id: str | None = None) -> None:
    """x-amz-expected-bucket-owner: AccessDenied when the bucket's owner is another account."""
    expected = ctx.params.get("ExpectedBucketOwner")
    if expected is None:
        return
    actual = owner_id or (ctx.identity.account_id if ctx.identity else None)
    if expected != actual:
        raise errors.AccessDenied()


async def owned_bucket(ctx: RequestContext) -> tuple[str, str]:
    """(bucket, owner account) for the request's bucket, when the caller owns it."""
    bucket = ctx.params["Bucket"]
    names.check_bucket_name(bucket)
    owner_id = await acl.require_owner(ctx, bucket)
    check_expected_owner(ctx, owner_id)
    return bucket, owner_id


async def bucket_access(ctx: RequestContext, bucket: str, permission: str) -> str:
    """NoSuchBucket / AccessDenied unless the caller may act on `bucket`; returns its owner's account."""
    names.check_bucket_name(bucket)
    await acl.require(ctx, bucket, permission=permission)
    owner_id = await acl.resolve_owner(ctx, bucket)
    check_expected_owner(ctx, owner_id)
    return owner_id


def _check_location(constraint: str | None, here: str) -> None:
    """AWS's answers for a LocationConstraint sent to a regional endpoint (this gateway is one region)."""
    if not constraint:
        if here != US_EAST_1:
            raise errors.IllegalLocationConstraintException(
                "The unspecified location constraint is incompatible for the region specific endpoint "
                "this request was sent to.")
        return
    if constraint == here and here != US_EAST_1:
        return
    if constraint == US_EAST_1 and here == US_EAST_1:
        # AWS: us-east-1 is the default and may not be named explicitly.
        raise errors.InvalidLocationConstraint(LocationConstraint=constraint)
    if constraint in names.known_regions():
        raise errors.IllegalLocationConstraintException(
            f"The {constraint} location constraint is incompatible for the region specific endpoint this "
            "request was sent to.")
    raise errors.InvalidLocationConstraint(LocationConstraint=constraint)


def _owner_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("account_id") or value.get("owner") or value.get("account")
    return str(value) if value else None


def _check_create_options(ctx: RequestContext) -> None:
    p = ctx.params
    object_ownership = p.get("ObjectOwnership")
    if object_ownership is not None and object_ownership not in access.OWNERSHIPS:
        raise errors.InvalidArgument("Invalid x-amz-object-ownership header",
                                     ArgumentName="x-amz-object-ownership", ArgumentValue=object_ownership)
    config = p.get("CreateBucketConfiguration") or {}
    if config.get("Location") or config.get("Bucket"):
        raise errors.S3NotImplemented("Directory buckets are not supported by this gateway.")
    if config.get("Tags"):
        raise errors.S3NotImplemented("Tags in CreateBucketConfiguration are not supported; use "
                                      "PutBucketTagging.")


@s3_handler("CreateBucket")
async def create_bucket(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    names.check_new_bucket_name(bucket)
    config = ctx.params.get("CreateBucketConfiguration") or {}
    here = region(ctx)
    _check_location(config.get("LocationConstraint"), here)
    _check_create_options(ctx)
    assert ctx.identity is not None  # CreateBucket is never anonymous (pipeline)
    account = ctx.identity.account_id
    check_expected_owner(ctx)
    acl_doc = acl.acl_from_request(ctx.params, account)  # validated before anything is created
    access_record = access.new_bucket_defaults(ctx)  # Object Ownership, Block Public Access (config)
    ownership.check_create(ctx, access_record, acl_doc, account)

    state = ctx.gateway.store
    previous = await state.put_if_absent(NS_BUCKET_OWNER, bucket, account)
    if previous is not None and await acl.stored_account(ctx, _owner_of(previous)) != account:
        raise errors.BucketAlreadyExists(BucketName=bucket)
    store = await object_store(ctx)
    try:
        with backend_errors(bucket=bucket):
            created = await store.create_container(bucket)
    except BaseException:
        if previous is None:  # the claim was ours: give the name back
            await state.delete(NS_BUCKET_OWNER, bucket)
        raise
    if created:
        # A stale claim (a create that died half-way) may have left state behind: start clean.
        if previous is not None:
            await _forget_bucket_state(ctx, bucket, keep_owner=True)
    elif here != US_EAST_1:
        raise errors.BucketAlreadyOwnedByYou(BucketName=bucket)
    await set_bucket_config(ctx, bucket, "acl", acl_doc)
    if created or access_record:  # us-east-1's re-create resets the ACL; it keeps a configured policy
        record = await access.read_record(ctx, bucket) if not created else {}
        record.update(access_record)
        await set_bucket_config(ctx, bucket, access.ACCESS_KIND, record or None)
    if created:
        await sse.on_create_bucket(ctx, bucket)  # s3.encrypt_new_buckets
    if ctx.params.get("ObjectLockEnabledForBucket"):
        await object_lock.enable(ctx, bucket)
    return {"Location": f"/{bucket}"}


@s3_handler("HeadBucket", anonymous=True)
async def head_bucket(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    names.check_bucket_name(bucket)
    await acl.require(ctx, bucket, permission="READ")
    check_expected_owner(ctx, await acl.resolve_owner(ctx, bucket))
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        await store.head_container(bucket)
    return {"BucketRegion": region(ctx), "AccessPointAlias": False}


@s3_handler("GetBucketLocation")
async def get_bucket_location(ctx: RequestContext) -> dict:
    bucket, _ = await owned_bucket(ctx)
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        await store.head_container(bucket)
    here = region(ctx)
    return {"LocationConstraint": None if here == US_EAST_1 else here}


@s3_handler("DeleteBucket")
async def delete_bucket(ctx: RequestContext) -> dict:
    bucket, owner_id = await owned_bucket(ctx)
    store = await object_store(ctx)
    try:
        with backend_errors(bucket=bucket):
            await store.delete_container(bucket)
    except errors.NoSuchBucket:
        await _forget_bucket_state(ctx, bucket)  # a claim without a container is stale
        raise
    # The bucket is gone, so no manifest can still use a part: uploads in progress go with it.
    await abort_bucket_uploads(ctx, store, owner_id, bucket)
    await _purge_segments(store, bucket)
    await _forget_bucket_state(ctx, bucket)
    return {}


async def _purge_segments(store: base.ObjectStore, bucket: str) -> None:
    """Delete the multipart segments container, and any part left in it that no record knew of."""
    segments = segments_container(bucket)
    for _ in range(_PURGE_PAGES):
        try:
            await store.delete_container(segments)
            return
        except base.NotFound:
            return
        except base.Conflict:
            pass
        except base.BackendError:
            log.warning("could not delete %s; its parts stay orphaned", segments, exc_info=True)
            return
        try:
            listing = await store.list_objects(segments, limit=1000)
            for info in listing.objects:
                with contextlib.suppress(base.NotFound):
                    await store.delete_object(segments, info.key)
        except base.NotFound:
            return
        except base.BackendError:
            log.warning("could not empty %s; its parts stay orphaned", segments, exc_info=True)
            return
    log.warning("gave up emptying %s after %d pages", segments, _PURGE_PAGES)


async def _forget_bucket_state(ctx: RequestContext, bucket: str, keep_owner: bool = False) -> None:
    state = ctx.gateway.store
    await state.delete_prefix(NS_BUCKET_CONFIG, f"{bucket}/")
    await state.delete_prefix(NS_OBJECT_EXTRA, f"{bucket}/")
    await state.delete_prefix(object_lock.NS_OBJECT_LOCK, f"{bucket}/")
    if not keep_owner:
        await state.delete(NS_BUCKET_OWNER, bucket)


# ---- ListBuckets ---------------------------------------------------------------------------------------
def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(b"b1:" + name.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if raw.startswith(b"b1:"):
            return raw[3:].decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        pass
    raise errors.InvalidArgument("The continuation token provided is incorrect",
                                 ArgumentName="continuation-token", ArgumentValue=token)


@s3_handler("ListBuckets")
async def list_buckets(ctx: RequestContext) -> dict:
    p = ctx.params
    max_buckets = p.get("MaxBuckets")
    if max_buckets is not None and not 1 <= max_buckets <= MAX_BUCKETS_PAGE:
        raise errors.InvalidArgument("Argument max-buckets must be an integer between 1 and 10000",
                                     ArgumentName="max-buckets", ArgumentValue=str(max_buckets))
    after = _decode_token(p["ContinuationToken"]) if p.get("ContinuationToken") else None
    prefix = p.get("Prefix") or ""
    assert ctx.identity is not None
    account = ctx.identity.account_id
    store = await object_store(ctx)
    with backend_errors():
        containers = await store.list_containers()
    wanted_region = p.get("BucketRegion")
    if wanted_region is not None and wanted_region != region(ctx):
        containers = []
    buckets: list[dict[str, Any]] = []
    truncated = False
    for info in sorted(containers, key=lambda c: c.name):
        name = info.name
        if not names.is_reachable_bucket(name) or not name.startswith(prefix):
            continue
        if after is not None and name <= after:
            continue
        claimed = await acl.stored_account(ctx, _owner_of(await ctx.gateway.store.get(NS_BUCKET_OWNER, name)))
        if claimed is not None and claimed != account:
            continue  # this account's container shadowed by another account's S3 bucket of that name
        if max_buckets is not None and len(buckets) == max_buckets:
            truncated = True
            break
        buckets.append({"Name": name, "CreationDate": info.created or _EPOCH, "BucketRegion": region(ctx)})
    out: dict[str, Any] = {"Buckets": buckets, "Owner": owner(ctx)}
    if p.get("Prefix") is not None:
        out["Prefix"] = prefix
    if truncated:
        out["ContinuationToken"] = _encode_token(buckets[-1]["Name"])
    return out
