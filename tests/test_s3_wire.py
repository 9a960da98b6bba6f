"""S3 wire details on the real devcloud Swift, at the HTTP level: non-ASCII user metadata (RFC 2047),
Content-Encoding byte for byte, `Expect: 100-continue` only after authentication, SigV2 date and
Authorization edge cases, presigned X-Amz-Expires bounds, and the operations S3 answers with a specific
error (GetObjectTorrent, RestoreObject, per-Id bucket configurations...)."""

from __future__ import annotations

import base64
import hashlib
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from gateway.s3.torrent import PIECE, bencode

from .s3_support import aws_error, raw


def _v2(gw, method: str, path: str, *, body: bytes = b"", headers: dict | None = None,
        after: dict | None = None, drop: tuple[str, ...] = ()) -> tuple[int, bytes]:
    """A SigV2-signed request; `after` replaces header values once signed, `drop` removes headers."""
    import http.client

    req = AWSRequest(method, gw.endpoint + path, data=body, headers=dict(headers or {}))
    HmacV1Auth(Credentials(gw.creds_a.access_key, gw.creds_a.secret_key)).add_auth(req)
    sent = {k: v for k, v in req.prepare().headers.items() if k not in drop}
    sent.update(after or {})
    u = urlsplit(gw.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in sent.items():
            conn.putheader(k, v)
        if "Content-Length" not in sent:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _code(body: bytes) -> str:
    return body.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode() if b"<Code>" in body else ""


# ---- non-ASCII metadata ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sent,stored", [
    ("é".encode(), "é"),                                         # raw UTF-8 (curl, rclone, Go and JS SDKs)
    (b"=?UTF-8?B?w6k=?=", "é"),                                  # an encoded word, base64
    (b"=?utf-8?q?caf=C3=A9?= au lait", "café au lait"),          # an encoded word, quoted-printable
    (b"\xe9t\xe9", "été"),                                       # ISO-8859-1 bytes
    (b"plain ascii =? not a word", "plain ascii =? not a word"),  # kept as sent
])
def test_non_ascii_metadata_round_trips_as_rfc2047(s3_gateway, bucket, sent, stored):
    s3, name = s3_gateway.client_a(), bucket()
    # Signed over the text the client means (SigV4 hashes its UTF-8) when it is UTF-8; botocore cannot sign
    # raw ISO-8859-1 bytes, so that one goes unsigned.
    try:
        signed = {"x-amz-meta-note": sent.decode("utf-8")}
    except UnicodeDecodeError:
        signed = {}
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{name}/m", body=b"x",
                          headers=signed, unsigned={"x-amz-meta-note": sent})
    assert status == 200, body
    expected = stored if stored.isascii() else "=?UTF-8?B?" + base64.b64encode(stored.encode()).decode() + "?="
    for method in ("HEAD", "GET"):
        status, _, headers = raw(s3_gateway.endpoint, s3_gateway.creds_a, method, f"/{name}/m", body=b"")
        assert status == 200 and headers["x-amz-meta-note"] == expected
    assert s3.head_object(Bucket=name, Key="m")["Metadata"] == {"note": expected}
    # CopyObject keeps the stored text; an encoded word given with REPLACE is decoded again.
    s3.copy_object(Bucket=name, Key="c", CopySource=f"{name}/m")
    assert s3.head_object(Bucket=name, Key="c")["Metadata"] == {"note": expected}


def test_content_encoding_byte_for_byte(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    odd = "gzip, br;q=1 ,  X-Weird"
    s3.put_object(Bucket=name, Key="k", Body=b"x", ContentEncoding=odd)
    assert s3.head_object(Bucket=name, Key="k")["ContentEncoding"] == odd
    status, _, headers = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}/k", body=b"")
    assert status == 200 and headers["content-encoding"] == odd


