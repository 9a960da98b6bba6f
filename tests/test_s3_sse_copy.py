"""Encryption across multipart uploads and copies on a real Swift: encrypted multipart uploads (SSE-C with
the same key on every part, SSE-S3 by bucket default), ranged reads across part boundaries, UploadPartCopy
and CopyObject between encrypted and unencrypted objects in every direction, and their refusals."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import pytest

from .s3cfg_support import assert_error
from .test_s3_sse import _assert_ciphertext, _c, _stored

KEY, OTHER = os.urandom(32), os.urandom(32)
MiB = 1024 * 1024
PART1 = (b"cloudgate-plaintext-marker " * (5 * MiB // 27 + 1))[:5 * MiB]
PART2 = b"cloudgate-plaintext-marker tail " * 3000


def _src(key: bytes) -> dict[str, Any]:
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


@pytest.fixture()
def s3(s3_gateway: Any) -> Any:
    return s3_gateway.client_a()


def _multipart(s3: Any, b: str, key: str, enc: dict[str, Any]) -> dict[str, Any]:
    up = s3.create_multipart_upload(Bucket=b, Key=key, **enc)
    uid = up["UploadId"]
    parts = []
    for n, data in ((1, PART1), (2, PART2)):
        part = s3.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=n, Body=data, **enc)
        parts.append({"PartNumber": n, "ETag": part["ETag"]})
    sizes = [p["Size"] for p in s3.list_parts(Bucket=b, Key=key, UploadId=uid)["Parts"]]
    assert sizes == [len(PART1), len(PART2)]
    done = s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})
    assert done["ETag"].endswith('-2"')
    return {"create": up, "complete": done}


def test_sse_c_multipart(s3: Any, s3_gateway: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    out = _multipart(s3, b, "mp", _c(KEY))
    assert out["create"]["SSECustomerAlgorithm"] == "AES256"
    whole = PART1 + PART2
    got = s3.get_object(Bucket=b, Key="mp", **_c(KEY))
    assert got["ContentLength"] == len(whole) and got["Body"].read() == whole
    across = s3.get_object(Bucket=b, Key="mp", Range=f"bytes={len(PART1) - 100}-{len(PART1) + 99}", **_c(KEY))
    assert across["Body"].read() == whole[len(PART1) - 100:len(PART1) + 100]
    tail = s3.get_object(Bucket=b, Key="mp", Range="bytes=-10", **_c(KEY))["Body"].read()
    assert tail == whole[-10:]
    assert s3.head_object(Bucket=b, Key="mp", **_c(KEY))["ContentLength"] == len(whole)
    listed = s3.list_objects_v2(Bucket=b)["Contents"][0]
    assert listed["Size"] == len(whole) and listed["ETag"] == out["complete"]["ETag"]
    assert_error(lambda: s3.get_object(Bucket=b, Key="mp"), "InvalidRequest", 400)
    assert_error(lambda: s3.get_object(Bucket=b, Key="mp", **_c(OTHER)), "AccessDenied", 403)
    stored = _stored(s3_gateway, b, "mp")  # Swift joins the segments: all ciphertext
    assert b"plaintext-marker" not in stored and len(stored) > len(whole)
    # Every part must bring the upload's key.
    uid = s3.create_multipart_upload(Bucket=b, Key="k2", **_c(KEY))["UploadId"]
    assert_error(lambda: s3.upload_part(Bucket=b, Key="k2", UploadId=uid, PartNumber=1, Body=b"x"),
                 "InvalidRequest", 400)
    assert_error(lambda: s3.upload_part(Bucket=b, Key="k2", UploadId=uid, PartNumber=1, Body=b"x", **_c(OTHER)),
                 "InvalidRequest", 400)
    s3.abort_multipart_upload(Bucket=b, Key="k2", UploadId=uid)


def test_sse_s3_multipart_by_bucket_default(s3: Any, s3_gateway: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    out = _multipart(s3, b, "mp", {})
    assert out["create"]["ServerSideEncryption"] == "AES256"
    assert out["complete"]["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=b, Key="mp", Range=f"bytes={len(PART1)}-")
    assert got["Body"].read() == PART2 and got["ServerSideEncryption"] == "AES256"
    assert b"plaintext-marker" not in _stored(s3_gateway, b, "mp")


def test_upload_part_copy_between_encryptions(s3: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    s3.put_object(Bucket=b, Key="src-c", Body=PART1, **_c(KEY))
    s3.put_object(Bucket=b, Key="src-plain", Body=PART2)
    uid = s3.create_multipart_upload(Bucket=b, Key="dst", ServerSideEncryption="AES256")["UploadId"]
    assert_error(lambda: s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1,
                                             CopySource=f"{b}/src-c"), "InvalidRequest", 400)
    assert_error(lambda: s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1,
                                             CopySource=f"{b}/src-c", **_src(OTHER)), "AccessDenied", 403)
    p1 = s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1, CopySource=f"{b}/src-c", **_src(KEY))
    p2 = s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=2, CopySource=f"{b}/src-plain",
                             CopySourceRange="bytes=10-1009")
    s3.complete_multipart_upload(Bucket=b, Key="dst", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=b, Key="dst")["Body"].read() == PART1 + PART2[10:1010]
    # Encrypted source into a plain upload, by range.
    uid = s3.create_multipart_upload(Bucket=b, Key="plain")["UploadId"]
    p = s3.upload_part_copy(Bucket=b, Key="plain", UploadId=uid, PartNumber=1, CopySource=f"{b}/src-c",
                            CopySourceRange="bytes=70000-79999", **_src(KEY))
    s3.complete_multipart_upload(Bucket=b, Key="plain", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket=b, Key="plain")
    assert got["Body"].read() == PART1[70000:80000] and "ServerSideEncryption" not in got


def test_copy_object_in_every_direction(s3: Any, s3_gateway: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    small = b"cloudgate-plaintext-marker " * 5000
    s3.put_object(Bucket=b, Key="plain", Body=small)
    s3.put_object(Bucket=b, Key="c", Body=small, **_c(KEY))
    s3.put_object(Bucket=b, Key="s3", Body=small, ServerSideEncryption="AES256")
    _multipart(s3, b, "mp-c", _c(KEY))
    md5 = f'"{hashlib.md5(small).hexdigest()}"'
    cases = [("plain", {}, _c(OTHER), "C"), ("c", _src(KEY), _c(OTHER), "C"), ("c", _src(KEY), {}, None),
             ("c", _src(KEY), {"ServerSideEncryption": "AES256"}, "S3"), ("s3", {}, {}, None),
             ("s3", {}, _c(KEY), "C"), ("plain", {}, {"ServerSideEncryption": "AES256"}, "S3")]
    for i, (src, src_enc, dst_enc, mode) in enumerate(cases):
        out = s3.copy_object(Bucket=b, Key=f"d{i}", CopySource=f"{b}/{src}", **src_enc, **dst_enc)
        read = dict(_c(OTHER) if dst_enc == _c(OTHER) else dst_enc if mode == "C" else {})
        got = s3.get_object(Bucket=b, Key=f"d{i}", **read)
        assert got["Body"].read() == small, (src, mode)
        stored = _stored(s3_gateway, b, f"d{i}")
        if mode is None:
            assert stored == small and out["CopyObjectResult"]["ETag"] == md5
        else:
            _assert_ciphertext(stored, small)
            assert (out.get("ServerSideEncryption"), out.get("SSECustomerAlgorithm")) == \
                (("AES256", None) if mode == "S3" else (None, "AES256"))
        if mode == "S3":
            assert out["CopyObjectResult"]["ETag"] == md5 == got["ETag"]
    # An encrypted multipart object copied to a plain one, and onto itself with a new key.
    s3.copy_object(Bucket=b, Key="mp-plain", CopySource=f"{b}/mp-c", **_src(KEY))
    assert s3.get_object(Bucket=b, Key="mp-plain")["Body"].read() == PART1 + PART2
    s3.copy_object(Bucket=b, Key="c", CopySource=f"{b}/c", **_src(KEY), **_c(OTHER))
    assert s3.get_object(Bucket=b, Key="c", **_c(OTHER))["Body"].read() == small
    # The source's key is required, and must be the right one.
    assert_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource=f"{b}/s3", **_src(KEY)),
                 "InvalidRequest", 400)
    assert_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource=f"{b}/c"), "InvalidRequest", 400)
    assert_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource=f"{b}/c", **_src(KEY)), "AccessDenied", 403)
    assert_error(lambda: s3.head_object(Bucket=b, Key="x"), "404", 404)
