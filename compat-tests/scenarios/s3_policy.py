"""Suite "s3", access control as AWS has it: bucket policies (validation, Deny over the owner, anonymous
access within a public policy), Block Public Access and Object Ownership.

Written to pass on AWS itself, whatever a new bucket's defaults are there (since 2023: ACLs off, Block
Public Access on): a scenario that needs ACLs or a public policy sets Object Ownership / deletes the
bucket's Block Public Access first."""

from __future__ import annotations

import json

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, anonymous, expect_success, temp_bucket

BPA_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _public_read(bucket: str, prefix: str = "") -> str:
    return _policy({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"})


def _acls_on(s3, bucket: str) -> None:
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})


@scenario(SUITE)
def s3_policy_roundtrip(ctx: Ctx) -> None:
    """Get/Put/DeleteBucketPolicy; none is NoSuchBucketPolicy 404; a Deny-only policy is not public."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "pol") as bucket:
        expect_error("NoSuchBucketPolicy", 404, lambda: s3.get_bucket_policy(Bucket=bucket))
        text = _policy({"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                        "Resource": f"arn:aws:s3:::{bucket}/keep/*"})
        resp = expect_success(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=text), "PutBucketPolicy")
        check(resp["ResponseMetadata"]["HTTPStatusCode"] in (200, 204), "PutBucketPolicy status")
        check(json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(text),
              "GetBucketPolicy returned another policy")
        check(s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False,
              "a Deny-only policy reported public")
        resp = s3.delete_bucket_policy(Bucket=bucket)
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteBucketPolicy did not answer 204")
        expect_error("NoSuchBucketPolicy", 404, lambda: s3.get_bucket_policy(Bucket=bucket))


@scenario(SUITE)
def s3_policy_malformed(ctx: Ctx) -> None:
    """Not JSON, another bucket's resource, an unknown action, no Statement: MalformedPolicy 400."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "polbad") as bucket:
        deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        for text in ("this is not json",
                     json.dumps({"Version": "2012-10-17"}),
                     _policy({**deny, "Resource": "arn:aws:s3:::cgc-surely-not-this-bucket/*"}),
                     _policy({**deny, "Action": "s3:GetObjekt"}),
                     _policy({**deny, "Effect": "Perhaps"})):
            expect_error("MalformedPolicy", 400, lambda t=text: s3.put_bucket_policy(Bucket=bucket, Policy=t))
        expect_error("NoSuchBucketPolicy", 404, lambda: s3.get_bucket_policy(Bucket=bucket))


@scenario(SUITE)
def s3_policy_deny_beats_owner(ctx: Ctx) -> None:
    """An explicit Deny refuses even the bucket owner (AccessDenied 403); other keys stay readable."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "poldeny") as bucket:
        s3.put_object(Bucket=bucket, Key="locked/k", Body=b"x")
        s3.put_object(Bucket=bucket, Key="open/k", Body=b"y")
        s3.put_bucket_policy(Bucket=bucket, Policy=_policy({
            "Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/locked/*"}))
        expect_error("AccessDenied", 403, lambda: s3.get_object(Bucket=bucket, Key="locked/k"))
        expect_error("AccessDenied", 403, lambda: s3.put_object(Bucket=bucket, Key="locked/new", Body=b"z"))
        check(s3.get_object(Bucket=bucket, Key="open/k")["Body"].read() == b"y", "a key outside the Deny")
        s3.delete_bucket_policy(Bucket=bucket)
        check(s3.get_object(Bucket=bucket, Key="locked/k")["Body"].read() == b"x", "Deny outlived its policy")


@scenario(SUITE)
def s3_policy_public_read_prefix(ctx: Ctx) -> None:
    """A public-read policy on a prefix (Block Public Access lifted): anonymous GET inside 200, outside 403."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "polpub") as bucket:
        s3.put_object(Bucket=bucket, Key="pub/k", Body=b"public")
        s3.put_object(Bucket=bucket, Key="priv/k", Body=b"private")
        s3.delete_public_access_block(Bucket=bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=_public_read(bucket, "pub/"))
        check(s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True,
              "a public-read policy reported not public")
        resp = anonymous(ctx, "GET", f"/{bucket}/pub/k")
        check(resp.status == 200 and resp.body == b"public", f"anonymous GET inside the policy: {resp.status}")
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}/priv/k"))
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}"))
        expect_error("AccessDenied", 403, anonymous(ctx, "PUT", f"/{bucket}/pub/new", body=b"x"))


