"""12-digit AWS account numbers for cloud accounts (gateway/auth/accounts.py): derived, recorded both ways in
the shared state, agreed by replicas, collisions resolved; the EC2 edge mapping both ways; on the devcloud
OpenStack, S3 records written before numbers existed (owner = the Keystone project id) still work."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from gateway.app import GATEWAY_KEY
from gateway.auth import accounts as accounts_mod
from gateway.auth.accounts import NS_BY_CLOUD, NS_BY_NUMBER, AccountNumbers, candidate
from gateway.auth.credentials import Identity
from gateway.ec2 import account_edge
from gateway.s3.access import ACCESS_KIND
from gateway.s3.common import NS_BUCKET_CONFIG, NS_BUCKET_OWNER, NS_OBJECT_EXTRA, object_extra_key
from gateway.store import open_store
from tests.ec2_os_support import Gateway, error_of, gw_fixture  # noqa: F401 - fixture
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture

NUMBER = re.compile(r"[1-9]\d{11}")
PROJECT_A, PROJECT_B = "8f14e45fceea167a5a36dedd4bea2543", "c9f0f895fb98ab9159f51fd0297e236d"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_candidates_are_12_digits_and_deterministic() -> None:
    first = candidate(PROJECT_A)
    assert NUMBER.fullmatch(first) and candidate(PROJECT_A) == first
    assert len({candidate(PROJECT_A, n) for n in range(50)}) == 50  # the rehash sequence moves on
    assert all(NUMBER.fullmatch(candidate(str(uuid.uuid4()))) for _ in range(200))


def test_numbers_are_recorded_both_ways_and_agreed_by_replicas() -> None:
    async def go() -> None:
        store = open_store("sqlite://:memory:")
        one, two = AccountNumbers(store), AccountNumbers(store)  # two replicas on one shared store
        numbers = await asyncio.gather(*(r.number(PROJECT_A) for r in (one, two, one, two)))
        assert len(set(numbers)) == 1 and numbers[0] == candidate(PROJECT_A)
        assert await store.get(NS_BY_NUMBER, numbers[0]) == PROJECT_A
        assert await store.get(NS_BY_CLOUD, PROJECT_A) == numbers[0]
        assert await AccountNumbers(store).cloud(numbers[0]) == PROJECT_A  # a fresh replica reads it back
        assert await two.cloud("999999999999") is None  # nobody's number
        assert await one.number("123456789012") == "123456789012"  # numbers (static accounts) are themselves
        assert await one.cloud_or_self("self") == "self"
        await store.close()
    run(go())


def test_a_forced_collision_is_resolved_the_same_way_on_every_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    real = accounts_mod.candidate

    def colliding(cloud_id: str, attempt: int = 0) -> str:
        return "100000000042" if attempt == 0 else real(cloud_id, attempt)  # every id's first candidate clashes

    monkeypatch.setattr(accounts_mod, "candidate", colliding)

    async def go() -> None:
        store = open_store("sqlite://:memory:")
        one, two = AccountNumbers(store), AccountNumbers(store)
        a = await one.number(PROJECT_A)
        assert a == "100000000042"  # the first claim wins the number
        # B collides: on both replicas at once, it settles on its own second candidate
        b1, b2 = await asyncio.gather(one.number(PROJECT_B), two.number(PROJECT_B))
        assert b1 == b2 == real(PROJECT_B, 1) != a
        assert await two.number(PROJECT_A) == a
        assert (await one.cloud(a), await two.cloud(b1)) == (PROJECT_A, PROJECT_B)
        fresh = AccountNumbers(store)
        assert (await fresh.number(PROJECT_B), await fresh.cloud(b1)) == (b1, PROJECT_B)
        await store.close()
    run(go())


def test_the_ec2_edge_maps_numbers_in_and_cloud_ids_out() -> None:
    async def go() -> None:
        store = open_store("sqlite://:memory:")
        accounts = AccountNumbers(store, cloud_accounts=True)
        a, b = await accounts.number(PROJECT_A), await accounts.number(PROJECT_B)
        me = Identity("AK", a, "tenant-a", {}, cloud_account=PROJECT_A)
        ctx: Any = SimpleNamespace(gateway=SimpleNamespace(accounts=accounts), identity=me)
        params = {"ImageId": "ami-1", "LaunchPermission": {"Add": [{"UserId": b}, {"Group": "all"}]},
                  "Owners": ["self", a, "amazon"], "ExecutableUsers": [b],
                  "Filters": [{"Name": "owner-id", "Values": [b]}, {"Name": "name", "Values": [b]}]}
        inward = await account_edge.inbound(ctx, params)
        assert inward["LaunchPermission"]["Add"] == [{"UserId": PROJECT_B}, {"Group": "all"}]
        assert inward["Owners"] == ["self", PROJECT_A, "amazon"] and inward["ExecutableUsers"] == [PROJECT_B]
        assert inward["Filters"] == [{"Name": "owner-id", "Values": [PROJECT_B]}, {"Name": "name", "Values": [b]}]
        result = {"Images": [{"OwnerId": PROJECT_B, "ImageOwnerAlias": "amazon", "Name": PROJECT_B,
                              "ImageLocation": f"{PROJECT_B}/img"}],
                  "Reservations": [{"OwnerId": PROJECT_A, "RequesterId": "amazon-elb"}],
                  "Subnets": [{"SubnetArn": f"arn:aws:ec2:r:{PROJECT_A}:subnet/subnet-1", "OwnerId": a}],
                  "LaunchPermissions": [{"UserId": PROJECT_B}]}
        out = await account_edge.outbound(ctx, result)
        assert out["Images"] == [{"OwnerId": b, "ImageOwnerAlias": "amazon", "Name": PROJECT_B,
                                  "ImageLocation": f"{b}/img"}]  # a name is data, never rewritten
        assert out["Reservations"] == [{"OwnerId": a, "RequesterId": "amazon-elb"}]
        assert out["Subnets"] == [{"SubnetArn": f"arn:aws:ec2:r:{a}:subnet/subnet-1", "OwnerId": a}]
        assert out["LaunchPermissions"] == [{"UserId": b}]
        assert await account_edge.outbound(ctx, out) == out  # idempotent
        await store.close()
    run(go())


# ---- devcloud OpenStack: S3 state written under project ids before account numbers ------------------------------
def _client(gw: Gateway, tenant: str, service: str) -> Any:
    t = gw.env["tenants"][tenant]
    return boto3.client(service, endpoint_url=gw.endpoint, region_name=gw.env["region"],
                        aws_access_key_id=t["ec2_access"], aws_secret_access_key=t["ec2_secret"],
                        config=BotoConfig(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))


def test_legacy_s3_records_under_project_ids_keep_working(gw: Gateway) -> None:
    a, b = _client(gw, "a", "s3"), _client(gw, "b", "s3")
    number_a = _client(gw, "a", "sts").get_caller_identity()["Account"]
    number_b = _client(gw, "b", "sts").get_caller_identity()["Account"]
    project_a, project_b = gw.env["tenants"]["a"]["project_id"], gw.env["tenants"]["b"]["project_id"]
    assert NUMBER.fullmatch(number_a) and NUMBER.fullmatch(number_b) and number_a != number_b
    store = gw.app[GATEWAY_KEY].store
    bucket = f"legacy-owner-{uuid.uuid4().hex[:10]}"
    a.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": gw.env["region"]})
    try:
        a.put_object(Bucket=bucket, Key="k", Body=b"data")
        # what an older gateway wrote: the project ids as owner and grantee
        legacy_acl = {"owner": project_a, "grants": [
            {"grantee": {"type": "CanonicalUser", "id": project_a}, "permission": "FULL_CONTROL"},
            {"grantee": {"type": "CanonicalUser", "id": project_b}, "permission": "READ"}]}
        gw.run(store.put(NS_BUCKET_OWNER, bucket, project_a))
        gw.run(store.put(NS_BUCKET_CONFIG, f"{bucket}/acl", legacy_acl))
        gw.run(store.put(NS_OBJECT_EXTRA, object_extra_key(bucket, "k", None), {"acl": {"owner": project_a}}))

        assert bucket in {x["Name"] for x in a.list_buckets()["Buckets"]}
        a.head_bucket(Bucket=bucket, ExpectedBucketOwner=number_a)
        acl = a.get_bucket_acl(Bucket=bucket)
        assert acl["Owner"]["ID"] == number_a
        assert {(g["Grantee"].get("ID"), g["Permission"]) for g in acl["Grants"]} == {
            (number_a, "FULL_CONTROL"), (number_b, "READ")}
        assert a.get_object_acl(Bucket=bucket, Key="k")["Owner"]["ID"] == number_a
        assert a.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
        # a policy written with the project id as principal still applies (its Deny binds the owner's reads)
        deny = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": {"AWS": [f"arn:aws:iam::{project_a}:root"]}, "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}
        gw.run(store.put(NS_BUCKET_CONFIG, f"{bucket}/{ACCESS_KIND}", {"policy": json.dumps(deny)}))
        assert error_of(a.get_object, Bucket=bucket, Key="k") == ("AccessDenied", 403)
        gw.run(store.delete(NS_BUCKET_CONFIG, f"{bucket}/{ACCESS_KIND}"))
        # the owner still manages it; another account still may not, and cannot claim its name
        a.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        assert error_of(b.put_bucket_acl, Bucket=bucket, ACL="public-read") == ("AccessDenied", 403)
        assert error_of(a.head_bucket, Bucket=bucket, ExpectedBucketOwner=number_b) == ("403", 403)
        here = {"LocationConstraint": gw.env["region"]}
        assert error_of(b.create_bucket, Bucket=bucket, CreateBucketConfiguration=here) == ("BucketAlreadyExists", 409)
        assert error_of(a.create_bucket, Bucket=bucket, CreateBucketConfiguration=here) == (
            "BucketAlreadyOwnedByYou", 409)
    finally:
        for key in ("k",):
            a.delete_object(Bucket=bucket, Key=key)
        a.delete_bucket(Bucket=bucket)
