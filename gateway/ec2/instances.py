"""Instances: RunInstances, DescribeInstances, Start/Stop/Reboot/TerminateInstances.

The instances come from the lookup layer as model records (lookups/instances.py): with InstanceIds only
those are read (targeted store gets, one server call for the ids), so the per-resource actions cost the same
in a tenant of 10 or 300 instances; DescribeInstances without ids lists the tenant once (one `list_servers`,
one `list_security_groups`, one store scan per gateway namespace). The Instance output shape is built here,
at the edge (shapes.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from backends.compute import SecurityGroup, ServerSpec

from ..context import RequestContext
from ..metadata import owners
from ..protocol import errors
from . import filters, paging, public_ips, shapes, vpc_instances
from .block_devices import block_devices
from .error_map import backend_errors
from .idempotency import once
from .ids import derive
from .instance_options import launch_options
from .lookups import instances as lookup
from .lookups import launch_templates as launch_template_lookup
from .lookups.ids import ec2_id, resolve
from .lookups.tags import apply_tags
from .model import PENDING, RUNNING, SHUTTING_DOWN, STOPPED, STOPPING, TERMINATED, Instance, State, ebs_backed
from .output import compact, tag_specs
from .registration import ec2_handler
from .services import account, compute, tags_of

DEFAULT_INSTANCE_TYPE = "m1.small"


# ---- DescribeInstances -----------------------------------------------------------------------------------------
def _f(*path: str) -> filters.Extractor:
    return filters.field("Instance", *path)


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
    "owner-id": filters.field("OwnerId"),
    "placement-group-name": _f("Placement", "GroupName"),
    "platform": _f("Platform"),
    "platform-details": _f("PlatformDetails"),
    "private-dns-name": _f("PrivateDnsName"),
    "private-ip-address": _f("PrivateIpAddress"),
    "product-code": _f("ProductCodes", "ProductCodeId"),
    "ramdisk-id": _f("RamdiskId"),
    "reason": _f("StateTransitionReason"),
    "requester-id": filters.field("RequesterId"),
    "reservation-id": filters.field("ReservationId"),
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


@ec2_handler("DescribeInstances")
async def describe_instances(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="InstanceIds")
    wanted = p.get("InstanceIds") or []
    filters.validate(p.get("Filters"), FILTERS)
    insts = list((await lookup.find(ctx, wanted)).values()) if wanted else await lookup.all_instances(ctx)
    owner, region = account(ctx), ctx.gateway.config.region
    # what filters see: the Instance shape, its tags and the members of its reservation
    views = []
    for inst in insts:
        item = shapes.instance(inst, region)
        views.append({"Instance": item, "Tags": item.get("Tags"), "ReservationId": inst.reservation_id,
                      "OwnerId": owner, "Record": inst})
    views = filters.apply(views, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeInstances", views, lambda v: v["Instance"]["InstanceId"], max_results,
                               p.get("NextToken"))
    return compact({"Reservations": shapes.reservations([(v["Record"], v["Instance"]) for v in chunk], owner),
                    "NextToken": token})


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
    ctx.params, system_tags = await launch_template_lookup.run_parameters(ctx, ctx.params)
    p = ctx.params
    lo, hi = _check_counts(p)
    if not p.get("ImageId"):
        raise errors.MissingParameter("The request must contain the parameter ImageId")
    image_bid = await resolve(ctx, "image", p["ImageId"])
    tagging = tag_specs(p, "instance", "volume")
    metadata_options = await launch_options(ctx, p.get("MetadataOptions"))
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
        if p.get("UserData"):  # a cloud may show user data to admins only (Nova): kept for the instance
            attrs["userData"] = p["UserData"]
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
                         "delete_on_termination": delete_flags, "volume_tags": tagging.get("volume", []),
                         "metadata_options": metadata_options}
            await lookup.save_record(ctx, iid, recs[iid])
        await owners.remember(ctx, {s.id: iid for s, iid in zip(servers, iids, strict=True)})  # the metadata service's
        await apply_tags(ctx, iids, tagging.get("instance"))
        if system_tags:  # EC2's own aws: tags, which a caller may not set
            await tags_of(ctx).add(iids, system_tags, system=True)
        if launch is None and ctx.gateway.config.ec2.public_ip_on_launch:
            await public_ips.later(ctx, {s.id: iid for s, iid in zip(servers, iids, strict=True)})
        known = lookup.known_groups(groups)
        tags = [{"Key": t["Key"], "Value": t.get("Value") or ""}
                for t in (tagging.get("instance") or []) + system_tags] or None
        insts = [await lookup.from_server(ctx, server, iid, recs[iid], known, tags)
                 for iid, server in zip(iids, servers, strict=True)]
        if launch:  # the answer names the instance's interface, subnet and VPC, as EC2's does
            await lookup.place_in_vpcs(ctx, insts)
        pairs = [(inst, shapes.launched(inst, ctx.gateway.config.region)) for inst in insts]
        [reservation] = shapes.reservations(pairs, owner)
        return {**reservation, "ReservationId": rid}

    result = await once(ctx.gateway.store, owner, "RunInstances", p, run)
    if launch and not launch.used:  # a repeated ClientToken: the first call's ports are the ones in use
        await launch.undo(ctx)
    return result


# ---- state changes ------------------------------------------------------------------------------------------
def _change(inst: Instance, current: State) -> dict[str, Any]:
    return {"InstanceId": inst.id, "CurrentState": shapes.state(current), "PreviousState": shapes.state(inst.state)}


def _not_in_state(iid: str, verb: str) -> errors.AwsError:
    return errors.IncorrectInstanceState(f"The instance '{iid}' is not in a state from which it can be {verb}.")


@ec2_handler("StopInstances")
async def stop_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    insts = await lookup.find(ctx, ids, detail=False)
    for iid in ids:
        if insts[iid].state not in (RUNNING, STOPPED, STOPPING):
            raise _not_in_state(iid, "stopped")
        if insts[iid].attrs.get("disableApiStop"):
            raise errors.OperationNotPermitted(
                f"The instance '{iid}' may not be stopped. Modify its 'disableApiStop' instance attribute "
                "and try again.")
    c, out = await compute(ctx), []
    for iid in dict.fromkeys(ids):
        inst = insts[iid]
        if inst.state == RUNNING:
            with backend_errors("instance", iid):
                await c.stop_server(inst.server_id or "", force=bool(ctx.params.get("Force")))
            out.append(_change(inst, STOPPING))
        else:
            out.append(_change(inst, inst.state))
    return {"StoppingInstances": out}


@ec2_handler("StartInstances")
async def start_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    insts = await lookup.find(ctx, ids, detail=False)
    for iid in ids:
        if insts[iid].state not in (STOPPED, RUNNING, PENDING):
            raise _not_in_state(iid, "started")
    c, out = await compute(ctx), []
    for iid in dict.fromkeys(ids):
        inst = insts[iid]
        if inst.state == STOPPED:
            with backend_errors("instance", iid):
                await c.start_server(inst.server_id or "")
            out.append(_change(inst, PENDING))
        else:
            out.append(_change(inst, inst.state))
    return {"StartingInstances": out}


@ec2_handler("RebootInstances")
async def reboot_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    insts = await lookup.find(ctx, ids, detail=False)
    for iid in ids:
        if insts[iid].state not in (RUNNING, PENDING):
            raise _not_in_state(iid, "rebooted")
    c = await compute(ctx)
    for iid in dict.fromkeys(ids):
        if insts[iid].state == RUNNING:
            with backend_errors("instance", iid):
                await c.reboot_server(insts[iid].server_id or "")
    return {}


@ec2_handler("TerminateInstances")
async def terminate_instances(ctx: RequestContext) -> dict[str, Any]:
    ids = ctx.params["InstanceIds"]
    insts = await lookup.find(ctx, ids)
    for iid in ids:
        if insts[iid].attrs.get("disableApiTermination") and insts[iid].state != TERMINATED:
            raise errors.OperationNotPermitted(
                f"The instance '{iid}' may not be terminated. Modify its 'disableApiTermination' instance "
                "attribute and try again.")
    c, out, going = await compute(ctx), [], []
    for iid in dict.fromkeys(ids):
        inst = insts[iid]
        if inst.state == TERMINATED:
            out.append(_change(inst, TERMINATED))
            continue
        if inst.state != SHUTTING_DOWN:
            try:
                with backend_errors("instance", iid):
                    await c.delete_server(inst.server_id or "")
            except errors.InvalidInstanceIDNotFound:
                pass  # already gone from the cloud: terminated all the same
            await vpc_instances.after_terminate(ctx, inst)  # interfaces with DeleteOnTermination
            await lookup.remember_terminated(ctx, dataclasses.replace(inst, vpc=None))
            going.append(iid)
        out.append(_change(inst, SHUTTING_DOWN))
    await public_ips.release(ctx, going)
    return {"TerminatingInstances": out}
