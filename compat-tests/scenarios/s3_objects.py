"""Suite "s3", objects: put/get/head/delete with metadata and standard headers, key spelling, ranges,
conditional reads and writes, unknown sub-resources, server-side encryption and storage classes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os

from harness import Ctx, check, expect_error
from harness.expect import outcome_of

from . import scenario
from .s3_common import (
    SUITE,
    blob,
    check_error,
    expect_success,
    get_body,
    md5_hex,
    object_absent,
    temp_bucket,
    unquote_etag,
)

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@scenario(SUITE)
def s3_object_roundtrip_metadata(ctx: Ctx) -> None:
    """PUT with user metadata and standard headers; GET and HEAD return all of them and the MD5 ETag."""
    s3 = ctx.client("s3")
    data = blob(4096, seed=1)
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    meta = {"color": "blue", "multi-word": "two words"}
    with temp_bucket(ctx, "obj") as bucket:
        put = s3.put_object(Bucket=bucket, Key="doc.bin", Body=data, Metadata=meta, ContentType="image/png",
                            CacheControl="max-age=60", ContentDisposition='attachment; filename="d.bin"',
                            ContentLanguage="de", ContentEncoding="identity", Expires=expires)
        check(unquote_etag(put.get("ETag")) == md5_hex(data), f"PutObject ETag {put.get('ETag')} is not the MD5")
        for op in ("get", "head"):
            resp = getattr(s3, f"{op}_object")(Bucket=bucket, Key="doc.bin")
            check(resp["Metadata"] == meta, f"{op}: Metadata {resp['Metadata']} != {meta}")
            check(resp["ContentLength"] == len(data), f"{op}: ContentLength {resp['ContentLength']}")
            check(unquote_etag(resp["ETag"]) == md5_hex(data), f"{op}: ETag {resp['ETag']}")
            check(resp["ContentType"] == "image/png", f"{op}: ContentType {resp['ContentType']!r}")
            check(resp.get("CacheControl") == "max-age=60", f"{op}: CacheControl {resp.get('CacheControl')!r}")
            check(resp.get("ContentDisposition") == 'attachment; filename="d.bin"',
                  f"{op}: ContentDisposition {resp.get('ContentDisposition')!r}")
            check(resp.get("ContentLanguage") == "de", f"{op}: ContentLanguage {resp.get('ContentLanguage')!r}")
            check(resp.get("ContentEncoding") == "identity",
                  f"{op}: ContentEncoding {resp.get('ContentEncoding')!r}")
            check(resp.get("Expires") == expires or resp.get("ExpiresString", "").endswith("2030 03:04:05 GMT"),
                  f"{op}: Expires {resp.get('Expires')!r} / {resp.get('ExpiresString')!r}")
            check(isinstance(resp.get("LastModified"), dt.datetime), f"{op}: no LastModified")
            check(resp.get("AcceptRanges") == "bytes", f"{op}: Accept-Ranges {resp.get('AcceptRanges')!r}")
            if op == "get":
                check(resp["Body"].read() == data, "GET body differs from what was PUT")


@scenario(SUITE)
def s3_object_overwrite_and_delete(ctx: Ctx) -> None:
    """A second PUT replaces content and metadata; DELETE answers 204; then GET NoSuchKey, HEAD 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "del") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"first", Metadata={"a": "1"})
        s3.put_object(Bucket=bucket, Key="k", Body=b"second")
        head = s3.head_object(Bucket=bucket, Key="k")
        check(head["Metadata"] == {}, f"metadata of the first PUT survived the overwrite: {head['Metadata']}")
        check(get_body(s3, bucket, "k") == b"second", "overwrite did not replace the content")
        resp = s3.delete_object(Bucket=bucket, Key="k")
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteObject did not answer 204")
        expect_error("NoSuchKey", 404, lambda: s3.get_object(Bucket=bucket, Key="k"))
        expect_error("404", 404, lambda: s3.head_object(Bucket=bucket, Key="k"))


