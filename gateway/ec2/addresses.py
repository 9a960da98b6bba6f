"""Elastic IP addresses on the cloud's floating IPs: Allocate/Associate/Disassociate/Release/Describe.

Both domains exist, as on an account with EC2-Classic and VPC: `standard` addresses (the default) are
named by their PublicIp and have no association ids; `vpc` addresses are named by AllocationId, their
associations by AssociationId. The domain of each allocation is held by the gateway.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from backends.compute import FloatingAddress

from ..context import RequestContext
from ..protocol import errors
from . import filters, public_ips
from .error_map import backend_errors
from .lookups.ids import check_id, ec2_id
from .lookups.tags import apply_tags, tag_map
from .output import compact, public, tag_specs
from .records import NS_ADDRESS
from .registration import ec2_handler
from .services import account, compute, tags_of

DOMAINS = ("standard", "vpc")


async def _records(ctx: RequestContext) -> dict[str, dict[str, Any]]:
    """Allocation id -> what the gateway holds of the address: its domain, the instance of a public address."""
    prefix = f"{account(ctx)}/"
    return {k[len(prefix):]: v for k, v in await ctx.gateway.store.scan(NS_ADDRESS, prefix)}


async def address_item(ctx: RequestContext, addr: FloatingAddress, domain: str,
                       tags: dict[str, list] | None = None) -> dict[str, Any]:
    alloc = await ec2_id(ctx, "elastic-ip", addr.id)
    item: dict[str, Any] = {"PublicIp": addr.ip, "Domain": domain, "PublicIpv4Pool": addr.pool,
                            "InstanceId": await ec2_id(ctx, "instance", addr.server_id) if addr.server_id else None,
                            "PrivateIpAddress": addr.fixed_ip if addr.server_id or addr.port_id else None,
                            "NetworkBorderGroup": ctx.gateway.config.region, "_BackendId": addr.id,
                            "_Associated": bool(addr.server_id or addr.port_id), "_AllocationId": alloc,
                            "_PortId": addr.port_id}
    if domain == "vpc":
        item["AllocationId"] = alloc
        if item["_Associated"]:
            # by port: an association to a network interface outlives the interface's instance
            item["AssociationId"] = await ec2_id(ctx, "association", f"{addr.id}:{addr.port_id or addr.server_id}")
            item["NetworkInterfaceOwnerId"] = account(ctx)
            if addr.port_id:
                item["NetworkInterfaceId"] = await ec2_id(ctx, "network-interface", addr.port_id)
        item["Tags"] = (tags or {}).get(alloc)
    return compact(item)


async def address_items(ctx: RequestContext) -> list[dict[str, Any]]:
    c = await compute(ctx)
    with backend_errors("elastic-ip"):
        addresses = await c.list_addresses()
    records, tags = await _records(ctx), await tag_map(ctx)
    out = []
    for addr in addresses:
        alloc = await ec2_id(ctx, "elastic-ip", addr.id)
        if records.get(alloc, {}).get("launch"):
            continue  # an instance's public address (public_ips.py), not an elastic IP
        out.append(await address_item(ctx, addr, records.get(alloc, {}).get("domain", "standard"), tags))  # type: ignore[arg-type]
    return out


def _check_ip(ip: str) -> None:
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise errors.InvalidParameterValue(f"Invalid value '{ip}' for PublicIp. It is not a valid IPv4 address."
                                           ) from None


async def _find(ctx: RequestContext, public_ip: str | None, allocation_id: str | None,
                *, release: bool = False) -> dict[str, Any]:
    """The address a call names, by exactly one of PublicIp (standard) or AllocationId (vpc)."""
    if public_ip and allocation_id:
        raise errors.InvalidParameterCombination("You may specify public IP or allocation id, but not both "
                                                 "in the same call")
    if not public_ip and not allocation_id:
        raise errors.MissingParameter("The request must contain the parameter PublicIp or AllocationId")
    items = await address_items(ctx)
    if allocation_id:
        check_id("elastic-ip", allocation_id)
        match = [i for i in items if i["_AllocationId"] == allocation_id]
        if not match:
            raise errors.InvalidAllocationIDNotFound(f"The allocation ID '{allocation_id}' does not exist")
        return match[0]
    assert public_ip is not None
    _check_ip(public_ip)
    match = [i for i in items if i["PublicIp"] == public_ip]
    if not match and release:
        # AWS: releasing an address by a public IP the caller does not hold (any more) is not allowed
        raise errors.AuthFailure(f"The address '{public_ip}' does not belong to you.")
    if not match:
        raise errors.InvalidAddressNotFound(f"Address '{public_ip}' not found.")
    if match[0]["Domain"] == "vpc" and release:
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
    await ctx.gateway.store.put(NS_ADDRESS, f"{account(ctx)}/{alloc}", {"domain": domain})
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
    if item["_Associated"]:
        if item["Domain"] == "vpc":
            raise errors.InvalidIPAddressInUse(f"Address {item['PublicIp']} is in use.")
        with backend_errors("elastic-ip", item["PublicIp"]):
            await c.disassociate_address(item["_BackendId"])  # EC2-Classic releases associated addresses
    with backend_errors("elastic-ip", p.get("AllocationId") or item["PublicIp"]):
        await c.release_address(item["_BackendId"])
    await ctx.gateway.store.delete(NS_ADDRESS, f"{account(ctx)}/{item['_AllocationId']}")
    await tags_of(ctx).remove([item["_AllocationId"]], None)
    return {}


@ec2_handler("AssociateAddress")
async def associate_address(ctx: RequestContext) -> dict[str, Any]:
    from . import network_interfaces
    from .instances import find

    p = ctx.params
    if p.get("NetworkInterfaceId"):  # a VPC network interface (gateway/ec2/network_interfaces.py)
        item = await _find(ctx, p.get("PublicIp"), p.get("AllocationId"))
        return await network_interfaces.associate_address(ctx, p, item)
    iid = p.get("InstanceId")
    if not iid:
        raise errors.MissingParameter("The request must contain the parameter InstanceId")
    item = await _find(ctx, p.get("PublicIp"), p.get("AllocationId"))
    instance = (await find(ctx, [iid]))[iid]
    nis = instance.get("NetworkInterfaces") or []
    if len(nis) > 1:
        raise errors.InvalidInstanceIDPlain(f"There are multiple interfaces attached to instance '{iid}'. "
                                            "Please specify an interface ID for the operation instead.")
    if nis and instance["State"]["Name"] in ("running", "pending", "stopped"):
        return await network_interfaces.associate_address(
            ctx, {**p, "NetworkInterfaceId": nis[0]["NetworkInterfaceId"]}, item)
    if instance["State"]["Name"] not in ("running", "pending", "stopped"):
        raise errors.IncorrectInstanceState(f"The instance '{iid}' is not in a valid state for this operation.")
    c = await compute(ctx)
    if item["_Associated"]:
        if item.get("InstanceId") == iid:
            return compact({"AssociationId": item.get("AssociationId")})
        if item["Domain"] == "vpc" and p.get("AllowReassociation") is False:
            raise errors.ResourceAlreadyAssociated(f"The address {item['_AllocationId']} is already associated")
        with backend_errors("elastic-ip", item["PublicIp"]):
            await c.disassociate_address(item["_BackendId"])
    await public_ips.release(ctx, [iid])  # an elastic IP replaces the instance's public address
    with backend_errors("elastic-ip", p.get("AllocationId") or item["PublicIp"], instance=iid):
        await c.associate_address(item["_BackendId"], instance["_ServerId"], p.get("PrivateIpAddress"))
    if item["Domain"] != "vpc":
        return {}
    after = [i for i in await address_items(ctx) if i["_BackendId"] == item["_BackendId"]]
    return compact({"AssociationId": after[0].get("AssociationId") if after else None})


@ec2_handler("DisassociateAddress")
async def disassociate_address(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    assoc, public_ip = p.get("AssociationId"), p.get("PublicIp")
    if assoc and public_ip:
        raise errors.InvalidParameterCombination("You may specify public IP or association id, but not both "
                                                 "in the same call")
    if assoc:
        match = [i for i in await address_items(ctx) if i.get("AssociationId") == assoc]
        if not match:
            raise errors.InvalidAssociationIDNotFound(f"The association ID '{assoc}' does not exist")
        item = match[0]
    else:
        item = await _find(ctx, public_ip, None)
        if item["Domain"] == "vpc":
            raise errors.InvalidParameterValue(f"You must specify an association id when disassociating a VPC "
                                               f"elastic IP address ({public_ip}).")
    if item["_Associated"]:
        c = await compute(ctx)
        with backend_errors("elastic-ip", item["PublicIp"]):
            await c.disassociate_address(item["_BackendId"])
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
    items = await address_items(ctx)
    if ips or allocs:
        missing_allocs = [a for a in allocs if a not in {i.get("AllocationId") for i in items}]
        if missing_allocs:
            raise errors.InvalidAllocationIDNotFound(f"The allocation ID '{', '.join(missing_allocs)}' "
                                                     "does not exist")
        missing_ips = [ip for ip in ips if ip not in {i["PublicIp"] for i in items}]
        if missing_ips:
            raise errors.InvalidAddressNotFound(f"Address '{', '.join(missing_ips)}' not found.")
        items = [i for i in items if i["PublicIp"] in ips or i.get("AllocationId") in allocs]
    return {"Addresses": [public(i) for i in filters.apply(items, p.get("Filters"), FILTERS)]}
