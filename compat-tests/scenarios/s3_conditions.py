"""Suite "s3", conditional writes and deletes and wire details: If-None-Match / If-Match races (exactly one
winner), conditional deletes (a delete marker fails the precondition), CopyObject source and destination
conditions, overlapping overwrites (the write that completed last stays), RFC 2047 metadata, Content-Encoding
verbatim, `Expect: 100-continue` after authentication, SigV2 and presign edge cases, and the operations S3
answers with a specific error."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import SUITE, expect_success, get_body, presigner, send_url, temp_bucket

OTHER_ETAG = '"0123456789abcdef0123456789abcdef"'
WRITERS = 6


def _status_code(err: ClientError) -> tuple[int, str]:
    return err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]["Code"]


def _race(ctx: Ctx, bucket: str, key: str, **cond: Any) -> list[tuple[int, str, bytes]]:
    """WRITERS conditional PutObjects released at once: [(status, code, body)]."""
    gate = threading.Barrier(WRITERS)

    def one(i: int) -> tuple[int, str, bytes]:
        s3, body = ctx.client("s3"), bytes([65 + i]) * (256 * 1024)
        gate.wait(timeout=30)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, **cond)
            return 200, "", body
        except ClientError as err:
            return (*_status_code(err), body)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(one, range(WRITERS)))


def _one_winner(ctx: Ctx, bucket: str, key: str, results: list[tuple[int, str, bytes]]) -> None:
    winners = [body for status, _, body in results if status == 200]
    check(len(winners) == 1, f"{len(winners)} of {WRITERS} conditional writers succeeded, expected exactly one")
    losers = {(status, code) for status, code, _ in results if status != 200}
    check(losers <= {(412, "PreconditionFailed"), (409, "ConditionalRequestConflict")},
          f"losers answered {sorted(losers)}, expected PreconditionFailed 412 or ConditionalRequestConflict 409")
    check(get_body(ctx.client("s3"), bucket, key) == winners[0], "the stored object is not the winner's")


@scenario(SUITE)
def s3_cond_if_none_match_race(ctx: Ctx) -> None:
    """Six PutObjects with If-None-Match: * at once on a new key: exactly one succeeds, the rest 412/409."""
    with temp_bucket(ctx, "inmrace") as bucket:
        _one_winner(ctx, bucket, "k", _race(ctx, bucket, "k", IfNoneMatch="*"))


@scenario(SUITE)
def s3_cond_if_match_race(ctx: Ctx) -> None:
    """Six PutObjects with the same If-Match ETag at once: a compare-and-swap, exactly one succeeds."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "imrace") as bucket:
        etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v0")["ETag"]
        _one_winner(ctx, bucket, "k", _race(ctx, bucket, "k", IfMatch=etag))


@scenario(SUITE)
def s3_cond_delete_if_match(ctx: Ctx) -> None:
    """DeleteObject If-Match: a wrong ETag is PreconditionFailed 412 (object kept), the right one deletes
    (204), a key holding nothing is NoSuchKey 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "delim") as bucket:
        etag = s3.put_object(Bucket=bucket, Key="k", Body=b"data")["ETag"]
        expect_error("PreconditionFailed", 412, lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch=OTHER_ETAG))
        check(get_body(s3, bucket, "k") == b"data", "a refused conditional delete removed the object")
        out = expect_success(lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag), "delete If-Match")
        check(out["ResponseMetadata"]["HTTPStatusCode"] == 204, "a conditional delete did not answer 204")
        expect_error("NoSuchKey", 404, lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag))


@scenario(SUITE)
def s3_cond_delete_if_match_on_delete_marker(ctx: Ctx) -> None:
    """Versioned bucket, current version a delete marker: DeleteObject If-Match is PreconditionFailed 412
    (not NoSuchKey), in DeleteObjects too, and adds no marker."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "delmark") as bucket:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        etag = s3.put_object(Bucket=bucket, Key="k", Body=b"data")["ETag"]
        s3.delete_object(Bucket=bucket, Key="k")
        expect_error("PreconditionFailed", 412, lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch=OTHER_ETAG))
        out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "ETag": etag}]})
        codes = [e.get("Code") for e in out.get("Errors", [])]
        check(codes == ["PreconditionFailed"], f"DeleteObjects with an ETag on a delete marker: errors {codes}")
        markers = s3.list_object_versions(Bucket=bucket).get("DeleteMarkers", [])
        check(len(markers) == 1, f"{len(markers)} delete markers after refused conditional deletes, expected 1")


