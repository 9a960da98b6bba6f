"""Instances: RunInstances, DescribeInstances, Start/Stop/Reboot/TerminateInstances.

One `list_servers` call and, concurrently, one `list_security_groups` (group names) answer a DescribeInstances of
any size; ids, tags and gateway-held attributes come from process caches and three store scans.
Terminated instances stay visible as `terminated` for `ec2.terminated_retention_seconds`, as on AWS: the
gateway records them when it terminates them, or first sees the cloud report them deleted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from backends.compute import SecurityGroup, Server, ServerSpec, ServerState

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, public_ips, vpc_groups, vpc_instances
from .block_devices import attached_device, block_devices
from .error_map import backend_errors, not_found
from .idempotency import once
from .ids import derive
from .images import ebs_backed
from .lookups.ids import backend_id, check_id, ec2_id, resolve
from .lookups.tags import apply_tags, tag_map
from .output import compact, iso, public, tag_specs
from .records import NS_INSTANCE, NS_TERMINATED
from .registration import ec2_handler
from .services import account, compute
from .tags import NS_TAGS

PENDING, RUNNING, SHUTTING_DOWN, TERMINATED, STOPPING, STOPPED = (
    ("pending", 0), ("running", 16), ("shutting-down", 32), ("terminated", 48), ("stopping", 64), ("stopped", 80))
_STATES = {
    ServerState.BUILDING: PENDING, ServerState.STARTING: PENDING, ServerState.ACTIVE: RUNNING,
    ServerState.REBOOTING: RUNNING, ServerState.STOPPING: STOPPING, ServerState.STOPPED: STOPPED,
    ServerState.DELETING: SHUTTING_DOWN, ServerState.DELETED: TERMINATED,
}
DEFAULT_INSTANCE_TYPE = "m1.small"
DEFAULT_ATTRS = {"disableApiTermination": False, "disableApiStop": False,
                 "instanceInitiatedShutdownBehavior": "stop", "sourceDestCheck": True}


def ec2_state(server: Server) -> tuple[str, int]:
    """The EC2 state of a server. A server in ERROR that never ran failed to launch: AWS shows such an
    instance as terminated (Server.InternalError); one that ran shows as stopped."""
    if server.state == ServerState.ERROR:
        return TERMINATED if server.launched_at is None else STOPPED
    return _STATES.get(server.state, PENDING)


def state(pair: tuple[str, int]) -> dict[str, Any]:
    return {"Code": pair[1], "Name": pair[0]}


def _dns(ip: str | None, region: str, is_public: bool) -> str:
    if not ip or ":" in ip:
        return ""
    dashed = ip.replace(".", "-")
    return f"ec2-{dashed}.{region}.compute.internal" if is_public else f"ip-{dashed}.{region}.compute.internal"


# ---- building Instance items --------------------------------------------------------------------------------
class _Lookup:
    """What building items from servers needs, fetched once per request."""

    def __init__(self, ctx: RequestContext, groups: list[SecurityGroup], records: dict[str, dict],
                 tags: dict[str, list]) -> None:
        self.ctx, self.records, self.tags = ctx, records, tags
        self.region = ctx.gateway.config.region
        self.account = account(ctx)
        self.groups = {g.id: g for g in groups}
        self.groups_by_name = {g.name: g for g in groups}


async def _group_items(lk: _Lookup, server_groups: list[str]) -> list[dict[str, str]]:
    out = []
    for ref in server_groups:
        group = lk.groups.get(ref) or lk.groups_by_name.get(ref)
        if group is None:
            continue
        out.append({"GroupName": group.name, "GroupId": await ec2_id(lk.ctx, "security-group", group.id)})
    return out


async def build_item(lk: _Lookup, server: Server, iid: str) -> dict[str, Any]:
    ctx, record = lk.ctx, lk.records.get(iid, {})
    attrs = {**DEFAULT_ATTRS, **record.get("attrs", {})}
    pair = ec2_state(server)
    private = next((a.ip for a in server.addresses if not a.floating and a.version == 4), None)
    public_ip = next((a.ip for a in server.addresses if a.floating and a.version == 4), None)
    delete_flags = record.get("delete_on_termination", {})
    bdm = []
    for att in server.attachments:
        vol = await ec2_id(ctx, "volume", att.volume_id)
        device = attached_device(record, att.volume_id, att.device)
        if device is None:
            continue  # the cloud names no device while it (un)does an attachment the gateway did not make
        bdm.append({"DeviceName": device, "Ebs": compact({
            "AttachTime": iso(att.attached_at or server.launched_at or server.created),
            "DeleteOnTermination": delete_flags.get(device, att.delete_on_termination),
            "Status": att.state, "VolumeId": vol})})
    reason = None
    if server.state == ServerState.ERROR:
        reason = {"Code": "Server.InternalError", "Message": f"Server.InternalError: {server.fault or 'error'}"}
    elif pair in (STOPPED, STOPPING, SHUTTING_DOWN, TERMINATED):
        reason = {"Code": "Client.UserInitiatedShutdown",
                  "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    reservation = record.get("reservation") or (
        await ec2_id(ctx, "reservation", server.reservation_id) if server.reservation_id
        else derive("reservation", server.id))
    # a cloud may not report a building server's groups yet (Nova): the ones it was launched with
    groups = await _group_items(lk, server.security_groups or record.get("groups") or [])
    root_device = server.root_device or record.get("root_device") or "/dev/sda1"
    return compact({
        "InstanceId": iid,
        "ImageId": await ec2_id(ctx, "image", server.image_id) if server.image_id else record.get("image_id"),
        "State": state(pair),
        "PrivateDnsName": _dns(private, lk.region, False),
        "PublicDnsName": _dns(public_ip, lk.region, True),
        "StateTransitionReason": "User initiated" if pair in (STOPPED, TERMINATED) else "",
        "KeyName": server.key_name,
        "AmiLaunchIndex": record.get("index", server.launch_index),
        "ProductCodes": [],
        "InstanceType": server.flavor_name,
        "LaunchTime": iso(server.launched_at or server.created),
        "Placement": {"AvailabilityZone": server.zone or "", "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"},
        "PrivateIpAddress": private,
        "PublicIpAddress": public_ip,
        "StateReason": reason,
        "Architecture": "x86_64",
        "RootDeviceType": "ebs" if server.boot_from_volume or record.get("ebs_root") else "instance-store",
        "RootDeviceName": root_device,
        "BlockDeviceMappings": bdm,
        "VirtualizationType": "hvm",
        "ClientToken": record.get("client_token", ""),
        "Tags": lk.tags.get(iid),
        "SecurityGroups": groups,
        "SourceDestCheck": attrs["sourceDestCheck"],
        "Hypervisor": "xen",
        "EbsOptimized": False,
        "EnaSupport": False,
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "_ReservationId": reservation,
        "_Attrs": attrs,
        "_ServerId": server.id,
        "_UserData": attrs.get("userData", server.user_data),
    })


def terminated_item(item: dict[str, Any]) -> dict[str, Any]:
    """How a terminated instance looks: no addresses, no volumes, state 48."""
    out = {k: v for k, v in item.items()
           if k not in ("PrivateIpAddress", "PublicIpAddress", "BlockDeviceMappings", "_Attrs")}
    out.update(State=state(TERMINATED), PrivateDnsName="", PublicDnsName="", BlockDeviceMappings=[],
               StateTransitionReason="User initiated",
               StateReason={"Code": "Client.UserInitiatedShutdown",
                            "Message": "Client.UserInitiatedShutdown: User initiated shutdown"})
    return out


async def remember_terminated(ctx: RequestContext, item: dict[str, Any]) -> None:
    retention = ctx.gateway.config.ec2.terminated_retention_seconds
    keep = {k: v for k, v in terminated_item(item).items() if k not in ("Tags",)}
    await ctx.gateway.store.put(NS_TERMINATED, f"{account(ctx)}/{item['InstanceId']}",
                                {"until": time.time() + retention, "item": keep})


async def _terminated(ctx: RequestContext) -> dict[str, dict[str, Any]]:
    """Terminated instances still inside their retention; expired ones are forgotten (and their tags)."""
    store, prefix, now = ctx.gateway.store, f"{account(ctx)}/", time.time()
    out = {}
    for key, value in await store.scan(NS_TERMINATED, prefix):
        iid = key[len(prefix):]
        if value["until"] < now:
            await store.delete(NS_TERMINATED, key)
            await store.delete(NS_INSTANCE, key)
            await store.delete(NS_TAGS, key)
            continue
        out[iid] = value["item"]
    return out


async def records(ctx: RequestContext) -> dict[str, dict[str, Any]]:
    prefix = f"{account(ctx)}/"
    return {k[len(prefix):]: v for k, v in await ctx.gateway.store.scan(NS_INSTANCE, prefix)}


async def instance_items(ctx: RequestContext, wanted: list[str] | None = None) -> list[dict[str, Any]]:
    """Every instance of the caller (or those EC2 ids), terminated ones included, as Instance items with
    private `_` members (reservation, attributes, server id). Unknown wanted ids are simply absent."""
    c = await compute(ctx)
    bids = None
    if wanted:
        bids = [b for b in [await backend_id(ctx, "instance", i) for i in dict.fromkeys(wanted)] if b]
    async def nothing() -> list:
        return []

    # one concurrent round: the servers, the group names they need, and the gateway's own state
    with backend_errors("instance"):
        servers, groups, recs, gone, tags = await asyncio.gather(
            nothing() if bids is not None and not bids else c.list_servers(bids),
            nothing() if bids is not None and not bids else c.list_security_groups(),
            records(ctx), _terminated(ctx), tag_map(ctx))
    groups = await vpc_groups.annotate(ctx, groups)  # a VPC's groups under their EC2 names
    lk = _Lookup(ctx, groups, recs, tags)
    items: dict[str, dict[str, Any]] = {}
    for server in servers:
        iid = await ec2_id(ctx, "instance", server.id)
        assert iid is not None
        item = await build_item(lk, server, iid)
        if server.state == ServerState.DELETED:
            if iid not in gone:
                await remember_terminated(ctx, item)
            item = terminated_item(item)
        elif iid in gone:  # terminated here, the cloud is still tearing it down
            item["State"] = state(SHUTTING_DOWN)
        items[iid] = item
    for iid, item in gone.items():
        if iid not in items and (not wanted or iid in wanted):
            items[iid] = {**item, "Tags": tags.get(iid)}
    await vpc_instances.annotate(ctx, list(items.values()))  # VpcId, SubnetId, NetworkInterfaces
    return list(items.values())


async def find(ctx: RequestContext, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The items for these EC2 ids, each one required (Malformed / one NotFound naming the missing)."""
    for i in ids:
        check_id("instance", i)
    found = {item["InstanceId"]: item for item in await instance_items(ctx, ids)}
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        raise not_found("instance", missing)
    return found


