"""Making and unmaking VPCs with what EC2 attaches to them (default security group, main route table, DHCP
options), subnets, and the default VPC (172.31.0.0/16, one /20 subnet per zone, an internet gateway).

Shared by the VPC, subnet, internet gateway and DHCP option handlers and by RunInstances' launch into the
default VPC, so it sits below all of them.

The default VPC is created on first need, once per account even under concurrent first requests: the first
request claims it atomically in the state store (put-if-absent) and creates it; the others wait for the
claim to turn ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
import uuid
from typing import Any

from backends import base
from backends.network import Vpc

from ..context import RequestContext
from ..protocol import errors
from ..session import session
from .addressing import allocation_pool
from .error_map import backend_errors, not_found
from .lookups import groups as vpc_groups
from .lookups.ids import check_id, ec2_id
from .lookups.vpcs import SubnetView, VpcView, load_vpcs
from .records import (
    NS_DEFAULT_VPC,
    NS_DOPT,
    NS_IGW,
    NS_RTB,
    NS_SUBNET,
    NS_VPC,
    NS_VPC_GROUP,
    delete,
    get,
    modify,
    put,
    scan,
    update,
)
from .routing import create_main
from .services import account, compute, network, tags_of

LOG = logging.getLogger("cloudgate.ec2.vpc")
DEFAULT_VPC_CIDR = "172.31.0.0/16"


DEFAULT_SUBNET_PREFIX = 20


CLAIM_WAIT = 90.0     # a concurrent first request waits this long for the default VPC


CLAIM_STALE = 300.0   # a claim older than this whose creator vanished is taken over
DELETED = "deleted"   # the default VPC's record once its owner deleted it


async def init_records(ctx: RequestContext, vpc: Vpc, vid: str) -> dict[str, Any]:
    """What a new VPC gets besides the cloud's object: default group, main route table, DHCP options."""
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
                await put(ctx, NS_VPC_GROUP, gid or "", {"backend": group, "vpc": vpc.id, "name": "default"})
    rtb, assoc = await create_main(ctx, vid, vpc.cidr)
    record = {"dns_support": True, "dns_hostnames": vpc.is_default, "dhcp": await default_options(ctx),
              "group": group, "main_rtb": rtb, "main_assoc": assoc}
    await put(ctx, NS_VPC, vid, record)
    return record


async def create_vpc(ctx: RequestContext, cidr: str, *, default: bool = False) -> VpcView:
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
            await destroy_vpc(ctx, VpcView(vpc, vid, await get(ctx, NS_VPC, vid)))
        raise
    return VpcView(vpc, vid, record)


async def destroy_vpc(ctx: RequestContext, view: VpcView) -> None:
    """Delete the cloud's VPC, then the gateway's records and the default group."""
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


async def _make_default(ctx: RequestContext) -> str:
    """Adopt the cloud's default VPC of this account, or create it with its subnets and gateway."""
    existing = [v for v in (await load_vpcs(ctx)).values() if v.vpc.is_default]
    if existing:
        view = existing[0]
        if not view.record:
            await init_records(ctx, view.vpc, view.ec2_id)
        return view.ec2_id
    view = await create_vpc(ctx, DEFAULT_VPC_CIDR, default=True)
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
    store, acct = session(ctx).store, account(ctx)
    deadline = time.monotonic() + CLAIM_WAIT
    while True:
        current = await store.get(NS_DEFAULT_VPC, acct)
        if current and current.get("state") == DELETED:  # its owner deleted it: made again only when asked for
            if not create_missing:
                return None
            await store.delete(NS_DEFAULT_VPC, acct)
            current = None
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


async def present_default_vpc(ctx: RequestContext) -> None:
    """AWS accounts have their default VPC from the start: the first look at the account's VPCs, subnets or
    default-vpc attribute makes it (once; one store read afterwards), unless its owner deleted it."""
    if not ctx.gateway.config.ec2.default_vpc:
        return
    current = await session(ctx).store.get(NS_DEFAULT_VPC, account(ctx))
    if current is None or current.get("state") not in ("ready", DELETED):
        try:
            await default_vpc_id(ctx)
        except errors.AwsError as e:  # the cloud cannot make it now: the Describe still answers (without it)
            LOG.warning("default VPC not made", extra={"fields": {"code": e.code}})


