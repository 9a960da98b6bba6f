"""Suite "s3", CopyObject (metadata directive, copy to itself, copy-source conditions) and DeleteObjects
(verbose and quiet)."""

from __future__ import annotations

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import (
    SUITE,
    blob,
    expect_success,
    get_body,
    md5_b64,
    md5_hex,
    object_absent,
    temp_bucket,
    unquote_etag,
)


@scenario(SUITE)
def s3_copy_metadata_directive(ctx: Ctx) -> None:
    """CopyObject keeps content-type and metadata by default (COPY) and takes new ones with REPLACE."""
    s3 = ctx.client("s3")
    data = blob(2048, seed=10)
    with temp_bucket(ctx, "copy") as bucket:
        s3.put_object(Bucket=bucket, Key="src", Body=data, ContentType="text/x-src", Metadata={"origin": "src"})
        src = {"Bucket": bucket, "Key": "src"}
        resp = s3.copy_object(Bucket=bucket, Key="dst-copy", CopySource=src)
        check(unquote_etag(resp["CopyObjectResult"]["ETag"]) == md5_hex(data),
              f"CopyObjectResult ETag {resp['CopyObjectResult']['ETag']} is not the content MD5")
        check(resp["CopyObjectResult"].get("LastModified") is not None, "CopyObjectResult has no LastModified")
        head = s3.head_object(Bucket=bucket, Key="dst-copy")
        check(head["Metadata"] == {"origin": "src"}, f"COPY directive lost metadata: {head['Metadata']}")
        check(head["ContentType"] == "text/x-src", f"COPY directive lost ContentType: {head['ContentType']}")
        s3.copy_object(Bucket=bucket, Key="dst-replace", CopySource=src, MetadataDirective="REPLACE",
                       Metadata={"fresh": "yes"}, ContentType="text/x-new")
        head = s3.head_object(Bucket=bucket, Key="dst-replace")
        check(head["Metadata"] == {"fresh": "yes"}, f"REPLACE directive gave metadata {head['Metadata']}")
        check(head["ContentType"] == "text/x-new", f"REPLACE directive gave ContentType {head['ContentType']}")
        for key in ("dst-copy", "dst-replace"):
            check(get_body(s3, bucket, key) == data, f"{key} does not hold the source's bytes")
        check(get_body(s3, bucket, "src") == data, "the copy changed its source")


@scenario(SUITE)
def s3_copy_across_buckets(ctx: Ctx) -> None:
    """CopyObject from one bucket to another copies the bytes; a key with spaces/unicode works as source."""
    s3 = ctx.client("s3")
    data = blob(1000, seed=11)
    with temp_bucket(ctx, "csrc") as b1, temp_bucket(ctx, "cdst") as b2:
        key = "dir/naïve key+1.txt"
        s3.put_object(Bucket=b1, Key=key, Body=data)
        s3.copy_object(Bucket=b2, Key="copied", CopySource={"Bucket": b1, "Key": key})
        check(get_body(s3, b2, "copied") == data, "cross-bucket copy has other bytes")


