"""Suite "s3", server-side encryption: SSE-C (customer keys: round trip, ranges, the exact refusals without
the key or with another one), SSE-S3 (AES256: headers, plaintext ETag and sizes), bucket default
encryption (what GetBucketEncryption claims must match what objects report), copies between encryptions
and SSE-C multipart uploads.

SSE-C needs HTTPS on AWS; an endpoint that refuses it over plain HTTP ("secure connection") skips the
SSE-C scenarios rather than failing them."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from harness import Ctx, Skip, check, expect_error
from harness.expect import outcome_of

from . import scenario
from .s3_common import PART, SUITE, blob, md5_hex, temp_bucket, unquote_etag


def _key() -> bytes:
    return os.urandom(32)


def _c(key: bytes) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def _src(key: bytes) -> dict[str, Any]:
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


def _put_sse_c(s3: Any, bucket: str, key: str, body: bytes, customer: bytes) -> dict[str, Any]:
    info = outcome_of(lambda: s3.put_object(Bucket=bucket, Key=key, Body=body, **_c(customer)))
    if info is not None and info.code == "InvalidRequest" and "secure connection" in (info.message or ""):
        raise Skip("the endpoint refuses SSE-C over plain HTTP, as AWS does")
    check(info is None, f"SSE-C PUT failed: {info.describe() if info else ''}")
    return s3.head_object(Bucket=bucket, Key=key, **_c(customer))


@scenario(SUITE)
def s3_sse_c_round_trip_and_refusals(ctx: Ctx) -> None:
    """SSE-C: the key reads the object (whole, ranged, HEAD); no key is InvalidRequest 400, another key
    AccessDenied 403, a wrong key MD5 InvalidArgument 400."""
    s3 = ctx.client("s3")
    data, key, other = blob(200_000, seed=41), _key(), _key()
    with temp_bucket(ctx, "ssec") as bucket:
        head = _put_sse_c(s3, bucket, "obj", data, key)
        check(head["ContentLength"] == len(data), f"HEAD ContentLength {head['ContentLength']} != {len(data)}")
        check(head.get("SSECustomerAlgorithm") == "AES256", "HEAD does not report SSECustomerAlgorithm")
        got = s3.get_object(Bucket=bucket, Key="obj", **_c(key))["Body"].read()
        check(got == data, "GET with the key returned other bytes")
        part = s3.get_object(Bucket=bucket, Key="obj", Range="bytes=65000-140000", **_c(key))["Body"].read()
        check(part == data[65000:140001], "ranged GET with the key returned other bytes")
        expect_error("InvalidRequest", 400, lambda: s3.get_object(Bucket=bucket, Key="obj"))
        expect_error("AccessDenied", 403, lambda: s3.get_object(Bucket=bucket, Key="obj", **_c(other)))
        bad_md5 = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
                   "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(other).digest()).decode()}
        expect_error("InvalidArgument", 400, lambda: s3.put_object(Bucket=bucket, Key="k2", Body=b"x", **bad_md5))


@scenario(SUITE)
def s3_sse_s3_object(ctx: Ctx) -> None:
    """SSE-S3 (AES256): PUT/GET/HEAD report it, the ETag is the plaintext MD5, listings show the size."""
    s3 = ctx.client("s3")
    data = blob(150_000, seed=42)
    with temp_bucket(ctx, "sses3") as bucket:
        put = s3.put_object(Bucket=bucket, Key="obj", Body=data, ServerSideEncryption="AES256")
        check(put.get("ServerSideEncryption") == "AES256", "PUT does not report ServerSideEncryption")
        check(unquote_etag(put["ETag"]) == md5_hex(data), f"ETag {put['ETag']} is not the plaintext MD5")
        got = s3.get_object(Bucket=bucket, Key="obj")
        check(got["Body"].read() == data and got.get("ServerSideEncryption") == "AES256", "GET differs")
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
        check(listed["Size"] == len(data), f"listed Size {listed['Size']} != {len(data)}")
        check(unquote_etag(listed["ETag"]) == md5_hex(data), f"listed ETag {listed['ETag']}")


@scenario(SUITE)
def s3_sse_bucket_default_matches_objects(ctx: Ctx) -> None:
    """PutBucketEncryption AES256 encrypts new objects; after DeleteBucketEncryption, objects report
    encryption exactly when GetBucketEncryption still claims a default (AWS: SSE-S3 always)."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "ssedef") as bucket:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        check(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", f"rule {rule}")
        put = s3.put_object(Bucket=bucket, Key="a", Body=b"data")
        check(put.get("ServerSideEncryption") == "AES256", "the default did not encrypt the object")
        s3.delete_bucket_encryption(Bucket=bucket)
        info = outcome_of(lambda: s3.get_bucket_encryption(Bucket=bucket))
        put = s3.put_object(Bucket=bucket, Key="b", Body=b"data")
        if info is None:
            check(put.get("ServerSideEncryption") == "AES256", "a default is claimed but the object is clear")
        else:
            expect_error("ServerSideEncryptionConfigurationNotFoundError", 404,
                         lambda: s3.get_bucket_encryption(Bucket=bucket))
            check(put.get("ServerSideEncryption") is None, "no default is claimed but the object says encrypted")