async def forget_default_vpc(ctx: RequestContext) -> None:
    """Its owner deleted the default VPC: no Describe brings it back (a launch without a subnet or
    CreateDefaultVpc makes a new one)."""
    await session(ctx).store.put(NS_DEFAULT_VPC, account(ctx), {"state": DELETED})


async def create_subnet(ctx: RequestContext, vpc: VpcView, cidr: str, zone: str | None, *,
                 default_for_az: bool = False) -> SubnetView:
    net = await network(ctx)
    with backend_errors("subnet"):
        subnet = await net.create_subnet(vpc.vpc.id, cidr, zone=zone, allocation_pool=allocation_pool(cidr),
                                         dns_servers=await dns_servers_of(ctx, vpc.record.get("dhcp")))
    sid = await ec2_id(ctx, "subnet", subnet.id)
    assert sid is not None
    record = {"map_public_ip": default_for_az, "default_for_az": default_for_az}
    await put(ctx, NS_SUBNET, sid, record)
    return SubnetView(subnet, sid, vpc.ec2_id, record)


AMAZON_DNS = "AmazonProvidedDNS"


async def default_options(ctx: RequestContext) -> str:
    """The account's default option set (made on first need; the same id for every replica)."""
    did = await ec2_id(ctx, "dhcp-options", f"default:{account(ctx)}")
    assert did is not None
    region = ctx.gateway.config.region
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    await session(ctx).store.put_if_absent(NS_DOPT, f"{account(ctx)}/{did}", {
        "default": True, "config": {"domain-name": [domain], "domain-name-servers": [AMAZON_DNS]}})
    return did


async def dns_servers_of(ctx: RequestContext, dopt_id: str | None) -> list[str]:
    """The DNS server addresses a subnet gets from an option set (AmazonProvidedDNS = the cloud's own)."""
    if not dopt_id or dopt_id == "default":
        return []
    config = (await get(ctx, NS_DOPT, dopt_id)).get("config") or {}
    return [v for v in config.get("domain-name-servers") or () if v != AMAZON_DNS]


async def find_igw(ctx: RequestContext, igw: str | None) -> dict[str, Any]:
    if not igw:
        raise errors.MissingParameter("The request must contain the parameter internetGatewayId")
    check_id("internet-gateway", igw)
    rec = await get(ctx, NS_IGW, igw)
    if not rec:
        raise not_found("internet-gateway", igw)
    return rec


async def set_gateway(ctx: RequestContext, vpc: VpcView, enabled: bool, ident: str) -> None:
    net = await network(ctx)
    with backend_errors("internet-gateway", ident):
        await net.set_external_gateway(vpc.vpc.id, enabled)


async def attach(ctx: RequestContext, igw: str, vpc: VpcView) -> None:
    rec = await find_igw(ctx, igw)
    if rec.get("vpc"):
        raise errors.ResourceAlreadyAssociated(f"resource {igw} is already attached to network {rec['vpc']}")
    if any(r.get("vpc") == vpc.ec2_id for r in (await scan(ctx, NS_IGW)).values()):
        raise errors.ResourceAlreadyAssociated(f"network {vpc.ec2_id} already has an internet gateway attached")

    def claim(record: dict[str, Any]) -> None:  # atomic: of two replicas attaching one gateway, one wins
        if record.get("vpc"):
            raise errors.ResourceAlreadyAssociated(f"resource {igw} is already attached to network {record['vpc']}")
        record["vpc"] = vpc.ec2_id

    await modify(ctx, NS_IGW, igw, claim, initial=rec)
    try:
        await set_gateway(ctx, vpc, True, igw)
    except BaseException:
        await update(ctx, NS_IGW, igw, vpc=None)
        raise


async def create_and_attach(ctx: RequestContext, vpc: VpcView) -> str:
    """The default VPC's internet gateway, attached, with the main table's default route to it."""
    igw = await ec2_id(ctx, "internet-gateway", uuid.uuid4().hex)
    assert igw is not None
    await put(ctx, NS_IGW, igw, {"vpc": None})
    await attach(ctx, igw, vpc)
    rtb = vpc.record.get("main_rtb")
    if rtb and await get(ctx, NS_RTB, rtb):
        await modify(ctx, NS_RTB, rtb, lambda table: table["routes"].append(
            {"dst": "0.0.0.0/0", "GatewayId": igw, "origin": "CreateRoute"}))
    return igw
