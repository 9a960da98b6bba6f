"""Regions, availability zones and account attributes.

One region: the gateway's own (config `region`), whose endpoint is the gateway itself. Zones are the
cloud's. Account attributes say what this account can do: both platforms (EC2-Classic-style resources
and VPC), no default VPC, and the cloud's quotas where it reports them.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, vpc_setup
from .error_map import backend_errors
from .registration import ec2_handler
from .services import compute

REGION_FILTERS = {"endpoint": filters.field("Endpoint"), "region-name": filters.field("RegionName"),
                  "opt-in-status": filters.field("OptInStatus")}


def endpoint(ctx: RequestContext) -> str:
    return ctx.request.host or f"{ctx.gateway.config.listen.host}:{ctx.gateway.config.listen.port}"


@ec2_handler("DescribeRegions")
async def describe_regions(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    filters.validate(p.get("Filters"), REGION_FILTERS)
    region = ctx.gateway.config.region
    items = [{"RegionName": region, "Endpoint": endpoint(ctx), "OptInStatus": "opt-in-not-required"}]
    unknown = [r for r in p.get("RegionNames") or [] if r != region]
    if unknown:
        raise errors.InvalidParameterValue(f"Invalid region: {', '.join(unknown)}")
    return {"Regions": filters.apply(items, p.get("Filters"), REGION_FILTERS)}


ZONE_FILTERS = {
    "group-name": filters.field("GroupName"), "message": filters.field("Messages", "Message"),
    "opt-in-status": filters.field("OptInStatus"), "region-name": filters.field("RegionName"),
    "state": filters.field("State"), "zone-id": filters.field("ZoneId"), "zone-name": filters.field("ZoneName"),
    "zone-type": filters.field("ZoneType"), "network-border-group": filters.field("NetworkBorderGroup"),
}


@ec2_handler("DescribeAvailabilityZones")
async def describe_availability_zones(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    filters.validate(p.get("Filters"), ZONE_FILTERS)
    region = ctx.gateway.config.region
    c = await compute(ctx)
    with backend_errors("zone"):
        zones = sorted(await c.list_zones(), key=lambda z: z.name)
    items = [{"ZoneName": z.name, "ZoneId": f"{region}-az{n}", "State": "available" if z.available else "unavailable",
              "RegionName": region, "Messages": [], "OptInStatus": "opt-in-not-required", "GroupName": region,
              "NetworkBorderGroup": region, "ZoneType": "availability-zone"} for n, z in enumerate(zones, 1)]
    names, zone_ids = p.get("ZoneNames") or [], p.get("ZoneIds") or []
    unknown = [n for n in names if n not in {i["ZoneName"] for i in items}]
    unknown += [z for z in zone_ids if z not in {i["ZoneId"] for i in items}]
    if unknown:
        raise errors.InvalidParameterValue(f"Invalid availability zone: [{', '.join(unknown)}]")
    if names or zone_ids:
        items = [i for i in items if i["ZoneName"] in names or i["ZoneId"] in zone_ids]
    elif not p.get("AllAvailabilityZones") and not p.get("Filters"):
        items = [i for i in items if i["State"] == "available"]
    return {"AvailabilityZones": filters.apply(items, p.get("Filters"), ZONE_FILTERS)}


# AWS's defaults where the cloud reports no quota.
_QUOTA_ATTRIBUTES = {"max-instances": ("servers", 20), "max-elastic-ips": ("addresses", 5),
                     "vpc-max-elastic-ips": ("addresses", 5),
                     "vpc-max-security-groups-per-interface": ("security_groups_per_port", 5)}
ATTRIBUTES = ("supported-platforms", "default-vpc", *_QUOTA_ATTRIBUTES)


@ec2_handler("DescribeAccountAttributes")
async def describe_account_attributes(ctx: RequestContext) -> dict[str, Any]:
    names = ctx.params.get("AttributeNames") or list(ATTRIBUTES)
    unknown = [n for n in names if n not in ATTRIBUTES]
    if unknown:
        raise errors.InvalidParameterValue(f"Value ({unknown[0]}) for parameter attributeName is invalid.")
    quotas: dict[str, int] = {}
    if any(n in _QUOTA_ATTRIBUTES for n in names):
        c = await compute(ctx)
        with backend_errors():
            quotas = await c.quotas()
    out = []
    for name in names:
        if name == "supported-platforms":  # ec2.default_vpc: VPC-only, as AWS accounts are today
            values = ["VPC"] if ctx.gateway.config.ec2.default_vpc else ["EC2", "VPC"]
        elif name == "default-vpc":
            await vpc_setup.present_default_vpc(ctx)
            vid = await vpc_setup.default_vpc_id(ctx, create_missing=False) if ctx.gateway.config.ec2.default_vpc else None
            values = [vid or "none"]
        else:
            key, default = _QUOTA_ATTRIBUTES[name]
            limit = quotas.get(key, default)
            values = [str(limit if limit >= 0 else 1_000_000)]
        out.append({"AttributeName": name, "AttributeValues": [{"AttributeValue": v} for v in values]})
    return {"AccountAttributes": out}