@scenario(SUITE)
def s3_cond_delete_objects_etag(ctx: Ctx) -> None:
    """DeleteObjects with per-key ETags: the matching key is Deleted, the other PreconditionFailed."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "delsetag") as bucket:
        a = s3.put_object(Bucket=bucket, Key="a", Body=b"a")["ETag"]
        s3.put_object(Bucket=bucket, Key="b", Body=b"b")
        out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "ETag": a},
                                                                   {"Key": "b", "ETag": OTHER_ETAG}]})
        check([d["Key"] for d in out.get("Deleted", [])] == ["a"], f"Deleted {out.get('Deleted')}")
        check([(e["Key"], e["Code"]) for e in out.get("Errors", [])] == [("b", "PreconditionFailed")],
              f"Errors {out.get('Errors')}")
        check(get_body(s3, bucket, "b") == b"b", "the refused key was deleted")


@scenario(SUITE)
def s3_cond_copy_destination(ctx: Ctx) -> None:
    """CopyObject If-None-Match: * onto an existing key and a wrong If-Match are PreconditionFailed 412."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "cpdst") as bucket:
        s3.put_object(Bucket=bucket, Key="src", Body=b"source")
        s3.put_object(Bucket=bucket, Key="dst", Body=b"old")
        src = f"{bucket}/src"
        expect_error("PreconditionFailed", 412,
                     lambda: s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, IfNoneMatch="*"))
        expect_error("PreconditionFailed", 412,
                     lambda: s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, IfMatch=OTHER_ETAG))
        check(get_body(s3, bucket, "dst") == b"old", "a refused conditional copy replaced the object")
        expect_success(lambda: s3.copy_object(Bucket=bucket, Key="new", CopySource=src, IfNoneMatch="*"),
                       "CopyObject If-None-Match: * onto a new key")


@scenario(SUITE)
def s3_cond_copy_source_precedence(ctx: Ctx) -> None:
    """Copy-source conditions: a true if-match wins over a false if-unmodified-since; a false
    if-none-match with a true if-modified-since is 412; each false condition alone is 412."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "cpsrc") as bucket:
        etag = s3.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
        modified = s3.head_object(Bucket=bucket, Key="src")["LastModified"]
        past = modified - dt.timedelta(days=1)
        src = f"{bucket}/src"

        def copy(**kw: Any) -> Any:
            return s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, **kw)

        expect_success(lambda: copy(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=past),
                       "copy with a true if-match and a false if-unmodified-since")
        expect_error("PreconditionFailed", 412,
                     lambda: copy(CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=past))
        expect_error("PreconditionFailed", 412, lambda: copy(CopySourceIfMatch=OTHER_ETAG))
        expect_error("PreconditionFailed", 412, lambda: copy(CopySourceIfUnmodifiedSince=past))
        expect_error("PreconditionFailed", 412, lambda: copy(CopySourceIfModifiedSince=modified))


@scenario(SUITE)
def s3_cond_complete_multipart(ctx: Ctx) -> None:
    """CompleteMultipartUpload with a wrong If-Match or If-None-Match: * onto an existing key: 412; with
    the current ETag as If-Match it completes."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mpucond") as bucket:
        etag = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
        uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"new")["ETag"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": part}]}
        expect_error("PreconditionFailed", 412, lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload=parts, IfMatch=OTHER_ETAG))
        expect_error("PreconditionFailed", 412, lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid, MultipartUpload=parts, IfNoneMatch="*"))
        expect_success(lambda: s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid,
                                                            MultipartUpload=parts, IfMatch=etag),
                       "CompleteMultipartUpload with the current ETag as If-Match")
        check(get_body(s3, bucket, "k") == b"new", "the completed upload did not replace the object")


