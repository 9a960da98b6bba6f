"""Suite "s3", browser-based uploads (POST Object): forms from boto3's `generate_presigned_post` and hand-built
ones, success statuses and redirects, and the policy, signature and form errors with their exact codes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.awsrequest import AWSRequest
from harness import Ctx, Response, check, expect_error
from harness import http as raw_http

from . import scenario
from .s3_common import SUITE, blob, get_body, md5_hex, object_absent, presigner, temp_bucket, xml_root

Field = tuple[str, str]


def _form(fields: list[Field], data: bytes | None, filename: str = "upload.bin") -> tuple[bytes, str]:
    boundary = "----compat" + secrets.token_hex(8)
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if data is not None:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                   "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def _post(ctx: Ctx, bucket: str, fields: list[Field], data: bytes | None, *, filename: str = "upload.bin",
          content_type: str | None = None) -> Response:
    body, ctype = _form(fields, data, filename)
    url = ctx.target.s3_endpoint.rstrip("/") + f"/{bucket}"
    headers = {"Content-Type": content_type or ctype}
    return raw_http.send(AWSRequest("POST", url, headers=headers, data=body), ctx.target.timeout)


def _signed_v4(ctx: Ctx, conditions: list[Any], *, expires_in: int = 600, secret_key: str | None = None,
               raw_policy: bytes | None = None) -> list[Field]:
    """The x-amz-* and policy fields of a SigV4 form whose policy holds `conditions` (or is `raw_policy`)."""
    t = ctx.target
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{t.access_key}/{stamp[:8]}/{t.region}/s3/aws4_request"
    amz = [("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential), ("x-amz-date", stamp)]
    expiration = (now + dt.timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {"expiration": expiration, "conditions": [*conditions, *({k: v} for k, v in amz)]}
    policy = base64.b64encode(raw_policy if raw_policy is not None else json.dumps(doc).encode()).decode()
    key = f"AWS4{secret_key or t.secret_key}".encode()
    for part in (stamp[:8], t.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
    return [*amz, ("policy", policy), ("x-amz-signature", signature)]


@scenario(SUITE)
def s3_post_presigned_upload(ctx: Ctx) -> None:
    """A `generate_presigned_post` form uploads the file with its Content-Type and metadata; status 201 answers
    the PostResponse document (Bucket, Key, ETag)."""
    s3 = presigner(ctx)
    data = blob(2048, seed=90)
    with temp_bucket(ctx, "post") as bucket:
        fields = {"Content-Type": "text/plain", "x-amz-meta-origin": "form", "success_action_status": "201"}
        conditions = [{"Content-Type": "text/plain"}, ["starts-with", "$x-amz-meta-origin", ""],
                      {"success_action_status": "201"}, ["content-length-range", 1, 4096]]
        presigned = s3.generate_presigned_post(bucket, "posted/one.txt", Fields=fields, Conditions=conditions,
                                               ExpiresIn=300)
        resp = _post(ctx, bucket, list(presigned["fields"].items()), data)
        check(resp.status == 201, f"POST answered {resp.status}: {resp.body[:200]!r}")
        root = xml_root(resp)
        got = {child.tag: child.text for child in root}
        check(root.tag == "PostResponse", f"201 body is {root.tag}, not PostResponse")
        check(got.get("Bucket") == bucket and got.get("Key") == "posted/one.txt", f"PostResponse says {got}")
        check((got.get("ETag") or "").strip('"') == md5_hex(data), f"PostResponse ETag {got.get('ETag')}")
        head = s3.head_object(Bucket=bucket, Key="posted/one.txt")
        check(head["ContentType"] == "text/plain", f"Content-Type stored as {head['ContentType']}")
        check(head["Metadata"] == {"origin": "form"}, f"metadata stored as {head['Metadata']}")
        check(get_body(s3, bucket, "posted/one.txt") == data, "the stored object differs from the file")


@scenario(SUITE)
def s3_post_filename_default_status_and_redirect(ctx: Ctx) -> None:
    """`${filename}` in the key takes the file's name; no status field answers 204; success_action_redirect
    answers 303 to the URL with bucket, key and etag appended."""
    s3 = presigner(ctx)
    with temp_bucket(ctx, "postredir") as bucket:
        plain = s3.generate_presigned_post(bucket, "in/${filename}", ExpiresIn=300)
        resp = _post(ctx, bucket, list(plain["fields"].items()), b"named", filename="photo.jpg")
        check(resp.status == 204 and resp.body == b"", f"default POST answered {resp.status}: {resp.body[:200]!r}")
        check(get_body(s3, bucket, "in/photo.jpg") == b"named", "${filename} was not substituted")
        target = "https://example.com/uploaded"
        redirect = s3.generate_presigned_post(bucket, "in/r.txt", Fields={"success_action_redirect": target},
                                              Conditions=[{"success_action_redirect": target}], ExpiresIn=300)
        resp = _post(ctx, bucket, list(redirect["fields"].items()), b"r")
        check(resp.status == 303, f"redirect POST answered {resp.status}: {resp.body[:200]!r}")
        location = resp.header("Location") or ""
        query = parse_qs(urlsplit(location).query)
        check(location.startswith(target + "?"), f"Location is {location!r}")
        check(query.get("bucket") == [bucket] and query.get("key") == ["in/r.txt"], f"Location query {query}")
        check(query.get("etag") == [f'"{md5_hex(b"r")}"'], f"Location etag {query.get('etag')}")


@scenario(SUITE)
def s3_post_policy_refusals(ctx: Ctx) -> None:
    """What the policy does not allow is AccessDenied 403 (expired, a failed condition, an extra field); a
    file over content-length-range is EntityTooLarge 400. Nothing is stored."""
    with temp_bucket(ctx, "postpol") as bucket:
        s3 = ctx.client("s3")
        base = [{"bucket": bucket}, ["starts-with", "$key", "ok/"]]
        cases = [
            ("expired", [("key", "ok/a"), *_signed_v4(ctx, base, expires_in=-60)], b"a"),
            ("condition", [("key", "other/a"), *_signed_v4(ctx, base)], b"a"),
            ("extra field", [("key", "ok/b"), ("x-amz-meta-extra", "1"), *_signed_v4(ctx, base)], b"b"),
        ]
        for what, fields, data in cases:
            info = expect_error("AccessDenied", 403, _post(ctx, bucket, fields, data))
            check("Invalid according to Policy" in (info.message or ""), f"{what}: message {info.message!r}")
        sized = _signed_v4(ctx, [*base, ["content-length-range", 0, 10]])
        expect_error("EntityTooLarge", 400, _post(ctx, bucket, [("key", "ok/big"), *sized], b"x" * 11))
        for key in ("ok/a", "other/a", "ok/b", "ok/big"):
            check(object_absent(s3, bucket, key), f"a refused POST stored {key}")


@scenario(SUITE)
def s3_post_signature_and_form_errors(ctx: Ctx) -> None:
    """A wrong signature is SignatureDoesNotMatch 403; a policy that is not base64 JSON InvalidPolicyDocument
    400; a form without the key field InvalidArgument 400; a POST that is no multipart form PreconditionFailed
    412."""
    with temp_bucket(ctx, "posterr") as bucket:
        conditions = [{"bucket": bucket}, ["starts-with", "$key", ""]]
        wrong = _signed_v4(ctx, conditions, secret_key=ctx.wrong_secret)
        expect_error("SignatureDoesNotMatch", 403, _post(ctx, bucket, [("key", "k"), *wrong], b"x"))
        fields = _signed_v4(ctx, conditions, raw_policy=b"{not json")
        expect_error("InvalidPolicyDocument", 400, _post(ctx, bucket, [("key", "k"), *fields], b"x"))
        expect_error("InvalidArgument", 400, _post(ctx, bucket, _signed_v4(ctx, conditions), b"x"))
        expect_error("PreconditionFailed", 412, _post(ctx, bucket, [("key", "k")], b"x",
                                                      content_type="application/octet-stream"))
        check(object_absent(ctx.client("s3"), bucket, "k"), "a refused POST stored its object")