# ---- Expect: 100-continue ------------------------------------------------------------------------------
def _expect_put(gw, path: str, creds, *, secret: str | None = None, body: bytes = b"0123456789"
                ) -> tuple[bytes, bytes]:
    """PUT with `Expect: 100-continue` over a bare socket, sending only the headers: (first answer line,
    the rest). The body goes only after a 100 Continue."""
    req = AWSRequest("PUT", gw.endpoint + path, data=body,
                     headers={"Expect": "100-continue", "Content-Length": str(len(body))})
    S3SigV4Auth(Credentials(creds.access_key, secret or creds.secret_key), "s3", "us-east-1").add_auth(req)
    u = urlsplit(gw.endpoint)
    head = f"PUT {path} HTTP/1.1\r\nHost: {u.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in req.prepare().headers.items() if k.lower() != "host") + "\r\n"
    with socket.create_connection((u.hostname, u.port), timeout=15) as sock:
        sock.sendall(head.encode())
        first = sock.recv(65536)
        if first.startswith(b"HTTP/1.1 100"):
            sock.sendall(body)
            rest = b""
            while b"\r\n\r\n" not in rest:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            return first, rest
        return first, b""


def test_expect_continue_only_after_authentication(s3_gateway, bucket):
    gw, name = s3_gateway, bucket()
    first, _ = _expect_put(gw, f"/{name}/bad", gw.creds_a, secret="wrong" * 8)
    assert first.startswith(b"HTTP/1.1 403") and b"SignatureDoesNotMatch" in first
    # The body was never invited: the connection is not reused (its next bytes may or may not be the body).
    assert b"\r\nConnection: close\r\n" in first
    # Authenticated, but not allowed to write into tenant a's bucket: invited (the body is read or drained, so
    # a proxy in front stays in step with the connection), then refused.
    first, rest = _expect_put(gw, f"/{name}/other", gw.creds_b)
    assert first.startswith(b"HTTP/1.1 100 Continue") and b"HTTP/1.1 403 Forbidden" in first + rest
    first, rest = _expect_put(gw, f"/{name}/good", gw.creds_a)
    assert first.startswith(b"HTTP/1.1 100 Continue") and (rest or first).count(b"HTTP/1.1 200") == 1
    assert gw.client_a().get_object(Bucket=name, Key="good")["Body"].read() == b"0123456789"


# ---- SigV2 and presigned edge cases ----------------------------------------------------------------------
def test_sigv2_date_and_authorization_edges(s3_gateway, bucket):
    gw, name = s3_gateway, bucket()
    path = f"/{name}/v2"
    assert _v2(gw, "PUT", path, body=b"x")[0] == 200  # the baseline signs and works
    cases = [
        ({}, {"Date": "Tue, 07 Jul 1950 21:53:04 GMT"}, (), "AccessDenied"),                # before the epoch
        ({"x-amz-date": "Tue, 07 Jul 1950 21:53:04 GMT"}, {}, (), "AccessDenied"),
        ({"x-amz-date": "Tue, 07 Jul 9999 21:53:04 GMT"}, {}, (), "RequestTimeTooSkewed"),  # after the end
        ({}, {}, ("Date",), "AccessDenied"),                                                 # no date at all
        ({}, {"Date": ""}, (), "AccessDenied"),                                              # an empty one
        ({}, {"Date": "Someday"}, (), "AccessDenied"),                                       # an unreadable one
        ({}, {"Authorization": ""}, (), "AccessDenied"),                                     # empty Authorization
        ({}, {"Authorization": "  "}, (), "AccessDenied"),                                   # blank
    ]
    for headers, after, drop, code in cases:  # (botocore's SigV2 signer sets Date itself: changed after)
        status, body = _v2(gw, "PUT", path, body=b"x", headers=headers, after=after, drop=drop)
        assert (status, _code(body)) == (403, code), (headers, after, drop, body[:300])


