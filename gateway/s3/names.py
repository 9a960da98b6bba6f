"""S3 naming rules: bucket names (general purpose buckets), object keys, and region names.

CreateBucket applies AWS's current rules for new buckets; every other operation only refuses names that
no S3 bucket could ever have had (legacy us-east-1 rules allowed upper case and `_`), so that Swift
containers which are not buckets — `<bucket>+segments` holds multipart parts — are never reachable.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from ..protocol import errors

MAX_KEY_BYTES = 1024

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_LEGACY_CHARS = re.compile(r"[A-Za-z0-9._-]{1,255}")
# Reserved by AWS for its own features (access point aliases, Object Lambda, S3 Express, tables...).
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why `name` cannot be a new general purpose bucket, or None when it can."""
    if not 3 <= len(name) <= 63:
        return "Bucket name must be between 3 and 63 characters long"
    if not _BUCKET_CHARS.fullmatch(name):
        return ("Bucket name can contain only lowercase letters, numbers, dots and hyphens, and must begin "
                "and end with a letter or number")
    if ".." in name or ".-" in name or "-." in name:
        return "Bucket name must not contain two adjacent periods or a period next to a hyphen"
    try:
        ipaddress.IPv4Address(name)
        return "Bucket name must not be formatted as an IP address"
    except ValueError:
        pass
    if name.startswith(_RESERVED_PREFIXES):
        return "Bucket name must not start with a reserved prefix"
    if name.endswith(_RESERVED_SUFFIXES):
        return "Bucket name must not end with a reserved suffix"
    return None


def check_new_bucket_name(name: str) -> None:
    """InvalidBucketName unless `name` is valid for CreateBucket."""
    problem = bucket_name_problem(name)
    if problem is not None:
        raise errors.InvalidBucketName(BucketName=name)


def is_reachable_bucket(name: str) -> bool:
    """Could an S3 bucket ever have been called this (current or legacy rules)?"""
    return _LEGACY_CHARS.fullmatch(name) is not None


def check_bucket_name(name: str) -> None:
    """For operations on an existing bucket: InvalidBucketName for names no bucket can have."""
    if not is_reachable_bucket(name):
        raise errors.InvalidBucketName(BucketName=name)


def check_key(key: str) -> None:
    """KeyTooLongError beyond 1024 UTF-8 bytes (the same limit as Swift's default object name)."""
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise errors.KeyTooLongError(Size=len(key.encode("utf-8", "surrogatepass")), MaxSizeAllowed=MAX_KEY_BYTES)


@functools.cache
def known_regions() -> frozenset[str]:
    """Every AWS region name botocore knows for S3 (all partitions), plus the legacy `EU` alias."""
    import botocore.session

    session = botocore.session.get_session()
    names: set[str] = {"EU"}
    for partition in session.get_available_partitions():
        names.update(session.get_available_regions("s3", partition_name=partition))
    return frozenset(names)


# Version ids this gateway hands out are short printable tokens (Swift: a timestamp such as
# "1700000000.12345"); anything else cannot name a version and is refused before reaching the backend.
_VERSION_ID = re.compile(r"[A-Za-z0-9._~+=-]{1,128}\Z")


def version_id_param(value: str | None) -> str | None:
    """A request's versionId: None when absent, "null" for the null version, else the id.
    InvalidArgument (400) for a value that cannot be a version id, as S3 answers."""
    if value is None:
        return None
    if not _VERSION_ID.match(value):
        raise errors.InvalidArgument("Invalid version id specified", ArgumentName="versionId", ArgumentValue=value)
    return value
