"""Suite "s3", tagging (object and bucket, the x-amz-tagging header, copy directive) and ACLs (canned and
grants, enforced for anonymous callers)."""

from __future__ import annotations

from typing import Any

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, anonymous, expect_success, get_body, temp_bucket

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _tags(resp: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resp.get("TagSet", [])}


@scenario(SUITE)
def s3_tag_object_roundtrip(ctx: Ctx) -> None:
    """Put/Get/DeleteObjectTagging; GET/HEAD report x-amz-tagging-count."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "otag") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == {}, "a new object has tags")
        tags = {"project": "cloudgate", "with space": "a value/with+chars="}
        expect_success(lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={
            "TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}), "PutObjectTagging")
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == tags, "GetObjectTagging differs")
        check(s3.get_object(Bucket=bucket, Key="k").get("TagCount") == 2, "GET lacks x-amz-tagging-count: 2")
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == {"only": "one"},
              "PutObjectTagging does not replace the whole set")
        resp = s3.delete_object_tagging(Bucket=bucket, Key="k")
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteObjectTagging did not answer 204")
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == {}, "tags left after DeleteObjectTagging")
        check(get_body(s3, bucket, "k") == b"x", "tagging changed the object's content")


@scenario(SUITE)
def s3_tag_header_on_put_and_copy(ctx: Ctx) -> None:
    """x-amz-tagging on PUT sets tags; CopyObject copies them (COPY) or takes new ones (REPLACE)."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "htag") as bucket:
        s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1&b=two%20words")
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="src")) == {"a": "1", "b": "two words"},
              "x-amz-tagging on PUT was not applied")
        src = {"Bucket": bucket, "Key": "src"}
        s3.copy_object(Bucket=bucket, Key="copy", CopySource=src)
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="copy")) == {"a": "1", "b": "two words"},
              "CopyObject (TaggingDirective COPY) lost the tags")
        s3.copy_object(Bucket=bucket, Key="repl", CopySource=src, TaggingDirective="REPLACE", Tagging="c=3")
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="repl")) == {"c": "3"},
              "CopyObject with TaggingDirective REPLACE")
        up = s3.create_multipart_upload(Bucket=bucket, Key="mpu", Tagging="m=1")
        part = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=up["UploadId"], PartNumber=1, Body=b"p")
        s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="mpu")) == {"m": "1"},
              "x-amz-tagging on CreateMultipartUpload was not applied")


@scenario(SUITE)
def s3_tag_invalid(ctx: Ctx) -> None:
    """Duplicate tag keys are InvalidTag 400; tagging a missing key is NoSuchKey 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "badtag") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        expect_error("InvalidTag", 400, lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={
            "TagSet": [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}]}))
        expect_error("NoSuchKey", 404, lambda: s3.put_object_tagging(Bucket=bucket, Key="absent", Tagging={
            "TagSet": [{"Key": "a", "Value": "1"}]}))
        expect_error("NoSuchKey", 404, lambda: s3.get_object_tagging(Bucket=bucket, Key="absent"))
        check(_tags(s3.get_object_tagging(Bucket=bucket, Key="k")) == {}, "a refused tag set was stored")


@scenario(SUITE)
def s3_tag_bucket_roundtrip(ctx: Ctx) -> None:
    """Put/Get/DeleteBucketTagging; a bucket without tags is NoSuchTagSet 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "btag") as bucket:
        expect_error("NoSuchTagSet", 404, lambda: s3.get_bucket_tagging(Bucket=bucket))
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "storage"},
                                                                 {"Key": "env", "Value": "test"}]})
        check(_tags(s3.get_bucket_tagging(Bucket=bucket)) == {"team": "storage", "env": "test"},
              "GetBucketTagging differs")
        resp = s3.delete_bucket_tagging(Bucket=bucket)
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteBucketTagging did not answer 204")
        expect_error("NoSuchTagSet", 404, lambda: s3.get_bucket_tagging(Bucket=bucket))


# ---- ACLs ------------------------------------------------------------------------------------------------
def _grants(resp: dict) -> set[tuple[str, str]]:
    """{(grantee, permission)} with grantee = the group URI or the canonical ID."""
    out = set()
    for g in resp.get("Grants", []):
        grantee: dict[str, Any] = g.get("Grantee", {})
        out.add((grantee.get("URI") or grantee.get("ID") or grantee.get("EmailAddress") or "?", g["Permission"]))
    return out