def test_presigned_expires_bounds(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(signature_version="s3v4"), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    ok = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "k"}, ExpiresIn=600)
    assert "X-Amz-Expires=600" in ok
    with urllib.request.urlopen(ok) as r:
        assert r.status == 200

    def fetch(expires: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(ok.replace("X-Amz-Expires=600", f"X-Amz-Expires={expires}")) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    status, body = fetch("604801")  # over a week
    assert (status, _code(body)) == (403, "AuthorizationQueryParametersError")
    assert b"X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be " \
           b"less than 604800 seconds" in body
    for out_of_range in ("-7", "0"):
        status, body = fetch(out_of_range)
        assert (status, _code(body)) == (403, "AuthorizationQueryParametersError")
        assert b"X-Amz-Expires must be non-negative" in body
    assert fetch("soon")[0] == 400  # not a number at all: malformed, 400


# ---- operations S3 answers with a specific error -----------------------------------------------------------
def test_get_object_torrent(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    data = bytes(range(256)) * 2048 + b"tail"  # two full pieces and a short one
    s3.put_object(Bucket=name, Key="dir/file.bin", Body=data)
    torrent = s3.get_object_torrent(Bucket=name, Key="dir/file.bin")["Body"].read()
    pieces = b"".join(hashlib.sha1(data[i:i + PIECE]).digest() for i in range(0, len(data), PIECE))
    assert len(pieces) == 3 * 20
    info = {"length": len(data), "name": "file.bin", "piece length": PIECE, "pieces": pieces}
    assert bencode(info) in torrent and b"8:url-list" in torrent and b"12:x-amz-bucket" in torrent
    with aws_error("NoSuchKey", 404):
        s3.get_object_torrent(Bucket=name, Key="ghost")


def test_operations_with_specific_errors(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    for kind in ("analytics", "metrics", "inventory", "intelligent_tiering"):
        with aws_error("NoSuchConfiguration", 404):
            getattr(s3, f"get_bucket_{kind}_configuration")(Bucket=name, Id="id1")
        with aws_error("NoSuchConfiguration", 404):
            getattr(s3, f"delete_bucket_{kind}_configuration")(Bucket=name, Id="id1")
        out = getattr(s3, f"list_bucket_{kind}_configurations")(Bucket=name)
        assert out["IsTruncated"] is False and not any(k.endswith("List") for k in out)
    with aws_error("InvalidObjectState", 403):
        s3.restore_object(Bucket=name, Key="k", RestoreRequest={"Days": 1})
    with aws_error("NoSuchKey", 404):
        s3.restore_object(Bucket=name, Key="ghost", RestoreRequest={"Days": 1})
    with aws_error("InvalidRequest", 400):
        s3.put_bucket_replication(Bucket=name, ReplicationConfiguration={
            "Role": "arn:aws:iam::111111111111:role/r",
            "Rules": [{"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::other"}}]})
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}?notification", body=b"")
    assert status == 200 and b"NotificationConfiguration" in body


# ---- concurrent overwrites end with the write that completed last -------------------------------------------
def _slow_put(endpoint: str, creds, path: str, body: bytes, pieces: int, pause: float) -> tuple[int, float]:
    """A PUT whose body trickles in (`pieces` parts, `pause` s apart) over a bare socket: (status, when the
    answer arrived, monotonic)."""
    import time

    req = AWSRequest("PUT", endpoint + path, data=body)
    S3SigV4Auth(Credentials(creds.access_key, creds.secret_key), "s3", "us-east-1").add_auth(req)
    u = urlsplit(endpoint)
    head = f"PUT {path} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in req.prepare().headers.items() if k.lower() not in ("host", "content-length")
    ) + f"Content-Length: {len(body)}\r\n\r\n"
    step = -(-len(body) // pieces)
    with socket.create_connection((u.hostname, u.port), timeout=60) as sock:
        sock.sendall(head.encode())
        for i in range(0, len(body), step):
            if i:
                time.sleep(pause)
            sock.sendall(body[i:i + step])
        answer = sock.recv(65536)  # read at once: when it arrived is what the test compares
        assert answer.startswith(b"HTTP/1.1 "), answer
        status = int(answer.split(b" ", 2)[1])
        assert status in (200, 503), answer
        return status, time.monotonic()


def _overlap(endpoint_slow: str, endpoint_fast: str, creds, client, bucket: str, *, copy: bool = False
             ) -> list[tuple[int, float, bytes]]:
    """A slow PUT, and a fast one (or a CopyObject) started while it uploads: [(status, answered at, body)]."""
    import threading
    import time

    slow_body, fast_body = b"S" * (256 * 1024), b"fast"
    out: dict[str, tuple[int, float, bytes]] = {}

    def slow() -> None:
        status, at = _slow_put(endpoint_slow, creds, f"/{bucket}/k", slow_body, pieces=4, pause=0.4)
        out["slow"] = (status, at, slow_body)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)  # the slow upload is under way
    try:
        if copy:
            client.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/src")
        else:
            client.put_object(Bucket=bucket, Key="k", Body=fast_body)
        out["fast"] = (200, time.monotonic(), fast_body)
    except ClientError as e:
        out["fast"] = (e.response["ResponseMetadata"]["HTTPStatusCode"], time.monotonic(), fast_body)
    t.join(timeout=60)
    return [out["slow"], out["fast"]]


