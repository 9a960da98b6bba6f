"""EBS volumes: Create/Attach/Detach/Delete/Describe, DescribeVolumeStatus, ModifyVolume (grow only)."""

from __future__ import annotations

import re
from typing import Any

from backends.compute import Volume, VolumeState

from ..context import RequestContext
from ..protocol import errors
from . import deferred_volumes, filters, paging
from .block_devices import attached_device
from .error_map import backend_errors, not_found
from .idempotency import once
from .lookups import instances as instance_lookup
from .lookups.ids import ec2_id, resolve, resolve_many
from .lookups.tags import apply_tags, tag_map
from .model import RUNNING, STOPPED
from .output import compact, iso, now_iso, tag_specs
from .registration import ec2_handler
from .services import account, compute, tags_of

VOLUME_TYPES = ("standard", "gp2", "gp3", "io1", "io2", "st1", "sc1")
MAX_SIZE_GIB = 16384
# the "/dev/" may be left out (AWS echoes the name as given)
_DEVICE = re.compile(r"^(/dev/)?(sd[a-z][0-9]{0,2}|xvd[a-z]{1,2}[0-9]{0,2}|vd[a-z]{1,2}|hd[a-z])$")
_STATES = {VolumeState.CREATING: "creating", VolumeState.AVAILABLE: "available", VolumeState.IN_USE: "in-use",
           VolumeState.ATTACHING: "in-use", VolumeState.DETACHING: "in-use", VolumeState.DELETING: "deleting",
           VolumeState.ERROR: "error"}
_ATTACHMENT_STATES = {VolumeState.ATTACHING: "attaching", VolumeState.DETACHING: "detaching"}


def volume_state(volume: Volume) -> str:
    if volume.state == VolumeState.ATTACHING and not volume.attachments:
        return "available"  # the attach call is accepted; nothing is attached yet
    return _STATES.get(volume.state, "error")


async def server_records(ctx: RequestContext) -> dict[str, tuple[str, dict[str, Any]]]:
    """The gateway's instance records by backend server id: {server id: (instance id, record)}."""
    return {r["server"]: (iid, r) for iid, r in (await instance_lookup.records(ctx)).items() if r.get("server")}


def device_of(by_server: dict[str, tuple[str, dict[str, Any]]], volume_id: str, att: Any) -> str | None:
    return attached_device(by_server.get(att.server_id, ("", {}))[1], volume_id, att.device)


