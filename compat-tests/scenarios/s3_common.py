"""Helpers shared by the `s3` suite (no scenarios here): a throw-away bucket per scenario, deterministic
test data, digests, raw XML, anonymous and SigV2-query requests.

Every scenario that writes makes its own bucket with `temp_bucket`, so scenarios never see each other's
objects and a failed scenario cannot leave state behind for the next one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import random
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.auth import HmacV1QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError
from harness import Ctx, Fail, Response, Skip, check
from harness import http as raw_http
from harness.expect import ErrorInfo, outcome_of

SUITE = "s3"
MiB = 1024 * 1024
PART = 5 * MiB  # S3's minimum size for every part but the last
# Upper bounds for cleanup loops: a scenario writes a handful of objects, never thousands.
MAX_CLEANUP_PAGES = 20


def blob(size: int, seed: int = 0) -> bytes:
    """`size` reproducible pseudo-random bytes (incompressible, unlike b"x" * size)."""
    return random.Random(seed).randbytes(size)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def sha1_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c_b64(data: bytes) -> str:
    """CRC32C (Castagnoli) without awscrt; fine for the few KiB the scenarios send."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


def multipart_etag(parts: list[bytes]) -> str:
    """S3's ETag of a completed multipart upload: md5 of the concatenated binary part md5s, then -N."""
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def unquote_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


# ---- buckets --------------------------------------------------------------------------------------------
def bucket_name(tag: str) -> str:
    """A fresh, valid, lower-case bucket name (<= 63 chars) that says which scenario made it."""
    return f"cgc-{tag}-{uuid.uuid4().hex[:12]}"[:63]


def create_kwargs(ctx: Ctx) -> dict[str, Any]:
    region = ctx.target.region
    return {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}


