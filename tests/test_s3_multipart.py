"""Multipart uploads through the gateway onto a real Swift, with real boto3 and aws-cli clients.

Every error case asserts AWS's code and HTTP status. Part sizes: S3 refuses parts under 5 MiB except the
last, so tests that complete several parts use 5 MiB parts; the 10,000-part bound itself is covered in
test_s3_multipart_units.py (a metadata-only store) and here by part numbers 10000 / 10001.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def _err(excinfo) -> tuple[str, int]:
    e = excinfo.value
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def _etag(*parts: bytes) -> str:
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'


def _blob(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture
def s3(s3_gateway):
    return s3_gateway.client_a()


@pytest.fixture
def s3b(s3_gateway):
    return s3_gateway.client_b()


def _segments(s3_gateway, bucket: str, key: str, upload_id: str, count: int) -> list[int]:
    """Which of parts 1..count of `upload_id` Swift still holds, asked object by object (a HEAD is
    consistent; a container listing may lag behind a delete)."""
    swift = s3_gateway.swift_a
    held = []
    for n in range(1, count + 1):
        status, _, _ = swift.request("HEAD", bucket + "+segments", f"{key}/{upload_id}/{n:05d}", ok=(404,))
        if status != 404:
            held.append(n)
    return held


def _upload(s3, bucket, key, parts: list[bytes], **create) -> tuple[str, list[dict]]:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    return uid, done


# ---- the happy paths --------------------------------------------------------------------------------
def test_boto3_managed_transfer_23mib_roundtrip(s3, bucket, tmp_path):
    b = bucket()
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    data = _blob(23 * MiB, seed=1)
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(src), b, "big/file.bin", Config=cfg)
    head = s3.head_object(Bucket=b, Key="big/file.bin")
    chunks = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    assert head["ContentLength"] == 23 * MiB
    assert head["ETag"] == _etag(*chunks) and head["ETag"].endswith('-5"')
    s3.download_file(b, "big/file.bin", str(dst), Config=cfg)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert s3.get_object(Bucket=b, Key="big/file.bin", Range="bytes=0-0")["ETag"] == head["ETag"]


def test_listings_show_the_multipart_etag(s3, bucket):
    b = bucket()
    uid, parts = _upload(s3, b, "mp", [_blob(5 * MiB, 7), b"z"])
    etag = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})["ETag"]
    listed = s3.list_objects_v2(Bucket=b)["Contents"]
    assert [(o["Key"], o["ETag"], o["Size"]) for o in listed] == [("mp", etag, 5 * MiB + 1)]
    assert [v["ETag"] for v in s3.list_object_versions(Bucket=b)["Versions"]] == [etag]


def test_create_upload_list_complete_applies_metadata_tags_and_headers(s3, bucket):
    b = bucket()
    p1, p2 = _blob(5 * MiB, 2), b"tail"
    uid, parts = _upload(s3, b, "doc.txt", [p1, p2], Metadata={"Color": "blue"}, ContentType="text/plain",
                         CacheControl="max-age=60", ContentDisposition="inline", Tagging="a=1&b=two")
    listed = s3.list_parts(Bucket=b, Key="doc.txt", UploadId=uid)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [
        (1, 5 * MiB, f'"{hashlib.md5(p1).hexdigest()}"'), (2, 4, f'"{hashlib.md5(p2).hexdigest()}"')]
    assert listed["StorageClass"] == "STANDARD" and listed["IsTruncated"] is False
    assert listed["Owner"]["ID"] and listed["Initiator"]["ID"] == listed["Owner"]["ID"]
    out = s3.complete_multipart_upload(Bucket=b, Key="doc.txt", UploadId=uid, MultipartUpload={"Parts": parts})
    assert out["ETag"] == _etag(p1, p2) and out["Bucket"] == b and out["Key"] == "doc.txt"
    assert out["Location"].endswith(f"/{b}/doc.txt")
    head = s3.head_object(Bucket=b, Key="doc.txt")
    assert head["ETag"] == out["ETag"] and head["ContentLength"] == 5 * MiB + 4
    assert head["Metadata"] == {"color": "blue"} and head["ContentType"] == "text/plain"
    assert head["CacheControl"] == "max-age=60" and head["ContentDisposition"] == "inline"
    tags = s3.get_object_tagging(Bucket=b, Key="doc.txt")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two")]
    body = s3.get_object(Bucket=b, Key="doc.txt")["Body"].read()
    assert body == p1 + p2
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=b, Key="doc.txt", UploadId=uid)
    assert _err(e) == ("NoSuchUpload", 404)


def test_reuploading_a_part_replaces_it(s3, bucket):
    b = bucket()
    uid = s3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=1, Body=b"first")
    r = s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=1, Body=b"second")
    parts = s3.list_parts(Bucket=b, Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, r["ETag"], 6)]
    s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"second"


def test_retried_complete_answers_the_same_result(s3, bucket):
    b = bucket()
    uid, parts = _upload(s3, b, "k", [b"only part"])
    first = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": parts})
    again = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": parts})
    assert again["ETag"] == first["ETag"] == _etag(b"only part")
    with pytest.raises(ClientError) as e:  # a different part list is not a retry of that completion
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]})
    assert _err(e) == ("NoSuchUpload", 404)


def test_complete_frees_parts_left_out_and_abort_frees_everything(s3_gateway, s3, bucket):
    b = bucket()
    uid, parts = _upload(s3, b, "k", [_blob(5 * MiB, 3), b"x", b"unused"])
    assert _segments(s3_gateway, b, "k", uid, 3) == [1, 2, 3]
    s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": parts[:2]})
    assert _segments(s3_gateway, b, "k", uid, 3) == [1, 2]  # the manifest's two; the third is gone
    assert s3.get_object(Bucket=b, Key="k")["ContentLength"] == 5 * MiB + 1

    uid2, _ = _upload(s3, b, "k2", [b"a", b"b", b"c"])
    assert _segments(s3_gateway, b, "k2", uid2, 3) == [1, 2, 3]
    r = s3.abort_multipart_upload(Bucket=b, Key="k2", UploadId=uid2)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _segments(s3_gateway, b, "k2", uid2, 3) == []
    for call in (lambda: s3.list_parts(Bucket=b, Key="k2", UploadId=uid2),
                 lambda: s3.abort_multipart_upload(Bucket=b, Key="k2", UploadId=uid2),
                 lambda: s3.upload_part(Bucket=b, Key="k2", UploadId=uid2, PartNumber=1, Body=b"late"),
                 lambda: s3.complete_multipart_upload(Bucket=b, Key="k2", UploadId=uid2, MultipartUpload={
                     "Parts": [{"PartNumber": 1, "ETag": '"' + hashlib.md5(b"a").hexdigest() + '"'}]})):
        with pytest.raises(ClientError) as e:
            call()
        assert _err(e) == ("NoSuchUpload", 404)
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    assert _segments(s3_gateway, b, "k2", uid2, 3) == []  # the refused late part left nothing either


def test_a_single_part_may_be_numbered_10000_and_10001_is_refused(s3, bucket):
    b = bucket()
    uid = s3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    r = s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=10000, Body=b"last")
    for bad in (0, 10001):
        with pytest.raises(ClientError) as e:
            s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=bad, Body=b"x")
        assert _err(e) == ("InvalidArgument", 400)
    out = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 10000, "ETag": r["ETag"]}]})
    assert out["ETag"] == _etag(b"last")
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"last"


def test_many_small_parts_list_in_pages_and_refuse_completion_as_too_small(s3, bucket):
    b = bucket()
    uid = s3.create_multipart_upload(Bucket=b, Key="many")["UploadId"]
    count = 120  # tiny parts: S3 accepts them until Complete

    def put(n):
        return s3.upload_part(Bucket=b, Key="many", UploadId=uid, PartNumber=n, Body=b"%d" % n)["ETag"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        etags = list(pool.map(put, range(1, count + 1)))
    page = s3.list_parts(Bucket=b, Key="many", UploadId=uid, MaxParts=50, PartNumberMarker=10)
    assert [p["PartNumber"] for p in page["Parts"]] == list(range(11, 61))
    assert page["IsTruncated"] is True and page["NextPartNumberMarker"] == 60 and page["MaxParts"] == 50
    pages = s3.get_paginator("list_parts").paginate(Bucket=b, Key="many", UploadId=uid,
                                                    PaginationConfig={"PageSize": 25})
    seen = [(p["PartNumber"], p["ETag"]) for pg in pages for p in pg["Parts"]]
    assert seen == list(zip(range(1, count + 1), etags, strict=True))
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=b, Key="many", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": t} for n, t in enumerate(etags, 1)]})
    assert _err(e) == ("EntityTooSmall", 400)


def test_list_multipart_uploads_orders_filters_and_pages(s3, bucket):
    b = bucket()
    keys = ["a/1", "a/2", "b", "c", "c", "d/x/y"]
    ids = [s3.create_multipart_upload(Bucket=b, Key=k)["UploadId"] for k in keys]
    out = s3.list_multipart_uploads(Bucket=b)
    assert [(u["Key"], u["UploadId"]) for u in out["Uploads"]] == list(zip(keys, ids, strict=True))
    assert all(u["StorageClass"] == "STANDARD" and u["Owner"]["ID"] and u["Initiator"]["ID"]
               for u in out["Uploads"])
    grouped = s3.list_multipart_uploads(Bucket=b, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/", "d/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["b", "c", "c"]
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=b, Prefix="a/")["Uploads"]] == ["a/1", "a/2"]
    one = s3.list_multipart_uploads(Bucket=b, MaxUploads=1, KeyMarker="c", UploadIdMarker=ids[3])
    assert [u["UploadId"] for u in one["Uploads"]] == [ids[4]] and one["IsTruncated"] is True
    assert one["NextKeyMarker"] == "c" and one["NextUploadIdMarker"] == ids[4]
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=b, PaginationConfig={"PageSize": 2})
    assert [u["UploadId"] for pg in pages for u in pg.get("Uploads", [])] == ids
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=b, Delimiter="/",
                                                               PaginationConfig={"PageSize": 1})
    flat = [(u["Key"] if "Key" in u else u["Prefix"]) for pg in pages
            for u in pg.get("Uploads", []) + pg.get("CommonPrefixes", [])]
    assert sorted(flat) == ["a/", "b", "c", "c", "d/"]


def test_upload_part_copy_whole_range_and_multipart_source(s3, bucket):
    b = bucket()
    src = _blob(6 * MiB, 4)
    s3.put_object(Bucket=b, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=b, Key="dst")["UploadId"]
    whole = s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1, CopySource=f"{b}/src")
    ranged = s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=2,
                                 CopySource={"Bucket": b, "Key": "src"}, CopySourceRange="bytes=100-199")
    assert whole["CopyPartResult"]["ETag"] == f'"{hashlib.md5(src).hexdigest()}"'
    assert ranged["CopyPartResult"]["ETag"] == f'"{hashlib.md5(src[100:200]).hexdigest()}"'
    parts = [{"PartNumber": 1, "ETag": whole["CopyPartResult"]["ETag"]},
             {"PartNumber": 2, "ETag": ranged["CopyPartResult"]["ETag"]}]
    out = s3.complete_multipart_upload(Bucket=b, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts})
    assert out["ETag"] == _etag(src, src[100:200])
    assert hashlib.md5(s3.get_object(Bucket=b, Key="dst")["Body"].read()).digest() == \
        hashlib.md5(src + src[100:200]).digest()
    # the multipart object just made is itself a copy source (a manifest: streamed, bytes not manifest)
    uid2 = s3.create_multipart_upload(Bucket=b, Key="dst2")["UploadId"]
    r = s3.upload_part_copy(Bucket=b, Key="dst2", UploadId=uid2, PartNumber=1, CopySource=f"{b}/dst",
                            CopySourceRange=f"bytes={6 * MiB - 10}-{6 * MiB + 9}")
    piece = (src + src[100:200])[6 * MiB - 10:6 * MiB + 10]
    assert r["CopyPartResult"]["ETag"] == f'"{hashlib.md5(piece).hexdigest()}"'


def test_upload_part_copy_errors(s3, bucket):
    b = bucket()
    s3.put_object(Bucket=b, Key="src", Body=b"0123456789")
    etag = s3.head_object(Bucket=b, Key="src")["ETag"]
    uid = s3.create_multipart_upload(Bucket=b, Key="dst")["UploadId"]
    cases = [
        (dict(CopySource=f"{b}/src", CopySourceRange="bytes=5-10"), ("InvalidArgument", 400)),
        (dict(CopySource=f"{b}/src", CopySourceRange="bytes=5-"), ("InvalidArgument", 400)),
        (dict(CopySource=f"{b}/src", CopySourceIfMatch='"' + "0" * 32 + '"'), ("PreconditionFailed", 412)),
        (dict(CopySource=f"{b}/src", CopySourceIfNoneMatch=etag), ("PreconditionFailed", 412)),
        (dict(CopySource=f"{b}/missing"), ("NoSuchKey", 404)),
        (dict(CopySource=f"{b}-nope/src"), ("NoSuchBucket", 404)),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1, **kwargs)
        assert _err(e) == expected, kwargs
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=b, Key="dst", UploadId="0" * 48, PartNumber=1, CopySource=f"{b}/src")
    assert _err(e) == ("NoSuchUpload", 404)
    ok = s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1, CopySource=f"{b}/src",
                             CopySourceIfMatch=etag, CopySourceRange="bytes=2-4")
    assert ok["CopyPartResult"]["ETag"] == f'"{hashlib.md5(b"234").hexdigest()}"'


# ---- errors -------------------------------------------------------------------------------------------
def test_create_refuses_what_it_cannot_honour(s3, bucket):
    b = bucket()
    cases = [
        (dict(StorageClass="GLACIER"), ("InvalidStorageClass", 400)),
        (dict(SSECustomerAlgorithm="AES256", SSECustomerKey="k" * 31), ("InvalidArgument", 400)),  # short key
        (dict(ServerSideEncryption="aws:kms"), ("KMS.NotFoundException", 400)),  # no KMS: no key exists
        (dict(ObjectLockLegalHoldStatus="ON"), ("InvalidRequest", 400)),
        (dict(Metadata={"m": "v" * 2100}), ("MetadataTooLarge", 400)),
        (dict(Tagging="aws:x=1"), ("InvalidTag", 400)),
        (dict(ChecksumAlgorithm="MD5"), ("InvalidRequest", 400)),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as e:
            s3.create_multipart_upload(Bucket=b, Key="k", **kwargs)
        assert _err(e) == expected, kwargs
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=b + "-missing", Key="k")
    assert _err(e) == ("NoSuchBucket", 404)
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []


def test_upload_part_errors(s3, bucket):
    b = bucket()
    uid = s3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=1, Body=b"data",
                       ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")  # md5 of the empty string
    assert _err(e) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=1, Body=b"data", ContentMD5="not-base64!")
    assert _err(e) == ("InvalidDigest", 400)
    for upload_id, key in (("0" * 48, "k"), ("garbage", "k"), (uid, "other-key")):
        with pytest.raises(ClientError) as e:
            s3.upload_part(Bucket=b, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x")
        assert _err(e) == ("NoSuchUpload", 404)
    assert s3.list_parts(Bucket=b, Key="k", UploadId=uid).get("Parts", []) == []  # nothing half-written
    good = s3.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=1, Body=b"data",
                          ContentMD5="jXd/OF09/siBXSD3SWAm3A==")
    assert good["ETag"] == f'"{hashlib.md5(b"data").hexdigest()}"'


def test_complete_errors(s3, bucket):
    b = bucket()
    p1 = _blob(5 * MiB, 5)
    uid, parts = _upload(s3, b, "k", [b"small", p1, b"end"])
    bad_etag = '"' + "f" * 32 + '"'
    cases = [
        ([], ("MalformedXML", 400)),
        ([parts[1], parts[0]], ("InvalidPartOrder", 400)),
        ([parts[0], parts[0]], ("InvalidPartOrder", 400)),
        ([{"PartNumber": 1, "ETag": bad_etag}], ("InvalidPart", 400)),
        ([parts[1], {"PartNumber": 7, "ETag": parts[2]["ETag"]}], ("InvalidPart", 400)),
        (parts, ("EntityTooSmall", 400)),
    ]
    for chosen, expected in cases:
        with pytest.raises(ClientError) as e:
            s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": chosen})
        assert _err(e) == expected, chosen
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid)  # no body at all
    assert _err(e) == ("MalformedXML", 400)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=b, Key="k", UploadId=uid, MaxParts=-1)
    assert _err(e) == ("InvalidArgument", 400)
    s3.put_object(Bucket=b, Key="k", Body=b"exists")
    with pytest.raises(ClientError) as e:  # If-None-Match: * completes only where nothing exists
        s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, IfNoneMatch="*",
                                     MultipartUpload={"Parts": parts[1:]})
    assert _err(e) == ("PreconditionFailed", 412)
    # after all of that the upload is intact and completes
    out = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": parts[1:]})
    assert out["ETag"] == _etag(p1, b"end")


def test_other_tenants_cannot_see_or_touch_uploads(s3, s3b, bucket):
    b = bucket()
    uid, parts = _upload(s3, b, "k", [b"mine"])
    calls = {
        "list_multipart_uploads": lambda: s3b.list_multipart_uploads(Bucket=b),
        "list_parts": lambda: s3b.list_parts(Bucket=b, Key="k", UploadId=uid),
        "upload_part": lambda: s3b.upload_part(Bucket=b, Key="k", UploadId=uid, PartNumber=1, Body=b"theirs"),
        "complete": lambda: s3b.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid,
                                                          MultipartUpload={"Parts": parts}),
        "abort": lambda: s3b.abort_multipart_upload(Bucket=b, Key="k", UploadId=uid),
        "create": lambda: s3b.create_multipart_upload(Bucket=b, Key="k"),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as e:
            call()
        assert _err(e) == ("AccessDenied", 403), name
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"]] == [uid]
    out = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": parts})
    assert out["ETag"] == _etag(b"mine")
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"mine"


# ---- aws-cli ------------------------------------------------------------------------------------------
def test_aws_cli_cp_of_a_large_file_is_multipart(s3_gateway, s3, bucket, tmp_path):
    b = bucket()
    data = _blob(20 * MiB, 6)
    (tmp_path / "up.bin").write_bytes(data)
    creds = s3_gateway.creds_a
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds.access_key, AWS_SECRET_ACCESS_KEY=creds.secret_key,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    aws = str(Path(sys.executable).with_name("aws"))
    run = dict(env=env, capture_output=True, text=True, timeout=180)
    up = subprocess.run([aws, "--endpoint-url", s3_gateway.endpoint, "s3", "cp", str(tmp_path / "up.bin"),
                         f"s3://{b}/cli/up.bin"], **run)
    assert up.returncode == 0, up.stderr
    head = s3.head_object(Bucket=b, Key="cli/up.bin")
    assert head["ETag"].endswith('-3"')  # aws-cli's default 8 MiB threshold and chunks: 8 + 8 + 4
    down = subprocess.run([aws, "--endpoint-url", s3_gateway.endpoint, "s3", "cp", f"s3://{b}/cli/up.bin",
                           str(tmp_path / "down.bin")], **run)
    assert down.returncode == 0, down.stderr
    assert hashlib.sha256((tmp_path / "down.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
