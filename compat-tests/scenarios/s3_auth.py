"""Suite "s3", authentication on object requests: presigned GET/PUT (and tampering), SigV2 header and
query, unknown access keys, UNSIGNED-PAYLOAD, signed aws-chunked uploads and boto3's
STREAMING-UNSIGNED-PAYLOAD-TRAILER checksum uploads."""

from __future__ import annotations

import hashlib
import hmac
import io
from typing import Any

from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from harness import Ctx, check, expect_error
from harness import http as raw_http
from harness.ctx import UNKNOWN_ACCESS_KEY

from . import scenario
from .s3_common import (
    SUITE,
    blob,
    crc32_b64,
    expect_success,
    get_body,
    object_absent,
    presigner,
    send_url,
    signed_v4,
    sigv2_query,
    temp_bucket,
)

CHUNK = 64 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# ---- presigned URLs ---------------------------------------------------------------------------------------
@scenario(SUITE)
def s3_auth_presigned_get_put(ctx: Ctx) -> None:
    """A SigV4 presigned PUT URL uploads and a presigned GET URL downloads, with no other credentials."""
    s3 = presigner(ctx)
    data = blob(3000, seed=40)
    with temp_bucket(ctx, "presign") as bucket:
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=300)
        resp = send_url(ctx, "PUT", put_url, body=data)
        check(resp.status == 200, f"presigned PUT answered {resp.status}: {resp.body[:200]!r}")
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=300)
        resp = send_url(ctx, "GET", get_url)
        check(resp.status == 200 and resp.body == data, f"presigned GET answered {resp.status}, {len(resp.body)} bytes")
        ranged = send_url(ctx, "GET", get_url, headers={"Range": "bytes=0-9"})
        check(ranged.status == 206 and ranged.body == data[:10], f"presigned ranged GET: {ranged.status}")


@scenario(SUITE)
def s3_auth_presigned_tampered(ctx: Ctx) -> None:
    """A presigned URL reused for another key/method: SignatureDoesNotMatch 403, nothing written.

    One made with an unknown access key is InvalidAccessKeyId 403."""
    s3 = presigner(ctx)
    with temp_bucket(ctx, "pstamp") as bucket:
        s3.put_object(Bucket=bucket, Key="a", Body=b"a")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=300)
        expect_error("SignatureDoesNotMatch", 403, send_url(ctx, "GET", url.replace(f"/{bucket}/a?", f"/{bucket}/b?")))
        expect_error("SignatureDoesNotMatch", 403, send_url(ctx, "PUT", url, body=b"overwrite"))
        check(get_body(s3, bucket, "a") == b"a", "a PUT on a presigned GET URL changed the object")
        unknown = presigner(ctx, access_key=UNKNOWN_ACCESS_KEY)
        foreign = unknown.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=300)
        expect_error("InvalidAccessKeyId", 403, send_url(ctx, "GET", foreign))


# ---- SigV2 ------------------------------------------------------------------------------------------------
@scenario(SUITE)
def s3_auth_sigv2_header(ctx: Ctx) -> None:
    """`Authorization: AWS key:sig` (SigV2) works for PUT, GET, HEAD, listing and DELETE."""
    with temp_bucket(ctx, "v2hdr") as bucket:
        resp = ctx.s3("PUT", f"/{bucket}/v2%20key", body=b"signed v2", auth="v2",
                      headers={"x-amz-meta-sig": "v2", "Content-Type": "text/plain"})
        check(resp.status == 200, f"SigV2 PUT answered {resp.status}: {resp.body[:200]!r}")
        resp = ctx.s3("GET", f"/{bucket}/v2%20key", auth="v2")
        check(resp.status == 200 and resp.body == b"signed v2", f"SigV2 GET answered {resp.status}")
        check(resp.header("x-amz-meta-sig") == "v2", "SigV2 GET lost the metadata")
        resp = ctx.s3("HEAD", f"/{bucket}/v2%20key", auth="v2")
        check(resp.status == 200 and resp.header("content-length") == "9", f"SigV2 HEAD answered {resp.status}")
        resp = ctx.s3("GET", f"/{bucket}", query="prefix=v2", auth="v2")
        check(resp.status == 200 and b"<Key>v2 key</Key>" in resp.body, f"SigV2 listing answered {resp.status}")
        resp = ctx.s3("GET", f"/{bucket}", query="acl", auth="v2")  # a sub-resource is part of the v2 string
        check(resp.status == 200, f"SigV2 GET ?acl answered {resp.status}: {resp.body[:200]!r}")
        resp = ctx.s3("DELETE", f"/{bucket}/v2%20key", auth="v2")
        check(resp.status == 204, f"SigV2 DELETE answered {resp.status}")


