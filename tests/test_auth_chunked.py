"""aws-chunked bodies: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (every chunk signature checked while streaming),
its -TRAILER variant, and botocore's STREAMING-UNSIGNED-PAYLOAD-TRAILER with trailing checksums; plus the
bounded memory of the reader."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import tracemalloc
import zlib

import aiohttp
import pytest
from aiohttp.base_protocol import BaseProtocol
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha1Checksum, Sha256Checksum

from gateway.auth import (
    AuthRequest,
    ChunkedSignedPayload,
    ChunkedUnsignedPayload,
    CredentialProvider,
    Identity,
    authenticate_s3,
)
from gateway.protocol import errors
from tests.test_auth_support import (
    CREDS,
    REGION,
    SECRET,
    FakeStream,
    drain,
    flip_last,
    provider,
    signed_chunks,
    to_auth_request,
    v4_key,
)

URL = "http://s3.cloudgate.test:8080/bucket/big.bin"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
DATA = bytes(range(256)) * 1000  # 256000 bytes


class _StreamingSigner(S3SigV4Auth):
    """botocore's S3 signer, told to sign the streaming marker instead of a body hash."""

    def __init__(self, marker: str) -> None:
        super().__init__(CREDS, "s3", REGION)
        self._marker = marker

    def payload(self, request):
        return self._marker


class Upload:
    """A signed aws-chunked upload: the request as authentication sees it plus how to encode its body."""

    def __init__(self, decoded_length: int | None, *, marker: str = STREAMING, trailer: str | None = None
                 ) -> None:
        headers = {"Content-Encoding": "aws-chunked"}
        if decoded_length is not None:
            headers["X-Amz-Decoded-Content-Length"] = str(decoded_length)
        if trailer:
            headers["X-Amz-Trailer"] = trailer
        request = AWSRequest(method="PUT", url=URL, headers=headers)
        _StreamingSigner(marker).add_auth(request)
        self.request: AuthRequest = to_auth_request(request, bucket="bucket")
        authz = self.request.headers["Authorization"]
        self.seed = authz.rpartition("Signature=")[2]
        self.timestamp = self.request.headers["X-Amz-Date"]
        self.scope = re.search(r"Credential=[^/]+/([^,]+)", authz).group(1)
        self.key = v4_key(SECRET, self.timestamp[:8])

    def body(self, chunks, trailers=None):
        return signed_chunks(chunks, key=self.key, seed=self.seed, timestamp=self.timestamp,
                             scope=self.scope, trailers=trailers)

    async def reader(self, blocks, piece: int = 1000):
        result = await authenticate_s3(self.request, provider(), region=REGION)
        return result.body_reader(FakeStream(blocks, piece=piece))


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# ---- STREAMING-AWS4-HMAC-SHA256-PAYLOAD -------------------------------------------------------------

async def test_signed_chunks_decode_to_the_body():
    upload = Upload(len(DATA))
    result = await authenticate_s3(upload.request, provider(), region=REGION)
    assert isinstance(result.payload, ChunkedSignedPayload)
    body = b"".join(upload.body(split(DATA, 65536)))
    reader = result.body_reader(FakeStream(body, piece=777))
    assert await drain(reader, 1000) == DATA
    assert await reader.read() == b""


async def test_signed_chunks_iterate_with_async_for():
    upload = Upload(len(DATA))
    pieces = [piece async for piece in await upload.reader(upload.body(split(DATA, 8192)))]
    assert b"".join(pieces) == DATA and len(pieces) == len(split(DATA, 8192))


async def test_empty_signed_body():
    upload = Upload(0)
    assert await drain(await upload.reader(upload.body([]))) == b""


async def test_tampered_chunk_data_is_signature_does_not_match_at_that_chunk():
    upload = Upload(len(DATA))
    blocks = list(upload.body(split(DATA, 65536)))
    blocks[2] = blocks[2].replace(DATA[131072:131080], b"\xff" * 8, 1)  # third chunk's data
    reader = await upload.reader(blocks)
    received = bytearray()
    with pytest.raises(errors.SignatureDoesNotMatch):
        while data := await reader.read(4096):
            received += data
    assert bytes(received) == DATA[:131072]  # exactly the two verified chunks were released
    with pytest.raises(errors.SignatureDoesNotMatch):  # and the reader stays failed
        await reader.read()


async def test_tampered_chunk_signature_is_signature_does_not_match():
    upload = Upload(len(DATA))
    blocks = list(upload.body(split(DATA, 65536)))
    header, _, rest = blocks[1].partition(b"\r\n")
    blocks[1] = header[:-1] + (b"0" if header[-1:] != b"0" else b"1") + b"\r\n" + rest
    with pytest.raises(errors.SignatureDoesNotMatch):
        await drain(await upload.reader(blocks))


