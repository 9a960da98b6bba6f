"""VPCs: Create/Delete/Describe, Describe/ModifyVpcAttribute, CreateDefaultVpc and the default VPC.

A VPC is the cloud's private routing domain (backends/network.py); the gateway adds what EC2 attaches to
it: a `default` security group, a main route table, a DHCP option set and the DNS attributes.
DeleteVpc checks every dependent first (subnets, attached internet gateways, NAT gateways, custom route
tables, non-default security groups) and touches the cloud only when there is none: a refused delete
leaves everything in place.

The default VPC (172.31.0.0/16, one /20 subnet per zone, an internet gateway) is created on first need,
once per account even under concurrent first requests: the first request claims it atomically in the
state store (put-if-absent) and creates it; the others wait for the claim to turn ready.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, vpc_setup
from .error_map import backend_errors
from .ids import derive
from .lookups import groups as vpc_groups
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import VpcView, find_vpc, ids_filter, load_vpcs, parse_cidr
from .output import compact, tag_specs
from .records import NS_IGW, NS_NAT, NS_RTB, NS_VPC, scan, update
from .registration import ec2_handler
from .services import account, compute, network


def vpc_item(ctx: RequestContext, view: VpcView, tags: dict[str, list]) -> dict[str, Any]:
    vpc, rec = view.vpc, view.record
    return compact({
        "VpcId": view.ec2_id, "State": "available", "CidrBlock": vpc.cidr,
        "DhcpOptionsId": rec.get("dhcp") or "default", "InstanceTenancy": "default", "IsDefault": vpc.is_default,
        "OwnerId": account(ctx),
        "CidrBlockAssociationSet": [{"AssociationId": derive("vpc-cidr-association", vpc.id), "CidrBlock": vpc.cidr,
                                     "CidrBlockState": {"State": "associated"}}],
        "Ipv6CidrBlockAssociationSet": [], "Tags": tags.get(view.ec2_id),
    })






@ec2_handler("CreateVpc")
async def create_vpc(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if p.get("Ipv4IpamPoolId") or p.get("AmazonProvidedIpv6CidrBlock") or p.get("Ipv6CidrBlock") \
            or p.get("Ipv6Pool"):
        raise errors.Unsupported("IPAM pools and IPv6 VPC ranges are not supported.")
    if not p.get("CidrBlock"):
        raise errors.MissingParameter("The request must contain the parameter cidrBlock")
    net = parse_cidr(p["CidrBlock"])
    if not 16 <= net.prefixlen <= 28:
        raise errors.InvalidVpcRange(f"The CIDR '{p['CidrBlock']}' is invalid.")
    if (p.get("InstanceTenancy") or "default") not in ("default", "dedicated", "host"):
        raise errors.InvalidParameterValue(f"Invalid value '{p['InstanceTenancy']}' for InstanceTenancy.")
    tagging = tag_specs(p, "vpc")
    view = await vpc_setup.create_vpc(ctx, str(net))
    tags = await apply_tags(ctx, [view.ec2_id], tagging.get("vpc"))
    return {"Vpc": vpc_item(ctx, view, {view.ec2_id: tags} if tags else {})}


async def dependents(ctx: RequestContext, view: VpcView) -> str | None:
    """Why this VPC can't be deleted yet, or None."""
    net = await network(ctx)
    with backend_errors("vpc", view.ec2_id):
        if await net.list_subnets(vpc_id=view.vpc.id):
            return "subnets"
    if any(r.get("vpc") == view.ec2_id for r in (await scan(ctx, NS_IGW)).values()):
        return "an attached internet gateway"
    if any(r.get("vpc") == view.ec2_id and r.get("state") in ("pending", "available")
           for r in (await scan(ctx, NS_NAT)).values()):
        return "NAT gateways"
    if any(r.get("vpc") == view.ec2_id and not r.get("main") for r in (await scan(ctx, NS_RTB)).values()):
        return "route tables"
    others = {r["backend"] for r in (await vpc_groups.of_vpc(ctx, view.vpc.id)).values() if r.get("name") != "default"}
    if others:
        c = await compute(ctx)
        with backend_errors("security-group"):
            alive = {g.id for g in await c.list_security_groups()}
        if others & alive:
            return "security groups"
    return None




