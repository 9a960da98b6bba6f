"""Conditional writes and deletes on the real devcloud Swift: PutObject / CopyObject / CompleteMultipartUpload
with If-Match and If-None-Match: *, DeleteObject(s) with If-Match, x-amz-if-match-last-modified-time and
x-amz-if-match-size (versioned buckets and delete markers included), CopyObject source conditions with S3's
precedence, and the If-None-Match race — N writers at once, exactly one wins — in one gateway and across two
`cloudgate serve` processes on one shared state store."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from gateway.protocol import errors
from gateway.s3 import key_lease

from .conftest import TENANTS, gateway_config
from .s3_support import aws_error
from .server import subprocess_server

WRITERS = 8
BODY = 300 * 1024  # above one streamed chunk: the bodies really overlap in flight


def _race(make_client, bucket: str, key: str, **cond) -> list[tuple[int, bytes]]:
    """WRITERS PutObjects with `cond` released at once; [(status, body sent)]."""
    gate = threading.Barrier(WRITERS)

    def one(i: int) -> tuple[int, bytes]:
        client, body = make_client(i), bytes([65 + i]) * BODY
        gate.wait(timeout=30)
        try:
            client.put_object(Bucket=bucket, Key=key, Body=body, **cond)
            return 200, body
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"].encode()

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(one, range(WRITERS)))


def _check_one_winner(results: list[tuple[int, bytes]], stored: bytes) -> None:
    winners = [body for status, body in results if status == 200]
    assert len(winners) == 1, results
    assert stored == winners[0]
    losers = {(status, code) for status, code in results if status != 200}
    assert losers <= {(412, b"PreconditionFailed"), (409, b"ConditionalRequestConflict")}, losers


# ---- the race ----------------------------------------------------------------------------------------
def test_if_none_match_race_one_gateway(s3_gateway, bucket):
    name = bucket()
    results = _race(lambda i: s3_gateway.client_a(), name, "once", IfNoneMatch="*")
    _check_one_winner(results, s3_gateway.client_a().get_object(Bucket=name, Key="once")["Body"].read())
    # Once it exists, the condition itself answers: 412, not a conflict.
    with aws_error("PreconditionFailed", 412):
        s3_gateway.client_a().put_object(Bucket=name, Key="once", Body=b"late", IfNoneMatch="*")


def test_if_match_race_is_compare_and_swap(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="k", Body=b"v0")["ETag"]
    results = _race(lambda i: s3_gateway.client_a(), name, "k", IfMatch=etag)
    _check_one_winner(results, s3.get_object(Bucket=name, Key="k")["Body"].read())


@pytest.fixture(scope="module")
def replicas(s3_gateway, tmp_path_factory):
    """Two `cloudgate serve` processes on one SQLite state file: the endpoints and a client factory."""
    tmp = tmp_path_factory.mktemp("replicas")
    config = gateway_config(s3_gateway.swift)
    config["state"] = {"url": f"sqlite:///{tmp / 'state.db'}"}
    (tmp / "r1").mkdir()
    (tmp / "r2").mkdir()
    with subprocess_server(tmp / "r1", config) as (one, _), subprocess_server(tmp / "r2", config) as (two, _):
        t = TENANTS["a"]

        def client(i: int):
            return boto3.client("s3", endpoint_url=(one, two)[i % 2], region_name="us-east-1",
                                aws_access_key_id=t["access_key"], aws_secret_access_key=t["secret_key"],
                                config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))

        yield (one, two), client


def test_if_none_match_race_across_two_replicas(replicas, bucket):
    """The lease is the shared store's, not a lock in one process."""
    _, client = replicas
    name = bucket()
    results = _race(client, name, "both", IfNoneMatch="*")
    _check_one_winner(results, client(0).get_object(Bucket=name, Key="both")["Body"].read())


def test_overlapping_overwrites_across_two_replicas(replicas, s3_gateway, bucket):
    """A slow upload through one replica, a fast one through the other: the object left is the one of the
    write that completed last."""
    from .test_s3_wire import _overlap

    (one, two), client = replicas
    name = bucket()
    results = _overlap(one, two, s3_gateway.creds_a, client(1), name)
    assert [r[0] for r in results] == [200, 200], results
    last = max(results, key=lambda r: r[1])[2]
    assert client(0).get_object(Bucket=name, Key="k")["Body"].read() == last


