"""S3 operations whose answer here is S3's own answer for a bucket or object without the feature, rather
than NotImplemented: the per-Id bucket configurations this gateway never holds (analytics, metrics, inventory,
Intelligent-Tiering: NoSuchConfiguration on read and delete, an empty list), the legacy notification read
(an empty configuration), replication on an unversioned bucket (InvalidRequest, as S3 checks that first), and
RestoreObject, which S3 refuses for objects in the STANDARD storage class — every object here
(InvalidObjectState). Storing such a configuration stays NotImplemented: it would promise work nobody does.
"""

from __future__ import annotations

from ..context import RequestContext
from ..protocol import errors
from . import acl, names
from .buckets import bucket_access, owned_bucket
from .common import backend_errors, object_store, s3_handler
from .versioning import version_id_param

_KINDS = {"Analytics": "analytics", "Metrics": "metrics", "Inventory": "inventory",
          "IntelligentTiering": "intelligent-tiering"}


def _register(kind: str) -> None:
    async def get_one(ctx: RequestContext) -> dict:
        await owned_bucket(ctx)
        raise errors.NoSuchConfiguration()

    async def list_all(ctx: RequestContext) -> dict:
        await owned_bucket(ctx)
        return {"IsTruncated": False}

    s3_handler(f"GetBucket{kind}Configuration")(get_one)
    s3_handler(f"DeleteBucket{kind}Configuration")(get_one)
    s3_handler(f"ListBucket{kind}Configurations")(list_all)


for _kind in _KINDS:
    _register(_kind)


@s3_handler("GetBucketNotification")
async def get_bucket_notification_legacy(ctx: RequestContext) -> dict:
    await owned_bucket(ctx)
    return {}  # no topic, queue or function configured


@s3_handler("PutBucketReplication")
async def put_bucket_replication(ctx: RequestContext) -> dict:
    bucket, _ = await owned_bucket(ctx)
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        info = await store.head_container(bucket)
    if info.versioning is not True:
        raise errors.InvalidRequest("Versioning must be 'Enabled' on the bucket to apply a replication "
                                    "configuration")
    raise errors.S3NotImplemented("Replication is not available on this endpoint.")


@s3_handler("RestoreObject", anonymous=True)
async def restore_object(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key, version_id = p["Bucket"], p["Key"], version_id_param(p.get("VersionId"))
    names.check_bucket_name(bucket)
    await bucket_access(ctx, bucket, "WRITE")
    await acl.require(ctx, bucket, key, "READ", version_id=version_id)
    store = await object_store(ctx)
    with backend_errors(bucket=bucket, key=key, version_id=version_id):
        await store.head_object(bucket, key, version_id=version_id)
    raise errors.InvalidObjectState("Restore is not allowed for the object's current storage class",
                                    StorageClass="STANDARD")