# ---- DescribeInstances -----------------------------------------------------------------------------------------
def _f(*path: str) -> filters.Extractor:
    return filters.field(*path)


FILTERS: dict[str, filters.Extractor] = {
    "architecture": _f("Architecture"),
    "availability-zone": _f("Placement", "AvailabilityZone"),
    "block-device-mapping.attach-time": _f("BlockDeviceMappings", "Ebs", "AttachTime"),
    "block-device-mapping.delete-on-termination": _f("BlockDeviceMappings", "Ebs", "DeleteOnTermination"),
    "block-device-mapping.device-name": _f("BlockDeviceMappings", "DeviceName"),
    "block-device-mapping.status": _f("BlockDeviceMappings", "Ebs", "Status"),
    "block-device-mapping.volume-id": _f("BlockDeviceMappings", "Ebs", "VolumeId"),
    "client-token": _f("ClientToken"),
    "dns-name": _f("PublicDnsName"),
    "group-id": _f("SecurityGroups", "GroupId"),
    "group-name": _f("SecurityGroups", "GroupName"),
    "instance.group-id": _f("SecurityGroups", "GroupId"),
    "instance.group-name": _f("SecurityGroups", "GroupName"),
    "hypervisor": _f("Hypervisor"),
    "image-id": _f("ImageId"),
    "instance-id": _f("InstanceId"),
    "instance-lifecycle": _f("InstanceLifecycle"),
    "instance-state-code": _f("State", "Code"),
    "instance-state-name": _f("State", "Name"),
    "instance-type": _f("InstanceType"),
    "ip-address": _f("PublicIpAddress"),
    "kernel-id": _f("KernelId"),
    "key-name": _f("KeyName"),
    "launch-index": _f("AmiLaunchIndex"),
    "launch-time": _f("LaunchTime"),
    "monitoring-state": _f("Monitoring", "State"),
    "owner-id": lambda item: item.get("_OwnerId"),
    "placement-group-name": _f("Placement", "GroupName"),
    "platform": _f("Platform"),
    "platform-details": _f("PlatformDetails"),
    "private-dns-name": _f("PrivateDnsName"),
    "private-ip-address": _f("PrivateIpAddress"),
    "product-code": _f("ProductCodes", "ProductCodeId"),
    "ramdisk-id": _f("RamdiskId"),
    "reason": _f("StateTransitionReason"),
    "requester-id": _f("_RequesterId"),
    "reservation-id": _f("_ReservationId"),
    "root-device-name": _f("RootDeviceName"),
    "root-device-type": _f("RootDeviceType"),
    "source-dest-check": _f("SourceDestCheck"),
    "state-reason-code": _f("StateReason", "Code"),
    "state-reason-message": _f("StateReason", "Message"),
    "subnet-id": _f("SubnetId"),
    "tenancy": _f("Placement", "Tenancy"),
    "usage-operation": _f("UsageOperation"),
    "virtualization-type": _f("VirtualizationType"),
    "vpc-id": _f("VpcId"),
}