@scenario(SUITE)
def s3_public_access_block_roundtrip(ctx: Ctx) -> None:
    """Put/Get/DeletePublicAccessBlock; none is NoSuchPublicAccessBlockConfiguration 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "bpa") as bucket:
        s3.delete_public_access_block(Bucket=bucket)
        expect_error("NoSuchPublicAccessBlockConfiguration", 404, lambda: s3.get_public_access_block(Bucket=bucket))
        flags = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
                 "RestrictPublicBuckets": False}
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=flags)
        check(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == flags,
              "GetPublicAccessBlock returned other flags")
        s3.delete_public_access_block(Bucket=bucket)
        expect_error("NoSuchPublicAccessBlockConfiguration", 404, lambda: s3.get_public_access_block(Bucket=bucket))


@scenario(SUITE)
def s3_block_public_policy(ctx: Ctx) -> None:
    """BlockPublicPolicy: a public policy is AccessDenied 403 and not stored; a Deny-only policy is fine."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "bpapol") as bucket:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(BPA_FLAGS, True))
        expect_error("AccessDenied", 403, lambda: s3.put_bucket_policy(Bucket=bucket, Policy=_public_read(bucket)))
        expect_error("NoSuchBucketPolicy", 404, lambda: s3.get_bucket_policy(Bucket=bucket))
        expect_success(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=_policy({
            "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"})), "PutBucketPolicy (Deny only)")


@scenario(SUITE)
def s3_block_and_ignore_public_acls(ctx: Ctx) -> None:
    """BlockPublicAcls refuses a public ACL (AccessDenied 403); IgnorePublicAcls voids an existing one."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "bpaacl") as bucket:
        _acls_on(s3, bucket)
        s3.delete_public_access_block(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
        check(anonymous(ctx, "GET", f"/{bucket}/k").status == 200, "public-read object not readable")
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False})
        expect_error("AccessDenied", 403, lambda: s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read"))
        expect_error("AccessDenied", 403, lambda: s3.put_object(Bucket=bucket, Key="p", Body=b"y",
                                                                ACL="public-read"))
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}/k"))


@scenario(SUITE)
def s3_ownership_controls(ctx: Ctx) -> None:
    """Put/Get/DeleteBucketOwnershipControls; BucketOwnerEnforced refuses ACLs (AccessControlListNotSupported
    400) but takes bucket-owner-full-control; after delete, OwnershipControlsNotFoundError 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "own") as bucket:
        enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
        check(s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == enforced,
              "GetBucketOwnershipControls returned another rule")
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        expect_error("AccessControlListNotSupported", 400,
                     lambda: s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read"))
        expect_error("AccessControlListNotSupported", 400,
                     lambda: s3.put_object(Bucket=bucket, Key="p", Body=b"y", ACL="public-read"))
        expect_success(lambda: s3.put_object(Bucket=bucket, Key="o", Body=b"z", ACL="bucket-owner-full-control"),
                       "PutObject with bucket-owner-full-control")
        grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
        check([g["Permission"] for g in grants] == ["FULL_CONTROL"], f"ACL with ACLs disabled: {grants}")
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "ObjectWriter"}]})
        check(s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
              == "ObjectWriter", "ObjectWriter not stored")
        s3.delete_bucket_ownership_controls(Bucket=bucket)
        expect_error("OwnershipControlsNotFoundError", 404, lambda: s3.get_bucket_ownership_controls(Bucket=bucket))
