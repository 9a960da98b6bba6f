"""Object Lock on a real Swift: lock-enabled buckets, default retention, retention and legal hold per version,
and the refusals S3 makes — a COMPLIANCE version cannot be deleted or shortened by anyone, its owner
included; GOVERNANCE only with the bypass header; a legal hold blocks deletion whatever the retention."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from .s3cfg_support import assert_error

UTC = dt.UTC


def _later(days: int = 1) -> dt.datetime:
    return (dt.datetime.now(UTC) + dt.timedelta(days=days)).replace(microsecond=0)


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@pytest.fixture()
def s3(s3_gateway: Any) -> Any:
    return s3_gateway.client_a()


@pytest.fixture()
def locked(s3: Any, bucket: Callable[..., str]) -> str:
    """A versioned bucket with Object Lock turned on (PutObjectLockConfiguration, as AWS allows since 2023)."""
    name = bucket(versioned=True)
    s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    return name


def _put(s3: Any, bucket: str, key: str, body: bytes = b"data", **lock: Any) -> str:
    return s3.put_object(Bucket=bucket, Key=key, Body=body, ContentMD5=_md5(body), **lock)["VersionId"]


def test_create_bucket_with_object_lock_turns_versioning_on_for_good(s3: Any, s3_gateway: Any,
                                                                    request: pytest.FixtureRequest) -> None:
    name = f"cg-lock-{abs(hash(request.node.name)) % 10**8}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    try:
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        assert s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"] == {
            "ObjectLockEnabled": "Enabled"}
        assert_error(lambda: s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"}),
                     "InvalidBucketState", 409)
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    finally:
        s3.delete_bucket(Bucket=name)


def test_lock_configuration_needs_versioning_and_a_valid_rule(s3: Any, bucket: Callable[..., str]) -> None:
    plain = bucket()
    assert_error(lambda: s3.put_object_lock_configuration(
        Bucket=plain, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}), "InvalidBucketState", 409)
    assert_error(lambda: s3.get_object_lock_configuration(Bucket=plain), "ObjectLockConfigurationNotFoundError", 404)
    assert_error(lambda: s3.put_object(Bucket=plain, Key="k", Body=b"x", ContentMD5=_md5(b"x"),
                                       ObjectLockLegalHoldStatus="ON"), "InvalidRequest", 400)
    versioned = bucket(versioned=True)
    for rule in ({"Mode": "GOVERNANCE"}, {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, {"Mode": "NONE", "Days": 1}):
        assert_error(lambda rule=rule: s3.put_object_lock_configuration(Bucket=versioned, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}}), "MalformedXML", 400)


def test_compliance_retention_binds_even_the_owner(s3: Any, locked: str) -> None:
    until = _later()
    vid = _put(s3, locked, "ledger", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    head = s3.head_object(Bucket=locked, Key="ledger", VersionId=vid)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"], head["ObjectLockLegalHoldStatus"]) == (
        "COMPLIANCE", until, "OFF")
    assert_error(lambda: s3.delete_object(Bucket=locked, Key="ledger", VersionId=vid), "AccessDenied", 403)
    assert_error(lambda: s3.delete_object(Bucket=locked, Key="ledger", VersionId=vid,
                                          BypassGovernanceRetention=True), "AccessDenied", 403)
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": until - dt.timedelta(hours=1)}
    assert_error(lambda: s3.put_object_retention(Bucket=locked, Key="ledger", VersionId=vid, Retention=shorter,
                                                 BypassGovernanceRetention=True), "AccessDenied", 403)
    assert_error(lambda: s3.put_object_retention(Bucket=locked, Key="ledger", VersionId=vid, Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": until}), "AccessDenied", 403)
    longer = until + dt.timedelta(days=1)
    s3.put_object_retention(Bucket=locked, Key="ledger", VersionId=vid,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
    assert s3.get_object_retention(Bucket=locked, Key="ledger", VersionId=vid)["Retention"] == {
        "Mode": "COMPLIANCE", "RetainUntilDate": longer}
    # a DELETE without a version id only adds a delete marker; the locked version stays readable
    assert s3.delete_object(Bucket=locked, Key="ledger")["DeleteMarker"] is True
    assert s3.get_object(Bucket=locked, Key="ledger", VersionId=vid)["Body"].read() == b"data"
    batch = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "ledger", "VersionId": vid}]})
    assert [(e["Key"], e["Code"]) for e in batch["Errors"]] == [("ledger", "AccessDenied")]


def test_governance_yields_only_to_the_bypass_header(s3: Any, locked: str) -> None:
    vid = _put(s3, locked, "draft", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_later())
    assert_error(lambda: s3.delete_object(Bucket=locked, Key="draft", VersionId=vid), "AccessDenied", 403)
    assert_error(lambda: s3.put_object_retention(Bucket=locked, Key="draft", VersionId=vid, Retention={}),
                 "AccessDenied", 403)
    s3.put_object_retention(Bucket=locked, Key="draft", VersionId=vid, Retention={},
                            BypassGovernanceRetention=True)
    assert_error(lambda: s3.get_object_retention(Bucket=locked, Key="draft", VersionId=vid),
                 "NoSuchObjectLockConfiguration", 404)
    vid2 = _put(s3, locked, "draft2", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_later())
    s3.delete_object(Bucket=locked, Key="draft2", VersionId=vid2, BypassGovernanceRetention=True)
    assert_error(lambda: s3.head_object(Bucket=locked, Key="draft2", VersionId=vid2), "404", 404)


def test_a_legal_hold_blocks_deletion_until_released(s3: Any, locked: str) -> None:
    vid = _put(s3, locked, "evidence", ObjectLockLegalHoldStatus="ON")
    assert s3.get_object_legal_hold(Bucket=locked, Key="evidence", VersionId=vid)["LegalHold"] == {"Status": "ON"}
    assert_error(lambda: s3.delete_object(Bucket=locked, Key="evidence", VersionId=vid,
                                          BypassGovernanceRetention=True), "AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=locked, Key="evidence", VersionId=vid, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="evidence", VersionId=vid)["LegalHold"] == {"Status": "OFF"}
    s3.delete_object(Bucket=locked, Key="evidence", VersionId=vid)


def test_default_retention_applies_to_puts_multipart_and_copies(s3: Any, locked: str) -> None:
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}})
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"] == {
        "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}
    plain = s3.put_object(Bucket=locked, Key="plain", Body=b"x")["VersionId"]
    up = s3.create_multipart_upload(Bucket=locked, Key="multi")
    part = s3.upload_part(Bucket=locked, Key="multi", UploadId=up["UploadId"], PartNumber=1, Body=b"y")
    multi = s3.complete_multipart_upload(Bucket=locked, Key="multi", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})["VersionId"]
    copied = s3.copy_object(Bucket=locked, Key="copy", CopySource={"Bucket": locked, "Key": "plain"})["VersionId"]
    for key, vid in (("plain", plain), ("multi", multi), ("copy", copied)):
        retention = s3.get_object_retention(Bucket=locked, Key=key, VersionId=vid)["Retention"]
        assert retention["Mode"] == "GOVERNANCE"
        left = retention["RetainUntilDate"] - dt.datetime.now(UTC)
        assert dt.timedelta(days=1, hours=23) < left <= dt.timedelta(days=2), key
        assert_error(lambda key=key, vid=vid: s3.delete_object(Bucket=locked, Key=key, VersionId=vid),
                     "AccessDenied", 403)


@pytest.mark.parametrize("lock, code", [
    ({"ObjectLockMode": "COMPLIANCE"}, "InvalidArgument"),
    ({"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": dt.datetime(2000, 1, 1, tzinfo=UTC)},
     "InvalidArgument"),
])
def test_bad_lock_headers_are_refused_before_anything_is_written(s3: Any, locked: str, lock: dict,
                                                                 code: str) -> None:
    assert_error(lambda: _put(s3, locked, "bad", **lock), code, 400)
    assert "Versions" not in s3.list_object_versions(Bucket=locked, Prefix="bad")


def test_lock_headers_need_an_integrity_header(s3_gateway: Any, locked: str) -> None:
    # boto3 adds a checksum on its own: a raw request shows what S3 asks of a client that sends none
    from .s3_support import raw
    from .s3cfg_support import error_code

    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{locked}/held", body=b"x",
                          headers={"x-amz-object-lock-legal-hold": "ON"})
    assert (status, error_code(body)) == (400, "InvalidRequest")
    status, _, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{locked}/held", body=b"x",
                       headers={"x-amz-object-lock-legal-hold": "ON", "Content-MD5": _md5(b"x")})
    assert status == 200


def test_retention_and_legal_hold_set_at_once_both_stay(s3: Any, locked: str) -> None:
    """Retention and legal hold live in one record: set together (as two replicas, or two clients, may), each
    change is a compare-and-set of it, so neither is lost (a read-then-write lost one)."""
    vid = _put(s3, locked, "both")
    try:
        with ThreadPoolExecutor(2) as pool:
            for round_ in range(6):
                until = _later(days=2 + round_)
                hold = "ON" if round_ % 2 == 0 else "OFF"
                done = [pool.submit(s3.put_object_retention, Bucket=locked, Key="both", VersionId=vid,
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}),
                        pool.submit(s3.put_object_legal_hold, Bucket=locked, Key="both", VersionId=vid,
                                    LegalHold={"Status": hold})]
                for f in done:
                    f.result()
                retention = s3.get_object_retention(Bucket=locked, Key="both", VersionId=vid)["Retention"]
                assert retention["RetainUntilDate"] == until, round_
                assert s3.get_object_legal_hold(Bucket=locked, Key="both", VersionId=vid)["LegalHold"] == {
                    "Status": hold}, round_
    finally:
        s3.put_object_legal_hold(Bucket=locked, Key="both", VersionId=vid, LegalHold={"Status": "OFF"})
        s3.delete_object(Bucket=locked, Key="both", VersionId=vid, BypassGovernanceRetention=True)
