"""Bucket policy operations: Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus.

Only the bucket owner's account manages the policy (a policy cannot grant these to others: AWS). The
text is validated (policy.parse: MalformedPolicy naming the problem), every account a principal names
must be one of the gateway's ("Invalid principal in policy"), and a public policy is refused with
AccessDenied under BlockPublicPolicy. The text is stored as sent and returned as is.
"""

from __future__ import annotations

from ..context import RequestContext
from ..protocol import errors
from . import access, acl
from . import policy as pol
from .common import s3_handler


@s3_handler("PutBucketPolicy")
async def put_bucket_policy(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    text = ctx.params.get("Policy")
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    if not text:
        raise errors.MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    policy = pol.parse(text, bucket)
    for account in policy.accounts:
        if account != ctx.identity.account_id and \
                await ctx.gateway.accounts.cloud(account) is None and \
                await ctx.gateway.credentials.identity_for_account(account) is None:  # type: ignore[union-attr]
            raise errors.MalformedPolicy("Invalid principal in policy")
    settings = await access.bucket_access(ctx, bucket)
    if settings is not None and settings.flag("BlockPublicPolicy") and pol.is_public(policy):
        raise errors.AccessDenied()
    await access.update_record(ctx, bucket, policy=text)
    ctx.response_status = 204
    return {}


@s3_handler("GetBucketPolicy")
async def get_bucket_policy(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    text = (await access.read_record(ctx, bucket)).get("policy")
    if not text:
        raise errors.NoSuchBucketPolicy(BucketName=bucket)
    return {"Policy": text}


@s3_handler("DeleteBucketPolicy")
async def delete_bucket_policy(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    await access.update_record(ctx, bucket, policy=None)
    ctx.response_status = 204
    return {}


@s3_handler("GetBucketPolicyStatus")
async def get_bucket_policy_status(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket, strict=True)
    text = (await access.read_record(ctx, bucket)).get("policy")
    if not text:
        raise errors.NoSuchBucketPolicy(BucketName=bucket)
    return {"PolicyStatus": {"IsPublic": pol.is_public(pol.parse(text, bucket))}}
