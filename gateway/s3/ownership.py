"""Object Ownership (Put/Get/DeleteBucketOwnershipControls) and the checks every ACL-setting request makes.

- BucketOwnerEnforced: ACLs are disabled. They no longer grant anything (acl.effective), every object is
  the bucket owner's, and a request that sets an ACL other than bucket-owner-full-control (or its
  equivalent: the bucket owner's FULL_CONTROL alone) fails with AccessControlListNotSupported
  (CreateBucket: InvalidBucketAclWithObjectOwnership). Reading ACLs still works: owner FULL_CONTROL.
- BucketOwnerPreferred: an object written with bucket-owner-full-control becomes the bucket owner's.
- ObjectWriter: the writing account owns the object (AWS's default before 2023; also a bucket whose
  ownership was never set).
Block Public Access's BlockPublicAcls refuses (AccessDenied) a request that sets a public ACL.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import access, acl
from .common import get_bucket_config, s3_handler


def _owner_only(doc: dict[str, Any], bucket_owner: str) -> bool:
    return all(g.get("permission") == "FULL_CONTROL" and (g.get("grantee") or {}).get("id") == bucket_owner
               for g in doc.get("grants", ()))


def check_acl_write(settings: access.BucketAccess | None, doc: dict[str, Any] | None, bucket_owner: str, *,
                    creating: bool = False) -> None:
    """Refuse an ACL the bucket's Object Ownership or Block Public Access does not allow."""
    if doc is None or settings is None:
        return
    if not settings.acls_enabled and not _owner_only(doc, bucket_owner):
        if creating:
            raise errors.InvalidBucketAclWithObjectOwnership()
        raise errors.AccessControlListNotSupported()
    if settings.flag("BlockPublicAcls") and acl.is_public_acl(doc):
        raise errors.AccessDenied()


def object_owner(settings: access.BucketAccess | None, writer: str | None, bucket_owner: str,
                 canned: str | None) -> str:
    """Who owns an object written now by `writer` (None: anonymous, whose objects the bucket owner keeps)."""
    ownership = settings.ownership if settings is not None else None
    if writer is None or ownership == "BucketOwnerEnforced":
        return bucket_owner
    if ownership == "BucketOwnerPreferred" and canned == "bucket-owner-full-control":
        return bucket_owner
    return writer


async def object_acl_for_write(ctx: RequestContext, bucket: str, bucket_owner: str) -> dict[str, Any] | None:
    """The ACL a write (PutObject, CopyObject, CreateMultipartUpload) stores for its object, checked
    against Object Ownership and Block Public Access; None when the object is the bucket owner's and
    private (nothing to store)."""
    settings = await access.bucket_access(ctx, bucket)
    writer = ctx.identity.account_id if ctx.identity is not None else None
    owner = object_owner(settings, writer, bucket_owner, ctx.params.get("ACL"))
    doc = acl.acl_from_request(ctx.params, owner, bucket_owner)
    check_acl_write(settings, doc, bucket_owner)
    if settings is not None and not settings.acls_enabled:
        return None  # ACLs disabled: the object is the bucket owner's, private
    if doc is None and owner != bucket_owner:
        doc = acl.canned_acl("private", owner)
    return doc


def check_create(ctx: RequestContext, record: dict[str, Any], doc: dict[str, Any] | None, owner: str) -> None:
    """CreateBucket: the ACL it sets against the ownership/BPA the new bucket will have."""
    settings = access.BucketAccess(owner, None, record.get("public_access_block") or {}, record.get("ownership"))
    check_acl_write(settings, doc, owner, creating=True)


# ---- handlers ---------------------------------------------------------------------------------------------
@s3_handler("PutBucketOwnershipControls")
async def put_bucket_ownership_controls(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    owner = await acl.require_owner(ctx, bucket, strict=True)
    rules = (ctx.params.get("OwnershipControls") or {}).get("Rules") or []
    if len(rules) != 1 or rules[0].get("ObjectOwnership") not in access.OWNERSHIPS:
        raise errors.MalformedXML()
    value = rules[0]["ObjectOwnership"]
    if value == "BucketOwnerEnforced":
        stored = await get_bucket_config(ctx, bucket, "acl")
        if stored and not _owner_only(acl.normalize(await acl.stored_acl(ctx, stored), owner), owner):
            raise errors.InvalidBucketAclWithObjectOwnership()
    await access.update_record(ctx, bucket, ownership=value)
    return {}


@s3_handler("GetBucketOwnershipControls")
async def get_bucket_ownership_controls(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    value = (await access.read_record(ctx, bucket)).get("ownership")
    if value is None:
        raise errors.OwnershipControlsNotFoundError(BucketName=bucket)
    return {"OwnershipControls": {"Rules": [{"ObjectOwnership": value}]}}


@s3_handler("DeleteBucketOwnershipControls")
async def delete_bucket_ownership_controls(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    await access.update_record(ctx, bucket, ownership=None)
    return {}