# ---- wire details ------------------------------------------------------------------------------------------
def _signed_head(ctx: Ctx, method: str, path: str, body: bytes, extra: dict[str, str] | None = None) -> bytes:
    """The request line and SigV4-signed headers (body hash included) for a raw socket."""
    t = ctx.target
    req = AWSRequest(method, t.s3_endpoint.rstrip("/") + path, data=body, headers=dict(extra or {}))
    S3SigV4Auth(Credentials(t.access_key, t.secret_key), "s3", t.region).add_auth(req)
    u = urlsplit(t.s3_endpoint)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {u.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in req.prepare().headers.items() if k.lower() not in ("host", "content-length")]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _connect(ctx: Ctx) -> socket.socket:
    u = urlsplit(ctx.target.s3_endpoint)
    return socket.create_connection((u.hostname, u.port or 80), timeout=max(ctx.target.timeout, 30))


@scenario(SUITE)
def s3_wire_overlapping_overwrites(ctx: Ctx) -> None:
    """A slow PUT started first and a fast PUT of the same key started while it uploads: the object left is
    the one of the write that completed last."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "order") as bucket:
        slow_body, answered = b"S" * (256 * 1024), {}

        def slow() -> None:
            head = _signed_head(ctx, "PUT", f"/{bucket}/k", slow_body)
            with _connect(ctx) as sock:
                sock.sendall(head)
                for i in range(0, len(slow_body), len(slow_body) // 4):
                    if i:
                        time.sleep(0.4)
                    sock.sendall(slow_body[i:i + len(slow_body) // 4])
                status = sock.recv(65536).split(b" ", 2)[1]
                answered["slow"] = (int(status), time.monotonic())

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)
        expect_success(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"fast"), "the fast PUT")
        answered["fast"] = (200, time.monotonic())
        thread.join(timeout=60)
        check(answered.get("slow", (0,))[0] == 200, f"the slow PUT answered {answered.get('slow')}")
        last = max(("slow", "fast"), key=lambda w: answered[w][1])
        stored = get_body(s3, bucket, "k")
        check(stored == (slow_body if last == "slow" else b"fast"),
              f"the {last} write completed last, but the object is the other one")


@scenario(SUITE)
def s3_wire_metadata_rfc2047(ctx: Ctx) -> None:
    """x-amz-meta values sent as RFC 2047 words are decoded when stored and answered as one
    =?UTF-8?B?...?= word (non-ASCII), ASCII ones as sent."""
    with temp_bucket(ctx, "rfc2047") as bucket:
        sent = {"x-amz-meta-q": "=?UTF-8?Q?caf=C3=A9?=", "x-amz-meta-plain": "plain"}
        resp = ctx.s3("PUT", f"/{bucket}/m", headers=sent, body=b"x")
        check(resp.status == 200, f"PUT with encoded-word metadata answered {resp.status}")
        head = ctx.s3("HEAD", f"/{bucket}/m")
        got = head.headers
        check(got.get("x-amz-meta-q") == "=?UTF-8?B?Y2Fmw6k=?=", f"x-amz-meta-q came back {got.get('x-amz-meta-q')!r}")
        check(got.get("x-amz-meta-plain") == "plain", f"x-amz-meta-plain came back {got.get('x-amz-meta-plain')!r}")


@scenario(SUITE)
def s3_wire_content_encoding_verbatim(ctx: Ctx) -> None:
    """Content-Encoding is stored and answered byte for byte (spacing and case included)."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "cenc") as bucket:
        odd = "gzip, br;q=1 ,  X-Weird"
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentEncoding=odd)
        got = s3.head_object(Bucket=bucket, Key="k").get("ContentEncoding")
        check(got == odd, f"Content-Encoding came back {got!r}, sent {odd!r}")


