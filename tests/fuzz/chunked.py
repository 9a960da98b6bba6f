"""aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD and the unsigned trailer form), correctly
signed, then broken in their framing: sizes, signatures, lengths, trailers."""

from __future__ import annotations

import random
import re
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest

from tests.test_auth_support import chunk_signature, v4_key

from .wire import RawRequest

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


class _Streaming(S3SigV4Auth):
    def __init__(self, creds: Any, region: str, marker: str) -> None:
        super().__init__(creds, "s3", region)
        self._marker = marker

    def payload(self, request: AWSRequest) -> str:
        return self._marker


def corrupt(rng: random.Random, target: Any, method: str, path: str, query: str,
            headers: list[tuple[str, str]]) -> tuple[str, RawRequest]:
    data = rng.choice((b"", b"x", b"hello world" * 100, bytes(range(256)) * 300))
    what = rng.choice(("ok", "bad-hex", "size-mismatch", "no-final", "bad-sig", "no-sig", "decoded-lie",
                       "decoded-nan", "no-decoded", "huge-size", "long-line", "ext-garbage", "unsigned-trailer",
                       "trailer-missing", "trailer-garbage", "extra-after-final"))
    marker = UNSIGNED_TRAILER if what.startswith(("unsigned", "trailer")) else STREAMING
    decoded = {"decoded-lie": str(len(data) + 7), "decoded-nan": rng.choice(("abc", "-5", "1e3", ""))}.get(
        what, str(len(data)))
    extra = [("Content-Encoding", "aws-chunked")]
    if what != "no-decoded":
        extra.append(("X-Amz-Decoded-Content-Length", decoded))
    if marker == UNSIGNED_TRAILER:
        extra.append(("X-Amz-Trailer", "x-amz-checksum-crc32"))
    url = f"http://{target.netloc}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, headers=dict(headers + extra))
    _Streaming(target.credentials, target.region, marker).add_auth(req)
    authz = req.headers["Authorization"]
    seed = authz.rpartition("Signature=")[2]
    stamp = req.headers["X-Amz-Date"]
    scope = re.search(r"Credential=[^/]+/([^,]+)", authz).group(1)
    key = v4_key(target.secret_key, stamp[:8], target.region)
    chunks = [data[i:i + 8192] for i in range(0, len(data), 8192)]
    body = b""
    previous = seed
    if marker == UNSIGNED_TRAILER:
        for c in chunks:
            body += b"%x\r\n" % len(c) + c + b"\r\n"
        body += b"0\r\n"
        body += {"trailer-missing": b"\r\n", "trailer-garbage": b"x-amz-checksum-crc32:!!!notbase64\r\n\r\n"}.get(
            what, b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n")
    else:
        for c in [*chunks, b""]:
            sig = chunk_signature(key, stamp, scope, previous, c)
            previous = sig
            size = b"%x" % len(c)
            if what == "bad-hex":
                size = b"zz"
            elif what == "size-mismatch" and c:
                size = b"%x" % (len(c) + 1)
            elif what == "huge-size":
                size = b"ffffffffffff"
            if what == "bad-sig":
                sig = "0" * 64
            line = size + (b"" if what == "no-sig" else b";chunk-signature=" + sig.encode())
            if what == "long-line":
                line += b";" + b"x" * 10000
            elif what == "ext-garbage":
                line += b";a=b;;=\x00"
            if what == "no-final" and not c:
                break
            body += line + b"\r\n" + c + b"\r\n"
        if what == "extra-after-final":
            body += b"garbage after the final chunk"
    heads = [("Host", target.netloc)] + [(k, v) for k, v in req.headers.items() if k.lower() != "host"]
    split_target = url.split(target.netloc, 1)[1]
    return what, RawRequest(method, split_target, heads, body)