@scenario(SUITE)
def s3_copy_to_itself(ctx: Ctx) -> None:
    """Copying an object onto itself unchanged is InvalidRequest 400; with REPLACE it updates metadata."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "self") as bucket:
        s3.put_object(Bucket=bucket, Key="me", Body=b"same bytes", Metadata={"v": "1"})
        src = {"Bucket": bucket, "Key": "me"}
        expect_error("InvalidRequest", 400, lambda: s3.copy_object(Bucket=bucket, Key="me", CopySource=src))
        expect_success(lambda: s3.copy_object(Bucket=bucket, Key="me", CopySource=src, MetadataDirective="REPLACE",
                                              Metadata={"v": "2"}, ContentType="text/plain"),
                       "copy to itself with MetadataDirective=REPLACE")
        head = s3.head_object(Bucket=bucket, Key="me")
        check(head["Metadata"] == {"v": "2"}, f"metadata after copy-to-self is {head['Metadata']}")
        check(head["ContentType"] == "text/plain", f"ContentType after copy-to-self is {head['ContentType']}")
        check(get_body(s3, bucket, "me") == b"same bytes", "copy-to-self changed the content")


@scenario(SUITE)
def s3_copy_missing_source(ctx: Ctx) -> None:
    """A copy source that does not exist is NoSuchKey 404 (missing bucket: NoSuchBucket 404)."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "cmiss") as bucket:
        expect_error("NoSuchKey", 404, lambda: s3.copy_object(Bucket=bucket, Key="dst",
                                                              CopySource={"Bucket": bucket, "Key": "absent"}))
        expect_error("NoSuchBucket", 404, lambda: s3.copy_object(
            Bucket=bucket, Key="dst", CopySource={"Bucket": bucket + "-absent", "Key": "absent"}))
        check(object_absent(s3, bucket, "dst"), "a failed copy created the destination")


@scenario(SUITE)
def s3_copy_source_conditions(ctx: Ctx) -> None:
    """x-amz-copy-source-if-match / -if-none-match: a false condition is PreconditionFailed 412."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "ccond") as bucket:
        etag = s3.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
        src = {"Bucket": bucket, "Key": "src"}
        expect_error("PreconditionFailed", 412, lambda: s3.copy_object(
            Bucket=bucket, Key="dst", CopySource=src, CopySourceIfMatch='"' + "0" * 32 + '"'))
        expect_error("PreconditionFailed", 412, lambda: s3.copy_object(
            Bucket=bucket, Key="dst", CopySource=src, CopySourceIfNoneMatch=etag))
        check(object_absent(s3, bucket, "dst"), "a copy refused by its condition created the destination")
        expect_success(lambda: s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, CopySourceIfMatch=etag),
                       "copy with a true x-amz-copy-source-if-match")
        check(get_body(s3, bucket, "dst") == b"source", "conditional copy has other bytes")


@scenario(SUITE)
def s3_delete_objects_verbose(ctx: Ctx) -> None:
    """DeleteObjects lists every key as Deleted (a missing key too) and removes the objects."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mdel") as bucket:
        for key in ("a", "b/c", "d e"):
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "a"}, {"Key": "b/c"}, {"Key": "d e"}, {"Key": "never-existed"}]})
        deleted = sorted(d["Key"] for d in resp.get("Deleted", []))
        check(deleted == ["a", "b/c", "d e", "never-existed"], f"Deleted lists {deleted}")
        check(not resp.get("Errors"), f"Errors: {resp.get('Errors')}")
        remaining = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        check(not remaining, f"objects left after DeleteObjects: {[o['Key'] for o in remaining]}")


@scenario(SUITE)
def s3_delete_objects_quiet(ctx: Ctx) -> None:
    """DeleteObjects with Quiet=true reports no Deleted entries but still deletes."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "qdel") as bucket:
        for key in ("x", "y"):
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x"}, {"Key": "y"}], "Quiet": True})
        check(not resp.get("Deleted"), f"quiet mode listed Deleted: {resp.get('Deleted')}")
        check(not resp.get("Errors"), f"Errors: {resp.get('Errors')}")
        check(not s3.list_objects_v2(Bucket=bucket).get("Contents"), "quiet DeleteObjects left objects")


@scenario(SUITE)
def s3_delete_objects_malformed(ctx: Ctx) -> None:
    """A DeleteObjects body that is not the Delete document is MalformedXML 400."""
    with temp_bucket(ctx, "badxml") as bucket:
        body = b"<Delete><Object><Key>a</Key></Object"  # truncated
        headers = {"Content-MD5": md5_b64(body),
                   "Content-Type": "application/xml"}
        expect_error("MalformedXML", 400, ctx.s3("POST", f"/{bucket}", query="delete", headers=headers, body=body))
