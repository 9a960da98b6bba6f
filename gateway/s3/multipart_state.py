"""Where a multipart upload lives while it is in progress, and the arithmetic of its parts.

Layout (the contract other S3 modules and the backend rely on):
- Part data: one backend object per part in the segments container `<bucket>+segments`, named
  `<key>/<upload id>/<part number, 5 digits>` (`<sha256(key)>/...` when the key is too long for that
  to fit the backend's 1024-byte names). Re-uploading a part overwrites the same object. The segments
  container is hidden from ListBuckets and unaddressable by S3 clients ('+' is not valid in a bucket name).
- Upload record (initiated time, owner, metadata/headers/tags/ACL to apply at completion): gateway state,
  `ctx.gateway.store` namespace "s3:upload", key `<bucket owner account>/<bucket>/<key>\\0<upload id>`. The store is
  strongly consistent and atomic (Swift container listings are eventually consistent, and Swift's
  metadata caps of 256 bytes per value / 4 KiB per object cannot hold S3's 2 KiB of user metadata plus
  tags and grants); it survives a restart (file SQLite) and is shared by every replica (PostgreSQL). Keys
  sort in byte order, so a prefix scan lists uploads exactly in S3's order: by key, then by upload id,
  and upload ids start with their creation time, so that is also initiation order.
- Completed object: an SLO-style manifest (`ObjectStore.put_manifest`) whose private metadata holds
  `s3-etag` (the multipart ETag, hex without quotes, e.g. "9b2cf535f27731c974343645a3985328-5") and
  `s3-upload-id`. GET/HEAD/List answer `info.private["s3-etag"]` when present instead of `info.etag`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from backends import base
from backends.base import ObjectInfo, ObjectStore

from ..context import RequestContext
from ..protocol import errors

log = logging.getLogger("cloudgate.s3.multipart")

NS_UPLOAD = "s3:upload"              # "<account>/<bucket>/<key>\0<upload id>" -> upload record
NS_UPLOAD_LEASE = "s3:upload-lease"  # same key -> {"op", "at"} while a Complete or Abort runs
NS_PART_SUM = "s3:upload-part-sum"   # "<same key>\0<part number>" -> a part's checksum (multipart_checksums)
SEGMENTS_SUFFIX = "+segments"
PRIVATE_ETAG = "s3-etag"
PRIVATE_UPLOAD_ID = "s3-upload-id"

MIN_PART_SIZE = 5 * 1024 * 1024          # every part but the last (EntityTooSmall)
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024   # one part, or one copy source without a range
MAX_PART_NUMBER = 10_000
MAX_NAME_BYTES = 1024                    # Swift's default max_object_name_length
# A crashed Complete/Abort (a killed gateway) stops blocking the upload after this; a live holder renews
# its lease every LEASE_SECONDS / 3, so a long Complete keeps it (was 900 s without renewal: an upload
# whose Complete was cut by a crash could be neither resumed nor aborted for 15 minutes). Renewal fails
# only while the store is unreachable, when no other Complete or Abort can take the lease either.
LEASE_SECONDS = 15
_LIST_PAGE = 1000
_UPLOAD_ID = re.compile(r"[0-9a-f]{48}\Z")
_PART_SUFFIX = re.compile(r"(\d{5})\Z")


def segments_container(bucket: str) -> str:
    return bucket + SEGMENTS_SUFFIX


def new_upload_id() -> str:
    """Unguessable (128 random bits) and, read as text, ordered by creation time (the first 16 hex
    digits are nanoseconds since the epoch): S3 lists one key's uploads in initiation order."""
    return f"{time.time_ns():016x}{secrets.token_hex(16)}"


def valid_upload_id(upload_id: str) -> bool:
    return bool(_UPLOAD_ID.match(upload_id))


def multipart_etag(part_md5s: list[str]) -> str:
    """S3's multipart ETag: md5 of the concatenated binary part md5s, then '-<number of parts>'."""
    digest = hashlib.md5(b"".join(bytes.fromhex(m) for m in part_md5s), usedforsecurity=False)
    return f"{digest.hexdigest()}-{len(part_md5s)}"


