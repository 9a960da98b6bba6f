"""S3 abuse on the devcloud Swift: path tricks in keys (`..`, `//`, encoded slashes) stay keys inside their
bucket, `.`/`..` as bucket names reach nothing (in a Swift URL they would be path segments), and
CreateBucket applies AWS's naming rules. Exact codes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import S3Gateway
from tests.fuzz import build
from tests.fuzz.wire import exchange


def _raw(s3_gateway: S3Gateway, method: str, raw_path: str, query: str = "", body: bytes = b"",
         tenant: str = "a") -> Any:
    host, port = s3_gateway.endpoint.split("//", 1)[1].split(":")
    creds = s3_gateway.creds_a if tenant == "a" else s3_gateway.creds_b
    target = build.Target(host, int(port), creds.access_key, creds.secret_key)
    req = build.sign(target, "s3", method, raw_path, query, [], body)
    return asyncio.run(exchange(host, int(port), req))


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "..", ".", "a//b", "//lead", "a/./b", "trail/"])
def test_dot_and_slash_keys_are_plain_keys_in_their_bucket(s3_gateway: S3Gateway, bucket: Any, key: str) -> None:
    name = bucket("a")
    a = s3_gateway.client_a()
    a.put_object(Bucket=name, Key=key, Body=b"payload")
    assert a.get_object(Bucket=name, Key=key)["Body"].read() == b"payload"
    assert [o["Key"] for o in a.list_objects_v2(Bucket=name)["Contents"]] == [key]
    assert s3_gateway.swift_a.request("GET", f"{name}/{key}")[0] in (200, 404)  # no error from Swift itself


def test_encoded_slash_in_a_key_is_a_slash(s3_gateway: S3Gateway, bucket: Any) -> None:
    name = bucket("a")
    assert _raw(s3_gateway, "PUT", f"/{name}/dir%2Ffile", body=b"x").status == 200
    a = s3_gateway.client_a()
    assert [o["Key"] for o in a.list_objects_v2(Bucket=name)["Contents"]] == ["dir/file"]


def test_dot_dot_in_the_path_cannot_reach_another_bucket(s3_gateway: S3Gateway, bucket: Any) -> None:
    mine, other = bucket("a"), bucket("a")
    ans = _raw(s3_gateway, "PUT", f"/{mine}/../{other}/evil", body=b"x")
    assert ans.status == 200  # stored in `mine` under the literal key
    a = s3_gateway.client_a()
    assert "Contents" not in a.list_objects_v2(Bucket=other)
    assert [o["Key"] for o in a.list_objects_v2(Bucket=mine)["Contents"]] == [f"../{other}/evil"]


@pytest.mark.parametrize("path", ["/..", "/../", "/.", "/./", "/%2E%2E", "/%2e%2e/", "/.%2E", "/..%2F"])
def test_dot_bucket_names_reach_nothing(s3_gateway: S3Gateway, path: str) -> None:
    """`..` as a bucket would be a `..` segment in the Swift URL: the account one level up (every
    container, the `+segments` ones included). No such bucket can exist; CreateBucket refuses the name."""
    for method, query in (("GET", "list-type=2"), ("PUT", ""), ("DELETE", ""), ("GET", "")):
        ans = _raw(s3_gateway, method, path, query)
        expected = ("InvalidBucketName", 400) if method == "PUT" or "%2F" in path else ("NoSuchBucket", 404)
        assert (ans.code, ans.status) == expected, (method, path, ans.body[:200])
        assert b"+segments" not in ans.body and b"AUTH_" not in ans.body


@pytest.mark.parametrize("name", ["ab", "a" * 64, "UPPER", "under_score", "-dash", "dash-", "a..b", "a.-b",
                                  "192.168.0.1", "xn--punycode", "name-s3alias", "name--ol-s3", "sp ace",
                                  "a+segments"])
def test_create_bucket_with_a_name_aws_refuses_is_invalid_bucket_name(s3_gateway: S3Gateway, name: str) -> None:
    from urllib.parse import quote

    ans = _raw(s3_gateway, "PUT", "/" + quote(name, safe=""))
    assert (ans.code, ans.status) == ("InvalidBucketName", 400), ans.body[:300]