@scenario(SUITE)
def s3_object_delete_missing_is_204(ctx: Ctx) -> None:
    """DeleteObject on a key that never existed still answers 204 (S3 deletes are idempotent)."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "delmiss") as bucket:
        resp = s3.delete_object(Bucket=bucket, Key="never-written")
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204,
              f"answered {resp['ResponseMetadata']['HTTPStatusCode']}, not 204")


@scenario(SUITE)
def s3_object_empty(ctx: Ctx) -> None:
    """A zero-byte object has ContentLength 0 and the MD5 of nothing as ETag."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "empty") as bucket:
        s3.put_object(Bucket=bucket, Key="empty", Body=b"")
        resp = s3.get_object(Bucket=bucket, Key="empty")
        check(resp["ContentLength"] == 0 and resp["Body"].read() == b"", "empty object is not empty")
        check(unquote_etag(resp["ETag"]) == EMPTY_MD5, f"ETag {resp['ETag']}")


@scenario(SUITE)
def s3_object_key_spelling(ctx: Ctx) -> None:
    """Keys with spaces, +, %, ?, #, &, <, unicode, // and a trailing / round-trip and list exactly."""
    keys = ["with space", "plus+sign", "percent%20literal", "q?mark", "hash#tag", "amp&lt<gt>",
            "unicodé/ключ/鍵", "a//double", "trailing/", "semi;colon=eq", "tilde~star*", "quote'\"q"]
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "keys") as bucket:
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        for key in keys:
            check(get_body(s3, bucket, key) == key.encode(), f"GET {key!r} returned another object")
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        check(listed == sorted(keys, key=lambda k: k.encode()),
              f"listing (UTF-8 byte order) is {listed!r}")
        listed_v1 = [o["Key"] for o in s3.list_objects(Bucket=bucket).get("Contents", [])]
        check(sorted(listed_v1) == sorted(keys), f"ListObjects v1 shows {listed_v1!r}")


@scenario(SUITE)
def s3_object_missing(ctx: Ctx) -> None:
    """GET of a missing key is NoSuchKey 404 naming the key; HEAD is a bare 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "miss") as bucket:
        resp = ctx.s3("GET", f"/{bucket}/no/such-key")
        err = expect_error("NoSuchKey", 404, resp)
        key = err.root.findtext("Key") if err.root is not None else None
        check(key in (None, "no/such-key"), f"<Key> is {key!r}")
        expect_error("404", 404, lambda: s3.head_object(Bucket=bucket, Key="no/such-key"))


# ---- ranges ----------------------------------------------------------------------------------------------
@scenario(SUITE)
def s3_object_ranges(ctx: Ctx) -> None:
    """Range reads: first-last, open-ended, suffix, suffix longer than the object, end past the object."""
    s3 = ctx.client("s3")
    data = blob(100, seed=2)
    cases = [("bytes=0-9", 0, 9), ("bytes=90-", 90, 99), ("bytes=-5", 95, 99), ("bytes=-500", 0, 99),
             ("bytes=50-1000", 50, 99), ("bytes=7-7", 7, 7)]
    with temp_bucket(ctx, "range") as bucket:
        s3.put_object(Bucket=bucket, Key="r", Body=data)
        for header, first, last in cases:
            resp = s3.get_object(Bucket=bucket, Key="r", Range=header)
            status = resp["ResponseMetadata"]["HTTPStatusCode"]
            check(status == 206, f"{header}: status {status}, not 206")
            want = f"bytes {first}-{last}/100"
            check(resp.get("ContentRange") == want, f"{header}: Content-Range {resp.get('ContentRange')!r} != {want!r}")
            check(resp["ContentLength"] == last - first + 1, f"{header}: ContentLength {resp['ContentLength']}")
            check(resp["Body"].read() == data[first:last + 1], f"{header}: wrong bytes")
        head = s3.head_object(Bucket=bucket, Key="r", Range="bytes=10-19")
        check(head["ResponseMetadata"]["HTTPStatusCode"] == 206 and head["ContentLength"] == 10,
              f"HEAD with Range: {head['ResponseMetadata']['HTTPStatusCode']} / {head['ContentLength']}")


@scenario(SUITE)
def s3_object_range_not_satisfiable(ctx: Ctx) -> None:
    """A range starting at or past the end is InvalidRange 416; an unparseable one is ignored (200)."""
    s3 = ctx.client("s3")
    data = blob(100, seed=3)
    with temp_bucket(ctx, "r416") as bucket:
        s3.put_object(Bucket=bucket, Key="r", Body=data)
        for header in ("bytes=100-", "bytes=200-300"):
            err = expect_error("InvalidRange", 416, ctx.s3("GET", f"/{bucket}/r", headers={"Range": header}))
            size = err.root.findtext("ActualObjectSize") if err.root is not None else None
            check(size in (None, "100"), f"{header}: ActualObjectSize {size!r}")
        # RFC 9110: a server ignores a Range header it cannot parse; S3 does.
        resp = ctx.s3("GET", f"/{bucket}/r", headers={"Range": "bytes=abc"})
        check(resp.status == 200 and resp.body == data, f"unparseable Range: {resp.status}, {len(resp.body)} bytes")


# ---- conditional requests ---------------------------------------------------------------------------------
@scenario(SUITE)
def s3_object_conditional_get(ctx: Ctx) -> None:
    """If-Match / If-None-Match / If-(Un)Modified-Since on GET: 200, 304 or PreconditionFailed 412."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "cond") as bucket:
        s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")
        head = s3.head_object(Bucket=bucket, Key="c")
        etag, modified = head["ETag"], head["LastModified"]
        day = dt.timedelta(days=1)

        def get(**kw: object) -> object:
            return lambda: s3.get_object(Bucket=bucket, Key="c", **kw)

        for kw in ({"IfMatch": etag}, {"IfNoneMatch": '"0123456789abcdef0123456789abcdef"'},
                   {"IfModifiedSince": modified - day}, {"IfUnmodifiedSince": modified + day},
                   # RFC 9110 §13.2.2, documented by S3: a true If-Match wins over a false If-Unmodified-Since
                   {"IfMatch": etag, "IfUnmodifiedSince": modified - day}):
            info = outcome_of(get(**kw))
            check(info is None, f"GET with {sorted(kw)} failed: {info.describe() if info else ''}")
        expect_error("PreconditionFailed", 412, get(IfMatch='"0123456789abcdef0123456789abcdef"'))
        expect_error("PreconditionFailed", 412, get(IfUnmodifiedSince=modified - day))
        expect_error("304", 304, get(IfNoneMatch=etag))
        expect_error("304", 304, get(IfModifiedSince=modified))  # not modified since its own date
        # ... and a matching If-None-Match wins over a true If-Modified-Since.
        expect_error("304", 304, get(IfNoneMatch=etag, IfModifiedSince=modified - day))
        expect_error("412", 412, lambda: s3.head_object(Bucket=bucket, Key="c", IfMatch='"00"'))
        expect_error("304", 304, lambda: s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag))


