"""Bucket policies, Block Public Access and Object Ownership on a real Swift, through boto3 and unsigned
HTTP, in both new-bucket default modes (`legacy`: the session gateway; `aws`: a second gateway here)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator

import botocore
import pytest
from botocore.config import Config as BotoConfig

from tests.conftest import TENANTS, Creds, S3Gateway, gateway_config
from tests.server import in_process

from .s3cfg_support import assert_error, error_code, raw


def _anonymous(gw: S3Gateway):
    import boto3

    return boto3.client("s3", endpoint_url=gw.endpoint, region_name="us-east-1",
                        config=BotoConfig(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1},
                                          s3={"addressing_style": "path"}))


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _stmt(effect: str, principal, action, resource, condition: dict | None = None) -> dict:
    out = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        out["Condition"] = condition
    return out


A, B = TENANTS["a"]["account_id"], TENANTS["b"]["account_id"]


# ---- bucket policies (legacy mode: the session gateway) -------------------------------------------------
def test_policy_put_get_delete_and_status(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    assert_error(lambda: s3.get_bucket_policy(Bucket=name), "NoSuchBucketPolicy", 404)
    assert_error(lambda: s3.get_bucket_policy_status(Bucket=name), "NoSuchBucketPolicy", 404)
    private = _policy(_stmt("Allow", {"AWS": f"arn:aws:iam::{B}:root"}, "s3:GetObject", f"arn:aws:s3:::{name}/*"))
    s3.put_bucket_policy(Bucket=name, Policy=private)
    assert s3.get_bucket_policy(Bucket=name)["Policy"] == private
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    public = _policy(_stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*"))
    s3.put_bucket_policy(Bucket=name, Policy=public)
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    # "*" narrowed to CIDRs is not public (AWS's rule)
    narrowed = _policy(_stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*",
                             {"IpAddress": {"aws:SourceIp": "10.1.0.0/16"}}))
    s3.put_bucket_policy(Bucket=name, Policy=narrowed)
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    s3.delete_bucket_policy(Bucket=name)
    assert_error(lambda: s3.get_bucket_policy(Bucket=name), "NoSuchBucketPolicy", 404)
    # Only the owner's account manages the policy, whatever a policy says.
    s3.put_bucket_policy(Bucket=name, Policy=_policy(_stmt("Allow", {"AWS": B}, "s3:GetBucketPolicy",
                                                           f"arn:aws:s3:::{name}")))
    assert_error(lambda: s3_gateway.client_b().get_bucket_policy(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: s3_gateway.client_b().put_bucket_policy(Bucket=name, Policy=public), "AccessDenied", 403)


@pytest.mark.parametrize("policy_text, message", [
    ("not json", "Policies must be valid JSON and the first byte must be '{'"),
    ("{\"Statement\": ", "This policy contains invalid Json"),
    (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (json.dumps({"Version": "2001-01-01", "Statement": []}), "The policy must contain a valid version string"),
    (_policy(_stmt("Allow", "*", "s3:GetObject", "arn:aws:s3:::some-other-bucket/*")),
     "Policy has invalid resource"),
    (_policy(_stmt("Allow", {"AWS": "333333333333"}, "s3:GetObject", "BUCKET/*")), "Invalid principal in policy"),
    (_policy(_stmt("Allow", {"AWS": "not-an-arn"}, "s3:GetObject", "BUCKET/*")), "Invalid principal in policy"),
    (_policy(_stmt("Allow", "*", "s3:GetObjekt", "BUCKET/*")), "Policy has invalid action"),
    (_policy(_stmt("Allow", "*", "ec2:RunInstances", "BUCKET/*")), "Policy has invalid action"),
    (_policy(_stmt("Allow", "*", "s3:GetObject", "BUCKET")),
     "Action does not apply to any resource(s) in statement"),
    (_policy(_stmt("Maybe", "*", "s3:GetObject", "BUCKET/*")), "Invalid effect: Maybe"),
    (_policy(_stmt("Allow", "*", "s3:GetObject", "BUCKET/*", {"StringFoo": {"s3:prefix": "x"}})),
     "Invalid Condition type : StringFoo"),
    (_policy(_stmt("Allow", "*", "s3:GetObject", "BUCKET/*", {"StringEquals": {"foo": "x"}})),
     "Policy has an invalid condition key"),
])
def test_malformed_policy_names_the_problem(s3_gateway, bucket, policy_text: str, message: str) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    text = policy_text.replace('"BUCKET', f'"arn:aws:s3:::{name}')
    response = assert_error(lambda: s3.put_bucket_policy(Bucket=name, Policy=text), "MalformedPolicy", 400)
    assert response["Error"]["Message"] == message


def test_policy_over_20_kib_is_refused(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    stmt = _stmt("Allow", {"AWS": B}, "s3:GetObject", [f"arn:aws:s3:::{name}/k{i:05d}" for i in range(900)])
    response = assert_error(lambda: s3.put_bucket_policy(Bucket=name, Policy=_policy(stmt)), "MalformedPolicy", 400)
    assert "20 KB" in response["Error"]["Message"]


def test_policy_deny_beats_acl_grant_and_owner(s3_gateway, bucket) -> None:
    a, b, anon, name = s3_gateway.client_a(), s3_gateway.client_b(), _anonymous(s3_gateway), bucket()
    a.put_object(Bucket=name, Key="secret/x", Body=b"s", ACL="public-read")
    a.put_object(Bucket=name, Key="open/x", Body=b"o", ACL="public-read")
    a.put_object_acl(Bucket=name, Key="secret/x", GrantRead=f'id="{B}"')
    assert b.get_object(Bucket=name, Key="secret/x")["Body"].read() == b"s"  # the ACL grant works
    a.put_bucket_policy(Bucket=name, Policy=_policy(
        _stmt("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{name}/secret/*")))
    for client in (a, b, anon):
        assert_error(lambda c=client: c.get_object(Bucket=name, Key="secret/x"), "AccessDenied", 403)
    assert anon.get_object(Bucket=name, Key="open/x")["Body"].read() == b"o"  # outside the Deny
    # A Deny on everything cannot lock the owner out of the policy itself.
    a.put_bucket_policy(Bucket=name, Policy=_policy(_stmt("Deny", "*", "s3:*", [f"arn:aws:s3:::{name}",
                                                                                 f"arn:aws:s3:::{name}/*"])))
    assert_error(lambda: a.list_objects_v2(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: a.put_object(Bucket=name, Key="n", Body=b"n"), "AccessDenied", 403)
    assert "Deny" in a.get_bucket_policy(Bucket=name)["Policy"]
    # DeleteObjects is checked key by key: a Deny on a key is that key's AccessDenied.
    a.put_bucket_policy(Bucket=name, Policy=_policy(
        _stmt("Deny", "*", "s3:DeleteObject", f"arn:aws:s3:::{name}/secret/*")))
    out = a.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "secret/x"}, {"Key": "gone"}]})
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("secret/x", "AccessDenied")]
    assert [d["Key"] for d in out["Deleted"]] == ["gone"]
    a.delete_bucket_policy(Bucket=name)
    assert a.list_objects_v2(Bucket=name)["KeyCount"] == 2


def test_policy_allows_anonymous_and_other_accounts_within_its_terms(s3_gateway, bucket) -> None:
    a, b, anon, name = s3_gateway.client_a(), s3_gateway.client_b(), _anonymous(s3_gateway), bucket()
    a.put_object(Bucket=name, Key="public/x", Body=b"p")
    a.put_object(Bucket=name, Key="private/x", Body=b"q")
    a.put_bucket_policy(Bucket=name, Policy=_policy(
        _stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/public/*"),
        _stmt("Allow", {"AWS": f"arn:aws:iam::{B}:root"}, "s3:ListBucket", f"arn:aws:s3:::{name}",
              {"StringLike": {"s3:prefix": "public/*"}}),
        _stmt("Allow", {"AWS": B}, ["s3:PutObject"], f"arn:aws:s3:::{name}/inbox/*",
              {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}, "Bool": {"aws:SecureTransport": "false"}}),
        _stmt("Allow", {"AWS": B}, "s3:GetObject", f"arn:aws:s3:::{name}/*",
              {"StringEquals": {"aws:Referer": "https://example.test/"}}),
    ))
    status, _, body = raw("GET", f"{s3_gateway.endpoint}/{name}/public/x")
    assert (status, body) == (200, b"p")
    status, _, body = raw("GET", f"{s3_gateway.endpoint}/{name}/private/x")  # outside the policy
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert_error(lambda: anon.list_objects_v2(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: anon.get_object(Bucket=name, Key="public/absent"), "AccessDenied", 403)  # no list right
    assert [o["Key"] for o in b.list_objects_v2(Bucket=name, Prefix="public/")["Contents"]] == ["public/x"]
    assert_error(lambda: b.list_objects_v2(Bucket=name), "AccessDenied", 403)  # no s3:prefix: outside
    b.put_object(Bucket=name, Key="inbox/from-b", Body=b"b")
    assert a.get_object(Bucket=name, Key="inbox/from-b")["Body"].read() == b"b"
    assert_error(lambda: b.put_object(Bucket=name, Key="elsewhere", Body=b"b"), "AccessDenied", 403)
    status, _, _ = raw("GET", f"{s3_gateway.endpoint}/{name}/private/x", headers={"Referer": "https://example.test/"})
    assert status == 403  # the Referer statement names B, not anonymous callers
    # NotIpAddress Deny: loopback callers are refused even the public prefix
    a.put_bucket_policy(Bucket=name, Policy=_policy(
        _stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/public/*"),
        _stmt("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*",
              {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}, "DateGreaterThan": {"aws:CurrentTime":
                                                                                      "2020-01-01T00:00:00Z"}})))
    assert_error(lambda: anon.get_object(Bucket=name, Key="public/x"), "AccessDenied", 403)


# ---- Block Public Access (legacy mode) --------------------------------------------------------------------
def _bpa(**flags: bool) -> dict:
    return {k: flags.get(k, False) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                             "RestrictPublicBuckets")}


def test_public_access_block_configuration(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    assert_error(lambda: s3.get_public_access_block(Bucket=name), "NoSuchPublicAccessBlockConfiguration", 404)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=_bpa(BlockPublicAcls=True))
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == _bpa(BlockPublicAcls=True)
    assert_error(lambda: s3_gateway.client_b().get_public_access_block(Bucket=name), "AccessDenied", 403)
    s3.delete_public_access_block(Bucket=name)
    assert_error(lambda: s3.get_public_access_block(Bucket=name), "NoSuchPublicAccessBlockConfiguration", 404)


def test_block_public_acls_and_policy_refuse_public_settings(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=_bpa(BlockPublicAcls=True,
                                                                                 BlockPublicPolicy=True))
    assert_error(lambda: s3.put_bucket_acl(Bucket=name, ACL="public-read"), "AccessDenied", 403)
    assert_error(lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="public-read"), "AccessDenied", 403)
    assert_error(lambda: s3.put_object(Bucket=name, Key="p", Body=b"x", ACL="public-read"), "AccessDenied", 403)
    s3.put_object(Bucket=name, Key="p", Body=b"x", ACL="private")
    public = _policy(_stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*"))
    assert_error(lambda: s3.put_bucket_policy(Bucket=name, Policy=public), "AccessDenied", 403)
    s3.put_bucket_policy(Bucket=name, Policy=_policy(_stmt("Allow", {"AWS": B}, "s3:GetObject",
                                                           f"arn:aws:s3:::{name}/*")))  # not public: fine


def test_ignore_public_acls_and_restrict_public_buckets(s3_gateway, bucket) -> None:
    a, b, anon, name = s3_gateway.client_a(), s3_gateway.client_b(), _anonymous(s3_gateway), bucket()
    a.put_object(Bucket=name, Key="acl-public", Body=b"1", ACL="public-read")
    a.put_object(Bucket=name, Key="policy-public", Body=b"2")
    a.put_bucket_policy(Bucket=name, Policy=_policy(_stmt("Allow", "*", "s3:GetObject",
                                                          f"arn:aws:s3:::{name}/policy-*")))
    assert anon.get_object(Bucket=name, Key="acl-public")["Body"].read() == b"1"
    assert b.get_object(Bucket=name, Key="policy-public")["Body"].read() == b"2"
    a.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=_bpa(IgnorePublicAcls=True,
                                                                               RestrictPublicBuckets=True))
    assert_error(lambda: anon.get_object(Bucket=name, Key="acl-public"), "AccessDenied", 403)
    assert_error(lambda: anon.get_object(Bucket=name, Key="policy-public"), "AccessDenied", 403)
    assert_error(lambda: b.get_object(Bucket=name, Key="policy-public"), "AccessDenied", 403)
    assert a.get_object(Bucket=name, Key="policy-public")["Body"].read() == b"2"  # the owner's account
    assert {g["Grantee"].get("URI") for g in a.get_object_acl(Bucket=name, Key="acl-public")["Grants"]} >= {
        "http://acs.amazonaws.com/groups/global/AllUsers"}  # ignored, not removed
    a.delete_public_access_block(Bucket=name)
    assert anon.get_object(Bucket=name, Key="policy-public")["Body"].read() == b"2"


# ---- Object Ownership (legacy mode) -----------------------------------------------------------------------
def test_bucket_owner_enforced_disables_acls(s3_gateway, bucket) -> None:
    a, b, anon, name = s3_gateway.client_a(), s3_gateway.client_b(), _anonymous(s3_gateway), bucket()
    assert_error(lambda: a.get_bucket_ownership_controls(Bucket=name), "OwnershipControlsNotFoundError", 404)
    a.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read")
    a.put_bucket_acl(Bucket=name, GrantRead=f'id="{B}"')
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert_error(lambda: a.put_bucket_ownership_controls(Bucket=name, OwnershipControls=enforced),
                 "InvalidBucketAclWithObjectOwnership", 400)  # the bucket ACL grants B: migrate first
    a.put_bucket_acl(Bucket=name, ACL="private")
    a.put_bucket_ownership_controls(Bucket=name, OwnershipControls=enforced)
    assert a.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == enforced
    assert_error(lambda: anon.get_object(Bucket=name, Key="k"), "AccessDenied", 403)  # the ACL grants nothing
    assert_error(lambda: a.put_object_acl(Bucket=name, Key="k", ACL="public-read"),
                 "AccessControlListNotSupported", 400)
    assert_error(lambda: a.put_bucket_acl(Bucket=name, GrantRead=f'id="{B}"'), "AccessControlListNotSupported", 400)
    assert_error(lambda: a.put_object(Bucket=name, Key="p", Body=b"x", ACL="public-read"),
                 "AccessControlListNotSupported", 400)
    a.put_object(Bucket=name, Key="p", Body=b"x", ACL="bucket-owner-full-control")
    grants = a.get_object_acl(Bucket=name, Key="k")["Grants"]
    assert [(g["Grantee"].get("ID"), g["Permission"]) for g in grants] == [(A, "FULL_CONTROL")]
    assert_error(lambda: b.list_objects_v2(Bucket=name), "AccessDenied", 403)
    a.delete_bucket_ownership_controls(Bucket=name)
    assert_error(lambda: a.get_bucket_ownership_controls(Bucket=name), "OwnershipControlsNotFoundError", 404)
    assert anon.get_object(Bucket=name, Key="k")["Body"].read() == b"x"  # ACLs count again


def test_object_writer_and_bucket_owner_preferred(s3_gateway, bucket) -> None:
    a, b, name = s3_gateway.client_a(), s3_gateway.client_b(), bucket()
    a.put_bucket_acl(Bucket=name, GrantWrite=f'id="{B}"')
    b.put_object(Bucket=name, Key="by-b", Body=b"b")  # ObjectWriter (never set): B owns it
    assert b.get_object_acl(Bucket=name, Key="by-b")["Owner"]["ID"] == B
    assert b.get_object(Bucket=name, Key="by-b")["Body"].read() == b"b"
    a.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    b.put_object(Bucket=name, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    assert a.get_object_acl(Bucket=name, Key="given")["Owner"]["ID"] == A
    assert_error(lambda: b.get_object(Bucket=name, Key="given"), "AccessDenied", 403)
    b.put_object(Bucket=name, Key="kept", Body=b"k")
    assert a.get_object_acl(Bucket=name, Key="kept")["Owner"]["ID"] == B
    assert_error(lambda: a.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "Nobody"}]}), "MalformedXML", 400)


def test_create_bucket_with_object_ownership(s3_gateway) -> None:
    s3 = s3_gateway.client_a()
    name = f"cg-ownership-{secrets.token_hex(4)}"
    assert_error(lambda: s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced", ACL="public-read"),
                 "InvalidBucketAclWithObjectOwnership", 400)
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    try:
        rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        assert_error(lambda: s3.get_public_access_block(Bucket=name), "NoSuchPublicAccessBlockConfiguration", 404)
    finally:
        s3.delete_bucket(Bucket=name)


# ---- the `aws` new-bucket defaults ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aws_gateway(swift_endpoint) -> Iterator[S3Gateway]:
    from gateway.config import parse_config

    data = gateway_config(swift_endpoint)
    data["s3"] = {**data.get("s3", {}), "new_bucket_defaults": "aws"}
    with in_process(parse_config(data, "tests/test_s3_policy.py")) as endpoint:
        yield S3Gateway(endpoint=endpoint, swift=swift_endpoint, creds_a=Creds(**TENANTS["a"]),
                        creds_b=Creds(**TENANTS["b"]), swift_a=swift_endpoint.direct("a"),
                        swift_b=swift_endpoint.direct("b"))


@pytest.fixture
def aws_bucket(aws_gateway) -> Iterator[Callable[..., str]]:
    made: list[str] = []

    def make(**kwargs) -> str:
        name = f"cg-awsmode-{secrets.token_hex(4)}"
        aws_gateway.client_a().create_bucket(Bucket=name, **kwargs)
        made.append(name)
        return name

    yield make
    for name in made:
        aws_gateway.swift_a.purge_container(name)
        try:
            aws_gateway.client_a().delete_bucket(Bucket=name)
        except Exception:
            pass


def test_aws_mode_new_bucket_has_acls_off_and_public_access_blocked(aws_gateway, aws_bucket) -> None:
    s3, anon = aws_gateway.client_a(), _anonymous(aws_gateway)
    name = aws_bucket()
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == _bpa(
        BlockPublicAcls=True, IgnorePublicAcls=True, BlockPublicPolicy=True, RestrictPublicBuckets=True)
    assert_error(lambda: s3.put_bucket_acl(Bucket=name, ACL="public-read"), "AccessControlListNotSupported", 400)
    assert_error(lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read"),
                 "AccessControlListNotSupported", 400)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    public = _policy(_stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*"))
    assert_error(lambda: s3.put_bucket_policy(Bucket=name, Policy=public), "AccessDenied", 403)
    assert_error(lambda: anon.get_object(Bucket=name, Key="k"), "AccessDenied", 403)
    # The website recipe: lift Block Public Access, then a public-read policy works.
    s3.delete_public_access_block(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=public)
    assert anon.get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    assert_error(lambda: aws_gateway.client_a().create_bucket(Bucket=f"cg-awsmode-{secrets.token_hex(4)}",
                                                              ACL="public-read"),
                 "InvalidBucketAclWithObjectOwnership", 400)


def test_aws_mode_create_bucket_header_chooses_object_writer(aws_gateway, aws_bucket) -> None:
    s3 = aws_gateway.client_a()
    name = aws_bucket(ObjectOwnership="ObjectWriter")
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "ObjectWriter"}]
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=name, Key="k", GrantRead=f'id="{B}"')  # ACLs work; not public
    assert aws_gateway.client_b().get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    assert_error(lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="public-read"), "AccessDenied", 403)  # BPA


def test_aws_mode_denials(aws_gateway, aws_bucket) -> None:
    """The same denials in `aws` mode: a Deny beats an ACL grant and the owner; anonymous callers outside
    a public policy are refused."""
    a, b, anon = aws_gateway.client_a(), aws_gateway.client_b(), _anonymous(aws_gateway)
    name = aws_bucket(ObjectOwnership="ObjectWriter")  # ACLs on, so an ACL grant can be beaten
    a.delete_public_access_block(Bucket=name)
    a.put_object(Bucket=name, Key="secret/x", Body=b"s")
    a.put_object_acl(Bucket=name, Key="secret/x", GrantRead=f'id="{B}", uri="http://acs.amazonaws.com/groups/'
                                                            f'global/AllUsers"')
    a.put_object(Bucket=name, Key="pub/x", Body=b"p")
    assert b.get_object(Bucket=name, Key="secret/x")["Body"].read() == b"s"
    assert anon.get_object(Bucket=name, Key="secret/x")["Body"].read() == b"s"
    a.put_bucket_policy(Bucket=name, Policy=_policy(
        _stmt("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{name}/secret/*"),
        _stmt("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/pub/*")))
    for client in (a, b, anon):
        assert_error(lambda c=client: c.get_object(Bucket=name, Key="secret/x"), "AccessDenied", 403)
    assert anon.get_object(Bucket=name, Key="pub/x")["Body"].read() == b"p"
    a.put_object(Bucket=name, Key="other", Body=b"o")
    status, _, body = raw("GET", f"{aws_gateway.endpoint}/{name}/other")  # outside the policy
    assert (status, error_code(body)) == (403, "AccessDenied")