@ec2_handler("DeleteVpc")
async def delete_vpc(ctx: RequestContext) -> dict[str, Any]:
    view = await find_vpc(ctx, ctx.params.get("VpcId"))
    reason = await dependents(ctx, view)
    if reason:
        raise errors.DependencyViolation(f"The vpc '{view.ec2_id}' has dependencies ({reason}) and cannot be deleted.")
    await vpc_setup.destroy_vpc(ctx, view)
    if view.vpc.is_default:
        await vpc_setup.forget_default_vpc(ctx)
    return {}


FILTERS: dict[str, filters.Extractor] = {
    "cidr": filters.field("CidrBlock"), "cidr-block": filters.field("CidrBlock"),
    "cidr-block-association.cidr-block": filters.field("CidrBlockAssociationSet", "CidrBlock"),
    "cidr-block-association.association-id": filters.field("CidrBlockAssociationSet", "AssociationId"),
    "cidr-block-association.state": filters.field("CidrBlockAssociationSet", "CidrBlockState", "State"),
    "dhcp-options-id": filters.field("DhcpOptionsId"), "is-default": filters.field("IsDefault"),
    "isDefault": filters.field("IsDefault"), "owner-id": filters.field("OwnerId"), "state": filters.field("State"),
    "vpc-id": filters.field("VpcId"),
    "ipv6-cidr-block-association.ipv6-cidr-block": filters.field("Ipv6CidrBlockAssociationSet", "Ipv6CidrBlock"),
}


@ec2_handler("DescribeVpcs")
async def describe_vpcs(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="VpcIds")
    filters.validate(p.get("Filters"), FILTERS)
    await vpc_setup.present_default_vpc(ctx)
    tags = await tag_map(ctx)
    items = [vpc_item(ctx, v, tags) for v in (await load_vpcs(ctx)).values()]
    items = ids_filter(items, p.get("VpcIds") or [], "VpcId", "vpc")
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeVpcs", items, lambda i: i["VpcId"], max_results, p.get("NextToken"))
    return compact({"Vpcs": chunk, "NextToken": token})


_ATTRIBUTES = {"enableDnsSupport": ("EnableDnsSupport", "dns_support"),
               "enableDnsHostnames": ("EnableDnsHostnames", "dns_hostnames"),
               "enableNetworkAddressUsageMetrics": ("EnableNetworkAddressUsageMetrics", "address_metrics")}


@ec2_handler("DescribeVpcAttribute")
async def describe_vpc_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    attribute = p.get("Attribute")
    if attribute not in _ATTRIBUTES:
        raise errors.InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                           "Unknown attribute.")
    view = await find_vpc(ctx, p.get("VpcId"))
    member, field_name = _ATTRIBUTES[attribute]
    return {"VpcId": view.ec2_id, member: {"Value": bool(view.record.get(field_name, field_name == "dns_support"))}}


@ec2_handler("ModifyVpcAttribute")
async def modify_vpc_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    given = [(member, f) for member, f in _ATTRIBUTES.values() if p.get(member) is not None]
    if len(given) != 1:
        raise errors.InvalidParameterCombination("Specify exactly one attribute to modify.")
    member, field_name = given[0]
    value = (p[member] or {}).get("Value")
    if value is None:
        raise errors.MissingParameter(f"The request must contain the parameter {member}.Value")
    view = await find_vpc(ctx, p.get("VpcId"))
    record = {**view.record, field_name: bool(value)}
    # enabling hostnames needs DNS support; disabling support later is allowed (AWS stops resolving them)
    if field_name == "dns_hostnames" and value and not record.get("dns_support", True):
        raise errors.InvalidParameterCombination("enableDnsHostnames requires enableDnsSupport.")
    await update(ctx, NS_VPC, view.ec2_id, **{field_name: bool(value)})
    return {}


# ---- the default VPC ---------------------------------------------------------------------------------------------
@ec2_handler("CreateDefaultVpc")
async def create_default_vpc(ctx: RequestContext) -> dict[str, Any]:
    if await vpc_setup.default_vpc_id(ctx, create_missing=False):
        raise errors.DefaultVpcAlreadyExists("A Default VPC already exists for this account in this region.")
    vid = await vpc_setup.default_vpc_id(ctx)
    views = await load_vpcs(ctx)
    return {"Vpc": vpc_item(ctx, views[vid], await tag_map(ctx))}  # type: ignore[index]