@scenario(SUITE)
def s3_object_put_if_none_match_star(ctx: Ctx) -> None:
    """PUT with If-None-Match: * creates a new key, and is PreconditionFailed 412 once the key exists."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "inm") as bucket:
        expect_success(lambda: s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*"),
                       "PUT If-None-Match: * on a new key")
        expect_error("PreconditionFailed", 412,
                     lambda: s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*"))
        check(get_body(s3, bucket, "once") == b"first", "the refused conditional PUT overwrote the object")


@scenario(SUITE)
def s3_object_put_if_match(ctx: Ctx) -> None:
    """PUT If-Match: right ETag replaces, wrong one PreconditionFailed 412, absent key NoSuchKey 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "pim") as bucket:
        etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
        expect_error("PreconditionFailed", 412,
                     lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"bad", IfMatch='"' + "0" * 32 + '"'))
        check(get_body(s3, bucket, "k") == b"v1", "a PUT with a wrong If-Match overwrote the object")
        expect_success(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag),
                       "PUT with the current ETag as If-Match")
        check(get_body(s3, bucket, "k") == b"v2", "a PUT with the right If-Match did not replace the object")
        expect_error("NoSuchKey", 404, lambda: s3.put_object(Bucket=bucket, Key="absent", Body=b"x",
                                                             IfMatch=etag))
        check(object_absent(s3, bucket, "absent"), "a refused If-Match PUT created the object")


