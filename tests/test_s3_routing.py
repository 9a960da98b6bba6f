"""S3Router: model-derived routing, unknown sub-resources, method errors, key decoding, virtual hosts.

Reachability of every operation as boto3 builds it is in test_roundtrip_s3.py (path and virtual-host
style). Operations that cannot be told apart on the wire, and what the router does with them:
  GetBucketLifecycle / PutBucketLifecycle → the *LifecycleConfiguration successors (same URI, the old
  ones are deprecated); GetBucketNotification / PutBucketNotification → *NotificationConfiguration;
  ListDirectoryBuckets → ListBuckets unless max-directory-buckets is sent (S3 Express's own listing).
  All five are reached when the client sends the x-id hint. PutObject/CopyObject and
  UploadPart/UploadPartCopy differ only by the x-amz-copy-source header, which the router reads.
"""

from __future__ import annotations

import pytest

from gateway.protocol import errors
from gateway.protocol.s3_routing import S3Route, S3Router, parse_query

ROUTER = S3Router(virtual_host_domains=["s3.example.com", "localhost"])


def route(method: str, url: str, host: str | None = "s3.example.com", headers: dict | None = None
          ) -> S3Route:
    path, _, query = url.partition("?")
    return ROUTER.route(method, path, parse_query(query), host, headers or {})


@pytest.mark.parametrize(("method", "url", "headers", "op"), [
    ("GET", "/", {}, "ListBuckets"),
    ("GET", "/?max-directory-buckets=5", {}, "ListDirectoryBuckets"),
    ("GET", "/?x-id=ListDirectoryBuckets", {}, "ListDirectoryBuckets"),
    ("PUT", "/b", {}, "CreateBucket"),
    ("HEAD", "/b", {}, "HeadBucket"),
    ("DELETE", "/b", {}, "DeleteBucket"),
    ("GET", "/b", {}, "ListObjects"),
    ("GET", "/b/", {}, "ListObjects"),
    ("GET", "/b?list-type=2&prefix=a&max-keys=3", {}, "ListObjectsV2"),
    ("GET", "/b?versions", {}, "ListObjectVersions"),
    ("GET", "/b?uploads", {}, "ListMultipartUploads"),
    ("GET", "/b?location", {}, "GetBucketLocation"),
    ("GET", "/b?lifecycle", {}, "GetBucketLifecycleConfiguration"),
    ("GET", "/b?lifecycle&x-id=GetBucketLifecycle", {}, "GetBucketLifecycle"),
    ("GET", "/b?notification", {}, "GetBucketNotificationConfiguration"),
    ("GET", "/b?analytics", {}, "ListBucketAnalyticsConfigurations"),
    ("GET", "/b?analytics&id=x", {}, "GetBucketAnalyticsConfiguration"),
    ("POST", "/b?delete", {}, "DeleteObjects"),
    ("GET", "/b/k", {}, "GetObject"),
    ("HEAD", "/b/k", {}, "HeadObject"),
    ("GET", "/b/k?partNumber=2&versionId=v", {}, "GetObject"),
    ("GET", "/b/k?uploadId=u", {}, "ListParts"),
    ("PUT", "/b/k", {}, "PutObject"),
    ("PUT", "/b/k", {"X-Amz-Copy-Source": "/src/k"}, "CopyObject"),
    ("PUT", "/b/k?partNumber=1&uploadId=u", {}, "UploadPart"),
    ("PUT", "/b/k?partNumber=1&uploadId=u", {"x-amz-copy-source": "/src/k"}, "UploadPartCopy"),
    ("POST", "/b/k?uploads", {}, "CreateMultipartUpload"),
    ("POST", "/b/k?uploadId=u", {}, "CompleteMultipartUpload"),
    ("DELETE", "/b/k", {}, "DeleteObject"),
    ("DELETE", "/b/k?uploadId=u", {}, "AbortMultipartUpload"),
    ("PUT", "/b/k?retention", {}, "PutObjectRetention"),
    ("PUT", "/b/k?tagging", {}, "PutObjectTagging"),
    ("GET", "/b/k?acl", {}, "GetObjectAcl"),
    ("POST", "/b/k?select&select-type=2", {}, "SelectObjectContent"),
    ("POST", "/b/k?restore", {}, "RestoreObject"),
    ("POST", "/WriteGetObjectResponse", {}, "WriteGetObjectResponse"),
    # Presigned and SigV2 query authentication never count as sub-resources.
    ("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=s"
            "&x-amz-date=d&X-Amz-Expires=60&X-Amz-SignedHeaders=host", {}, "GetObject"),
    ("GET", "/b/k?AWSAccessKeyId=a&Signature=s&Expires=1&x-id=GetObject", {}, "GetObject"),
    ("GET", "/b/k?response-content-type=text/plain", {}, "GetObject"),
])
def test_routes_to_the_model_operation(method: str, url: str, headers: dict, op: str) -> None:
    assert route(method, url, headers=headers).operation == op


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST", "HEAD"])
@pytest.mark.parametrize("url", ["/b/k?retentionx", "/b/k?foo=bar", "/b?retentionx", "/b?foo=bar",
                                 "/b/k?acl&foo", "/b?lifecycle&bogus=1", "/?foo"])