def normalize_etag(etag: str | None) -> str:
    return (etag or "").strip().strip('"').lower()


def _segment_prefix(key: str, upload_id: str) -> str:
    prefix = f"{key}/{upload_id}/"
    if len(prefix.encode()) + 5 > MAX_NAME_BYTES:
        prefix = f"{hashlib.sha256(key.encode()).hexdigest()}/{upload_id}/"
    return prefix


def part_name(prefix: str, part_number: int) -> str:
    return f"{prefix}{part_number:05d}"


@dataclass
class Upload:
    """One in-progress upload: where its parts are and what to apply at completion."""

    account: str
    bucket: str
    key: str
    upload_id: str
    record: dict[str, Any]

    @property
    def store_key(self) -> str:
        return _record_key(self.account, self.bucket, self.key, self.upload_id)

    @property
    def segments(self) -> str:
        return segments_container(self.bucket)

    @property
    def prefix(self) -> str:
        return self.record["segment_prefix"]

    def part(self, number: int) -> str:
        return part_name(self.prefix, number)

    @property
    def initiated(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.record["initiated"])


def _record_key(account: str, bucket: str, key: str, upload_id: str) -> str:
    return f"{account}/{bucket}/{key}\0{upload_id}"


# ---- upload records ------------------------------------------------------------------------------
async def create_upload(ctx: RequestContext, account: str, bucket: str, key: str,
                        record: dict[str, Any]) -> Upload:
    """Record a new upload. `account` is the bucket owner's: uploads belong to the bucket, so the owner
    (and anyone the bucket's ACL lets in) sees them, whoever initiated them."""
    upload_id = new_upload_id()
    record = dict(record, initiated=dt.datetime.now(dt.UTC).isoformat(),
                  segment_prefix=_segment_prefix(key, upload_id))
    upload = Upload(account, bucket, key, upload_id, record)
    if await ctx.gateway.store.put_if_absent(NS_UPLOAD, upload.store_key, record) is not None:
        raise errors.InternalError()  # a 128-bit collision: never in practice
    return upload


async def find_upload(ctx: RequestContext, account: str, bucket: str, key: str,
                      upload_id: str | None) -> Upload | None:
    if not upload_id or not valid_upload_id(upload_id):
        return None
    record = await ctx.gateway.store.get(NS_UPLOAD, _record_key(account, bucket, key, upload_id))
    return None if record is None else Upload(account, bucket, key, upload_id, record)


async def drop_upload(ctx: RequestContext, upload: Upload) -> None:
    await ctx.gateway.store.delete(NS_UPLOAD, upload.store_key)
    await ctx.gateway.store.delete_prefix(NS_PART_SUM, upload.store_key + "\0")


async def scan_uploads(ctx: RequestContext, account: str, bucket: str, prefix: str) -> list[Upload]:
    """Every upload in `bucket` whose key starts with `prefix`, in S3's order (key, then upload id)."""
    head = f"{account}/{bucket}/"
    out = []
    for skey, record in await ctx.gateway.store.scan(NS_UPLOAD, head + prefix):
        key, _, upload_id = skey[len(head):].rpartition("\0")
        out.append(Upload(account, bucket, key, upload_id, record))
    return out


@contextlib.asynccontextmanager
async def finishing(ctx: RequestContext, upload: Upload, op: str) -> AsyncIterator[None]:
    """Exclusive right to complete or abort `upload`, across requests and replicas. A second Complete or
    an Abort racing a Complete gets OperationAborted (409) rather than a manifest over deleted parts."""
    store, now = ctx.gateway.store, time.time()
    mine = {"op": op, "at": now, "holder": uuid.uuid4().hex}
    held, version = await store.get_versioned(NS_UPLOAD_LEASE, upload.store_key)
    if held is not None and now - float(held.get("at", 0)) < LEASE_SECONDS:
        raise errors.OperationAborted()
    # Absent (version 0), or its holder died mid-operation: take it over only if nobody changed it since
    # we read it, so of two replicas seeing the same expired lease exactly one wins.
    if not await store.put_if_version(NS_UPLOAD_LEASE, upload.store_key, mine, version):
        raise errors.OperationAborted()
    renewer = asyncio.get_running_loop().create_task(_renew(store, upload.store_key, mine))
    try:
        yield
    finally:  # release only our own lease (after LEASE_SECONDS another holder may have taken it)
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        current, version = await store.get_versioned(NS_UPLOAD_LEASE, upload.store_key)
        if current is not None and current.get("holder") == mine["holder"]:
            await store.delete_if_version(NS_UPLOAD_LEASE, upload.store_key, version)


