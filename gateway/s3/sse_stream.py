"""Chunked AEAD for objects at rest: AES-256-GCM per 64 KiB of plaintext, streaming both ways.

Layout of an encrypted object as the backend stores it: the ciphertext of each plaintext chunk followed
by its 16-byte tag, nothing else (the per-object parameters live in the object's private metadata).
The nonce of chunk i is an 8-byte per-object random prefix followed by i (4 bytes, big-endian); the AAD
is i (8 bytes) and a final-chunk flag, so chunks can be neither reordered nor dropped nor the object cut
short at a chunk boundary. An empty object is one empty final chunk (16 bytes).

Sizes map both ways without metadata: n = max(1, ceil(P / CHUNK)) chunks, C = P + 16 n; hence a ranged
read asks the backend for just the ciphertext chunks that cover the plaintext range.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterable, AsyncIterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 64 * 1024
TAG = 16
SEALED = CHUNK + TAG
PREFIX_BYTES = 8
BATCH = 1024 * 1024


class Tampered(Exception):
    """A chunk failed authentication, or the stored object ended early or late."""


def ciphertext_size(plain: int) -> int:
    return plain + TAG * max(1, -(-plain // CHUNK))


def plaintext_size(cipher: int) -> int:
    chunks = max(1, -(-cipher // SEALED))
    return max(0, cipher - TAG * chunks)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(index: int, final: bool) -> bytes:
    return struct.pack(">QB", index, 1 if final else 0)


async def encrypt(source: AsyncIterable[bytes], key: bytes, prefix: bytes, *,
                  first_index: int = 0) -> AsyncIterator[bytes]:
    """Sealed chunks of `source`, handed on about BATCH bytes at a time (fewer, larger writes). One
    plaintext chunk is held back until the next byte shows whether it is the last (the final flag), so
    memory stays at a few chunks plus one batch."""
    aead = AESGCM(key)
    index = first_index
    pending = bytearray()  # < CHUNK bytes, or a full chunk that may be the last
    out: list[bytes] = []
    out_size = 0
    async for piece in source:
        view = memoryview(piece)
        if pending:
            take = CHUNK - len(pending)
            pending += view[:take]
            view = view[take:]
            if not len(view):
                continue
            out.append(aead.encrypt(_nonce(prefix, index), bytes(pending), _aad(index, False)))
            out_size += SEALED
            index += 1
            pending = bytearray()
        while len(view) > CHUNK:  # strictly more: this chunk is known not to be the final one
            out.append(aead.encrypt(_nonce(prefix, index), view[:CHUNK], _aad(index, False)))
            out_size += SEALED
            index += 1
            view = view[CHUNK:]
        pending = bytearray(view)
        if out_size >= BATCH:
            yield b"".join(out)
            out, out_size = [], 0
    out.append(aead.encrypt(_nonce(prefix, index), bytes(pending), _aad(index, True)))
    yield b"".join(out)


def cipher_range(first: int, last: int, plain_size: int) -> tuple[int, int, int]:
    """For the plaintext bytes first..last (inclusive): the ciphertext byte range to fetch and the index
    of its first chunk."""
    c_first = first // CHUNK
    c_last = last // CHUNK if plain_size else 0
    end = min((c_last + 1) * SEALED, ciphertext_size(plain_size)) - 1
    return c_first * SEALED, end, c_first


async def decrypt(source: AsyncIterable[bytes], key: bytes, prefix: bytes, *, plain_size: int,
                  first_index: int = 0, skip: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
    """Plaintext of sealed chunks starting at chunk `first_index`; drops `skip` leading bytes and stops
    after `length` bytes. Raises Tampered on a bad tag or a stream that ends at the wrong place."""
    aead = AESGCM(key)
    final_index = max(1, -(-plain_size // CHUNK)) - 1
    remaining = plain_size - first_index * CHUNK - skip if length is None else length
    index = first_index
    buf = bytearray()

    def open_chunk(sealed: bytes) -> bytes:
        try:
            return aead.decrypt(_nonce(prefix, index), sealed, _aad(index, index == final_index))
        except InvalidTag:
            raise Tampered(f"chunk {index} failed authentication") from None

    async for piece in source:
        buf += piece
        start, batch = 0, []
        while len(buf) - start >= SEALED and remaining > 0:
            plain = open_chunk(bytes(buf[start:start + SEALED]))
            start += SEALED
            index += 1
            if skip:
                plain, skip = plain[skip:], 0
            chunk = plain[:remaining]
            remaining -= len(chunk)
            batch.append(chunk)
        if start:
            del buf[:start]
        if batch:
            yield b"".join(batch)
    if remaining > 0:
        if not buf or index > final_index:
            raise Tampered("stored object ended early")
        plain = open_chunk(bytes(buf))
        if skip:
            plain = plain[skip:]
        out = plain[:remaining]
        if len(out) != remaining:
            raise Tampered("stored object ended early")
        yield out
