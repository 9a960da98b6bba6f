"""Internet gateways (Create/Attach/Detach/Delete/DescribeInternetGateways) and NAT gateways
(Create/Delete/DescribeNatGateways).

An internet gateway is the gateway's object until it is attached: attaching it connects the VPC's router
to the cloud's public network (its external gateway), detaching disconnects it. A NAT gateway is SNAT on
that same router with an elastic IP: the router gets its external gateway (if no internet gateway gave it
one), a port in the NAT gateway's subnet carries the elastic IP. The cloud has one external gateway per
router, so it stays while either an internet gateway or a NAT gateway needs it.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from backends import base
from backends.network import PortSpec

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, vpc_setup
from .error_map import backend_errors, not_found
from .idempotency import once
from .lookups.addresses import all_addresses
from .lookups.ids import check_id, ec2_id
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import find_subnet, find_vpc, ids_filter
from .output import compact, now_iso, tag_specs
from .records import NS_IGW, NS_NAT, delete, get, put, scan, update
from .registration import ec2_handler
from .services import account, network, tags_of

NAT_RETENTION = 3600.0  # deleted NAT gateways stay visible this long, as on AWS


# ---- internet gateways -----------------------------------------------------------------------------------------
def igw_item(ctx: RequestContext, igw: str, rec: dict[str, Any], tags: dict[str, list]) -> dict[str, Any]:
    attachments = [{"VpcId": rec["vpc"], "State": "available"}] if rec.get("vpc") else []
    return compact({"InternetGatewayId": igw, "OwnerId": account(ctx), "Attachments": attachments,
                    "Tags": tags.get(igw)})




async def _needs_gateway(ctx: RequestContext, vid: str, *, ignoring: str = "") -> bool:
    """Whether something else (an attached internet gateway, an active NAT gateway) keeps the router's
    external gateway."""
    if any(r.get("vpc") == vid and i != ignoring for i, r in (await scan(ctx, NS_IGW)).items()):
        return True
    return any(r.get("vpc") == vid and r.get("state") in ("pending", "available") and i != ignoring
               for i, r in (await scan(ctx, NS_NAT)).items())




@ec2_handler("CreateInternetGateway")
async def create_internet_gateway(ctx: RequestContext) -> dict[str, Any]:
    tagging = tag_specs(ctx.params, "internet-gateway")
    igw = await ec2_id(ctx, "internet-gateway", uuid.uuid4().hex)
    assert igw is not None
    await put(ctx, NS_IGW, igw, {"vpc": None})
    tags = await apply_tags(ctx, [igw], tagging.get("internet-gateway"))
    return {"InternetGateway": igw_item(ctx, igw, {}, {igw: tags} if tags else {})}






@ec2_handler("AttachInternetGateway")
async def attach_internet_gateway(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    await vpc_setup.find_igw(ctx, p.get("InternetGatewayId"))
    await vpc_setup.attach(ctx, p["InternetGatewayId"], await find_vpc(ctx, p.get("VpcId")))
    return {}


@ec2_handler("DetachInternetGateway")
async def detach_internet_gateway(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    igw = p.get("InternetGatewayId")
    rec = await vpc_setup.find_igw(ctx, igw)
    vpc = await find_vpc(ctx, p.get("VpcId"))
    if rec.get("vpc") != vpc.ec2_id:
        raise errors.GatewayNotAttached(f"resource {igw} is not attached to network {vpc.ec2_id}")
    if not await _needs_gateway(ctx, vpc.ec2_id, ignoring=igw):  # type: ignore[arg-type]
        await vpc_setup.set_gateway(ctx, vpc, False, igw)  # type: ignore[arg-type]
    await update(ctx, NS_IGW, igw, vpc=None)  # type: ignore[arg-type]
    return {}


@ec2_handler("DeleteInternetGateway")
async def delete_internet_gateway(ctx: RequestContext) -> dict[str, Any]:
    igw = ctx.params.get("InternetGatewayId")
    rec = await vpc_setup.find_igw(ctx, igw)
    if rec.get("vpc"):
        raise errors.DependencyViolation(f"The internetGateway '{igw}' has dependencies and cannot be deleted.")
    await delete(ctx, NS_IGW, igw)  # type: ignore[arg-type]
    await tags_of(ctx).remove([igw], None)  # type: ignore[list-item]
    return {}


IGW_FILTERS: dict[str, filters.Extractor] = {
    "attachment.state": filters.field("Attachments", "State"),
    "attachment.vpc-id": filters.field("Attachments", "VpcId"),
    "internet-gateway-id": filters.field("InternetGatewayId"), "owner-id": filters.field("OwnerId"),
}


@ec2_handler("DescribeInternetGateways")
async def describe_internet_gateways(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="InternetGatewayIds")
    filters.validate(p.get("Filters"), IGW_FILTERS)
    tags = await tag_map(ctx)
    items = [igw_item(ctx, i, r, tags) for i, r in (await scan(ctx, NS_IGW)).items()]
    items = ids_filter(items, p.get("InternetGatewayIds") or [], "InternetGatewayId", "internet-gateway")
    items = filters.apply(items, p.get("Filters"), IGW_FILTERS)
    chunk, token = paging.page("DescribeInternetGateways", items, lambda i: i["InternetGatewayId"], max_results,
                               p.get("NextToken"))
    return compact({"InternetGateways": chunk, "NextToken": token})


# ---- NAT gateways -------------------------------------------------------------------------------------------------
def nat_item(nat: str, rec: dict[str, Any], tags: dict[str, list]) -> dict[str, Any]:
    address = compact({"AllocationId": rec.get("alloc"), "NetworkInterfaceId": rec.get("eni"),
                       "PrivateIp": rec.get("private_ip"), "PublicIp": rec.get("public_ip"), "IsPrimary": True,
                       "Status": "succeeded" if rec.get("state") == "available" else "disassociated"})
    return compact({"NatGatewayId": nat, "SubnetId": rec["subnet"], "VpcId": rec["vpc"], "State": rec["state"],
                    "CreateTime": rec.get("created"), "DeleteTime": rec.get("deleted"),
                    "ConnectivityType": rec.get("connectivity", "public"), "NatGatewayAddresses": [address],
                    "Tags": tags.get(nat)})


@ec2_handler("CreateNatGateway")
async def create_nat_gateway(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if (p.get("ConnectivityType") or "public") != "public" or p.get("SecondaryAllocationIds") \
            or p.get("AvailabilityMode") == "regional":
        raise errors.Unsupported("Only zonal public NAT gateways with one address are supported.")
    if not p.get("AllocationId"):
        raise errors.MissingParameter("The request must contain the parameter allocationId")
    tagging = tag_specs(p, "natgateway")
    subnet = await find_subnet(ctx, p.get("SubnetId"))
    vpc = await find_vpc(ctx, subnet.vpc_ec2_id)
    address = next((a for a in await all_addresses(ctx)
                    if a.domain == "vpc" and a.allocation_id == p["AllocationId"]), None)
    if address is None:
        raise errors.InvalidAllocationIDNotFound(f"The allocation ID '{p['AllocationId']}' does not exist")

    async def run() -> dict[str, Any]:
        if address.associated:  # checked here: a repeated ClientToken answers the first result
            raise errors.ResourceAlreadyAssociated(f"Elastic IP address [{p['AllocationId']}] is already "
                                                   "associated")
        nat = await ec2_id(ctx, "nat-gateway", uuid.uuid4().hex)
        assert nat is not None
        net = await network(ctx)
        await vpc_setup.set_gateway(ctx, vpc, True, nat)
        with backend_errors("subnet", subnet.ec2_id):
            port = await net.create_port(PortSpec(subnet_id=subnet.subnet.id, description=f"NAT gateway {nat}"))
        try:
            with backend_errors("elastic-ip", p["AllocationId"]):
                await net.associate_address(address.backend_id, port.id)
        except BaseException:
            with contextlib.suppress(base.BackendError):
                await net.delete_port(port.id)
            raise
        rec = {"vpc": vpc.ec2_id, "subnet": subnet.ec2_id, "alloc": p["AllocationId"], "port": port.id,
               "eni": await ec2_id(ctx, "network-interface", port.id), "private_ip": port.ips[0] if port.ips else None,
               "public_ip": address.public_ip, "state": "available", "created": now_iso()}
        await put(ctx, NS_NAT, nat, rec)
        tags = await apply_tags(ctx, [nat], tagging.get("natgateway"))
        return {"NatGateway": nat_item(nat, rec, {nat: tags} if tags else {})}

    return await once(ctx.gateway.store, account(ctx), "CreateNatGateway", p, run)


@ec2_handler("DeleteNatGateway")
async def delete_nat_gateway(ctx: RequestContext) -> dict[str, Any]:
    nat = ctx.params.get("NatGatewayId")
    if not nat:
        raise errors.MissingParameter("The request must contain the parameter natGatewayId")
    check_id("nat-gateway", nat)
    rec = await get(ctx, NS_NAT, nat)
    if not rec or rec.get("state") == "deleted":
        raise not_found("nat-gateway", nat)
    net = await network(ctx)
    with backend_errors("nat-gateway", nat), contextlib.suppress(base.NotFound):
        await net.delete_port(rec["port"])  # the elastic IP is released from it with the port
    rec = await update(ctx, NS_NAT, nat, state="deleted", deleted=now_iso(), until=time.time() + NAT_RETENTION)
    if not await _needs_gateway(ctx, rec["vpc"]):
        with contextlib.suppress(errors.AwsError):
            await vpc_setup.set_gateway(ctx, await find_vpc(ctx, rec["vpc"]), False, nat)
    return {"NatGatewayId": nat}


NAT_FILTERS: dict[str, filters.Extractor] = {
    "nat-gateway-id": filters.field("NatGatewayId"), "state": filters.field("State"),
    "subnet-id": filters.field("SubnetId"), "vpc-id": filters.field("VpcId"),
}


@ec2_handler("DescribeNatGateways")
async def describe_nat_gateways(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="NatGatewayIds")
    filters.validate(p.get("Filter"), NAT_FILTERS)
    tags, now = await tag_map(ctx), time.time()
    items = []
    for nat, rec in (await scan(ctx, NS_NAT)).items():
        if rec.get("until") and rec["until"] < now:
            await delete(ctx, NS_NAT, nat)
            continue
        items.append(nat_item(nat, rec, tags))
    items = ids_filter(items, p.get("NatGatewayIds") or [], "NatGatewayId", "nat-gateway")
    items = filters.apply(items, p.get("Filter"), NAT_FILTERS)
    chunk, token = paging.page("DescribeNatGateways", items, lambda i: i["NatGatewayId"], max_results,
                               p.get("NextToken"))
    return compact({"NatGateways": chunk, "NextToken": token})