async def test_tampered_final_chunk_signature_is_detected():
    upload = Upload(len(DATA))
    blocks = list(upload.body(split(DATA, 65536)))
    blocks[-1] = blocks[-1].replace(b"chunk-signature=", b"chunk-signature=0", 1)
    with pytest.raises(errors.SignatureDoesNotMatch):
        await drain(await upload.reader(blocks))


async def test_reordered_chunks_fail():
    upload = Upload(2 * 8192)
    blocks = list(upload.body([b"a" * 8192, b"b" * 8192]))
    blocks[0], blocks[1] = blocks[1], blocks[0]
    with pytest.raises(errors.SignatureDoesNotMatch):
        await drain(await upload.reader(blocks))


async def test_chunks_from_another_upload_fail():
    first, second = Upload(8192), Upload(8192)
    second.seed = first.seed[::-1]  # same key and scope, different seed signature
    with pytest.raises(errors.SignatureDoesNotMatch):
        await drain(await first.reader(second.body([b"x" * 8192])))


async def test_missing_chunk_signature_fails():
    upload = Upload(5)
    with pytest.raises(errors.SignatureDoesNotMatch):
        await drain(await upload.reader([b"5\r\nhello\r\n0\r\n\r\n"]))


@pytest.mark.parametrize("cut", [10, 70000, -3])
async def test_truncated_body_is_incomplete_body(cut):
    upload = Upload(len(DATA))
    body = b"".join(upload.body(split(DATA, 65536)))
    with pytest.raises(errors.IncompleteBody):
        await drain(await upload.reader(body[:cut]))


@pytest.mark.parametrize("declared", [len(DATA) + 1, len(DATA) - 1])
async def test_decoded_content_length_disagreeing_is_incomplete_body(declared):
    upload = Upload(declared)
    with pytest.raises(errors.IncompleteBody):
        await drain(await upload.reader(upload.body(split(DATA, 65536))))


async def test_missing_decoded_content_length_is_missing_content_length():
    upload = Upload(None)
    with pytest.raises(errors.MissingContentLength):
        await authenticate_s3(upload.request, provider(), region=REGION)


async def test_overlong_chunk_header_line_is_rejected():
    upload = Upload(5)
    with pytest.raises(errors.InvalidRequest):
        await drain(await upload.reader([b"5;" + b"x" * 10000 + b"\r\n"]))


async def test_bad_chunk_size_is_rejected():
    upload = Upload(5)
    with pytest.raises(errors.InvalidRequest):
        await drain(await upload.reader([b"zz;chunk-signature=00\r\n"]))


async def test_oversized_signed_chunk_is_rejected_before_buffering():
    upload = Upload(1 << 30)
    result = await authenticate_s3(upload.request, provider(), region=REGION)
    reader = result.body_reader(FakeStream([b"40000000;chunk-signature=" + b"0" * 64 + b"\r\n"]),
                                max_chunk=1 << 20)
    with pytest.raises(errors.InvalidRequest):
        await reader.read()


async def test_wrong_seed_signature_fails_before_the_body():
    upload = Upload(5)
    upload.request.headers["Authorization"] = flip_last(upload.request.headers["Authorization"])
    with pytest.raises(errors.SignatureDoesNotMatch):
        await authenticate_s3(upload.request, provider(), region=REGION)


async def test_provider_without_secrets_gets_a_clean_not_implemented():
    class RemoteOnly(CredentialProvider):
        async def lookup(self, access_key):
            return None

        async def verify(self, claim):
            return Identity(claim.access_key, "123456789012", "remote")

    with pytest.raises(errors.S3NotImplemented):
        await authenticate_s3(Upload(5).request, RemoteOnly(), region=REGION)


