"""Block Public Access, bucket level: Put/Get/DeletePublicAccessBlock.

The four flags, as AWS applies them (each alone, in any combination):
- BlockPublicAcls: a request setting a public ACL (AllUsers/AuthenticatedUsers grant) is refused with
  AccessDenied (ownership.check_acl_write); existing ACLs are untouched.
- IgnorePublicAcls: public grants of existing ACLs no longer grant anything (acl.effective).
- BlockPublicPolicy: PutBucketPolicy with a public policy is refused with AccessDenied (policy_api).
- RestrictPublicBuckets: while the bucket's policy is public, its Allows count only for the owner's
  account (access.decide).
The account-level configuration is the S3 Control API (another endpoint); this gateway has none.
"""

from __future__ import annotations

from ..context import RequestContext
from ..protocol import errors
from . import access, acl
from .common import s3_handler


@s3_handler("PutPublicAccessBlock")
async def put_public_access_block(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    config = ctx.params.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        raise errors.MalformedXML()
    flags = {name: bool(config.get(name, False)) for name in access.BPA_FLAGS}
    await access.update_record(ctx, bucket, public_access_block=flags)
    return {}


@s3_handler("GetPublicAccessBlock")
async def get_public_access_block(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    flags = (await access.read_record(ctx, bucket)).get("public_access_block")
    if flags is None:
        raise errors.NoSuchPublicAccessBlockConfiguration(BucketName=bucket)
    return {"PublicAccessBlockConfiguration": {name: bool(flags.get(name)) for name in access.BPA_FLAGS}}


@s3_handler("DeletePublicAccessBlock")
async def delete_public_access_block(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    await access.update_record(ctx, bucket, public_access_block=None)
    return {}
