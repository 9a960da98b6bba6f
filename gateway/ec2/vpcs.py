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

import asyncio
import contextlib
import ipaddress
import time
import uuid
from typing import Any

from backends import base
from backends.network import Vpc

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging
from .error_map import backend_errors
from .lookups.ids import ec2_id
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import VpcView, find_vpc, ids_filter, load_vpcs, parse_cidr
from .output import compact, tag_specs
from .records import NS_DEFAULT_VPC, NS_IGW, NS_NAT, NS_RTB, NS_VPC, delete, get, put, scan, update
from .registration import ec2_handler
from .services import account, compute, network, tags_of

DEFAULT_VPC_CIDR = "172.31.0.0/16"
DEFAULT_SUBNET_PREFIX = 20
CLAIM_WAIT = 90.0     # a concurrent first request waits this long for the default VPC
CLAIM_STALE = 300.0   # a claim older than this whose creator vanished is taken over


def vpc_item(ctx: RequestContext, view: VpcView, tags: dict[str, list]) -> dict[str, Any]:
    vpc, rec = view.vpc, view.record
    from .ids import derive

    return compact({
        "VpcId": view.ec2_id, "State": "available", "CidrBlock": vpc.cidr,
        "DhcpOptionsId": rec.get("dhcp") or "default", "InstanceTenancy": "default", "IsDefault": vpc.is_default,
        "OwnerId": account(ctx),
        "CidrBlockAssociationSet": [{"AssociationId": derive("vpc-cidr-association", vpc.id), "CidrBlock": vpc.cidr,
                                     "CidrBlockState": {"State": "associated"}}],
        "Ipv6CidrBlockAssociationSet": [], "Tags": tags.get(view.ec2_id),
    })


async def init_records(ctx: RequestContext, vpc: Vpc, vid: str) -> dict[str, Any]:
    """What a new VPC gets besides the cloud's object: default group, main route table, DHCP options."""
    from . import vpc_groups
    from .dhcp_options import default_options
    from .route_tables import create_main

    group = await vpc_groups.default_group(ctx, vpc.id)
    if group is None:
        try:
            group = (await vpc_groups.create_default(ctx, vpc.id, vid)).id
        except errors.InvalidGroupDuplicate:  # adopting a VPC whose records were lost: find its group
            c = await compute(ctx)
            with backend_errors("security-group"):
                found = [g for g in await c.list_security_groups() if g.name == f"{vid}.default"]
            group = found[0].id if found else None
            if group:
                gid = await ec2_id(ctx, "security-group", group)
                from .records import NS_VPC_GROUP
                await put(ctx, NS_VPC_GROUP, gid or "", {"backend": group, "vpc": vpc.id, "name": "default"})
    rtb, assoc = await create_main(ctx, vid, vpc.cidr)
    record = {"dns_support": True, "dns_hostnames": vpc.is_default, "dhcp": await default_options(ctx),
              "group": group, "main_rtb": rtb, "main_assoc": assoc}
    await put(ctx, NS_VPC, vid, record)
    return record


async def create(ctx: RequestContext, cidr: str, *, default: bool = False) -> VpcView:
    net = await network(ctx)
    with backend_errors("vpc"):
        try:
            vpc = await net.create_vpc(cidr, default=default)
        except base.QuotaExceeded:
            raise errors.VpcLimitExceeded() from None
    vid = await ec2_id(ctx, "vpc", vpc.id)
    assert vid is not None
    try:
        record = await init_records(ctx, vpc, vid)
    except BaseException:
        with contextlib.suppress(Exception):
            await _destroy(ctx, VpcView(vpc, vid, await get(ctx, NS_VPC, vid)))
        raise
    return VpcView(vpc, vid, record)


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
    view = await create(ctx, str(net))
    tags = await apply_tags(ctx, [view.ec2_id], tagging.get("vpc"))
    return {"Vpc": vpc_item(ctx, view, {view.ec2_id: tags} if tags else {})}


async def dependents(ctx: RequestContext, view: VpcView) -> str | None:
    """Why this VPC can't be deleted yet, or None."""
    from . import vpc_groups

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


