"""S3 multipart uploads: Create, UploadPart, Complete, Abort, ListParts, ListMultipartUploads.
(UploadPartCopy is in multipart_copy.py.)

Where an upload lives, how parts are named and what a completed object carries (private metadata
`s3-etag`: the multipart ETag, hex without quotes, which Get/Head/List must answer instead of the
backend's etag) is described in multipart_state.py.

Access: the bucket's owner, or whoever its ACL grants WRITE (create, upload, complete, abort) or READ
(list); uploads belong to the bucket, so their records are kept under the bucket owner's account.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, quote_plus

from backends import base
from backends.base import ObjectInfo, ObjectStore, Segment

from ..context import RequestContext
from ..protocol import errors
from . import checksums, names, object_input, object_lock, ownership, sse, sse_multipart, sse_stream, tagging
from . import multipart_checksums as mp_checksums
from . import multipart_state as state
from .buckets import bucket_access
from .common import backend_errors, object_store, owner, s3_handler, set_object_extra
from .conditions import write_conditions
from .key_lease import exclusive as key_exclusive
from .multipart_state import MAX_PART_NUMBER, MAX_PART_SIZE, MIN_PART_SIZE, Upload

log = logging.getLogger("cloudgate.s3.multipart")



# ---- shared by the multipart handlers ----------------------------------------------------------------
async def open_upload(ctx: RequestContext, permission: str) -> tuple[Upload, ObjectStore]:
    """The upload the request names (Bucket, Key, UploadId) and the store holding its parts."""
    bucket, key, upload_id = ctx.params["Bucket"], ctx.params["Key"], ctx.params.get("UploadId")
    account = await bucket_access(ctx, bucket, permission)
    upload = await state.find_upload(ctx, account, bucket, key, upload_id)
    if upload is None:
        raise errors.NoSuchUpload(UploadId=upload_id)
    return upload, await object_store(ctx)


def part_number(params: dict[str, Any]) -> int:
    number = params.get("PartNumber")
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise errors.InvalidArgument(f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, "
                                     "inclusive", ArgumentName="partNumber", ArgumentValue=number)
    return number


async def ensure_open(ctx: RequestContext, store: ObjectStore, upload: Upload, number: int) -> None:
    """After a part is stored: if the upload was aborted or completed meanwhile, the part would be an
    orphan no Abort can find any more — delete it and answer as if the upload were already gone."""
    if await state.find_upload(ctx, upload.account, upload.bucket, upload.key, upload.upload_id) is None:
        with contextlib.suppress(base.BackendError):
            await store.delete_object(upload.segments, upload.part(number))
        raise errors.NoSuchUpload(UploadId=upload.upload_id)


class _Source:
    """The part body on its way to the backend, remembering the error it raised: an HTTP client may
    report a failing request body as a connection failure, which must not hide a BadDigest."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.error: Exception | None = None
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        try:
            async for chunk in self.body:
                yield chunk
        except Exception as e:
            self.error = e
            raise


async def put_part(store: ObjectStore, upload: Upload, number: int, body: Any, size: int | None,
                   md5: str | None = None) -> ObjectInfo:
    """Store one part (replacing any earlier upload of the same number). Creates the segments container
    if it has gone missing, as long as no byte of the body was consumed yet."""
    name = upload.part(number)
    for attempt in (1, 2):
        source = _Source(body)
        try:
            with backend_errors(bucket=upload.bucket, key=upload.key):
                try:
                    return await store.put_object(upload.segments, name, source, size=size, md5=md5,
                                                  content_type="application/octet-stream")
                except base.NotFound as e:
                    # Retry only while nothing of the body has been read (it cannot be read twice).
                    if attempt == 2 or e.kind not in ("container", "") or source.started:
                        raise
                    await store.create_container(upload.segments)
        except errors.NoSuchBucket:
            raise errors.NoSuchUpload(UploadId=upload.upload_id) from None
        except errors.AwsError:
            if isinstance(source.error, errors.AwsError):
                raise source.error from None
            raise
    raise AssertionError("unreachable")


