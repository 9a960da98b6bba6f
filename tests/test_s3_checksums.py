"""Checksums: the algorithms, the verifying body (nothing released before verification), and end to end
through boto3, aws-chunked trailers and raw requests against the real Swift."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib

import pytest
from botocore.exceptions import ClientError

from gateway.protocol import errors
from gateway.s3 import checksums
from gateway.s3.checksums import ChecksumSpec, VerifiedBody


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32_b64(data: bytes) -> str:
    return _b64(zlib.crc32(data).to_bytes(4, "big"))


def _run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


async def _source(pieces):
    for p in pieces:
        yield p


async def _drain(body) -> list[bytes]:
    return [piece async for piece in body]


# ---- algorithms -------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm,check", [("CRC32", "cbf43926"), ("CRC32C", "e3069283"),
                                             ("CRC64NVME", "ae8b14860a799888")])
def test_crc_check_values(algorithm, check):
    running = checksums.new_checksum(algorithm)
    running.update(b"1234")
    running.update(b"56789")
    assert base64.b64decode(running.b64digest()).hex() == check


def test_crc32c_matches_known_vector_of_32_zero_bytes():
    running = checksums.new_checksum("CRC32C")
    running.update(bytes(32))
    assert base64.b64decode(running.b64digest()).hex() == "8a9136aa"  # RFC 3720 B.4


# ---- what the client declared ------------------------------------------------------------------------
def test_malformed_content_md5_is_invalid_digest():
    with pytest.raises(errors.InvalidDigest):
        ChecksumSpec.from_request({"ContentMD5": "not-base64!"}, {})
    with pytest.raises(errors.InvalidDigest):
        ChecksumSpec.from_request({"ContentMD5": _b64(b"short")}, {})


def test_two_checksum_headers_are_refused():
    with pytest.raises(errors.InvalidRequest, match="single x-amz-checksum"):
        ChecksumSpec.from_request({"ChecksumCRC32": crc32_b64(b""), "ChecksumSHA1": _b64(bytes(20))}, {})


def test_checksum_value_of_wrong_length_is_invalid_request():
    with pytest.raises(errors.InvalidRequest, match="x-amz-checksum-sha256"):
        ChecksumSpec.from_request({"ChecksumSHA256": _b64(bytes(20))}, {})


def test_unknown_algorithm_is_invalid_request_and_unsupported_member_not_implemented():
    with pytest.raises(errors.InvalidRequest):
        ChecksumSpec.from_request({"ChecksumAlgorithm": "MD4"}, {})
    with pytest.raises(errors.S3NotImplemented):
        ChecksumSpec.from_request({"ChecksumSHA512": _b64(bytes(64))}, {})


def test_trailer_declares_the_algorithm():
    spec = ChecksumSpec.from_request({}, {"x-amz-trailer": "x-amz-checksum-crc32c"})
    assert (spec.algorithm, spec.trailer, spec.expected) == ("CRC32C", "x-amz-checksum-crc32c", None)


# ---- the verifying body ------------------------------------------------------------------------------
def test_verified_body_passes_data_and_reports_checksums():
    data = [os.urandom(1000), os.urandom(10), os.urandom(5000)]
    whole = b"".join(data)
    spec = ChecksumSpec.from_request({"ChecksumSHA256": _b64(hashlib.sha256(whole).digest()),
                                      "ContentMD5": _b64(hashlib.md5(whole).digest())}, {})
    body = VerifiedBody(_source(data), spec, declared_size=len(whole))
    assert b"".join(_run(_drain(body))) == whole
    assert body.result.checksums == {"SHA256": _b64(hashlib.sha256(whole).digest())}
    assert body.result.md5_hex == hashlib.md5(whole).hexdigest()


def test_mismatch_is_raised_before_the_last_piece_is_released():
    data = [b"a" * 100, b"b" * 100, b"c" * 100]
    spec = ChecksumSpec.from_request({"ChecksumCRC32": crc32_b64(b"something else")}, {})
    body = VerifiedBody(_source(data), spec, declared_size=300)
    got: list[bytes] = []

    async def consume():
        async for piece in body:
            got.append(piece)

    with pytest.raises(errors.BadDigest, match="The CRC32 you specified did not match the calculated checksum."):
        _run(consume())
    assert b"".join(got) == b"a" * 100 + b"b" * 100  # the last piece never went out


def test_content_md5_mismatch_is_bad_digest_and_short_body_incomplete():
    spec = ChecksumSpec.from_request({"ContentMD5": _b64(hashlib.md5(b"x").digest())}, {})
    with pytest.raises(errors.BadDigest):
        _run(_drain(VerifiedBody(_source([b"y"]), spec, declared_size=1)))
    with pytest.raises(errors.IncompleteBody):
        _run(_drain(VerifiedBody(_source([b"y"]), ChecksumSpec(), declared_size=2)))


def test_body_beyond_the_limit_is_entity_too_large():
    with pytest.raises(errors.EntityTooLarge):
        _run(_drain(VerifiedBody(_source([b"x" * 10] * 5), ChecksumSpec(), declared_size=None, max_size=25)))


def test_verify_buffered():
    body = b"<Delete/>"
    assert checksums.verify_buffered({"Content-MD5": _b64(hashlib.md5(body).digest())}, body)
    assert checksums.verify_buffered({"x-amz-checksum-crc32": crc32_b64(body)}, body)
    assert not checksums.verify_buffered({}, body)
    with pytest.raises(errors.BadDigest):
        checksums.verify_buffered({"Content-MD5": _b64(hashlib.md5(b"other").digest())}, body)
    with pytest.raises(errors.BadDigest):
        checksums.verify_buffered({"x-amz-checksum-crc32": crc32_b64(b"other")}, body)


# ---- end to end ---------------------------------------------------------------------------------------
def _code(e: ClientError) -> tuple[str, int]:
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_with_checksums_returns_and_get_echoes_them(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    data = os.urandom(300_000)
    for algorithm in ("CRC32", "SHA1", "SHA256", "CRC32C"):
        if algorithm == "CRC32C":
            running = checksums.new_checksum("CRC32C")
            running.update(data)
            put = s3.put_object(Bucket=name, Key=algorithm, Body=data, ChecksumCRC32C=running.b64digest())
        else:
            put = s3.put_object(Bucket=name, Key=algorithm, Body=data, ChecksumAlgorithm=algorithm)
        member = f"Checksum{algorithm}"
        assert put[member]
        got = s3.get_object(Bucket=name, Key=algorithm, ChecksumMode="ENABLED")
        assert got[member] == put[member]
        assert got["Body"].read() == data
        head = s3.head_object(Bucket=name, Key=algorithm, ChecksumMode="ENABLED")
        assert head[member] == put[member]
        assert member not in s3.head_object(Bucket=name, Key=algorithm)


def test_wrong_checksum_is_bad_digest_and_nothing_is_stored(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="k", Body=b"hello world", ChecksumCRC32=crc32_b64(b"other"))
    assert _code(e.value) == ("BadDigest", 400)
    assert "The CRC32 you specified did not match the calculated checksum." in str(e.value)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="k", Body=b"hello world", ChecksumSHA256=_b64(hashlib.sha256(b"x").digest()))
    assert _code(e.value) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=name, Key="k")
    assert _code(e.value) == ("404", 404)


def test_content_md5_bad_and_malformed(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="k", Body=b"data", ContentMD5=_b64(hashlib.md5(b"other").digest()))
    assert _code(e.value) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="k", Body=b"data", ContentMD5="garbage")
    assert _code(e.value) == ("InvalidDigest", 400)
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    ok = s3.put_object(Bucket=name, Key="k", Body=b"data", ContentMD5=_b64(hashlib.md5(b"data").digest()))
    assert ok["ETag"] == f'"{hashlib.md5(b"data").hexdigest()}"'


def _raw_trailer_put(endpoint: str, path: str, data: bytes, trailer_name: str, trailer_value: str):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER as SDKs send it over TLS (aws-chunked, checksum in the trailer)."""
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from .conftest import TENANTS

    body = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" +
            f"{trailer_name}:{trailer_value}\r\n\r\n".encode())
    req = AWSRequest("PUT", endpoint + path, headers={
        "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data)),
        "x-amz-trailer": trailer_name, "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})

    class Signer(S3SigV4Auth):
        def payload(self, request):
            return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    Signer(Credentials(TENANTS["a"]["access_key"], TENANTS["a"]["secret_key"]), "s3", "us-east-1").add_auth(req)
    headers = dict(req.prepare().headers)
    headers["Content-Length"] = str(len(body))
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("PUT", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_trailer_checksum_verified_stored_and_returned(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    data = os.urandom(70_000)
    status, body, headers = _raw_trailer_put(s3_gateway.endpoint, f"/{name}/t", data, "x-amz-checksum-crc32",
                                             crc32_b64(data))
    assert status == 200, body
    assert headers["x-amz-checksum-crc32"] == crc32_b64(data)
    got = s3.get_object(Bucket=name, Key="t", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc32_b64(data) and got["Body"].read() == data
    # crc32c: verified by the gateway itself when the decoder has no fast implementation
    running = checksums.new_checksum("CRC32C")
    running.update(data)
    status, body, _ = _raw_trailer_put(s3_gateway.endpoint, f"/{name}/c", data, "x-amz-checksum-crc32c",
                                       running.b64digest())
    assert status == 200, body
    status, body, _ = _raw_trailer_put(s3_gateway.endpoint, f"/{name}/bad", data, "x-amz-checksum-crc32c",
                                       _b64(bytes(4)))
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=name, Key="bad")
    assert _code(e.value) == ("404", 404)


def test_delete_objects_requires_an_integrity_header(s3_gateway, bucket):
    """boto3 always adds a checksum to DeleteObjects; a raw request without one is InvalidRequest."""
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from .conftest import TENANTS

    name = bucket()
    xml = b"<Delete><Object><Key>a</Key></Object></Delete>"
    for extra, expected in (({}, (400, b"InvalidRequest")),
                            ({"Content-MD5": _b64(hashlib.md5(b"x").digest())}, (400, b"BadDigest")),
                            ({"Content-MD5": _b64(hashlib.md5(xml).digest())}, (200, b"DeleteResult"))):
        req = AWSRequest("POST", f"{s3_gateway.endpoint}/{name}?delete", data=xml, headers=extra)
        S3SigV4Auth(Credentials(TENANTS["a"]["access_key"], TENANTS["a"]["secret_key"]), "s3",
                    "us-east-1").add_auth(req)
        u = urlsplit(s3_gateway.endpoint)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("POST", f"/{name}?delete", body=xml, headers=dict(req.prepare().headers))
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == expected[0] and expected[1] in body, body
