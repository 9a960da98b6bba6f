"""Object Lock: lock-enabled buckets, default retention, per-version retention and legal hold, and the
refusal to delete or weaken a locked version — in the gateway, so it holds whatever backend stores the bytes.

- A bucket is lock-enabled at CreateBucket (`x-amz-bucket-object-lock-enabled`) or later by
  PutObjectLockConfiguration on a versioning-enabled bucket; its versioning can never be suspended again.
- A version's lock is fixed when it is written (explicit `x-amz-object-lock-*` headers, else the bucket's
  default retention) and changed only through Put{ObjectRetention,ObjectLegalHold}: COMPLIANCE can only be
  extended, by anyone; GOVERNANCE can be shortened or removed only with `x-amz-bypass-governance-retention`.
- Deleting a locked *version* is AccessDenied; a DELETE without a version id only adds a delete marker,
  and a PUT over the key only adds a version, as S3 does. Lifecycle expiration skips locked versions.

Stored in the shared state (replicas agree): the bucket's configuration (kind "object-lock") and one record
per locked version in NS_OBJECT_LOCK, keyed like the object's extras.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from ..store import Store
from . import acl
from .common import (
    backend_errors,
    get_bucket_config,
    object_extra_key,
    object_store,
    s3_handler,
    set_bucket_config,
)
from .names import version_id_param

NS_OBJECT_LOCK = "s3:object-lock"  # object_extra_key(bucket, key, version) -> {"mode", "until", "hold"}
KIND = "object-lock"               # bucket config: {"rule": {"Mode", "Days"|"Years"} | None}
MODES = ("GOVERNANCE", "COMPLIANCE")
MISSING = "Bucket is missing Object Lock Configuration"
LOCKED = "Access Denied because object protected by object lock."


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _iso(value: dt.datetime) -> str:
    return _utc(value).isoformat()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def bucket_config(ctx: RequestContext, bucket: str) -> dict[str, Any] | None:
    """The bucket's lock configuration (a cached bucket fact), None when the bucket is not lock-enabled."""
    return await get_bucket_config(ctx, bucket, KIND)


async def enable(ctx: RequestContext, bucket: str) -> None:
    """CreateBucket with Object Lock: versioning on (it stays on), no default retention yet."""
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        await store.set_versioning(bucket, True)
    await set_bucket_config(ctx, bucket, KIND, {"rule": None})


# ---- the lock of a new version -------------------------------------------------------------------------------
def _retention(mode: Any, until: Any) -> dict[str, Any] | None:
    if mode is None and until is None:
        return None
    if mode is None or until is None:
        raise errors.InvalidArgument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both "
                                     "be supplied")
    if mode not in MODES:
        raise errors.InvalidArgument("Unknown wormMode directive.", ArgumentName="x-amz-object-lock-mode",
                                     ArgumentValue=str(mode))
    if _utc(until) <= _now():
        raise errors.InvalidArgument("The retain until date must be in the future!")
    return {"mode": mode, "until": _iso(until)}


def _hold(value: Any) -> bool | None:
    if value is None:
        return None
    if value not in ("ON", "OFF"):
        raise errors.InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'",
                                     ArgumentName="x-amz-object-lock-legal-hold", ArgumentValue=str(value))
    return value == "ON"


