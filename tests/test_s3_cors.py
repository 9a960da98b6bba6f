"""CORS: configuration validation and matching (unit), PutBucketCors & co. through boto3, and enforcement
over raw HTTP on a real Swift: OPTIONS preflights and Access-Control-* headers of actual requests."""

from __future__ import annotations

import pytest

from gateway.protocol import errors
from gateway.s3.cors import find_rule, validate_rules, wildcard_match

from .s3cfg_support import assert_error, error_code, error_field, raw


# ---- unit ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern, value, ok", [
    ("*", "http://anything", True), ("http://*.example.com", "http://a.example.com", True),
    ("http://*.example.com", "https://a.example.com", False), ("http://*.example.com", "http://example.com", False),
    ("*suffix", "suffix", True), ("start*end", "start12end", True), ("start*end", "0start12end", False),
    ("prefix*", "bla.prefix", False), ("http://a.com", "http://a.com/", False),
])
def test_origin_wildcards(pattern: str, value: str, ok: bool) -> None:
    assert wildcard_match(pattern, value) is ok


def test_first_matching_rule_wins_and_headers_must_all_be_allowed() -> None:
    rules = validate_rules({"CORSRules": [
        {"AllowedOrigins": ["http://a.com"], "AllowedMethods": ["GET"], "ID": "one"},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["x-amz-*", "Content-Type"],
         "ID": "two"}]})
    assert find_rule(rules, "http://a.com", "GET")[0]["ID"] == "one"
    assert find_rule(rules, "http://a.com", "PUT")[0]["ID"] == "two"
    assert find_rule(rules, "http://b.com", "PUT", ["x-amz-date", "content-type"])[0]["ID"] == "two"
    assert find_rule(rules, "http://b.com", "PUT", ["authorization"]) is None
    assert find_rule(rules, "http://a.com", "DELETE") is None


@pytest.mark.parametrize("rule, error", [
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}, errors.InvalidRequest),
    ({"AllowedOrigins": ["*.*.com"], "AllowedMethods": ["GET"]}, errors.InvalidRequest),
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]}, errors.InvalidRequest),
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["*"]}, errors.InvalidRequest),
    ({"AllowedMethods": ["GET"]}, errors.MalformedXML),
    ({"AllowedOrigins": ["*"]}, errors.MalformedXML),
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ID": "x" * 256}, errors.InvalidArgument),
])
def test_invalid_rules(rule: dict, error: type) -> None:
    with pytest.raises(error):
        validate_rules({"CORSRules": [rule]})


def test_rule_count_limits() -> None:
    rule = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    assert len(validate_rules({"CORSRules": [rule] * 100})) == 100
    with pytest.raises(errors.MalformedXML):
        validate_rules({"CORSRules": [rule] * 101})
    with pytest.raises(errors.MalformedXML):
        validate_rules({"CORSRules": []})


# ---- through boto3 and raw HTTP on Swift ----------------------------------------------------------------
RULES = [{"ID": "app", "AllowedOrigins": ["http://*.example.com"], "AllowedMethods": ["GET", "PUT"],
          "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag", "x-amz-request-id"],
          "MaxAgeSeconds": 600},
         {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]


def test_cors_configuration_put_get_delete(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    assert_error(lambda: s3.get_bucket_cors(Bucket=name), "NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"] == RULES
    assert s3.delete_bucket_cors(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert_error(lambda: s3.get_bucket_cors(Bucket=name), "NoSuchCORSConfiguration", 404)
    assert s3.delete_bucket_cors(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204  # none: still 204


def test_cors_configuration_errors(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    put = s3.put_bucket_cors
    assert_error(lambda: put(Bucket=name, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["OPTIONS"]}]}), "InvalidRequest", 400)
    assert_error(lambda: put(Bucket=name, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["http://*.*.com"], "AllowedMethods": ["GET"]}]}), "InvalidRequest", 400)
    assert_error(lambda: put(Bucket=name, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101}), "MalformedXML", 400)
    assert_error(lambda: put(Bucket=name + "-missing", CORSConfiguration={"CORSRules": RULES}), "NoSuchBucket", 404)
    assert_error(lambda: s3_gateway.client_b().get_bucket_cors(Bucket=name), "AccessDenied", 403)


