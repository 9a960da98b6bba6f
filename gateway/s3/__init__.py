"""S3 semantics on the neutral ObjectStore: one module per family, each registering its handlers."""

from . import (  # noqa: F401 - registers the handlers
    acl,
    bucket_features,
    buckets,
    copy,
    cors,
    deletes,
    encryption_config,
    lifecycle,
    listing,
    multipart,
    multipart_copy,
    object_lock,
    objects,
    ownership,
    policy_api,
    public_access,
    tagging,
    torrent,
    unconfigured,
    versioning,
)
