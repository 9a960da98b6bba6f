"""Checksums of multipart uploads, and the part layout a completed multipart object keeps.

An upload may fix an algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and a type at creation:
- COMPOSITE (the default except for CRC64NVME; the only one for SHA1/SHA256): the object's checksum is the
  algorithm applied to the concatenated binary part checksums, then "-<number of parts>".
- FULL_OBJECT (CRC algorithms only; CRC64NVME's only one): the CRC of the whole object, which the gateway
  combines from the part CRCs and sizes (CRC combination, awscrt's C implementation) without rereading.

Every part of an upload with an algorithm gets a checksum of that algorithm (sent, trailed or computed
here); parts may carry their own checksum in uploads without one. Each is kept in gateway state
(NS_PART, pinned to the stored part's etag) until the upload completes or is aborted.

Completion stores the object checksum with the object (private `checksum-<algorithm>`; a "-N" value reads
back as COMPOSITE) and the part layout (NS_LAYOUT, keyed by the upload id the object carries): each part's
number, size and checksum, for GetObject/HeadObject ?partNumber= and GetObjectAttributes' ObjectParts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from awscrt import checksums as crt

from backends.base import ObjectInfo, ObjectStore

from ..context import RequestContext
from ..protocol import errors
from . import checksums
from .multipart_state import NS_PART_SUM, PRIVATE_UPLOAD_ID, Upload

NS_PART = NS_PART_SUM  # "<upload store key>\0<part number, 5 digits>" -> {"etag", "algorithm", "value", "shown"}
NS_LAYOUT = "s3:mpu-layout"      # "<bucket>/<key>\0<upload id>" -> {"parts": [[number, size, checksum]], ...}
TYPES = ("COMPOSITE", "FULL_OBJECT")
_CRC_COMBINE = {"CRC32": (crt.combine_crc32, 4), "CRC32C": (crt.combine_crc32c, 4),
                "CRC64NVME": (crt.combine_crc64nvme, 8)}


def _low(algorithm: str) -> str:
    return checksums.ALGORITHMS[algorithm][0]


def default_type(algorithm: str) -> str:
    return "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"


# ---- CreateMultipartUpload ---------------------------------------------------------------------------
def creation_settings(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(algorithm, type) an upload asks for, validated as S3 does."""
    algorithm, kind = params.get("ChecksumAlgorithm"), params.get("ChecksumType")
    if algorithm is not None:
        algorithm = str(algorithm).upper()
        if algorithm not in checksums.ALGORITHMS:
            raise errors.InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of "
                                        "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
    if kind is None:
        return algorithm, None if algorithm is None else default_type(algorithm)
    if kind not in TYPES:
        raise errors.InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    if algorithm is None:
        raise errors.InvalidRequest("The x-amz-checksum-type header can only be used with the "
                                    "x-amz-checksum-algorithm header.")
    if (kind == "FULL_OBJECT" and algorithm not in _CRC_COMBINE) or (kind == "COMPOSITE" and algorithm == "CRC64NVME"):
        raise errors.InvalidRequest(f"The {kind} checksum type cannot be used with the {_low(algorithm)} "
                                    "checksum algorithm.")
    return algorithm, kind


# ---- UploadPart ---------------------------------------------------------------------------------------
def part_spec(spec: checksums.ChecksumSpec, record: Mapping[str, Any]) -> checksums.ChecksumSpec:
    """A part of an upload with an algorithm carries that algorithm (computed when the client sent none);
    another algorithm is refused."""
    algorithm = record.get("checksum_algorithm")
    if algorithm is None:
        return spec
    if spec.algorithm is not None and spec.algorithm != algorithm:
        raise errors.InvalidRequest(f"Checksum Type mismatch occurred, expected checksum Type: {_low(algorithm)}, "
                                    f"actual checksum Type: {_low(spec.algorithm)}")
    spec.algorithm = algorithm
    return spec


def _part_key(upload: Upload, number: int) -> str:
    return f"{upload.store_key}\0{number:05d}"


async def remember_part(ctx: RequestContext, upload: Upload, number: int, stored_etag: str,
                        values: Mapping[str, str], shown: str | None = None) -> None:
    """Record what S3 says of a stored part that the backend can't: its checksum, and the ETag shown for it
    when that is not the stored bytes' MD5 (SSE-S3 parts show their plaintext MD5)."""
    rec: dict[str, Any] = {"etag": stored_etag}
    if values:
        rec["algorithm"], rec["value"] = next(iter(values.items()))
    if shown and shown != stored_etag:
        rec["shown"] = shown
    # Nothing to say: no write. An older record of this part number is pinned to other bytes' etag (or,
    # for the same etag, describes the same bytes), so it cannot mislead.
    if len(rec) > 1:
        await ctx.gateway.store.put(NS_PART, _part_key(upload, number), rec)


