"""Instances in a VPC: what RunInstances, DescribeInstances and TerminateInstances add for them
(instances.py calls these hooks; an account without VPCs pays nothing for them).

RunInstances with SubnetId / PrivateIpAddress / NetworkInterfaces boots the server on ports: for one
instance the primary port is made here first (so its private address, groups and DeleteOnTermination are
the gateway's to decide, and the cloud keeps it when the server goes); for several, the cloud makes one port
per server on the subnet's network. Without a subnet the instance is EC2-Classic-style (the cloud's default
network), unless the gateway runs with `ec2.default_vpc: true`: then it goes to the default subnet of the
default VPC, created on first need (vpcs.default_vpc_id).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from backends import base
from backends.compute import SecurityGroup, Server

from ..context import RequestContext
from ..protocol import errors
from . import public_ips, vpc_setup
from .error_map import backend_errors
from .lookups import groups as vpc_groups
from .lookups.ids import ec2_id
from .lookups.interfaces import check_ips, find_interface, new_port, vpc_group_ids
from .lookups.vpcs import SubnetView, find_subnet, find_vpc, load_subnets
from .model import Instance
from .output import now_iso
from .records import NS_ENI, get, modify, update
from .routing import interface_gone
from .services import network


@dataclass
class Launch:
    subnet: SubnetView
    groups: list[str]                                   # backend ids of the VPC groups the instance gets
    ports: list[str] = field(default_factory=list)      # ports to boot on, in device order
    created: list[str] = field(default_factory=list)    # ports made for this launch (undone on failure)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # port id -> ENI record
    network_id: str | None = None                       # several instances: the cloud makes their ports
    public_ip: bool = False                             # MapPublicIpOnLaunch / AssociatePublicIpAddress
    used: bool = False                                  # the launch went ahead (not a repeated ClientToken)

    async def undo(self, ctx: RequestContext) -> None:
        net = await network(ctx)
        for port in self.created:
            with contextlib.suppress(base.BackendError):
                await net.delete_port(port)

    async def record(self, ctx: RequestContext, servers: list[Server]) -> None:
        """After the launch: the ENI records (device index, DeleteOnTermination), and a public address when
        the subnet maps one (public_ips: released with the instance)."""
        now = now_iso()
        server = servers[0].id if len(servers) == 1 else None
        for port, rec in self.devices.items():
            eni = await ec2_id(ctx, "network-interface", port)
            await update(ctx, NS_ENI, eni or "", **rec, attach_time=now, server=server, launched=time.time())
        if self.public_ip and self.ports and len(servers) == 1:
            iid = await ec2_id(ctx, "instance", servers[0].id)
            with contextlib.suppress(base.BackendError):  # no pool or quota: the instance runs without one
                await public_ips.give(ctx, iid or "", port_id=self.ports[0])


def _vpc_mode(ctx: RequestContext) -> bool:
    return bool(getattr(ctx.gateway.config.ec2, "default_vpc", False))


async def _default_subnet(ctx: RequestContext, zone: str | None) -> SubnetView:
    vpc = await find_vpc(ctx, await vpc_setup.default_vpc_id(ctx))
    subnets = sorted((await load_subnets(ctx, vpc_id=vpc.vpc.id)).values(), key=lambda s: s.subnet.cidr)
    for s in subnets:
        if (zone is None or s.subnet.zone == zone) and s.record.get("default_for_az"):
            return s
    if not subnets:
        raise errors.MissingInput("The default VPC has no subnet; create one with CreateDefaultSubnet.")
    return subnets[0]


async def _groups_by_name(ctx: RequestContext, groups: list[SecurityGroup], names: list[str],
                          vpc_backend_id: str) -> list[str]:
    in_vpc = {g.name: g.id for g in await vpc_groups.annotate(ctx, groups) if g.network_id == vpc_backend_id}
    out = []
    for name in names:
        if name not in in_vpc:
            raise errors.InvalidGroupNotFound(f"The security group '{name}' does not exist in VPC")
        out.append(in_vpc[name])
    return out


async def prepare_launch(ctx: RequestContext, p: dict[str, Any], groups: list[SecurityGroup], count_min: int,
                         count_max: int) -> Launch | None:
    """Check a RunInstances' VPC parameters and make its ports; None for an EC2-Classic-style launch."""
    nis = sorted(p.get("NetworkInterfaces") or [], key=lambda n: n.get("DeviceIndex", 0))
    subnet_id, private_ip = p.get("SubnetId"), p.get("PrivateIpAddress")
    zone = (p.get("Placement") or {}).get("AvailabilityZone")
    if nis and (subnet_id or private_ip or p.get("SecurityGroupIds") or p.get("SecurityGroups")):
        raise errors.InvalidParameterCombination("Network interfaces and an instance-level subnet ID, private IP "
                                                 "address or security groups may not be specified on the same "
                                                 "request")
    if not nis and not subnet_id:
        if not _vpc_mode(ctx):
            if private_ip:
                raise errors.InvalidParameterCombination("A private IP address requires a subnet (SubnetId).")
            return None
        subnet = await _default_subnet(ctx, zone)
    elif nis:
        for n in nis:
            if n.get("DeviceIndex") is None:
                raise errors.InvalidParameterValue("Each network interface requires a device index.")
            if n.get("NetworkInterfaceId") and n.get("DeleteOnTermination"):
                raise errors.InvalidParameterCombination("A network interface may not specify both a network "
                                                         "interface ID and delete on termination as true")
        if [n["DeviceIndex"] for n in nis][:1] != [0] or len({n["DeviceIndex"] for n in nis}) != len(nis):
            raise errors.InvalidParameterValue("The network interfaces need distinct device indexes, one of them 0.")
        first = nis[0]
        if first.get("NetworkInterfaceId"):
            subnet = await find_subnet(ctx, (await find_interface(ctx, first["NetworkInterfaceId"])).subnet.ec2_id)
        else:
            subnet = await find_subnet(ctx, first.get("SubnetId"))
    else:
        subnet = await find_subnet(ctx, subnet_id)
    if zone and subnet.subnet.zone and zone != subnet.subnet.zone:
        raise errors.InvalidParameterValue(f"The subnet {subnet.ec2_id} is not in availability zone {zone}.")
    vpc_bid = subnet.subnet.vpc_id
    if p.get("SecurityGroupIds") or p.get("SecurityGroups"):
        group_bids = await vpc_group_ids(ctx, p.get("SecurityGroupIds") or [], vpc_bid)
        group_bids += await _groups_by_name(ctx, groups, p.get("SecurityGroups") or [], vpc_bid)
    else:
        default = await vpc_groups.default_group(ctx, vpc_bid)
        group_bids = [default] if default else []
    public_ip = bool(subnet.record.get("map_public_ip"))
    if private_ip:
        check_ips(subnet, [private_ip])
    if count_max > 1 or count_min > 1:
        if private_ip or nis:
            raise errors.InvalidParameterValue("A private IP address or network interfaces can only be given "
                                               "when launching one instance.")
        return Launch(subnet=subnet, groups=group_bids, network_id=subnet.subnet.network_id)
    launch = Launch(subnet=subnet, groups=group_bids, public_ip=public_ip)
    if not nis and not private_ip and not await _ports_made_ahead(ctx):
        # a cloud without free-standing ports (CloudStack: NICs exist only on VMs) makes the NIC at launch
        launch.network_id = subnet.subnet.network_id
        return launch
    try:
        for n in nis or [{"DeviceIndex": 0}]:
            if n.get("AssociatePublicIpAddress") is not None and n["DeviceIndex"] == 0:
                launch.public_ip = bool(n["AssociatePublicIpAddress"])
            if n.get("NetworkInterfaceId"):
                item = await find_interface(ctx, n["NetworkInterfaceId"])
                if item.in_use:
                    raise errors.InvalidParameterValue(f"Interface {n['NetworkInterfaceId']} is in use.")
                port = item.port.id
                launch.devices[port] = {"device_index": n["DeviceIndex"], "delete_on_termination": False}
            else:
                where = subnet if n["DeviceIndex"] == 0 or not n.get("SubnetId") else \
                    await find_subnet(ctx, n["SubnetId"])
                ips = [private_ip] if private_ip and n["DeviceIndex"] == 0 else []
                ips += [a["PrivateIpAddress"] for a in n.get("PrivateIpAddresses") or [] if a.get("PrivateIpAddress")]
                if n.get("PrivateIpAddress"):
                    ips.insert(0, n["PrivateIpAddress"])
                own_groups = await vpc_group_ids(ctx, n["Groups"], where.subnet.vpc_id) if n.get("Groups") \
                    else group_bids
                made = await new_port(ctx, where, ips=list(dict.fromkeys(ips)),
                                      secondary=n.get("SecondaryPrivateIpAddressCount") or 0, groups=own_groups,
                                      description=n.get("Description") or "")
                port = made.id
                launch.created.append(port)
                launch.devices[port] = {"device_index": n["DeviceIndex"],
                                        "delete_on_termination": n.get("DeleteOnTermination", True)}
            launch.ports.append(port)
    except BaseException:
        await launch.undo(ctx)
        raise
    return launch


async def _ports_made_ahead(ctx: RequestContext) -> bool:
    """Whether the cloud can make a port before its server (Neutron can; CloudStack cannot)."""
    return (await network(ctx)).ports_made_ahead


# ---- TerminateInstances ---------------------------------------------------------------------------------------------
async def after_terminate(ctx: RequestContext, inst: Instance) -> None:
    """The instance is going: its interfaces with DeleteOnTermination go too (the cloud keeps ports it did
    not make; its public address is public_ips')."""
    if inst.vpc is None:
        return
    net = await network(ctx)
    for ref in inst.vpc.enis:
        if (await get(ctx, NS_ENI, ref.eni_id)).get("server"):  # one read when there is nothing to clear
            await modify(ctx, NS_ENI, ref.eni_id, lambda record: record.pop("server", None))
        if ref.delete_on_termination:
            with backend_errors("network-interface", ref.eni_id), contextlib.suppress(base.NotFound):
                await net.delete_port(ref.port_id)
            await interface_gone(ctx, ref.eni_id)
