"""DeleteObject's and HeadObject's backend round trips on the Swift backend, counted on the wire (each HTTP
exchange the gateway's Swift client makes), and what they leave behind.

In a bucket that keeps no versions: one plain DELETE where no manifest can be (no multipart upload ever
completed there), one manifest delete for a multipart object (its segments go with it), and the manifest
delete then a plain one for a plain object in a bucket that holds multipart objects or was made before the
marks (an upgraded gateway must not orphan its segments). A HEAD of a missing
key is one HEAD in a bucket that was never versioned (no delete marker to look for), and one HEAD plus a
one-entry version listing in a versioned one. The gateway here keeps container facts for 60 s, so no
container HEAD of the cache refresh falls inside a measured request.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator

import pytest

from backends.openstack.swift import SwiftClient
from tests.conftest import TENANTS, Creds, S3Gateway, gateway_config
from tests.s3_support import raw
from tests.server import in_process

Call = tuple[str, str, str, int]  # method, "<container>/<object>" (unquoted), query, status


@pytest.fixture(scope="module")
def gateway(swift_endpoint) -> Iterator[S3Gateway]:
    from gateway.config import parse_config

    raw = gateway_config(swift_endpoint)
    raw["backend"] = {"type": "swift", "options": {"auth_url": swift_endpoint.auth_url, "cache_seconds": 60}}
    with in_process(parse_config(raw, "tests/test_s3_backend_calls.py")) as endpoint:
        yield S3Gateway(endpoint=endpoint, swift=swift_endpoint, creds_a=Creds(**TENANTS["a"]),
                        creds_b=Creds(**TENANTS["b"]), swift_a=swift_endpoint.direct("a"),
                        swift_b=swift_endpoint.direct("b"))


@pytest.fixture
def calls(monkeypatch) -> list[Call]:
    """Every HTTP exchange of any SwiftClient while the test runs, as (method, path, query, status)."""
    seen: list[Call] = []
    original = SwiftClient.raw

    @contextlib.asynccontextmanager
    async def recording(self, method, url, **kw):
        async with original(self, method, url, **kw) as resp:
            parts = urllib.parse.urlsplit(str(url))
            path = urllib.parse.unquote(parts.path).split("/", 3)[-1]  # /v1/AUTH_x/<container>/<object>
            seen.append((method, path, parts.query, resp.status))
            yield resp

    monkeypatch.setattr(SwiftClient, "raw", recording)
    return seen


@pytest.fixture
def named(request):
    from tests.conftest import _unique_name

    return _unique_name(request.node.name)


@pytest.fixture
def fresh_bucket(gateway, named) -> Iterator[str]:
    client = gateway.client_a()
    client.create_bucket(Bucket=named)
    yield named
    for container in (named, named + "+segments"):
        gateway.swift_a.purge_container(container)
    with contextlib.suppress(Exception):
        client.delete_bucket(Bucket=named)


def _of(calls: list[Call], bucket: str) -> list[Call]:
    return [c for c in calls if c[1].split("/", 1)[0] in (bucket, bucket + "+segments")]


def _multipart(client, bucket: str, key: str) -> None:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = [{"PartNumber": n, "ETag": client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n,
                                                          Body=body)["ETag"]}
             for n, body in ((1, b"a" * (5 << 20)), (2, b"tail"))]
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def _gone(client, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def test_plain_object_in_a_bucket_without_manifests_is_one_delete(gateway, fresh_bucket, calls):
    client = gateway.client_a()
    client.put_object(Bucket=fresh_bucket, Key="a/plain.txt", Body=b"x" * 4096)
    client.head_object(Bucket=fresh_bucket, Key="a/plain.txt")
    calls.clear()
    resp = client.delete_object(Bucket=fresh_bucket, Key="a/plain.txt")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _of(calls, fresh_bucket) == [("DELETE", f"{fresh_bucket}/a/plain.txt", "", 204)]
    assert _gone(client, fresh_bucket, "a/plain.txt")
    calls.clear()  # a key that is not there: still 204, still one call
    resp = client.delete_object(Bucket=fresh_bucket, Key="a/plain.txt")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _of(calls, fresh_bucket) == [("DELETE", f"{fresh_bucket}/a/plain.txt", "", 404)]


def test_multipart_object_is_one_manifest_delete_that_takes_its_segments(gateway, fresh_bucket, calls):
    client = gateway.client_a()
    _multipart(client, fresh_bucket, "big")
    assert len(gateway.swift_a.listing(fresh_bucket + "+segments")) == 2
    calls.clear()
    resp = client.delete_object(Bucket=fresh_bucket, Key="big")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _of(calls, fresh_bucket) == [("DELETE", f"{fresh_bucket}/big", "multipart-manifest=delete", 200)]
    assert _gone(client, fresh_bucket, "big")
    assert gateway.swift_a.listing(fresh_bucket + "+segments") == []


def test_plain_object_beside_multipart_ones_is_deleted_after_swifts_refusal(gateway, fresh_bucket, calls):
    client = gateway.client_a()
    _multipart(client, fresh_bucket, "big")
    client.put_object(Bucket=fresh_bucket, Key="small", Body=b"y" * 4096)
    calls.clear()
    resp = client.delete_object(Bucket=fresh_bucket, Key="small")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _of(calls, fresh_bucket) == [("DELETE", f"{fresh_bucket}/small", "multipart-manifest=delete", 200),
                                        ("DELETE", f"{fresh_bucket}/small", "", 204)]
    assert _gone(client, fresh_bucket, "small")
    assert not _gone(client, fresh_bucket, "big")  # and the multipart object beside it is whole
    assert len(gateway.swift_a.listing(fresh_bucket + "+segments")) == 2


def test_a_bucket_marked_by_another_gateway_deletes_manifests_with_their_segments(gateway, s3_gateway, named,
                                                                                calls):
    """Replicas: the mark one gateway sets (from CreateMultipartUpload on) is what another one reads (with
    the container's versioning state) before its first delete there."""
    ours, theirs = gateway.client_a(), s3_gateway.client_a()
    theirs.create_bucket(Bucket=named)
    try:
        mark = "x-container-meta-cloudgate-manifests"
        assert mark not in gateway.swift_a.request("HEAD", named)[1]
        theirs.create_multipart_upload(Bucket=named, Key="started")
        assert mark in gateway.swift_a.request("HEAD", named)[1]  # before any manifest exists
        _multipart(theirs, named, "big")
        calls.clear()
        ours.delete_object(Bucket=named, Key="big")
        # (the bucket has no record in this gateway: it HEADs the container to learn it exists, once per request
        # although both the access check and the handler ask for the owner)
        assert [c for c in _of(calls, named) if c[:3] != ("HEAD", named, "")] == \
            [("DELETE", f"{named}/big", "multipart-manifest=delete", 200)]
        assert [c for c in _of(calls, named) if c[:3] == ("HEAD", named, "")] == [("HEAD", named, "", 204)]
        assert gateway.swift_a.listing(named + "+segments") == []
    finally:
        for container in (named, named + "+segments"):
            gateway.swift_a.purge_container(container)
        with contextlib.suppress(Exception):
            theirs.delete_bucket(Bucket=named)


def test_a_bucket_from_before_the_marks_deletes_its_manifests_with_their_segments(gateway, s3_gateway, named,
                                                                                  calls):
    """A bucket made before the marks existed (neither born-clean nor manifests mark) may hold multipart
    objects: a delete there takes the manifest path, so an upgraded gateway leaves no orphaned segments.
    (Made through another gateway, so this one has no cached fact about the container.)"""
    ours, theirs = gateway.client_a(), s3_gateway.client_a()
    theirs.create_bucket(Bucket=named)
    try:
        assert "x-container-meta-cloudgate-born-clean" in gateway.swift_a.request("HEAD", named)[1]
        _multipart(theirs, named, "big")
        theirs.put_object(Bucket=named, Key="small", Body=b"s")
        gateway.swift_a.request("POST", named, headers={"X-Remove-Container-Meta-Cloudgate-Manifests": "x",
                                                        "X-Remove-Container-Meta-Cloudgate-Born-Clean": "x"})
        calls.clear()
        ours.delete_object(Bucket=named, Key="big")
        ours.delete_object(Bucket=named, Key="small")
        assert [c for c in _of(calls, named) if c[0] == "DELETE"] == [
            ("DELETE", f"{named}/big", "multipart-manifest=delete", 200),
            ("DELETE", f"{named}/small", "multipart-manifest=delete", 200), ("DELETE", f"{named}/small", "", 204)]
        assert gateway.swift_a.listing(named + "+segments") == []
        assert _gone(ours, named, "big") and _gone(ours, named, "small")
    finally:
        for container in (named, named + "+segments"):
            gateway.swift_a.purge_container(container)
        with contextlib.suppress(Exception):
            theirs.delete_bucket(Bucket=named)


def test_delete_objects_is_one_delete_per_key_without_manifests(gateway, fresh_bucket, calls):
    client = gateway.client_a()
    for key in ("k1", "k2"):
        client.put_object(Bucket=fresh_bucket, Key=key, Body=b"z")
    calls.clear()
    resp = client.delete_objects(Bucket=fresh_bucket, Delete={"Objects": [{"Key": "k1"}, {"Key": "k2"},
                                                                          {"Key": "absent"}]})
    assert sorted(d["Key"] for d in resp["Deleted"]) == ["absent", "k1", "k2"] and "Errors" not in resp
    assert sorted(_of(calls, fresh_bucket)) == [("DELETE", f"{fresh_bucket}/absent", "", 404),
                                                ("DELETE", f"{fresh_bucket}/k1", "", 204),
                                                ("DELETE", f"{fresh_bucket}/k2", "", 204),
                                                ("HEAD", fresh_bucket, "", 204)]  # NoSuchBucket for the batch
    assert client.list_objects_v2(Bucket=fresh_bucket)["KeyCount"] == 0


def test_head_of_a_missing_key_in_a_never_versioned_bucket_is_one_head(gateway, fresh_bucket, calls):
    client = gateway.client_a()
    client.put_object(Bucket=fresh_bucket, Key="there", Body=b"z")
    calls.clear()
    status, _, headers = raw(gateway.endpoint, gateway.creds_a, "HEAD", f"/{fresh_bucket}/missing")
    assert status == 404 and "x-amz-delete-marker" not in headers
    assert _of(calls, fresh_bucket) == [("HEAD", f"{fresh_bucket}/missing", "", 404)]


def test_head_of_a_delete_marker_lists_one_version(gateway, fresh_bucket, calls):
    client = gateway.client_a()
    client.put_bucket_versioning(Bucket=fresh_bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=fresh_bucket, Key="k", Body=b"1")
    client.put_object(Bucket=fresh_bucket, Key="k/under", Body=b"2")
    marker = client.delete_object(Bucket=fresh_bucket, Key="k")["VersionId"]
    calls.clear()
    status, _, headers = raw(gateway.endpoint, gateway.creds_a, "HEAD", f"/{fresh_bucket}/k")
    assert (status, headers.get("x-amz-delete-marker"), headers.get("x-amz-version-id")) == (404, "true", marker)
    assert _of(calls, fresh_bucket) == [("HEAD", f"{fresh_bucket}/k", "", 404),
                                        ("GET", fresh_bucket, "format=json&limit=2&prefix=k&versions=", 200)]
    calls.clear()  # a key that never was, in a versioned bucket: no marker either
    status, _, headers = raw(gateway.endpoint, gateway.creds_a, "HEAD", f"/{fresh_bucket}/k/u")
    assert status == 404 and "x-amz-delete-marker" not in headers
