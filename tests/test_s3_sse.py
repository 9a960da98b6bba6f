"""Server-side encryption on a real Swift: SSE-C and SSE-S3 objects round-trip (whole, ranged, HEAD,
listings) with plaintext sizes, Swift holds only ciphertext, and the refusals S3 makes — an SSE-C object
is not readable without its key nor with another one; bad keys, KMS and unknown algorithms are refused."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.s3 import sse, sse_stream

from .conftest import SSE_TEST_KEYS, gateway_config
from .s3cfg_support import assert_error
from .server import in_process

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
PLAIN = b"cloudgate-plaintext-marker " * 9000  # ~243 KB: four chunks, the last one partial


def _c(key: bytes = KEY) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@pytest.fixture()
def s3(s3_gateway: Any) -> Any:
    return s3_gateway.client_a()


def _stored(s3_gateway: Any, bucket: str, key: str) -> bytes:
    return s3_gateway.swift_a.request("GET", bucket, key)[2]


def _assert_ciphertext(stored: bytes, plain: bytes) -> None:
    assert len(stored) == sse_stream.ciphertext_size(len(plain)) != len(plain)
    assert hashlib.md5(stored).hexdigest() != hashlib.md5(plain).hexdigest()
    assert b"plaintext-marker" not in stored


def test_sse_c_round_trip_and_denials(s3: Any, s3_gateway: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    put = s3.put_object(Bucket=b, Key="k", Body=PLAIN, **_c())
    key_md5 = _b64(hashlib.md5(KEY).digest())
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == key_md5
    assert put["ETag"].strip('"') != hashlib.md5(PLAIN).hexdigest()  # S3: not the plaintext MD5 for SSE-C
    got = s3.get_object(Bucket=b, Key="k", **_c())
    assert got["Body"].read() == PLAIN and got["ContentLength"] == len(PLAIN)
    assert got["SSECustomerKeyMD5"] == key_md5 and got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=b, Key="k", **_c())
    assert head["ContentLength"] == len(PLAIN) and head["SSECustomerAlgorithm"] == "AES256"
    # Without the key, with another key: S3's exact answers (HEAD errors carry no body: the status is the code).
    err = assert_error(lambda: s3.get_object(Bucket=b, Key="k"), "InvalidRequest", 400)
    assert err["Error"]["Message"] == sse._NEED_KEY
    assert_error(lambda: s3.get_object(Bucket=b, Key="k", **_c(OTHER)), "AccessDenied", 403)
    assert_error(lambda: s3.head_object(Bucket=b, Key="k"), "400", 400)
    assert_error(lambda: s3.head_object(Bucket=b, Key="k", **_c(OTHER)), "403", 403)
    assert_error(lambda: s3.get_object(Bucket=b, Key="k", Range="bytes=0-9", **_c(OTHER)), "AccessDenied", 403)
    _assert_ciphertext(_stored(s3_gateway, b, "k"), PLAIN)
    listed = s3.list_objects_v2(Bucket=b)["Contents"][0]
    assert listed["Size"] == len(PLAIN) and listed["ETag"] == put["ETag"]


@pytest.mark.parametrize("rng", ["bytes=0-0", "bytes=65530-65545", "bytes=65536-131071", "bytes=100000-",
                                 "bytes=-5", "bytes=-300000", "bytes=196607-196608", "bytes=0-999999"])
def test_ranged_get_decrypts_only_the_range(s3: Any, bucket: Callable[..., str], rng: str) -> None:
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=PLAIN, **_c())
    got = s3.get_object(Bucket=b, Key="k", Range=rng, **_c())
    first, last = rng[6:].split("-")
    if not first:
        want = PLAIN[-int(last):]
        start = len(PLAIN) - len(want)
    else:
        want = PLAIN[int(first):(int(last) + 1 if last else None)]
        start = int(first)
    assert got["Body"].read() == want
    assert got["ContentRange"] == f"bytes {start}-{start + len(want) - 1}/{len(PLAIN)}"
    assert got["ContentLength"] == len(want)


def test_ranged_get_past_the_end_is_invalid_range(s3: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"x" * 10, ServerSideEncryption="AES256")
    for rng in ("bytes=10-20", "bytes=40-50"):  # inside, then beyond, the 26 stored (ciphertext) bytes
        err = assert_error(lambda r=rng: s3.get_object(Bucket=b, Key="k", Range=r), "InvalidRange", 416)
        assert err["Error"]["ActualObjectSize"] == "10"


def test_sse_s3_object(s3: Any, s3_gateway: Any, bucket: Callable[..., str]) -> None:
    b = bucket(versioned=True)
    put = s3.put_object(Bucket=b, Key="k", Body=PLAIN, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(PLAIN).hexdigest()}"'  # S3: MD5 of the plaintext for SSE-S3
    got = s3.get_object(Bucket=b, Key="k")
    assert got["Body"].read() == PLAIN and got["ServerSideEncryption"] == "AES256" and got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=b, Key="k")
    assert head["ContentLength"] == len(PLAIN) and head["ServerSideEncryption"] == "AES256"
    listed = s3.list_objects(Bucket=b)["Contents"][0]
    assert (listed["Size"], listed["ETag"]) == (len(PLAIN), put["ETag"])
    version = s3.list_object_versions(Bucket=b)["Versions"][0]
    assert (version["Size"], version["ETag"]) == (len(PLAIN), put["ETag"])
    _assert_ciphertext(_stored(s3_gateway, b, "k"), PLAIN)
    # An SSE-C key is not applicable to an SSE-S3 object.
    assert_error(lambda: s3.get_object(Bucket=b, Key="k", **_c()), "InvalidRequest", 400)


def test_empty_and_chunk_aligned_objects(s3: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    for size in (0, 1, sse_stream.CHUNK, 2 * sse_stream.CHUNK):
        body = os.urandom(size)
        s3.put_object(Bucket=b, Key=f"k{size}", Body=body, ServerSideEncryption="AES256")
        assert s3.get_object(Bucket=b, Key=f"k{size}")["Body"].read() == body
        assert s3.head_object(Bucket=b, Key=f"k{size}")["ContentLength"] == size


def test_content_md5_is_checked_on_the_plaintext(s3: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    good = _b64(hashlib.md5(b"data").digest())
    s3.put_object(Bucket=b, Key="ok", Body=b"data", ContentMD5=good, **_c())
    assert_error(lambda: s3.put_object(Bucket=b, Key="bad", Body=b"datb", ContentMD5=good, **_c()), "BadDigest", 400)
    assert_error(lambda: s3.head_object(Bucket=b, Key="bad", **_c()), "404", 404)


def test_bad_requests(s3: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    s3.put_object(Bucket=b, Key="plain", Body=b"x")
    put = lambda **kw: s3.put_object(Bucket=b, Key="k", Body=b"x", **kw)  # noqa: E731
    assert_error(lambda: put(**_c(b"short")), "InvalidArgument", 400)
    assert_error(lambda: put(SSECustomerAlgorithm="AES256", SSECustomerKey=_b64(KEY),
                             SSECustomerKeyMD5=_b64(hashlib.md5(OTHER).digest())), "InvalidArgument", 400)
    assert_error(lambda: put(SSECustomerAlgorithm="AES128", SSECustomerKey=KEY),
                 "InvalidEncryptionAlgorithmError", 400)
    assert_error(lambda: put(ServerSideEncryption="aws:kms"), "KMS.NotFoundException", 400)
    assert_error(lambda: put(ServerSideEncryption="AES512"), "InvalidArgument", 400)
    assert_error(lambda: put(ServerSideEncryption="AES256", **_c()), "InvalidArgument", 400)
    # A key for an object stored in clear is refused, as on S3.
    assert_error(lambda: s3.get_object(Bucket=b, Key="plain", **_c()), "InvalidRequest", 400)


def test_bucket_default_encryption(s3: Any, s3_gateway: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    assert_error(lambda: s3.get_bucket_encryption(Bucket=b), "ServerSideEncryptionConfigurationNotFoundError", 404)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [rule]})
    assert s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"] == [rule]
    put = s3.put_object(Bucket=b, Key="k", Body=PLAIN)
    assert put["ServerSideEncryption"] == "AES256"
    _assert_ciphertext(_stored(s3_gateway, b, "k"), PLAIN)
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == PLAIN
    kms = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
    assert_error(lambda: s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [kms]}),
                 "KMS.NotFoundException", 400)
    s3.delete_bucket_encryption(Bucket=b)
    assert_error(lambda: s3.get_bucket_encryption(Bucket=b), "ServerSideEncryptionConfigurationNotFoundError", 404)
    assert "ServerSideEncryption" not in s3.put_object(Bucket=b, Key="plain", Body=PLAIN)
    assert _stored(s3_gateway, b, "plain") == PLAIN
    other = s3_gateway.client_b()
    assert_error(lambda: other.get_bucket_encryption(Bucket=b), "AccessDenied", 403)


def test_master_key_rotation() -> None:
    """Objects wrapped by a retired write key still open; a key removed from configuration does not."""
    def ctx(keys: dict[str, str], kid: str) -> Any:
        s3cfg = SimpleNamespace(sse_master_keys=keys, sse_write_key_id=kid)
        return SimpleNamespace(gateway=SimpleNamespace(config=SimpleNamespace(s3=s3cfg)), params={})
    old = sse.new_crypt(ctx(SSE_TEST_KEYS, "k0"), "S3")
    info = SimpleNamespace(private=old.private)
    assert old.private[sse.PRIVATE_KID] == "k0" and SSE_TEST_KEYS["k0"] not in str(old.private)
    assert sse.opener(ctx(SSE_TEST_KEYS, "k1"), info).data_key == old.data_key  # type: ignore[arg-type, union-attr]
    with pytest.raises(Exception, match="not configured"):
        sse.opener(ctx({"k1": SSE_TEST_KEYS["k1"]}, "k1"), info)  # type: ignore[arg-type]


def test_operator_settings(s3_gateway: Any) -> None:
    """encrypt_new_buckets: new buckets default to SSE-S3 and their objects are encrypted; without
    sse_c_allow_http, SSE-C over plain HTTP is refused as S3 does."""
    from gateway.config import parse_config

    cfg = gateway_config(s3_gateway.swift)
    cfg["s3"] = {**cfg["s3"], "encrypt_new_buckets": True, "sse_c_allow_http": False}
    with in_process(parse_config(cfg, "test")) as endpoint:
        import boto3
        from botocore.config import Config

        creds = s3_gateway.creds_a
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        name = f"cg-sse-default-{os.urandom(4).hex()}"
        s3.create_bucket(Bucket=name)
        try:
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
            assert s3.put_object(Bucket=name, Key="k", Body=PLAIN)["ServerSideEncryption"] == "AES256"
            _assert_ciphertext(_stored(s3_gateway, name, "k"), PLAIN)
            s3.delete_bucket_encryption(Bucket=name)  # as on AWS: back to SSE-S3, never unencrypted
            assert s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"] == rules
            err = assert_error(lambda: s3.put_object(Bucket=name, Key="c", Body=b"x", **_c()), "InvalidRequest", 400)
            assert "secure connection" in err["Error"]["Message"]
        finally:
            s3_gateway.swift_a.purge_container(name)  # the container too


def test_checksums_describe_the_plaintext(s3: Any, bucket: Callable[..., str]) -> None:
    b = bucket()
    put = s3.put_object(Bucket=b, Key="k", Body=PLAIN, ChecksumAlgorithm="SHA256", **_c())
    want = _b64(hashlib.sha256(PLAIN).digest())
    assert put["ChecksumSHA256"] == want
    assert s3.head_object(Bucket=b, Key="k", ChecksumMode="ENABLED", **_c())["ChecksumSHA256"] == want


async def _collect(gen: Any) -> bytes:
    return b"".join([piece async for piece in gen])


async def _pieces(*chunks: bytes) -> Any:
    for c in chunks:
        yield c


async def test_chunks_cannot_be_altered_reordered_or_dropped() -> None:
    key, prefix = os.urandom(32), os.urandom(8)
    plain = os.urandom(3 * sse_stream.CHUNK + 100)
    sealed = await _collect(sse_stream.encrypt(_pieces(plain[:1000], plain[1000:]), key, prefix))
    assert len(sealed) == sse_stream.ciphertext_size(len(plain))
    assert sse_stream.plaintext_size(len(sealed)) == len(plain)
    assert await _collect(sse_stream.decrypt(_pieces(sealed), key, prefix, plain_size=len(plain))) == plain
    small = [plain[i:i + 7000] for i in range(0, len(plain), 7000)]  # pieces smaller than a chunk
    assert await _collect(sse_stream.encrypt(_pieces(*small), key, prefix)) == sealed
    split = [sealed[i:i + 5000] for i in range(0, len(sealed), 5000)]
    assert await _collect(sse_stream.decrypt(_pieces(*split), key, prefix, plain_size=len(plain))) == plain
    s = sse_stream.SEALED
    flipped = bytearray(sealed)
    flipped[s + 5] ^= 1
    swapped = sealed[s:2 * s] + sealed[:s] + sealed[2 * s:]
    truncated = sealed[:3 * s]  # cut at a chunk boundary: chunk 2 was not sealed as the final one
    for bad, size in ((bytes(flipped), len(plain)), (swapped, len(plain)), (truncated, 3 * sse_stream.CHUNK)):
        with pytest.raises(sse_stream.Tampered):
            await _collect(sse_stream.decrypt(_pieces(bad), key, prefix, plain_size=size))
    with pytest.raises(sse_stream.Tampered):  # the stored object ends early
        await _collect(sse_stream.decrypt(_pieces(sealed[:-10]), key, prefix, plain_size=len(plain)))


def test_sse_configuration_is_checked_and_never_printed() -> None:
    from gateway.config import ConfigError, parse_config

    good = {"s3": {"sse_master_keys": SSE_TEST_KEYS, "sse_write_key_id": "k1"}}
    cfg = parse_config(good)
    assert SSE_TEST_KEYS["k1"] not in repr(cfg) and cfg.s3.sse_write_key_id == "k1"
    for bad in ({"sse_master_keys": {"k": "c2hvcnQ="}, "sse_write_key_id": "k"},  # 5 bytes
                {"sse_master_keys": SSE_TEST_KEYS, "sse_write_key_id": "nope"},
                {"sse_master_keys": SSE_TEST_KEYS},
                {"encrypt_new_buckets": True}):
        with pytest.raises(ConfigError) as e:
            parse_config({"s3": bad})
        assert not any(v in str(e.value) for v in SSE_TEST_KEYS.values())
