"""What every S3 handler module shares: registration, the caller's object store, the mapping of neutral
backend errors to exact S3 errors, owner identity, and gateway-held bucket/object state.

Handlers are `async def handler(ctx) -> dict` returning the botocore output shape for the operation;
`@s3_handler("PutObject")` registers one. The codec does the wire format; handlers never write XML.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from backends import base
from backends.base import ObjectStore

from ..auth.accounts import looks_like_cloud_id
from ..context import RequestContext
from ..protocol import errors
from ..registry import Handler, default_registry
from ..session import NoBackend, session

# Gateway state namespaces (gateway/store). Keys are "<account>/<bucket>[/...]".
NS_BUCKET_OWNER = "s3:bucket-owner"    # bucket name -> account id (S3 names are global, Swift's are not)
NS_BUCKET_CONFIG = "s3:bucket-config"  # "<bucket>/<kind>" -> configuration (tagging, acl, cors, lifecycle...)
NS_OBJECT_EXTRA = "s3:object-extra"    # "<bucket>/<key>\0<version or 'null'>" -> {"tags": ..., "acl": ...}


def s3_handler(operation: str, *, anonymous: bool = False) -> Callable[[Handler], Handler]:
    """Register an S3 handler in the default registry (anonymous=True: it enforces ACLs itself)."""
    return default_registry().register("s3", operation, anonymous=anonymous)


async def object_store(ctx: RequestContext) -> ObjectStore:
    """The caller's object store (the request's session fetches it once)."""
    try:
        with backend_errors():
            return await session(ctx).object_store()
    except NoBackend:
        raise errors.S3NotImplemented("No object storage backend is configured.") from None


def owner(ctx: RequestContext) -> dict[str, str]:
    """The Owner element for the caller (canonical id = account id; AWS uses a 64-hex id)."""
    ident = ctx.identity
    if ident is None:
        return {"ID": "anonymous", "DisplayName": "anonymous"}
    return {"ID": ident.account_id, "DisplayName": ident.display_name}


async def stored_account(ctx: RequestContext, value: str | None) -> str | None:
    """An account id read from state as the account number callers have: records written before account
    numbers existed (cloud backends) hold the cloud's account id, mapped here on read (docs/state.md)."""
    accounts = getattr(ctx.gateway, "accounts", None)
    if value and accounts is not None and accounts.cloud_accounts and looks_like_cloud_id(value):
        return await accounts.number(value)
    return value


async def stored_acl(ctx: RequestContext, doc: Any) -> Any:
    """A stored ACL document with its owner and canonical-user grantees as account numbers (stored_account)."""
    if not isinstance(doc, dict):
        return doc
    out = dict(doc)
    if out.get("owner"):
        out["owner"] = await stored_account(ctx, str(out["owner"]))
    if isinstance(out.get("grants"), list):
        grants = []
        for grant in out["grants"]:
            grantee = grant.get("grantee") if isinstance(grant, dict) else None
            if isinstance(grantee, dict) and grantee.get("type") == "CanonicalUser" and grantee.get("id"):
                grant = {**grant, "grantee": {**grantee, "id": await stored_account(ctx, str(grantee["id"]))}}
            grants.append(grant)
        out["grants"] = grants
    return out


@contextlib.contextmanager
def backend_errors(bucket: str | None = None, key: str | None = None,
                   version_id: str | None = None, upload_id: str | None = None) -> Iterator[None]:
    """Translate neutral backend errors into the exact S3 error for this resource."""
    try:
        yield
    except base.NotFound as e:
        if e.kind == "container" or key is None:
            raise errors.NoSuchBucket(BucketName=bucket) from None
        if e.kind == "upload":
            raise errors.NoSuchUpload(UploadId=upload_id) from None
        if e.kind == "version" or version_id is not None:
            raise errors.NoSuchVersion(Key=key, VersionId=version_id) from None
        raise errors.NoSuchKey(Key=key) from None
    except base.Conflict:
        raise errors.BucketNotEmpty(BucketName=bucket) from None
    except base.AlreadyExists:
        raise errors.BucketAlreadyExists(BucketName=bucket) from None
    except base.PreconditionFailed:
        raise errors.PreconditionFailed(Condition="If-None-Match") from None
    except base.ChecksumMismatch:
        raise errors.BadDigest() from None
    except base.RangeNotSatisfiable as e:
        raise errors.InvalidRange(ActualObjectSize=e.size) from None
    except base.Forbidden:
        raise errors.AccessDenied() from None
    except base.QuotaExceeded:
        raise errors.QuotaExceeded() from None
    except base.InvalidInput as e:
        raise errors.InvalidArgument(str(e)) from None
    except base.NotSupported as e:
        raise errors.S3NotImplemented(str(e)) from None
    except base.Unavailable:
        raise errors.S3ServiceUnavailable() from None


# ---- gateway-held state -------------------------------------------------------------------------------
async def get_bucket_config(ctx: RequestContext, bucket: str, kind: str) -> Any | None:
    return await ctx.gateway.store.get(NS_BUCKET_CONFIG, f"{bucket}/{kind}")


async def set_bucket_config(ctx: RequestContext, bucket: str, kind: str, value: Any | None) -> None:
    """Store (or with None, delete) one configuration of a bucket: tagging, acl, cors, lifecycle..."""
    if value is None:
        await ctx.gateway.store.delete(NS_BUCKET_CONFIG, f"{bucket}/{kind}")
    else:
        await ctx.gateway.store.put(NS_BUCKET_CONFIG, f"{bucket}/{kind}", value)


def object_extra_key(bucket: str, key: str, version_id: str | None) -> str:
    return f"{bucket}/{key}\0{version_id or 'null'}"


async def get_object_extra(ctx: RequestContext, bucket: str, key: str, version_id: str | None) -> dict:
    """Per-object state the backend can't hold (tags, ACL): {} when none."""
    return await ctx.gateway.store.get(NS_OBJECT_EXTRA, object_extra_key(bucket, key, version_id)) or {}


async def set_object_extra(ctx: RequestContext, bucket: str, key: str, version_id: str | None,
                           extra: dict | None) -> None:
    k = object_extra_key(bucket, key, version_id)
    if extra:
        await ctx.gateway.store.put(NS_OBJECT_EXTRA, k, extra)
    else:
        await ctx.gateway.store.delete(NS_OBJECT_EXTRA, k)


async def update_object_extra(ctx: RequestContext, bucket: str, key: str, version_id: str | None,
                              fn: Callable[[dict], dict]) -> None:
    """Read-modify-write of an object's extras, atomic across replicas (a tags write and an ACL write
    racing on two replicas both land): `fn(current extras) -> new extras` ({} deletes), maybe retried."""
    await ctx.gateway.store.update(NS_OBJECT_EXTRA, object_extra_key(bucket, key, version_id),
                                   lambda cur: fn(dict(cur or {})) or None)