def test_preflight(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    url = f"{s3_gateway.endpoint}/{name}/dir/file.txt"
    # No configuration: 403 AccessForbidden, with the method asked for and the resource type.
    status, _, body = raw("OPTIONS", url, {"Origin": "http://app.example.com",
                                           "Access-Control-Request-Method": "PUT"})
    assert (status, error_code(body), error_field(body, "Method"), error_field(body, "ResourceType")) == \
        (403, "AccessForbidden", "PUT", "BUCKET")
    assert b"CORS is not enabled for this bucket" in body

    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    status, headers, body = raw("OPTIONS", url, {"Origin": "http://app.example.com",
                                                 "Access-Control-Request-Method": "PUT",
                                                 "Access-Control-Request-Headers": "Content-Type,X-Amz-Date"})
    assert status == 200 and body == b""
    assert headers["access-control-allow-origin"] == "http://app.example.com"
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == "content-type, x-amz-date"
    assert headers["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert headers["access-control-max-age"] == "600"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["vary"] == "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

    # The second rule: any origin may GET, answered with `*` and no credentials.
    status, headers, _ = raw("OPTIONS", url, {"Origin": "http://elsewhere.org",
                                              "Access-Control-Request-Method": "GET"})
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in headers

    # No rule matches: a method, a header or an origin not allowed.
    for hdrs in ({"Origin": "http://elsewhere.org", "Access-Control-Request-Method": "PUT"},
                 {"Origin": "http://app.example.com", "Access-Control-Request-Method": "DELETE"},
                 {"Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
                  "Access-Control-Request-Headers": "authorization"}):
        status, headers, body = raw("OPTIONS", url, hdrs)
        assert (status, error_code(body), error_field(body, "ResourceType")) == (403, "AccessForbidden", "OBJECT")
        assert b"This CORS request is not allowed" in body
        assert "access-control-allow-origin" not in headers

    status, _, body = raw("OPTIONS", url)
    assert (status, error_code(body)) == (400, "BadRequest")
    assert b"Origin request header needed" in body
    status, _, body = raw("OPTIONS", url, {"Origin": "http://app.example.com"})
    assert (status, error_code(body)) == (400, "BadRequest")
    status, _, body = raw("OPTIONS", url, {"Origin": "http://app.example.com",
                                           "Access-Control-Request-Method": "PATCH"})
    assert (status, error_code(body)) == (400, "BadRequest")
    status, _, body = raw("OPTIONS", f"{s3_gateway.endpoint}/{name}-missing/k",
                          {"Origin": "http://a.example.com", "Access-Control-Request-Method": "GET"})
    assert (status, error_code(body)) == (403, "AccessForbidden")


def test_actual_requests_carry_cors_headers_on_success_and_error(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="public.txt", Body=b"hi", ACL="public-read")
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    url = f"{s3_gateway.endpoint}/{name}/public.txt"

    status, headers, body = raw("GET", url, {"Origin": "http://app.example.com"})
    assert (status, body) == (200, b"hi")
    assert headers["access-control-allow-origin"] == "http://app.example.com"
    assert headers["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert headers["vary"].startswith("Origin")

    status, headers, body = raw("GET", f"{s3_gateway.endpoint}/{name}/private-missing.txt",
                                {"Origin": "http://app.example.com"})
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert headers["access-control-allow-origin"] == "http://app.example.com"

    # A method no rule allows, or no Origin: served, without CORS headers (S3 never refuses for CORS).
    status, headers, _ = raw("HEAD", url, {"Origin": "http://app.example.com"})
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, _ = raw("GET", url)
    assert status == 200 and "access-control-allow-origin" not in headers and "vary" not in headers