def test_lease_conflict_answers_409(s3_gateway, bucket):
    """A key whose lease another request holds: ConditionalRequestConflict 409 (S3's "retry"), for a
    conditional write and a conditional delete alike; an unconditional write does not wait for it."""
    import asyncio
    import time

    from gateway.store import open_store

    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="k", Body=b"v0")["ETag"]

    class Ctx:  # what key_lease needs of a request: the gateway's store
        pass

    async def hold(store) -> None:
        ctx = Ctx()
        ctx.gateway = Ctx()
        ctx.gateway.store = store
        async with key_lease.exclusive(ctx, name, "k"):
            with pytest.raises(errors.ConditionalRequestConflict):
                async with key_lease.exclusive(ctx, name, "k"):
                    pass
        # expired leases are taken over
        await store.put(key_lease.NS_KEY_LEASE, f"{name}/k", {"holder": "dead", "until": time.time() - 1})
        async with key_lease.exclusive(ctx, name, "k"):
            pass
        assert await store.get(key_lease.NS_KEY_LEASE, f"{name}/k") is None

    async def main():
        store = open_store("sqlite://:memory:")
        try:
            await hold(store)
        finally:
            await store.close()

    asyncio.run(main())
    assert s3.get_object(Bucket=name, Key="k", IfMatch=etag)["Body"].read() == b"v0"


# ---- PutObject / CopyObject / CompleteMultipartUpload ---------------------------------------------------
def test_put_conditions(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    with aws_error("NoSuchKey", 404):
        s3.put_object(Bucket=name, Key="k", Body=b"x", IfMatch='"0123456789abcdef0123456789abcdef"')
    first = s3.put_object(Bucket=name, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    with aws_error("PreconditionFailed", 412):
        s3.put_object(Bucket=name, Key="k", Body=b"two", IfMatch='"0123456789abcdef0123456789abcdef"')
    with aws_error("NotImplemented", 501):
        s3.put_object(Bucket=name, Key="k", Body=b"two", IfNoneMatch=first)
    second = s3.put_object(Bucket=name, Key="k", Body=b"two", IfMatch=first)["ETag"]
    with aws_error("PreconditionFailed", 412):  # the old ETag no longer matches
        s3.put_object(Bucket=name, Key="k", Body=b"three", IfMatch=first)
    assert s3.get_object(Bucket=name, Key="k", IfMatch=second)["Body"].read() == b"two"


def test_put_if_none_match_after_delete_marker(s3_gateway, bucket):
    """On a versioned bucket a key whose current version is a delete marker holds no object: If-None-Match:
    * creates it, If-Match finds nothing (NoSuchKey)."""
    s3, name = s3_gateway.client_a(), bucket(versioned=True)
    etag = s3.put_object(Bucket=name, Key="k", Body=b"one")["ETag"]
    s3.delete_object(Bucket=name, Key="k")
    with aws_error("NoSuchKey", 404):
        s3.put_object(Bucket=name, Key="k", Body=b"x", IfMatch=etag)
    s3.put_object(Bucket=name, Key="k", Body=b"two", IfNoneMatch="*")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"two"


def test_copy_destination_conditions(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="src", Body=b"source")
    src = f"{name}/src"
    s3.copy_object(Bucket=name, Key="dst", CopySource=src, IfNoneMatch="*")
    with aws_error("PreconditionFailed", 412):
        s3.copy_object(Bucket=name, Key="dst", CopySource=src, IfNoneMatch="*")
    with aws_error("PreconditionFailed", 412):
        s3.copy_object(Bucket=name, Key="dst", CopySource=src, IfMatch='"0123456789abcdef0123456789abcdef"')
    with aws_error("NoSuchKey", 404):
        s3.copy_object(Bucket=name, Key="ghost", CopySource=src, IfMatch='"0123456789abcdef0123456789abcdef"')
    etag = s3.head_object(Bucket=name, Key="dst")["ETag"]
    s3.copy_object(Bucket=name, Key="dst", CopySource=src, IfMatch=etag)


def test_copy_source_conditions_precedence(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="src", Body=b"source")["ETag"]
    modified = s3.head_object(Bucket=name, Key="src")["LastModified"]
    past, future = modified - dt.timedelta(days=1), modified + dt.timedelta(days=1)
    src, other = f"{name}/src", '"0123456789abcdef0123456789abcdef"'

    def copy(**kw):
        return s3.copy_object(Bucket=name, Key="dst", CopySource=src, **kw)

    # If-Match true wins over a false If-Unmodified-Since: copied.
    copy(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=past)
    # If-None-Match false with a true If-Modified-Since: 412.
    with aws_error("PreconditionFailed", 412):
        copy(CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=past)
    # If-None-Match true decides alone: a false If-Modified-Since does not stop the copy.
    copy(CopySourceIfNoneMatch=other, CopySourceIfModifiedSince=future)
    with aws_error("PreconditionFailed", 412):
        copy(CopySourceIfMatch=other)
    with aws_error("PreconditionFailed", 412):
        copy(CopySourceIfUnmodifiedSince=past)
    with aws_error("PreconditionFailed", 412):
        copy(CopySourceIfModifiedSince=modified)
    copy(CopySourceIfModifiedSince=past, CopySourceIfUnmodifiedSince=future)


def test_complete_multipart_conditions(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="k", Body=b"old")["ETag"]

    def upload():
        uid = s3.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
        part = s3.upload_part(Bucket=name, Key="k", UploadId=uid, PartNumber=1, Body=b"new")["ETag"]
        return uid, {"Parts": [{"PartNumber": 1, "ETag": part}]}

    uid, parts = upload()
    with aws_error("PreconditionFailed", 412):
        s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload=parts,
                                     IfMatch='"0123456789abcdef0123456789abcdef"')
    with aws_error("PreconditionFailed", 412):
        s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload=parts, IfNoneMatch="*")
    with aws_error("NotImplemented", 501):
        s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload=parts, IfNoneMatch=etag)
    s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload=parts, IfMatch=etag)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"new"