def _default(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    if not rule:
        return None
    days = rule.get("Days") or 365 * (rule.get("Years") or 0)
    return {"mode": rule["Mode"], "until": _iso(_now() + dt.timedelta(days=days))}


async def for_new_version(ctx: RequestContext, bucket: str, params: dict[str, Any], *,
                          explicit_only: bool = False, integrity: bool = True) -> dict[str, Any] | None:
    """The lock a version written by this request gets (validated before anything is written), or None.
    Lock headers on a bucket without Object Lock are InvalidRequest, as S3 answers. `explicit_only`: only
    what the headers ask (a multipart upload takes the bucket's default when it completes); `integrity`:
    PutObject with lock headers needs Content-MD5 or a checksum header."""
    retention = _retention(params.get("ObjectLockMode"), params.get("ObjectLockRetainUntilDate"))
    hold = _hold(params.get("ObjectLockLegalHoldStatus"))
    config = await bucket_config(ctx, bucket)
    if config is None:
        if retention is not None or hold is not None:
            raise errors.InvalidRequest(MISSING)
        return None
    if integrity and (retention is not None or hold is not None):
        headers = ctx.request.headers
        if "Content-MD5" not in headers and not any(k.lower().startswith("x-amz-checksum-") for k in headers):
            raise errors.InvalidRequest("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                                        "requests with Object Lock parameters")
    lock = dict(retention or (None if explicit_only else _default(config.get("rule"))) or {})
    if hold:
        lock["hold"] = True
    return lock or None


async def at_completion(ctx: RequestContext, bucket: str, explicit: dict[str, Any] | None) -> dict[str, Any] | None:
    """A multipart upload's lock when it completes: what its creation asked, else the bucket's default now."""
    config = await bucket_config(ctx, bucket)
    if config is None:
        return None
    lock = dict(explicit or {})
    if not lock.get("mode"):
        lock.update(_default(config.get("rule")) or {})
    return lock or None


async def record(ctx: RequestContext, bucket: str, key: str, version_id: str | None,
                 lock: dict[str, Any] | None) -> None:
    if lock and version_id:
        await ctx.gateway.store.put(NS_OBJECT_LOCK, object_extra_key(bucket, key, version_id), lock)


async def version_lock(state: Store, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | None:
    if version_id is None:
        return None  # only versions of a lock-enabled (hence versioned) bucket carry locks
    return await state.get(NS_OBJECT_LOCK, object_extra_key(bucket, key, version_id))


async def lock_of(ctx: RequestContext, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | None:
    return await version_lock(ctx.gateway.store, bucket, key, version_id)


async def read_output(ctx: RequestContext, bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    """GetObject/HeadObject lock members; costs nothing beyond the cached bucket fact on other buckets."""
    if version_id is None or await bucket_config(ctx, bucket) is None:
        return {}
    return output(await lock_of(ctx, bucket, key, version_id))


def output(lock: dict[str, Any] | None) -> dict[str, Any]:
    """GetObject/HeadObject members for a version's lock."""
    if not lock:
        return {}
    out: dict[str, Any] = {}
    if lock.get("mode"):
        out["ObjectLockMode"] = lock["mode"]
        out["ObjectLockRetainUntilDate"] = dt.datetime.fromisoformat(lock["until"])
    out["ObjectLockLegalHoldStatus"] = "ON" if lock.get("hold") else "OFF"
    return out


def _retained(lock: dict[str, Any]) -> bool:
    return bool(lock.get("mode")) and dt.datetime.fromisoformat(lock["until"]) > _now()


def bypass_allowed(ctx: RequestContext, owner_id: str, bypass: Any) -> bool:
    """x-amz-bypass-governance-retention, honoured for the bucket owner (who holds
    s3:BypassGovernanceRetention on their own bucket)."""
    return bool(bypass) and ctx.identity is not None and ctx.identity.account_id == owner_id


async def check_delete(ctx: RequestContext, bucket: str, key: str, version_id: str | None,
                       *, bypass: bool) -> None:
    """AccessDenied when the version is under legal hold, COMPLIANCE retention, or GOVERNANCE retention
    without an allowed bypass. A delete without a version id adds a delete marker: never refused here."""
    lock = await lock_of(ctx, bucket, key, version_id)
    if not lock:
        return
    if lock.get("hold"):
        raise errors.AccessDenied(LOCKED)
    if _retained(lock) and (lock["mode"] == "COMPLIANCE" or not bypass):
        raise errors.AccessDenied(LOCKED)


async def forget(ctx: RequestContext, bucket: str, key: str, version_id: str | None) -> None:
    if version_id is not None:
        await ctx.gateway.store.delete(NS_OBJECT_LOCK, object_extra_key(bucket, key, version_id))


async def is_locked(state: Store, bucket: str, key: str, version_id: str | None) -> bool:
    """For lifecycle: any hold or live retention keeps the version, bypass or not."""
    lock = await version_lock(state, bucket, key, version_id)
    return bool(lock) and (bool(lock.get("hold")) or _retained(lock))


# ---- configuration --------------------------------------------------------------------------------------------
def _validate_rule(config: dict[str, Any]) -> dict[str, Any] | None:
    if config.get("ObjectLockEnabled") != "Enabled":
        raise errors.MalformedXML()
    default = (config.get("Rule") or {}).get("DefaultRetention")
    if default is None:
        return None
    mode, days, years = default.get("Mode"), default.get("Days"), default.get("Years")
    if mode not in MODES or (days is None) == (years is None):
        raise errors.MalformedXML()
    if (days is not None and days <= 0) or (years is not None and years <= 0):
        raise errors.InvalidArgument("Default retention period must be a positive integer value",
                                     ArgumentName="ObjectLockConfiguration")
    return {"Mode": mode, **({"Days": days} if days is not None else {"Years": years})}


@s3_handler("PutObjectLockConfiguration")
async def put_object_lock_configuration(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    rule = _validate_rule(ctx.params.get("ObjectLockConfiguration") or {})
    if await bucket_config(ctx, bucket) is None:
        store = await object_store(ctx)
        with backend_errors(bucket=bucket):
            info = await store.head_container(bucket)
        if info.versioning is not True:
            raise errors.InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                                            "configuration")
    await set_bucket_config(ctx, bucket, KIND, {"rule": rule})
    return {}


@s3_handler("GetObjectLockConfiguration")
async def get_object_lock_configuration(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    config = await bucket_config(ctx, bucket)
    if config is None:
        raise errors.ObjectLockConfigurationNotFoundError(BucketName=bucket)
    out: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if config.get("rule"):
        out["Rule"] = {"DefaultRetention": config["rule"]}
    return {"ObjectLockConfiguration": out}


# ---- per-version retention and legal hold -----------------------------------------------------------------------
async def _target(ctx: RequestContext, permission: str) -> tuple[str, str, str, str]:
    """(bucket, key, version id, bucket owner) of a retention/legal-hold request: the named version, else
    the current one; InvalidRequest on a bucket without Object Lock."""
    p = ctx.params
    bucket, key = p["Bucket"], p["Key"]
    version_id = version_id_param(p.get("VersionId"))
    await acl.require(ctx, bucket, key, permission, version_id=version_id)
    owner_id = await acl.resolve_owner(ctx, bucket)
    if await bucket_config(ctx, bucket) is None:
        raise errors.InvalidRequest(MISSING)
    store = await object_store(ctx)
    with backend_errors(bucket=bucket, key=key, version_id=version_id):
        info = await store.head_object(bucket, key, version_id=version_id)
    if info.version_id is None:
        raise errors.InvalidRequest(MISSING)  # a "null" version predates the lock: S3 refuses it too
    return bucket, key, info.version_id, owner_id


@s3_handler("PutObjectRetention")
async def put_object_retention(ctx: RequestContext) -> dict:
    bucket, key, version_id, owner_id = await _target(ctx, "WRITE")
    given = ctx.params.get("Retention") or {}
    new = _retention(given.get("Mode"), given.get("RetainUntilDate")) if given else None
    # weakening a live retention: COMPLIANCE, no one; GOVERNANCE, only with the bypass header and permission
    bypass = bypass_allowed(ctx, owner_id, ctx.params.get("BypassGovernanceRetention"))

    def change(current: dict[str, Any]) -> dict[str, Any]:
        if _retained(current) and _weakens(current, new) and (current["mode"] == "COMPLIANCE" or not bypass):
            raise errors.AccessDenied(LOCKED)
        lock = {k: v for k, v in current.items() if k == "hold"}
        lock.update(new or {})
        return lock

    await _change(ctx, bucket, key, version_id, change)
    return {}


def _weakens(current: dict[str, Any], new: dict[str, Any] | None) -> bool:
    """Removing a live retention, changing its mode or bringing its date forward; extending is not."""
    if new is None or new["mode"] != current["mode"]:
        return True
    return dt.datetime.fromisoformat(new["until"]) < dt.datetime.fromisoformat(current["until"])


@s3_handler("GetObjectRetention")
async def get_object_retention(ctx: RequestContext) -> dict:
    bucket, key, version_id, _ = await _target(ctx, "READ")
    lock = await lock_of(ctx, bucket, key, version_id) or {}
    if not lock.get("mode"):
        raise errors.NoSuchObjectLockConfiguration()
    return {"Retention": {"Mode": lock["mode"], "RetainUntilDate": dt.datetime.fromisoformat(lock["until"])}}


@s3_handler("PutObjectLegalHold")
async def put_object_legal_hold(ctx: RequestContext) -> dict:
    bucket, key, version_id, _ = await _target(ctx, "WRITE")
    status = (ctx.params.get("LegalHold") or {}).get("Status")
    if status not in ("ON", "OFF"):
        raise errors.MalformedXML()
    await _change(ctx, bucket, key, version_id, lambda lock: {**lock, "hold": status == "ON"})
    return {}


@s3_handler("GetObjectLegalHold")
async def get_object_legal_hold(ctx: RequestContext) -> dict:
    bucket, key, version_id, _ = await _target(ctx, "READ")
    lock = await lock_of(ctx, bucket, key, version_id) or {}
    if "hold" not in lock and not lock.get("mode"):
        raise errors.NoSuchObjectLockConfiguration()
    return {"LegalHold": {"Status": "ON" if lock.get("hold") else "OFF"}}


async def _change(ctx: RequestContext, bucket: str, key: str, version_id: str,
                  change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Retention and legal hold share one record: each change is a compare-and-set of it (replicas setting
    both at once keep both); `change` may raise (nothing is written then) and may run more than once."""
    await ctx.gateway.store.update(NS_OBJECT_LOCK, object_extra_key(bucket, key, version_id),
                                   lambda current: change(dict(current or {})) or None)
