"""What a write request (PutObject, CopyObject) says about the object it makes, and what the gateway refuses.

Refused loudly, never ignored: server-side encryption of any kind (NotImplemented: the gateway cannot
promise encryption at rest it does not do — not even AES256), storage classes other than STANDARD
(InvalidStorageClass), Object Lock headers (InvalidRequest, as AWS answers for a bucket without Object
Lock), append writes (NotImplemented).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..protocol import errors
from ..protocol.scalars import format_timestamp
from . import meta_words
from .checksums import MAX_OBJECT_SIZE

MAX_METADATA_BYTES = 2048
DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 stores when a PUT names none
PRIVATE_REDIRECT = "website-redirect"

_SSE_MEMBERS = {
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSECustomerAlgorithm": "x-amz-server-side-encryption-customer-algorithm",
    "SSECustomerKey": "x-amz-server-side-encryption-customer-key",
    "SSECustomerKeyMD5": "x-amz-server-side-encryption-customer-key-MD5",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "SSEKMSEncryptionContext": "x-amz-server-side-encryption-context",
    "BucketKeyEnabled": "x-amz-server-side-encryption-bucket-key-enabled",
    "CopySourceSSECustomerAlgorithm": "x-amz-copy-source-server-side-encryption-customer-algorithm",
    "CopySourceSSECustomerKey": "x-amz-copy-source-server-side-encryption-customer-key",
    "CopySourceSSECustomerKeyMD5": "x-amz-copy-source-server-side-encryption-customer-key-MD5",
}
_LOCK_MEMBERS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus",
                 "ObjectLockEventHold", "ObjectLockEventHoldDurationDays", "ObjectLockEventHoldDurationYears")
_CONTENT_HEADERS = {"CacheControl": "cache-control", "ContentDisposition": "content-disposition",
                    "ContentEncoding": "content-encoding", "ContentLanguage": "content-language"}


def refuse_sse(params: Mapping[str, Any]) -> None:
    for member, header in _SSE_MEMBERS.items():
        if params.get(member) is not None:
            raise errors.S3NotImplemented("Server-side encryption is not supported by this gateway.",
                                          Header=header)


def refuse_unsupported_write(params: Mapping[str, Any], *, lock: bool = False, sse: bool = False) -> None:
    """Everything a PutObject/CopyObject may ask that this gateway does not do. `lock`: the caller
    handles the Object Lock headers (object_lock.for_new_version); `sse`: the caller handles encryption
    (sse.for_write); otherwise they are refused."""
    if not sse:
        refuse_sse(params)
    storage_class = params.get("StorageClass")
    if storage_class is not None and storage_class != "STANDARD":
        raise errors.InvalidStorageClass(StorageClassRequested=storage_class)
    if not lock and any(params.get(m) is not None for m in _LOCK_MEMBERS):
        raise errors.InvalidRequest("Bucket is missing Object Lock Configuration")
    if params.get("WriteOffsetBytes") is not None:
        raise errors.S3NotImplemented("Appending to objects is not supported.", Header="x-amz-write-offset-bytes")


def user_metadata(params: Mapping[str, Any]) -> dict[str, str]:
    """x-amz-meta-* with lower-case names; MetadataTooLarge beyond S3's 2 KB (names + values, UTF-8)."""
    metadata = {k.lower(): meta_words.decode(v) for k, v in (params.get("Metadata") or {}).items()}
    size = sum(len(k.encode("utf-8", "surrogateescape")) + len(v.encode("utf-8", "surrogateescape"))
               for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise errors.MetadataTooLarge(MaxSizeAllowed=MAX_METADATA_BYTES)
    return metadata


def content_headers(params: Mapping[str, Any]) -> dict[str, str]:
    """The standard headers stored with an object (lower-case names). aws-chunked is transport, not
    content: S3 strips it from Content-Encoding."""
    out = {}
    for member, name in _CONTENT_HEADERS.items():
        value = params.get(member)
        if value is None:
            continue
        if member == "ContentEncoding" and "aws-chunked" in value.lower():
            # Byte for byte as sent, unless it names aws-chunked (transport): then the other codings.
            value = ",".join(p.strip() for p in value.split(",") if p.strip().lower() != "aws-chunked")
            if not value:
                continue
        out[name] = value
    expires = params.get("Expires")
    if expires is not None:
        out["expires"] = format_timestamp(expires, "rfc822") if isinstance(expires, dt.datetime) else str(expires)
    return out


def redirect_private(params: Mapping[str, Any]) -> dict[str, str]:
    location = params.get("WebsiteRedirectLocation")
    return {PRIVATE_REDIRECT: location} if location else {}


def declared_size(request: web.Request) -> int | None:
    """The object's size as the request declares it: the decoded length of an aws-chunked body, else
    Content-Length; None for an HTTP-chunked body. MissingContentLength (411) when there is neither;
    EntityTooLarge beyond 5 GiB (before a byte is read)."""
    headers = request.headers
    decoded = headers.get("x-amz-decoded-content-length")
    sha = headers.get("x-amz-content-sha256", "")
    if decoded is not None and (sha.startswith("STREAMING-") or "aws-chunked" in
                                headers.get("Content-Encoding", "").lower()):
        if not decoded.strip().isdigit():
            raise errors.InvalidArgument("x-amz-decoded-content-length must be a non-negative integer.",
                                         ArgumentName="x-amz-decoded-content-length", ArgumentValue=decoded)
        size: int | None = int(decoded)
    elif "chunked" in headers.get("Transfer-Encoding", "").lower():
        size = None
    elif request.content_length is None:
        raise errors.MissingContentLength()
    else:
        size = request.content_length
    if size is not None and size > MAX_OBJECT_SIZE:
        raise errors.EntityTooLarge(ProposedSize=size, MaxSizeAllowed=MAX_OBJECT_SIZE)
    return size
