"""AWS Signature Version 2: EC2's query form and S3's `AWS key:signature` header and query forms."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from multidict import CIMultiDict, CIMultiDictProxy

from .canonical import uri_encode

Headers = CIMultiDictProxy[str] | CIMultiDict[str]

# The sub-resources S3 includes in the SigV2 canonical resource; must match what clients sign (botocore's
# HmacV1Auth list), or their signatures stop verifying.
S3_SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle",
    "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "restore", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId",
    "uploads", "versionId", "versioning", "versions", "website", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires",
})


def ec2_string_to_sign(method: str, host: str, path: str, params: Iterable[tuple[str, str]]) -> str:
    """`METHOD\\nhost\\npath\\nquery`: every parameter but Signature, sorted by name, RFC 3986-encoded."""
    pairs = sorted((key, value) for key, value in params if key != "Signature")
    query = "&".join(f"{uri_encode(key)}={uri_encode(value)}" for key, value in pairs)
    return f"{method}\n{host.lower()}\n{path or '/'}\n{query}"


def s3_resource(raw_path: str, raw_query: str, *, bucket: str | None, virtual_host: bool) -> str:
    """Path-style resource (the bucket leads even for virtual-hosted requests) plus signed sub-resources."""
    path = raw_path or "/"
    if virtual_host and bucket:
        path = f"/{bucket}{path}"
    subresources = []
    for part in raw_query.split("&"):
        key, sep, value = part.partition("=")
        key = unquote(key)
        if key in S3_SUBRESOURCES:
            subresources.append(f"{key}={unquote(value)}" if sep else key)
    # Sorted by name only (stable), as the clients do.
    subresources.sort(key=lambda item: item.partition("=")[0])
    return f"{path}?{'&'.join(subresources)}" if subresources else path


def s3_string_to_sign(method: str, headers: Headers, resource: str, *, date: str,
                      query_params: Iterable[tuple[str, str]] = ()) -> str:
    """VERB, Content-MD5, Content-Type, Date (or Expires), x-amz-* headers, resource.

    Presigned URLs carry their x-amz-*, Content-Type and Content-MD5 values as query parameters
    (`query_params`), which count as if they were headers.
    """
    standard = {"content-md5": headers.get("content-md5"), "content-type": headers.get("content-type")}
    amz: dict[str, list[str]] = {}
    for name, value in headers.items():
        lname = name.lower()
        if lname.startswith("x-amz-"):
            amz.setdefault(lname, []).append(value.strip())
    for name, value in query_params:
        lname = name.lower()
        if lname.startswith("x-amz-") and lname not in amz:
            amz[lname] = [value.strip()]
        elif lname in standard and standard[lname] is None:
            standard[lname] = value
    lines = [method, (standard["content-md5"] or "").strip(), (standard["content-type"] or "").strip(), date]
    lines += [f"{name}:{','.join(amz[name])}" for name in sorted(amz)]
    lines.append(resource)
    return "\n".join(lines)


def parse_s3_header(authorization: str) -> tuple[str, str] | None:
    """(access key, signature) from `AWS <key>:<signature>`, None when malformed."""
    scheme, _, credentials = authorization.strip().partition(" ")
    access_key, sep, signature = credentials.strip().rpartition(":")
    if scheme != "AWS" or not sep or not access_key or not signature:
        return None
    return access_key, signature
