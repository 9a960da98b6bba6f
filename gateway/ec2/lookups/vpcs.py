"""VPCs and subnets by EC2 id, loaded as views (the cloud's model and the gateway-held record), and the CIDR
rules they share."""

from __future__ import annotations

import ipaddress
from typing import Any

from backends.network import Subnet

from ...context import RequestContext
from ...protocol import errors
from ..addressing import AWS_RESERVED
from ..error_map import backend_errors, not_found
from ..model import SubnetView, VpcView
from ..records import NS_SUBNET, NS_VPC, scan
from ..services import network
from .ids import backend_id, check_id, ec2_id


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
    if not vpc_id:
        raise errors.MissingParameter("The request must contain the parameter vpcId")
    check_id("vpc", vpc_id)
    bid = await backend_id(ctx, "vpc", vpc_id)
    found = await load_vpcs(ctx, [bid]) if bid else {}
    if vpc_id not in found:
        raise not_found("vpc", vpc_id)
    return found[vpc_id]


async def find_subnet(ctx: RequestContext, subnet_id: str | None) -> SubnetView:
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
    if not wanted:
        return items
    for ident in wanted:
        check_id(kind, ident)
    present = {i[key_name] for i in items}
    missing = [w for w in dict.fromkeys(wanted) if w not in present]
    if missing:
        raise not_found(kind, missing)
    return [i for i in items if i[key_name] in wanted]