def purge_bucket(s3: Any, bucket: str) -> None:
    """Best effort: abort uploads, delete every version, delete marker and object, then the bucket."""
    with contextlib.suppress(ClientError, BotoCoreError):
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            with contextlib.suppress(ClientError, BotoCoreError):
                s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for _ in range(MAX_CLEANUP_PAGES):
        try:
            page = s3.list_object_versions(Bucket=bucket)
            items = [(v["Key"], v.get("VersionId")) for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        except (ClientError, BotoCoreError):
            items = None
        if items is None:  # no ListObjectVersions: plain listing
            try:
                items = [(o["Key"], None) for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
            except (ClientError, BotoCoreError):
                break
        if not items:
            break
        progress = False
        for key, version in items:
            kwargs = {"VersionId": version} if version and version != "null" else {}
            try:
                s3.delete_object(Bucket=bucket, Key=key, **kwargs)
                progress = True
            except (ClientError, BotoCoreError):
                pass
        if not progress:
            break
    with contextlib.suppress(ClientError, BotoCoreError):
        s3.delete_bucket(Bucket=bucket)


@contextlib.contextmanager
def temp_bucket(ctx: Ctx, tag: str) -> Iterator[str]:
    """A new empty bucket for one scenario, emptied and deleted afterwards whatever happens.

    Skip (not Fail) when the endpoint cannot create a plain bucket at all: then no S3 scenario that
    writes data means anything, and the bucket scenarios report CreateBucket itself."""
    s3 = ctx.client("s3")
    name = bucket_name(tag)
    try:
        info = outcome_of(lambda: s3.create_bucket(Bucket=name, **create_kwargs(ctx)))
    except BotoCoreError as exc:
        raise Skip(f"cannot create a bucket: {exc}") from None
    if info is not None:
        raise Skip(f"cannot create a bucket: CreateBucket answered {info.describe()}")
    try:
        yield name
    finally:
        purge_bucket(s3, name)


# ---- requests ---------------------------------------------------------------------------------------------
def presigner(ctx: Ctx, access_key: str | None = None) -> Any:
    """A client whose presigned URLs are SigV4 (`X-Amz-Signature`): left to itself, boto3 still presigns
    S3 URLs with SigV2 for us-east-1."""
    t = ctx.target
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                    retries={"total_max_attempts": 1, "mode": "standard"})
    return boto3.session.Session().client(
        "s3", endpoint_url=t.s3_endpoint, region_name=t.region, config=config,
        aws_access_key_id=access_key or t.access_key, aws_secret_access_key=t.secret_key)


def anonymous(ctx: Ctx, method: str, path: str, *, query: str = "", headers: dict[str, str] | None = None,
              body: bytes | None = None) -> Response:
    """An unsigned request (what a browser or `curl` without credentials sends)."""
    return ctx.s3(method, path, query=query, headers=headers, body=body, auth="none")


def sigv2_query(ctx: Ctx, method: str, path: str, *, body: bytes | None = None,
                secret_key: str | None = None, expires: int = 600) -> Response:
    """A SigV2 query-string presigned request (`?AWSAccessKeyId=..&Expires=..&Signature=..`)."""
    t = ctx.target
    url = t.s3_endpoint.rstrip("/") + path
    headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
    request = AWSRequest(method, url, headers=headers, data=body)
    HmacV1QueryAuth(Credentials(t.access_key, secret_key or t.secret_key), expires=expires).add_auth(request)
    return raw_http.send(request, t.timeout)


def signed_v4(ctx: Ctx, method: str, path: str, *, payload_hash: str, body: bytes | None,
              headers: dict[str, str] | None = None, query: str = "") -> AWSRequest:
    """A SigV4-signed request whose x-amz-content-sha256 is `payload_hash` as given (botocore's S3 signer
    would replace it with the body's real hash). For aws-chunked, wrong-hash and trailer requests."""
    t = ctx.target
    url = t.s3_endpoint.rstrip("/") + path + (f"?{query}" if query else "")
    request = AWSRequest(method, url, headers={**(headers or {}), "X-Amz-Content-SHA256": payload_hash}, data=body)
    SigV4Auth(Credentials(t.access_key, t.secret_key), "s3", t.region).add_auth(request)
    return request


def send_url(ctx: Ctx, method: str, url: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Response:
    """Send to a ready URL (a presigned one) as is."""
    all_headers = dict(headers or {})
    if body is not None:
        all_headers.setdefault("Content-Type", "application/octet-stream")
    return raw_http.send(AWSRequest(method, url, headers=all_headers, data=body), ctx.target.timeout)


# ---- XML ----------------------------------------------------------------------------------------------
def xml_root(resp: Response) -> ET.Element:
    """The response document with namespaces stripped from every tag."""
    check(resp.status < 300, f"expected success, got {resp.status}: {resp.body[:200]!r}")
    try:
        root = ET.fromstring(resp.body)
    except ET.ParseError as exc:
        raise Fail(f"response is not XML ({exc}): {resp.body[:120]!r}") from None
    for elem in root.iter():
        elem.tag = elem.tag.rpartition("}")[2]
    return root


def check_error(code: str, status: int, info: ErrorInfo | None) -> ErrorInfo:
    """`expect_error` for an outcome already obtained (so the request is not sent twice)."""
    if info is None:
        raise Fail(f"expected {code} {status}, got success")
    if info.code != code or info.status != status:
        raise Fail(f"expected {code} {status}, got {info.describe()}")
    return info


def expect_success(call: Callable[[], Any], what: str) -> Any:
    """Run an SDK call that must succeed; its error becomes a Fail naming the step."""
    try:
        return call()
    except ClientError as err:
        meta, detail = err.response.get("ResponseMetadata", {}), err.response.get("Error", {})
        raise Fail(f"{what} failed: {detail.get('Code')} {meta.get('HTTPStatusCode')} "
                   f"({(detail.get('Message') or '')[:120]!r})") from None


def get_body(s3: Any, bucket: str, key: str, **kwargs: Any) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()


def object_absent(s3: Any, bucket: str, key: str) -> bool:
    """True when HEAD says 404 (the object does not exist)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        return err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    return False
