"""Suite "s3", versioning: bucket versioning status, versions, delete markers, and versionId on GET,
HEAD, DELETE, copy source, tagging and DeleteObjects."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, expect_success, get_body, temp_bucket


@contextlib.contextmanager
def versioned(ctx: Ctx, tag: str) -> Iterator[tuple[Any, str]]:
    s3 = ctx.client("s3")
    with temp_bucket(ctx, tag) as bucket:
        expect_success(lambda: s3.put_bucket_versioning(Bucket=bucket,
                                                        VersioningConfiguration={"Status": "Enabled"}),
                       "PutBucketVersioning Enabled")
        yield s3, bucket


def _put(s3: Any, bucket: str, key: str, body: bytes) -> str:
    version = s3.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId")
    check(version and version != "null", f"PUT in a versioned bucket returned VersionId {version!r}")
    return version


@scenario(SUITE)
def s3_version_status(ctx: Ctx) -> None:
    """GetBucketVersioning: no Status on a new bucket, then Enabled, then Suspended."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "vstat") as bucket:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
        check(status is None, f"a new bucket reports Status {status!r}")
        for want in ("Enabled", "Suspended"):
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": want})
            status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
            check(status == want, f"after PutBucketVersioning {want}: Status {status!r}")
        expect_error("MalformedXML", 400, lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Sometimes"}))


@scenario(SUITE)
def s3_version_get_head_by_id(ctx: Ctx) -> None:
    """Each PUT makes a new version; GET/HEAD with versionId return that version and echo its id."""
    with versioned(ctx, "vget") as (s3, bucket):
        v1 = _put(s3, bucket, "k", b"version one")
        v2 = _put(s3, bucket, "k", b"version two!")
        check(v1 != v2, "two PUTs returned the same VersionId")
        check(get_body(s3, bucket, "k") == b"version two!", "GET without versionId is not the latest")
        for vid, body in ((v1, b"version one"), (v2, b"version two!")):
            resp = s3.get_object(Bucket=bucket, Key="k", VersionId=vid)
            check(resp["Body"].read() == body, f"GET versionId={vid} returned other bytes")
            check(resp.get("VersionId") == vid, f"GET versionId={vid} echoed {resp.get('VersionId')!r}")
            head = s3.head_object(Bucket=bucket, Key="k", VersionId=vid)
            check(head["ContentLength"] == len(body) and head.get("VersionId") == vid, f"HEAD versionId={vid}")
        check(s3.head_object(Bucket=bucket, Key="k").get("VersionId") == v2, "HEAD latest lacks its VersionId")


@scenario(SUITE)
def s3_version_list(ctx: Ctx) -> None:
    """ListObjectVersions lists every version newest first with exactly one IsLatest per key."""
    with versioned(ctx, "vlist") as (s3, bucket):
        a1 = _put(s3, bucket, "a", b"1")
        a2 = _put(s3, bucket, "a", b"22")
        b1 = _put(s3, bucket, "b", b"333")
        resp = s3.list_object_versions(Bucket=bucket)
        got = [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in resp.get("Versions", [])]
        want = [("a", a2, True, 2), ("a", a1, False, 1), ("b", b1, True, 3)]
        check(got == want, f"versions {got} != {want}")
        check(not resp.get("DeleteMarkers"), f"unexpected delete markers {resp.get('DeleteMarkers')}")
        resp = s3.list_object_versions(Bucket=bucket, Prefix="b")
        check([v["Key"] for v in resp.get("Versions", [])] == ["b"], "Prefix on ListObjectVersions")
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
        check(page["IsTruncated"] and page.get("NextKeyMarker") == "a" and page.get("NextVersionIdMarker") == a2,
              f"MaxKeys=1: truncated={page.get('IsTruncated')} next=({page.get('NextKeyMarker')}, "
              f"{page.get('NextVersionIdMarker')})")
        rest = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker=a2)
        check([(v["Key"], v["VersionId"]) for v in rest.get("Versions", [])] == [("a", a1), ("b", b1)],
              "KeyMarker/VersionIdMarker paging")


@scenario(SUITE)
def s3_version_delete_marker(ctx: Ctx) -> None:
    """DELETE without versionId adds a delete marker; deleting the marker brings the object back.

    Meanwhile GET is NoSuchKey 404 with x-amz-delete-marker: true, GET of the marker's id is
    MethodNotAllowed 405, and the older versions survive."""
    with versioned(ctx, "vdm") as (s3, bucket):
        v1 = _put(s3, bucket, "k", b"survivor")
        resp = s3.delete_object(Bucket=bucket, Key="k")
        check(resp.get("DeleteMarker") is True and resp.get("VersionId"), f"DELETE answered {resp}")
        marker = resp["VersionId"]
        err = expect_error("NoSuchKey", 404, ctx.s3("GET", f"/{bucket}/k"))
        check(err.headers.get("x-amz-delete-marker") == "true", "GET of a deleted key lacks x-amz-delete-marker")
        check(get_body(s3, bucket, "k", VersionId=v1) == b"survivor", "the old version is gone")
        listing = s3.list_object_versions(Bucket=bucket)
        markers = [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listing.get("DeleteMarkers", [])]
        check(markers == [("k", marker, True)], f"DeleteMarkers {markers}")
        check(not s3.list_objects_v2(Bucket=bucket).get("Contents"), "a deleted key still lists")
        expect_error("MethodNotAllowed", 405, lambda: s3.get_object(Bucket=bucket, Key="k", VersionId=marker))
        resp = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
        check(resp.get("DeleteMarker") is True and resp.get("VersionId") == marker,
              f"deleting the marker answered {resp}")
        check(get_body(s3, bucket, "k") == b"survivor", "removing the delete marker did not restore the object")


