"""Route tables: Create/Delete/Describe, Create/Replace/DeleteRoute, Associate/Disassociate/
ReplaceRouteTableAssociation.

Route tables live in the gateway: a cloud router has one set of routes (Neutron's extraroute) where EC2 has
a main table per VPC plus custom tables associated with subnets. The tables that are in force (the main one
and every associated one) are applied to the VPC's router: their routes to a network interface or an
instance become router routes with the interface's private address as next hop (the first table to name a
destination wins). A route to the internet gateway needs nothing more: the attached gateway is the router's
external gateway, its default route. Routes to a target that is gone show as `blackhole`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, routing
from .error_map import not_found
from .idempotency import once
from .lookups.ids import check_id, ec2_id
from .lookups.instances import primary_interface
from .lookups.interfaces import find_interface
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import find_subnet, find_vpc, ids_filter, parse_cidr
from .output import compact, tag_specs
from .records import NS_IGW, NS_NAT, NS_RTB, NS_RTB_SUBNET, NS_VPC, delete, get, modify, put, scan, update
from .registration import ec2_handler
from .services import account, tags_of

TARGETS = ("GatewayId", "NatGatewayId", "NetworkInterfaceId", "InstanceId")
_UNSUPPORTED_TARGETS = ("VpcPeeringConnectionId", "TransitGatewayId", "LocalGatewayId", "CarrierGatewayId",
                        "EgressOnlyInternetGatewayId", "VpcEndpointId", "CoreNetworkArn", "DestinationPrefixListId",
                        "OdbNetworkArn")








# ---- items ------------------------------------------------------------------------------------------------------
async def _live_targets(ctx: RequestContext) -> tuple[dict[str, str | None], set[str]]:
    """igw id -> attached VPC, and the NAT gateways still available (for route states)."""
    igws = {i: r.get("vpc") for i, r in (await scan(ctx, NS_IGW)).items()}
    nats = {i for i, r in (await scan(ctx, NS_NAT)).items() if r.get("state") in ("pending", "available")}
    return igws, nats


def route_item(route: dict[str, Any], vid: str, igws: dict[str, str | None], nats: set[str],
               owner: str) -> dict[str, Any]:
    state = "active"
    gw = route.get("GatewayId")
    if gw and gw != "local" and igws.get(gw) != vid:
        state = "blackhole"
    if route.get("NatGatewayId") and route["NatGatewayId"] not in nats:
        state = "blackhole"
    return compact({"DestinationCidrBlock": route["dst"], "GatewayId": gw,
                    "NatGatewayId": route.get("NatGatewayId"), "NetworkInterfaceId": route.get("NetworkInterfaceId"),
                    "InstanceId": route.get("InstanceId"),
                    "InstanceOwnerId": owner if route.get("InstanceId") else None,
                    "State": state, "Origin": route.get("origin", "CreateRoute")})


def table_item(ctx: RequestContext, rtb: str, rec: dict[str, Any], igws: dict[str, str | None], nats: set[str],
               tags: dict[str, list]) -> dict[str, Any]:
    owner = account(ctx)
    assocs = []
    if rec.get("main"):
        assocs.append({"Main": True, "RouteTableAssociationId": rec["main_assoc"], "RouteTableId": rtb,
                       "AssociationState": {"State": "associated"}})
    for aid, subnet in sorted(rec.get("assocs", {}).items()):
        assocs.append({"Main": False, "RouteTableAssociationId": aid, "RouteTableId": rtb, "SubnetId": subnet,
                       "AssociationState": {"State": "associated"}})
    return compact({"RouteTableId": rtb, "VpcId": rec["vpc"], "OwnerId": owner, "Associations": assocs,
                    "Routes": [route_item(r, rec["vpc"], igws, nats, owner) for r in rec.get("routes", [])],
                    "PropagatingVgws": [], "Tags": tags.get(rtb)})


async def _find(ctx: RequestContext, rtb: str | None) -> dict[str, Any]:
    if not rtb:
        raise errors.MissingParameter("The request must contain the parameter routeTableId")
    check_id("route-table", rtb)
    rec = await get(ctx, NS_RTB, rtb)
    if not rec:
        raise not_found("route-table", rtb)
    return rec


async def _modify(ctx: RequestContext, rtb: str, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A change to one route table's record, by compare-and-set (two replicas editing one table at once both
    keep theirs); a table deleted meanwhile is not brought back."""
    def edit(table: dict[str, Any]) -> None:
        if not table:
            raise not_found("route-table", rtb)
        change(table)

    return await modify(ctx, NS_RTB, rtb, edit)