def _add_groups(groups: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """A reservation lists its instances' security groups when they are outside any VPC (EC2-Classic
    style, as AWS did and the EC2 suite checks when the account supports the EC2 platform)."""
    if item.get("VpcId"):
        return
    for g in item.get("SecurityGroups") or []:
        if g not in groups:
            groups.append(g)


def reservations(items: list[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
    """Group Instance items into Reservations, keeping the items' order."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        rid = item.get("_ReservationId") or derive("reservation", item["InstanceId"])
        res = out.setdefault(rid, {"ReservationId": rid, "OwnerId": owner, "Groups": [], "Instances": []})
        _add_groups(res["Groups"], item)
        res["Instances"].append(public(item))
    return list(out.values())


@ec2_handler("DescribeInstances")
async def describe_instances(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="InstanceIds")
    wanted = p.get("InstanceIds") or []
    filters.validate(p.get("Filters"), FILTERS)
    items = list((await find(ctx, wanted)).values()) if wanted else await instance_items(ctx)
    owner = account(ctx)
    for item in items:
        item["_OwnerId"] = owner
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeInstances", items, lambda i: i["InstanceId"], max_results,
                               p.get("NextToken"))
    return compact({"Reservations": reservations(chunk, owner), "NextToken": token})


# ---- RunInstances ---------------------------------------------------------------------------------------------
def _check_counts(p: dict[str, Any]) -> tuple[int, int]:
    lo, hi = p["MinCount"], p["MaxCount"]
    for name, value in (("minCount", lo), ("maxCount", hi)):
        if value < 1:
            raise errors.InvalidParameterValue(
                f"Value ({value}) for parameter {name} is invalid. Expected a positive integer.")
    if lo > hi:
        raise errors.InvalidParameterValue(
            f"Value ({lo}) for parameter minCount is invalid. MinCount must be less than or equal to MaxCount.")
    return lo, hi


async def _resolve_groups(ctx: RequestContext, groups: list[SecurityGroup], names: list[str],
                          ids: list[str]) -> list[str]:
    by_name = {g.name: g.id for g in groups}
    known = {g.id for g in groups}
    out = []
    for name in names:
        if name not in by_name:
            raise errors.InvalidGroupNotFound(f"The security group '{name}' does not exist")
        out.append(by_name[name])
    for gid in ids:
        bid = await resolve(ctx, "security-group", gid)
        if bid not in known:
            raise errors.InvalidGroupNotFound(f"The security group '{gid}' does not exist")
        out.append(bid)
    return list(dict.fromkeys(out))


@ec2_handler("RunInstances")
async def run_instances(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    lo, hi = _check_counts(p)
    if not p.get("ImageId"):
        raise errors.MissingParameter("The request must contain the parameter ImageId")
    image_bid = await resolve(ctx, "image", p["ImageId"])
    tagging = tag_specs(p, "instance", "volume")
    instance_type = p.get("InstanceType") or DEFAULT_INSTANCE_TYPE
    behavior = p.get("InstanceInitiatedShutdownBehavior") or "stop"
    if behavior not in ("stop", "terminate"):
        raise errors.InvalidParameterValue(f"Invalid value '{behavior}' for instanceInitiatedShutdownBehavior.")
    zone = (p.get("Placement") or {}).get("AvailabilityZone")
    c = await compute(ctx)

    async def nothing() -> list:
        return []

    # the groups are listed even when none is named: the answer shows the cloud's default group
    with backend_errors("instance"):
        flavors, keypairs, groups, zones, images = await asyncio.gather(
            c.list_flavors(), c.list_keypairs() if p.get("KeyName") else nothing(),
            c.list_security_groups(), c.list_zones() if zone else nothing(), c.list_images([image_bid]))
    image = next(iter(images), None)
    ebs_root = image is not None and ebs_backed(image)  # the instance boots from a volume
    volumes, delete_flags = await block_devices(ctx, p.get("BlockDeviceMappings") or [], image)
    if instance_type not in {f.name for f in flavors}:
        raise errors.InvalidParameterValue(f"Invalid value '{instance_type}' for InstanceType.")
    if p.get("KeyName") and p["KeyName"] not in {k.name for k in keypairs}:
        raise errors.InvalidKeyPairNotFound(f"The key pair '{p['KeyName']}' does not exist")
    if zone and zone not in {z.name for z in zones}:
        raise errors.InvalidParameterValue(f"Invalid availability zone: [{zone}]")
    # SubnetId / NetworkInterfaces (or the default VPC): the VPC's groups, ports made beforehand
    launch = await vpc_instances.prepare_launch(ctx, p, groups, lo, hi)
    group_bids = launch.groups if launch else await _resolve_groups(
        ctx, groups, p.get("SecurityGroups") or [], p.get("SecurityGroupIds") or [])
    name = next((t.get("Value") or "" for t in tagging.get("instance", []) if t["Key"] == "Name"), "")
    owner = account(ctx)

    async def run() -> dict[str, Any]:
        spec = ServerSpec(name=name or "cloudgate-instance", image_id=image_bid, flavor_name=instance_type,
                          count_min=lo, count_max=hi, key_name=p.get("KeyName"), security_groups=group_bids,
                          user_data=p.get("UserData"), zone=zone, volumes=volumes,
                          root_device=image.root_device if image is not None and ebs_root else None,
                          client_token=p.get("ClientToken"))
        if launch:
            spec.network_id, spec.ports, launch.used = launch.network_id, launch.ports, True
        try:
            with backend_errors("instance", image=p["ImageId"], snapshot=None):
                servers = await c.create_servers(spec)
        except BaseException:
            if launch:
                await launch.undo(ctx)
            raise
        if launch:
            await launch.record(ctx, servers)
        if len(servers) < lo:
            raise errors.InsufficientInstanceCapacity()
        servers.sort(key=lambda s: s.launch_index)
        # a cloud that answers a launch without the groups applies the named ones or the default one
        launch_groups = group_bids or [g.id for g in groups if g.name == "default" and g.owner == owner][:1]
        servers = [s if s.security_groups else dataclasses.replace(s, security_groups=list(launch_groups))
                   for s in servers]
        rid = derive("reservation", servers[0].id)
        attrs = {"disableApiTermination": bool(p.get("DisableApiTermination")),
                 "disableApiStop": bool(p.get("DisableApiStop")),
                 "instanceInitiatedShutdownBehavior": behavior}
        recs, iids = {}, []
        for index, server in enumerate(servers):
            iid = await ec2_id(ctx, "instance", server.id)
            assert iid is not None
            iids.append(iid)
            recs[iid] = {"reservation": rid, "index": index, "client_token": p.get("ClientToken", ""),
                         "server": server.id, "image_id": p["ImageId"], "attrs": attrs,
                         "groups": list(server.security_groups), "ebs_root": ebs_root,
                         "root_device": image.root_device if image is not None else None,
                         "launch_devices": [v[0] for v in volumes],
                         "delete_on_termination": delete_flags, "volume_tags": tagging.get("volume", [])}
            await ctx.gateway.store.put(NS_INSTANCE, f"{owner}/{iid}", recs[iid])
        await apply_tags(ctx, iids, tagging.get("instance"))
        if launch is None and ctx.gateway.config.ec2.public_ip_on_launch:
            public_ips.later(ctx, {s.id: iid for s, iid in zip(servers, iids, strict=True)})
        lk = _Lookup(ctx, groups, recs, {})
        items: list[dict[str, Any]] = []
        res_groups: list[dict[str, Any]] = []
        for iid, server in zip(iids, servers, strict=True):
            item = await build_item(lk, server, iid)
            item["State"] = state(PENDING)
            if tagging.get("instance"):
                item["Tags"] = [{"Key": t["Key"], "Value": t.get("Value") or ""} for t in tagging["instance"]]
            _add_groups(res_groups, item)
            items.append(public(item))
        return {"ReservationId": rid, "OwnerId": owner, "Groups": res_groups, "Instances": items}

    result = await once(ctx.gateway.store, owner, "RunInstances", p, run)
    if launch and not launch.used:  # a repeated ClientToken: the first call's ports are the ones in use
        await launch.undo(ctx)
    return result


# ---- state changes ------------------------------------------------------------------------------------------
def _change(item: dict[str, Any], current: tuple[str, int]) -> dict[str, Any]:
    return {"InstanceId": item["InstanceId"], "CurrentState": state(current),
            "PreviousState": dict(item["State"])}


def _pair(item: dict[str, Any]) -> tuple[str, int]:
    return item["State"]["Name"], item["State"]["Code"]


def _not_in_state(iid: str, verb: str) -> errors.AwsError:
    return errors.IncorrectInstanceState(f"The instance '{iid}' is not in a state from which it can be {verb}.")


@ec2_handler("StopInstances")
async def stop_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    items = await find(ctx, ids)
    for iid in ids:
        pair = _pair(items[iid])
        if pair not in (RUNNING, STOPPED, STOPPING):
            raise _not_in_state(iid, "stopped")
        if items[iid].get("_Attrs", {}).get("disableApiStop"):
            raise errors.OperationNotPermitted(
                f"The instance '{iid}' may not be stopped. Modify its 'disableApiStop' instance attribute "
                "and try again.")
    c, out = await compute(ctx), []
    for iid in dict.fromkeys(ids):
        item = items[iid]
        if _pair(item) == RUNNING:
            with backend_errors("instance", iid):
                await c.stop_server(item["_ServerId"], force=bool(ctx.params.get("Force")))
            out.append(_change(item, STOPPING))
        else:
            out.append(_change(item, _pair(item)))
    return {"StoppingInstances": out}


@ec2_handler("StartInstances")
async def start_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    items = await find(ctx, ids)
    for iid in ids:
        if _pair(items[iid]) not in (STOPPED, RUNNING, PENDING):
            raise _not_in_state(iid, "started")
    c, out = await compute(ctx), []
    for iid in dict.fromkeys(ids):
        item = items[iid]
        if _pair(item) == STOPPED:
            with backend_errors("instance", iid):
                await c.start_server(item["_ServerId"])
            out.append(_change(item, PENDING))
        else:
            out.append(_change(item, _pair(item)))
    return {"StartingInstances": out}


@ec2_handler("RebootInstances")
async def reboot_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    items = await find(ctx, ids)
    for iid in ids:
        if _pair(items[iid]) not in (RUNNING, PENDING):
            raise _not_in_state(iid, "rebooted")
    c = await compute(ctx)
    for iid in dict.fromkeys(ids):
        if _pair(items[iid]) == RUNNING:
            with backend_errors("instance", iid):
                await c.reboot_server(items[iid]["_ServerId"])
    return {}


@ec2_handler("TerminateInstances")
async def terminate_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    items = await find(ctx, ids)
    for iid in ids:
        if items[iid].get("_Attrs", {}).get("disableApiTermination") and _pair(items[iid]) != TERMINATED:
            raise errors.OperationNotPermitted(
                f"The instance '{iid}' may not be terminated. Modify its 'disableApiTermination' instance "
                "attribute and try again.")
    c, out, going = await compute(ctx), [], []
    for iid in dict.fromkeys(ids):
        item = items[iid]
        if _pair(item) == TERMINATED:
            out.append(_change(item, TERMINATED))
            continue
        if _pair(item) != SHUTTING_DOWN:
            try:
                with backend_errors("instance", iid):
                    await c.delete_server(item["_ServerId"])
            except errors.InvalidInstanceIDNotFound:
                pass  # already gone from the cloud: terminated all the same
            await vpc_instances.after_terminate(ctx, item)  # interfaces with DeleteOnTermination
            await remember_terminated(ctx, item)
            going.append(iid)
        out.append(_change(item, SHUTTING_DOWN))
    await public_ips.release(ctx, going)
    return {"TerminatingInstances": out}
