"""Buckets through the gateway on a real Swift: create (names, location, global ownership), head, delete,
list, location — with boto3 and aws-cli, each error asserting its AWS code and HTTP status."""

from __future__ import annotations

import secrets

import pytest

from gateway.protocol import errors
from gateway.s3 import buckets, names

from .s3_support import aws_cli, aws_error, raw


def _name(tag: str) -> str:
    return f"cg-{tag}-{secrets.token_hex(4)}"


@pytest.fixture
def fresh(s3_gateway):
    """Names to create by hand; each is deleted afterwards by whichever tenant owns it."""
    made: list[str] = []

    def make(tag: str = "b") -> str:
        made.append(_name(tag))
        return made[-1]

    yield make
    for name in made:
        for client in (s3_gateway.client_a(), s3_gateway.client_b()):
            try:
                for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
                    client.delete_object(Bucket=name, Key=obj["Key"])
                client.delete_bucket(Bucket=name)
            except Exception:
                pass


# ---- rules (pure) -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ab", "a" * 64, "UpperCase", "under_score", "-leading", "trailing-",
                                  "two..dots", "dot.-hyphen", "192.168.1.1", "xn--punycode", "sthree-x",
                                  "thing-s3alias", "thing--ol-s3", "has space", "a+segments"])
def test_invalid_new_bucket_names(name):
    with pytest.raises(errors.InvalidBucketName):
        names.check_new_bucket_name(name)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket.name", "1-2-3", "192.168.1.1a"])
def test_valid_new_bucket_names(name):
    names.check_new_bucket_name(name)


def test_segments_containers_are_never_reachable_buckets():
    assert not names.is_reachable_bucket("photos+segments")
    assert names.is_reachable_bucket("Legacy_Name")


@pytest.mark.parametrize("constraint,region,error", [
    (None, "us-east-1", None), ("eu-west-1", "eu-west-1", None),
    ("us-east-1", "us-east-1", errors.InvalidLocationConstraint),
    ("eu-west-1", "us-east-1", errors.IllegalLocationConstraintException),
    (None, "eu-west-1", errors.IllegalLocationConstraintException),
    ("nowhere-9", "us-east-1", errors.InvalidLocationConstraint),
    ("RegionOne", "RegionOne", None),
])
def test_location_constraint_rules(constraint, region, error):
    if error is None:
        buckets._check_location(constraint, region)
    else:
        with pytest.raises(error):
            buckets._check_location(constraint, region)


# ---- through the gateway ------------------------------------------------------------------------------
def test_create_head_location_and_list(s3_gateway, fresh):
    s3, name = s3_gateway.client_a(), fresh()
    created = s3.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    listed = s3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert listed["Owner"]["ID"] == s3_gateway.creds_a.account_id
    entry = next(b for b in listed["Buckets"] if b["Name"] == name)
    assert entry["CreationDate"].year >= 2024
    # tenant B sees none of tenant A's buckets
    assert name not in [b["Name"] for b in s3_gateway.client_b().list_buckets()["Buckets"]]


@pytest.mark.parametrize("bad", ["UpperCase", "two..dots", "192.168.5.4", "xn--abc", "thing-s3alias", "ab"])
def test_create_invalid_name(s3_gateway, bad):
    with aws_error("InvalidBucketName", 400):
        s3_gateway.client_a().create_bucket(Bucket=bad)


def test_location_constraint_errors(s3_gateway, fresh):
    s3, name = s3_gateway.client_a(), fresh()
    with aws_error("InvalidLocationConstraint", 400):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    with aws_error("IllegalLocationConstraintException", 400):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with aws_error("NoSuchBucket", 404):  # nothing was created by the refused requests
        s3.list_objects_v2(Bucket=name)


def test_bucket_names_are_global_across_tenants(s3_gateway, fresh):
    a, b, name = s3_gateway.client_a(), s3_gateway.client_b(), fresh()
    a.create_bucket(Bucket=name)
    with aws_error("BucketAlreadyExists", 409):
        b.create_bucket(Bucket=name)
    # us-east-1's legacy answer for re-creating your own bucket is 200 (other regions: 409)
    assert a.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    a.delete_bucket(Bucket=name)
    b.create_bucket(Bucket=name)  # the name was released
    assert name in [x["Name"] for x in b.list_buckets()["Buckets"]]


def test_other_tenant_is_denied_on_a_private_bucket(s3_gateway, bucket):
    name = bucket()
    s3_gateway.client_a().put_object(Bucket=name, Key="secret", Body=b"s")
    b = s3_gateway.client_b()
    with aws_error("403", 403):
        b.head_bucket(Bucket=name)
    with aws_error("AccessDenied", 403):
        b.list_objects_v2(Bucket=name)
    with aws_error("AccessDenied", 403):
        b.get_object(Bucket=name, Key="secret")
    with aws_error("AccessDenied", 403):
        b.put_object(Bucket=name, Key="intruder", Body=b"x")
    with aws_error("AccessDenied", 403):
        b.delete_object(Bucket=name, Key="secret")
    with aws_error("AccessDenied", 403):
        b.delete_bucket(Bucket=name)
    with aws_error("AccessDenied", 403):
        b.get_bucket_location(Bucket=name)
    assert s3_gateway.client_a().get_object(Bucket=name, Key="secret")["Body"].read() == b"s"


