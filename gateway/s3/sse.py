"""Server-side encryption of object data in the gateway: SSE-C (the caller's key) and SSE-S3 (AES256, data
keys wrapped by a configured master key). The backend only ever sees ciphertext (sse_stream.py) and the
parameters below in the object's private metadata; it needs no notion of encryption.

- SSE-C: the key is never stored. The object keeps a random salt and HMAC-SHA256(salt, key), so the next
  request's key is recognised (AccessDenied when it differs); the data key is HKDF(key, salt).
- SSE-S3: a random 256-bit data key per object, wrapped (AES-GCM, AAD = master key id) by the master key
  `s3.sse_write_key_id`; any key of `s3.sse_master_keys` unwraps, so master keys rotate without rewrites.
- Sizes and ETags the client sees: plaintext sizes derive from the ciphertext size (sse_stream), and a
  small record in gateway state, keyed by the object's ciphertext ETag, holds the plaintext size and the
  ETag to show (SSE-S3: MD5 of the plaintext, as S3; SSE-C: the stored ETag, which is not the plaintext
  MD5, as on S3). Listings cannot carry private metadata, so they read those records (only in buckets
  that ever held an encrypted object).
- SSE-KMS: no KMS is configured, so every aws:kms request names a key that does not exist: S3's answer
  for that is KMS.NotFoundException (400), which is what the gateway sends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backends.base import ByteRange, ObjectInfo, RangeNotSatisfiable

from ..context import RequestContext
from ..protocol import errors
from . import conditions, sse_stream
from .common import get_bucket_config, set_bucket_config
from .multipart_state import PRIVATE_ETAG

PRIVATE_MODE = "sse"          # "C" or "S3"
PRIVATE_NONCE = "sse-nonce"   # base64 of the 8-byte nonce prefix
PRIVATE_SALT = "sse-salt"     # SSE-C: base64 salt (HMAC and HKDF)
PRIVATE_MAC = "sse-kmac"      # SSE-C: base64 HMAC-SHA256(salt, customer key)
PRIVATE_WRAPPED = "sse-dk"    # SSE-S3: base64 nonce + AES-GCM(master key, data key)
PRIVATE_KID = "sse-kid"       # SSE-S3: the master key id that wrapped it
NS_RECORD = "s3:sse-object"   # "<bucket>/<key>\0<ciphertext etag>" -> {"size": n, "etag": shown}
_USED = "sse-used"            # bucket config kind: the bucket has held an encrypted object
ENCRYPTION_CONFIG = "encryption"

_H_ALG = "x-amz-server-side-encryption-customer-algorithm"
_H_KEY = "x-amz-server-side-encryption-customer-key"
_H_MD5 = "x-amz-server-side-encryption-customer-key-MD5"
_NEED_KEY = ("The object was stored using a form of Server Side Encryption. The correct parameters must be "
             "provided to retrieve the object.")


@dataclass
class Crypt:
    """How one object's data is (to be) encrypted: mode, data key, nonce prefix, private metadata."""

    mode: str
    data_key: bytes = field(repr=False)
    prefix: bytes
    private: dict[str, str]
    key_md5: str | None = None  # SSE-C: echoed back as S3 does

    def seal(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        return sse_stream.encrypt(body, self.data_key, self.prefix)

    def output(self) -> dict[str, str]:
        if self.mode == "C":
            return {"SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": self.key_md5 or ""}
        return {"ServerSideEncryption": "AES256"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.b64decode(value.encode("ascii"), validate=True)


# ---- request parameters ---------------------------------------------------------------------------------
def customer_key(ctx: RequestContext, *, copy_source: bool = False) -> tuple[bytes, str] | None:
    """The SSE-C key of the request (or of its copy source) and its MD5 (base64); S3's exact errors."""
    p = ctx.params
    prefix = "CopySource" if copy_source else ""
    alg, key, md5 = (p.get(f"{prefix}SSECustomerAlgorithm"), p.get(f"{prefix}SSECustomerKey"),
                     p.get(f"{prefix}SSECustomerKeyMD5"))
    if alg is None and key is None and md5 is None:
        return None
    header = ("x-amz-copy-source-server-side-encryption-customer-" if copy_source else
              "x-amz-server-side-encryption-customer-")
    if not ctx.request.secure and not ctx.gateway.config.s3.sse_c_allow_http:
        raise errors.InvalidRequest("Requests specifying Server Side Encryption with Customer provided keys "
                                    "must be made over a secure connection.")
    if alg is None:
        raise errors.InvalidRequest("Requests specifying Server Side Encryption with Customer provided keys "
                                    "must provide a valid encryption algorithm.")
    if alg != "AES256":
        raise errors.InvalidEncryptionAlgorithmError(ArgumentName=header + "algorithm", ArgumentValue=alg)
    if key is None:
        raise errors.InvalidRequest("Requests specifying Server Side Encryption with Customer provided keys "
                                    "must provide an appropriate secret key.")
    try:
        raw = _unb64(key)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise errors.InvalidArgument("The secret key was invalid for the specified algorithm.",
                                     ArgumentName=header + "key", ArgumentValue="")
    if md5 is None:
        raise errors.InvalidRequest("Requests specifying Server Side Encryption with Customer provided keys "
                                    "must provide the client calculated MD5 of the secret key.")
    actual = _b64(hashlib.md5(raw).digest())
    if not hmac.compare_digest(actual, md5):
        raise errors.InvalidArgument("The calculated MD5 hash of the key did not match the hash that was "
                                     "provided.", ArgumentName=header + "key-MD5", ArgumentValue="")
    return raw, actual


def requested(ctx: RequestContext) -> bool:
    """The request names an encryption for what it writes (a copy onto itself may change only that)."""
    p = ctx.params
    return p.get("ServerSideEncryption") is not None or p.get("SSECustomerKey") is not None


def requested_mode(ctx: RequestContext, value: str | None) -> str | None:
    """x-amz-server-side-encryption of a write: "S3" for AES256; KMS and unknown values refused."""
    if value is None:
        return None
    if value in ("aws:kms", "aws:kms:dsse"):
        raise errors.KmsNotFoundException("Invalid keyId: no KMS key is available to this gateway.")
    if value != "AES256":
        raise errors.InvalidArgument("The encryption method specified is not supported",
                                     ArgumentName="x-amz-server-side-encryption", ArgumentValue=value)
    return "S3"


# ---- keys -----------------------------------------------------------------------------------------------
def _master_keys(ctx: RequestContext) -> Mapping[str, str]:
    return ctx.gateway.config.s3.sse_master_keys


def _master(ctx: RequestContext, kid: str) -> bytes:
    encoded = _master_keys(ctx).get(kid)
    if encoded is None:  # a key retired from configuration too early: the data can't be read
        raise errors.InternalError("The master key that encrypted this object is not configured.")
    return _unb64(encoded)


def _derive(customer: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"cloudgate sse-c data key").derive(customer)


def _mac(customer: bytes, salt: bytes) -> str:
    return _b64(hmac.new(salt, customer, hashlib.sha256).digest())


def new_crypt(ctx: RequestContext, mode: str, customer: tuple[bytes, str] | None = None) -> Crypt:
    prefix = os.urandom(sse_stream.PREFIX_BYTES)
    private = {PRIVATE_MODE: mode, PRIVATE_NONCE: _b64(prefix)}
    if mode == "C":
        assert customer is not None
        salt = os.urandom(16)
        private.update({PRIVATE_SALT: _b64(salt), PRIVATE_MAC: _mac(customer[0], salt)})
        return Crypt("C", _derive(customer[0], salt), prefix, private, key_md5=customer[1])
    kid = ctx.gateway.config.s3.sse_write_key_id
    if not kid:
        raise errors.S3NotImplemented("SSE-S3 needs a master key: the operator has not configured "
                                      "s3.sse_master_keys.", Header="x-amz-server-side-encryption")
    data_key, nonce = os.urandom(32), os.urandom(12)
    wrapped = nonce + AESGCM(_master(ctx, kid)).encrypt(nonce, data_key, kid.encode())
    private.update({PRIVATE_WRAPPED: _b64(wrapped), PRIVATE_KID: kid})
    return Crypt("S3", data_key, prefix, private)


async def for_write(ctx: RequestContext, bucket: str) -> Crypt | None:
    """How a new object of this request is encrypted: its SSE-C key, x-amz-server-side-encryption, else
    the bucket's default encryption; None = stored in clear."""
    customer = customer_key(ctx)
    mode = requested_mode(ctx, ctx.params.get("ServerSideEncryption"))
    if customer is not None and mode is not None:
        raise errors.InvalidArgument("Server Side Encryption with Customer provided key is incompatible with "
                                     "the encryption method specified",
                                     ArgumentName="x-amz-server-side-encryption", ArgumentValue="AES256")
    if customer is not None:
        crypt = new_crypt(ctx, "C", customer)
    elif mode is not None or await bucket_default(ctx, bucket) is not None:
        crypt = new_crypt(ctx, "S3")
    else:
        return None
    await mark_used(ctx, bucket)
    return crypt


def opener(ctx: RequestContext, info: ObjectInfo, *, copy_source: bool = False) -> Crypt | None:
    """The Crypt to read this object with, after checking the request's SSE-C key against it: S3's
    InvalidRequest without a key, AccessDenied with another one."""
    customer = customer_key(ctx, copy_source=copy_source)
    mode = info.private.get(PRIVATE_MODE)
    if mode is None:
        if customer is not None:
            raise errors.InvalidRequest("The encryption parameters are not applicable to this object.")
        return None
    prefix = _unb64(info.private[PRIVATE_NONCE])
    if mode == "C":
        if customer is None:
            raise errors.InvalidRequest(_NEED_KEY)
        salt = _unb64(info.private[PRIVATE_SALT])
        if not hmac.compare_digest(_mac(customer[0], salt), info.private.get(PRIVATE_MAC, "")):
            raise errors.AccessDenied()
        return Crypt("C", _derive(customer[0], salt), prefix, {}, key_md5=customer[1])
    if customer is not None:
        raise errors.InvalidRequest("The encryption parameters are not applicable to this object.")
    kid = info.private[PRIVATE_KID]
    wrapped = _unb64(info.private[PRIVATE_WRAPPED])
    data_key = AESGCM(_master(ctx, kid)).decrypt(wrapped[:12], wrapped[12:], kid.encode())
    return Crypt("S3", data_key, prefix, {})


async def md5_beside(source: AsyncIterable[bytes], hasher: Any) -> AsyncIterator[bytes]:
    """Pass `source` through while `hasher` (an MD5) digests each piece on a worker thread (hashlib
    releases the GIL), overlapping with the sealing and sending of that piece: SSE-S3 must show the
    plaintext MD5 as ETag, and MD5 is the slowest step of an encrypted PUT."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future | None = None
    try:
        async for piece in source:
            if pending is not None:
                await pending
            pending = loop.run_in_executor(None, hasher.update, piece)
            yield piece
    finally:
        if pending is not None:
            await pending


# ---- sizes and ETags the client sees -------------------------------------------------------------------
def _record_key(bucket: str, key: str, cipher_etag: str) -> str:
    return f"{bucket}/{key}\0{cipher_etag.strip(chr(34))}"


async def mark_used(ctx: RequestContext, bucket: str) -> None:
    if not await get_bucket_config(ctx, bucket, _USED):
        await set_bucket_config(ctx, bucket, _USED, True)


async def record(ctx: RequestContext, bucket: str, stored: ObjectInfo, crypt: Crypt, *, size: int,
                 md5_hex: str | None) -> str:
    """Remember the plaintext size and the ETag to show for the stored object; returns that ETag."""
    etag = md5_hex if crypt.mode == "S3" and md5_hex else stored.private.get(PRIVATE_ETAG) or stored.etag
    await ctx.gateway.store.put(NS_RECORD, _record_key(bucket, stored.key, stored.etag),
                                {"size": size, "etag": etag.strip('"')})
    return etag.strip('"')


async def present(ctx: RequestContext, bucket: str, info: ObjectInfo) -> dict | None:
    """Turn a stored encrypted object's info into what the client sees (plaintext size, S3's ETag);
    returns its record (None when lost: the size still derives from a single-part object's)."""
    rec = await ctx.gateway.store.get(NS_RECORD, _record_key(bucket, info.key, info.etag))
    if rec:
        info.size = rec["size"]
        info.private[PRIVATE_ETAG] = rec["etag"]
    elif not info.manifest:
        info.size = sse_stream.plaintext_size(info.size)
    return rec


async def present_listing(ctx: RequestContext, bucket: str, entries: list[Any]) -> None:
    if not await get_bucket_config(ctx, bucket, _USED):
        return
    for e in entries:
        if isinstance(e, ObjectInfo) and not e.delete_marker:
            rec = await ctx.gateway.store.get(NS_RECORD, _record_key(bucket, e.key, e.etag))
            if rec:
                e.size = rec["size"]
                e.private[PRIVATE_ETAG] = rec["etag"]


# ---- bucket default encryption -------------------------------------------------------------------------
async def bucket_default(ctx: RequestContext, bucket: str) -> dict | None:
    """The bucket's default encryption rule, or None. New buckets get SSE-S3 when the operator turned
    s3.encrypt_new_buckets on (recorded at CreateBucket by `on_create_bucket`)."""
    return await get_bucket_config(ctx, bucket, ENCRYPTION_CONFIG)


async def on_create_bucket(ctx: RequestContext, bucket: str) -> None:
    if ctx.gateway.config.s3.encrypt_new_buckets:
        await set_bucket_config(ctx, bucket, ENCRYPTION_CONFIG, {"SSEAlgorithm": "AES256", "BucketKeyEnabled": False})


# ---- reads ----------------------------------------------------------------------------------------------
async def _plain(source: Any, crypt: Crypt, *, plain_size: int, first_index: int = 0, skip: int = 0,
                 length: int | None = None) -> AsyncIterator[bytes]:
    try:
        async for piece in sse_stream.decrypt(source, crypt.data_key, crypt.prefix, plain_size=plain_size,
                                              first_index=first_index, skip=skip, length=length):
            yield piece
    finally:  # closing the plaintext stream closes the backend's
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


async def _close(body: Any) -> None:
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            pass


def plaintext_body(source: Any, crypt: Crypt, plain_size: int) -> AsyncIterator[bytes]:
    return _plain(source, crypt, plain_size=plain_size)


async def open_range(store: Any, bucket: str, head: ObjectInfo, crypt: Crypt, rec: dict | None, first: int,
                     last: int) -> AsyncIterator[bytes]:
    """Plaintext bytes first..last of the encrypted object `head` (presented), fetching only the
    ciphertext chunks that hold them."""
    if rec and rec.get("parts"):
        from .sse_multipart import read_parts  # (it builds on this module)

        return read_parts(store, bucket, head, crypt, rec["parts"], first, last)
    c_first, c_last, index = sse_stream.cipher_range(first, max(first, last), head.size)
    info, _, body = await store.get_object(bucket, head.key, version_id=head.version_id,
                                           byte_range=(c_first, c_last))
    if info.etag != head.etag:
        await _close(body)
        raise errors.S3ServiceUnavailable("The object changed while it was read; retry.")
    return _plain(body, crypt, plain_size=head.size, first_index=index, skip=first - index * sse_stream.CHUNK,
                  length=max(0, last - first + 1))


async def get_object(ctx: RequestContext, store: Any, bucket: str, key: str, version_id: str | None,
                     rng: tuple[int | None, int | None] | None, range_header: str | None
                     ) -> tuple[ObjectInfo, ByteRange | None, Any, dict[str, str]]:
    """store.get_object for any object: the info as the client sees it, the resolved plaintext range, the
    plaintext body and the encryption output members. A ranged read of an encrypted object costs a HEAD
    more (its parameters) and then fetches only the ciphertext chunks the range needs."""
    if rng is None:
        info, resolved, body = await store.get_object(bucket, key, version_id=version_id)
        try:
            crypt = opener(ctx, info)
            if crypt is None:
                return info, resolved, body, {}
            rec = await present(ctx, bucket, info)
        except BaseException:
            await _close(body)
            raise
        if not (rec and rec.get("parts")):
            return info, None, _plain(body, crypt, plain_size=info.size), crypt.output()
        await _close(body)  # multipart: read part by part
        return info, None, await open_range(store, bucket, info, crypt, rec, 0, info.size - 1), crypt.output()
    # Plain objects cost nothing extra: the ranged read goes out as asked; only when it turns out to
    # be encrypted (its metadata says so, or the range lies beyond the ciphertext) is it read again.
    try:
        info, resolved, body = await store.get_object(bucket, key, version_id=version_id, byte_range=rng)
    except RangeNotSatisfiable:
        head = await store.head_object(bucket, key, version_id=version_id)
        if PRIVATE_MODE not in head.private:
            raise
    else:
        if PRIVATE_MODE not in info.private:
            try:
                opener(ctx, info)  # an SSE-C key for a plain object is refused
            except BaseException:
                await _close(body)
                raise
            return info, resolved, body, {}
        await _close(body)
        head = await store.head_object(bucket, key, version_id=info.version_id or version_id)
    crypt = opener(ctx, head)
    assert crypt is not None
    rec = await present(ctx, bucket, head)
    resolved = conditions.resolve_range(rng, head.size, range_header or "")
    body = await open_range(store, bucket, head, crypt, rec, resolved.first, resolved.last)
    return head, resolved, body, crypt.output()
