"""DHCP option sets: Create/Delete/Describe/AssociateDhcpOptions.

Option sets live in the gateway (a cloud's DHCP is per subnet, not a shareable object). Associating one
with a VPC applies what the cloud's subnets can carry, the DNS servers, to every subnet of the VPC (and to
subnets created later); the domain name and NTP/NetBIOS options are kept and shown only. Each account has
a default set (AmazonProvidedDNS), the one a new VPC gets.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, vpc_setup
from .error_map import backend_errors, not_found
from .lookups.ids import check_id, ec2_id
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import find_vpc, ids_filter, load_subnets
from .output import compact, tag_specs
from .records import NS_DOPT, NS_VPC, delete, get, put, scan, update
from .registration import ec2_handler
from .services import account, network, tags_of

KEYS = ("domain-name", "domain-name-servers", "ntp-servers", "netbios-name-servers", "netbios-node-type",
        "ipv6-address-preferred-lease-time")
_IP_KEYS = ("domain-name-servers", "ntp-servers", "netbios-name-servers")






def _validate(configs: list[dict[str, Any]]) -> dict[str, list[str]]:
    if not configs:
        raise errors.MissingParameter("The request must contain the parameter dhcpConfiguration")
    out: dict[str, list[str]] = {}
    for cfg in configs:
        name, values = cfg.get("Key"), [str(v) for v in cfg.get("Values") or []]
        if name not in KEYS:
            raise errors.InvalidParameterValue(f"Value ({name}) for parameter dhcpConfiguration.key is invalid. "
                                               "Unknown DHCP option")
        if not values:
            raise errors.InvalidParameterValue(f"Value for parameter dhcpConfiguration.{name} is invalid. "
                                               "At least one value is required")
        if name in _IP_KEYS:
            for v in values:
                if name == "domain-name-servers" and v == vpc_setup.AMAZON_DNS:
                    continue
                try:
                    ipaddress.IPv4Address(v)
                except ValueError:
                    raise errors.InvalidParameterValue(f"Value ({v}) for parameter {name} is invalid. "
                                                       "It is not a valid IPv4 address.") from None
            if len(values) > 4:
                raise errors.InvalidParameterValue(f"At most 4 values are allowed for {name}.")
        if name == "netbios-node-type" and (len(values) != 1 or values[0] not in ("1", "2", "4", "8")):
            raise errors.InvalidParameterValue(f"Value ({','.join(values)}) for parameter netbios-node-type is "
                                               "invalid.")
        out.setdefault(name, []).extend(values)
    return out


def options_item(ctx: RequestContext, did: str, record: dict[str, Any], tags: dict[str, list]) -> dict[str, Any]:
    config = record.get("config") or {}
    return compact({"DhcpOptionsId": did, "OwnerId": account(ctx), "Tags": tags.get(did),
                    "DhcpConfigurations": [{"Key": k, "Values": [{"Value": v} for v in vs]}
                                           for k, vs in config.items()]})


@ec2_handler("CreateDhcpOptions")
async def create_dhcp_options(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    config = _validate(p.get("DhcpConfigurations") or [])
    tagging = tag_specs(p, "dhcp-options")
    did = await ec2_id(ctx, "dhcp-options", uuid.uuid4().hex)
    assert did is not None
    record = {"config": config}
    await put(ctx, NS_DOPT, did, record)
    tags = await apply_tags(ctx, [did], tagging.get("dhcp-options"))
    return {"DhcpOptions": options_item(ctx, did, record, {did: tags} if tags else {})}


async def _find(ctx: RequestContext, did: str | None) -> dict[str, Any]:
    if not did:
        raise errors.MissingParameter("The request must contain the parameter dhcpOptionsId")
    check_id("dhcp-options", did)
    await vpc_setup.default_options(ctx)
    record = await get(ctx, NS_DOPT, did)
    if not record:
        raise not_found("dhcp-options", did)
    return record


@ec2_handler("DeleteDhcpOptions")
async def delete_dhcp_options(ctx: RequestContext) -> dict[str, Any]:
    did = ctx.params.get("DhcpOptionsId")
    await _find(ctx, did)
    if any(r.get("dhcp") == did for r in (await scan(ctx, NS_VPC)).values()):
        raise errors.DependencyViolation(f"The dhcpOptions '{did}' has dependencies and cannot be deleted.")
    await delete(ctx, NS_DOPT, did)  # type: ignore[arg-type]
    await tags_of(ctx).remove([did], None)  # type: ignore[list-item]
    return {}


FILTERS: dict[str, filters.Extractor] = {
    "dhcp-options-id": filters.field("DhcpOptionsId"), "key": filters.field("DhcpConfigurations", "Key"),
    "value": filters.field("DhcpConfigurations", "Values", "Value"), "owner-id": filters.field("OwnerId"),
}


@ec2_handler("DescribeDhcpOptions")
async def describe_dhcp_options(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="DhcpOptionsIds")
    filters.validate(p.get("Filters"), FILTERS)
    await vpc_setup.default_options(ctx)
    tags = await tag_map(ctx)
    items = [options_item(ctx, did, rec, tags) for did, rec in (await scan(ctx, NS_DOPT)).items()]
    items = ids_filter(items, p.get("DhcpOptionsIds") or [], "DhcpOptionsId", "dhcp-options")
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeDhcpOptions", items, lambda i: i["DhcpOptionsId"], max_results,
                               p.get("NextToken"))
    return compact({"DhcpOptions": chunk, "NextToken": token})


@ec2_handler("AssociateDhcpOptions")
async def associate_dhcp_options(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    did = p.get("DhcpOptionsId")
    if did == "default":
        did = await vpc_setup.default_options(ctx)
    else:
        await _find(ctx, did)
    vpc = await find_vpc(ctx, p.get("VpcId"))
    servers = await vpc_setup.dns_servers_of(ctx, did)
    net = await network(ctx)
    for view in (await load_subnets(ctx, vpc_id=vpc.vpc.id)).values():
        if view.subnet.dns_servers != servers:
            with backend_errors("subnet", view.ec2_id):
                await net.set_dns_servers(view.subnet.id, servers)
    await update(ctx, NS_VPC, vpc.ec2_id, dhcp=did)
    return {}