@scenario(SUITE)
def s3_auth_sigv2_query(ctx: Ctx) -> None:
    """SigV2 query-string URLs work for GET and PUT; wrong secret 403 SignatureDoesNotMatch, expired 403 AccessDenied.

    The URLs are botocore's HmacV1QueryAuth (what boto3 presigns for us-east-1 by default), which also
    carries the signed Content-Type as a `content-type=` query parameter."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "v2q") as bucket:
        s3.put_object(Bucket=bucket, Key="q", Body=b"query signed")
        resp = sigv2_query(ctx, "GET", f"/{bucket}/q")
        check(resp.status == 200 and resp.body == b"query signed", f"SigV2 query GET answered {resp.status}")
        resp = sigv2_query(ctx, "PUT", f"/{bucket}/q2", body=b"put by v2 query")
        check(resp.status == 200, f"SigV2 query PUT answered {resp.status}: {resp.body[:200]!r}")
        check(get_body(s3, bucket, "q2") == b"put by v2 query", "SigV2 query PUT stored other bytes")
        expect_error("SignatureDoesNotMatch", 403, sigv2_query(ctx, "GET", f"/{bucket}/q", secret_key=ctx.wrong_secret))
        expect_error("AccessDenied", 403, sigv2_query(ctx, "GET", f"/{bucket}/q", expires=-60))


@scenario(SUITE)
def s3_auth_unknown_key_writes_nothing(ctx: Ctx) -> None:
    """An unknown access key is InvalidAccessKeyId 403 on PUT (SigV4 and SigV2) and nothing is stored."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "unkey") as bucket:
        stranger = ctx.client("s3", access_key=UNKNOWN_ACCESS_KEY)
        expect_error("InvalidAccessKeyId", 403, lambda: stranger.put_object(Bucket=bucket, Key="k", Body=b"x"))
        expect_error("InvalidAccessKeyId", 403, ctx.s3("PUT", f"/{bucket}/k", body=b"x", auth="v2",
                                                       access_key=UNKNOWN_ACCESS_KEY))
        check(object_absent(s3, bucket, "k"), "a request with an unknown key stored an object")


@scenario(SUITE)
def s3_auth_unsigned_payload(ctx: Ctx) -> None:
    """x-amz-content-sha256: UNSIGNED-PAYLOAD (headers signed, body not) is accepted."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "unsig") as bucket:
        request = signed_v4(ctx, "PUT", f"/{bucket}/u", payload_hash="UNSIGNED-PAYLOAD", body=b"unsigned body",
                            headers={"Content-Type": "application/octet-stream"})
        resp = raw_http.send(request, ctx.target.timeout)
        check(resp.status == 200, f"UNSIGNED-PAYLOAD PUT answered {resp.status}: {resp.body[:200]!r}")
        check(get_body(s3, bucket, "u") == b"unsigned body", "UNSIGNED-PAYLOAD PUT stored other bytes")


# ---- aws-chunked, signed ---------------------------------------------------------------------------------
def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _chunked_put(ctx: Ctx, path: str, data: bytes, *, tamper: bool = False) -> raw_http.Response:
    """PUT `data` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD: each 64 KiB chunk signed, chained from the seed
    signature (tamper=True flips a byte of the second chunk after signing)."""
    t = ctx.target
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] + [b""]
    # The encoded length depends only on chunk sizes (every signature is 64 hex digits).
    encoded_len = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in chunks)
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
               "Content-Length": str(encoded_len), "Content-Type": "application/octet-stream"}
    request = signed_v4(ctx, "PUT", path, payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", body=None,
                        headers=headers)
    timestamp = request.context["timestamp"]
    scope = f"{timestamp[:8]}/{t.region}/s3/aws4_request"
    key = _signing_key(t.secret_key, timestamp[:8], t.region)
    previous = request.headers["Authorization"].rpartition("Signature=")[2]
    body = bytearray()
    for i, chunk in enumerate(chunks):
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, EMPTY_SHA256,
                             hashlib.sha256(chunk).hexdigest()])
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        sent = bytes([chunk[0] ^ 0xFF]) + chunk[1:] if tamper and i == 1 else chunk
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n"
    check(len(body) == encoded_len, "internal: encoded length mismatch")
    request.data = bytes(body)
    return raw_http.send(request, t.timeout)


@scenario(SUITE)
def s3_auth_aws_chunked_signed(ctx: Ctx) -> None:
    """Signed aws-chunked PUT stores the decoded bytes; a tampered chunk is SignatureDoesNotMatch 403.

    STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 64 KiB chunks each signed and chained from the seed signature; the
    tampered upload must store nothing."""
    s3 = ctx.client("s3")
    data = blob(3 * CHUNK + 1234, seed=41)
    with temp_bucket(ctx, "chunk") as bucket:
        resp = _chunked_put(ctx, f"/{bucket}/chunked", data)
        check(resp.status == 200, f"aws-chunked PUT answered {resp.status}: {resp.body[:300]!r}")
        check(get_body(s3, bucket, "chunked") == data, "aws-chunked PUT stored other bytes (chunk framing kept?)")
        check(s3.head_object(Bucket=bucket, Key="chunked")["ContentLength"] == len(data),
              "stored length is not the decoded length")
        resp = _chunked_put(ctx, f"/{bucket}/tampered", data, tamper=True)
        check(object_absent(s3, bucket, "tampered"), f"a tampered aws-chunked body was stored ({resp.status})")
        expect_error("SignatureDoesNotMatch", 403, resp)


# ---- STREAMING-UNSIGNED-PAYLOAD-TRAILER (boto3's own encoder) -------------------------------------------
def _trailer_client(ctx: Ctx) -> Any:
    """boto3 sends checksums as an aws-chunked trailer only over TLS; this flips the same switch for
    http:// endpoints so boto3's own encoder and signer produce the request it would send over https."""
    s3 = ctx.client("s3")

    def to_trailer(params: dict, **_: Any) -> None:
        algorithm = params.get("context", {}).get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"

    for op in ("PutObject", "UploadPart"):
        s3.meta.events.register(f"before-call.s3.{op}", to_trailer)
    return s3