def test_missing_bucket(s3_gateway):
    s3, name = s3_gateway.client_a(), _name("missing")
    with aws_error("404", 404):
        s3.head_bucket(Bucket=name)
    with aws_error("NoSuchBucket", 404):
        s3.delete_bucket(Bucket=name)
    with aws_error("NoSuchBucket", 404):
        s3.list_objects(Bucket=name)
    with aws_error("NoSuchBucket", 404):
        s3.put_object(Bucket=name, Key="k", Body=b"x")


def test_head_bucket_error_has_no_body(s3_gateway):
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "HEAD", f"/{_name('nohead')}")
    assert (status, body) == (404, b"")


def test_delete_non_empty_bucket_then_empty(s3_gateway, fresh):
    s3, name = s3_gateway.client_a(), fresh()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with aws_error("BucketNotEmpty", 409):
        s3.delete_bucket(Bucket=name)
    s3.delete_object(Bucket=name, Key="k")
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with aws_error("404", 404):
        s3.head_bucket(Bucket=name)


def test_delete_bucket_removes_multipart_segments_and_hides_them_from_listing(s3_gateway, fresh):
    s3, name = s3_gateway.client_a(), fresh()
    s3.create_bucket(Bucket=name)
    upload = s3.create_multipart_upload(Bucket=name, Key="big")
    s3.upload_part(Bucket=name, Key="big", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 1024)
    swift = s3_gateway.swift_a
    assert name + "+segments" in swift.containers(prefix=name)
    listed = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in listed and name + "+segments" not in listed
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}%2Bsegments?list-type=2")
    assert status == 400 and b"<Code>InvalidBucketName</Code>" in body
    s3.delete_bucket(Bucket=name)
    assert swift.containers(prefix=name) == []


def test_create_bucket_with_canned_acl(s3_gateway, fresh):
    s3, name = s3_gateway.client_a(), fresh()
    s3.create_bucket(Bucket=name, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=name)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)
    with aws_error("InvalidArgument", 400):
        s3.create_bucket(Bucket=fresh(), ACL="no-such-acl")


def test_list_buckets_paginates_with_prefix(s3_gateway, fresh):
    s3 = s3_gateway.client_a()
    stem = _name("page")
    made = [f"{stem}-{i}" for i in range(3)]
    for n in made:
        s3.create_bucket(Bucket=n)
    try:
        first = s3.list_buckets(Prefix=stem, MaxBuckets=2)
        assert [b["Name"] for b in first["Buckets"]] == made[:2]
        rest = s3.list_buckets(Prefix=stem, MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
        assert [b["Name"] for b in rest["Buckets"]] == made[2:] and "ContinuationToken" not in rest
        with aws_error("InvalidArgument", 400):
            s3.list_buckets(ContinuationToken="garbage!")
    finally:
        for n in made:
            s3.delete_bucket(Bucket=n)


def test_expected_bucket_owner(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.head_bucket(Bucket=name, ExpectedBucketOwner=s3_gateway.creds_a.account_id)
    with aws_error("AccessDenied", 403):
        s3.list_objects_v2(Bucket=name, ExpectedBucketOwner=s3_gateway.creds_b.account_id)


def test_aws_cli_bucket_lifecycle(s3_gateway, fresh):
    creds, name = s3_gateway.creds_a, fresh("cli")
    rc, out, err = aws_cli(s3_gateway, creds, "s3api", "create-bucket", "--bucket", name)
    assert rc == 0, err
    rc, out, err = aws_cli(s3_gateway, creds, "s3api", "list-buckets")
    assert rc == 0 and name in [b["Name"] for b in out["Buckets"]], err
    rc, out, err = aws_cli(s3_gateway, creds, "s3api", "get-bucket-location", "--bucket", name)
    assert rc == 0 and out["LocationConstraint"] is None, err
    rc, _, err = aws_cli(s3_gateway, s3_gateway.creds_b, "s3api", "create-bucket", "--bucket", name)
    assert rc != 0 and "BucketAlreadyExists" in err
    rc, _, err = aws_cli(s3_gateway, creds, "s3api", "create-bucket", "--bucket", "Bad_Name")
    assert rc != 0 and "InvalidBucketName" in err
    rc, _, err = aws_cli(s3_gateway, creds, "s3api", "delete-bucket", "--bucket", name)
    assert rc == 0, err
    rc, _, err = aws_cli(s3_gateway, creds, "s3api", "head-bucket", "--bucket", name)
    assert rc != 0 and "404" in err