# ---- CreateMultipartUpload -------------------------------------------------------------------------
@s3_handler("CreateMultipartUpload", anonymous=True)
async def create_multipart_upload(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key = p["Bucket"], p["Key"]
    names.check_key(key)
    object_input.refuse_unsupported_write(p, lock=True, sse=True)
    algorithm, checksum_type = mp_checksums.creation_settings(p)
    account = await bucket_access(ctx, bucket, "WRITE")
    caller = owner(ctx)
    tags = tagging.parse_tagging_header(p["Tagging"]) if p.get("Tagging") is not None else None
    object_acl = await ownership.object_acl_for_write(ctx, bucket, account)  # Object Ownership decides
    lock = await object_lock.for_new_version(ctx, bucket, p, explicit_only=True, integrity=False)
    record = {"owner": caller, "initiator": caller, "storage_class": "STANDARD",
              "content_type": p.get("ContentType") or object_input.DEFAULT_CONTENT_TYPE,
              "metadata": object_input.user_metadata(p), "headers": object_input.content_headers(p),
              "private": object_input.redirect_private(p), "tags": tags, "acl": object_acl,
              "checksum_algorithm": algorithm, "checksum_type": checksum_type, "lock": lock}
    encryption = await sse_multipart.on_create(ctx, bucket, record)  # record["sse"]
    store = await object_store(ctx)
    with backend_errors(bucket=bucket):
        await store.create_container(state.segments_container(bucket))  # False when it exists already
        await store.expect_manifests(bucket)  # deletes there look for manifests from now on (all replicas)
    upload = await state.create_upload(ctx, account, bucket, key, record)
    out = {"Bucket": bucket, "Key": key, "UploadId": upload.upload_id, **encryption}
    if record["checksum_algorithm"]:
        out["ChecksumAlgorithm"] = record["checksum_algorithm"]
        out["ChecksumType"] = record["checksum_type"]
    return out


# ---- UploadPart -----------------------------------------------------------------------------------
@s3_handler("UploadPart", anonymous=True)
async def upload_part(ctx: RequestContext) -> dict:
    p = ctx.params
    number = part_number(p)
    size = object_input.declared_size(ctx.request)  # EntityTooLarge beyond 5 GiB, as for a part
    spec = checksums.ChecksumSpec.from_request(p, ctx.request.headers)
    upload, store = await open_upload(ctx, "WRITE")
    spec = mp_checksums.part_spec(spec, upload.record)
    crypt = sse_multipart.part_crypt(ctx, upload.record, number)
    body = checksums.VerifiedBody(ctx.body, spec, declared_size=size, max_size=MAX_PART_SIZE)
    if size == 0:  # the backend reads nothing of an empty body: verify (and checksum) it here
        async for _ in body:
            pass
    plain_md5 = None
    if crypt is None:
        info = await put_part(store, upload, number, body, size, spec.md5_hex)
    else:  # sealed on the way; Content-MD5 is checked on the plaintext by VerifiedBody
        # SSE-S3 shows the plaintext MD5 as the part's ETag (as S3), digested beside the sealing.
        plain_md5 = hashlib.md5() if crypt.mode == "S3" else None
        info = await put_part(store, upload, number,
                              crypt.seal(sse.md5_beside(body, plain_md5) if plain_md5 else body),
                              None if size is None else sse_stream.ciphertext_size(size))
    await ensure_open(ctx, store, upload, number)
    shown = plain_md5.hexdigest() if plain_md5 else info.etag
    await mp_checksums.remember_part(ctx, upload, number, info.etag, body.result.checksums, shown=shown)
    out: dict[str, Any] = {"ETag": f'"{shown}"', **(crypt.output() if crypt else {})}
    for algorithm, value in body.result.checksums.items():
        out[checksums.ALGORITHMS[algorithm][1]] = value
    return out


# ---- CompleteMultipartUpload ----------------------------------------------------------------------
def _requested_parts(ctx: RequestContext) -> list[tuple[int, str]]:
    """(part number, etag) in request order; MalformedXML for an empty or incomplete list,
    InvalidPartOrder unless strictly ascending."""
    parts = (ctx.params.get("MultipartUpload") or {}).get("Parts") or []
    if not parts:
        raise errors.MalformedXML()
    out: list[tuple[int, str]] = []
    for part in parts:
        number, etag = part.get("PartNumber"), part.get("ETag")
        if number is None or etag is None:
            raise errors.MalformedXML()
        if out and number <= out[-1][0]:
            raise errors.InvalidPartOrder(UploadId=ctx.params.get("UploadId"))
        out.append((number, state.normalize_etag(etag)))
    return out


def _location(ctx: RequestContext, bucket: str, key: str) -> str:
    req = ctx.request
    path = quote(key, safe="/~")
    if ctx.route is not None and ctx.route.virtual_host:
        return f"{req.scheme}://{req.host}/{path}"
    return f"{req.scheme}://{req.host}/{quote(bucket)}/{path}"


def _completed(ctx: RequestContext, bucket: str, key: str, etag: str, version_id: str | None) -> dict:
    out = {"Location": _location(ctx, bucket, key), "Bucket": bucket, "Key": key, "ETag": f'"{etag}"'}
    if version_id is not None:
        out["VersionId"] = version_id
    return out


async def _already_completed(ctx: RequestContext, requested: list[tuple[int, str]]) -> dict:
    """A retried Complete whose first attempt succeeded answers the same result (as S3 does); anything
    else about a missing upload is NoSuchUpload."""
    bucket, key, upload_id = ctx.params["Bucket"], ctx.params["Key"], ctx.params.get("UploadId")
    store = await object_store(ctx)
    try:
        info = await store.head_object(bucket, key)
        expected = state.multipart_etag([etag for _, etag in requested])
    except (base.NotFound, ValueError):
        raise errors.NoSuchUpload(UploadId=upload_id) from None
    if (info.private.get(state.PRIVATE_UPLOAD_ID) != upload_id
            or info.private.get(state.PRIVATE_ETAG) != expected):
        raise errors.NoSuchUpload(UploadId=upload_id)
    return _completed(ctx, bucket, key, expected, info.version_id)


def _check_parts(upload: Upload, requested: list[tuple[int, str]], stored: dict[int, ObjectInfo],
                 recorded: dict[int, dict[str, Any]]) -> list[ObjectInfo]:
    chosen = []
    for i, (number, etag) in enumerate(requested):
        info = stored.get(number)
        if info is None or state.normalize_etag(mp_checksums.shown_etag(recorded.get(number), info.etag)) != etag:
            raise errors.InvalidPart(UploadId=upload.upload_id, PartNumber=number, ETag=etag)
        if i < len(requested) - 1 and info.size < MIN_PART_SIZE:
            raise errors.EntityTooSmall(ProposedSize=info.size, MinSizeAllowed=MIN_PART_SIZE,
                                        PartNumber=number, ETag=etag)
        chosen.append(info)
    return chosen


async def _check_write_conditions(ctx: RequestContext, store: ObjectStore, bucket: str,
                                  key: str) -> ObjectInfo | None:
    """If-None-Match: * (create only) and If-Match: <etag> (replace only that object). Returns what
    the key holds now (None when nothing), so that its parts can be released once replaced."""
    if_match, if_none_match = ctx.params.get("IfMatch"), ctx.params.get("IfNoneMatch")
    try:
        with backend_errors(bucket=bucket, key=key):
            current = await store.head_object(bucket, key)
    except errors.NoSuchKey:
        current = None
    if current is not None and current.delete_marker:
        current = None
    if if_none_match is not None and current is not None:
        raise errors.PreconditionFailed(Condition="If-None-Match")
    if if_match is not None:
        if current is None:
            raise errors.NoSuchKey(Key=key)
        etag = current.private.get(state.PRIVATE_ETAG) or current.etag
        if if_match.strip() != "*" and state.normalize_etag(if_match) != state.normalize_etag(etag):
            raise errors.PreconditionFailed(Condition="If-Match")
    return current


@s3_handler("CompleteMultipartUpload", anonymous=True)
async def complete_multipart_upload(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key, upload_id = p["Bucket"], p["Key"], p.get("UploadId")
    # SSE-C headers are accepted and unused here: the parts are sealed already.
    account = await bucket_access(ctx, bucket, "WRITE")
    requested = _requested_parts(ctx)
    upload = await state.find_upload(ctx, account, bucket, key, upload_id)
    if upload is None:
        return await _already_completed(ctx, requested)
    mp_checksums.check_completion_type(p, upload.record)
    store = await object_store(ctx)
    if_match, if_none_match = write_conditions(p)
    # A conditional completion checks and writes under the key's lease (key_lease.py): atomic against
    # other conditional requests on the key, on any replica.
    async with state.finishing(ctx, upload, "complete"), \
            key_exclusive(ctx, bucket, key, wanted=if_match is not None or if_none_match is not None):
        stored = dict(await state.list_parts(store, upload))
        recorded = await mp_checksums.part_sums(ctx, upload)
        chosen = _check_parts(upload, requested, stored, recorded)
        rec = upload.record
        plain = [(n, info, sse_stream.plaintext_size(info.size) if rec.get("sse") else info.size)
                 for (n, _), info in zip(requested, chosen, strict=True)]
        sums, layout = await mp_checksums.completion(ctx, store, upload, plain, recorded)
        replaced = await _check_write_conditions(ctx, store, bucket, key)
        etag = state.multipart_etag([mp_checksums.shown_etag(recorded.get(n), info.etag) for n, info, _ in plain])
        private = {**rec.get("private", {}), **rec.get("sse", {}), state.PRIVATE_ETAG: etag,
                   state.PRIVATE_UPLOAD_ID: upload.upload_id, **checksums.to_private(sums)}
        segments = [Segment(upload.segments, info.key, info.etag, info.size) for info in chosen if info.size]
        with backend_errors(bucket=bucket, key=key):
            try:
                if segments:
                    info = await store.put_manifest(bucket, key, segments, content_type=rec["content_type"],
                                                    metadata=rec["metadata"], private=private,
                                                    headers=rec["headers"])
                else:  # every part is empty: an empty object (a manifest needs a byte to point at)
                    info = await store.put_object(bucket, key, _empty(), size=0, content_type=rec["content_type"],
                                                  metadata=rec["metadata"], private=private,
                                                  headers=rec["headers"])
            except base.InvalidInput:
                # A part changed under us (re-uploaded during completion): its etag no longer matches.
                raise errors.InvalidPart(UploadId=upload.upload_id) from None
        encryption = await sse_multipart.on_complete(ctx, bucket, rec, info,
                                                     [(n, stored[n].size) for n, _ in requested], etag)
        await mp_checksums.save_layout(ctx, bucket, key, upload, layout, rec.get("checksum_algorithm"),
                                       rec.get("checksum_type"))
        extra = {k: v for k, v in (("tags", rec.get("tags")), ("acl", rec.get("acl"))) if v}
        await set_object_extra(ctx, bucket, key, info.version_id, extra or None)
        await object_lock.record(ctx, bucket, key, info.version_id,
                                 await object_lock.at_completion(ctx, bucket, rec.get("lock")))
        await state.drop_upload(ctx, upload)
    keep = frozenset(n for n, _ in requested if stored[n].size)
    try:  # parts uploaded but not listed are freed, as S3 does; failures only leave garbage behind
        await state.delete_segments(store, upload, keep=keep)
        if replaced is not None and replaced.private.get(state.PRIVATE_UPLOAD_ID) != upload.upload_id:
            await state.release_replaced(store, bucket, replaced)
    except base.BackendError:
        log.warning("could not delete unused parts of upload %s", upload.upload_id, exc_info=True)
    return {**_completed(ctx, bucket, key, etag, info.version_id), **encryption,
            **checksums.from_private(checksums.to_private(sums))}


async def _empty() -> AsyncIterator[bytes]:
    for chunk in ():
        yield chunk


# ---- AbortMultipartUpload -------------------------------------------------------------------------
@s3_handler("AbortMultipartUpload", anonymous=True)
async def abort_multipart_upload(ctx: RequestContext) -> dict:
    upload, store = await open_upload(ctx, "WRITE")
    async with state.finishing(ctx, upload, "abort"):
        with backend_errors(bucket=upload.bucket, key=upload.key):
            await state.delete_segments(store, upload)
            await state.drop_upload(ctx, upload)
            # A part whose upload was in flight during the first sweep is caught here (or, if it lands
            # later still, deleted by UploadPart itself: see ensure_open).
            await state.delete_segments(store, upload)
    return {}


# ---- ListParts --------------------------------------------------------------------------------------
def non_negative(params: dict[str, Any], member: str, wire: str) -> int | None:
    """A paging parameter (max-parts, part-number-marker, max-uploads): 0 … 2^31-1, as S3 checks it."""
    value = params.get(member)
    if value is not None and not 0 <= value <= 2**31 - 1:
        raise errors.InvalidArgument(f"Argument {wire} must be an integer between 0 and 2147483647",
                                     ArgumentName=wire, ArgumentValue=value)
    return value


@s3_handler("ListParts", anonymous=True)
async def list_parts(ctx: RequestContext) -> dict:
    p = ctx.params
    object_input.refuse_sse(p)
    max_parts = non_negative(p, "MaxParts", "max-parts")
    marker = non_negative(p, "PartNumberMarker", "part-number-marker") or 0
    upload, store = await open_upload(ctx, "READ")
    limit = min(1000 if max_parts is None else max_parts, 1000)
    with backend_errors(bucket=upload.bucket, key=upload.key):
        found = await state.list_parts(store, upload, after=marker, limit=limit + 1)
    page, truncated = found[:limit], len(found) > limit
    rec = upload.record
    sums = await mp_checksums.part_sums(ctx, upload) if page else {}
    out: dict[str, Any] = {
        "Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id,
        "PartNumberMarker": marker, "MaxParts": limit, "IsTruncated": truncated,
        "Parts": [{"PartNumber": n, "LastModified": info.last_modified,
                   "ETag": f'"{mp_checksums.shown_etag(sums.get(n), info.etag)}"',
                   "Size": sse_stream.plaintext_size(info.size) if rec.get("sse") else info.size,
                   **mp_checksums.part_output(sums.get(n), info.etag)}
                  for n, info in page],
        "Initiator": rec["initiator"], "Owner": rec["owner"], "StorageClass": rec["storage_class"],
    }
    if page:
        out["NextPartNumberMarker"] = page[-1][0]
    if rec.get("checksum_algorithm"):
        out["ChecksumAlgorithm"] = rec["checksum_algorithm"]
        out["ChecksumType"] = rec.get("checksum_type") or mp_checksums.default_type(rec["checksum_algorithm"])
    return out


# ---- ListMultipartUploads ---------------------------------------------------------------------------
def _encoder(params: dict[str, Any]):
    encoding = params.get("EncodingType")
    if encoding is None:
        return lambda s: s
    if encoding != "url":
        raise errors.InvalidArgument("Invalid Encoding Method specified in Request",
                                     ArgumentName="encoding-type", ArgumentValue=encoding)
    return lambda s: quote_plus(s, safe="/")


@s3_handler("ListMultipartUploads", anonymous=True)
async def list_multipart_uploads(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, prefix, delimiter = p["Bucket"], p.get("Prefix") or "", p.get("Delimiter") or None
    key_marker, id_marker = p.get("KeyMarker") or "", p.get("UploadIdMarker") or ""
    max_uploads = non_negative(p, "MaxUploads", "max-uploads")
    limit = min(1000 if max_uploads is None else max_uploads, 1000)
    enc = _encoder(p)
    account = await bucket_access(ctx, bucket, "READ")
    uploads, prefixes, truncated = [], [], False
    next_key = next_id = None
    for up in await state.scan_uploads(ctx, account, bucket, prefix):
        if key_marker and (up.key < key_marker or (up.key == key_marker and (not id_marker
                                                                               or up.upload_id <= id_marker))):
            continue
        common = None
        if delimiter:
            cut = up.key.find(delimiter, len(prefix))
            if cut >= 0:
                common = up.key[:cut + len(delimiter)]
        if common is not None and prefixes and prefixes[-1] == common:
            continue  # the rest of a common prefix already listed
        if common is not None and key_marker.startswith(common):
            continue  # a prefix the previous page already reported (it ended at or inside it)
        if len(uploads) + len(prefixes) >= limit:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            next_key, next_id = common, None
        else:
            rec = up.record
            uploads.append({"UploadId": up.upload_id, "Key": enc(up.key), "Initiated": up.initiated,
                            "StorageClass": rec["storage_class"], "Owner": rec["owner"],
                            "Initiator": rec["initiator"]})
            if rec.get("checksum_algorithm"):
                uploads[-1]["ChecksumAlgorithm"] = rec["checksum_algorithm"]
                uploads[-1]["ChecksumType"] = (rec.get("checksum_type")
                                               or mp_checksums.default_type(rec["checksum_algorithm"]))
            next_key, next_id = up.key, up.upload_id
    out: dict[str, Any] = {"Bucket": bucket, "KeyMarker": enc(key_marker), "UploadIdMarker": id_marker,
                           "Prefix": enc(prefix), "MaxUploads": limit, "IsTruncated": truncated,
                           "Uploads": uploads, "CommonPrefixes": [{"Prefix": enc(c)} for c in prefixes]}
    if delimiter:
        out["Delimiter"] = enc(delimiter)
    if p.get("EncodingType"):
        out["EncodingType"] = p["EncodingType"]
    if next_key is not None:
        out["NextKeyMarker"] = enc(next_key)
        out["NextUploadIdMarker"] = next_id or ""
    return out
