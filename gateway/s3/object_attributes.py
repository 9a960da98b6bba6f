"""GetObjectAttributes: an object's ETag, checksum, parts, storage class and size, without its body.

The attributes to return come in `x-amz-object-attributes` (comma-separated); an unknown one is
InvalidArgument, none at all InvalidRequest. ObjectParts exists only for objects completed by a multipart
upload (their part layout, multipart_checksums.py); its Part elements, as S3 has them, only when the upload
had a checksum algorithm, paged by x-amz-max-parts / x-amz-part-number-marker. Delete markers answer as
GetObject/HeadObject do (404 with x-amz-delete-marker, 405 for the marker's own version).
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import acl, checksums, names, sse
from . import multipart_checksums as mp_checksums
from .buckets import check_expected_owner
from .common import backend_errors, get_object_extra, object_store, s3_handler
from .listing import s3_etag
from .multipart import non_negative
from .objects import _delete_markers, object_checksums
from .versioning import version_id_param

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS = 1000


def requested_attributes(value: Any) -> set[str]:
    """The attribute names asked for, validated as S3 does."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    wanted = [str(v).strip() for v in items if str(v).strip()]
    if not wanted:
        raise errors.InvalidRequest("The x-amz-object-attributes header specifying the attributes to be "
                                    "retrieved is either missing or empty")
    for name in wanted:
        if name not in ATTRIBUTES:
            raise errors.InvalidArgument("Invalid attribute name specified.", ArgumentName="x-amz-object-attributes",
                                         ArgumentValue=name)
    return set(wanted)


def object_parts(layout: dict[str, Any], marker: int, max_parts: int | None) -> dict[str, Any]:
    """ObjectParts for a layout: parts numbered above `marker`, at most `max_parts` (1000 at most)."""
    parts = layout["parts"]
    limit = min(MAX_PARTS if max_parts is None else max_parts, MAX_PARTS)
    after = [p for p in parts if p[0] > marker]
    page = after[:limit]
    out: dict[str, Any] = {"TotalPartsCount": len(parts), "PartNumberMarker": marker, "MaxParts": limit,
                           "IsTruncated": len(after) > limit}
    if page:
        out["NextPartNumberMarker"] = page[-1][0]
    algorithm = layout.get("algorithm")
    if algorithm:  # S3 lists the parts only of objects uploaded with checksums
        member = checksums.ALGORITHMS[algorithm][1]
        out["Parts"] = [{"PartNumber": n, "Size": size, **({member: value} if value else {})}
                        for n, size, value in page]
    return out


@s3_handler("GetObjectAttributes", anonymous=True)
async def get_object_attributes(ctx: RequestContext) -> dict:
    p = ctx.params
    bucket, key, version_id = p["Bucket"], p["Key"], version_id_param(p.get("VersionId"))
    names.check_bucket_name(bucket)
    wanted = requested_attributes(p.get("ObjectAttributes"))
    max_parts = non_negative(p, "MaxParts", "max-parts")
    marker = non_negative(p, "PartNumberMarker", "part-number-marker") or 0
    await acl.require(ctx, bucket, key, "READ", version_id=version_id)
    check_expected_owner(ctx, await acl.resolve_owner(ctx, bucket))
    store = await object_store(ctx)
    async with _delete_markers(ctx, store, bucket, key, version_id):
        with backend_errors(bucket=bucket, key=key, version_id=version_id):
            info = await store.head_object(bucket, key, version_id=version_id)
    if sse.opener(ctx, info) is not None:  # an SSE-C object needs its key, as for HeadObject
        await sse.present(ctx, bucket, info)
    out: dict[str, Any] = {"LastModified": info.last_modified}
    if info.version_id:
        out["VersionId"] = info.version_id
    if "ETag" in wanted:
        out["ETag"] = s3_etag(info).strip('"')
    if "Checksum" in wanted:
        found = object_checksums(info, await get_object_extra(ctx, bucket, key, info.version_id))
        if found:
            out["Checksum"] = found
    if "ObjectParts" in wanted and mp_checksums.is_multipart(info):
        layout = await mp_checksums.layout_of(ctx, bucket, info)
        if layout is not None:
            out["ObjectParts"] = object_parts(layout, marker, max_parts)
    if "StorageClass" in wanted:
        out["StorageClass"] = "STANDARD"
    if "ObjectSize" in wanted:
        out["ObjectSize"] = info.size
    return out