# ---- DeleteObject / DeleteObjects ---------------------------------------------------------------------
def test_delete_if_match_on_delete_marker_is_412(s3_gateway, bucket):
    """The issue's bug: the current version is a delete marker, so a non-matching If-Match fails the
    precondition (412), never NoSuchKey; so do the size and time conditions, in DeleteObjects too."""
    s3, name = s3_gateway.client_a(), bucket(versioned=True)
    etag = s3.put_object(Bucket=name, Key="k", Body=b"data")["ETag"]
    s3.delete_object(Bucket=name, Key="k")  # a delete marker is now current
    for kw in ({"IfMatch": '"0123456789abcdef0123456789abcdef"'}, {"IfMatch": etag}, {"IfMatch": "*"},
               {"IfMatchSize": 4}, {"IfMatchLastModifiedTime": dt.datetime.now(dt.UTC)}):
        with aws_error("PreconditionFailed", 412):
            s3.delete_object(Bucket=name, Key="k", **kw)
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "ETag": etag}, {"Key": "k2", "ETag": etag}]})
    assert {(e["Key"], e["Code"]) for e in out["Errors"]} == {("k", "PreconditionFailed"), ("k2", "NoSuchKey")}
    versions = s3.list_object_versions(Bucket=name)
    assert len(versions["Versions"]) == 1 and len(versions["DeleteMarkers"]) == 1  # nothing was added


def test_delete_conditions_on_objects(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="k", Body=b"data")["ETag"]
    modified = s3.head_object(Bucket=name, Key="k")["LastModified"]
    with aws_error("PreconditionFailed", 412):
        s3.delete_object(Bucket=name, Key="k", IfMatchSize=5)
    with aws_error("PreconditionFailed", 412):
        s3.delete_object(Bucket=name, Key="k", IfMatchLastModifiedTime=modified - dt.timedelta(seconds=1))
    with aws_error("PreconditionFailed", 412):
        s3.delete_object(Bucket=name, Key="k", IfMatch=etag, IfMatchSize=5)
    s3.delete_object(Bucket=name, Key="k", IfMatch=etag, IfMatchSize=4, IfMatchLastModifiedTime=modified)
    with aws_error("NoSuchKey", 404):
        s3.delete_object(Bucket=name, Key="k", IfMatch=etag)
    with aws_error("NoSuchKey", 404):
        s3.delete_object(Bucket=name, Key="k", IfMatch="*")
    # size or time alone on a key holding nothing: nothing to delete, 204 as S3
    assert s3.delete_object(Bucket=name, Key="k", IfMatchSize=4)["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket=name, Key="a", Body=b"aa")
    s3.put_object(Bucket=name, Key="b", Body=b"bb")
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a", "Size": 2}, {"Key": "b", "Size": 3}]})
    assert [d["Key"] for d in out["Deleted"]] == ["a"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("b", "PreconditionFailed")]
