"""Suite "s3", listing: ListObjects v1 and v2 with prefix, delimiter, marker, continuation-token,
start-after, encoding-type=url, fetch-owner and max-keys."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote_plus

from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, temp_bucket, xml_root

KEYS = ["a/1", "a/2", "a/b/3", "a/b/4", "b/1", "c", "d", "e"]
MAX_PAGES = 20  # every paging loop below stops here even if the endpoint never says "not truncated"


@contextlib.contextmanager
def populated(ctx: Ctx, tag: str, keys: list[str] = KEYS) -> Iterator[tuple[Any, str]]:
    s3 = ctx.client("s3")
    with temp_bucket(ctx, tag) as bucket:
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        yield s3, bucket


def keys_of(resp: dict) -> list[str]:
    return [o["Key"] for o in resp.get("Contents", [])]


def prefixes_of(resp: dict) -> list[str]:
    return [p["Prefix"] for p in resp.get("CommonPrefixes", [])]


@scenario(SUITE)
def s3_list_v2_prefix_delimiter(ctx: Ctx) -> None:
    """ListObjectsV2 with prefix and/or delimiter: Contents, CommonPrefixes and KeyCount."""
    with populated(ctx, "lsv2") as (s3, bucket):
        resp = s3.list_objects_v2(Bucket=bucket)
        check(keys_of(resp) == KEYS, f"full listing {keys_of(resp)}")
        check(resp["KeyCount"] == len(KEYS) and resp["IsTruncated"] is False,
              f"KeyCount {resp.get('KeyCount')} IsTruncated {resp.get('IsTruncated')}")
        resp = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        check(keys_of(resp) == ["c", "d", "e"], f"root with delimiter: Contents {keys_of(resp)}")
        check(prefixes_of(resp) == ["a/", "b/"], f"root with delimiter: CommonPrefixes {prefixes_of(resp)}")
        check(resp["KeyCount"] == 5, f"KeyCount {resp['KeyCount']} (keys + common prefixes = 5)")
        resp = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
        check(keys_of(resp) == ["a/1", "a/2"], f"prefix a/: Contents {keys_of(resp)}")
        check(prefixes_of(resp) == ["a/b/"], f"prefix a/: CommonPrefixes {prefixes_of(resp)}")
        check(resp.get("Prefix") == "a/" and resp.get("Delimiter") == "/", "Prefix/Delimiter not echoed")
        resp = s3.list_objects_v2(Bucket=bucket, Prefix="a/b")
        check(keys_of(resp) == ["a/b/3", "a/b/4"], f"prefix a/b: {keys_of(resp)}")
        resp = s3.list_objects_v2(Bucket=bucket, Prefix="zzz")
        check(resp["KeyCount"] == 0 and not keys_of(resp), f"prefix zzz: {keys_of(resp)}")


@scenario(SUITE)
def s3_list_v2_paging(ctx: Ctx) -> None:
    """MaxKeys=3 pages through everything with NextContinuationToken, in order, without repeats."""
    with populated(ctx, "lsv2page") as (s3, bucket):
        seen: list[str] = []
        token = None
        for _ in range(MAX_PAGES):
            kwargs = {"ContinuationToken": token} if token else {}
            resp = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, **kwargs)
            check(resp["MaxKeys"] == 3, f"MaxKeys echoed as {resp.get('MaxKeys')}")
            check(len(keys_of(resp)) <= 3, f"page of {len(keys_of(resp))} keys with MaxKeys=3")
            if token:
                check(resp.get("ContinuationToken") == token, "ContinuationToken not echoed")
            seen += keys_of(resp)
            if not resp["IsTruncated"]:
                check("NextContinuationToken" not in resp, "last page has a NextContinuationToken")
                break
            token = resp.get("NextContinuationToken")
            check(token, "truncated page without NextContinuationToken")
        check(seen == KEYS, f"pages gave {seen}")


@scenario(SUITE)
def s3_list_v2_paging_with_delimiter(ctx: Ctx) -> None:
    """Paging with a delimiter counts a CommonPrefix as one entry and never repeats it."""
    with populated(ctx, "lsv2pd") as (s3, bucket):
        entries: list[str] = []
        token = None
        for _ in range(MAX_PAGES):
            kwargs = {"ContinuationToken": token} if token else {}
            resp = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, Delimiter="/", **kwargs)
            page = keys_of(resp) + prefixes_of(resp)
            check(len(page) <= 2, f"page of {len(page)} entries with MaxKeys=2")
            entries += page
            if not resp["IsTruncated"]:
                break
            token = resp.get("NextContinuationToken")
            check(token, "truncated page without NextContinuationToken")
        check(sorted(entries) == ["a/", "b/", "c", "d", "e"], f"entries {entries}")


@scenario(SUITE)
def s3_list_v2_start_after(ctx: Ctx) -> None:
    """StartAfter lists only keys after it (it need not exist) and is echoed."""
    with populated(ctx, "lssa") as (s3, bucket):
        resp = s3.list_objects_v2(Bucket=bucket, StartAfter="a/b/3")
        check(keys_of(resp) == ["a/b/4", "b/1", "c", "d", "e"], f"StartAfter=a/b/3: {keys_of(resp)}")
        check(resp.get("StartAfter") == "a/b/3", "StartAfter not echoed")
        resp = s3.list_objects_v2(Bucket=bucket, StartAfter="b/0")
        check(keys_of(resp) == ["b/1", "c", "d", "e"], f"StartAfter=b/0 (not a key): {keys_of(resp)}")


@scenario(SUITE)
def s3_list_v2_fetch_owner(ctx: Ctx) -> None:
    """ListObjectsV2 has no Owner unless FetchOwner=true; then each entry has Owner/ID."""
    with populated(ctx, "lsown", ["k1", "k2"]) as (s3, bucket):
        resp = s3.list_objects_v2(Bucket=bucket)
        check(all("Owner" not in o for o in resp["Contents"]), "Owner present without FetchOwner")
        resp = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)
        check(all(o.get("Owner", {}).get("ID") for o in resp["Contents"]), "FetchOwner=true: no Owner/ID")
        check(all(o.get("Size") == 2 and o.get("ETag") and o.get("LastModified") for o in resp["Contents"]),
              "entries lack Size/ETag/LastModified")


@scenario(SUITE)
def s3_list_encoding_type_url(ctx: Ctx) -> None:
    """encoding-type=url percent-encodes Key, Prefix and CommonPrefixes, and says EncodingType=url."""
    keys = ["sp ace/x", "uni-é", "ctl\x01char", "amp&"]
    with populated(ctx, "lsenc", keys) as (_s3, bucket):
        # Raw: botocore asks for encoding-type=url on its own and decodes it, hiding what was sent.
        for query in ("list-type=2&encoding-type=url&delimiter=%2F", "encoding-type=url&delimiter=%2F"):
            root = xml_root(ctx.s3("GET", f"/{bucket}", query=query))
            check(root.findtext("EncodingType") == "url", f"{query}: EncodingType {root.findtext('EncodingType')!r}")
            raw_keys = [c.findtext("Key") or "" for c in root.findall("Contents")]
            raw_prefixes = [c.findtext("Prefix") or "" for c in root.findall("CommonPrefixes")]
            for raw in raw_keys + raw_prefixes:
                check(all(0x20 < ord(ch) < 0x7F for ch in raw), f"{query}: {raw!r} is not URL-encoded")
            decoded = sorted(unquote_plus(k) for k in raw_keys)
            check(decoded == ["amp&", "ctl\x01char", "uni-é"], f"{query}: decoded keys {decoded}")
            check([unquote_plus(p) for p in raw_prefixes] == ["sp ace/"],
                  f"{query}: prefixes {raw_prefixes}")


@scenario(SUITE)
def s3_list_v1_marker_paging(ctx: Ctx) -> None:
    """ListObjects v1 pages with Marker (the last key seen); NextMarker only comes with a delimiter."""
    with populated(ctx, "lsv1") as (s3, bucket):
        seen: list[str] = []
        marker = ""
        for _ in range(MAX_PAGES):
            resp = s3.list_objects(Bucket=bucket, MaxKeys=3, Marker=marker)
            page = keys_of(resp)
            check((resp.get("Marker") or "") == marker, f"Marker echoed as {resp.get('Marker')!r}")
            seen += page
            if not resp["IsTruncated"]:
                break
            check(page, "truncated page with no keys")
            marker = resp.get("NextMarker") or page[-1]
        check(seen == KEYS, f"v1 pages gave {seen}")
        resp = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
        check(resp["IsTruncated"] and resp.get("NextMarker"), "v1 with delimiter, truncated: no NextMarker")
        resp2 = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=10, Marker=resp["NextMarker"])
        rest = keys_of(resp2) + prefixes_of(resp2)
        first = keys_of(resp) + prefixes_of(resp)
        check(sorted(first + rest) == ["a/", "b/", "c", "d", "e"], f"v1 delimiter pages {first} + {rest}")


@scenario(SUITE)
def s3_list_v1_prefix_delimiter(ctx: Ctx) -> None:
    """ListObjects v1 with prefix and delimiter returns the same split as v2."""
    with populated(ctx, "lsv1pd") as (s3, bucket):
        resp = s3.list_objects(Bucket=bucket, Prefix="a/", Delimiter="/")
        check(keys_of(resp) == ["a/1", "a/2"], f"Contents {keys_of(resp)}")
        check(prefixes_of(resp) == ["a/b/"], f"CommonPrefixes {prefixes_of(resp)}")
        check(resp["IsTruncated"] is False, "IsTruncated")


@scenario(SUITE)
def s3_list_max_keys_zero(ctx: Ctx) -> None:
    """MaxKeys=0 returns no entries."""
    with populated(ctx, "ls0", ["k"]) as (s3, bucket):
        resp = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
        check(not keys_of(resp) and resp.get("KeyCount", 0) == 0, f"MaxKeys=0 returned {keys_of(resp)}")


@scenario(SUITE)
def s3_list_invalid_arguments(ctx: Ctx) -> None:
    """A negative max-keys and a forged continuation-token are InvalidArgument 400."""
    with populated(ctx, "lsbad", ["k"]) as (_s3, bucket):
        expect_error("InvalidArgument", 400, ctx.s3("GET", f"/{bucket}", query="list-type=2&max-keys=-1"))
        token = quote("this-is-not-a-token", safe="")
        expect_error("InvalidArgument", 400,
                     ctx.s3("GET", f"/{bucket}", query=f"list-type=2&continuation-token={token}"))
