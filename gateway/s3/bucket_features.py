"""Bucket sub-resources that tools read on every bucket (Terraform's `aws_s3_bucket` read, Ansible's
`s3_bucket`): website, transfer acceleration, request payment, access logging, notifications, replication,
and default encryption (Object Lock: object_lock.py).

Each answers what S3 answers for a bucket without the feature: the exact `NoSuch…`/`…NotFoundError` code,
or S3's default document where the feature has one (an empty logging status, `Payer: BucketOwner`, no
acceleration status). Website configuration is stored and returned (it is data; this gateway serves no
website endpoint). Turning on what this gateway cannot do — delivering access logs or notifications,
requester billing, replication, acceleration — is refused with NotImplemented rather than accepted and
silently not done; putting back the default (e.g. disabling logging) succeeds.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import acl
from .common import get_bucket_config, s3_handler, set_bucket_config

MAX_ROUTING_RULES = 50


async def _owned(ctx: RequestContext) -> str:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    return bucket


# ---- website -------------------------------------------------------------------------------------------
def validate_website(config: dict[str, Any] | None) -> dict[str, Any]:
    config = config or {}
    redirect, index = config.get("RedirectAllRequestsTo"), config.get("IndexDocument")
    if redirect is not None:
        if not redirect.get("HostName"):
            raise errors.InvalidArgument("RedirectAllRequestsTo HostName is required")
        if index is not None or config.get("ErrorDocument") or config.get("RoutingRules"):
            raise errors.InvalidArgument("RedirectAllRequestsTo cannot be provided in conjunction with other "
                                         "Routing/Redirect configurations.")
        return {"RedirectAllRequestsTo": redirect}
    suffix = (index or {}).get("Suffix")
    if not suffix:
        raise errors.InvalidArgument("A value for IndexDocument Suffix must be provided if "
                                     "RedirectAllRequestsTo is empty")
    if "/" in suffix:
        raise errors.InvalidArgument("The IndexDocument Suffix is not well formed",
                                     ArgumentName="IndexDocument", ArgumentValue=suffix)
    error_doc = config.get("ErrorDocument")
    if error_doc is not None and not error_doc.get("Key"):
        raise errors.InvalidArgument("The ErrorDocument Key is not well formed")
    rules = config.get("RoutingRules") or []
    if len(rules) > MAX_ROUTING_RULES:
        raise errors.MalformedXML()
    for rule in rules:
        if not rule.get("Redirect"):
            raise errors.MalformedXML()
    return {k: config[k] for k in ("IndexDocument", "ErrorDocument", "RoutingRules") if config.get(k)}


@s3_handler("PutBucketWebsite")
async def put_bucket_website(ctx: RequestContext) -> dict:
    bucket = await _owned(ctx)
    await set_bucket_config(ctx, bucket, "website", validate_website(ctx.params.get("WebsiteConfiguration")))
    return {}


@s3_handler("GetBucketWebsite")
async def get_bucket_website(ctx: RequestContext) -> dict:
    bucket = await _owned(ctx)
    config = await get_bucket_config(ctx, bucket, "website")
    if not config:
        raise errors.NoSuchWebsiteConfiguration(BucketName=bucket)
    return config


@s3_handler("DeleteBucketWebsite")
async def delete_bucket_website(ctx: RequestContext) -> dict:
    await set_bucket_config(ctx, await _owned(ctx), "website", None)
    return {}


# ---- features this gateway has off, and reports as off -----------------------------------------------------
@s3_handler("GetBucketAccelerateConfiguration")
async def get_bucket_accelerate(ctx: RequestContext) -> dict:
    await _owned(ctx)
    return {}  # never enabled: S3 answers an AccelerateConfiguration without Status


@s3_handler("PutBucketAccelerateConfiguration")
async def put_bucket_accelerate(ctx: RequestContext) -> dict:
    await _owned(ctx)
    status = (ctx.params.get("AccelerateConfiguration") or {}).get("Status")
    if status not in ("Enabled", "Suspended"):
        raise errors.MalformedXML()
    if status == "Enabled":
        raise errors.S3NotImplemented("Transfer acceleration is not available on this endpoint.")
    return {}


@s3_handler("GetBucketRequestPayment")
async def get_bucket_request_payment(ctx: RequestContext) -> dict:
    await _owned(ctx)
    return {"Payer": "BucketOwner"}


@s3_handler("PutBucketRequestPayment")
async def put_bucket_request_payment(ctx: RequestContext) -> dict:
    await _owned(ctx)
    payer = (ctx.params.get("RequestPaymentConfiguration") or {}).get("Payer")
    if payer not in ("BucketOwner", "Requester"):
        raise errors.MalformedXML()
    if payer == "Requester":
        raise errors.S3NotImplemented("Requester Pays is not available on this endpoint.")
    return {}


@s3_handler("GetBucketLogging")
async def get_bucket_logging(ctx: RequestContext) -> dict:
    await _owned(ctx)
    return {}  # an empty BucketLoggingStatus: logging is off


@s3_handler("PutBucketLogging")
async def put_bucket_logging(ctx: RequestContext) -> dict:
    await _owned(ctx)
    if (ctx.params.get("BucketLoggingStatus") or {}).get("LoggingEnabled"):
        raise errors.S3NotImplemented("Server access logging is not available on this endpoint.")
    return {}


@s3_handler("GetBucketNotificationConfiguration")
async def get_bucket_notifications(ctx: RequestContext) -> dict:
    await _owned(ctx)
    return {}


@s3_handler("PutBucketNotificationConfiguration")
async def put_bucket_notifications(ctx: RequestContext) -> dict:
    await _owned(ctx)
    config = ctx.params.get("NotificationConfiguration") or {}
    if "EventBridgeConfiguration" in config or any(v for v in config.values()):
        raise errors.S3NotImplemented("Event notifications are not available on this endpoint.")
    return {}


@s3_handler("GetBucketReplication")
async def get_bucket_replication(ctx: RequestContext) -> dict:
    bucket = await _owned(ctx)
    raise errors.ReplicationConfigurationNotFoundError(BucketName=bucket)


@s3_handler("DeleteBucketReplication")
async def delete_bucket_replication(ctx: RequestContext) -> dict:
    await _owned(ctx)
    return {}


@s3_handler("GetBucketEncryption")
async def get_bucket_encryption(ctx: RequestContext) -> dict:
    # No default encryption happens here, so none is claimed (S3's answer for a bucket without one).
    bucket = await _owned(ctx)
    raise errors.ServerSideEncryptionConfigurationNotFoundError(BucketName=bucket)
