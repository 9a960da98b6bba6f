"""What the VPC families (vpcs, subnets, route tables, gateways, network interfaces, DHCP options) share:
the caller's network service, the gateway-held VPC state (what a cloud's network cannot hold), CIDR rules
and the loaders that turn neutral models into keyed views.

Gateway-held state, per account (keys "<account>/<ec2 id>"):
  ec2:vpc        VPC attributes, its DHCP options, default security group, main route table + association
  ec2:subnet     MapPublicIpOnLaunch, DefaultForAz
  ec2:rtb        route tables: routes (targets by EC2 id), subnet associations
  ec2:rtb-subnet one entry per associated subnet: the atomic claim behind Resource.AlreadyAssociated
  ec2:igw        internet gateways and the VPC each is attached to
  ec2:nat        NAT gateways
  ec2:dopt       DHCP option sets
  ec2:eni        network interface attachment flags (device index, DeleteOnTermination)
  ec2:vpc-group  security groups that belong to a VPC: their VPC and EC2 name
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from backends.network import Network, Subnet, Vpc

from ..context import RequestContext
from ..protocol import errors
from .common import account, backend_errors, ec2_id

NS_VPC = "ec2:vpc"
NS_SUBNET = "ec2:subnet"
NS_RTB = "ec2:rtb"
NS_RTB_SUBNET = "ec2:rtb-subnet"
NS_IGW = "ec2:igw"
NS_NAT = "ec2:nat"
NS_DOPT = "ec2:dopt"
NS_ENI = "ec2:eni"
NS_VPC_GROUP = "ec2:vpc-group"
NS_DEFAULT_VPC = "ec2:default-vpc"

AWS_RESERVED = 5  # network, router, DNS, future use, broadcast


async def network(ctx: RequestContext) -> Network:
    """The caller's network service (one per request, cached on the context)."""
    cached = getattr(ctx, "_network", None)
    if cached is not None:
        return cached
    backend = ctx.gateway.backend
    if backend is None:
        raise errors.Unsupported("No compute backend is configured.")
    with backend_errors():
        service = await backend.network(ctx.identity)
    ctx._network = service  # type: ignore[attr-defined]
    return service


# ---- gateway-held records ---------------------------------------------------------------------------------
def key(ctx: RequestContext, ident: str) -> str:
    return f"{account(ctx)}/{ident}"


async def get(ctx: RequestContext, ns: str, ident: str) -> dict[str, Any]:
    return await ctx.gateway.store.get(ns, key(ctx, ident)) or {}


async def put(ctx: RequestContext, ns: str, ident: str, value: dict[str, Any]) -> None:
    await ctx.gateway.store.put(ns, key(ctx, ident), value)


async def delete(ctx: RequestContext, ns: str, ident: str) -> None:
    await ctx.gateway.store.delete(ns, key(ctx, ident))


async def scan(ctx: RequestContext, ns: str) -> dict[str, dict[str, Any]]:
    prefix = f"{account(ctx)}/"
    return {k[len(prefix):]: v for k, v in await ctx.gateway.store.scan(ns, prefix)}


async def update(ctx: RequestContext, ns: str, ident: str, **changes: Any) -> dict[str, Any]:
    record = {**await get(ctx, ns, ident), **changes}
    await put(ctx, ns, ident, record)
    return record


# ---- CIDRs ----------------------------------------------------------------------------------------------------
def parse_cidr(value: str | None, param: str = "cidrBlock") -> ipaddress.IPv4Network:
    try:
        if not value or "/" not in value:
            raise ValueError(value)
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise errors.InvalidParameterValue(f"Value ({value}) for parameter {param} is invalid. "
                                           "This is not a valid CIDR block.") from None


def free_addresses(subnet: Subnet) -> int:
    size = ipaddress.ip_network(subnet.cidr).num_addresses
    return max(size - AWS_RESERVED - subnet.used_ips, 0)


# ---- loaded views ---------------------------------------------------------------------------------------------
@dataclass
class VpcView:
    vpc: Vpc
    ec2_id: str
    record: dict[str, Any]


@dataclass
class SubnetView:
    subnet: Subnet
    ec2_id: str
    vpc_ec2_id: str
    record: dict[str, Any]


async def load_vpcs(ctx: RequestContext, ids: list[str] | None = None) -> dict[str, VpcView]:
    """The caller's VPCs by EC2 id (those backend ids, or all)."""
    net = await network(ctx)
    with backend_errors("vpc"):
        vpcs = await net.list_vpcs(ids)
    records = await scan(ctx, NS_VPC)
    out = {}
    for vpc in vpcs:
        vid = await ec2_id(ctx, "vpc", vpc.id)
        assert vid is not None
        out[vid] = VpcView(vpc, vid, records.get(vid, {}))
    return out


async def load_subnets(ctx: RequestContext, ids: list[str] | None = None, *,
                       vpc_id: str | None = None) -> dict[str, SubnetView]:
    """The caller's subnets by EC2 id (those backend ids, those of one VPC by backend id, or all)."""
    net = await network(ctx)
    with backend_errors("subnet"):
        subnets = await net.list_subnets(ids, vpc_id=vpc_id)
    records = await scan(ctx, NS_SUBNET)
    out = {}
    for subnet in subnets:
        sid = await ec2_id(ctx, "subnet", subnet.id)
        vid = await ec2_id(ctx, "vpc", subnet.vpc_id)
        assert sid is not None and vid is not None
        out[sid] = SubnetView(subnet, sid, vid, records.get(sid, {}))
    return out


async def find_vpc(ctx: RequestContext, vpc_id: str | None) -> VpcView:
    """One VPC by EC2 id: Malformed / InvalidVpcID.NotFound."""
    from .common import check_id, not_found

    if not vpc_id:
        raise errors.MissingParameter("The request must contain the parameter vpcId")
    check_id("vpc", vpc_id)
    from .common import backend_id

    bid = await backend_id(ctx, "vpc", vpc_id)
    found = await load_vpcs(ctx, [bid]) if bid else {}
    if vpc_id not in found:
        raise not_found("vpc", vpc_id)
    return found[vpc_id]


async def find_subnet(ctx: RequestContext, subnet_id: str | None) -> SubnetView:
    from .common import backend_id, check_id, not_found

    if not subnet_id:
        raise errors.MissingParameter("The request must contain the parameter subnetId")
    check_id("subnet", subnet_id)
    bid = await backend_id(ctx, "subnet", subnet_id)
    found = await load_subnets(ctx, [bid]) if bid else {}
    if subnet_id not in found:
        raise not_found("subnet", subnet_id)
    return found[subnet_id]


def ids_filter(items: list[dict[str, Any]], wanted: list[str], key_name: str, kind: str) -> list[dict[str, Any]]:
    """Items named by explicit ids: every id must exist (one NotFound naming the missing ones)."""
    from .common import check_id, not_found

    if not wanted:
        return items
    for ident in wanted:
        check_id(kind, ident)
    present = {i[key_name] for i in items}
    missing = [w for w in dict.fromkeys(wanted) if w not in present]
    if missing:
        raise not_found(kind, missing)
    return [i for i in items if i[key_name] in wanted]