@scenario(SUITE)
def s3_wire_expect_continue_after_auth(ctx: Ctx) -> None:
    """A PUT with Expect: 100-continue and a wrong signature gets its 403 SignatureDoesNotMatch before any
    100 Continue; a valid one gets 100 Continue, then 200."""
    with temp_bucket(ctx, "expect") as bucket:
        body = b"0123456789"
        head = _signed_head(ctx, "PUT", f"/{bucket}/k", body, {"Expect": "100-continue"})
        bad = head.replace(b"Signature=", b"Signature=0", 1)
        with _connect(ctx) as sock:
            sock.sendall(bad)
            first = sock.recv(65536)
        check(first.startswith(b"HTTP/1.1 403"), f"a bad signature was first answered {first[:40]!r}")
        check(b"SignatureDoesNotMatch" in first, "the first answer is not SignatureDoesNotMatch")
        with _connect(ctx) as sock:
            sock.sendall(head)
            first = sock.recv(65536)
            check(first.startswith(b"HTTP/1.1 100"), f"a valid PUT was first answered {first[:40]!r}")
            sock.sendall(body)
            rest = first.split(b"\r\n\r\n", 1)[1] or sock.recv(65536)
            check(rest.startswith(b"HTTP/1.1 200"), f"after the body: {rest[:40]!r}")


def _sigv2_put(ctx: Ctx, path: str, *, replace: dict[str, str]) -> tuple[int, bytes]:
    t = ctx.target
    req = AWSRequest("PUT", t.s3_endpoint.rstrip("/") + path, data=b"x")
    HmacV1Auth(Credentials(t.access_key, t.secret_key)).add_auth(req)
    headers = {**dict(req.prepare().headers.items()), **replace}
    u = urlsplit(t.s3_endpoint)
    lines = [f"PUT {path} HTTP/1.1", f"Host: {u.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    lines.append("Content-Length: 1")
    with _connect(ctx) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"x")
        answer = b""
        while b"</Error>" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


@scenario(SUITE)
def s3_wire_sigv2_date_edges(ctx: Ctx) -> None:
    """SigV2: a Date before 1970 and an empty Authorization are AccessDenied 403; a date in year 9999 is
    RequestTimeTooSkewed 403."""
    with temp_bucket(ctx, "v2date") as bucket:
        for replace, code in (({"Date": "Tue, 07 Jul 1950 21:53:04 GMT"}, "AccessDenied"),
                              ({"Authorization": ""}, "AccessDenied"),
                              ({"x-amz-date": "Tue, 07 Jul 9999 21:53:04 GMT"}, "RequestTimeTooSkewed")):
            status, answer = _sigv2_put(ctx, f"/{bucket}/k", replace=replace)
            check(status == 403 and f"<Code>{code}</Code>".encode() in answer,
                  f"{replace}: answered {status} {answer[-300:]!r}, expected {code} 403")


@scenario(SUITE)
def s3_wire_presign_expires_zero(ctx: Ctx) -> None:
    """A presigned URL with X-Amz-Expires=0 is refused with 403."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "presign0") as bucket:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        url = presigner(ctx).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"},
                                                    ExpiresIn=600)
        resp = send_url(ctx, "GET", url.replace("X-Amz-Expires=600", "X-Amz-Expires=0"))
        check(resp.status == 403, f"X-Amz-Expires=0 answered {resp.status}")


@scenario(SUITE)
def s3_wire_specific_errors(ctx: Ctx) -> None:
    """RestoreObject of a STANDARD object is InvalidObjectState 403; a missing analytics/metrics
    configuration is NoSuchConfiguration 404; GetObjectTorrent answers a torrent holding the data's hash."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "specific") as bucket:
        data = b"torrent me"
        s3.put_object(Bucket=bucket, Key="k", Body=data)
        expect_error("InvalidObjectState", 403,
                     lambda: s3.restore_object(Bucket=bucket, Key="k", RestoreRequest={"Days": 1}))
        expect_error("NoSuchConfiguration", 404,
                     lambda: s3.get_bucket_analytics_configuration(Bucket=bucket, Id="nope"))
        expect_error("NoSuchConfiguration", 404,
                     lambda: s3.get_bucket_metrics_configuration(Bucket=bucket, Id="nope"))
        torrent = expect_success(lambda: s3.get_object_torrent(Bucket=bucket, Key="k")["Body"].read(),
                                 "GetObjectTorrent")
        check(torrent.startswith(b"d") and hashlib.sha1(data).digest() in torrent,
              "the torrent does not carry the SHA-1 of the object's single piece")
