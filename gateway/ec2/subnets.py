"""Subnets: Create/Delete/Describe, ModifySubnetAttribute (MapPublicIpOnLaunch), CreateDefaultSubnet.

A subnet is a network of the cloud plugged into its VPC's router (backends/network.py). The gateway checks
the CIDR the way AWS does before the cloud sees it: /16../28 and inside the VPC's block (else
InvalidSubnet.Range), not overlapping a sibling (InvalidSubnet.Conflict). Five addresses are AWS's (network,
router, DNS, future use, broadcast); AvailableIpAddressCount counts the rest minus those in use.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, routing, vpc_setup
from .error_map import backend_errors
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import (
    SubnetView,
    find_subnet,
    find_vpc,
    free_addresses,
    ids_filter,
    load_subnets,
    parse_cidr,
)
from .output import compact, tag_specs
from .records import NS_RTB_SUBNET, NS_SUBNET, delete, update
from .registration import ec2_handler
from .services import account, compute, network, tags_of


def subnet_item(ctx: RequestContext, view: SubnetView, tags: dict[str, list], zone_ids: dict[str, str]
                ) -> dict[str, Any]:
    s, rec = view.subnet, view.record
    region = ctx.gateway.config.region
    return compact({
        "SubnetId": view.ec2_id, "State": "available", "VpcId": view.vpc_ec2_id, "CidrBlock": s.cidr,
        "AvailableIpAddressCount": free_addresses(s), "AvailabilityZone": s.zone or "",
        "AvailabilityZoneId": zone_ids.get(s.zone or ""), "DefaultForAz": bool(rec.get("default_for_az")),
        "MapPublicIpOnLaunch": bool(rec.get("map_public_ip")), "OwnerId": account(ctx),
        "AssignIpv6AddressOnCreation": False, "Ipv6CidrBlockAssociationSet": [],
        "SubnetArn": f"arn:aws:ec2:{region}:{account(ctx)}:subnet/{view.ec2_id}",
        "Ipv6Native": False, "MapCustomerOwnedIpOnLaunch": False, "EnableDns64": False,
        "PrivateDnsNameOptionsOnLaunch": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                          "EnableResourceNameDnsAAAARecord": False},
        "Tags": tags.get(view.ec2_id),
    })


async def _zones(ctx: RequestContext) -> dict[str, str]:
    """zone name -> zone id, as DescribeAvailabilityZones numbers them."""
    c = await compute(ctx)
    with backend_errors("zone"):
        zones = sorted(z.name for z in await c.list_zones())
    region = ctx.gateway.config.region
    return {name: f"{region}-az{n}" for n, name in enumerate(zones, 1)}




@ec2_handler("CreateSubnet")
async def create_subnet(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if p.get("Ipv6CidrBlock") or p.get("Ipv6Native") or p.get("Ipv4IpamPoolId") or p.get("OutpostArn"):
        raise errors.Unsupported("IPv6, IPAM and Outpost subnets are not supported.")
    if not p.get("CidrBlock"):
        raise errors.MissingParameter("The request must contain the parameter cidrBlock")
    block = parse_cidr(p["CidrBlock"])
    tagging = tag_specs(p, "subnet")
    vpc = await find_vpc(ctx, p.get("VpcId"))
    vpc_block = parse_cidr(vpc.vpc.cidr)
    if not 16 <= block.prefixlen <= 28 or not block.subnet_of(vpc_block):
        raise errors.InvalidSubnetRange(f"The CIDR '{p['CidrBlock']}' is invalid.")
    siblings = await load_subnets(ctx, vpc_id=vpc.vpc.id)
    if any(block.overlaps(parse_cidr(s.subnet.cidr)) for s in siblings.values()):
        raise errors.InvalidSubnetConflict(f"The CIDR '{p['CidrBlock']}' conflicts with another subnet")
    zones = await _zones(ctx)
    zone = p.get("AvailabilityZone")
    if p.get("AvailabilityZoneId") and not zone:
        zone = next((n for n, i in zones.items() if i == p["AvailabilityZoneId"]), None) or p["AvailabilityZoneId"]
    zone = zone or (sorted(zones)[0] if zones else None)
    if zone is not None and zone not in zones:
        raise errors.InvalidParameterValue(
            f"Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be created "
            f"in the following availability zones: {', '.join(sorted(zones))}.")
    view = await vpc_setup.create_subnet(ctx, vpc, str(block), zone)
    tags = await apply_tags(ctx, [view.ec2_id], tagging.get("subnet"))
    return {"Subnet": subnet_item(ctx, view, {view.ec2_id: tags} if tags else {}, zones)}


@ec2_handler("DeleteSubnet")
async def delete_subnet(ctx: RequestContext) -> dict[str, Any]:
    view = await find_subnet(ctx, ctx.params.get("SubnetId"))
    net = await network(ctx)
    with backend_errors("subnet", view.ec2_id):
        ports = await net.list_ports(network_ids=[view.subnet.network_id])
    if any(port.owner_kind not in ("router", "dhcp") for port in ports):
        raise errors.DependencyViolation(f"The subnet '{view.ec2_id}' has dependencies and cannot be deleted.")
    with backend_errors("subnet", view.ec2_id):
        await net.delete_subnet(view.subnet.id)
    await routing.forget_subnet(ctx, view.ec2_id)
    await delete(ctx, NS_SUBNET, view.ec2_id)
    await delete(ctx, NS_RTB_SUBNET, view.ec2_id)
    await tags_of(ctx).remove([view.ec2_id], None)  # type: ignore[list-item]
    return {}


FILTERS: dict[str, filters.Extractor] = {
    "availability-zone": filters.field("AvailabilityZone"), "availabilityZone": filters.field("AvailabilityZone"),
    "availability-zone-id": filters.field("AvailabilityZoneId"),
    "available-ip-address-count": filters.field("AvailableIpAddressCount"),
    "cidr": filters.field("CidrBlock"), "cidr-block": filters.field("CidrBlock"), "cidrBlock": filters.field("CidrBlock"),
    "default-for-az": filters.field("DefaultForAz"), "defaultForAz": filters.field("DefaultForAz"),
    "map-public-ip-on-launch": filters.field("MapPublicIpOnLaunch"), "owner-id": filters.field("OwnerId"),
    "state": filters.field("State"), "subnet-arn": filters.field("SubnetArn"), "subnet-id": filters.field("SubnetId"),
    "vpc-id": filters.field("VpcId"), "ipv6-native": filters.field("Ipv6Native"),
    "ipv6-cidr-block-association.ipv6-cidr-block": filters.field("Ipv6CidrBlockAssociationSet", "Ipv6CidrBlock"),
}


@ec2_handler("DescribeSubnets")
async def describe_subnets(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="SubnetIds")
    filters.validate(p.get("Filters"), FILTERS)
    await vpc_setup.present_default_vpc(ctx)
    tags, zones = await tag_map(ctx), await _zones(ctx)
    items = [subnet_item(ctx, v, tags, zones) for v in (await load_subnets(ctx)).values()]
    items = ids_filter(items, p.get("SubnetIds") or [], "SubnetId", "subnet")
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeSubnets", items, lambda i: i["SubnetId"], max_results, p.get("NextToken"))
    return compact({"Subnets": chunk, "NextToken": token})


@ec2_handler("ModifySubnetAttribute")
async def modify_subnet_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    view = await find_subnet(ctx, p.get("SubnetId"))
    if p.get("MapPublicIpOnLaunch") is not None:
        value = (p["MapPublicIpOnLaunch"] or {}).get("Value")
        if value is None:
            raise errors.MissingParameter("The request must contain the parameter MapPublicIpOnLaunch.Value")
        await update(ctx, NS_SUBNET, view.ec2_id, map_public_ip=bool(value))
        return {}
    if (p.get("AssignIpv6AddressOnCreation") or {}).get("Value") or (p.get("EnableDns64") or {}).get("Value"):
        raise errors.Unsupported("IPv6 subnet attributes are not supported.")
    if p.get("AssignIpv6AddressOnCreation") is None and p.get("EnableDns64") is None:
        raise errors.MissingParameter("The request must contain an attribute to modify")
    return {}


@ec2_handler("CreateDefaultSubnet")
async def create_default_subnet(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    zones = await _zones(ctx)
    zone = p.get("AvailabilityZone") or next((n for n, i in zones.items() if i == p.get("AvailabilityZoneId")), None)
    if zone not in zones:
        raise errors.InvalidParameterValue(f"Value ({zone}) for parameter availabilityZone is invalid.")
    vid = await vpc_setup.default_vpc_id(ctx)
    vpc = await find_vpc(ctx, vid)
    existing = await load_subnets(ctx, vpc_id=vpc.vpc.id)
    for s in existing.values():
        if s.subnet.zone == zone and s.record.get("default_for_az"):
            raise errors.DefaultSubnetAlreadyExistsInAvailabilityZone(f"A Default Subnet already exists in {zone}.")
    taken = [ipaddress.ip_network(s.subnet.cidr) for s in existing.values()]
    free = next((b for b in ipaddress.ip_network(vpc.vpc.cidr).subnets(new_prefix=20)
                 if not any(b.overlaps(t) for t in taken)), None)
    if free is None:
        raise errors.InvalidSubnetConflict("The default VPC has no room for another default subnet.")
    view = await vpc_setup.create_subnet(ctx, vpc, str(free), zone, default_for_az=True)
    return {"Subnet": subnet_item(ctx, view, {}, zones)}
