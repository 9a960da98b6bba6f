"""S3 on the devcloud OpenStack, acting for a bucket's owner once the owner's ACL allowed it: anonymous reads
of public objects and buckets, another tenant's ACL grants, the lifecycle sweeper.

The caller's own token cannot reach the owner's account `AUTH_<owner project>` in Swift (keystoneauth lets a
project's members into their project's account only), so the gateway reaches it with its service user, which
holds Swift's reseller admin role (devcloud/openstack/bootstrap.py grants it; docs/openstack-object-storage.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config as BotoConfig

from gateway.app import GATEWAY_KEY
from tests.ec2_os_support import Gateway, devcloud_gateway, error_of, quietly
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture
from tests.test_s3_openstack import _name, create_bucket, s3_client

UTC = dt.UTC


@pytest.fixture(scope="module")
def gw(openstack_env: dict[str, Any]) -> Iterator[Gateway]:
    with devcloud_gateway(openstack_env, encrypt=False) as gw:
        yield gw


@pytest.fixture(scope="module")
def s3a(gw: Gateway) -> Any:
    return s3_client(gw, "a")


@pytest.fixture(scope="module")
def s3b(gw: Gateway) -> Any:
    return s3_client(gw, "b")


@pytest.fixture(scope="module")
def anon(gw: Gateway) -> Any:
    return boto3.client("s3", endpoint_url=gw.endpoint, region_name=gw.env["region"],
                        config=BotoConfig(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1},
                                          s3={"addressing_style": "path"}))


@pytest.fixture()
def bucket(s3a: Any) -> Iterator[str]:
    """A bucket of tenant A, emptied and deleted afterwards."""
    name = _name()
    create_bucket(s3a, name)
    try:
        yield name
    finally:
        for page in s3a.get_paginator("list_objects_v2").paginate(Bucket=name):
            for o in page.get("Contents", []):
                quietly(lambda o=o: s3a.delete_object(Bucket=name, Key=o["Key"]))
        quietly(lambda: s3a.delete_bucket(Bucket=name))


def test_anonymous_reads_what_tenant_a_made_public_and_nothing_else(s3a: Any, anon: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="public.txt", Body=b"for everyone", ACL="public-read")
    s3a.put_object(Bucket=bucket, Key="private.txt", Body=b"of tenant a")
    got = anon.get_object(Bucket=bucket, Key="public.txt")
    assert got["Body"].read() == b"for everyone"
    assert anon.head_object(Bucket=bucket, Key="public.txt")["ContentLength"] == 12
    assert error_of(anon.get_object, Bucket=bucket, Key="private.txt") == ("AccessDenied", 403)
    assert error_of(anon.get_object, Bucket=bucket, Key="absent.txt") == ("AccessDenied", 403)
    assert error_of(anon.list_objects_v2, Bucket=bucket) == ("AccessDenied", 403)
    # a public-read bucket lists for everyone; its private objects stay private
    s3a.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert sorted(o["Key"] for o in anon.list_objects_v2(Bucket=bucket)["Contents"]) == ["private.txt",
                                                                                           "public.txt"]
    assert error_of(anon.get_object, Bucket=bucket, Key="absent.txt") == ("NoSuchKey", 404)
    assert error_of(anon.get_object, Bucket=bucket, Key="private.txt") == ("AccessDenied", 403)
    assert error_of(anon.put_object, Bucket=bucket, Key="x", Body=b"y") == ("AccessDenied", 403)


def test_tenant_b_reads_tenant_as_bucket_once_granted(s3a: Any, s3b: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="shared.txt", Body=b"hello b")
    b_account = s3b.list_buckets()["Owner"]["ID"]
    assert error_of(s3b.list_objects_v2, Bucket=bucket) == ("AccessDenied", 403)
    assert error_of(s3b.get_object, Bucket=bucket, Key="shared.txt") == ("AccessDenied", 403)

    a_account = s3a.list_buckets()["Owner"]["ID"]
    s3a.put_bucket_acl(Bucket=bucket, GrantRead=f'id="{b_account}"', GrantFullControl=f'id="{a_account}"')
    assert [o["Key"] for o in s3b.list_objects_v2(Bucket=bucket)["Contents"]] == ["shared.txt"]
    assert error_of(s3b.get_object, Bucket=bucket, Key="shared.txt") == ("AccessDenied", 403)  # the bucket only
    assert error_of(s3b.put_object, Bucket=bucket, Key="x", Body=b"y") == ("AccessDenied", 403)

    s3a.put_object_acl(Bucket=bucket, Key="shared.txt", GrantRead=f'id="{b_account}"')
    assert s3b.get_object(Bucket=bucket, Key="shared.txt")["Body"].read() == b"hello b"
    # the grant shows tenant B by its account number and project name
    grants = s3a.get_object_acl(Bucket=bucket, Key="shared.txt")["Grants"]
    assert {(g["Grantee"].get("ID"), g["Permission"]) for g in grants} >= {(b_account, "READ")}
    assert {g["Grantee"].get("DisplayName") for g in grants if g["Grantee"].get("ID") == b_account} == {
        "tenant-b"}

    s3a.put_object_acl(Bucket=bucket, Key="shared.txt", ACL="private")
    assert error_of(s3b.get_object, Bucket=bucket, Key="shared.txt") == ("AccessDenied", 403)


def test_the_lifecycle_sweeper_expires_tenant_as_objects(gw: Gateway, s3a: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="tmp/old", Body=b"x")
    s3a.put_object(Bucket=bucket, Key="keep/this", Body=b"y")
    s3a.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
    sweeper = gw.app[GATEWAY_KEY].lifecycle_sweeper
    stats = gw.run(sweeper.run_once(dt.datetime.now(UTC) + dt.timedelta(days=3)), timeout=60)
    assert stats.errors == 0
    assert [o["Key"] for o in s3a.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/this"]
