"""S3 on the devcloud OpenStack: one endpoint, the tenant's own Keystone EC2 key drives S3 as it drives EC2.

The gateway runs in-process with `backend: openstack` (no Swift credentials in its config): buckets live in
the caller's project account `AUTH_<project_id>` of the Keystone-authenticated Swift in the catalog, reached
with the caller's own project token. Checked here against Swift itself, with a token of the tenant's user.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from tests.ec2_os_support import Gateway, aws_cli, devcloud_gateway, error_of, quietly
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture

MIB = 1 << 20


def _name() -> str:
    return f"cgt-{uuid.uuid4().hex[:10]}"


def s3_client(gw: Gateway, tenant: str) -> Any:
    t = gw.env["tenants"][tenant]
    import boto3

    return boto3.client("s3", endpoint_url=gw.endpoint, region_name=gw.env["region"],
                        aws_access_key_id=t["ec2_access"], aws_secret_access_key=t["ec2_secret"],
                        config=BotoConfig(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"},
                                          read_timeout=120))


@pytest.fixture(scope="module")
def gw(openstack_env: dict[str, Any]) -> Iterator[Gateway]:
    """Plain (unencrypted) new buckets, so Swift's bytes can be compared with what was written; encryption at
    rest is proven in tests/test_s3_sse.py."""
    with devcloud_gateway(openstack_env, encrypt=False) as gw:
        yield gw


@pytest.fixture(scope="module")
def s3a(gw: Gateway) -> Any:
    return s3_client(gw, "a")


@pytest.fixture(scope="module")
def s3b(gw: Gateway) -> Any:
    return s3_client(gw, "b")


def create_bucket(client: Any, name: str) -> None:
    """The devcloud's region is RegionOne: outside us-east-1, S3 wants it named (as `aws s3 mb` does)."""
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": client.meta.region_name})


@pytest.fixture()
def bucket(s3a: Any) -> Iterator[str]:
    """A bucket of tenant A, emptied and deleted afterwards."""
    name = _name()
    create_bucket(s3a, name)
    try:
        yield name
    finally:
        for page in s3a.get_paginator("list_object_versions").paginate(Bucket=name):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                quietly(lambda v=v: s3a.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"]))
        for up in s3a.list_multipart_uploads(Bucket=name).get("Uploads", []):
            quietly(lambda up=up: s3a.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"]))
        quietly(lambda: s3a.delete_bucket(Bucket=name))


def swift_as(env: dict[str, Any], tenant: str) -> tuple[str, str]:
    """(token, storage URL) of the tenant's user, straight from Keystone's password auth and catalog."""
    t = env["tenants"][tenant]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": t["user_name"], "domain": {"name": "Default"}, "password": t["password"]}}},
        "scope": {"project": {"id": t["project_id"]}}}}
    req = urllib.request.Request(env["auth_url"] + "/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback test cloud
        token = resp.headers["X-Subject-Token"]
        catalog = json.loads(resp.read())["token"]["catalog"]
    urls = [ep["url"] for svc in catalog if svc["type"] == "object-store" for ep in svc["endpoints"]
            if ep["interface"] == "public"]
    assert urls, "the devcloud catalog has no object-store endpoint"
    return token, urls[0]


def swift_get(env: dict[str, Any], tenant: str, path: str) -> bytes:
    token, url = swift_as(env, tenant)
    req = urllib.request.Request(f"{url}/{path}", headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback test cloud
        return resp.read()


# ---- one key, one endpoint -------------------------------------------------------------------------------
def test_an_objects_bytes_land_in_the_callers_project_account(gw: Gateway, s3a: Any, bucket: str) -> None:
    data = os.urandom(70_000)
    put = s3a.put_object(Bucket=bucket, Key="dir/hello.bin", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert s3a.get_object(Bucket=bucket, Key="dir/hello.bin")["Body"].read() == data
    token, url = swift_as(gw.env, "a")
    assert url.endswith("/AUTH_" + gw.env["tenants"]["a"]["project_id"])
    assert swift_get(gw.env, "a", f"{bucket}/dir/hello.bin") == data
    listed = s3a.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("dir/hello.bin", len(data))]


def test_the_s3_owner_is_the_ec2_owner(gw: Gateway, s3a: Any, bucket: str) -> None:
    owner = s3a.list_buckets()["Owner"]["ID"]
    groups = gw.client("a").describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert owner == groups[0]["OwnerId"]


def test_tenant_b_sees_none_of_tenant_as_buckets(gw: Gateway, s3a: Any, s3b: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="secret", Body=b"of tenant a")
    assert bucket not in [b["Name"] for b in s3b.list_buckets()["Buckets"]]
    assert error_of(s3b.get_object, Bucket=bucket, Key="secret") == ("AccessDenied", 403)
    assert error_of(s3b.list_objects_v2, Bucket=bucket) == ("AccessDenied", 403)
    assert error_of(s3b.put_object, Bucket=bucket, Key="x", Body=b"y") == ("AccessDenied", 403)
    assert error_of(create_bucket, s3b, bucket) == ("BucketAlreadyExists", 409)
    # and Swift agrees: tenant B's own project account holds no such container
    token, url = swift_as(gw.env, "b")
    req = urllib.request.Request(f"{url}/{bucket}", method="HEAD", headers={"X-Auth-Token": token})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)  # noqa: S310 - loopback test cloud
    assert e.value.code == 404


def test_multipart_upload_completes_with_the_aws_etag(gw: Gateway, s3a: Any, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1234)]
    up = s3a.create_multipart_upload(Bucket=bucket, Key="big")
    done = []
    for n, body in enumerate(parts, 1):
        r = s3a.upload_part(Bucket=bucket, Key="big", UploadId=up["UploadId"], PartNumber=n, Body=body)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    r = s3a.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up["UploadId"],
                                      MultipartUpload={"Parts": done})
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
    assert r["ETag"] == f'"{expected}"'
    got = s3a.get_object(Bucket=bucket, Key="big")
    assert got["ETag"] == f'"{expected}"' and got["Body"].read() == b"".join(parts)
    # Deleted, in the bucket now marked as holding manifests: the parts go with it, and a plain object
    # beside it (which Swift refuses to delete as a manifest) goes too.
    s3a.put_object(Bucket=bucket, Key="small", Body=b"s")
    for key in ("big", "small"):
        s3a.delete_object(Bucket=bucket, Key=key)
    assert s3a.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert json.loads(swift_get(gw.env, "a", f"{bucket}+segments?format=json")) == []


