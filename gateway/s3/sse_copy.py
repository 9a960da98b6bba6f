"""Copies that involve encryption (CopyObject, UploadPartCopy): the backend's server-side copy cannot
change how bytes are encrypted, so the data streams through the gateway — the source decrypted with
its own key (x-amz-copy-source-server-side-encryption-customer-* for SSE-C), the destination sealed
with its own (request headers or bucket default) — in bounded memory, 64 KiB chunks at a time."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

from backends.base import ObjectInfo, ObjectStore

from ..context import RequestContext
from ..protocol import errors
from . import sse, sse_stream
from .sse import Crypt


class _Counted:
    """Pass-through that measures what went by: size and MD5 of the plaintext."""

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self.source, self.size, self.md5 = source, 0, hashlib.md5()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self.source:
            self.size += len(piece)
            self.md5.update(piece)
            yield piece


async def plaintext(ctx: RequestContext, store: ObjectStore, bucket: str, source: ObjectInfo,
                    src_crypt: Crypt | None, rec: dict | None, byte_range: tuple[int, int] | None = None) -> Any:
    """The plaintext of `source` (as presented: plaintext size), whole or bytes first..last."""
    if src_crypt is None:
        info, _, body = await store.get_object(bucket, source.key, version_id=source.version_id,
                                               byte_range=byte_range)
        if info.etag != source.etag:
            await sse._close(body)
            raise errors.S3ServiceUnavailable("The copy source changed while it was read; retry.")
        return body
    first, last = byte_range if byte_range is not None else (0, source.size - 1)
    return await sse.open_range(store, bucket, source, src_crypt, rec, first, last)


async def copy_through(ctx: RequestContext, store: ObjectStore, src_bucket: str, source: ObjectInfo,
                       src_crypt: Crypt | None, src_rec: dict | None, dst_bucket: str, dst_key: str, dst_crypt: Crypt | None, *, content_type: str | None,
                       metadata: Mapping[str, str] | None, headers: Mapping[str, str] | None,
                       private: dict[str, str]) -> tuple[ObjectInfo, int, str]:
    """Stream source → destination; returns the stored object, the plaintext size and its MD5 (hex)."""
    counted = _Counted(await plaintext(ctx, store, src_bucket, source, src_crypt, src_rec))
    body: Any = counted
    size = source.size
    if dst_crypt is not None:
        private = {**private, **dst_crypt.private}
        body, size = dst_crypt.seal(counted), sse_stream.ciphertext_size(source.size)
    info = await store.put_object(dst_bucket, dst_key, body, size=size,
                                  content_type=content_type or source.content_type,
                                  metadata=source.metadata if metadata is None else metadata,
                                  private=private, headers=source.headers if headers is None else headers)
    return info, counted.size, counted.md5.hexdigest()
