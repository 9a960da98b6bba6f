"""Route tables as the gateway holds them (ec2:rtb) and their effect on the cloud: making a VPC's main table,
applying the tables in force to the VPC's router, and what a subnet or interface going away changes.

Shared by the route table, subnet, VPC and network interface handlers (below all of them)."""

from __future__ import annotations

import uuid
from typing import Any

from backends.network import Route

from ..context import RequestContext
from .error_map import backend_errors
from .lookups.ids import backend_id, ec2_id
from .lookups.vpcs import load_vpcs
from .records import NS_ENI, NS_RTB, NS_RTB_SUBNET, delete, get, modify, put, scan
from .services import network, tags_of


async def new_association(ctx: RequestContext) -> str:
    aid = await ec2_id(ctx, "route-table-association", uuid.uuid4().hex)
    assert aid is not None
    return aid


async def create_main(ctx: RequestContext, vid: str, cidr: str) -> tuple[str, str]:
    """A new VPC's main route table (its local route only) and the main association."""
    rtb = await ec2_id(ctx, "route-table", uuid.uuid4().hex)
    assert rtb is not None
    assoc = await new_association(ctx)
    await put(ctx, NS_RTB, rtb, {"vpc": vid, "main": True, "main_assoc": assoc,
                                 "routes": [local_route(cidr)], "assocs": {}})
    return rtb, assoc


def local_route(cidr: str) -> dict[str, Any]:
    return {"dst": cidr, "GatewayId": "local", "origin": "CreateRouteTable"}


async def sync(ctx: RequestContext, vid: str) -> None:
    """Make the router's static routes those of the VPC's tables in force."""
    bid = await backend_id(ctx, "vpc", vid)
    views = await load_vpcs(ctx, [bid]) if bid else {}
    if vid not in views:
        return
    tables = [r for r in (await scan(ctx, NS_RTB)).values()
              if r.get("vpc") == vid and (r.get("main") or r.get("assocs"))]
    tables.sort(key=lambda r: not r.get("main"))
    wanted: dict[str, str] = {}  # destination -> ENI id
    for table in tables:
        for route in table.get("routes", []):
            if route.get("NetworkInterfaceId"):
                wanted.setdefault(route["dst"], route["NetworkInterfaceId"])
    net = await network(ctx)
    routes = []
    if wanted:
        port_ids = {eni: await backend_id(ctx, "network-interface", eni) for eni in set(wanted.values())}
        with backend_errors("network-interface"):
            ports = {p.id: p for p in await net.list_ports([b for b in port_ids.values() if b])}
        for dst, eni in sorted(wanted.items()):
            port = ports.get(port_ids.get(eni) or "")
            if port and port.ips:
                routes.append(Route(dst, port.ips[0]))
    current = sorted((r.destination, r.nexthop) for r in views[vid].vpc.routes)
    if current != sorted((r.destination, r.nexthop) for r in routes):
        with backend_errors("route-table"):
            await net.set_routes(views[vid].vpc.id, routes)


async def forget_subnet(ctx: RequestContext, subnet_id: str) -> None:
    """A subnet is going away: its association goes with it (and the router stops routing for it)."""
    claim = await get(ctx, NS_RTB_SUBNET, subnet_id)
    if not claim:
        return
    if await get(ctx, NS_RTB, claim["rtb"]):
        rec = await modify(ctx, NS_RTB, claim["rtb"], lambda table: table.setdefault("assocs", {}).pop(
            claim["assoc"], None))
        await sync(ctx, rec["vpc"])
    await delete(ctx, NS_RTB_SUBNET, subnet_id)


async def uses_interface(ctx: RequestContext, eni: str) -> set[str]:
    """The VPCs whose tables route to this network interface."""
    return {r["vpc"] for r in (await scan(ctx, NS_RTB)).values()
            if any(x.get("NetworkInterfaceId") == eni for x in r.get("routes", []))}


async def interface_gone(ctx: RequestContext, eni: str) -> None:
    """A network interface is gone: its records, tags, and any router route through it."""
    await delete(ctx, NS_ENI, eni)
    await tags_of(ctx).remove([eni], None)  # type: ignore[list-item]
    for vid in await uses_interface(ctx, eni):
        await sync(ctx, vid)
