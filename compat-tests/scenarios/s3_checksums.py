"""Suite "s3", integrity: Content-MD5 (BadDigest / InvalidDigest) and the x-amz-checksum-* family (CRC32,
CRC32C, SHA1, SHA256) verified on upload, refused on mismatch with nothing stored, and returned on read."""

from __future__ import annotations

from collections.abc import Callable

from harness import Ctx, check, expect_error
from harness import http as raw_http

from . import scenario
from .s3_common import (
    SUITE,
    blob,
    crc32_b64,
    crc32c_b64,
    expect_success,
    get_body,
    md5_b64,
    object_absent,
    sha1_b64,
    sha256_b64,
    signed_v4,
    temp_bucket,
)

ALGORITHMS: dict[str, Callable[[bytes], str]] = {
    "crc32": crc32_b64, "crc32c": crc32c_b64, "sha1": sha1_b64, "sha256": sha256_b64}


@scenario(SUITE)
def s3_checksum_content_md5(ctx: Ctx) -> None:
    """A right Content-MD5 is accepted; a wrong one is BadDigest 400; a malformed one InvalidDigest 400."""
    s3 = ctx.client("s3")
    data = blob(10_000, seed=30)
    with temp_bucket(ctx, "md5") as bucket:
        resp = ctx.s3("PUT", f"/{bucket}/good", headers={"Content-MD5": md5_b64(data)}, body=data)
        check(resp.status == 200, f"a PUT with the right Content-MD5 answered {resp.status}")
        expect_error("BadDigest", 400, ctx.s3("PUT", f"/{bucket}/bad", headers={"Content-MD5": md5_b64(b"other")},
                                              body=data))
        check(object_absent(s3, bucket, "bad"), "a PUT refused with BadDigest stored the object")
        expect_error("InvalidDigest", 400, ctx.s3("PUT", f"/{bucket}/bad", headers={"Content-MD5": "not-base64!"},
                                                  body=data))
        check(object_absent(s3, bucket, "bad"), "a PUT refused with InvalidDigest stored the object")
        # Overwriting with a wrong digest must not destroy the old object either.
        expect_error("BadDigest", 400, ctx.s3("PUT", f"/{bucket}/good", headers={"Content-MD5": md5_b64(b"x")},
                                              body=b"replacement"))
        check(get_body(s3, bucket, "good") == data, "a refused overwrite changed the object")


@scenario(SUITE)
def s3_checksum_content_md5_upload_part(ctx: Ctx) -> None:
    """UploadPart with a wrong Content-MD5 is BadDigest 400 and the part is not recorded."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "md5part") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="k")
        query = f"partNumber=1&uploadId={up['UploadId']}"
        expect_error("BadDigest", 400, ctx.s3("PUT", f"/{bucket}/k", query=query,
                                              headers={"Content-MD5": md5_b64(b"other")}, body=b"part data"))
        parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=up["UploadId"]).get("Parts", [])
        check(not parts, f"a refused part was recorded: {parts}")
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=up["UploadId"])


@scenario(SUITE)
def s3_checksum_algorithms_verified_and_returned(ctx: Ctx) -> None:
    """x-amz-checksum-{crc32,crc32c,sha1,sha256}: stored, echoed by PUT, returned by HEAD/GET in checksum mode."""
    s3 = ctx.client("s3")
    data = blob(5000, seed=31)
    with temp_bucket(ctx, "cksum") as bucket:
        for name, fn in ALGORITHMS.items():
            header = f"x-amz-checksum-{name}"
            resp = ctx.s3("PUT", f"/{bucket}/{name}", headers={header: fn(data)}, body=data)
            check(resp.status == 200, f"PUT with a right {header} answered {resp.status}: {resp.body[:200]!r}")
            check(resp.header(header) == fn(data), f"PUT response {header} is {resp.header(header)!r}")
            field = "Checksum" + name.upper()
            head = s3.head_object(Bucket=bucket, Key=name, ChecksumMode="ENABLED")
            check(head.get(field) == fn(data), f"HEAD {field} is {head.get(field)!r}, want {fn(data)!r}")
            got = s3.get_object(Bucket=bucket, Key=name, ChecksumMode="ENABLED")
            check(got.get(field) == fn(data), f"GET {field} is {got.get(field)!r}")
            check(got["Body"].read() == data, f"GET body of the {name} object differs")


@scenario(SUITE)
def s3_checksum_mismatch_refused(ctx: Ctx) -> None:
    """A wrong x-amz-checksum-* value is BadDigest 400 and nothing is stored."""
    s3 = ctx.client("s3")
    data = blob(5000, seed=32)
    with temp_bucket(ctx, "ckbad") as bucket:
        for name, fn in ALGORITHMS.items():
            header = f"x-amz-checksum-{name}"
            expect_error("BadDigest", 400, ctx.s3("PUT", f"/{bucket}/{name}", headers={header: fn(b"other data")},
                                                  body=data))
            check(object_absent(s3, bucket, name), f"a PUT refused for its {header} stored the object")


@scenario(SUITE)
def s3_checksum_boto3_default(ctx: Ctx) -> None:
    """boto3's own checksum (CRC32 by default, SHA256 on request) is accepted and returned on HEAD."""
    s3 = ctx.client("s3")
    data = blob(3000, seed=33)
    with temp_bucket(ctx, "ckboto") as bucket:
        put = expect_success(lambda: s3.put_object(Bucket=bucket, Key="crc", Body=data, ChecksumAlgorithm="CRC32"),
                             "PutObject ChecksumAlgorithm=CRC32")
        check(put.get("ChecksumCRC32") == crc32_b64(data), f"PutObject ChecksumCRC32 {put.get('ChecksumCRC32')!r}")
        expect_success(lambda: s3.put_object(Bucket=bucket, Key="sha", Body=data, ChecksumAlgorithm="SHA256"),
                       "PutObject ChecksumAlgorithm=SHA256")
        head = s3.head_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
        check(head.get("ChecksumSHA256") == sha256_b64(data), f"HEAD ChecksumSHA256 {head.get('ChecksumSHA256')!r}")
        check(get_body(s3, bucket, "sha") == data, "content differs")


@scenario(SUITE)
def s3_checksum_bad_x_amz_content_sha256(ctx: Ctx) -> None:
    """A signed x-amz-content-sha256 that does not match the body is XAmzContentSHA256Mismatch 400."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "sha") as bucket:
        # The header is signed (the signature is valid); only the body differs from what it declares.
        wrong = "0" * 64
        request = signed_v4(ctx, "PUT", f"/{bucket}/k", payload_hash=wrong, body=b"payload",
                            headers={"Content-Type": "application/octet-stream"})
        resp = raw_http.send(request, ctx.target.timeout)
        check(object_absent(s3, bucket, "k"), f"a body not matching x-amz-content-sha256 was stored ({resp.status})")
        expect_error("XAmzContentSHA256Mismatch", 400, resp)