async def _renew(store: Any, key: str, mine: dict[str, Any]) -> None:
    """Keep our lease fresh while the operation runs; stop once it is no longer ours."""
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        try:
            current, version = await store.get_versioned(NS_UPLOAD_LEASE, key)
            if current is None or current.get("holder") != mine["holder"]:
                return
            await store.put_if_version(NS_UPLOAD_LEASE, key, {**mine, "at": time.time()}, version)
        except Exception:  # noqa: BLE001 - the store hiccuped: try again at the next beat
            log.warning("upload lease not renewed", extra={"fields": {"key": key}})


# ---- parts in the backend ------------------------------------------------------------------------
def part_number_of(upload: Upload, name: str) -> int | None:
    if not name.startswith(upload.prefix):
        return None
    m = _PART_SUFFIX.match(name[len(upload.prefix):])
    return int(m.group(1)) if m else None


async def list_parts(store: ObjectStore, upload: Upload, *, after: int = 0,
                     limit: int | None = None) -> list[tuple[int, ObjectInfo]]:
    """Parts stored for `upload` with a number above `after`, ascending, at most `limit` (None = all).
    Pages through the backend listing; a missing segments container means no parts."""
    out: list[tuple[int, ObjectInfo]] = []
    marker = upload.part(after) if after > 0 else None
    while limit is None or len(out) < limit:
        page = _LIST_PAGE if limit is None else min(_LIST_PAGE, limit - len(out))
        try:
            listing = await store.list_objects(upload.segments, prefix=upload.prefix, marker=marker,
                                               limit=page)
        except base.NotFound:
            return out
        for info in listing.objects:
            number = part_number_of(upload, info.key)
            if number is not None and number > after:
                out.append((number, info))
        if not listing.truncated or not listing.objects:
            break
        marker = listing.objects[-1].key
    return out if limit is None else out[:limit]


async def delete_segments(store: ObjectStore, upload: Upload, keep: frozenset[int] = frozenset()) -> int:
    """Delete the upload's stored parts except those in `keep`; missing ones are fine. Returns the count."""
    deleted = 0
    for number, info in await list_parts(store, upload):
        if number in keep:
            continue
        with contextlib.suppress(base.NotFound):
            await store.delete_object(upload.segments, info.key)
            deleted += 1
    return deleted


async def abort_bucket_uploads(ctx: RequestContext, store: ObjectStore, account: str, bucket: str) -> int:
    """Abort every upload of `bucket` (owned by `account`): for DeleteBucket, so that no upload record
    or part outlives its bucket."""
    count = 0
    for upload in await scan_uploads(ctx, account, bucket, ""):
        await delete_segments(store, upload)
        await drop_upload(ctx, upload)
        count += 1
    return count


async def release_replaced(store: ObjectStore, bucket: str, replaced: ObjectInfo | None) -> int:
    """After `replaced` (what a key held before a write) was overwritten in a bucket that keeps no old
    versions, delete the parts it was made of: nothing can reach them any more. For PutObject,
    CopyObject and CompleteMultipartUpload (call it only once the new object is stored)."""
    if replaced is None or not replaced.manifest or replaced.version_id not in (None, "null"):
        return 0
    upload_id = replaced.private.get(PRIVATE_UPLOAD_ID)
    if not upload_id or not valid_upload_id(upload_id):
        return 0
    container = await store.head_container(bucket)
    if container.versioning:  # enabled: the replaced object lives on as a noncurrent version
        return 0
    gone = Upload("", bucket, replaced.key, upload_id,
                  {"segment_prefix": _segment_prefix(replaced.key, upload_id)})
    return await delete_segments(store, gone)
