"""Bucket versioning end to end on a real Swift through boto3: configuration, versions and delete markers
across Put/Get/Head/Delete/Copy/tagging with versionId, ListObjectVersions, the "null" version, and
multipart objects in a versioned bucket. Every error asserts AWS's code and HTTP status."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def _err(excinfo) -> tuple[str, int]:
    e = excinfo.value
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(s3_gateway):
    return s3_gateway.client_a()


def _enable(s3, b: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": status})


def _versions(s3, b: str, **kw) -> tuple[list[tuple], list[tuple]]:
    out = s3.list_object_versions(Bucket=b, **kw)
    return ([(v["Key"], v["VersionId"], v["IsLatest"]) for v in out.get("Versions", [])],
            [(m["Key"], m["VersionId"], m["IsLatest"]) for m in out.get("DeleteMarkers", [])])


# ---- configuration ---------------------------------------------------------------------------------
def test_versioning_configuration_lifecycle(s3, bucket):
    b = bucket()
    fresh = s3.get_bucket_versioning(Bucket=b)
    assert "Status" not in fresh and "MFADelete" not in fresh  # never enabled: <VersioningConfiguration/>
    _enable(s3, b)
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    _enable(s3, b, "Suspended")
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Suspended"
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"


def test_versioning_configuration_errors(s3_gateway, s3, bucket):
    b = bucket()
    cases = [
        ({"Status": "On"}, ("MalformedXML", 400)),
        ({}, ("MalformedXML", 400)),
        ({"Status": "Enabled", "MFADelete": "Enabled"}, ("NotImplemented", 501)),
    ]
    for config, expected in cases:
        with pytest.raises(ClientError) as e:
            s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=config)
        assert _err(e) == expected, config
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"}, MFA="arn 123456")
    assert _err(e) == ("NotImplemented", 501)
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)  # nothing half-applied
    for call in (lambda c: c.get_bucket_versioning(Bucket=b + "-missing"),
                 lambda c: c.put_bucket_versioning(Bucket=b + "-missing",
                                                   VersioningConfiguration={"Status": "Enabled"})):
        with pytest.raises(ClientError) as e:
            call(s3)
        assert _err(e) == ("NoSuchBucket", 404)
    other = s3_gateway.client_b()
    for call in (lambda c: c.get_bucket_versioning(Bucket=b),
                 lambda c: c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"}),
                 lambda c: c.list_object_versions(Bucket=b)):
        with pytest.raises(ClientError) as e:
            call(other)
        assert _err(e) == ("AccessDenied", 403)


# ---- versions across operations --------------------------------------------------------------------
def test_overwrites_keep_versions_and_each_is_readable(s3, bucket):
    b = bucket()
    _enable(s3, b)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    assert v1 and v2 and v1 != v2 and "null" not in (v1, v2)
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"two"
    got = s3.get_object(Bucket=b, Key="k", VersionId=v1)
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    assert s3.head_object(Bucket=b, Key="k", VersionId=v2)["ContentLength"] == 3
    versions, markers = _versions(s3, b)
    assert versions == [("k", v2, True), ("k", v1, False)] and markers == []
    listed = s3.list_object_versions(Bucket=b)["Versions"]
    assert all(v["Owner"]["ID"] and v["StorageClass"] == "STANDARD" for v in listed)
    assert listed[1]["ETag"] == f'"{hashlib.md5(b"one").hexdigest()}"' and listed[1]["Size"] == 3
    # copy from an old version, and tags per version
    copied = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=b, Key="copy")["Body"].read() == b"one"
    s3.put_object_tagging(Bucket=b, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "old", "Value": "y"}]})
    assert s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)["TagSet"] == [{"Key": "old", "Value": "y"}]
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []


def test_delete_markers(s3, bucket):
    b = bucket()
    _enable(s3, b)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"data")["VersionId"]
    deleted = s3.delete_object(Bucket=b, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker and marker != v1
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k")
    assert _err(e) == ("NoSuchKey", 404)
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k", VersionId=marker)
    assert _err(e) == ("MethodNotAllowed", 405)
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == b"data"  # still there
    assert s3.list_objects_v2(Bucket=b).get("KeyCount") == 0
    versions, markers = _versions(s3, b)
    assert versions == [("k", v1, False)] and markers == [("k", marker, True)]
    # deleting the marker itself brings the object back
    removed = s3.delete_object(Bucket=b, Key="k", VersionId=marker)
    assert removed["VersionId"] == marker and removed.get("DeleteMarker") is True
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"data"


def test_delete_with_version_id_is_permanent(s3, bucket):
    b = bucket()
    _enable(s3, b)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"2")["VersionId"]
    assert s3.delete_object(Bucket=b, Key="k", VersionId=v2)["VersionId"] == v2
    assert _versions(s3, b) == ([("k", v1, True)], [])
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"1"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k", VersionId=v2)
    assert _err(e) == ("NoSuchVersion", 404)


def test_unknown_and_malformed_version_ids(s3, bucket):
    b = bucket()
    _enable(s3, b)
    real = s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
    # well-formed for this gateway's ids (a Swift timestamp; anything else: the real id with its tail changed)
    unknown = "1000000000.00000" if real[:10].isdigit() else real[:-4] + ("AAAA" if real[-4:] != "AAAA" else "BBBB")
    for call in (lambda v: s3.get_object(Bucket=b, Key="k", VersionId=v),
                 lambda v: s3.head_object(Bucket=b, Key="k", VersionId=v)):
        with pytest.raises(ClientError) as e:
            call(unknown)
        code, status = _err(e)
        assert status == 404 and code in ("NoSuchVersion", "404")  # HEAD has no body: code is the status
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k", VersionId="not a version id!")
    assert _err(e) == ("InvalidArgument", 400)
    assert "Invalid version id specified" in e.value.response["Error"]["Message"]


def test_an_object_written_before_versioning_stays_the_null_version(s3, bucket):
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"before")  # unversioned: version "null"
    _enable(s3, b)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"versioned")["VersionId"]
    versions, _ = _versions(s3, b)
    assert versions == [("k", v1, True), ("k", "null", False)]
    assert s3.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read() == b"before"


def test_suspended_writes_are_the_null_version_and_keep_older_versions(s3, bucket):
    b = bucket()
    _enable(s3, b)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"versioned")["VersionId"]
    _enable(s3, b, "Suspended")
    put = s3.put_object(Bucket=b, Key="k", Body=b"suspended")
    assert put.get("VersionId", "null") == "null"
    versions, _ = _versions(s3, b)
    assert versions == [("k", "null", True), ("k", v1, False)]
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"suspended"
    assert s3.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read() == b"suspended"
    assert s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read() == b"versioned"
    s3.put_object(Bucket=b, Key="k", Body=b"again")  # replaces the null version, adds none
    versions, _ = _versions(s3, b)
    assert versions == [("k", "null", True), ("k", v1, False)]


def test_list_object_versions_prefix_delimiter_and_paging(s3, bucket):
    b = bucket()
    _enable(s3, b)
    made = []
    for key in ("a/1", "a/2", "b", "b", "c"):
        made.append((key, s3.put_object(Bucket=b, Key=key, Body=key.encode())["VersionId"]))
    s3.delete_object(Bucket=b, Key="c")
    grouped = s3.list_object_versions(Bucket=b, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/"]
    assert sorted({v["Key"] for v in grouped["Versions"]}) == ["b", "c"]
    assert [v["Key"] for v in s3.list_object_versions(Bucket=b, Prefix="a/")["Versions"]] == ["a/1", "a/2"]
    first = s3.list_object_versions(Bucket=b, MaxKeys=2)
    assert first["IsTruncated"] is True and first["MaxKeys"] == 2
    assert first["NextKeyMarker"] == "a/2" and first["NextVersionIdMarker"] == made[1][1]
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=b, PaginationConfig={"PageSize": 1})
    seen = [(v["Key"], v["VersionId"]) for pg in pages for v in pg.get("Versions", [])]
    expected = [made[0], made[1], made[3], made[2], made[4]]  # by key, newest version first
    assert seen == expected
    with pytest.raises(ClientError) as e:
        s3.list_object_versions(Bucket=b, VersionIdMarker=made[0][1])
    assert _err(e) == ("InvalidArgument", 400)
    spaced = s3.put_object(Bucket=b, Key="sp ace+plus", Body=b"x")["VersionId"]
    found = s3.list_object_versions(Bucket=b, Prefix="sp")["Versions"]  # boto3 asks for url encoding
    assert [(v["Key"], v["VersionId"]) for v in found] == [("sp ace+plus", spaced)]


def test_multipart_object_in_a_versioned_bucket(s3, bucket):
    b = bucket()
    _enable(s3, b)
    old = s3.put_object(Bucket=b, Key="mp", Body=b"old")["VersionId"]
    p1, p2 = b"a" * (5 * MiB), b"b"
    uid = s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=n,
                                                      Body=d)["ETag"]} for n, d in ((1, p1), (2, p2))]
    out = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
    assert out["VersionId"] and out["VersionId"] != old
    etag = '"' + hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + '-2"'
    assert out["ETag"] == etag
    listed = s3.list_object_versions(Bucket=b)["Versions"]
    assert [(v["VersionId"], v["ETag"], v["IsLatest"]) for v in listed] == [
        (out["VersionId"], etag, True), (old, f'"{hashlib.md5(b"old").hexdigest()}"', False)]
    assert s3.get_object(Bucket=b, Key="mp", VersionId=old)["Body"].read() == b"old"
    assert s3.head_object(Bucket=b, Key="mp", VersionId=out["VersionId"])["ETag"] == etag