@scenario(SUITE)
def s3_auth_unsigned_trailer_checksum(ctx: Ctx) -> None:
    """boto3's STREAMING-UNSIGNED-PAYLOAD-TRAILER uploads work; a wrong trailer checksum is BadDigest 400.

    PutObject and UploadPart with a CRC32 trailer store the bytes and return the checksum; the upload with
    a wrong trailer stores nothing."""
    s3 = _trailer_client(ctx)
    data = blob(2 * 1024 * 1024 + 17, seed=42)
    with temp_bucket(ctx, "trailer") as bucket:
        put = expect_success(lambda: s3.put_object(Bucket=bucket, Key="t", Body=data, ChecksumAlgorithm="CRC32"),
                             "PutObject with a CRC32 trailer")
        check(put.get("ChecksumCRC32") == crc32_b64(data), f"PutObject ChecksumCRC32 {put.get('ChecksumCRC32')!r}")
        check(get_body(s3, bucket, "t") == data, "trailer upload stored other bytes")
        head = s3.head_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
        check(head.get("ChecksumCRC32") == crc32_b64(data), f"HEAD ChecksumCRC32 {head.get('ChecksumCRC32')!r}")
        up = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="CRC32")
        part = expect_success(lambda: s3.upload_part(Bucket=bucket, Key="m", UploadId=up["UploadId"], PartNumber=1,
                                                      Body=data, ChecksumAlgorithm="CRC32"),
                              "UploadPart with a CRC32 trailer")
        check(part.get("ChecksumCRC32") == crc32_b64(data), f"UploadPart ChecksumCRC32 {part.get('ChecksumCRC32')!r}")
        s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=up["UploadId"])

        # The same framing with a trailer that does not match the bytes.
        encoded = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum,
                                    checksum_name="x-amz-checksum-crc32").read()
        good = f"x-amz-checksum-crc32:{crc32_b64(data)}".encode()
        check(good in encoded, "internal: trailer not found in boto3's encoding")
        encoded = encoded.replace(good, f"x-amz-checksum-crc32:{crc32_b64(b'other')}".encode())
        headers = {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
                   "x-amz-decoded-content-length": str(len(data)), "Content-Length": str(len(encoded)),
                   "Content-Type": "application/octet-stream"}
        request = signed_v4(ctx, "PUT", f"/{bucket}/bad", payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                            body=encoded, headers=headers)
        resp = raw_http.send(request, ctx.target.timeout)
        check(object_absent(s3, bucket, "bad"), f"an upload with a wrong trailer checksum was stored ({resp.status})")
        expect_error("BadDigest", 400, resp)