# ---- what must never write -------------------------------------------------------------------------------
@scenario(SUITE)
def s3_object_unknown_subresources_never_write(ctx: Ctx) -> None:
    """PUT/POST/DELETE with an unknown sub-resource are NotImplemented 501 and leave objects untouched."""
    # Swift's s3api let `PUT ?retention` fall through to PutObject and overwrite data (issue 4); see
    # core.s3_unknown_subresource for why 501 is the answer pinned.
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "subres") as bucket:
        s3.put_object(Bucket=bucket, Key="kept", Body=b"original")
        for method, key, sub in (("PUT", "kept", "retentionx"), ("PUT", "fresh", "compatbogus"),
                                 ("DELETE", "kept", "retentionx"), ("POST", "kept", "compatbogus")):
            resp = ctx.s3(method, f"/{bucket}/{key}", query=sub, body=b"overwritten" if method != "DELETE" else None)
            check(get_body(s3, bucket, "kept") == b"original",
                  f"{method} ?{sub} (answered {resp.status}) changed the object")
            check(object_absent(s3, bucket, "fresh"), f"{method} ?{sub} (answered {resp.status}) created an object")
            expect_error("NotImplemented", 501, resp)


def _sse_c_headers() -> dict[str, str]:
    key = os.urandom(32)
    return {"x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
            "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


@scenario(SUITE)
def s3_object_sse_c_never_ignored(ctx: Ctx) -> None:
    """SSE-C on PUT is NotImplemented 501 with nothing stored, unless the endpoint really honours it."""
    # "Honours" = the object then refuses a GET without the key (InvalidRequest 400), as AWS does.
    # Storing the data in clear while answering 200 is the defect this scenario exists for.
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "ssec") as bucket:
        resp = ctx.s3("PUT", f"/{bucket}/secret", headers=_sse_c_headers(), body=b"secret data")
        if resp.status >= 300:
            check(object_absent(s3, bucket, "secret"), f"refused SSE-C PUT ({resp.status}) stored the object")
            expect_error("NotImplemented", 501, resp)
            return
        expect_error("InvalidRequest", 400, ctx.s3("GET", f"/{bucket}/secret"))


@scenario(SUITE)
def s3_object_sse_kms_never_ignored(ctx: Ctx) -> None:
    """SSE-KMS on PUT is refused with nothing stored, unless the object reports aws:kms.

    Refusals: NotImplemented 501, or KMS.NotFoundException 400 (S3's answer when the KMS key does not
    exist — an endpoint without a KMS has none)."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "ssekms") as bucket:
        info = outcome_of(lambda: s3.put_object(Bucket=bucket, Key="kms", Body=b"data",
                                                ServerSideEncryption="aws:kms"))
        if info is not None:
            check(object_absent(s3, bucket, "kms"), f"refused SSE-KMS PUT ({info.describe()}) stored the object")
            if info.code == "KMS.NotFoundException":
                check_error("KMS.NotFoundException", 400, info)
            else:
                check_error("NotImplemented", 501, info)
            return
        sse = s3.head_object(Bucket=bucket, Key="kms").get("ServerSideEncryption")
        check(sse == "aws:kms", f"SSE-KMS PUT answered 200 but HEAD says ServerSideEncryption={sse!r}")


@scenario(SUITE)
def s3_object_storage_classes(ctx: Ctx) -> None:
    """STANDARD accepted; unknown class InvalidStorageClass 400; GLACIER refused so or truly GLACIER.

    GLACIER must never be stored silently as STANDARD."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "sc") as bucket:
        expect_success(lambda: s3.put_object(Bucket=bucket, Key="std", Body=b"x", StorageClass="STANDARD"),
                       "PUT StorageClass=STANDARD")
        sc = s3.head_object(Bucket=bucket, Key="std").get("StorageClass")
        check(sc in (None, "STANDARD"), f"STANDARD object reports StorageClass {sc!r}")
        expect_error("InvalidStorageClass", 400,
                     lambda: s3.put_object(Bucket=bucket, Key="bogus", Body=b"x", StorageClass="COMPAT_BOGUS"))
        check(object_absent(s3, bucket, "bogus"), "a refused storage class stored the object")
        info = outcome_of(lambda: s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="GLACIER"))
        if info is not None:
            check(object_absent(s3, bucket, "cold"), "a refused GLACIER PUT stored the object")
            check_error("InvalidStorageClass", 400, info)
        else:
            sc = s3.head_object(Bucket=bucket, Key="cold").get("StorageClass")
            check(sc == "GLACIER", f"GLACIER PUT answered 200 but the object reports {sc!r}")