@scenario(SUITE)
def s3_sse_copy_between_encryptions(ctx: Ctx) -> None:
    """CopyObject SSE-C → SSE-C (new key) → SSE-S3 → unencrypted keeps the bytes; the source key is needed."""
    s3 = ctx.client("s3")
    data, k1, k2 = blob(100_000, seed=43), _key(), _key()
    with temp_bucket(ctx, "ssecopy") as bucket:
        _put_sse_c(s3, bucket, "c1", data, k1)
        expect_error("InvalidRequest", 400, lambda: s3.copy_object(Bucket=bucket, Key="x",
                                                                   CopySource={"Bucket": bucket, "Key": "c1"}))
        s3.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "c1"}, **_src(k1), **_c(k2))
        out = s3.copy_object(Bucket=bucket, Key="s3", CopySource={"Bucket": bucket, "Key": "c2"}, **_src(k2),
                             ServerSideEncryption="AES256")
        check(out.get("ServerSideEncryption") == "AES256", "copy to SSE-S3 does not report it")
        s3.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": "s3"})
        for key, extra in (("c2", _c(k2)), ("s3", {}), ("plain", {})):
            got = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
            check(got == data, f"copy {key} changed the bytes")


@scenario(SUITE)
def s3_sse_c_multipart(ctx: Ctx) -> None:
    """An SSE-C multipart upload: every part brings the key (InvalidRequest 400 without); the object
    reads back with it, across the part boundary."""
    s3 = ctx.client("s3")
    key = _key()
    parts_data = [blob(PART, seed=44), blob(70_000, seed=45)]
    with temp_bucket(ctx, "ssecmp") as bucket:
        _put_sse_c(s3, bucket, "probe", b"x", key)
        uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", **_c(key))["UploadId"]
        expect_error("InvalidRequest", 400, lambda: s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid,
                                                                   PartNumber=1, Body=parts_data[0]))
        parts = []
        for n, body in enumerate(parts_data, 1):
            etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n, Body=body, **_c(key))["ETag"]
            parts.append({"PartNumber": n, "ETag": etag})
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts},
                                     **_c(key))
        whole = b"".join(parts_data)
        got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={PART - 10}-{PART + 9}", **_c(key))
        check(got["Body"].read() == whole[PART - 10:PART + 10], "ranged GET across parts differs")
        check(s3.head_object(Bucket=bucket, Key="mp", **_c(key))["ContentLength"] == len(whole), "size differs")
        expect_error("InvalidRequest", 400, lambda: s3.get_object(Bucket=bucket, Key="mp"))