def _associating(assoc: str, subnet: str) -> Callable[[dict[str, Any]], None]:
    def change(table: dict[str, Any]) -> None:
        table.setdefault("assocs", {})[assoc] = subnet
    return change


# ---- actions ---------------------------------------------------------------------------------------------------
@ec2_handler("CreateRouteTable")
async def create_route_table(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    tagging = tag_specs(p, "route-table")
    vpc = await find_vpc(ctx, p.get("VpcId"))

    async def run() -> dict[str, Any]:
        rtb = await ec2_id(ctx, "route-table", uuid.uuid4().hex)
        assert rtb is not None
        rec = {"vpc": vpc.ec2_id, "main": False, "routes": [routing.local_route(vpc.vpc.cidr)], "assocs": {}}
        await put(ctx, NS_RTB, rtb, rec)
        tags = await apply_tags(ctx, [rtb], tagging.get("route-table"))
        igws, nats = await _live_targets(ctx)
        return {"RouteTable": table_item(ctx, rtb, rec, igws, nats, {rtb: tags} if tags else {})}

    return await once(ctx.gateway.store, account(ctx), "CreateRouteTable", p, run)


@ec2_handler("DeleteRouteTable")
async def delete_route_table(ctx: RequestContext) -> dict[str, Any]:
    rtb = ctx.params.get("RouteTableId")
    rec = await _find(ctx, rtb)
    if rec.get("main") or rec.get("assocs"):
        raise errors.DependencyViolation(f"The routeTable '{rtb}' has dependencies and cannot be deleted.")
    await delete(ctx, NS_RTB, rtb)  # type: ignore[arg-type]
    await tags_of(ctx).remove([rtb], None)  # type: ignore[list-item]
    return {}


FILTERS: dict[str, filters.Extractor] = {
    "association.route-table-association-id": filters.field("Associations", "RouteTableAssociationId"),
    "association.route-table-id": filters.field("Associations", "RouteTableId"),
    "association.subnet-id": filters.field("Associations", "SubnetId"),
    "association.main": filters.field("Associations", "Main"),
    "association.gateway-id": filters.field("Associations", "GatewayId"),
    "owner-id": filters.field("OwnerId"), "route-table-id": filters.field("RouteTableId"),
    "route.destination-cidr-block": filters.field("Routes", "DestinationCidrBlock"),
    "route.gateway-id": filters.field("Routes", "GatewayId"),
    "route.instance-id": filters.field("Routes", "InstanceId"),
    "route.nat-gateway-id": filters.field("Routes", "NatGatewayId"),
    "route.network-interface-id": filters.field("Routes", "NetworkInterfaceId"),
    "route.origin": filters.field("Routes", "Origin"), "route.state": filters.field("Routes", "State"),
    "vpc-id": filters.field("VpcId"),
}


@ec2_handler("DescribeRouteTables")
async def describe_route_tables(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=100, ids_param="RouteTableIds")
    filters.validate(p.get("Filters"), FILTERS)
    igws, nats = await _live_targets(ctx)
    tags = await tag_map(ctx)
    items = [table_item(ctx, rtb, rec, igws, nats, tags) for rtb, rec in (await scan(ctx, NS_RTB)).items()]
    items = ids_filter(items, p.get("RouteTableIds") or [], "RouteTableId", "route-table")
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeRouteTables", items, lambda i: i["RouteTableId"], max_results,
                               p.get("NextToken"))
    return compact({"RouteTables": chunk, "NextToken": token})


