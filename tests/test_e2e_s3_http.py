"""S3 over HTTP through the whole pipeline: signed aws-chunked uploads, virtual-hosted style, HEAD, metrics."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.request
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.registry import Registry

from .server import AK, SK, in_process
from .test_auth_support import signed_chunks, v4_key

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


class _StreamingSigner(S3SigV4Auth):
    def payload(self, request):  # sign the streaming marker, not a body hash
        return STREAMING


@pytest.fixture(scope="module")
def endpoint():
    reg = Registry()

    @reg.register("s3", "PutObject")
    async def put_object(ctx):
        md5, size = hashlib.md5(), 0
        async for chunk in ctx.body:
            md5.update(chunk)
            size += len(chunk)
        return {"ETag": f'"{md5.hexdigest()}"', "Size": size, "VersionId": ctx.params["Key"]}

    @reg.register("s3", "HeadBucket")
    async def head_bucket(ctx):
        return {"BucketRegion": "us-east-1"}

    with in_process(registry=reg) as ep:
        yield ep


def _raw(endpoint: str, method: str, path: str, headers: dict, body) -> tuple[int, bytes, dict]:
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def _chunked_put(endpoint: str, chunks: list[bytes], tamper: bool = False) -> tuple[int, bytes, dict]:
    decoded = sum(len(c) for c in chunks)
    req = AWSRequest("PUT", endpoint + "/bucket/big.bin",
                     headers={"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(decoded)})
    _StreamingSigner(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    headers = dict(req.prepare().headers)
    authz = headers["Authorization"]
    timestamp = headers["X-Amz-Date"]
    blocks = list(signed_chunks(chunks, key=v4_key(SK, timestamp[:8]), seed=authz.rpartition("Signature=")[2],
                                timestamp=timestamp,
                                scope=re.search(r"Credential=[^/]+/([^,]+)", authz).group(1)))
    if tamper:  # flip one byte of the second chunk's data
        b = bytearray(blocks[1])
        b[-3] ^= 1
        blocks[1] = bytes(b)
    body = b"".join(blocks)
    headers["Content-Length"] = str(len(body))
    return _raw(endpoint, "PUT", "/bucket/big.bin", headers, body)


def test_signed_aws_chunked_upload_is_decoded_and_verified(endpoint):
    chunks = [os.urandom(64 * 1024) for _ in range(5)] + [os.urandom(1000)]
    status, _, headers = _chunked_put(endpoint, chunks)
    assert status == 200
    assert headers["etag"] == f'"{hashlib.md5(b"".join(chunks)).hexdigest()}"'


def test_tampered_aws_chunk_is_signature_does_not_match(endpoint):
    chunks = [os.urandom(64 * 1024) for _ in range(3)]
    status, body, _ = _chunked_put(endpoint, chunks, tamper=True)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body


def test_virtual_hosted_style_routes_bucket_from_host(endpoint):
    port = urlsplit(endpoint).port
    host = f"photos.s3.localhost:{port}"
    req = AWSRequest("PUT", f"http://{host}/2024/a%20b.jpg", data=b"data")
    S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    prepared = req.prepare()
    sent = {**prepared.headers, "Host": host}  # connect to 127.0.0.1, present the virtual host
    status, _, headers = _raw(endpoint, "PUT", urlsplit(prepared.url).path, sent, b"data")
    assert status == 200
    assert headers["x-amz-version-id"] == "2024/a b.jpg"  # the handler echoes the key it was given


def test_head_answers_without_body_and_errors_without_body(endpoint):
    req = AWSRequest("HEAD", endpoint + "/bucket")
    S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    p = req.prepare()
    status, body, headers = _raw(endpoint, "HEAD", "/bucket", dict(p.headers), None)
    assert (status, body, headers["x-amz-bucket-region"]) == (200, b"", "us-east-1")
    status, body, _ = _raw(endpoint, "HEAD", "/bucket", {"Authorization": "AWS4-HMAC-SHA256 junk"}, None)
    assert (status, body) == (400, b"")


def test_oversized_xml_body_is_refused_by_declared_length(endpoint):
    tagging = b"<Tagging><TagSet>" + b"<Tag><Key>k</Key><Value>v</Value></Tag>" * 120_000 + b"</TagSet></Tagging>"
    req = AWSRequest("PUT", endpoint + "/bucket?tagging", data=tagging)
    S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    p = req.prepare()
    status, body, _ = _raw(endpoint, "PUT", "/bucket?tagging", dict(p.headers), tagging)
    assert status == 400 and b"<Code>MaxMessageLengthExceeded</Code>" in body


def test_metrics_count_requests_by_operation_and_status(endpoint):
    _chunked_put(endpoint, [b"x" * 10])
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
        text = r.read().decode()
    assert re.search(r'cloudgate_requests_total\{service="s3",operation="PutObject",status="200"\} [1-9]', text)
