"""ListObjects v1 and v2 through the gateway on a real Swift: prefixes, delimiters, paging, tokens, URL
encoding, owners, and keys S3 users really have (unicode, spaces, +, %, control characters)."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from gateway.protocol import errors
from gateway.s3 import listing

from .s3_support import aws_cli, aws_error

KEYS = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "e f+g%h", "zz/ünï", "zz/ctrl\x01"]


@pytest.fixture
def filled(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    for key in KEYS:
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    return s3, name


def test_token_round_trip_and_garbage():
    assert listing.decode_token(listing.encode_token("dir/ünï")) == "dir/ünï"
    for bad in ("garbage!", "", "Zm9v"):
        with pytest.raises(errors.InvalidArgument):
            listing.decode_token(bad)


def test_v2_lists_everything_in_order_with_key_count(filled):
    s3, name = filled
    out = s3.list_objects_v2(Bucket=name)
    assert [o["Key"] for o in out["Contents"]] == sorted(KEYS)
    assert out["KeyCount"] == len(KEYS) and out["IsTruncated"] is False
    assert all(o["StorageClass"] == "STANDARD" and o["Size"] == 1 for o in out["Contents"])
    assert "Owner" not in out["Contents"][0]
    owned = s3.list_objects_v2(Bucket=name, FetchOwner=True)
    assert owned["Contents"][0]["Owner"]["ID"] == "111111111111"


def test_v2_delimiter_prefix_and_paging(filled):
    s3, name = filled
    out = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/", "dir2/", "zz/"]
    assert [o["Key"] for o in out["Contents"]] == ["a.txt", "e f+g%h"]
    assert out["KeyCount"] == 5
    out = s3.list_objects_v2(Bucket=name, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["dir/1", "dir/2"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/sub/"]
    # pages of 2 (keys and prefixes count together) visit each entry exactly once
    seen, token = [], None
    for _ in range(10):
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=name, Delimiter="/", MaxKeys=2, **kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] <= 2
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(seen) == ["a.txt", "dir/", "dir2/", "e f+g%h", "zz/"]


def test_v2_start_after_and_max_keys_zero(filled):
    s3, name = filled
    out = s3.list_objects_v2(Bucket=name, StartAfter="dir/sub/3")
    assert [o["Key"] for o in out["Contents"]] == sorted(KEYS)[4:]
    assert out["StartAfter"] == "dir/sub/3"
    empty = s3.list_objects_v2(Bucket=name, MaxKeys=0)
    assert empty["KeyCount"] == 0 and "Contents" not in empty


def test_v2_errors(filled):
    s3, name = filled
    with aws_error("InvalidArgument", 400):
        s3.list_objects_v2(Bucket=name, ContinuationToken="not-a-token")
    with aws_error("InvalidArgument", 400):
        s3.list_objects_v2(Bucket=name, MaxKeys=-1)
    with aws_error("InvalidArgument", 400):
        s3.list_objects_v2(Bucket=name, EncodingType="base64")


def test_v2_url_encoding_when_asked(filled):
    s3, name = filled
    out = s3.list_objects_v2(Bucket=name, EncodingType="url", Prefix="e f", Delimiter="/")
    # botocore only decodes when it chose the encoding itself: we see the wire form
    assert out["EncodingType"] == "url"
    assert [o["Key"] for o in out["Contents"]] == ["e+f%2Bg%25h"]
    assert out["Prefix"] == "e+f"
    assert [unquote_plus(o["Key"]) for o in out["Contents"]] == ["e f+g%h"]
    ctrl = s3.list_objects_v2(Bucket=name, EncodingType="url", Prefix="zz/c")
    assert [o["Key"] for o in ctrl["Contents"]] == ["zz/ctrl%01"]


def test_v1_marker_next_marker_and_owner(filled):
    s3, name = filled
    out = s3.list_objects(Bucket=name, MaxKeys=3)
    assert [o["Key"] for o in out["Contents"]] == sorted(KEYS)[:3]
    assert out["IsTruncated"] is True and "NextMarker" not in out  # only with a delimiter, as S3
    assert out["Contents"][0]["Owner"]["ID"] == "111111111111"
    rest = s3.list_objects(Bucket=name, Marker=out["Contents"][-1]["Key"])
    assert [o["Key"] for o in rest["Contents"]] == sorted(KEYS)[3:]
    with_delim = s3.list_objects(Bucket=name, Delimiter="/", MaxKeys=2)
    assert with_delim["IsTruncated"] is True and with_delim["NextMarker"] == "dir/"
    after = s3.list_objects(Bucket=name, Delimiter="/", Marker=with_delim["NextMarker"])
    assert [p["Prefix"] for p in after["CommonPrefixes"]] == ["dir2/", "zz/"]
    with aws_error("InvalidArgument", 400):
        s3.list_objects(Bucket=name, MaxKeys=-5)


def test_paginator_over_many_keys(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    keys = [f"k/{i:03d}" for i in range(23)]
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=b"")
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=name, PaginationConfig={"PageSize": 5}))
    assert len(pages) == 5
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == keys
    v1 = list(s3.get_paginator("list_objects").paginate(Bucket=name, PaginationConfig={"PageSize": 7}))
    assert [o["Key"] for p in v1 for o in p.get("Contents", [])] == keys


def test_aws_cli_list_objects(filled, s3_gateway):
    _, name = filled
    rc, out, err = aws_cli(s3_gateway, s3_gateway.creds_a, "s3api", "list-objects-v2", "--bucket", name,
                           "--prefix", "dir/", "--delimiter", "/")
    assert rc == 0, err
    assert [o["Key"] for o in out["Contents"]] == ["dir/1", "dir/2"]
    assert out["CommonPrefixes"] == [{"Prefix": "dir/sub/"}]