async def _destroy(ctx: RequestContext, view: VpcView) -> None:
    """Delete the cloud's VPC, then the gateway's records and the default group."""
    from . import vpc_groups

    net = await network(ctx)
    with backend_errors("vpc", view.ec2_id):
        await net.delete_vpc(view.vpc.id)
    c = await compute(ctx)
    for gid, rec in (await vpc_groups.of_vpc(ctx, view.vpc.id)).items():
        with contextlib.suppress(base.BackendError):
            await c.delete_security_group(rec["backend"])
        await vpc_groups.forget(ctx, gid)
        await tags_of(ctx).remove([gid], None)  # type: ignore[list-item]
    for rid, rec in (await scan(ctx, NS_RTB)).items():
        if rec.get("vpc") == view.ec2_id:
            await delete(ctx, NS_RTB, rid)
            await tags_of(ctx).remove([rid], None)  # type: ignore[list-item]
    await delete(ctx, NS_VPC, view.ec2_id)
    await tags_of(ctx).remove([view.ec2_id], None)  # type: ignore[list-item]


@ec2_handler("DeleteVpc")
async def delete_vpc(ctx: RequestContext) -> dict[str, Any]:
    view = await find_vpc(ctx, ctx.params.get("VpcId"))
    reason = await dependents(ctx, view)
    if reason:
        raise errors.DependencyViolation(f"The vpc '{view.ec2_id}' has dependencies ({reason}) and cannot be deleted.")
    await _destroy(ctx, view)
    if view.vpc.is_default:
        await ctx.gateway.store.delete(NS_DEFAULT_VPC, account(ctx))
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
async def _make_default(ctx: RequestContext) -> str:
    """Adopt the cloud's default VPC of this account, or create it with its subnets and gateway."""
    from .internet_gateways import create_and_attach
    from .subnets import create as create_subnet

    existing = [v for v in (await load_vpcs(ctx)).values() if v.vpc.is_default]
    if existing:
        view = existing[0]
        if not view.record:
            await init_records(ctx, view.vpc, view.ec2_id)
        return view.ec2_id
    view = await create(ctx, DEFAULT_VPC_CIDR, default=True)
    c = await compute(ctx)
    with backend_errors("zone"):
        zones = sorted(z.name for z in await c.list_zones() if z.available)
    blocks = ipaddress.ip_network(DEFAULT_VPC_CIDR).subnets(new_prefix=DEFAULT_SUBNET_PREFIX)
    for zone, block in zip(zones, blocks, strict=False):
        await create_subnet(ctx, view, str(block), zone, default_for_az=True)
    await create_and_attach(ctx, view)
    return view.ec2_id


async def default_vpc_id(ctx: RequestContext, *, create_missing: bool = True) -> str | None:
    """The account's default VPC, created on first need. Race-free: one creator per account (an atomic
    claim in the state store); concurrent callers wait for it."""
    store, acct = ctx.gateway.store, account(ctx)
    deadline = time.monotonic() + CLAIM_WAIT
    while True:
        current = await store.get(NS_DEFAULT_VPC, acct)
        if current and current.get("state") == "ready":
            if (await load_vpcs(ctx)).get(current["vpc"]) is not None:
                return current["vpc"]
            await store.delete(NS_DEFAULT_VPC, acct)  # deleted by its owner since
            current = None
        if current is None:
            if not create_missing:
                return None
            claim = {"state": "creating", "by": uuid.uuid4().hex, "at": time.time()}
            if await store.put_if_absent(NS_DEFAULT_VPC, acct, claim) is None:
                try:
                    vid = await _make_default(ctx)
                except BaseException:
                    await store.delete(NS_DEFAULT_VPC, acct)
                    raise
                await store.put(NS_DEFAULT_VPC, acct, {"state": "ready", "vpc": vid})
                return vid
            continue
        if time.time() - current.get("at", 0) > CLAIM_STALE:
            await store.delete(NS_DEFAULT_VPC, acct)
            continue
        if time.monotonic() > deadline:
            raise errors.ServiceUnavailable("The default VPC is still being created; retry shortly.")
        await asyncio.sleep(0.25)


@ec2_handler("CreateDefaultVpc")
async def create_default_vpc(ctx: RequestContext) -> dict[str, Any]:
    if await default_vpc_id(ctx, create_missing=False):
        raise errors.DefaultVpcAlreadyExists("A Default VPC already exists for this account in this region.")
    vid = await default_vpc_id(ctx)
    views = await load_vpcs(ctx)
    return {"Vpc": vpc_item(ctx, views[vid], await tag_map(ctx))}  # type: ignore[index]
