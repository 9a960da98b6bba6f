"""Objects through the gateway on a real Swift: put/get/head/delete, ranges, conditions, copy, batch
delete, refused features, big streaming bodies and awkward keys — every error with its code and status."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os

import pytest

from gateway.protocol import errors
from gateway.s3 import conditions
from gateway.s3.copy import parse_copy_source

from .s3_support import aws_cli, aws_error, raw

MiB = 1024 * 1024
WEIRD_KEYS = ["plain", "with space", "plus+sign", "percent%20literal", "a/b/c.txt", "ünïcødé/日本語.txt",
              "emoji-🎉", "question?mark", "hash#tag", "amp&er=sand", "tilde~", "ctrl\x01char", "x" * 900]


# ---- pure helpers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("header,expected", [
    ("bytes=0-9", (0, 9)), ("bytes=-5", (None, 5)), ("bytes=10-", (10, None)), ("bytes=0-1,3-4", None),
    ("items=0-1", None), ("bytes=5-2", None), ("bytes=-", None), (None, None), ("bytes = 3 - 4", (3, 4))])
def test_parse_range(header, expected):
    assert conditions.parse_range(header) == expected


def test_resolve_range_clamps_and_refuses():
    assert conditions.resolve_range((5, 100), 10, "").last == 9
    assert conditions.resolve_range((None, 100), 10, "").first == 0
    with pytest.raises(errors.InvalidRange):
        conditions.resolve_range((10, None), 10, "bytes=10-")
    with pytest.raises(errors.InvalidRange):
        conditions.resolve_range((None, 0), 10, "bytes=-0")


def test_etag_matching():
    assert conditions.etag_matches('"abc"', "abc")
    assert conditions.etag_matches('"x", "abc"', '"abc"')
    assert conditions.etag_matches("*", "abc")
    assert not conditions.etag_matches('"abd"', "abc")


@pytest.mark.parametrize("value,expected", [
    ("bkt/key", ("bkt", "key", None)), ("/bkt/a%20b/c", ("bkt", "a b/c", None)),
    ("bkt/k%3Fq?versionId=v1", ("bkt", "k?q", "v1")), ("bkt/%E6%97%A5", ("bkt", "日", None))])
def test_parse_copy_source(value, expected):
    assert parse_copy_source(value) == expected


@pytest.mark.parametrize("value", ["bkt", "bkt/", "/", "bkt/k?foo=bar"])
def test_parse_copy_source_refuses(value):
    with pytest.raises(errors.InvalidArgument):
        parse_copy_source(value)


# ---- put / get / head ----------------------------------------------------------------------------------
def test_put_get_head_with_metadata_and_headers(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    put = s3.put_object(Bucket=name, Key="doc.txt", Body=b"hello", ContentType="text/plain",
                        Metadata={"Color": "blue", "n": "1"}, CacheControl="max-age=60",
                        ContentDisposition='attachment; filename="d.txt"', ContentLanguage="en",
                        ContentEncoding="identity", Expires=expires)
    assert put["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    got = s3.get_object(Bucket=name, Key="doc.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"color": "blue", "n": "1"}
    assert got["CacheControl"] == "max-age=60" and got["ContentLanguage"] == "en"
    assert got["ContentDisposition"] == 'attachment; filename="d.txt"'
    assert got["ContentEncoding"] == "identity" and got["Expires"] == expires
    assert got["ETag"] == put["ETag"] and got["AcceptRanges"] == "bytes"
    head = s3.head_object(Bucket=name, Key="doc.txt")
    assert head["ContentLength"] == 5 and head["Metadata"] == {"color": "blue", "n": "1"}
    # default content type is S3's, not a guess from the extension
    s3.put_object(Bucket=name, Key="guess.html", Body=b"<p>")
    assert s3.head_object(Bucket=name, Key="guess.html")["ContentType"] == "binary/octet-stream"


def test_response_overrides(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x", ContentType="text/plain")
    got = s3.get_object(Bucket=name, Key="k", ResponseContentType="application/json",
                        ResponseContentDisposition="inline", ResponseCacheControl="no-cache")
    assert (got["ContentType"], got["ContentDisposition"], got["CacheControl"]) == \
        ("application/json", "inline", "no-cache")


def test_missing_key_and_head_without_body(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    with aws_error("NoSuchKey", 404):
        s3.get_object(Bucket=name, Key="nope")
    with aws_error("404", 404):
        s3.head_object(Bucket=name, Key="nope")
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "HEAD", f"/{name}/nope")
    assert (status, body) == (404, b"")


def test_metadata_too_large(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    with aws_error("MetadataTooLarge", 400):
        s3.put_object(Bucket=name, Key="k", Body=b"x", Metadata={f"k{i}": "v" * 200 for i in range(11)})


def test_storage_class_and_object_lock(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="std", Body=b"x", StorageClass="STANDARD")
    with aws_error("InvalidStorageClass", 400):
        s3.put_object(Bucket=name, Key="k", Body=b"x", StorageClass="GLACIER")
    with aws_error("InvalidRequest", 400):
        s3.put_object(Bucket=name, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")


def test_conditional_writes(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    first = s3.put_object(Bucket=name, Key="k", Body=b"one", IfNoneMatch="*")
    with aws_error("PreconditionFailed", 412):
        s3.put_object(Bucket=name, Key="k", Body=b"two", IfNoneMatch="*")
    with aws_error("PreconditionFailed", 412):
        s3.put_object(Bucket=name, Key="k", Body=b"two", IfMatch='"00000000000000000000000000000000"')
    s3.put_object(Bucket=name, Key="k", Body=b"three", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"three"
    with aws_error("NoSuchKey", 404):
        s3.put_object(Bucket=name, Key="absent", Body=b"x", IfMatch=first["ETag"])


def test_tagging_header_and_tag_count(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x", Tagging="a=1&b=two%20words")
    assert s3.get_object(Bucket=name, Key="k")["TagCount"] == 2
    assert s3.get_object_tagging(Bucket=name, Key="k")["TagSet"] == [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two words"}]
    s3.put_object(Bucket=name, Key="k", Body=b"y")  # an overwrite does not inherit tags
    assert "TagCount" not in s3.head_object(Bucket=name, Key="k")
    with aws_error("InvalidTag", 400):
        s3.put_object(Bucket=name, Key="k2", Body=b"x", Tagging="aws:reserved=1")


def test_canned_acl_on_put(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="pub", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket=name, Key="pub")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
    assert s3_gateway.client_b().get_object(Bucket=name, Key="pub")["Body"].read() == b"x"


def test_missing_content_length_and_too_large(s3_gateway, bucket):
    name = bucket()
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{name}/k", body=None,
                          drop=("Content-Length",))
    assert status == 411 and b"<Code>MissingContentLength</Code>" in body
    # refused by the declared length, before a byte of the body is read
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{name}/k", body=None,
                          sign_body=False, drop=("Content-Length",),
                          unsigned={"Content-Length": str(5 * 1024 ** 3 + 1)})
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in body


# ---- ranges and conditional reads ----------------------------------------------------------------------
def test_ranges(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=name, Key="r", Body=data)
    for header, first, last in (("bytes=0-9", 0, 9), ("bytes=-5", 1019, 1023), ("bytes=1000-", 1000, 1023),
                                ("bytes=1000-5000", 1000, 1023)):
        got = s3.get_object(Bucket=name, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"] == f"bytes {first}-{last}/1024"
        assert got["Body"].read() == data[first:last + 1]
    whole = s3.get_object(Bucket=name, Key="r", Range="bytes=0-1,5-6")  # several ranges: whole object
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200 and whole["Body"].read() == data
    with aws_error("InvalidRange", 416) as e:
        s3.get_object(Bucket=name, Key="r", Range="bytes=2000-")
    assert e.value.response["Error"]["ActualObjectSize"] == "1024"
    head = s3.head_object(Bucket=name, Key="r", Range="bytes=0-99")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206 and head["ContentLength"] == 100


def test_conditional_reads_and_precedence(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="c", Body=b"cond")["ETag"]
    past, future = dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert s3.get_object(Bucket=name, Key="c", IfMatch=etag)["Body"].read() == b"cond"
    with aws_error("PreconditionFailed", 412):
        s3.get_object(Bucket=name, Key="c", IfMatch='"nope"')
    with aws_error("304", 304):
        s3.get_object(Bucket=name, Key="c", IfNoneMatch=etag)
    with aws_error("PreconditionFailed", 412):
        s3.get_object(Bucket=name, Key="c", IfUnmodifiedSince=past)
    modified = s3.head_object(Bucket=name, Key="c")["LastModified"]
    with aws_error("304", 304):
        s3.head_object(Bucket=name, Key="c", IfModifiedSince=modified)
    # a date in the future is ignored (RFC 7232), so is a condition that holds
    assert s3.get_object(Bucket=name, Key="c", IfModifiedSince=future)["Body"].read() == b"cond"
    assert s3.get_object(Bucket=name, Key="c", IfModifiedSince=past)["Body"].read() == b"cond"
    # If-Match true + If-Unmodified-Since false -> 200; If-None-Match false + If-Modified-Since true -> 304
    assert s3.get_object(Bucket=name, Key="c", IfMatch=etag, IfUnmodifiedSince=past)["Body"].read() == b"cond"
    with aws_error("304", 304):
        s3.get_object(Bucket=name, Key="c", IfNoneMatch=etag, IfModifiedSince=past)
    status, body, headers = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}/c",
                                headers={"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["etag"] == etag


# ---- delete ---------------------------------------------------------------------------------------------
def test_delete_is_idempotent_and_drops_extras(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    assert s3.delete_object(Bucket=name, Key="never")["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket=name, Key="k", Body=b"x", Tagging="t=1")
    s3.delete_object(Bucket=name, Key="k")
    with aws_error("NoSuchKey", 404):
        s3.get_object(Bucket=name, Key="k")
    s3_gateway.swift_a.request("PUT", name, "k", body=b"native")  # same key, written around the gateway
    assert "TagCount" not in s3.head_object(Bucket=name, Key="k")


def test_delete_if_match(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="k", Body=b"x")["ETag"]
    with aws_error("PreconditionFailed", 412):
        s3.delete_object(Bucket=name, Key="k", IfMatch='"nope"')
    s3.delete_object(Bucket=name, Key="k", IfMatch=etag)
    with aws_error("NoSuchKey", 404):
        s3.delete_object(Bucket=name, Key="k", IfMatch=etag)


def test_delete_objects_verbose_and_quiet(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=name, Key=k, Body=b"x")
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "ghost"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "ghost"] and "Errors" not in out
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in out and "Errors" not in out
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    with aws_error("MalformedXML", 400):
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})


def test_delete_objects_reports_per_key_errors(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="keep", Body=b"x")
    s3.put_object(Bucket=name, Key="go", Body=b"x")
    out = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "keep", "ETag": '"nope"'}, {"Key": "go"}]})
    assert [d["Key"] for d in out["Deleted"]] == ["go"]
    assert out["Errors"] == [{"Key": "keep", "Code": "PreconditionFailed",
                              "Message": "At least one of the pre-conditions you specified did not hold"}]
    assert s3.head_object(Bucket=name, Key="keep")["ContentLength"] == 1


# ---- copy -------------------------------------------------------------------------------------------------
def test_copy_object_metadata_directives(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="src key+1", Body=b"payload", Metadata={"a": "1"}, ContentType="text/x",
                  Tagging="t=v")
    out = s3.copy_object(Bucket=name, Key="dst", CopySource={"Bucket": name, "Key": "src key+1"})
    assert out["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    got = s3.get_object(Bucket=name, Key="dst")
    assert (got["Body"].read(), got["Metadata"], got["ContentType"], got["TagCount"]) == \
        (b"payload", {"a": "1"}, "text/x", 1)
    s3.copy_object(Bucket=name, Key="dst2", CopySource=f"{name}/src key+1", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/y", TaggingDirective="REPLACE", Tagging="x=1&y=2")
    got = s3.head_object(Bucket=name, Key="dst2")
    assert (got["Metadata"], got["ContentType"], got["TagCount"]) == ({"b": "2"}, "text/y", 2)
    with aws_error("InvalidArgument", 400):
        s3.copy_object(Bucket=name, Key="d", CopySource={"Bucket": name, "Key": "src key+1"},
                       MetadataDirective="MERGE")


def test_copy_to_itself(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="self", Body=b"same", Metadata={"v": "1"})
    with aws_error("InvalidRequest", 400) as e:
        s3.copy_object(Bucket=name, Key="self", CopySource={"Bucket": name, "Key": "self"})
    assert "This copy request is illegal" in e.value.response["Error"]["Message"]
    s3.copy_object(Bucket=name, Key="self", CopySource={"Bucket": name, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"v": "2"})
    got = s3.get_object(Bucket=name, Key="self")
    assert got["Metadata"] == {"v": "2"} and got["Body"].read() == b"same"


def test_copy_source_conditions_and_missing_source(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    etag = s3.put_object(Bucket=name, Key="s", Body=b"x")["ETag"]
    src = {"Bucket": name, "Key": "s"}
    with aws_error("PreconditionFailed", 412):
        s3.copy_object(Bucket=name, Key="d", CopySource=src, CopySourceIfMatch='"nope"')
    with aws_error("PreconditionFailed", 412):
        s3.copy_object(Bucket=name, Key="d", CopySource=src, CopySourceIfNoneMatch=etag)
    modified = s3.head_object(Bucket=name, Key="s")["LastModified"]
    with aws_error("PreconditionFailed", 412):
        s3.copy_object(Bucket=name, Key="d", CopySource=src, CopySourceIfModifiedSince=modified)
    s3.copy_object(Bucket=name, Key="d", CopySource=src, CopySourceIfMatch=etag,
                   CopySourceIfUnmodifiedSince=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    with aws_error("NoSuchKey", 404):
        s3.copy_object(Bucket=name, Key="d", CopySource={"Bucket": name, "Key": "absent"})


def test_copy_from_other_tenants_bucket_is_denied(s3_gateway, bucket):
    theirs, mine = bucket("a"), bucket("b")
    s3_gateway.client_a().put_object(Bucket=theirs, Key="s", Body=b"x")
    with aws_error("AccessDenied", 403):
        s3_gateway.client_b().copy_object(Bucket=mine, Key="d", CopySource={"Bucket": theirs, "Key": "s"})


# ---- keys and big bodies ---------------------------------------------------------------------------------
def test_awkward_keys_round_trip(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    for key in WEIRD_KEYS:
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    for key in WEIRD_KEYS:
        assert s3.get_object(Bucket=name, Key=key)["Body"].read() == key.encode()
    with aws_error("KeyTooLongError", 400):
        s3.put_object(Bucket=name, Key="k" * 1025, Body=b"x")


def test_64_mib_round_trip_streams(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    block = os.urandom(MiB)
    data = block * 64
    digest = hashlib.sha256(data).hexdigest()
    s3.put_object(Bucket=name, Key="big", Body=data)
    del data
    got = s3.get_object(Bucket=name, Key="big")
    assert got["ContentLength"] == 64 * MiB
    h = hashlib.sha256()
    for chunk in got["Body"].iter_chunks(chunk_size=256 * 1024):
        h.update(chunk)
    assert h.hexdigest() == digest
    # boto3's transfer manager downloads in parallel ranged GETs
    sink = io.BytesIO()
    s3.download_fileobj(name, "big", sink)
    assert hashlib.sha256(sink.getvalue()).hexdigest() == digest


def test_unsigned_payload_and_aws_cli_put_get(s3_gateway, bucket, tmp_path):
    name = bucket()
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(100_000))
    rc, out, err = aws_cli(s3_gateway, s3_gateway.creds_a, "s3api", "put-object", "--bucket", name, "--key",
                           "cli/obj", "--body", str(src), "--metadata", "k=v")
    assert rc == 0 and out["ETag"] == f'"{hashlib.md5(src.read_bytes()).hexdigest()}"', err
    dst = tmp_path / "out.bin"
    rc, out, err = aws_cli(s3_gateway, s3_gateway.creds_a, "s3api", "get-object", "--bucket", name, "--key",
                           "cli/obj", str(dst))
    assert rc == 0 and dst.read_bytes() == src.read_bytes() and out["Metadata"] == {"k": "v"}, err
    rc, _, err = aws_cli(s3_gateway, s3_gateway.creds_a, "s3api", "get-object", "--bucket", name, "--key",
                         "absent", str(dst))
    assert rc != 0 and "NoSuchKey" in err


def test_get_of_a_delete_marker(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket(versioned=True)
    v1 = s3.put_object(Bucket=name, Key="k", Body=b"kept")["VersionId"]
    marker = s3.delete_object(Bucket=name, Key="k")
    assert marker["DeleteMarker"] is True and marker["VersionId"]
    with aws_error("NoSuchKey", 404) as e:
        s3.get_object(Bucket=name, Key="k")
    headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker["VersionId"]
    with aws_error("MethodNotAllowed", 405):
        s3.get_object(Bucket=name, Key="k", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == b"kept"
