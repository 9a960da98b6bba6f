"""S3 on the devcloud OpenStack, acting for a bucket's owner once the owner's ACL allowed it: anonymous reads
of public objects and buckets, another tenant's ACL grants, the lifecycle sweeper.

The caller's own token cannot reach the owner's account `AUTH_<owner project>` in Swift (keystoneauth lets a
project's members into their project's account only), so the gateway reaches it with its service user, which
holds Swift's reseller admin role (devcloud/openstack/bootstrap.py grants it; docs/openstack-object-storage.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config as BotoConfig

from backends.openstack.owners import project_url
from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from tests import test_s3_openstack
from tests.ec2_os_support import Gateway, error_of, gateway_config, quietly
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture
from tests.server import serve_app
from tests.test_s3_openstack import _name, create_bucket, s3_client

UTC = dt.UTC
# test_s3_openstack's fixtures: the module's devcloud gateway (plain buckets), the tenants' clients, and a
# bucket of tenant A emptied and deleted afterwards
gw, s3a, s3b, bucket = test_s3_openstack.gw, test_s3_openstack.s3a, test_s3_openstack.s3b, test_s3_openstack.bucket


@pytest.fixture(scope="module")
def anon(gw: Gateway) -> Any:
    return boto3.client("s3", endpoint_url=gw.endpoint, region_name=gw.env["region"],
                        config=BotoConfig(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1},
                                          s3={"addressing_style": "path"}))


def test_anonymous_reads_what_tenant_a_made_public_and_nothing_else(gw: Gateway, s3a: Any, anon: Any,
                                                                    bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="public.txt", Body=b"for everyone", ACL="public-read")
    s3a.put_object(Bucket=bucket, Key="private.txt", Body=b"of tenant a")
    got = anon.get_object(Bucket=bucket, Key="public.txt")
    assert got["Body"].read() == b"for everyone"
    gw.calls.clear()
    assert anon.get_object(Bucket=bucket, Key="public.txt")["Body"].read() == b"for everyone"
    assert [c for c in gw.calls if ":5000/" in c[1]] == []  # warm: the service token and project name are cached
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


def test_a_bucket_policy_naming_tenant_b_lets_it_read(s3a: Any, s3b: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="doc.txt", Body=b"by policy")
    b_account = s3b.list_buckets()["Owner"]["ID"]
    assert error_of(s3b.get_object, Bucket=bucket, Key="doc.txt") == ("AccessDenied", 403)
    s3a.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    assert s3b.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"by policy"
    assert error_of(s3b.list_objects_v2, Bucket=bucket) == ("AccessDenied", 403)  # objects, not the listing


def test_the_lifecycle_sweeper_expires_tenant_as_objects(gw: Gateway, s3a: Any, bucket: str) -> None:
    s3a.put_object(Bucket=bucket, Key="tmp/old", Body=b"x")
    s3a.put_object(Bucket=bucket, Key="keep/this", Body=b"y")
    s3a.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
    sweeper = gw.app[GATEWAY_KEY].lifecycle_sweeper
    stats = gw.run(sweeper.run_once(dt.datetime.now(UTC) + dt.timedelta(days=3)), timeout=60)
    assert stats.errors == 0
    assert [o["Key"] for o in s3a.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/this"]


# ---- a service user without the role: the gateway refuses what it cannot carry out, as before ---------------
@pytest.fixture(scope="module")
def roleless(openstack_env: dict[str, Any]) -> Iterator[Gateway]:
    """The devcloud's service user holds ResellerAdmin, not this role: as a cloud whose operator granted none."""
    cfg = gateway_config(openstack_env, encrypt=False)
    cfg["backend"]["options"]["reseller_admin_role"] = "cloudgate-test-role-nobody-holds"
    app = create_app(parse_config(cfg, "s3-openstack-owner-tests"))
    with serve_app(app) as (endpoint, loop):
        yield Gateway(endpoint, openstack_env, app, loop)


def test_without_the_role_public_and_granted_reads_are_refused(roleless: Gateway) -> None:
    a, b = s3_client(roleless, "a"), s3_client(roleless, "b")
    anon = boto3.client("s3", endpoint_url=roleless.endpoint, region_name=roleless.env["region"],
                        config=BotoConfig(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1},
                                          s3={"addressing_style": "path"}))
    name = _name()
    create_bucket(a, name)
    try:
        a.put_object(Bucket=name, Key="public.txt", Body=b"for everyone", ACL="public-read")
        a.put_bucket_acl(Bucket=name, GrantRead=f'id="{b.list_buckets()["Owner"]["ID"]}"',
                         GrantFullControl=f'id="{a.list_buckets()["Owner"]["ID"]}"')
        assert error_of(anon.get_object, Bucket=name, Key="public.txt") == ("AccessDenied", 403)
        assert error_of(b.list_objects_v2, Bucket=name) == ("AccessDenied", 403)
        assert a.get_object(Bucket=name, Key="public.txt")["Body"].read() == b"for everyone"  # the owner: as ever
    finally:
        quietly(lambda: a.delete_object(Bucket=name, Key="public.txt"))
        quietly(lambda: a.delete_bucket(Bucket=name))


def test_the_storage_url_of_another_project() -> None:
    assert project_url("http://swift:8080/v1/AUTH_svc123", "svc123", "p456") == "http://swift:8080/v1/AUTH_p456"
    assert project_url("https://s/object-store/v1/KEY_svc123/", "svc123", "p4") == "https://s/object-store/v1/KEY_p4/"
    assert project_url("http://swift:8080/v1", "svc123", "p456") is None  # the endpoint names no project


def test_identity_for_account_maps_the_account_number_to_its_project(gw: Gateway, s3a: Any) -> None:
    creds = gw.app[GATEWAY_KEY].credentials
    a = gw.env["tenants"]["a"]
    number = s3a.list_buckets()["Owner"]["ID"]
    identity = gw.run(creds.identity_for_account(number))
    assert (identity.account_id, identity.cloud_id, identity.display_name) == (number, a["project_id"], "tenant-a")
    assert gw.run(creds.identity_for_account(a["project_id"])).account_id == number  # a cloud id recorded earlier
    assert gw.run(creds.identity_for_account("999999999999")) is None  # a number no project has
    assert gw.run(creds.identity_for_account("0123456789abcdef0123456789abcdef")) is None  # no such project
    assert gw.run(creds.identity_for_account("")) is None
