"""Customer gateways: Create/Delete/DescribeCustomerGateways.

A customer gateway only describes the far end of a VPN (its public address, BGP ASN, type); nothing in the
cloud corresponds to it until a VPN connection uses it, which cloudgate does not offer. So it lives in the
gateway's state store: taggable, filterable, and `deleted` for a while after DeleteCustomerGateway, as AWS
shows it.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters
from .error_map import not_found
from .lookups.ids import check_id, ec2_id
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import ids_filter
from .output import compact, tag_specs
from .records import delete, get, put, scan, update
from .registration import ec2_handler

NS_CGW = "ec2:cgw"
RETENTION = 3600.0


def cgw_item(cgw: str, rec: dict[str, Any], tags: dict[str, list]) -> dict[str, Any]:
    return compact({"CustomerGatewayId": cgw, "State": rec["state"], "Type": rec["type"], "IpAddress": rec["ip"],
                    "BgpAsn": str(rec["asn"]), "DeviceName": rec.get("device"), "Tags": tags.get(cgw)})


@ec2_handler("CreateCustomerGateway")
async def create_customer_gateway(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    ip = p.get("PublicIp") or p.get("IpAddress")
    if not ip:
        raise errors.MissingParameter("The request must contain the parameter ipAddress")
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise errors.InvalidParameterValue(f"Value ({ip}) for parameter ipAddress is invalid.") from None
    if p.get("Type") != "ipsec.1":
        raise errors.InvalidParameterValue(f"Value ({p.get('Type')}) for parameter type is invalid.")
    tagging = tag_specs(p, "customer-gateway")
    cgw = await ec2_id(ctx, "customer-gateway", uuid.uuid4().hex)
    assert cgw is not None
    rec = {"state": "available", "type": "ipsec.1", "ip": ip, "asn": p.get("BgpAsn") or 65000,
           "device": p.get("DeviceName")}
    await put(ctx, NS_CGW, cgw, rec)
    tags = await apply_tags(ctx, [cgw], tagging.get("customer-gateway"))
    return {"CustomerGateway": cgw_item(cgw, rec, {cgw: tags} if tags else {})}


@ec2_handler("DeleteCustomerGateway")
async def delete_customer_gateway(ctx: RequestContext) -> dict[str, Any]:
    cgw = ctx.params.get("CustomerGatewayId") or ""
    check_id("customer-gateway", cgw)
    rec = await get(ctx, NS_CGW, cgw)
    if not rec or rec["state"] == "deleted":
        raise not_found("customer-gateway", cgw)
    await update(ctx, NS_CGW, cgw, state="deleted", until=time.time() + RETENTION)
    return {}


FILTERS: dict[str, filters.Extractor] = {
    "bgp-asn": filters.field("BgpAsn"), "customer-gateway-id": filters.field("CustomerGatewayId"),
    "ip-address": filters.field("IpAddress"), "state": filters.field("State"), "type": filters.field("Type"),
}


@ec2_handler("DescribeCustomerGateways")
async def describe_customer_gateways(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    filters.validate(p.get("Filters"), FILTERS)
    tags, now, items = await tag_map(ctx), time.time(), []
    for cgw, rec in (await scan(ctx, NS_CGW)).items():
        if rec.get("until") and rec["until"] < now:
            await delete(ctx, NS_CGW, cgw)
            continue
        items.append(cgw_item(cgw, rec, tags))
    items = ids_filter(items, p.get("CustomerGatewayIds") or [], "CustomerGatewayId", "customer-gateway")
    return {"CustomerGateways": filters.apply(items, p.get("Filters"), FILTERS)}