def test_a_warm_key_costs_no_keystone_call_for_s3(gw: Gateway, s3a: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="warm", Body=b"1")  # the key is warm now
    gw.calls.clear()
    for _ in range(3):
        s3a.get_object(Bucket=bucket, Key="warm")["Body"].read()
        s3a.list_objects_v2(Bucket=bucket)
    assert [c for c in gw.calls if ":5000/" in c[1]] == []


def test_a_forged_signature_is_refused_for_s3(gw: Gateway, bucket: str) -> None:
    import boto3

    t = gw.env["tenants"]["a"]
    forged = boto3.client("s3", endpoint_url=gw.endpoint, region_name=gw.env["region"],
                          aws_access_key_id=t["ec2_access"], aws_secret_access_key=t["ec2_secret"][:-1] + "x",
                          config=BotoConfig(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
    assert error_of(forged.list_objects_v2, Bucket=bucket) == ("SignatureDoesNotMatch", 403)


def test_aws_cli_copies_100_mib_multipart_with_the_tenants_own_keys(gw: Gateway, s3a: Any, bucket: str,
                                                                    tmp_path: Any) -> None:
    src = tmp_path / "big.bin"
    with src.open("wb") as f:
        for _ in range(100):
            f.write(os.urandom(MIB))
    up = aws_cli(gw, "a", "s3", "cp", str(src), f"s3://{bucket}/big.bin")
    assert up.returncode == 0, up.stderr
    head = s3a.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 100 * MIB and head["ETag"].strip('"').endswith("-13")  # 8 MiB parts
    ls = aws_cli(gw, "a", "s3", "ls", f"s3://{bucket}/")
    assert ls.returncode == 0 and "big.bin" in ls.stdout, ls.stderr
    back = tmp_path / "back.bin"
    down = aws_cli(gw, "a", "s3", "cp", f"s3://{bucket}/big.bin", str(back))
    assert down.returncode == 0, down.stderr
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()
