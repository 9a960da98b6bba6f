"""The one table: S3 operation -> the IAM action a policy names for it, and what kind of resource it acts on.

AWS's "Actions, resources, and condition keys for Amazon S3": an operation on a bucket is checked against
`arn:aws:s3:::bucket`, one on an object against `arn:aws:s3:::bucket/key`. Some operations check another
action when they name a version (GetObject?versionId -> s3:GetObjectVersion). Operations that reach no
bucket (ListBuckets, CreateBucket) are absent: no bucket policy applies to them.
"""

from __future__ import annotations

import functools
import re
from typing import Any

BUCKET, OBJECT = "bucket", "object"

# operation -> (action, resource kind, action when a VersionId is given)
ACTIONS: dict[str, tuple[str, str, str | None]] = {
    # objects
    "GetObject": ("s3:GetObject", OBJECT, "s3:GetObjectVersion"),
    "HeadObject": ("s3:GetObject", OBJECT, "s3:GetObjectVersion"),
    "GetObjectAttributes": ("s3:GetObjectAttributes", OBJECT, "s3:GetObjectVersionAttributes"),
    "PutObject": ("s3:PutObject", OBJECT, None),
    "PostObject": ("s3:PutObject", OBJECT, None),  # browser-based form upload
    "CopyObject": ("s3:PutObject", OBJECT, None),
    "CreateMultipartUpload": ("s3:PutObject", OBJECT, None),
    "UploadPart": ("s3:PutObject", OBJECT, None),
    "UploadPartCopy": ("s3:PutObject", OBJECT, None),
    "CompleteMultipartUpload": ("s3:PutObject", OBJECT, None),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", OBJECT, None),
    "ListParts": ("s3:ListMultipartUploadParts", OBJECT, None),
    "DeleteObject": ("s3:DeleteObject", OBJECT, "s3:DeleteObjectVersion"),
    "GetObjectAcl": ("s3:GetObjectAcl", OBJECT, "s3:GetObjectVersionAcl"),
    "PutObjectAcl": ("s3:PutObjectAcl", OBJECT, "s3:PutObjectVersionAcl"),
    "GetObjectTagging": ("s3:GetObjectTagging", OBJECT, "s3:GetObjectVersionTagging"),
    "PutObjectTagging": ("s3:PutObjectTagging", OBJECT, "s3:PutObjectVersionTagging"),
    "DeleteObjectTagging": ("s3:DeleteObjectTagging", OBJECT, "s3:DeleteObjectVersionTagging"),
    "RestoreObject": ("s3:RestoreObject", OBJECT, None),
    "GetObjectRetention": ("s3:GetObjectRetention", OBJECT, None),
    "PutObjectRetention": ("s3:PutObjectRetention", OBJECT, None),
    "GetObjectLegalHold": ("s3:GetObjectLegalHold", OBJECT, None),
    "PutObjectLegalHold": ("s3:PutObjectLegalHold", OBJECT, None),
    # buckets
    "HeadBucket": ("s3:ListBucket", BUCKET, None),
    "ListObjects": ("s3:ListBucket", BUCKET, None),
    "ListObjectsV2": ("s3:ListBucket", BUCKET, None),
    "ListObjectVersions": ("s3:ListBucketVersions", BUCKET, None),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", BUCKET, None),
    "DeleteObjects": ("s3:DeleteObject", BUCKET, None),  # checked per key by AWS; here on the bucket
    "DeleteBucket": ("s3:DeleteBucket", BUCKET, None),
    "GetBucketLocation": ("s3:GetBucketLocation", BUCKET, None),
    "GetBucketAcl": ("s3:GetBucketAcl", BUCKET, None),
    "PutBucketAcl": ("s3:PutBucketAcl", BUCKET, None),
    "GetBucketPolicy": ("s3:GetBucketPolicy", BUCKET, None),
    "PutBucketPolicy": ("s3:PutBucketPolicy", BUCKET, None),
    "DeleteBucketPolicy": ("s3:DeleteBucketPolicy", BUCKET, None),
    "GetBucketPolicyStatus": ("s3:GetBucketPolicyStatus", BUCKET, None),
    "GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock", BUCKET, None),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock", BUCKET, None),
    "DeletePublicAccessBlock": ("s3:PutBucketPublicAccessBlock", BUCKET, None),
    "GetBucketOwnershipControls": ("s3:GetBucketOwnershipControls", BUCKET, None),
    "PutBucketOwnershipControls": ("s3:PutBucketOwnershipControls", BUCKET, None),
    "DeleteBucketOwnershipControls": ("s3:PutBucketOwnershipControls", BUCKET, None),
    "GetBucketTagging": ("s3:GetBucketTagging", BUCKET, None),
    "PutBucketTagging": ("s3:PutBucketTagging", BUCKET, None),
    "DeleteBucketTagging": ("s3:PutBucketTagging", BUCKET, None),
    "GetBucketCors": ("s3:GetBucketCORS", BUCKET, None),
    "PutBucketCors": ("s3:PutBucketCORS", BUCKET, None),
    "DeleteBucketCors": ("s3:PutBucketCORS", BUCKET, None),
    "GetBucketVersioning": ("s3:GetBucketVersioning", BUCKET, None),
    "PutBucketVersioning": ("s3:PutBucketVersioning", BUCKET, None),
    "GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration", BUCKET, None),
    "GetBucketLifecycle": ("s3:GetLifecycleConfiguration", BUCKET, None),
    "PutBucketLifecycleConfiguration": ("s3:PutLifecycleConfiguration", BUCKET, None),
    "PutBucketLifecycle": ("s3:PutLifecycleConfiguration", BUCKET, None),
    "DeleteBucketLifecycle": ("s3:PutLifecycleConfiguration", BUCKET, None),
    "GetBucketWebsite": ("s3:GetBucketWebsite", BUCKET, None),
    "PutBucketWebsite": ("s3:PutBucketWebsite", BUCKET, None),
    "DeleteBucketWebsite": ("s3:DeleteBucketWebsite", BUCKET, None),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration", BUCKET, None),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration", BUCKET, None),
    "DeleteBucketEncryption": ("s3:PutEncryptionConfiguration", BUCKET, None),
    "GetBucketLogging": ("s3:GetBucketLogging", BUCKET, None),
    "PutBucketLogging": ("s3:PutBucketLogging", BUCKET, None),
    "GetBucketNotificationConfiguration": ("s3:GetBucketNotification", BUCKET, None),
    "PutBucketNotificationConfiguration": ("s3:PutBucketNotification", BUCKET, None),
    "GetBucketRequestPayment": ("s3:GetBucketRequestPayment", BUCKET, None),
    "PutBucketRequestPayment": ("s3:PutBucketRequestPayment", BUCKET, None),
    "GetBucketAccelerateConfiguration": ("s3:GetAccelerateConfiguration", BUCKET, None),
    "PutBucketAccelerateConfiguration": ("s3:PutAccelerateConfiguration", BUCKET, None),
    "GetBucketReplication": ("s3:GetReplicationConfiguration", BUCKET, None),
    "PutBucketReplication": ("s3:PutReplicationConfiguration", BUCKET, None),
    "DeleteBucketReplication": ("s3:PutReplicationConfiguration", BUCKET, None),
    "GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration", BUCKET, None),
    "PutObjectLockConfiguration": ("s3:PutBucketObjectLockConfiguration", BUCKET, None),
}

