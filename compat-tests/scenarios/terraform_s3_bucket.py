"""Suite `terraform`: `aws_s3_bucket` create / read / delete.

Followed sources in hashicorp/terraform-provider-aws (read, not copied):
- `internal/service/s3/bucket.go`
  - resourceBucketCreate: CreateBucket (CreateBucketConfiguration.LocationConstraint outside us-east-1;
    retried on OperationAborted), then RetryWhenNotFound(findBucket), i.e. HeadBucket until it stops
    answering 404 NotFound; then resourceBucketUpdate, which puts the tags (PutBucketTagging).
  - resourceBucketRead: findBucket (HeadBucket), then one Get per sub-resource, each accepting success or
    the listed codes (NotImplemented / XNotImplemented are accepted everywhere for third-party S3; this
    suite does not accept them: cloudgate answers what AWS answers, never 501):
      GetBucketPolicy            NoSuchBucketPolicy
      GetBucketAcl               (success only)
      GetBucketCors              NoSuchCORSConfiguration
      GetBucketWebsite           NoSuchWebsiteConfiguration (also MethodNotAllowed)
      GetBucketVersioning        (success only)
      GetBucketAccelerateConfiguration  (success; also MethodNotAllowed, UnsupportedArgument)
      GetBucketRequestPayment    (success only)
      GetBucketLogging           (success only)
      GetBucketLifecycleConfiguration   NoSuchLifecycleConfiguration
      GetBucketReplication       ReplicationConfigurationNotFoundError
      GetBucketEncryption        AWS gives every bucket SSE-S3 (AES256) since January 2023, so the answer
                                 is that document. Current releases also accept
                                 ServerSideEncryptionConfigurationNotFoundError (tfresource.NotFound), but
                                 the v5 releases whose switch lists only ReplicationConfigurationNotFoundError
                                 there abort the read on it, so this suite wants the document
      GetObjectLockConfiguration ObjectLockConfigurationNotFoundError (also MethodNotAllowed)
      bucket region              manager.GetBucketRegion: HeadBucket's `x-amz-bucket-region` header
                                 (the v4 provider read GetBucketLocation for website endpoints)
      GetBucketTagging           NoSuchTagSet means no tags (BucketListTags in `tags.go`)
  - resourceBucketDelete: DeleteBucket (NoSuchBucket = already gone; BucketNotEmpty only with
    force_destroy), then waits until findBucket (HeadBucket) is NotFound.
- `internal/service/s3/errors.go`: the error code constants named above.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from harness import Ctx, check

from . import scenario
from .ec2_common import poll
from .terraform_common import SUITE, answer

TAGS = {"Name": "terraform-compat", "env": "test"}


def _head(s3: Any, bucket: str) -> Any:
    return s3.head_bucket(Bucket=bucket)


def _read(ctx: Ctx, s3: Any, bucket: str, tags: dict[str, str] | None) -> None:
    """resourceBucketRead on a bucket with nothing configured, call by call."""
    region = ctx.target.region
    head, _ = answer("HeadBucket", lambda: _head(s3, bucket))
    header = (head.get("ResponseMetadata", {}).get("HTTPHeaders") or {}).get("x-amz-bucket-region")
    check(header == region, f"HeadBucket x-amz-bucket-region is {header!r}, not {region!r} "
                            "(the provider takes the bucket's region from it)")

    def missing(what: str, code: str, fn: Callable[[], Any]) -> None:
        answer(what, fn, expected=(code, 404))

    missing("GetBucketPolicy", "NoSuchBucketPolicy", lambda: s3.get_bucket_policy(Bucket=bucket))
    acl, _ = answer("GetBucketAcl", lambda: s3.get_bucket_acl(Bucket=bucket))
    owner_id = (acl.get("Owner") or {}).get("ID")
    check(owner_id, "GetBucketAcl has no Owner.ID")
    check(any((g.get("Grantee") or {}).get("ID") == owner_id and g.get("Permission") == "FULL_CONTROL"
              for g in acl.get("Grants", [])), f"a new bucket's ACL does not give its owner FULL_CONTROL: {acl.get('Grants')}")
    missing("GetBucketCors", "NoSuchCORSConfiguration", lambda: s3.get_bucket_cors(Bucket=bucket))
    missing("GetBucketWebsite", "NoSuchWebsiteConfiguration", lambda: s3.get_bucket_website(Bucket=bucket))
    ver, _ = answer("GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=bucket))
    check("Status" not in ver, f"a new bucket's versioning Status is {ver.get('Status')!r}; AWS omits it")
    acc, _ = answer("GetBucketAccelerateConfiguration", lambda: s3.get_bucket_accelerate_configuration(Bucket=bucket))
    check("Status" not in acc, f"a new bucket's accelerate Status is {acc.get('Status')!r}; AWS omits it")
    pay, _ = answer("GetBucketRequestPayment", lambda: s3.get_bucket_request_payment(Bucket=bucket))
    check(pay.get("Payer") == "BucketOwner", f"RequestPayment Payer is {pay.get('Payer')!r}, not BucketOwner")
    log, _ = answer("GetBucketLogging", lambda: s3.get_bucket_logging(Bucket=bucket))
    check("LoggingEnabled" not in log, f"a new bucket has LoggingEnabled {log.get('LoggingEnabled')}")
    missing("GetBucketLifecycleConfiguration", "NoSuchLifecycleConfiguration",
            lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket))
    missing("GetBucketReplication", "ReplicationConfigurationNotFoundError",
            lambda: s3.get_bucket_replication(Bucket=bucket))
    # Success only (see the module docstring): a 404 here breaks some v5 provider releases.
    enc, _ = answer("GetBucketEncryption (AWS: the default SSE-S3 document)",
                    lambda: s3.get_bucket_encryption(Bucket=bucket))
    rules = (enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    algos = [(r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for r in rules]
    check(algos and algos[0] in ("AES256", "aws:kms", "aws:kms:dsse"),
          f"GetBucketEncryption rules {rules}: AWS's default is SSEAlgorithm AES256")
    missing("GetObjectLockConfiguration", "ObjectLockConfigurationNotFoundError",
            lambda: s3.get_object_lock_configuration(Bucket=bucket))
    loc, _ = answer("GetBucketLocation", lambda: s3.get_bucket_location(Bucket=bucket))
    want = None if region == "us-east-1" else region
    check(loc.get("LocationConstraint") == want, f"LocationConstraint is {loc.get('LocationConstraint')!r}, not {want!r}")
    if tags is None:
        missing("GetBucketTagging (no tags)", "NoSuchTagSet", lambda: s3.get_bucket_tagging(Bucket=bucket))
    else:
        got, _ = answer("GetBucketTagging", lambda: s3.get_bucket_tagging(Bucket=bucket))
        have = {t["Key"]: t["Value"] for t in got.get("TagSet", [])}
        check(have == tags, f"GetBucketTagging {have}, PutBucketTagging sent {tags}")


@scenario(SUITE, needs=("s3",))
def terraform_s3_bucket_lifecycle(ctx: Ctx) -> None:
    """aws_s3_bucket: CreateBucket, HeadBucket, the 15 reads of a fresh bucket (AWS codes, never 501), tags, delete."""
    s3 = ctx.client("s3")
    bucket = f"cgc-tf-{uuid.uuid4().hex[:12]}"
    extra = {} if ctx.target.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": ctx.target.region}}
    try:
        answer("CreateBucket", lambda: s3.create_bucket(Bucket=bucket, **extra))
        poll("HeadBucket finds the new bucket", lambda: _exists(s3, bucket))
        _read(ctx, s3, bucket, None)
        answer("PutBucketTagging", lambda: s3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in TAGS.items()]}))
        _read(ctx, s3, bucket, TAGS)
        listing, _ = answer("ListBuckets", s3.list_buckets)
        check(bucket in {b["Name"] for b in listing.get("Buckets", [])}, "ListBuckets does not list the bucket")
        acl_owner = (s3.get_bucket_acl(Bucket=bucket).get("Owner") or {}).get("ID")
        check((listing.get("Owner") or {}).get("ID") == acl_owner,
              f"ListBuckets Owner.ID {(listing.get('Owner') or {}).get('ID')!r} differs from the ACL owner {acl_owner!r}")

        answer("DeleteBucket", lambda: s3.delete_bucket(Bucket=bucket))
        poll("HeadBucket no longer finds the bucket", lambda: not _exists(s3, bucket))
        answer("HeadBucket after delete", lambda: _head(s3, bucket), expected=("404", 404))
        answer("DeleteBucket again", lambda: s3.delete_bucket(Bucket=bucket), expected=("NoSuchBucket", 404))
    finally:
        with contextlib.suppress(ClientError, BotoCoreError):
            s3.delete_bucket(Bucket=bucket)


def _exists(s3: Any, bucket: str) -> bool:
    """findBucket: HeadBucket; 404 is "not found", any other error is an error."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise
    return True
