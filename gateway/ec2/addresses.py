"""Elastic IP addresses on the cloud's floating IPs: Allocate/Associate/Disassociate/Release/Describe.

Both domains exist, as on an account with EC2-Classic and VPC: `standard` addresses (the default) are
named by their PublicIp and have no association ids; `vpc` addresses are named by AllocationId, their
associations by AssociationId. The domain of each allocation is held by the gateway.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from backends import base

from ..context import RequestContext
from ..protocol import errors
from . import filters, public_ips, shapes
from .error_map import backend_errors
from .lookups import instances as instance_lookup
from .lookups.addresses import all_addresses
from .lookups.ids import check_id, ec2_id
from .lookups.interfaces import find_interface
from .lookups.tags import apply_tags
from .model import PENDING, RUNNING, STOPPED, Address
from .output import compact, tag_specs
from .records import NS_ADDRESS, delete, put
from .registration import ec2_handler
from .services import account, compute, network, tags_of

DOMAINS = ("standard", "vpc")


def _check_ip(ip: str) -> None:
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise errors.InvalidParameterValue(f"Invalid value '{ip}' for PublicIp. It is not a valid IPv4 address."
                                           ) from None


async def _find(ctx: RequestContext, public_ip: str | None, allocation_id: str | None,
                *, release: bool = False) -> Address:
    """The address a call names, by exactly one of PublicIp (standard) or AllocationId (vpc)."""
    if public_ip and allocation_id:
        raise errors.InvalidParameterCombination("You may specify public IP or allocation id, but not both "
                                                 "in the same call")
    if not public_ip and not allocation_id:
        raise errors.MissingParameter("The request must contain the parameter PublicIp or AllocationId")
    items = await all_addresses(ctx)
    if allocation_id:
        check_id("elastic-ip", allocation_id)
        match = [i for i in items if i.allocation_id == allocation_id]
        if not match:
            raise errors.InvalidAllocationIDNotFound(f"The allocation ID '{allocation_id}' does not exist")
        return match[0]
    assert public_ip is not None
    _check_ip(public_ip)
    match = [i for i in items if i.public_ip == public_ip]
    if not match and release:
        # AWS: releasing an address by a public IP the caller does not hold (any more) is not allowed
        raise errors.AuthFailure(f"The address '{public_ip}' does not belong to you.")
    if not match:
        raise errors.InvalidAddressNotFound(f"Address '{public_ip}' not found.")
    if match[0].domain == "vpc" and release:
        raise errors.InvalidParameterValue(f"You must specify an allocation id when releasing a VPC elastic IP "
                                           f"address ({public_ip}).")
    return match[0]


@ec2_handler("AllocateAddress")
async def allocate_address(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    domain = p.get("Domain") or "standard"
    if domain not in DOMAINS:
        raise errors.InvalidParameterValue(f"Invalid value '{domain}' for domain.")
    if p.get("Address") or p.get("CustomerOwnedIpv4Pool") or p.get("IpamPoolId"):
        raise errors.Unsupported("Allocating a specific address or from a specific pool is not supported.")
    tagging = tag_specs(p, "elastic-ip")
    if tagging and domain != "vpc":
        raise errors.InvalidParameterValue("Tags are only supported for VPC elastic IP addresses.")
    c = await compute(ctx)
    with backend_errors("elastic-ip"):
        addr = await c.allocate_address()
    alloc = await ec2_id(ctx, "elastic-ip", addr.id)
    await put(ctx, NS_ADDRESS, alloc or "", {"domain": domain})
    await apply_tags(ctx, [alloc], tagging.get("elastic-ip"))  # type: ignore[list-item]
    out = {"PublicIp": addr.ip, "Domain": domain, "PublicIpv4Pool": addr.pool,
           "NetworkBorderGroup": ctx.gateway.config.region}
    if domain == "vpc":
        out["AllocationId"] = alloc
    return compact(out)


@ec2_handler("ReleaseAddress")
async def release_address(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    item = await _find(ctx, p.get("PublicIp"), p.get("AllocationId"), release=True)
    c = await compute(ctx)
    if item.associated:
        if item.domain == "vpc":
            raise errors.InvalidIPAddressInUse(f"Address {item.public_ip} is in use.")
        with backend_errors("elastic-ip", item.public_ip):
            await c.disassociate_address(item.backend_id)  # EC2-Classic releases associated addresses
    with backend_errors("elastic-ip", p.get("AllocationId") or item.public_ip):
        await c.release_address(item.backend_id)
    await delete(ctx, NS_ADDRESS, item.allocation_id)
    await tags_of(ctx).remove([item.allocation_id], None)
    return {}


@ec2_handler("AssociateAddress")
async def associate_address(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if p.get("NetworkInterfaceId"):  # a VPC network interface
        item = await _find(ctx, p.get("PublicIp"), p.get("AllocationId"))
        return await _associate_with_interface(ctx, p, item)
    iid = p.get("InstanceId")
    if not iid:
        raise errors.MissingParameter("The request must contain the parameter InstanceId")
    item = await _find(ctx, p.get("PublicIp"), p.get("AllocationId"))
    instance = (await instance_lookup.find(ctx, [iid]))[iid]
    nis = instance.vpc.enis if instance.vpc else []
    if len(nis) > 1:
        raise errors.InvalidInstanceIDPlain(f"There are multiple interfaces attached to instance '{iid}'. "
                                            "Please specify an interface ID for the operation instead.")
    usable = instance.state in (RUNNING, PENDING, STOPPED)
    if nis and usable:
        return await _associate_with_interface(ctx, {**p, "NetworkInterfaceId": nis[0].eni_id}, item)
    if not usable:
        raise errors.IncorrectInstanceState(f"The instance '{iid}' is not in a valid state for this operation.")
    c = await compute(ctx)
    if item.associated:
        if item.instance_id == iid:
            return compact({"AssociationId": item.association_id})
        if item.domain == "vpc" and p.get("AllowReassociation") is False:
            raise errors.ResourceAlreadyAssociated(f"The address {item.allocation_id} is already associated")
        with backend_errors("elastic-ip", item.public_ip):
            await c.disassociate_address(item.backend_id)
    await public_ips.release(ctx, [iid])  # an elastic IP replaces the instance's public address
    with backend_errors("elastic-ip", p.get("AllocationId") or item.public_ip, instance=iid):
        await c.associate_address(item.backend_id, instance.server_id or "", p.get("PrivateIpAddress"))
    if item.domain != "vpc":
        return {}
    after = [i for i in await all_addresses(ctx) if i.backend_id == item.backend_id]
    return compact({"AssociationId": after[0].association_id if after else None})


@ec2_handler("DisassociateAddress")
async def disassociate_address(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    assoc, public_ip = p.get("AssociationId"), p.get("PublicIp")
    if assoc and public_ip:
        raise errors.InvalidParameterCombination("You may specify public IP or association id, but not both "
                                                 "in the same call")
    if assoc:
        match = [i for i in await all_addresses(ctx) if i.domain == "vpc" and i.association_id == assoc]
        if not match:
            raise errors.InvalidAssociationIDNotFound(f"The association ID '{assoc}' does not exist")
        item = match[0]
    else:
        item = await _find(ctx, public_ip, None)
        if item.domain == "vpc":
            raise errors.InvalidParameterValue(f"You must specify an association id when disassociating a VPC "
                                               f"elastic IP address ({public_ip}).")
    if item.associated:
        c = await compute(ctx)
        with backend_errors("elastic-ip", item.public_ip):
            await c.disassociate_address(item.backend_id)
    return {}


FILTERS = {
    "allocation-id": filters.field("AllocationId"), "association-id": filters.field("AssociationId"),
    "domain": filters.field("Domain"), "instance-id": filters.field("InstanceId"),
    "network-interface-id": filters.field("NetworkInterfaceId"),
    "network-interface-owner-id": filters.field("NetworkInterfaceOwnerId"),
    "private-ip-address": filters.field("PrivateIpAddress"), "public-ip": filters.field("PublicIp"),
    "public-ipv4-pool": filters.field("PublicIpv4Pool"), "network-border-group": filters.field("NetworkBorderGroup"),
}


@ec2_handler("DescribeAddresses")
async def describe_addresses(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    filters.validate(p.get("Filters"), FILTERS)
    ips, allocs = p.get("PublicIps") or [], p.get("AllocationIds") or []
    for ip in ips:
        _check_ip(ip)
    for alloc in allocs:
        check_id("elastic-ip", alloc)
    region, owner = ctx.gateway.config.region, account(ctx)
    items = [shapes.address(a, region, owner) for a in await all_addresses(ctx)]
    if ips or allocs:
        missing_allocs = [a for a in allocs if a not in {i.get("AllocationId") for i in items}]
        if missing_allocs:
            raise errors.InvalidAllocationIDNotFound(f"The allocation ID '{', '.join(missing_allocs)}' "
                                                     "does not exist")
        missing_ips = [ip for ip in ips if ip not in {i["PublicIp"] for i in items}]
        if missing_ips:
            raise errors.InvalidAddressNotFound(f"Address '{', '.join(missing_ips)}' not found.")
        items = [i for i in items if i["PublicIp"] in ips or i.get("AllocationId") in allocs]
    return {"Addresses": filters.apply(items, p.get("Filters"), FILTERS)}


async def _associate_with_interface(ctx: RequestContext, p: dict[str, Any], address: Address) -> dict[str, Any]:
    """AssociateAddress with a NetworkInterfaceId (a VPC network interface): the floating address goes to
    the interface's port (its primary address, or PrivateIpAddress)."""
    item = await find_interface(ctx, p["NetworkInterfaceId"])
    ip = p.get("PrivateIpAddress")
    if ip and ip not in item.ips:
        raise errors.InvalidParameterValue(f"The private IP address {ip} is not assigned to the network interface.")
    net = await network(ctx)
    c = await compute(ctx)
    if address.associated:
        if address.port_id == item.port.id and ip in (None, address.private_ip):
            return compact({"AssociationId": address.association_id if address.domain == "vpc" else None})
        if address.domain == "vpc" and p.get("AllowReassociation") is False:
            raise errors.ResourceAlreadyAssociated(f"The address {address.allocation_id} is already associated")
        with backend_errors("elastic-ip", address.public_ip):
            await c.disassociate_address(address.backend_id)
    await public_ips.release(ctx, port_id=item.port.id)  # an elastic IP replaces a public address
    try:
        with backend_errors("elastic-ip", address.public_ip):
            await net.associate_address(address.backend_id, item.port.id, ip or item.primary_ip)
    except errors.InvalidIPAddressInUse:
        raise errors.GatewayNotAttached(f"Network {item.vpc_id} is not attached to any internet gateway") from None
    except base.BackendError:
        raise
    return {"AssociationId": await ec2_id(ctx, "association", f"{address.backend_id}:{item.port.id}")}
