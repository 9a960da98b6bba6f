"""ACLs: canned ACLs, grant headers and AccessControlPolicy bodies (unit), and their enforcement on a real
Swift: anonymous (unsigned) reads of public objects, cross-account grants."""

from __future__ import annotations

import botocore
import pytest
from botocore.config import Config as BotoConfig

from gateway.protocol import errors
from gateway.s3.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    acl_from_request,
    allows,
    canned_acl,
    normalize,
    parse_policy,
)

from .s3cfg_support import assert_error, error_code, raw

OWNER, OTHER = "111111111111", "222222222222"


# ---- unit ------------------------------------------------------------------------------------------------
def test_canned_acls_expand_to_grants() -> None:
    assert canned_acl("private", OWNER)["grants"] == [
        {"grantee": {"type": "CanonicalUser", "id": OWNER}, "permission": "FULL_CONTROL"}]
    public = canned_acl("public-read-write", OWNER)
    assert allows(public, None, "READ") and allows(public, None, "WRITE") and not allows(public, None, "READ_ACP")
    auth = canned_acl("authenticated-read", OWNER)
    assert allows(auth, OTHER, "READ") and not allows(auth, None, "READ")
    obj = canned_acl("bucket-owner-full-control", OTHER, OWNER)
    assert allows(obj, OWNER, "WRITE_ACP")
    log_delivery = canned_acl("log-delivery-write", OWNER)
    assert not allows(log_delivery, None, "WRITE") and not allows(log_delivery, OTHER, "WRITE")


def test_unknown_canned_acl_is_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgument):
        canned_acl("public-ready", OWNER)


def test_stored_canned_form_is_expanded_on_read() -> None:
    assert normalize({"canned": "public-read"}, OWNER) == canned_acl("public-read", OWNER)
    assert normalize(None, OWNER) == canned_acl("private", OWNER)


def test_grant_headers() -> None:
    acl = acl_from_request({"GrantRead": f'id="{OTHER}", uri="{AUTHENTICATED_USERS}"',
                            "GrantWrite": f"uri={ALL_USERS}"}, OWNER)
    assert allows(acl, OTHER, "READ") and allows(acl, None, "WRITE") and not allows(acl, None, "READ")
    with pytest.raises(errors.InvalidRequest, match="both Canned ACLs and Header Grants"):
        acl_from_request({"ACL": "private", "GrantRead": f'id="{OTHER}"'}, OWNER)
    with pytest.raises(errors.UnresolvableGrantByEmailAddress):
        acl_from_request({"GrantRead": 'emailAddress="a@example.com"'}, OWNER)
    with pytest.raises(errors.InvalidArgument):
        acl_from_request({"GrantRead": 'uri="http://example.com/not-a-group"'}, OWNER)
    with pytest.raises(errors.InvalidArgument):
        acl_from_request({"GrantRead": "nonsense"}, OWNER)
    assert acl_from_request({}, OWNER) is None


def test_policy_body() -> None:
    policy = {"Owner": {"ID": OWNER}, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": OTHER}, "Permission": "READ_ACP"},
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]}
    acl = parse_policy(policy, OWNER)
    assert allows(acl, OTHER, "READ_ACP") and allows(acl, None, "READ") and not allows(acl, OTHER, "WRITE")
    with pytest.raises(errors.InvalidRequest):
        acl_from_request({"ACL": "private", "AccessControlPolicy": policy}, OWNER, allow_body=True)


@pytest.mark.parametrize("grant", [
    {"Grantee": {"Type": "CanonicalUser"}, "Permission": "READ"},
    {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ_EVERYTHING"},
    {"Grantee": {"ID": OTHER}, "Permission": "READ"},
    {"Permission": "READ"},
])
def test_malformed_policy_is_malformed_acl_error(grant: dict) -> None:
    with pytest.raises(errors.MalformedACLError):
        parse_policy({"Grants": [grant]}, OWNER)


def test_policy_cannot_change_the_owner() -> None:
    with pytest.raises(errors.AccessDenied):
        parse_policy({"Owner": {"ID": OTHER}, "Grants": []}, OWNER)


# ---- enforcement through HTTP on Swift ---------------------------------------------------------------
def _anonymous(s3_gateway):
    import boto3

    return boto3.client("s3", endpoint_url=s3_gateway.endpoint, region_name="us-east-1",
                        config=BotoConfig(signature_version=botocore.UNSIGNED))


def test_public_read_object_is_served_to_unsigned_requests(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="public.txt", Body=b"for everyone")
    s3.put_object(Bucket=name, Key="private.txt", Body=b"secret")
    s3.put_object_acl(Bucket=name, Key="public.txt", ACL="public-read")

    status, _, body = raw("GET", f"{s3_gateway.endpoint}/{name}/public.txt")
    assert (status, body) == (200, b"for everyone")
    anon = _anonymous(s3_gateway)
    assert anon.get_object(Bucket=name, Key="public.txt")["Body"].read() == b"for everyone"
    assert anon.head_object(Bucket=name, Key="public.txt")["ContentLength"] == 12

    status, _, body = raw("GET", f"{s3_gateway.endpoint}/{name}/private.txt")
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert_error(lambda: anon.get_object(Bucket=name, Key="private.txt"), "AccessDenied", 403)
    # Nobody who may not list the bucket learns whether a key exists.
    assert_error(lambda: anon.get_object(Bucket=name, Key="absent.txt"), "AccessDenied", 403)
    # A bucket that is not public cannot be listed or written anonymously.
    assert_error(lambda: anon.list_objects_v2(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: anon.put_object(Bucket=name, Key="x", Body=b"x"), "AccessDenied", 403)


def test_public_bucket_lists_and_public_read_write_accepts_anonymous_writes(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="a", Body=b"1")
    anon = _anonymous(s3_gateway)
    s3.put_bucket_acl(Bucket=name, ACL="public-read")
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=name)["Contents"]] == ["a"]
    assert_error(lambda: anon.get_object(Bucket=name, Key="absent"), "NoSuchKey", 404)  # may list: 404
    assert_error(lambda: anon.put_object(Bucket=name, Key="b", Body=b"2"), "AccessDenied", 403)
    s3.put_bucket_acl(Bucket=name, ACL="public-read-write")
    anon.put_object(Bucket=name, Key="b", Body=b"2")
    assert s3.get_object(Bucket=name, Key="b")["Body"].read() == b"2"
    s3.put_bucket_acl(Bucket=name, ACL="private")
    assert_error(lambda: anon.list_objects_v2(Bucket=name), "AccessDenied", 403)


