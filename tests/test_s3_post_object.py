"""POST Object (browser-based uploads) on the real devcloud Swift, driven by boto3's `generate_presigned_post`
and by hand-built forms (SigV4 and SigV2): every condition type and every refusal's exact AWS code and status,
with nothing stored on refusal; and a Keystone key on the devcloud OpenStack. Units: test_s3_post_units.py."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import re
import secrets
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from .openstack_env import openstack_env_fixture  # noqa: F401 - fixture
from .s3_post_support import b64, etag_of, expiry, form, post, v2_fields, v4_fields
from .s3cfg_support import error_code, error_field


# ---- devcloud Swift: uploads -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared(request: pytest.FixtureRequest, s3_gateway: Any) -> Iterator[str]:
    """One bucket for the whole module (each test uses its own keys): the error matrix stays fast."""
    from tests.conftest import bucket as factory

    gen = factory.__wrapped__(request, s3_gateway)
    make = next(gen)
    yield make()
    next(gen, None)


def _get(s3_gateway: Any, bucket: str, key: str) -> bytes:
    return s3_gateway.client_a().get_object(Bucket=bucket, Key=key)["Body"].read()


def _absent(s3_gateway: Any, bucket: str, key: str) -> bool:
    listed = s3_gateway.client_a().list_objects_v2(Bucket=bucket, Prefix=key)
    return not any(o["Key"] == key for o in listed.get("Contents", []))


def test_generate_presigned_post_uploads_with_fields_and_conditions(s3_gateway: Any, shared: str) -> None:
    client = s3_gateway.client_a()
    tagging = "<Tagging><TagSet><Tag><Key>k1</Key><Value>v 1</Value></Tag></TagSet></Tagging>"
    fields = {"Content-Type": "text/plain", "x-amz-meta-color": "blue", "tagging": tagging,
              "success_action_status": "201", "Cache-Control": "max-age=60"}
    conditions = [{"Content-Type": "text/plain"}, ["starts-with", "$x-amz-meta-color", ""],
                  {"tagging": tagging}, {"success_action_status": "201"}, {"Cache-Control": "max-age=60"},
                  ["content-length-range", 1, 1024]]
    presigned = client.generate_presigned_post(shared, "gp/${filename}", Fields=fields, Conditions=conditions,
                                               ExpiresIn=600)
    data = secrets.token_bytes(700)
    body, ctype = form(list(presigned["fields"].items()), data, filename=r"C:\Users\me\report.bin")
    path = urlsplit(presigned["url"]).path
    status, headers, xml = post(s3_gateway.endpoint, path, body, ctype)
    assert status == 201, xml
    key = "gp/report.bin"
    etag = etag_of(data)
    assert (error_field(xml, "Key"), error_field(xml, "Bucket"), error_field(xml, "ETag")) == (key, shared, etag)
    assert headers["etag"] == etag and headers["location"].endswith(f"/{shared}/gp/report.bin")
    head = client.head_object(Bucket=shared, Key=key)
    assert (head["ContentType"], head["Metadata"], head["CacheControl"]) == ("text/plain", {"color": "blue"},
                                                                             "max-age=60")
    assert client.get_object_tagging(Bucket=shared, Key=key)["TagSet"] == [{"Key": "k1", "Value": "v 1"}]
    assert _get(s3_gateway, shared, key) == data


def test_sigv2_form_default_204_filename_and_case_insensitive_names(s3_gateway: Any, shared: str) -> None:
    policy = b64({"expiration": expiry(), "conditions": [
        {"bUcKeT": shared}, ["StArTs-WiTh", "$KeY", "v2/"], {"AcL": "private"}, ["content-length-range", 0, 100]]})
    fields = [("kEy", "v2/${filename}"), ("aCl", "private"), ("x-ignore-anything", "1"),
              *v2_fields(s3_gateway.creds_a, policy)]
    body, ctype = form(fields, b"bar", filename="foo.txt", named_fields=True)
    status, headers, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert (status, out) == (204, b"")
    assert headers["etag"] == etag_of(b"bar")
    assert _get(s3_gateway, shared, "v2/foo.txt") == b"bar"


def test_acl_field_makes_the_object_public(s3_gateway: Any, shared: str) -> None:
    fields = v4_fields(s3_gateway.creds_a, [{"bucket": shared}, {"key": "pub/a"}, {"acl": "public-read"}])
    body, ctype = form([("key", "pub/a"), ("acl", "public-read"), *fields], b"public")
    assert post(s3_gateway.endpoint, f"/{shared}", body, ctype)[0] == 204
    u = urlsplit(s3_gateway.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", f"/{shared}/pub/a")  # unsigned
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"public")
    finally:
        conn.close()


def test_a_body_over_5_gib_is_refused_before_it_is_read(s3_gateway: Any, shared: str) -> None:
    u = urlsplit(s3_gateway.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("POST", f"/{shared}")
        conn.putheader("Content-Type", "multipart/form-data; boundary=B")
        conn.putheader("Content-Length", str(6 * 1024 ** 3))
        conn.endheaders()
        conn.send(b"--B\r\n")
        resp = conn.getresponse()
        assert (resp.status, error_code(resp.read())) == (400, "EntityTooLarge")
    finally:
        conn.close()


def test_virtual_hosted_bucket_form(s3_gateway: Any, shared: str) -> None:
    fields = v4_fields(s3_gateway.creds_a, [{"bucket": shared}, {"key": "vh/a"}, {"success_action_status": "201"}])
    body, ctype = form([("key", "vh/a"), ("success_action_status", "201"), *fields], b"virtual")
    port = urlsplit(s3_gateway.endpoint).port
    status, headers, xml = post(s3_gateway.endpoint, "/", body, ctype, headers={"Host": f"{shared}.s3.localhost:{port}"})
    assert status == 201, xml
    assert error_field(xml, "Location") == f"http://{shared}.s3.localhost:{port}/vh/a" == headers["location"]
    assert _get(s3_gateway, shared, "vh/a") == b"virtual"


def test_success_status_200_and_redirect_303(s3_gateway: Any, shared: str) -> None:
    redirect = "https://example.com/done?x=1"
    base = [{"bucket": shared}, ["starts-with", "$key", "r/"]]
    fields = v4_fields(s3_gateway.creds_a, [*base, ["starts-with", "$success_action_status", ""]])
    body, ctype = form([("key", "r/a b"), ("success_action_status", "200"), *fields], b"x")
    status, _, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert (status, out) == (200, b"")
    body, ctype = form([("key", "r/c"), ("success_action_status", "404"), *fields], b"x")
    assert post(s3_gateway.endpoint, f"/{shared}", body, ctype)[0] == 204  # an unknown status: the default
    # A condition on a field the form lacks fails, even starts-with "".
    body, ctype = form([("key", "r/d"), *fields], b"x")
    status, _, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert (status, error_code(out)) == (403, "AccessDenied")
    fields = v4_fields(s3_gateway.creds_a, [*base, ["starts-with", "$success_action_redirect", "https://"]])
    body, ctype = form([("key", "r/a b"), ("success_action_redirect", redirect), *fields], b"x")
    status, headers, _ = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    etag = hashlib.md5(b"x").hexdigest()
    assert status == 303
    assert headers["location"] == f"{redirect}&bucket={shared}&key=r%2Fa%20b&etag=%22{etag}%22"


def test_checksum_and_encryption_fields_go_through_put_object(s3_gateway: Any, shared: str) -> None:
    data = b"checksummed"
    good = base64.b64encode(hashlib.sha256(data).digest()).decode()
    conds = [{"bucket": shared}, ["starts-with", "$key", "ck/"], ["starts-with", "$x-amz-checksum-sha256", ""],
             {"x-amz-server-side-encryption": "AES256"}]
    fields = v4_fields(s3_gateway.creds_a, conds)
    body, ctype = form([("key", "ck/ok"), ("x-amz-checksum-sha256", good),
                        ("x-amz-server-side-encryption", "AES256"), *fields], data)
    status, headers, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert status == 204, out
    assert headers["x-amz-checksum-sha256"] == good and headers["x-amz-server-side-encryption"] == "AES256"
    head = s3_gateway.client_a().head_object(Bucket=shared, Key="ck/ok", ChecksumMode="ENABLED")
    assert (head["ChecksumSHA256"], head["ServerSideEncryption"]) == (good, "AES256")
    computed = v4_fields(s3_gateway.creds_a, [{"bucket": shared}, {"key": "ck/algo"},
                                              {"x-amz-checksum-algorithm": "CRC32"}])
    body, ctype = form([("key", "ck/algo"), ("x-amz-checksum-algorithm", "CRC32"), *computed], data)
    status, headers, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert (status, headers.get("x-amz-checksum-crc32")) == (204, crc), out
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    body, ctype = form([("key", "ck/bad"), ("x-amz-checksum-sha256", bad),
                        ("x-amz-server-side-encryption", "AES256"), *fields], data)
    status, _, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert (status, error_code(out)) == (400, "BadDigest")
    assert _absent(s3_gateway, shared, "ck/bad")


def test_a_large_file_streams_through(s3_gateway: Any, shared: str) -> None:
    data = secrets.token_bytes(6 * 1024 * 1024 + 17)
    fields = v4_fields(s3_gateway.creds_a, [{"bucket": shared}, {"key": "big/one"}])
    # Fields after the file are ignored (as on S3): not even the policy sees them.
    body, ctype = form([("key", "big/one"), *fields], data, after=[("x-amz-meta-late", "1"), ("key", "other")])
    status, headers, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert status == 204, out
    assert headers["etag"] == etag_of(data)
    assert hashlib.md5(_get(s3_gateway, shared, "big/one")).digest() == hashlib.md5(data).digest()
    assert s3_gateway.client_a().head_object(Bucket=shared, Key="big/one")["Metadata"] == {}


def test_anonymous_post_needs_a_bucket_that_allows_anonymous_writes(s3_gateway: Any, bucket: Any) -> None:
    private, public = bucket(), bucket()
    s3_gateway.client_a().put_bucket_acl(Bucket=public, ACL="public-read-write")
    body, ctype = form([("key", "anon.txt"), ("Content-Type", "text/plain")], b"bar")
    status, _, out = post(s3_gateway.endpoint, f"/{private}", body, ctype)
    assert (status, error_code(out)) == (403, "AccessDenied")
    assert post(s3_gateway.endpoint, f"/{public}", body, ctype)[0] == 204
    assert _get(s3_gateway, public, "anon.txt") == b"bar"
    # Tenant B's signed form on A's private bucket: refused like any other write.
    fields = v4_fields(s3_gateway.creds_b, [{"bucket": private}, {"key": "b.txt"}])
    body, ctype = form([("key", "b.txt"), *fields], b"b")
    status, _, out = post(s3_gateway.endpoint, f"/{private}", body, ctype)
    assert (status, error_code(out)) == (403, "AccessDenied")
    assert _absent(s3_gateway, private, "b.txt")


def test_bucket_policy_decides_for_post_as_for_put(s3_gateway: Any, bucket: Any) -> None:
    """The authorizer sees PostObject as s3:PutObject on the key: a Deny refuses the owner's own form, an
    anonymous Allow opens a private bucket to unsigned forms under its prefix only."""
    import json as _json

    name = bucket()
    statements = [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/denied/*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/drop/*"},
    ]
    s3_gateway.client_a().put_bucket_policy(Bucket=name, Policy=_json.dumps({"Version": "2012-10-17",
                                                                              "Statement": statements}))
    fields = v4_fields(s3_gateway.creds_a, [{"bucket": name}, ["starts-with", "$key", ""]])
    body, ctype = form([("key", "denied/a"), *fields], b"x")
    status, _, out = post(s3_gateway.endpoint, f"/{name}", body, ctype)
    assert (status, error_code(out)) == (403, "AccessDenied")
    body, ctype = form([("key", "drop/a")], b"anonymous")
    assert post(s3_gateway.endpoint, f"/{name}", body, ctype)[0] == 204
    body, ctype = form([("key", "elsewhere/a")], b"anonymous")
    status, _, out = post(s3_gateway.endpoint, f"/{name}", body, ctype)
    assert (status, error_code(out)) == (403, "AccessDenied")
    assert _get(s3_gateway, name, "drop/a") == b"anonymous"
    assert _absent(s3_gateway, name, "denied/a") and _absent(s3_gateway, name, "elsewhere/a")


def _case(s3: Any, bucket: str, name: str) -> tuple[bytes, str, str]:
    """(body, content type, key) of one refused form; the key must never be stored."""
    key = f"err/{name}"
    creds = s3.creds_a
    ok = [{"bucket": bucket}, ["starts-with", "$key", "err/"]]
    v4 = v4_fields(creds, ok)
    if name == "expired":
        return (*form([("key", key), *v4_fields(creds, ok, expiration="2001-01-01T00:00:00Z")]), key)
    if name == "bad-signature":
        fields = [(k, v[::-1] if k == "x-amz-signature" else v) for k, v in v4]
        return (*form([("key", key), *fields]), key)
    if name == "bad-signature-v2":
        policy = b64({"expiration": expiry(), "conditions": ok})
        fields = [(k, base64.b64encode(b"x" * 20).decode() if k == "signature" else v)
                  for k, v in v2_fields(creds, policy)]
        return (*form([("key", key), *fields]), key)
    if name == "unknown-key":
        from tests.conftest import Creds
        return (*form([("key", key), *v4_fields(Creds("AKIDNOSUCHKEY", "x" * 40, "", ""), ok)]), key)
    if name == "wrong-region":
        return (*form([("key", key), *v4_fields(creds, ok, region="eu-west-1")]), key)
    if name == "extra-field":
        return (*form([("key", key), ("x-amz-meta-extra", "1"), *v4]), key)
    if name == "condition-failed":
        return (*form([("key", "other/" + name), *v4]), "other/" + name)
    if name == "missing-field":
        fields = v4_fields(creds, [*ok, ["starts-with", "$x-amz-meta-need", "bar"]])
        return (*form([("key", key), *fields]), key)
    if name == "eq-empty-mismatch":
        fields = v4_fields(creds, [*ok, ["eq", "$x-amz-meta-foo", ""]])
        return (*form([("key", key), ("x-amz-meta-foo", "barclamp"), *fields]), key)
    if name == "wrong-bucket":
        fields = v4_fields(creds, [{"bucket": bucket + "-other"}, ["starts-with", "$key", "err/"]])
        return (*form([("key", key), *fields]), key)
    if name == "no-expiration":
        return (*form([("key", key), *v4_fields(creds, [], policy_doc={"conditions": ok})]), key)
    if name == "bad-base64":
        return (*form([("key", key), *v4_fields(creds, [], policy_doc="%%%not-base64")]), key)
    if name == "too-large":
        return (*form([("key", key), *v4_fields(creds, [*ok, ["content-length-range", 0, 4]])], b"12345"), key)
    if name == "too-small":
        return (*form([("key", key), *v4_fields(creds, [*ok, ["content-length-range", 512, 1000]])], b"1"), key)
    if name == "no-file":
        return (*form([("key", key), *v4], None), key)
    if name == "two-files":
        return (*form([("key", key), *v4], files=2), key)
    if name == "key-after-file":
        return (*form(v4, after=[("key", key)]), key)
    if name == "no-key":
        return (*form(v4), key)
    if name == "empty-key":
        return (*form([("key", ""), *v4_fields(creds, [{"bucket": bucket}, {"key": ""}])]), key)
    if name == "missing-signature":
        return (*form([("key", key), *[(k, v) for k, v in v4 if k != "x-amz-signature"]]), key)
    if name == "v2-missing-signature":
        policy = b64({"expiration": expiry(), "conditions": ok})
        return (*form([("key", key), *[f for f in v2_fields(creds, policy) if f[0] != "signature"]]), key)
    if name == "truncated":
        body, ctype = form([("key", key), *v4], b"x" * 100)
        return body[:-40], ctype, key
    if name == "pre-data-too-large":
        return (*form([("key", key), *[(f"x-ignore-{i}", "A" * 1024) for i in range(21)], *v4]), key)
    raise AssertionError(name)


@pytest.mark.parametrize(("name", "code", "status"), [
    ("expired", "AccessDenied", 403),
    ("bad-signature", "SignatureDoesNotMatch", 403),
    ("bad-signature-v2", "SignatureDoesNotMatch", 403),
    ("unknown-key", "InvalidAccessKeyId", 403),
    ("wrong-region", "InvalidArgument", 400),
    ("extra-field", "AccessDenied", 403),
    ("condition-failed", "AccessDenied", 403),
    ("missing-field", "AccessDenied", 403),
    ("eq-empty-mismatch", "AccessDenied", 403),
    ("wrong-bucket", "AccessDenied", 403),
    ("no-expiration", "InvalidPolicyDocument", 400),
    ("bad-base64", "InvalidPolicyDocument", 400),
    ("too-large", "EntityTooLarge", 400),
    ("too-small", "EntityTooSmall", 400),
    ("no-file", "IncorrectNumberOfFilesInPostRequest", 400),
    ("two-files", "IncorrectNumberOfFilesInPostRequest", 400),
    ("key-after-file", "InvalidArgument", 400),
    ("no-key", "InvalidArgument", 400),
    ("empty-key", "InvalidArgument", 400),
    ("missing-signature", "InvalidArgument", 400),
    ("v2-missing-signature", "InvalidArgument", 400),
    ("truncated", "MalformedPOSTRequest", 400),
    ("pre-data-too-large", "MaxPostPreDataLengthExceeded", 400),
])
def test_refused_forms_answer_the_exact_error_and_store_nothing(s3_gateway: Any, shared: str, name: str,
                                                                code: str, status: int) -> None:
    body, ctype, key = _case(s3_gateway, shared, name)
    got, _, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
    assert (got, error_code(out)) == (status, code), out
    if key.startswith("err/"):
        assert _absent(s3_gateway, shared, key)
    if name == "extra-field":
        assert b"Invalid according to Policy: Extra input fields: x-amz-meta-extra" in out
    if name == "expired":
        assert b"Invalid according to Policy: Policy expired." in out
    if name == "pre-data-too-large":
        assert error_field(out, "MaxPostPreDataLengthBytes") == "20480"


def test_bucket_post_must_be_a_form_without_query(s3_gateway: Any, shared: str) -> None:
    status, _, out = post(s3_gateway.endpoint, f"/{shared}", b"{}", "application/json")
    assert (status, error_code(out)) == (412, "PreconditionFailed")
    assert error_field(out, "Condition") == "Bucket POST must be of the enclosure-type multipart/form-data"
    body, ctype = form([("key", "q")])
    status, _, out = post(s3_gateway.endpoint, f"/{shared}?invalidParam=true", body, ctype)
    assert (status, error_code(out)) == (400, "InvalidArgument")
    assert b"Query String Parameters not allowed on POST requests." in out
    status, _, out = post(s3_gateway.endpoint, f"/{shared}", body, "multipart/form-data")  # no boundary
    assert (status, error_code(out)) == (400, "MalformedPOSTRequest")
    missing = f"/cg-no-such-bucket-{secrets.token_hex(4)}"
    fields = v4_fields(s3_gateway.creds_a, [{"bucket": missing[1:]}, {"key": "k"}])
    body, ctype = form([("key", "k"), *fields])
    status, _, out = post(s3_gateway.endpoint, missing, body, ctype)
    assert (status, error_code(out)) == (404, "NoSuchBucket")


def test_no_error_is_a_server_error(s3_gateway: Any, shared: str) -> None:
    """Garbage in every place a form can carry it: always a 4xx."""
    fields = v4_fields(s3_gateway.creds_a, [{"bucket": shared}, ["starts-with", "$key", ""]])
    cases = [
        form([("key", "g/1"), ("Expires", "not a date"), *fields]),
        form([("key", "g/2"), ("tagging", "<Tagging><TagSet>"), *fields]),
        form([("key", "g/3"), ("x-amz-checksum-crc32", "!!"), *fields]),
        form([("key", "g/4"), ("acl", "no-such-acl"), *fields]),
        form([("key", "g/5"), ("x-amz-storage-class", "NOPE"), *fields]),
        (b"--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n\xff\xfe\r\n--B--\r\n",
         "multipart/form-data; boundary=B"),
    ]
    for body, ctype in cases:
        status, _, out = post(s3_gateway.endpoint, f"/{shared}", body, ctype)
        assert 400 <= status < 500 and re.search(rb"<Code>\w+</Code>", out), (status, out)


# ---- devcloud OpenStack: a Keystone key ---------------------------------------------------------------------
def test_keystone_key_posts_on_a_gateway_that_never_saw_it(openstack_env: dict[str, Any]) -> None:
    """Keystone's ec2tokens rebuilds request signatures only: a form's policy signature is checked with the
    key's secret (read with the gateway's service rights) even when the POST is the key's first request."""
    import boto3
    from botocore.config import Config

    from tests.conftest import Creds
    from tests.ec2_os_support import devcloud_gateway

    tenant, region = openstack_env["tenants"]["a"], openstack_env["region"]
    creds = Creds(tenant["ec2_access"], tenant["ec2_secret"], "", "")
    name = f"cgt-post-{secrets.token_hex(5)}"
    with devcloud_gateway(openstack_env, encrypt=False) as warm:
        s3 = boto3.client("s3", endpoint_url=warm.endpoint, region_name=region,
                          aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                          config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        try:
            with devcloud_gateway(openstack_env, encrypt=False) as cold:
                wrong = v4_fields(Creds(creds.access_key, "not-the-secret", "", ""),
                                  [{"bucket": name}, {"key": "k"}], region=region)
                body, ctype = form([("key", "k"), *wrong], b"forged")
                status, _, out = post(cold.endpoint, f"/{name}", body, ctype)
                assert (status, error_code(out)) == (403, "SignatureDoesNotMatch")
                fields = v4_fields(creds, [{"bucket": name}, {"key": "k"}], region=region)
                body, ctype = form([("key", "k"), *fields], b"keystone")
                status, _, out = post(cold.endpoint, f"/{name}", body, ctype)
                assert status == 204, out
            assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"keystone"
        finally:
            with contextlib.suppress(Exception):
                s3.delete_object(Bucket=name, Key="k")
            with contextlib.suppress(Exception):
                s3.delete_bucket(Bucket=name)
