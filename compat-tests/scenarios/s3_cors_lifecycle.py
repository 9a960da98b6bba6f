"""Suite "s3", bucket CORS (configuration, OPTIONS preflight, headers on actual requests) and lifecycle
configuration round trip."""

from __future__ import annotations

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, anonymous, expect_success, temp_bucket

ORIGIN = "https://app.example.com"
CORS = {"CORSRules": [
    {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"],
     "ExposeHeaders": ["ETag", "x-amz-meta-color"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]}


def _preflight(ctx: Ctx, bucket: str, origin: str, method: str, headers: str = "") -> object:
    hdrs = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        hdrs["Access-Control-Request-Headers"] = headers
    return anonymous(ctx, "OPTIONS", f"/{bucket}/some/key", headers=hdrs)


@scenario(SUITE)
def s3_cors_config_roundtrip(ctx: Ctx) -> None:
    """GetBucketCors: NoSuchCORSConfiguration 404, then the rules as put, then 404 after delete."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "cors") as bucket:
        expect_error("NoSuchCORSConfiguration", 404, lambda: s3.get_bucket_cors(Bucket=bucket))
        expect_success(lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS), "PutBucketCors")
        rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        first = rules[0] if rules else {}
        check(len(rules) == 2, f"{len(rules)} rules returned, 2 put")
        check(first.get("AllowedOrigins") == [ORIGIN] and sorted(first.get("AllowedMethods", [])) == ["GET", "PUT"],
              f"first rule {first}")
        check(first.get("AllowedHeaders") == ["*"] and first.get("MaxAgeSeconds") == 600, f"first rule {first}")
        check(first.get("ExposeHeaders") == ["ETag", "x-amz-meta-color"], f"ExposeHeaders {first.get('ExposeHeaders')}")
        resp = s3.delete_bucket_cors(Bucket=bucket)
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteBucketCors did not answer 204")
        expect_error("NoSuchCORSConfiguration", 404, lambda: s3.get_bucket_cors(Bucket=bucket))


@scenario(SUITE)
def s3_cors_invalid_config(ctx: Ctx) -> None:
    """A CORS rule with a method S3 does not know is InvalidRequest 400."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "corsbad") as bucket:
        expect_error("InvalidRequest", 400, lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}))


@scenario(SUITE)
def s3_cors_preflight(ctx: Ctx) -> None:
    """OPTIONS preflight: an allowed origin+method gets the Access-Control-* headers; others AccessForbidden 403."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "corspf") as bucket:
        expect_error("AccessForbidden", 403, _preflight(ctx, bucket, ORIGIN, "GET"))  # no configuration yet
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
        resp = _preflight(ctx, bucket, ORIGIN, "PUT", "content-type, x-amz-meta-color")
        check(resp.status == 200, f"allowed preflight answered {resp.status}: {resp.body[:200]!r}")
        check(resp.header("access-control-allow-origin") == ORIGIN,
              f"Access-Control-Allow-Origin {resp.header('access-control-allow-origin')!r}")
        methods = {m.strip() for m in (resp.header("access-control-allow-methods") or "").split(",")}
        check("PUT" in methods, f"Access-Control-Allow-Methods {resp.header('access-control-allow-methods')!r}")
        allowed_headers = (resp.header("access-control-allow-headers") or "").lower()
        check("content-type" in allowed_headers and "x-amz-meta-color" in allowed_headers,
              f"Access-Control-Allow-Headers {resp.header('access-control-allow-headers')!r}")
        check(resp.header("access-control-max-age") == "600",
              f"Access-Control-Max-Age {resp.header('access-control-max-age')!r}")
        wildcard = _preflight(ctx, bucket, "https://anyone.example.net", "HEAD")
        check(wildcard.status == 200 and wildcard.header("access-control-allow-origin") in ("*", "https://anyone.example.net"),
              f"wildcard-origin preflight: {wildcard.status} {wildcard.header('access-control-allow-origin')!r}")
        expect_error("AccessForbidden", 403, _preflight(ctx, bucket, "https://evil.example.org", "GET"))
        expect_error("AccessForbidden", 403, _preflight(ctx, bucket, ORIGIN, "DELETE"))
        # A preflight without Access-Control-Request-Method is malformed.
        expect_error("BadRequest", 400, anonymous(ctx, "OPTIONS", f"/{bucket}/k", headers={"Origin": ORIGIN}))


@scenario(SUITE)
def s3_cors_actual_request_headers(ctx: Ctx) -> None:
    """A signed GET carrying an allowed Origin gets Access-Control-Allow-Origin and -Expose-Headers."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "corsget") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"color": "red"})
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
        resp = ctx.s3("GET", f"/{bucket}/k", headers={"Origin": ORIGIN})
        check(resp.status == 200, f"GET with Origin answered {resp.status}")
        check(resp.header("access-control-allow-origin") == ORIGIN,
              f"Access-Control-Allow-Origin {resp.header('access-control-allow-origin')!r}")
        exposed = (resp.header("access-control-expose-headers") or "").lower()
        check("etag" in exposed and "x-amz-meta-color" in exposed,
              f"Access-Control-Expose-Headers {resp.header('access-control-expose-headers')!r}")
        other = ctx.s3("GET", f"/{bucket}/k", headers={"Origin": "https://evil.example.org"})
        check(other.status == 200 and other.header("access-control-allow-origin") is None,
              f"a disallowed Origin got Access-Control-Allow-Origin {other.header('access-control-allow-origin')!r}")


@scenario(SUITE)
def s3_lifecycle_roundtrip(ctx: Ctx) -> None:
    """Lifecycle configuration: NoSuchLifecycleConfiguration 404, then the rules as put, then 404 after delete."""
    s3 = ctx.client("s3")
    rules = [{"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
             {"ID": "abort-uploads", "Status": "Disabled", "Filter": {"Prefix": ""},
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]
    with temp_bucket(ctx, "lc") as bucket:
        expect_error("NoSuchLifecycleConfiguration", 404,
                     lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket))
        expect_success(lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}), "PutBucketLifecycleConfiguration")
        got = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        by_id = {r.get("ID"): r for r in got}
        check(set(by_id) == {"expire-logs", "abort-uploads"}, f"rule ids {sorted(by_id)}")
        logs = by_id["expire-logs"]
        check(logs.get("Status") == "Enabled" and logs.get("Expiration", {}).get("Days") == 30,
              f"expire-logs rule {logs}")
        check(logs.get("Filter", {}).get("Prefix") == "logs/", f"expire-logs filter {logs.get('Filter')}")
        abort = by_id["abort-uploads"]
        check(abort.get("Status") == "Disabled"
              and abort.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 7,
              f"abort-uploads rule {abort}")
        resp = s3.delete_bucket_lifecycle(Bucket=bucket)
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteBucketLifecycle did not answer 204")
        expect_error("NoSuchLifecycleConfiguration", 404,
                     lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket))


@scenario(SUITE)
def s3_lifecycle_invalid(ctx: Ctx) -> None:
    """A lifecycle rule with Expiration Days=0 is InvalidArgument 400."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "lcbad") as bucket:
        expect_error("InvalidArgument", 400, lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [
                {"ID": "zero", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}]}))
        expect_error("NoSuchLifecycleConfiguration", 404,
                     lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket))