def test_other_tenant_is_denied_until_granted(s3_gateway, bucket) -> None:
    a, b, name = s3_gateway.client_a(), s3_gateway.client_b(), bucket()
    a.put_object(Bucket=name, Key="shared.txt", Body=b"hello b")
    b_account = b.list_buckets()["Owner"]["ID"]
    assert_error(lambda: b.get_object(Bucket=name, Key="shared.txt"), "AccessDenied", 403)
    assert_error(lambda: b.list_objects_v2(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: b.get_bucket_acl(Bucket=name), "AccessDenied", 403)

    a.put_object_acl(Bucket=name, Key="shared.txt", GrantRead=f'id="{b_account}"')
    assert b.get_object(Bucket=name, Key="shared.txt")["Body"].read() == b"hello b"
    assert_error(lambda: b.list_objects_v2(Bucket=name), "AccessDenied", 403)  # the object, not the bucket
    assert_error(lambda: b.put_object_acl(Bucket=name, Key="shared.txt", ACL="public-read"), "AccessDenied", 403)

    a.put_bucket_acl(Bucket=name, GrantRead=f'id="{b_account}"', GrantReadACP=f'id="{b_account}"')
    assert [o["Key"] for o in b.list_objects_v2(Bucket=name)["Contents"]] == ["shared.txt"]
    grants = b.get_bucket_acl(Bucket=name)["Grants"]
    assert {(g["Grantee"].get("ID"), g["Permission"]) for g in grants} == {(b_account, "READ"),
                                                                           (b_account, "READ_ACP")}


def test_get_acl_shows_owner_and_grants(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    acl = s3.get_bucket_acl(Bucket=name)
    owner = acl["Owner"]["ID"]
    assert acl["Grants"] == [{"Grantee": {"Type": "CanonicalUser", **acl["Owner"]}, "Permission": "FULL_CONTROL"}]
    s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket=name, Key="k")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    policy = {"Owner": {"ID": owner}, "Grants": [
        {"Grantee": {"Type": "Group", "URI": AUTHENTICATED_USERS}, "Permission": "READ"}]}
    s3.put_object_acl(Bucket=name, Key="k", AccessControlPolicy=policy)
    assert s3.get_object_acl(Bucket=name, Key="k")["Grants"] == policy["Grants"]


def test_acl_errors(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    owner = s3.get_bucket_acl(Bucket=name)["Owner"]["ID"]
    assert_error(lambda: s3.put_bucket_acl(Bucket=name, ACL="public-ready"), "InvalidArgument", 400)
    assert_error(lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="private", GrantRead=f'id="{owner}"'),
                 "InvalidRequest", 400)
    assert_error(lambda: s3.put_bucket_acl(Bucket=name, GrantRead='emailAddress="x@example.com"'),
                 "UnresolvableGrantByEmailAddress", 400)
    bad = {"Owner": {"ID": owner}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner},
                                               "Permission": "EVERYTHING"}]}
    assert_error(lambda: s3.put_bucket_acl(Bucket=name, AccessControlPolicy=bad), "MalformedACLError", 400)
    good = {"Owner": {"ID": owner}, "Grants": []}
    assert_error(lambda: s3.put_bucket_acl(Bucket=name, ACL="private", AccessControlPolicy=good),
                 "InvalidRequest", 400)
    assert_error(lambda: s3.put_object_acl(Bucket=name, Key="missing", ACL="private"), "NoSuchKey", 404)
    assert_error(lambda: s3.get_object_acl(Bucket=name, Key="missing"), "NoSuchKey", 404)
    assert_error(lambda: s3.get_bucket_acl(Bucket=name + "-missing"), "NoSuchBucket", 404)
    status, _, body = raw("PUT", f"{s3_gateway.endpoint}/{name}?acl")  # unsigned, no grant: denied
    assert (status, error_code(body)) == (403, "AccessDenied")
