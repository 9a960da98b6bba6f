"""Suite "s3", buckets: create / head / list / location / delete and their exact errors."""

from __future__ import annotations

from harness import Ctx, check, expect_error
from harness.expect import outcome_of

from . import scenario
from .s3_common import (
    SUITE,
    bucket_name,
    check_error,
    create_kwargs,
    expect_success,
    get_body,
    purge_bucket,
    temp_bucket,
)


@scenario(SUITE)
def s3_bucket_lifecycle(ctx: Ctx) -> None:
    """CreateBucket, HeadBucket, ListBuckets shows it, DeleteBucket 204, then HeadBucket 404."""
    s3 = ctx.client("s3")
    name = bucket_name("life")
    try:
        resp = expect_success(lambda: s3.create_bucket(Bucket=name, **create_kwargs(ctx)), "CreateBucket")
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, "CreateBucket did not answer 200")
        head = expect_success(lambda: s3.head_bucket(Bucket=name), "HeadBucket")
        check(head["ResponseMetadata"]["HTTPStatusCode"] == 200, "HeadBucket did not answer 200")
        listing = s3.list_buckets()
        names = [b["Name"] for b in listing.get("Buckets", [])]
        check(name in names, f"ListBuckets does not show {name}")
        mine = next(b for b in listing["Buckets"] if b["Name"] == name)
        check(mine.get("CreationDate") is not None, "ListBuckets entry has no CreationDate")
        check(listing.get("Owner", {}).get("ID"), "ListBuckets has no Owner/ID")
        deleted = s3.delete_bucket(Bucket=name)
        check(deleted["ResponseMetadata"]["HTTPStatusCode"] == 204,
              f"DeleteBucket answered {deleted['ResponseMetadata']['HTTPStatusCode']}, not 204")
        # HEAD has no body: botocore reports the status as the code.
        expect_error("404", 404, lambda: s3.head_bucket(Bucket=name))
        expect_error("NoSuchBucket", 404, lambda: s3.list_objects_v2(Bucket=name))
    finally:
        purge_bucket(s3, name)


@scenario(SUITE)
def s3_bucket_location(ctx: Ctx) -> None:
    """GetBucketLocation: empty LocationConstraint in us-east-1, else the region."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "loc") as bucket:
        loc = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        if ctx.target.region == "us-east-1":
            check(loc in (None, ""), f"LocationConstraint is {loc!r} for us-east-1 (AWS: empty)")
        else:
            check(loc == ctx.target.region, f"LocationConstraint is {loc!r}, not {ctx.target.region!r}")


@scenario(SUITE)
def s3_bucket_already_owned_by_you(ctx: Ctx) -> None:
    """Re-creating your own bucket is BucketAlreadyOwnedByYou 409 (us-east-1: 200) and never empties it."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "own") as bucket:
        s3.put_object(Bucket=bucket, Key="keep", Body=b"kept")
        info = outcome_of(lambda: s3.create_bucket(Bucket=bucket, **create_kwargs(ctx)))
        # AWS documents a legacy 200 for us-east-1 only ("resets the bucket ACLs"); every other region, and
        # every S3-compatible server, answers 409. Any other error is wrong everywhere.
        if info is not None or ctx.target.region != "us-east-1":
            check_error("BucketAlreadyOwnedByYou", 409, info)
        check(get_body(s3, bucket, "keep") == b"kept", "re-creating the bucket lost its object")


@scenario(SUITE)
def s3_bucket_not_empty(ctx: Ctx) -> None:
    """DeleteBucket on a bucket holding an object is BucketNotEmpty 409 and deletes nothing."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "full") as bucket:
        s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
        expect_error("BucketNotEmpty", 409, lambda: s3.delete_bucket(Bucket=bucket))
        check(get_body(s3, bucket, "obj") == b"x", "the object is gone after the refused DeleteBucket")


@scenario(SUITE)
def s3_bucket_invalid_names(ctx: Ctx) -> None:
    """Names breaking S3's rules (length, case, characters, IP form, dots) are InvalidBucketName 400."""
    bad = ["ab", "a" * 64, "Upper-Case-Name", "under_score", "-leading-dash", "trailing-dash-",
           "double..dot", "192.168.5.4", "dot.-dash"]
    s3 = ctx.client("s3")
    for name in bad:
        # Raw request: boto3 would refuse some of these before sending.
        resp = ctx.s3("PUT", f"/{name}")
        if resp.status < 300:
            purge_bucket(s3, name)
        expect_error("InvalidBucketName", 400, resp)


@scenario(SUITE)
def s3_bucket_missing(ctx: Ctx) -> None:
    """Operations on a bucket that does not exist are NoSuchBucket 404 (HEAD: bare 404)."""
    s3 = ctx.client("s3")
    name = bucket_name("absent")
    expect_error("NoSuchBucket", 404, lambda: s3.list_objects(Bucket=name))
    expect_error("NoSuchBucket", 404, lambda: s3.delete_bucket(Bucket=name))
    expect_error("NoSuchBucket", 404, lambda: s3.get_bucket_location(Bucket=name))
    expect_error("NoSuchBucket", 404, lambda: s3.put_object(Bucket=name, Key="k", Body=b"x"))
    expect_error("NoSuchBucket", 404, lambda: s3.get_object(Bucket=name, Key="k"))
    expect_error("404", 404, lambda: s3.head_bucket(Bucket=name))


@scenario(SUITE)
def s3_bucket_delete_then_recreate(ctx: Ctx) -> None:
    """A deleted bucket's name can be created again at once and the new bucket is empty."""
    s3 = ctx.client("s3")
    name = bucket_name("again")
    try:
        expect_success(lambda: s3.create_bucket(Bucket=name, **create_kwargs(ctx)), "CreateBucket")
        s3.put_object(Bucket=name, Key="old", Body=b"old")
        s3.delete_object(Bucket=name, Key="old")
        expect_success(lambda: s3.delete_bucket(Bucket=name), "DeleteBucket")
        expect_success(lambda: s3.create_bucket(Bucket=name, **create_kwargs(ctx)), "CreateBucket again")
        listing = s3.list_objects_v2(Bucket=name)
        check(listing.get("KeyCount") == 0 and not listing.get("Contents"),
              f"the re-created bucket is not empty: {listing.get('Contents')}")
    finally:
        purge_bucket(s3, name)