@scenario(SUITE)
def s3_acl_private_by_default(ctx: Ctx) -> None:
    """A new object's ACL is the owner's FULL_CONTROL; an anonymous GET is AccessDenied 403."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "aclpriv") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"private")
        acl = s3.get_object_acl(Bucket=bucket, Key="k")
        owner = acl.get("Owner", {}).get("ID")
        check(owner, "GetObjectAcl has no Owner/ID")
        check(_grants(acl) == {(owner, "FULL_CONTROL")}, f"default grants {_grants(acl)}")
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}/k"))
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}"))
        expect_error("AccessDenied", 403, anonymous(ctx, "PUT", f"/{bucket}/anon", body=b"x"))


@scenario(SUITE)
def s3_acl_canned_object(ctx: Ctx) -> None:
    """x-amz-acl: public-read lets anyone GET the object (and only GET); back to private, 403 again."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "aclobj") as bucket:
        s3.put_object(Bucket=bucket, Key="pub", Body=b"public bytes", ACL="public-read")
        check((ALL_USERS, "READ") in _grants(s3.get_object_acl(Bucket=bucket, Key="pub")),
              "public-read object has no AllUsers READ grant")
        resp = anonymous(ctx, "GET", f"/{bucket}/pub")
        check(resp.status == 200 and resp.body == b"public bytes", f"anonymous GET of public-read: {resp.status}")
        expect_error("AccessDenied", 403, anonymous(ctx, "PUT", f"/{bucket}/pub", body=b"vandal"))
        expect_error("AccessDenied", 403, anonymous(ctx, "DELETE", f"/{bucket}/pub"))
        check(get_body(s3, bucket, "pub") == b"public bytes", "an anonymous write changed the object")
        s3.put_object_acl(Bucket=bucket, Key="pub", ACL="private")
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}/pub"))


@scenario(SUITE)
def s3_acl_grants(ctx: Ctx) -> None:
    """PutObjectAcl with an AccessControlPolicy of explicit grants is stored and enforced."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "aclgr") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"granted")
        owner = s3.get_object_acl(Bucket=bucket, Key="k")["Owner"]
        policy = {"Owner": owner, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]}
        expect_success(lambda: s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy),
                       "PutObjectAcl with grants")
        got = _grants(s3.get_object_acl(Bucket=bucket, Key="k"))
        check(got == {(owner["ID"], "FULL_CONTROL"), (ALL_USERS, "READ")}, f"grants {got}")
        resp = anonymous(ctx, "GET", f"/{bucket}/k")
        check(resp.status == 200 and resp.body == b"granted", f"anonymous GET with AllUsers READ: {resp.status}")
        s3.put_object(Bucket=bucket, Key="hdr", Body=b"by header", GrantRead=f'uri="{ALL_USERS}"')
        check((ALL_USERS, "READ") in _grants(s3.get_object_acl(Bucket=bucket, Key="hdr")),
              "x-amz-grant-read on PUT was not applied")
        resp = anonymous(ctx, "GET", f"/{bucket}/hdr")
        check(resp.status == 200 and resp.body == b"by header", f"anonymous GET (x-amz-grant-read): {resp.status}")


@scenario(SUITE)
def s3_acl_canned_bucket(ctx: Ctx) -> None:
    """PutBucketAcl public-read lets anyone list the bucket (not write it); private undoes it."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "aclbkt") as bucket:
        s3.put_object(Bucket=bucket, Key="listed", Body=b"x")
        expect_success(lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"), "PutBucketAcl public-read")
        check((ALL_USERS, "READ") in _grants(s3.get_bucket_acl(Bucket=bucket)),
              "public-read bucket has no AllUsers READ grant")
        resp = anonymous(ctx, "GET", f"/{bucket}", query="list-type=2")
        check(resp.status == 200 and b"<Key>listed</Key>" in resp.body, f"anonymous list: {resp.status}")
        expect_error("AccessDenied", 403, anonymous(ctx, "PUT", f"/{bucket}/anon", body=b"x"))
        # Bucket READ is listing only: the object itself stays private.
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}/listed"))
        s3.put_bucket_acl(Bucket=bucket, ACL="private")
        expect_error("AccessDenied", 403, anonymous(ctx, "GET", f"/{bucket}", query="list-type=2"))


@scenario(SUITE)
def s3_acl_invalid_canned(ctx: Ctx) -> None:
    """An unknown canned ACL is InvalidArgument 400 and stores nothing."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "aclbad") as bucket:
        expect_error("InvalidArgument", 400, ctx.s3("PUT", f"/{bucket}/k", headers={"x-amz-acl": "public-everything"},
                                                    body=b"x"))
        expect_error("404", 404, lambda: s3.head_object(Bucket=bucket, Key="k"))