# Valid in a policy though no operation here checks them (AWS accepts them; refusing would break policies).
_OTHER_ACTIONS = {"s3:ListAllMyBuckets": None, "s3:CreateBucket": None, "s3:ListBucketByTags": BUCKET,
                  "s3:BypassGovernanceRetention": OBJECT, "s3:GetObjectVersionForReplication": OBJECT,
                  "s3:ReplicateObject": OBJECT, "s3:ReplicateDelete": OBJECT, "s3:ReplicateTags": OBJECT,
                  "s3:ObjectOwnerOverrideToBucketOwner": OBJECT, "s3:GetObjectVersionTorrent": OBJECT,
                  "s3:GetObjectTorrent": OBJECT, "s3:GetMetricsConfiguration": BUCKET,
                  "s3:PutMetricsConfiguration": BUCKET, "s3:GetAnalyticsConfiguration": BUCKET,
                  "s3:PutAnalyticsConfiguration": BUCKET, "s3:GetInventoryConfiguration": BUCKET,
                  "s3:PutInventoryConfiguration": BUCKET, "s3:GetIntelligentTieringConfiguration": BUCKET,
                  "s3:PutIntelligentTieringConfiguration": BUCKET, "s3:PutBucketOwnershipControls": BUCKET}


@functools.cache
def _known() -> dict[str, str | None]:
    """Every action a policy may name (lower-case) -> the kind of resource it applies to."""
    out: dict[str, str | None] = {k.lower(): v for k, v in _OTHER_ACTIONS.items()}
    for action, kind, versioned in ACTIONS.values():
        out.setdefault(action.lower(), kind)  # the first (single-object) use of an action names its kind
        if versioned:
            out.setdefault(versioned.lower(), kind)
    return out


def kinds_of(pattern: str) -> set[str] | None:
    """The resource kinds of the actions `pattern` names (wildcards allowed); None when it names none
    (AWS: "Policy has invalid action")."""
    if pattern == "*":
        return {BUCKET, OBJECT}
    if not pattern.lower().startswith("s3:"):
        return None
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    rx = re.compile(f"^{body}$")
    matched = {kind for action, kind in _known().items() if rx.match(action)}
    if not matched:
        return None
    return {k for k in matched if k is not None} or {BUCKET}


def action_for(operation: str, params: dict[str, Any]) -> tuple[str, str] | None:
    """(IAM action, resource kind) of one request, or None when no bucket policy applies."""
    entry = ACTIONS.get(operation)
    if entry is None:
        return None
    action, kind, versioned = entry
    if versioned and params.get("VersionId") is not None:
        action = versioned
    return action, kind