async def _target(ctx: RequestContext, p: dict[str, Any], vid: str) -> dict[str, str]:
    """The one target a route names, checked to exist and to be in the table's VPC."""
    if any(p.get(k) for k in _UNSUPPORTED_TARGETS):
        raise errors.Unsupported("Only internet gateway, NAT gateway, network interface and instance targets "
                                 "are supported.")
    given = [k for k in TARGETS if p.get(k)]
    if not given:
        raise errors.MissingParameter("The request must contain exactly one of gatewayId, natGatewayId, "
                                      "networkInterfaceId or instanceId")
    if len(given) > 1 and set(given) != {"InstanceId", "NetworkInterfaceId"}:
        raise errors.InvalidParameterCombination("Only one route target may be specified.")
    if "GatewayId" in given:
        gw = p["GatewayId"]
        if gw == "local":
            raise errors.InvalidParameterValue("Cannot create or replace a local route.")
        if not gw.startswith("igw-"):
            raise errors.Unsupported(f"The gateway '{gw}' is not supported (internet gateways only).")
        check_id("internet-gateway", gw)
        rec = await get(ctx, NS_IGW, gw)
        if not rec:
            raise not_found("internet-gateway", gw)
        if rec.get("vpc") != vid:
            raise errors.InvalidParameterValue(f"route table and network gateway {gw} belong to different networks")
        return {"GatewayId": gw}
    if "NatGatewayId" in given:
        nat = p["NatGatewayId"]
        check_id("nat-gateway", nat)
        rec = await get(ctx, NS_NAT, nat)
        if not rec or rec.get("state") not in ("pending", "available"):
            raise not_found("nat-gateway", nat)
        if rec.get("vpc") != vid:
            raise errors.InvalidParameterValue(f"route table and NAT gateway {nat} belong to different networks")
        return {"NatGatewayId": nat}
    if "InstanceId" in given and "NetworkInterfaceId" not in given:
        eni_item = await primary_interface(ctx, p["InstanceId"])
    else:
        eni_item = await find_interface(ctx, p["NetworkInterfaceId"])
    if eni_item.vpc_id != vid:
        raise errors.InvalidParameterValue("route table and network interface belong to different networks")
    out = {"NetworkInterfaceId": eni_item.id}
    instance = eni_item.attachment.instance_id if eni_item.attachment else None
    if instance:
        out["InstanceId"] = instance
    return out


def _destination(p: dict[str, Any], vpc_cidr: str) -> str:
    if p.get("DestinationIpv6CidrBlock"):
        raise errors.Unsupported("IPv6 routes are not supported.")
    if not p.get("DestinationCidrBlock"):
        raise errors.MissingParameter("The request must contain the parameter destinationCidrBlock")
    dst = parse_cidr(p["DestinationCidrBlock"], "destinationCidrBlock")
    return str(dst)


async def _edit_route(ctx: RequestContext, replace: bool) -> dict[str, Any]:
    p = ctx.params
    rtb = p.get("RouteTableId")
    rec = await _find(ctx, rtb)
    vpc = await find_vpc(ctx, rec["vpc"])
    dst = _destination(p, vpc.vpc.cidr)
    existing = next((r for r in rec["routes"] if r["dst"] == dst), None)
    if existing and existing.get("GatewayId") == "local" or \
            parse_cidr(dst).subnet_of(parse_cidr(vpc.vpc.cidr)):
        raise errors.InvalidParameterValue(f"The destination CIDR block {dst} is equal to or more specific than "
                                           f"one of this VPC's CIDR blocks. This route can target only the local "
                                           "target.")
    if replace and existing is None:
        raise errors.InvalidRouteNotFound(f"There is no route defined for '{dst}' in the route table. "
                                          "Use CreateRoute instead.")
    if not replace and existing is not None:
        raise errors.RouteAlreadyExists(f"The route identified by {dst} already exists.")
    route = {"dst": dst, **await _target(ctx, p, vpc.ec2_id), "origin": "CreateRoute"}

    def change(table: dict[str, Any]) -> None:  # the checks again, on the record the compare-and-set writes
        there = any(r["dst"] == dst for r in table.get("routes", ()))
        if replace and not there:
            raise errors.InvalidRouteNotFound(f"There is no route defined for '{dst}' in the route table. "
                                              "Use CreateRoute instead.")
        if not replace and there:
            raise errors.RouteAlreadyExists(f"The route identified by {dst} already exists.")
        table["routes"] = [r for r in table.get("routes", ()) if r["dst"] != dst] + [route]

    rec = await _modify(ctx, rtb, change)  # type: ignore[arg-type]
    if rec.get("main") or rec.get("assocs"):
        await routing.sync(ctx, vpc.ec2_id)
    return {"Return": True} if not replace else {}


@ec2_handler("CreateRoute")
async def create_route(ctx: RequestContext) -> dict[str, Any]:
    return await _edit_route(ctx, replace=False)


@ec2_handler("ReplaceRoute")
async def replace_route(ctx: RequestContext) -> dict[str, Any]:
    return await _edit_route(ctx, replace=True)


