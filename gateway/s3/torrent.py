"""GetObjectTorrent: a BitTorrent metainfo file for an object, as S3 makes one.

The object is read once and hashed in 256 KiB pieces (SHA-1, BitTorrent's piece hash); S3's own limits
apply (at most 5 GiB; not for objects under a customer-provided key, SSE-C). This gateway runs no tracker,
so the file names the object's URL as a web seed (BEP 19, `url-list`) instead of an `announce` URL: a
client downloads the pieces over HTTP from the gateway and checks each against its hash. Like S3's, the file
carries `x-amz-bucket` and `x-amz-key`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import acl, names, sse
from .buckets import check_expected_owner
from .common import backend_errors, object_store, s3_handler

PIECE = 256 * 1024
MAX_TORRENT_SIZE = 5 * 1024 ** 3


def bencode(value: Any) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):  # keys in byte order, as the format requires
        items = sorted((k.encode("utf-8") if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


async def piece_hashes(body: AsyncIterator[bytes]) -> tuple[bytes, int]:
    """(concatenated SHA-1 of each PIECE-byte piece, total length)."""
    pieces, current, filled, total = [], hashlib.sha1(usedforsecurity=False), 0, 0
    async for chunk in body:
        view = memoryview(chunk)
        total += len(view)
        while view:
            take = min(PIECE - filled, len(view))
            current.update(view[:take])
            filled, view = filled + take, view[take:]
            if filled == PIECE:
                pieces.append(current.digest())
                current, filled = hashlib.sha1(usedforsecurity=False), 0
    if filled:
        pieces.append(current.digest())
    return b"".join(pieces), total


@s3_handler("GetObjectTorrent", anonymous=True)
async def get_object_torrent(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key = p["Bucket"], p["Key"]
    names.check_bucket_name(bucket)
    await acl.require(ctx, bucket, key, "READ")
    check_expected_owner(ctx, await acl.resolve_owner(ctx, bucket))
    store = await object_store(ctx)
    with backend_errors(bucket=bucket, key=key):
        head = await store.head_object(bucket, key)
    if head.private.get(sse.PRIVATE_MODE) == "C":
        raise errors.InvalidRequest("Torrent creation is not supported for objects encrypted with a "
                                    "customer-provided key.")
    if head.size > MAX_TORRENT_SIZE:
        raise errors.InvalidRequest(f"Torrent creation is not supported for objects larger than {MAX_TORRENT_SIZE}")
    with backend_errors(bucket=bucket, key=key):
        info, _, body, _ = await sse.get_object(ctx, store, bucket, key, None, None, None)
    try:
        pieces, length = await piece_hashes(body)
    finally:
        with contextlib.suppress(Exception):
            await body.aclose()  # type: ignore[attr-defined]
    url = str(ctx.request.url.with_query(None))
    meta = {"info": {"length": length, "name": key.rstrip("/").rpartition("/")[2] or key,
                     "piece length": PIECE, "pieces": pieces},
            "url-list": [url], "x-amz-bucket": bucket, "x-amz-key": key}
    return {"Body": bencode(meta)}
