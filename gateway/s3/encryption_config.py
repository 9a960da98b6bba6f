"""Bucket default encryption: Put/Get/DeleteBucketEncryption (the data path is sse.py).

Only what really happens is claimed: a bucket has a default rule when its owner put one, or when the
operator set `s3.encrypt_new_buckets` before the bucket was created (AWS's behaviour since 2023);
otherwise GetBucketEncryption answers ServerSideEncryptionConfigurationNotFoundError. With the setting
on, DeleteBucketEncryption puts SSE-S3 back, as on AWS. SSE-KMS defaults are refused with
KMS.NotFoundException: this gateway has no KMS, so no key exists (sse.py).
"""

from __future__ import annotations

from ..context import RequestContext
from ..protocol import errors
from . import acl, sse
from .common import s3_handler, set_bucket_config

_KMS = ("aws:kms", "aws:kms:dsse")


async def _owned(ctx: RequestContext) -> str:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    return bucket


def _rule(config: dict | None) -> dict:
    rules = (config or {}).get("Rules") or []
    if len(rules) != 1:
        raise errors.MalformedXML()
    default = rules[0].get("ApplyServerSideEncryptionByDefault")
    if not default or not default.get("SSEAlgorithm"):
        raise errors.MalformedXML()
    algorithm = default["SSEAlgorithm"]
    if algorithm in _KMS:
        raise errors.KmsNotFoundException("Invalid keyId: no KMS key is available to this gateway.")
    if algorithm != "AES256":
        raise errors.MalformedXML()
    if default.get("KMSMasterKeyID"):
        raise errors.InvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                                     "aws:kms or aws:kms:dsse",
                                     ArgumentName="ApplyServerSideEncryptionByDefault")
    return {"SSEAlgorithm": "AES256", "BucketKeyEnabled": bool(rules[0].get("BucketKeyEnabled"))}


@s3_handler("PutBucketEncryption")
async def put_bucket_encryption(ctx: RequestContext) -> dict:
    bucket = await _owned(ctx)
    rule = _rule(ctx.params.get("ServerSideEncryptionConfiguration"))
    if not ctx.gateway.config.s3.sse_write_key_id:
        raise errors.S3NotImplemented("SSE-S3 needs a master key: the operator has not configured "
                                      "s3.sse_master_keys.")
    await set_bucket_config(ctx, bucket, sse.ENCRYPTION_CONFIG, rule)
    return {}


@s3_handler("GetBucketEncryption")
async def get_bucket_encryption(ctx: RequestContext) -> dict:
    bucket = await _owned(ctx)
    rule = await sse.bucket_default(ctx, bucket)
    if rule is None:
        raise errors.ServerSideEncryptionConfigurationNotFoundError(BucketName=bucket)
    return {"ServerSideEncryptionConfiguration": {"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": rule["SSEAlgorithm"]},
        "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}]}}


@s3_handler("DeleteBucketEncryption")
async def delete_bucket_encryption(ctx: RequestContext) -> dict:
    bucket = await _owned(ctx)
    await set_bucket_config(ctx, bucket, sse.ENCRYPTION_CONFIG, None)
    await sse.on_create_bucket(ctx, bucket)  # back to the operator's default for new buckets
    return {}