def test_overlapping_overwrites_end_with_the_last_completed(s3_gateway, bucket):
    """A slow upload that started first and a fast one that started later: the object left is the one of the
    write that completed last (the fast one holds its answer back until the slow one has answered)."""
    s3, name = s3_gateway.client_a(), bucket()
    results = _overlap(s3_gateway.endpoint, s3_gateway.endpoint, s3_gateway.creds_a, s3, name)
    assert [r[0] for r in results] == [200, 200], results
    last = max(results, key=lambda r: r[1])[2]
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == last


def test_copy_overlapping_a_slow_put_ends_with_the_last_completed(s3_gateway, bucket):
    """A CopyObject onto a key a slow PUT is uploading to is ordered like a PUT."""
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="src", Body=b"fast")
    results = _overlap(s3_gateway.endpoint, s3_gateway.endpoint, s3_gateway.creds_a, s3, name, copy=True)
    assert [r[0] for r in results] == [200, 200], results
    last = max(results, key=lambda r: r[1])[2]
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == last


def test_overwrite_overtaken_after_the_wait_answers_503(s3_gateway, bucket, monkeypatch):
    """When the later writer cannot wait long enough, it answers first, and the earlier one — whose data the
    store discarded — answers a retryable 503 rather than a success it did not deliver."""
    from gateway.s3 import put_order

    monkeypatch.setattr(put_order, "WAIT_SECONDS", 0.1)
    s3, name = s3_gateway.client_a(), bucket()
    (slow_status, slow_at, _), (fast_status, fast_at, fast_body) = _overlap(
        s3_gateway.endpoint, s3_gateway.endpoint, s3_gateway.creds_a, s3, name)
    assert (fast_status, slow_status) == (200, 503) and fast_at < slow_at
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == fast_body


def test_listing_control_characters(s3_gateway, bucket):
    """A key with control characters: listed as S3 does, as character references (&#x1;) without
    encoding-type, percent-encoded with encoding-type=url."""
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="ctl\x01key\x1f&", Body=b"x")
    for query in ("list-type=2", "", "versions"):
        status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}?{query}".rstrip("?"),
                              body=b"")
        assert status == 200 and b"<Key>ctl&#x1;key&#x1f;&amp;</Key>" in body, body
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}?list-type=2&encoding-type=url",
                          body=b"")
    assert status == 200 and b"<Key>ctl%01key%1F%26</Key>" in body, body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["ctl\x01key\x1f&"]


# ---- pure helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sent,stored", [
    ("=?UTF-8?B?w6k=?=", "é"), ("=?utf-8?q?a_b?=", "a b"), ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),
    ("=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?="), ("=?nope?B?w6k=?=", "=?nope?B?w6k=?="), ("a=?b", "a=?b"),
    ("\udce9", "é"), ("日本", "日本")])
def test_meta_words_decode(sent, stored):
    from gateway.s3 import meta_words

    assert meta_words.decode(sent) == stored


def test_meta_words_encode_round_trips():
    import email.header

    from gateway.s3 import meta_words

    assert meta_words.encode("plain text") == "plain text"
    for text in ("é", "日本語 and ascii", "x" * 300 + "é"):
        word = meta_words.encode(text)
        assert word.isascii() and word.startswith("=?UTF-8?B?")
        assert str(email.header.make_header(email.header.decode_header(word))) == text


async def test_torrent_piece_hashes_across_chunk_boundaries():
    from gateway.s3.torrent import piece_hashes

    data = bytes(range(256)) * 3000  # 768,000 bytes: 2 full pieces and a part, in odd-sized chunks

    async def chunks():
        for i in range(0, len(data), 70_001):
            yield data[i:i + 70_001]

    pieces, length = await piece_hashes(chunks())
    assert length == len(data)
    assert pieces == b"".join(hashlib.sha1(data[i:i + PIECE]).digest() for i in range(0, len(data), PIECE))
    assert bencode({"b": [1, "x"], "a": b"\x00"}) == b"d1:a1:\x001:bli1e1:xee"
