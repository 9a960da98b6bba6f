"""Suite "s3", multipart checksums and object attributes: COMPOSITE ("-N") and FULL_OBJECT checksums of
multipart uploads, x-amz-checksum-type rules, part checksum checks at completion (InvalidPart / BadDigest /
InvalidRequest), GetObjectAttributes, and GetObject/HeadObject by partNumber (206, x-amz-mp-parts-count).

Uploads here use one 5 MiB part (S3's minimum for every part but the last) and one short last part."""

from __future__ import annotations

import base64
import hashlib
import zlib

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, blob, crc32_b64, expect_success, object_absent, sha256_b64, temp_bucket

MiB = 1024 * 1024


def _parts() -> list[bytes]:
    return [blob(5 * MiB, seed=61), blob(3000, seed=62)]


def _composite(raw: list[bytes], fn) -> str:
    return base64.b64encode(fn(b"".join(raw))).decode() + f"-{len(raw)}"


def _upload(s3, bucket: str, key: str, parts: list[bytes], algorithm: str, **create) -> tuple[str, list[dict]]:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm, **create)["UploadId"]
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data, ChecksumAlgorithm=algorithm)
        done.append({"PartNumber": n, "ETag": r["ETag"], f"Checksum{algorithm}": r[f"Checksum{algorithm}"]})
    return uid, done


@scenario(SUITE)
def s3_multipart_checksum_composite_sha256(ctx: Ctx) -> None:
    """A SHA256 multipart upload completes with the COMPOSITE checksum sha256(part sha256s)-N, returned by HEAD."""
    s3 = ctx.client("s3")
    parts = _parts()
    with temp_bucket(ctx, "mpsha") as bucket:
        uid, done = _upload(s3, bucket, "k", parts, "SHA256")
        expected = _composite([hashlib.sha256(p).digest() for p in parts], lambda b: hashlib.sha256(b).digest())
        out = expect_success(lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done}), "CompleteMultipartUpload")
        check(out.get("ChecksumSHA256") == expected, f"Complete ChecksumSHA256 {out.get('ChecksumSHA256')!r}, "
                                                     f"want {expected!r}")
        head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
        check((head.get("ChecksumSHA256"), head.get("ChecksumType")) == (expected, "COMPOSITE"),
              f"HEAD checksum {head.get('ChecksumSHA256')!r} type {head.get('ChecksumType')!r}")


@scenario(SUITE)
def s3_multipart_checksum_full_object_crc32(ctx: Ctx) -> None:
    """A FULL_OBJECT CRC32 multipart upload's checksum is the CRC32 of the whole object."""
    s3 = ctx.client("s3")
    parts = _parts()
    whole = crc32_b64(b"".join(parts))
    with temp_bucket(ctx, "mpcrc") as bucket:
        uid, done = _upload(s3, bucket, "k", parts, "CRC32", ChecksumType="FULL_OBJECT")
        out = expect_success(lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done}, ChecksumCRC32=whole,
            ChecksumType="FULL_OBJECT"), "CompleteMultipartUpload")
        check((out.get("ChecksumCRC32"), out.get("ChecksumType")) == (whole, "FULL_OBJECT"),
              f"Complete answered {out.get('ChecksumCRC32')!r} {out.get('ChecksumType')!r}, want {whole!r}")
        got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
        check(got.get("ChecksumCRC32") == whole and zlib.crc32(got["Body"].read()) == zlib.crc32(b"".join(parts)),
              f"GET ChecksumCRC32 {got.get('ChecksumCRC32')!r}")


@scenario(SUITE)
def s3_multipart_checksum_type_rules(ctx: Ctx) -> None:
    """x-amz-checksum-type: FULL_OBJECT with SHA1, or without an algorithm, is InvalidRequest 400."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mptype") as bucket:
        expect_error("InvalidRequest", 400, ctx.s3("POST", f"/{bucket}/k", query="uploads",
                                                   headers={"x-amz-checksum-algorithm": "SHA1",
                                                            "x-amz-checksum-type": "FULL_OBJECT"}))
        expect_error("InvalidRequest", 400, ctx.s3("POST", f"/{bucket}/k", query="uploads",
                                                   headers={"x-amz-checksum-type": "COMPOSITE"}))
        check(not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "a refused upload was created")


@scenario(SUITE)
def s3_multipart_checksum_part_mismatch(ctx: Ctx) -> None:
    """Completion: a wrong part CRC32 is InvalidPart 400, a missing one InvalidRequest 400, a wrong
    whole-object CRC32 BadDigest 400; nothing is stored by any of them."""
    s3 = ctx.client("s3")
    parts = _parts()
    with temp_bucket(ctx, "mpbad") as bucket:
        uid, done = _upload(s3, bucket, "k", parts, "CRC32")

        def complete(listed, **kw):
            return lambda: s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid,
                                                        MultipartUpload={"Parts": listed}, **kw)

        expect_error("InvalidPart", 400, complete([dict(done[0], ChecksumCRC32=crc32_b64(b"x")), done[1]]))
        expect_error("InvalidRequest", 400, complete([{"PartNumber": d["PartNumber"], "ETag": d["ETag"]}
                                                      for d in done]))
        expect_error("BadDigest", 400, complete(done, ChecksumCRC32=crc32_b64(b"x") + "-2"))
        check(object_absent(s3, bucket, "k"), "a refused completion stored the object")
        expect_success(complete(done), "CompleteMultipartUpload with the right checksums")


@scenario(SUITE)
def s3_object_attributes_and_part_reads(ctx: Ctx) -> None:
    """GetObjectAttributes lists a multipart object's parts (sizes, checksums); GetObject ?partNumber=2 is 206
    with that part and x-amz-mp-parts-count; partNumber=3 is InvalidPartNumber 416."""
    s3 = ctx.client("s3")
    parts = _parts()
    with temp_bucket(ctx, "attrs") as bucket:
        uid, done = _upload(s3, bucket, "k", parts, "SHA256")
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={"Parts": done})
        attrs = s3.get_object_attributes(Bucket=bucket, Key="k",
                                         ObjectAttributes=["ETag", "ObjectParts", "ObjectSize", "StorageClass"])
        check(attrs.get("ObjectSize") == sum(map(len, parts)), f"ObjectSize {attrs.get('ObjectSize')!r}")
        check(str(attrs.get("ETag", "")).endswith("-2"), f"ETag {attrs.get('ETag')!r}")
        listed = [(p.get("PartNumber"), p.get("Size"), p.get("ChecksumSHA256"))
                  for p in attrs.get("ObjectParts", {}).get("Parts", [])]
        want = [(n, len(p), sha256_b64(p)) for n, p in enumerate(parts, 1)]
        check(listed == want, f"ObjectParts {listed!r}")
        got = s3.get_object(Bucket=bucket, Key="k", PartNumber=2)
        check(got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got.get("PartsCount") == 2,
              f"GET partNumber=2 answered {got['ResponseMetadata']['HTTPStatusCode']} parts {got.get('PartsCount')}")
        check(got["Body"].read() == parts[1], "GET partNumber=2 is not the second part")
        expect_error("InvalidPartNumber", 416, lambda: s3.get_object(Bucket=bucket, Key="k", PartNumber=3))
        expect_error("InvalidArgument", 400, lambda: s3.get_object_attributes(
            Bucket=bucket, Key="k", ObjectAttributes=["Colour"]))
        expect_error("NoSuchKey", 404, lambda: s3.get_object_attributes(
            Bucket=bucket, Key="absent", ObjectAttributes=["ETag"]))
