"""EBS snapshots: Create/Delete/Describe (OwnerIds, RestorableByUserIds, filters, paging)."""

from __future__ import annotations

from typing import Any

from backends.compute import Snapshot

from ..context import RequestContext
from ..protocol import errors
from . import deferred_volumes, filters, paging
from .error_map import backend_errors, not_found
from .lookups.ids import ec2_id, resolve, resolve_many
from .lookups.tags import apply_tags, tag_map
from .output import compact, iso, tag_specs
from .registration import ec2_handler
from .services import account, compute, tags_of

_STATES = {"pending": "pending", "completed": "completed", "error": "error", "deleting": "completed"}


async def snapshot_item(ctx: RequestContext, snap: Snapshot, tags: dict[str, list] | None = None) -> dict[str, Any]:
    sid = await ec2_id(ctx, "snapshot", snap.id)
    return compact({
        "SnapshotId": sid,
        # AWS shows vol-ffffffff for a snapshot whose volume is unknown (copied, or deleted long ago).
        "VolumeId": await ec2_id(ctx, "volume", snap.volume_id) if snap.volume_id else "vol-ffffffff",
        "State": _STATES.get(snap.state, "error"), "StartTime": iso(snap.created), "Progress": snap.progress,
        "OwnerId": account(ctx) if not snap.owner or snap.owner == account(ctx) else snap.owner,
        "Description": snap.description or "", "VolumeSize": snap.size_gib, "Encrypted": snap.encrypted,
        "StorageTier": "standard", "Tags": (tags or {}).get(sid)})


@ec2_handler("CreateSnapshot")
async def create_snapshot(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    vid = p["VolumeId"]
    bid = await resolve(ctx, "volume", vid)
    description = p.get("Description")
    if description is not None and len(description) > 255:
        raise errors.InvalidParameterValue("The description must be at most 255 characters.")
    tagging = tag_specs(p, "snapshot")
    c = await compute(ctx)
    with backend_errors("volume", vid):
        snap = await c.create_snapshot(bid, description)
    item = await snapshot_item(ctx, snap)
    item["State"] = "pending" if item["State"] != "completed" else item["State"]
    item["VolumeId"] = vid
    item["Tags"] = await apply_tags(ctx, [item["SnapshotId"]], tagging.get("snapshot"))
    return compact(item)


@ec2_handler("DeleteSnapshot")
async def delete_snapshot(ctx: RequestContext) -> dict[str, Any]:
    sid = ctx.params["SnapshotId"]
    bid = await resolve(ctx, "snapshot", sid)
    c = await compute(ctx)
    kept = await deferred_volumes.pending(ctx)
    volume_bid = None
    if kept:  # its volume may be one DeleteVolume deleted and the cloud keeps for its snapshots
        with backend_errors("snapshot", sid):
            found = await c.list_snapshots([bid])
        volume_bid = found[0].volume_id if found else None
    with backend_errors("snapshot", sid):
        await c.delete_snapshot(bid)
    await tags_of(ctx).remove([sid], None)
    if volume_bid is not None and volume_bid in kept:
        await deferred_volumes.finish_later(ctx, volume_bid, kept[volume_bid][0])
    deferred_volumes.sweep_later(ctx, kept)
    return {}


def _f(*path: str) -> filters.Extractor:
    return filters.field(*path)


FILTERS = {
    "description": _f("Description"), "owner-alias": _f("OwnerAlias"), "owner-id": _f("OwnerId"),
    "progress": _f("Progress"), "snapshot-id": _f("SnapshotId"), "start-time": _f("StartTime"),
    "status": _f("State"), "storage-tier": _f("StorageTier"), "volume-id": _f("VolumeId"),
    "volume-size": _f("VolumeSize"), "encrypted": _f("Encrypted"),
}


@ec2_handler("DescribeSnapshots")
async def describe_snapshots(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="SnapshotIds")
    filters.validate(p.get("Filters"), FILTERS)
    wanted = p.get("SnapshotIds") or []
    bids = list((await resolve_many(ctx, "snapshot", wanted)).values()) if wanted else None
    c = await compute(ctx)
    with backend_errors("snapshot"):
        snaps = await c.list_snapshots(bids)
    tags = await tag_map(ctx)
    items = [await snapshot_item(ctx, s, tags) for s in snaps]
    if wanted:
        missing = [s for s in dict.fromkeys(wanted) if s not in {i["SnapshotId"] for i in items}]
        if missing:
            raise not_found("snapshot", missing)
    me = account(ctx)
    owners = p.get("OwnerIds") or []
    if owners:
        accepted = {me if o == "self" else o for o in owners}
        items = [i for i in items if i["OwnerId"] in accepted]
    restorable = p.get("RestorableByUserIds") or []
    if restorable:
        # Snapshots are private to their owner here: restorable by the owner alone.
        items = [i for i in items if any(u in ("self", me, "all") for u in restorable) and i["OwnerId"] == me]
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeSnapshots", items, lambda i: i["SnapshotId"], max_results,
                               p.get("NextToken"))
    return compact({"Snapshots": chunk, "NextToken": token})