@ec2_handler("DeleteRoute")
async def delete_route(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    rtb = p.get("RouteTableId")
    rec = await _find(ctx, rtb)
    if p.get("DestinationPrefixListId"):
        raise errors.Unsupported("Prefix list routes are not supported.")
    dst = _destination(p, "")
    existing = next((r for r in rec["routes"] if r["dst"] == dst), None)
    if existing is None:
        raise errors.InvalidRouteNotFound(f"The route identified by {dst} does not exist.")
    if existing.get("GatewayId") == "local":
        raise errors.InvalidParameterValue(f"Cannot delete the local route {dst}.")

    def change(table: dict[str, Any]) -> None:
        if not any(r["dst"] == dst for r in table.get("routes", ())):
            raise errors.InvalidRouteNotFound(f"The route identified by {dst} does not exist.")
        table["routes"] = [r for r in table["routes"] if r["dst"] != dst]

    rec = await _modify(ctx, rtb, change)  # type: ignore[arg-type]
    if rec.get("main") or rec.get("assocs"):
        await routing.sync(ctx, rec["vpc"])
    return {}


@ec2_handler("AssociateRouteTable")
async def associate_route_table(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if p.get("GatewayId"):
        raise errors.Unsupported("Gateway route table associations are not supported.")
    rtb = p.get("RouteTableId")
    rec = await _find(ctx, rtb)
    subnet = await find_subnet(ctx, p.get("SubnetId"))
    if subnet.vpc_ec2_id != rec["vpc"]:
        raise errors.InvalidParameterValue(f"Route table {rtb} and subnet {subnet.ec2_id} belong to different "
                                           "networks")
    assoc = await routing.new_association(ctx)
    taken = await ctx.gateway.store.put_if_absent(NS_RTB_SUBNET, f"{account(ctx)}/{subnet.ec2_id}",
                                                  {"rtb": rtb, "assoc": assoc})
    if taken is not None:
        raise errors.ResourceAlreadyAssociated(f"the specified association for route table {taken['rtb']} "
                                               f"conflicts with an existing association")
    rec = await _modify(ctx, rtb, _associating(assoc, subnet.ec2_id))  # type: ignore[arg-type]
    await routing.sync(ctx, rec["vpc"])
    return {"AssociationId": assoc, "AssociationState": {"State": "associated"}}


async def _association(ctx: RequestContext, assoc: str | None) -> tuple[str, dict[str, Any], str | None]:
    """(table id, table record, subnet id or None for the main association)."""
    if not assoc:
        raise errors.MissingParameter("The request must contain the parameter associationId")
    check_id("route-table-association", assoc)
    for rtb, rec in (await scan(ctx, NS_RTB)).items():
        if rec.get("main") and rec.get("main_assoc") == assoc:
            return rtb, rec, None
        if assoc in rec.get("assocs", {}):
            return rtb, rec, rec["assocs"][assoc]
    raise errors.InvalidAssociationIDNotFound(f"The association ID '{assoc}' does not exist")


@ec2_handler("DisassociateRouteTable")
async def disassociate_route_table(ctx: RequestContext) -> dict[str, Any]:
    assoc = ctx.params.get("AssociationId")
    rtb, rec, subnet = await _association(ctx, assoc)
    if subnet is None:
        raise errors.InvalidParameterValue(f"Cannot disassociate the main route table association {assoc}")
    rec = await _modify(ctx, rtb, lambda table: table.get("assocs", {}).pop(assoc, None))
    await delete(ctx, NS_RTB_SUBNET, subnet)
    await routing.sync(ctx, rec["vpc"])
    return {}


@ec2_handler("ReplaceRouteTableAssociation")
async def replace_route_table_association(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    old_rtb, old, subnet = await _association(ctx, p.get("AssociationId"))
    new_rtb = p.get("RouteTableId")
    new = await _find(ctx, new_rtb)
    if new["vpc"] != old["vpc"]:
        raise errors.InvalidParameterValue(f"Route table {new_rtb} belongs to another VPC")
    assoc = await routing.new_association(ctx)
    if subnet is None:  # the main association moves
        def unmain(table: dict[str, Any]) -> None:
            table["main"] = False
            table.pop("main_assoc", None)

        old = await _modify(ctx, old_rtb, unmain)
        await _modify(ctx, new_rtb, lambda table: table.update(main=True, main_assoc=assoc))  # type: ignore[arg-type]
        await update(ctx, NS_VPC, old["vpc"], main_rtb=new_rtb, main_assoc=assoc)
    else:
        old = await _modify(ctx, old_rtb, lambda table: table.get("assocs", {}).pop(p["AssociationId"], None))
        await _modify(ctx, new_rtb, _associating(assoc, subnet))  # type: ignore[arg-type]
        await put(ctx, NS_RTB_SUBNET, subnet, {"rtb": new_rtb, "assoc": assoc})
    await routing.sync(ctx, old["vpc"])
    return {"NewAssociationId": assoc, "AssociationState": {"State": "associated"}}