@scenario(SUITE)
def s3_version_delete_specific(ctx: Ctx) -> None:
    """DELETE with versionId removes that version for good; GET of it is then NoSuchVersion 404."""
    with versioned(ctx, "vdel") as (s3, bucket):
        v1 = _put(s3, bucket, "k", b"old")
        v2 = _put(s3, bucket, "k", b"new")
        resp = s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
        check(resp.get("VersionId") == v1 and not resp.get("DeleteMarker"), f"DELETE versionId answered {resp}")
        expect_error("NoSuchVersion", 404, lambda: s3.get_object(Bucket=bucket, Key="k", VersionId=v1))
        versions = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket).get("Versions", [])]
        check(versions == [v2], f"versions after deleting {v1}: {versions}")
        s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)  # the latest: now nothing is left
        expect_error("NoSuchKey", 404, lambda: s3.get_object(Bucket=bucket, Key="k"))
        check(not s3.list_object_versions(Bucket=bucket).get("DeleteMarkers"),
              "deleting a version by id created a delete marker")


@scenario(SUITE)
def s3_version_copy_and_tag_by_id(ctx: Ctx) -> None:
    """CopyObject from an old versionId copies that version; tagging by versionId is per version."""
    with versioned(ctx, "vcopy") as (s3, bucket):
        v1 = _put(s3, bucket, "src", b"first")
        v2 = _put(s3, bucket, "src", b"second")
        resp = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
        check(resp.get("CopySourceVersionId") == v1, f"CopySourceVersionId {resp.get('CopySourceVersionId')!r}")
        check(resp.get("VersionId"), "CopyObject into a versioned bucket returned no VersionId")
        check(get_body(s3, bucket, "dst") == b"first", "copy of an old version has other bytes")
        s3.put_object_tagging(Bucket=bucket, Key="src", VersionId=v1, Tagging={"TagSet": [{"Key": "v", "Value": "1"}]})
        tags_v1 = s3.get_object_tagging(Bucket=bucket, Key="src", VersionId=v1)
        tags_v2 = s3.get_object_tagging(Bucket=bucket, Key="src", VersionId=v2)
        check(tags_v1["TagSet"] == [{"Key": "v", "Value": "1"}] and tags_v1.get("VersionId") == v1,
              f"tags of v1: {tags_v1['TagSet']}")
        check(tags_v2["TagSet"] == [], f"tagging v1 tagged v2 too: {tags_v2['TagSet']}")


@scenario(SUITE)
def s3_version_delete_objects(ctx: Ctx) -> None:
    """DeleteObjects with VersionId entries deletes exactly those versions and echoes the ids."""
    with versioned(ctx, "vmdel") as (s3, bucket):
        v1 = _put(s3, bucket, "k", b"1")
        v2 = _put(s3, bucket, "k", b"2")
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "j"}]})
        got = sorted((d["Key"], d.get("VersionId"), bool(d.get("DeleteMarker"))) for d in resp.get("Deleted", []))
        check(("k", v1, False) in got, f"Deleted {got} lacks ('k', {v1})")
        j = next((d for d in resp.get("Deleted", []) if d["Key"] == "j"), None)
        check(j is not None and j.get("DeleteMarker") and j.get("DeleteMarkerVersionId"),
              f"deleting an absent key in a versioned bucket made no marker: {j}")
        check(get_body(s3, bucket, "k") == b"2", "the latest version was touched")
        versions = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket, Prefix="k").get("Versions", [])]
        check(versions == [v2], f"versions left {versions}")


@scenario(SUITE)
def s3_version_unversioned_null(ctx: Ctx) -> None:
    """In a never-versioned bucket an object's only version is "null", readable with versionId=null."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "vnull") as bucket:
        resp = s3.put_object(Bucket=bucket, Key="k", Body=b"plain")
        check(resp.get("VersionId") in (None,), f"PUT in an unversioned bucket returned VersionId {resp.get('VersionId')!r}")
        versions = s3.list_object_versions(Bucket=bucket).get("Versions", [])
        check([(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [("k", "null", True)],
              f"versions {versions}")
        check(get_body(s3, bucket, "k", VersionId="null") == b"plain", "GET versionId=null")


@scenario(SUITE)
def s3_version_suspended_overwrites_null(ctx: Ctx) -> None:
    """With versioning suspended a PUT replaces the "null" version and keeps the older real versions."""
    with versioned(ctx, "vsusp") as (s3, bucket):
        v1 = _put(s3, bucket, "k", b"kept")
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        s3.put_object(Bucket=bucket, Key="k", Body=b"null one")
        s3.put_object(Bucket=bucket, Key="k", Body=b"null two")
        versions = [(v["VersionId"], v["IsLatest"]) for v in s3.list_object_versions(Bucket=bucket).get("Versions", [])]
        check(versions == [("null", True), (v1, False)], f"versions {versions}")
        check(get_body(s3, bucket, "k") == b"null two", "latest is not the last suspended PUT")
        check(get_body(s3, bucket, "k", VersionId=v1) == b"kept", "the enabled-era version was lost")
