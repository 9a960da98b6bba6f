"""Encrypted multipart uploads: each part is sealed on its own (sse_stream layout) with the upload's data
key and a nonce prefix made of the upload's 4-byte random prefix and the part number, so parts can be
uploaded, re-uploaded and copied independently. CreateMultipartUpload fixes the encryption (SSE-C
key check values, or the wrapped SSE-S3 data key) in the upload record; every UploadPart(Copy) of an
SSE-C upload must present the same key. At completion the gateway records each part's ciphertext size
and number (sse.NS_RECORD), which is what a read needs to find and open the chunks of a byte range.

Part ETags: SSE-S3 parts show their plaintext MD5 (as S3; recorded beside the part by UploadPart, see
multipart_checksums.remember_part), so the object's multipart ETag is S3's md5-of-plaintext-md5s "-N";
SSE-C parts (and parts copied into an encrypted upload) show the stored ciphertext MD5.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from typing import Any

from backends.base import ObjectInfo, ObjectStore

from ..context import RequestContext
from ..protocol import errors
from . import sse, sse_stream
from .sse import Crypt

_INITIATED = ("The multipart upload initiate requested encryption. Subsequent part requests must include the "
              "appropriate encryption parameters.")
_MISMATCH = "The provided encryption parameters did not match the ones used originally."


async def on_create(ctx: RequestContext, bucket: str, record: dict[str, Any]) -> dict[str, str]:
    """Decide the upload's encryption (request headers or bucket default); output members for S3."""
    crypt = await sse.for_write(ctx, bucket)
    if crypt is None:
        return {}
    record["sse"] = crypt.private
    return crypt.output()


def part_crypt(ctx: RequestContext, record: dict[str, Any], number: int) -> Crypt | None:
    """The Crypt that seals part `number`, after checking the request's SSE-C key against the upload."""
    private = record.get("sse")
    customer = sse.customer_key(ctx)
    if private is None:
        if customer is not None:
            raise errors.InvalidRequest(_MISMATCH)
        return None
    if private[sse.PRIVATE_MODE] == "C" and customer is None:
        raise errors.InvalidRequest(_INITIATED)
    info = ObjectInfo(key="", size=0, etag="", last_modified=None, private=dict(private))  # type: ignore[arg-type]
    try:
        crypt = sse.opener(ctx, info)
    except errors.AccessDenied:
        raise errors.InvalidRequest(_MISMATCH) from None
    assert crypt is not None
    crypt.prefix = part_prefix(crypt.prefix, number)
    return crypt


def part_prefix(upload_prefix: bytes, number: int) -> bytes:
    return upload_prefix[:4] + struct.pack(">I", number)


async def on_complete(ctx: RequestContext, bucket: str, record: dict[str, Any], stored: ObjectInfo,
                      parts: list[tuple[int, int]], etag: str) -> dict[str, str]:
    """Record the parts (number, ciphertext size) of a completed encrypted upload; output members."""
    private = record.get("sse")
    if private is None:
        return {}
    size = sum(sse_stream.plaintext_size(c) for _, c in parts)
    await ctx.gateway.store.put(sse.NS_RECORD, sse._record_key(bucket, stored.key, stored.etag),
                                {"size": size, "etag": etag, "parts": [list(p) for p in parts]})
    return {"ServerSideEncryption": "AES256"} if private[sse.PRIVATE_MODE] == "S3" else {}


async def read_parts(store: ObjectStore, bucket: str, head: ObjectInfo, crypt: Crypt, parts: list[list[int]],
                     first: int, last: int) -> AsyncIterator[bytes]:
    """Plaintext bytes first..last of an encrypted multipart object: for each part the range touches,
    one backend read of just the chunks needed, opened with that part's nonce prefix."""
    plain_start = cipher_start = 0
    for number, cipher_size in parts:
        plain_size = sse_stream.plaintext_size(cipher_size)
        plain_end = plain_start + plain_size - 1
        if plain_size and plain_end >= first and plain_start <= last:
            a, b = max(first, plain_start) - plain_start, min(last, plain_end) - plain_start
            c_first, c_last, index = sse_stream.cipher_range(a, b, plain_size)
            info, _, body = await store.get_object(bucket, head.key, version_id=head.version_id,
                                                   byte_range=(cipher_start + c_first, cipher_start + c_last))
            if info.etag != head.etag:
                await sse._close(body)
                raise errors.S3ServiceUnavailable("The object changed while it was read; retry.")
            part = Crypt(crypt.mode, crypt.data_key, part_prefix(crypt.prefix, number), {})
            async for piece in sse._plain(body, part, plain_size=plain_size, first_index=index,
                                          skip=a - index * sse_stream.CHUNK, length=b - a + 1):
                yield piece
        if plain_start > last:
            break
        plain_start += plain_size
        cipher_start += cipher_size