async def part_sums(ctx: RequestContext, upload: Upload) -> dict[int, dict[str, Any]]:
    """The checksums recorded for the upload's parts, by part number."""
    prefix = f"{upload.store_key}\0"
    return {int(k[len(prefix):]): v for k, v in await ctx.gateway.store.scan(NS_PART, prefix)}


def _current(rec: Mapping[str, Any] | None, stored_etag: str) -> Mapping[str, Any]:
    return rec if rec and rec.get("etag") == stored_etag else {}


def part_output(rec: Mapping[str, Any] | None, stored_etag: str) -> dict[str, str]:
    """Output members (ChecksumCRC32: v) of a part's recorded checksum, if it is still that part's."""
    rec = _current(rec, stored_etag)
    return {checksums.ALGORITHMS[rec["algorithm"]][1]: rec["value"]} if rec.get("algorithm") else {}


def shown_etag(rec: Mapping[str, Any] | None, stored_etag: str) -> str:
    """The ETag S3 shows for a stored part (hex, no quotes)."""
    return _current(rec, stored_etag).get("shown") or stored_etag


# ---- CompleteMultipartUpload --------------------------------------------------------------------------
def _given_part_sums(part: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for name, (_, member, size) in checksums.ALGORITHMS.items():
        value = part.get(member)
        if value is None:
            continue
        try:
            ok = len(base64.b64decode(value, validate=True)) == size
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise errors.InvalidArgument("Invalid Base64 or multiple checksums present in request",
                                         ArgumentName="Checksum", ArgumentValue=value)
        out.append((name, value))
    if len(out) > 1:
        raise errors.InvalidArgument("Invalid Base64 or multiple checksums present in request",
                                     ArgumentName="Checksum")
    return out


def check_completion_type(params: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    kind = params.get("ChecksumType")
    mine = record.get("checksum_type") if record.get("checksum_algorithm") else None
    if kind is not None and kind != mine:
        raise errors.InvalidRequest(f"The upload was created using the {mine or 'null'} checksum mode. The complete "
                                    "request must use the same checksum mode.")


async def _read_back(store: ObjectStore, upload: Upload, number: int, algorithm: str) -> str:
    """The checksum of a part nobody recorded one for (UploadPartCopy): computed from its stored bytes."""
    if upload.record.get("sse"):
        raise errors.S3NotImplemented("Checksums of copied parts of an encrypted upload are not supported.")
    running = checksums.new_checksum(algorithm)
    _, _, body = await store.get_object(upload.segments, upload.part(number))
    async for piece in body:
        running.update(piece)
    return running.b64digest()


async def completion(ctx: RequestContext, store: ObjectStore, upload: Upload,
                     chosen: list[tuple[int, ObjectInfo, int]], recorded: dict[int, dict[str, Any]]
                     ) -> tuple[dict[str, str], list[list[Any]]]:
    """Verify the part checksums a CompleteMultipartUpload lists (and its whole-object checksum header), and
    compute the object's checksum. `chosen`: (part number, stored part, plaintext size) in order;
    `recorded`: part_sums(). Returns
    ({algorithm: value} to store, the part layout [[number, size, checksum or None]])."""
    params, record = ctx.params, upload.record
    algorithm: str | None = record.get("checksum_algorithm")
    kind = record.get("checksum_type") or (default_type(algorithm) if algorithm else None)
    listed = {p.get("PartNumber"): p for p in (params.get("MultipartUpload") or {}).get("Parts") or []}
    values: list[str | None] = []
    for number, info, _ in chosen:
        given = _given_part_sums(listed.get(number) or {})
        rec = _current(recorded.get(number), info.etag)
        mine = rec if rec.get("algorithm") else None
        if algorithm is not None and mine is None:
            mine = {"algorithm": algorithm, "value": await _read_back(store, upload, number, algorithm)}
        if algorithm is not None and not given and kind == "COMPOSITE":
            raise errors.InvalidRequest(f"The upload was created using a {_low(algorithm)} checksum. The complete "
                                        "request must include the checksum for each part. It was missing for part "
                                        f"{number} in the request.")
        for name, value in given:
            if mine is None or mine["algorithm"] != name:
                if algorithm is None and mine is None:
                    continue  # nothing recorded to check it against (an upload without checksums)
                raise errors.BadDigest(f"The {_low(name)} you specified for part {number} did not match what "
                                       "we received.")
            if mine["value"] != value:
                raise errors.InvalidPart(UploadId=upload.upload_id, PartNumber=number)
        values.append(mine["value"] if mine and (algorithm is None or mine["algorithm"] == algorithm) else None)
    size = params.get("MpuObjectSize")
    total = sum(plain for _, _, plain in chosen)
    if size is not None and size != total:
        if size < 0:
            raise errors.InvalidRequest(f"Value for x-amz-mp-object-size header is less than zero: '{size}'")
        raise errors.InvalidRequest(f"The provided 'x-amz-mp-object-size' header value {size} does not match what "
                                    f"was computed: {total}")
    whole = _object_checksum(algorithm, kind, [(v, plain) for v, (_, _, plain) in zip(values, chosen, strict=True)])
    _check_declared(params, algorithm, whole)
    layout = [[number, plain, value] for (number, _, plain), value in zip(chosen, values, strict=True)]
    return ({algorithm: whole} if algorithm and whole else {}), layout


def _object_checksum(algorithm: str | None, kind: str | None, parts: list[tuple[str | None, int]]) -> str | None:
    if algorithm is None or any(v is None for v, _ in parts):
        return None
    raw = [base64.b64decode(v) for v, _ in parts]  # type: ignore[arg-type]
    if kind == "FULL_OBJECT":
        combine, width = _CRC_COMBINE[algorithm]
        crc = 0
        for digest, (_, size) in zip(raw, parts, strict=True):
            crc = combine(crc, int.from_bytes(digest, "big"), size)
        return base64.b64encode(crc.to_bytes(width, "big")).decode("ascii")
    running = checksums.new_checksum(algorithm)
    running.update(b"".join(raw))
    return f"{running.b64digest()}-{len(parts)}"


def _check_declared(params: Mapping[str, Any], algorithm: str | None, whole: str | None) -> None:
    """The whole-object checksum a Complete may send (x-amz-checksum-<algorithm>) must be the one computed."""
    for name, (low, member, _) in checksums.ALGORITHMS.items():
        value = params.get(member)
        if value is None:
            continue
        if algorithm is None:
            raise errors.InvalidRequest(f"The upload was created without a checksum algorithm; "
                                        f"x-amz-checksum-{low} cannot be used.")
        if name != algorithm:
            raise errors.InvalidRequest(f"Checksum Type mismatch occurred, expected checksum Type: "
                                        f"{_low(algorithm)}, actual checksum Type: {low}")
        # A COMPOSITE value may come with or without its "-N" (the checksum of the part checksums).
        if whole is None or value.strip() not in (whole, whole.rpartition("-")[0] if "-" in whole else whole):
            raise checksums.checksum_mismatch(name)


# ---- the layout of a completed object -----------------------------------------------------------------
def _layout_key(bucket: str, key: str, upload_id: str) -> str:
    return f"{bucket}/{key}\0{upload_id}"


async def save_layout(ctx: RequestContext, bucket: str, key: str, upload: Upload, layout: list[list[Any]],
                      algorithm: str | None, kind: str | None) -> None:
    await ctx.gateway.store.put(NS_LAYOUT, _layout_key(bucket, key, upload.upload_id),
                                {"parts": layout, "algorithm": algorithm, "type": kind})


async def layout_of(ctx: RequestContext, bucket: str, info: ObjectInfo) -> dict[str, Any] | None:
    """The part layout of an object completed by multipart upload (None for any other object, or one
    completed before layouts were kept)."""
    upload_id = info.private.get(PRIVATE_UPLOAD_ID)
    if not upload_id:
        return None
    return await ctx.gateway.store.get(NS_LAYOUT, _layout_key(bucket, info.key, upload_id))


def part_range(layout: Mapping[str, Any], part_number: int) -> tuple[int, int, list[Any]]:
    """(first byte, last byte, [number, size, checksum]) of the part_number-th part (1-based)."""
    parts = layout["parts"]
    if not 1 <= part_number <= len(parts):
        raise errors.InvalidPartNumber(PartNumberRequested=part_number, ActualPartCount=len(parts))
    first = sum(size for _, size, _ in parts[:part_number - 1])
    part = parts[part_number - 1]
    return first, first + part[1] - 1, part


def is_multipart(info: ObjectInfo) -> bool:
    return bool(info.manifest or info.private.get(PRIVATE_UPLOAD_ID))


@dataclass
class PartRead:
    """Where the part a ?partNumber= read names lies in its object."""

    first: int
    last: int
    count: int                  # the object's number of parts (x-amz-mp-parts-count)
    checksum: dict[str, str]    # output members of the part's own checksum (ChecksumCRC32: v), if kept


async def locate_part(ctx: RequestContext, bucket: str, info: ObjectInfo, part_number: int) -> PartRead | None:
    """The part_number-th part of a multipart object; None when the object has no recorded layout (not a
    multipart object: its part 1 is the whole object). InvalidPartNumber (416) beyond the last part."""
    layout = await layout_of(ctx, bucket, info)
    if layout is None:
        return None
    first, last, (_, _, value) = part_range(layout, part_number)
    algorithm = layout.get("algorithm")
    checksum = {checksums.ALGORITHMS[algorithm][1]: value} if algorithm and value else {}
    return PartRead(first, last, len(layout["parts"]), checksum)