async def test_trailer_smuggled_into_a_signed_stream_is_rejected():
    upload = Upload(5)
    body = b"".join(upload.body([b"hello"]))
    assert body.endswith(b"\r\n\r\n")
    body = body[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    with pytest.raises(errors.MalformedTrailerError):
        await drain(await upload.reader(body))


# ---- STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER ---------------------------------------------------

async def test_signed_trailer_is_verified_and_exposed():
    upload = Upload(len(DATA), marker=STREAMING_TRAILER, trailer="x-amz-checksum-crc32")
    trailers = [("x-amz-checksum-crc32", crc32_b64(DATA))]
    reader = await upload.reader(upload.body(split(DATA, 65536), trailers))
    assert await drain(reader) == DATA
    assert reader.trailers == {"x-amz-checksum-crc32": crc32_b64(DATA)}


async def test_signed_trailer_with_wrong_checksum_is_bad_digest():
    upload = Upload(len(DATA), marker=STREAMING_TRAILER, trailer="x-amz-checksum-crc32")
    trailers = [("x-amz-checksum-crc32", crc32_b64(DATA + b"x"))]
    with pytest.raises(errors.BadDigest):
        await drain(await upload.reader(upload.body(split(DATA, 65536), trailers)))


async def test_tampered_signed_trailer_is_signature_does_not_match():
    upload = Upload(len(DATA), marker=STREAMING_TRAILER, trailer="x-amz-checksum-crc32")
    body = b"".join(upload.body(split(DATA, 65536), [("x-amz-checksum-crc32", crc32_b64(DATA + b"x"))]))
    body = body.replace(crc32_b64(DATA + b"x").encode(), crc32_b64(DATA).encode())  # swap in a "valid" one
    with pytest.raises(errors.SignatureDoesNotMatch):
        await drain(await upload.reader(body))


# ---- STREAMING-UNSIGNED-PAYLOAD-TRAILER (as botocore sends it) -------------------------------------

def unsigned_trailer_upload(data: bytes, checksum_cls=Crc32Checksum, name: str = "x-amz-checksum-crc32",
                            chunk_size: int = 65536) -> tuple[AuthRequest, bytes]:
    body = b"".join(AwsChunkedWrapper(_BytesIO(data), checksum_cls=checksum_cls, checksum_name=name,
                                      chunk_size=chunk_size))
    request = AWSRequest(method="PUT", url=URL, data=b"", headers={
        "Content-Encoding": "aws-chunked", "X-Amz-Trailer": name,
        "X-Amz-Decoded-Content-Length": str(len(data))})
    request.context["checksum"] = {"request_algorithm": {"in": "trailer", "name": name}}
    S3SigV4Auth(CREDS, "s3", REGION).add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    return to_auth_request(request, bucket="bucket"), body


class _BytesIO:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out, self._pos = self._data[self._pos:end], min(end, len(self._data))
        return out


@pytest.mark.parametrize("checksum_cls, name", [
    (Crc32Checksum, "x-amz-checksum-crc32"),
    (Sha1Checksum, "x-amz-checksum-sha1"),
    (Sha256Checksum, "x-amz-checksum-sha256"),
])
async def test_botocore_unsigned_trailer_is_decoded_and_checksum_verified(checksum_cls, name):
    req, body = unsigned_trailer_upload(DATA, checksum_cls, name)
    result = await authenticate_s3(req, provider(), region=REGION)
    assert isinstance(result.payload, ChunkedUnsignedPayload)
    reader = result.body_reader(FakeStream(body, piece=999))
    assert await drain(reader) == DATA
    assert set(reader.trailers) == {name}
    # Same framing, altered data: the trailing checksum no longer matches.
    tampered = body.replace(DATA[1000:1010], b"\x00" * 10, 1)
    reader = result.body_reader(FakeStream(tampered))
    with pytest.raises(errors.BadDigest):
        await drain(reader)


async def test_unsigned_trailer_missing_declared_trailer_is_malformed_trailer():
    req, body = unsigned_trailer_upload(b"hello")
    body = body[:body.index(b"0\r\n", len(b"5\r\nhello\r\n") - 1)] + b"0\r\n\r\n"
    result = await authenticate_s3(req, provider(), region=REGION)
    with pytest.raises(errors.MalformedTrailerError):
        await drain(result.body_reader(FakeStream(body)))


async def test_unsigned_trailer_truncated_is_incomplete_body():
    req, body = unsigned_trailer_upload(DATA)
    result = await authenticate_s3(req, provider(), region=REGION)
    with pytest.raises(errors.IncompleteBody):
        await drain(result.body_reader(FakeStream(body[:len(body) // 2])))


async def test_unsigned_trailer_with_aiohttp_stream_reader():
    req, body = unsigned_trailer_upload(DATA, chunk_size=10000)
    result = await authenticate_s3(req, provider(), region=REGION)
    loop = asyncio.get_running_loop()
    # Generous limit: there is no transport to pause while the test feeds the whole body up front.
    stream = aiohttp.StreamReader(BaseProtocol(loop), limit=2 ** 20, loop=loop)
    for i in range(0, len(body), 4096):
        stream.feed_data(body[i:i + 4096])
    stream.feed_eof()
    reader = result.body_reader(stream)
    assert await drain(reader) == DATA
    assert reader.trailers["x-amz-checksum-crc32"] == crc32_b64(DATA)


# ---- bounded memory ---------------------------------------------------------------------------------

async def test_chunked_reader_memory_is_bounded_by_one_chunk():
    chunk, count = 64 * 1024, 128  # 8 MiB body, produced lazily
    block = hashlib.sha256(b"seed").digest() * (chunk // 32)
    upload = Upload(chunk * count)
    result = await authenticate_s3(upload.request, provider(), region=REGION)
    stream = FakeStream(upload.body(block for _ in range(count)), piece=1500)
    reader = result.body_reader(stream)
    tracemalloc.start()
    try:
        total = 0
        digest = hashlib.sha256()
        while data := await reader.read(8192):
            total += len(data)
            digest.update(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == chunk * count
    assert digest.digest() == hashlib.sha256(block * count).digest()
    assert peak < 4 * chunk + 128 * 1024, f"reader peaked at {peak} bytes for {chunk}-byte chunks"
    assert stream.bytes_read > 8 * 1024 * 1024