async def volume_item(ctx: RequestContext, volume: Volume, tags: dict[str, list] | None = None,
                      by_server: dict[str, tuple[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    vid = await ec2_id(ctx, "volume", volume.id)
    attachment_state = _ATTACHMENT_STATES.get(volume.state, "attached")
    attachments = []
    for a in volume.attachments:
        device = device_of(by_server or {}, volume.id, a)
        # a flag set through RunInstances/ModifyInstanceAttribute, as the instance shows it
        flags = (by_server or {}).get(a.server_id, ("", {}))[1].get("delete_on_termination") or {}
        attachments.append(compact({
            "AttachTime": iso(a.attached_at or volume.created), "Device": device,
            "InstanceId": await ec2_id(ctx, "instance", a.server_id), "State": attachment_state, "VolumeId": vid,
            "DeleteOnTermination": flags.get(device, a.delete_on_termination)}))
    return compact({
        "VolumeId": vid, "Size": volume.size_gib,
        "SnapshotId": await ec2_id(ctx, "snapshot", volume.snapshot_id) if volume.snapshot_id else "",
        "AvailabilityZone": volume.zone, "State": volume_state(volume), "CreateTime": iso(volume.created),
        "Attachments": attachments,
        "VolumeType": volume.volume_type if volume.volume_type in VOLUME_TYPES else "standard",
        "Encrypted": volume.encrypted, "KmsKeyId": default_kms_key(ctx) if volume.encrypted else None,
        "MultiAttachEnabled": volume.multiattach, "Tags": (tags or {}).get(vid)})


async def _apply_launch_tags(ctx: RequestContext, volumes: list[Volume], tags: dict[str, list],
                             by_server: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Volumes RunInstances created from BlockDeviceMappings get the launch's `volume` TagSpecifications
    once they appear (the cloud creates them after RunInstances has answered)."""
    pending = {sid: r["volume_tags"] for sid, (_, r) in by_server.items() if r.get("volume_tags")}
    if not pending:
        return
    for volume in volumes:
        for att in volume.attachments:
            wanted = pending.get(att.server_id)
            if not wanted:
                continue
            vid = await ec2_id(ctx, "volume", volume.id)
            have = {t["Key"] for t in tags.get(vid, [])}  # type: ignore[arg-type]
            if not {t["Key"] for t in wanted} <= have:
                await tags_of(ctx).add([vid], wanted)  # type: ignore[list-item]
                tags[vid] = [{"Key": k, "Value": v} for k, v in sorted((await tags_of(ctx).get(vid)).items())]  # type: ignore[arg-type]


async def volume_items(ctx: RequestContext, wanted: list[str] | None = None) -> list[dict[str, Any]]:
    c = await compute(ctx)
    bids = list((await resolve_many(ctx, "volume", wanted)).values()) if wanted else None
    with backend_errors("volume"):
        volumes = await c.list_volumes(bids)
    if not wanted:  # by id, resolve_many has refused the volumes deleted here that the cloud still keeps
        kept = await deferred_volumes.pending(ctx)
        volumes = [v for v in volumes if v.id not in kept]
        deferred_volumes.sweep_later(ctx, kept)
    tags, by_server = await tag_map(ctx), await server_records(ctx)
    await _apply_launch_tags(ctx, volumes, tags, by_server)
    items = [await volume_item(ctx, v, tags, by_server) for v in volumes]
    if wanted:
        missing = [v for v in dict.fromkeys(wanted) if v not in {i["VolumeId"] for i in items}]
        if missing:
            raise not_found("volume", missing)
    return items


async def _one(ctx: RequestContext, vid: str) -> tuple[Volume, str]:
    bid = await resolve(ctx, "volume", vid)
    c = await compute(ctx)
    with backend_errors("volume", vid):
        found = await c.list_volumes([bid])
    if not found:
        raise errors.InvalidVolumeNotFound(f"The volume '{vid}' does not exist.")
    return found[0], bid


# ---- actions -------------------------------------------------------------------------------------------------
# The cloud encrypts with its own keys (Cinder: a key manager behind an encrypted volume type); there are no
# customer KMS keys, so the one key there is is AWS's default EBS key, under its alias.
DEFAULT_KMS_ALIAS = "alias/aws/ebs"


def default_kms_key(ctx: RequestContext) -> str:
    """The KmsKeyId encrypted volumes show: the alias ARN of the default EBS key (a form KmsKeyId accepts)."""
    return f"arn:aws:kms:{ctx.gateway.config.region}:{account(ctx)}:{DEFAULT_KMS_ALIAS}"


def _check_kms_key(ctx: RequestContext, p: dict[str, Any]) -> None:
    key = p.get("KmsKeyId")
    if key is None:
        return
    if not p.get("Encrypted"):
        raise errors.InvalidParameterDependency("The parameter KmsKeyId requires the parameter Encrypted to be set.")
    # the ARN as clients see it names the AWS account number (account_edge.py rewrites it on the way out)
    shown = default_kms_key(ctx).replace(f":{account(ctx)}:", f":{ctx.identity.account_id}:") if ctx.identity else ""
    if key not in (DEFAULT_KMS_ALIAS, default_kms_key(ctx), shown):
        raise errors.InvalidParameterValue(
            f"Value ({key}) for parameter kmsKeyId is invalid. Only the default EBS key "
            f"({DEFAULT_KMS_ALIAS}) is available.")


@ec2_handler("CreateVolume")
async def create_volume(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    zone, size, snapshot = p.get("AvailabilityZone"), p.get("Size"), p.get("SnapshotId")
    if not zone:
        raise errors.MissingParameter("The request must contain the parameter AvailabilityZone")
    if size is None and not snapshot:
        raise errors.MissingParameter("The request must contain the parameter size or snapshotId")
    if size is not None and not 1 <= size <= MAX_SIZE_GIB:
        raise errors.InvalidParameterValue(
            f"Volume of size {size}GB is too {'small' if size < 1 else 'large'}; "
            f"minimum is 1GB and maximum is {MAX_SIZE_GIB}GB.")
    vtype = p.get("VolumeType") or "standard"
    if vtype not in VOLUME_TYPES:
        raise errors.InvalidParameterValue(f"Value ({vtype}) for parameter volumeType is invalid. "
                                           f"Valid types: {', '.join(VOLUME_TYPES)}.")
    _check_kms_key(ctx, p)
    snap_bid = await resolve(ctx, "snapshot", snapshot) if snapshot else None
    tagging = tag_specs(p, "volume")
    c = await compute(ctx)
    with backend_errors("zone"):
        zones = {z.name for z in await c.list_zones()}
    if zone not in zones:
        raise errors.InvalidZoneNotFound(f"The zone '{zone}' does not exist.")
    name = next((t.get("Value") for t in tagging.get("volume", []) if t["Key"] == "Name"), None)

    async def run() -> dict[str, Any]:
        # the backend decides how to encrypt, or raises NotSupported (-> Unsupported) when it cannot
        with backend_errors("volume", snapshot=snapshot):
            volume = await c.create_volume(size, zone, snapshot_id=snap_bid,
                                           volume_type=None if vtype == "standard" else vtype, name=name,
                                           encrypted=bool(p.get("Encrypted")))
        item = await volume_item(ctx, volume)
        item["State"] = "creating"
        item["Tags"] = await apply_tags(ctx, [item["VolumeId"]], tagging.get("volume"))
        if vtype != "standard":
            item["VolumeType"] = vtype
        return compact(item)

    return await once(ctx.gateway.store, account(ctx), "CreateVolume", p, run)


@ec2_handler("DeleteVolume")
async def delete_volume(ctx: RequestContext) -> dict[str, Any]:
    vid = ctx.params["VolumeId"]
    volume, bid = await _one(ctx, vid)
    if volume.attachments:
        iid = await ec2_id(ctx, "instance", volume.attachments[0].server_id)
        raise errors.VolumeInUse(f"Volume {vid} is currently attached to {iid}")
    c = await compute(ctx)
    try:
        with backend_errors("volume", vid):
            await c.delete_volume(bid)
    except errors.VolumeInUse:
        # not attached: Cinder keeps a volume while it has snapshots, which on AWS outlive it: the gateway
        # hides it and deletes it after them; any other conflict is the caller's to retry
        with backend_errors("volume", vid):
            deferred = await deferred_volumes.defer_delete(ctx, c, vid, volume)
        if not deferred:
            raise errors.VolumeInUse(f"Volume {vid} cannot be deleted now: "
                                     "another operation runs on it.") from None
    await tags_of(ctx).remove([vid], None)
    deferred_volumes.sweep_later(ctx, await deferred_volumes.pending(ctx))
    return {}


@ec2_handler("AttachVolume")
async def attach_volume(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    vid, iid, device = p["VolumeId"], p["InstanceId"], p["Device"]
    if not _DEVICE.match(device):
        raise errors.InvalidParameterValue(
            f"Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name.")
    volume, bid = await _one(ctx, vid)
    instance = (await instance_lookup.find(ctx, [iid]))[iid]
    if volume.attachments or volume.state in (VolumeState.IN_USE, VolumeState.ATTACHING):
        raise errors.VolumeInUse(f"{vid} is already attached to an instance")
    if volume.state != VolumeState.AVAILABLE:
        raise errors.IncorrectState(f"{vid} is not 'available'.")
    if instance.state not in (RUNNING, STOPPED):
        raise errors.IncorrectInstanceState(f"Instance '{iid}' is not 'running'.")
    zone = instance.server.zone if instance.server is not None else None
    if zone and volume.zone and zone != volume.zone:
        raise errors.InvalidVolumeZoneMismatch(
            f"The volume '{vid}' is not in the same availability zone as instance '{iid}'")
    if device in {v.device for v in instance.volumes}:
        raise errors.InvalidParameterValue(f"Invalid value '{device}' for unixDevice. "
                                           "Attachment point is already in use")
    c = await compute(ctx)
    with backend_errors("volume", vid, instance=iid):
        att = await c.attach_volume(bid, instance.server_id or "", device if device.startswith("/") else f"/dev/{device}")
    # AWS shows the device asked for; the cloud may name it otherwise (Nova picks its own): remember it
    await instance_lookup.change_record(ctx, iid, instance.server_id, lambda r: r.setdefault("devices", {}).update(
        {bid: {"device": device, "cloud": att.device}}))
    return {"AttachTime": iso(att.attached_at) or now_iso(), "Device": device, "InstanceId": iid,
            "State": "attaching", "VolumeId": vid, "DeleteOnTermination": False}


@ec2_handler("DetachVolume")
async def detach_volume(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    vid = p["VolumeId"]
    volume, bid = await _one(ctx, vid)
    if not volume.attachments:
        raise errors.IncorrectState(f"Volume '{vid}' is in the '{volume_state(volume)}' state.")
    att = volume.attachments[0]
    iid = await ec2_id(ctx, "instance", att.server_id)
    if p.get("InstanceId"):
        matching = [a for a in volume.attachments if a.server_id == await resolve(ctx, "instance", p["InstanceId"])]
        if not matching:
            raise errors.InvalidAttachmentNotFound(
                f"The volume '{vid}' is not attached to instance '{p['InstanceId']}'")
        att, iid = matching[0], p["InstanceId"]
    by_server = await server_records(ctx)
    device = device_of(by_server, bid, att)
    if p.get("Device") and device != p["Device"]:
        raise errors.InvalidAttachmentNotFound(f"The volume '{vid}' is not attached at '{p['Device']}'")
    c = await compute(ctx)
    with backend_errors("volume", vid, instance=iid):
        await c.detach_volume(bid, att.server_id, force=bool(p.get("Force")))
    owner_iid, record = by_server.get(att.server_id, ("", {}))
    if bid in (record.get("devices") or {}):
        await instance_lookup.change_record(ctx, owner_iid, att.server_id,
                                            lambda r: (r.get("devices") or {}).pop(bid, None))
    return compact({"AttachTime": iso(att.attached_at), "Device": device, "InstanceId": iid,
                    "State": "detaching", "VolumeId": vid, "DeleteOnTermination": att.delete_on_termination})


def _f(*path: str) -> filters.Extractor:
    return filters.field(*path)


FILTERS = {
    "attachment.attach-time": _f("Attachments", "AttachTime"),
    "attachment.delete-on-termination": _f("Attachments", "DeleteOnTermination"),
    "attachment.device": _f("Attachments", "Device"),
    "attachment.instance-id": _f("Attachments", "InstanceId"),
    "attachment.status": _f("Attachments", "State"),
    "availability-zone": _f("AvailabilityZone"),
    "create-time": _f("CreateTime"),
    "encrypted": _f("Encrypted"),
    "multi-attach-enabled": _f("MultiAttachEnabled"),
    "size": _f("Size"),
    "snapshot-id": _f("SnapshotId"),
    "status": _f("State"),
    "volume-id": _f("VolumeId"),
    "volume-type": _f("VolumeType"),
}


@ec2_handler("DescribeVolumes")
async def describe_volumes(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=500, ids_param="VolumeIds", clamp=True)
    filters.validate(p.get("Filters"), FILTERS)
    items = filters.apply(await volume_items(ctx, p.get("VolumeIds")), p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeVolumes", items, lambda i: i["VolumeId"], max_results, p.get("NextToken"))
    return compact({"Volumes": chunk, "NextToken": token})


def status_item(item: dict[str, Any]) -> dict[str, Any]:
    ok = item["State"] in ("available", "in-use")
    status = "ok" if ok else ("impaired" if item["State"] == "error" else "insufficient-data")
    return {"VolumeId": item["VolumeId"], "AvailabilityZone": item["AvailabilityZone"], "Events": [],
            "Actions": [], "VolumeStatus": {"Status": status, "Details": [
                {"Name": "io-enabled", "Status": "passed" if ok else "failed"},
                {"Name": "io-performance", "Status": "not-applicable"}]}}


STATUS_FILTERS = {
    "availability-zone": _f("AvailabilityZone"),
    "volume-id": _f("VolumeId"),
    "volume-status.status": _f("VolumeStatus", "Status"),
    "volume-status.details-name": _f("VolumeStatus", "Details", "Name"),
    "volume-status.details-status": _f("VolumeStatus", "Details", "Status"),
    "event.event-type": _f("Events", "EventType"),
    "action.code": _f("Actions", "Code"),
}


@ec2_handler("DescribeVolumeStatus")
async def describe_volume_status(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="VolumeIds")
    filters.validate(p.get("Filters"), STATUS_FILTERS)
    items = [status_item(i) for i in await volume_items(ctx, p.get("VolumeIds"))]
    items = filters.apply(items, p.get("Filters"), STATUS_FILTERS)
    chunk, token = paging.page("DescribeVolumeStatus", items, lambda i: i["VolumeId"], max_results,
                               p.get("NextToken"))
    return compact({"VolumeStatuses": chunk, "NextToken": token})


@ec2_handler("ModifyVolume")
async def modify_volume(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    vid = p["VolumeId"]
    volume, bid = await _one(ctx, vid)
    current_type = volume.volume_type if volume.volume_type in VOLUME_TYPES else "standard"
    if p.get("VolumeType") not in (None, current_type) or p.get("Iops") is not None \
            or p.get("Throughput") is not None or p.get("MultiAttachEnabled") is not None:
        raise errors.Unsupported("Only the size of a volume can be modified.")
    size = p.get("Size")
    if size is None:
        raise errors.MissingParameter("The request must contain the parameter size")
    if size < volume.size_gib:
        raise errors.InvalidParameterValue(
            f"New size cannot be smaller than existing size ({size} < {volume.size_gib}).")
    if size > MAX_SIZE_GIB:
        raise errors.InvalidParameterValue(f"Volume of {size}GiB is too large; maximum is {MAX_SIZE_GIB}GiB.")
    if size == volume.size_gib:
        raise errors.InvalidParameterValue("New size must be larger than the current size.")
    c = await compute(ctx)
    with backend_errors("volume", vid):
        await c.extend_volume(bid, size)
    return {"VolumeModification": {
        "VolumeId": vid, "ModificationState": "modifying", "TargetSize": size, "OriginalSize": volume.size_gib,
        "TargetVolumeType": current_type, "OriginalVolumeType": current_type, "Progress": 0,
        "StartTime": now_iso(), "TargetMultiAttachEnabled": volume.multiattach,
        "OriginalMultiAttachEnabled": volume.multiattach}}
