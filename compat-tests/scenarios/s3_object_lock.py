"""Suite "s3", Object Lock: lock-enabled buckets (versioning on for good), default retention, GOVERNANCE that
yields only to the bypass header, legal holds, and lock headers on a bucket without Object Lock.

Only GOVERNANCE retention is used, so every scenario can clean up after itself on any endpoint (a COMPLIANCE
version could not be deleted by anyone until it expires, on AWS as here)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError
from harness import Ctx, Skip, check, expect_error
from harness.expect import outcome_of

from . import scenario
from .s3_common import SUITE, bucket_name, create_kwargs, purge_bucket, temp_bucket


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def _later(days: int = 1) -> dt.datetime:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(microsecond=0)


@contextlib.contextmanager
def locked_bucket(ctx: Ctx, tag: str) -> Iterator[str]:
    """A bucket created with Object Lock; every version is deleted with the governance bypass afterwards."""
    s3 = ctx.client("s3")
    name = bucket_name(tag)
    try:
        info = outcome_of(lambda: s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True, **create_kwargs(ctx)))
    except BotoCoreError as exc:
        raise Skip(f"cannot create a bucket: {exc}") from None
    if info is not None:
        raise Skip(f"no Object Lock here: CreateBucket answered {info.describe()}")
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            listed = s3.list_object_versions(Bucket=name)
            for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
                with contextlib.suppress(Exception):
                    s3.put_object_legal_hold(Bucket=name, Key=v["Key"], VersionId=v["VersionId"],
                                             LegalHold={"Status": "OFF"})
                with contextlib.suppress(Exception):
                    s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"],
                                     BypassGovernanceRetention=True)
        purge_bucket(s3, name)


def _put(s3: Any, bucket: str, key: str, **lock: Any) -> str:
    body = b"locked data"
    return s3.put_object(Bucket=bucket, Key=key, Body=body, ContentMD5=_md5(body), **lock)["VersionId"]


@scenario(SUITE)
def s3_object_lock_bucket_and_default_retention(ctx: Ctx) -> None:
    """A lock-enabled bucket is versioned for good (Suspended: InvalidBucketState 409); its default
    GOVERNANCE retention binds new versions: deleting one is AccessDenied 403 unless bypassed."""
    s3 = ctx.client("s3")
    with locked_bucket(ctx, "lock") as bucket:
        check(s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled", "versioning is not Enabled")
        config = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        check(config.get("ObjectLockEnabled") == "Enabled", f"ObjectLockConfiguration is {config}")
        expect_error("InvalidBucketState", 409, lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}))
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
        vid = _put(s3, bucket, "doc")
        retention = s3.get_object_retention(Bucket=bucket, Key="doc", VersionId=vid)["Retention"]
        check(retention["Mode"] == "GOVERNANCE", f"default retention not applied: {retention}")
        expect_error("AccessDenied", 403, lambda: s3.delete_object(Bucket=bucket, Key="doc", VersionId=vid))
        marker = s3.delete_object(Bucket=bucket, Key="doc")  # no version id: a delete marker, allowed
        check(marker.get("DeleteMarker") is True, "a DELETE without version id did not add a delete marker")
        s3.delete_object(Bucket=bucket, Key="doc", VersionId=vid, BypassGovernanceRetention=True)


@scenario(SUITE)
def s3_object_lock_legal_hold(ctx: Ctx) -> None:
    """A legal hold blocks deleting its version, bypass or not, until it is released."""
    s3 = ctx.client("s3")
    with locked_bucket(ctx, "hold") as bucket:
        vid = _put(s3, bucket, "evidence", ObjectLockLegalHoldStatus="ON",
                   ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_later())
        head = s3.head_object(Bucket=bucket, Key="evidence", VersionId=vid)
        check(head.get("ObjectLockLegalHoldStatus") == "ON" and head.get("ObjectLockMode") == "GOVERNANCE",
              f"HEAD lock headers: {head.get('ObjectLockMode')}, {head.get('ObjectLockLegalHoldStatus')}")
        expect_error("AccessDenied", 403, lambda: s3.delete_object(Bucket=bucket, Key="evidence", VersionId=vid,
                                                                   BypassGovernanceRetention=True))
        s3.put_object_legal_hold(Bucket=bucket, Key="evidence", VersionId=vid, LegalHold={"Status": "OFF"})
        check(s3.get_object_legal_hold(Bucket=bucket, Key="evidence", VersionId=vid)["LegalHold"]["Status"] == "OFF",
              "the legal hold is not OFF after release")
        s3.delete_object(Bucket=bucket, Key="evidence", VersionId=vid, BypassGovernanceRetention=True)


@scenario(SUITE)
def s3_object_lock_headers_need_a_lock_bucket(ctx: Ctx) -> None:
    """Lock headers on a bucket without Object Lock: InvalidRequest 400; its lock configuration:
    ObjectLockConfigurationNotFoundError 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "nolock") as bucket:
        expect_error("InvalidRequest", 400, lambda: _put(s3, bucket, "k", ObjectLockLegalHoldStatus="ON"))
        expect_error("ObjectLockConfigurationNotFoundError", 404,
                     lambda: s3.get_object_lock_configuration(Bucket=bucket))