def test_unknown_subresource_is_not_implemented(method: str, url: str) -> None:
    with pytest.raises(errors.S3NotImplemented) as e:
        route(method, url)
    assert (e.value.code, e.value.status) == ("NotImplemented", 501)


@pytest.mark.parametrize(("method", "url"), [
    ("PUT", "/b/k?lifecycle"),      # a bucket sub-resource on an object
    ("GET", "/b?uploadId=u"),       # an object parameter on a bucket
    ("GET", "/b?list-type=1"),      # a static value that no operation has
])
def test_subresource_of_another_level_is_not_implemented(method: str, url: str) -> None:
    with pytest.raises(errors.S3NotImplemented):
        route(method, url)


def test_bucket_post_is_a_form_upload() -> None:
    """PostObject (not in the model): multipart/form-data without query parameters, else S3's refusals."""
    r = S3Router(virtual_host_domains=["s3.example.com"])
    form = {"Content-Type": "multipart/form-data; boundary=x"}
    assert r.route("POST", "/b", [], "localhost", form).operation == "PostObject"
    assert r.route("POST", "/", [], "b.s3.example.com", form).bucket == "b"
    with pytest.raises(errors.PreconditionFailed):
        r.route("POST", "/b", [], "localhost", {"Content-Type": "text/plain"})
    with pytest.raises(errors.InvalidArgument):
        r.route("POST", "/b", [("foo", "1")], "localhost", form)
    assert r.route("POST", "/b", [("delete", "")], "localhost", form).operation == "DeleteObjects"


@pytest.mark.parametrize(("method", "url", "resource"), [
    ("POST", "/b/k", "OBJECT"),
    ("DELETE", "/", "SERVICE"),
    ("PUT", "/", "SERVICE"),
    ("POST", "/b?acl", "ACL"),
    ("HEAD", "/b?tagging", "TAGGING"),
    ("DELETE", "/b/k?acl", "ACL"),
])
def test_method_not_allowed(method: str, url: str, resource: str) -> None:
    with pytest.raises(errors.MethodNotAllowed) as e:
        route(method, url)
    assert e.value.status == 405
    assert e.value.extra == {"Method": method, "ResourceType": resource}


@pytest.mark.parametrize(("raw", "key"), [
    ("/b/a%2Fb", "a/b"),
    ("/b/a/b/c", "a/b/c"),
    ("/b/a+b", "a+b"),                 # '+' is literal in a path
    ("/b/a%2Bb", "a+b"),
    ("/b/a%20b", "a b"),
    ("/b/caf%C3%A9/%E2%82%AC", "café/€"),
    ("/b/dir/", "dir/"),               # trailing slash belongs to the key
    ("/b//double//slash", "/double//slash"),
    ("/b/%25", "%"),                   # decoded once only
    ("/b/%2525", "%25"),
])
def test_keys_are_percent_decoded_once(raw: str, key: str) -> None:
    r = route("GET", raw)
    assert (r.operation, r.bucket, r.key, r.virtual_host) == ("GetObject", "b", key, False)


def test_invalid_utf8_in_key_is_invalid_uri() -> None:
    with pytest.raises(errors.InvalidURI):
        route("GET", "/b/%FF%FE")


def test_bucket_with_trailing_slash_is_bucket_level() -> None:
    r = route("GET", "/my-bucket/")
    assert (r.operation, r.bucket, r.key) == ("ListObjects", "my-bucket", None)


@pytest.mark.parametrize(("host", "url", "expected"), [
    ("my.bucket.s3.example.com", "/", ("ListObjects", "my.bucket", None)),
    ("my.bucket.s3.example.com:8443", "/a/b%2Fc", ("GetObject", "my.bucket", "a/b/c")),
    ("Bucket1.S3.Example.com", "/k", ("GetObject", "bucket1", "k")),
    ("b.localhost:9000", "//k", ("GetObject", "b", "/k")),
    ("b.localhost", "/?tagging", ("GetBucketTagging", "b", None)),
])
def test_virtual_hosted_style(host: str, url: str, expected: tuple) -> None:
    r = route("GET", url, host=host)
    assert (r.operation, r.bucket, r.key) == expected
    assert r.virtual_host


@pytest.mark.parametrize("host", ["s3.example.com", "s3.example.com:80", "other.org", "[::1]:8080", None])
def test_other_hosts_are_path_style(host: str | None) -> None:
    r = route("GET", "/b/k", host=host)
    assert (r.operation, r.bucket, r.key, r.virtual_host) == ("GetObject", "b", "k", False)


def test_no_domains_configured_means_path_style_only() -> None:
    r = S3Router().route("GET", "/b/k", [], "b.s3.example.com", {})
    assert (r.bucket, r.key, r.virtual_host) == ("b", "k", False)


def test_labels_for_the_parser() -> None:
    assert route("GET", "/b/k%2F1").labels() == {"Bucket": "b", "Key": "k/1"}
    assert route("GET", "/b").labels() == {"Bucket": "b"}
    assert route("GET", "/").labels() == {}
