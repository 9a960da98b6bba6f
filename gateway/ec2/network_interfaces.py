"""Network interfaces: Create/Delete/Describe, Attach/Detach, Describe/Modify/ResetNetworkInterfaceAttribute,
Assign/UnassignPrivateIpAddresses.

A network interface is a port of the cloud in one of the VPC's subnets (backends/network.py): its private
addresses (the primary first), security groups and anti-spoofing switch (SourceDestCheck) are the port's;
its device index and DeleteOnTermination are the gateway's (ec2:eni). Attaching is the cloud's interface
attach to a server. A full subnet is InsufficientFreeAddressesInSubnet, checked against the subnet's free
count before the cloud is asked (AWS's five reserved addresses are never allocatable).
"""

from __future__ import annotations

from typing import Any

from backends.network import NoFreeAddress

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, routing, shapes
from .error_map import backend_errors, not_found
from .idempotency import once
from .lookups import instances as instance_lookup
from .lookups.ids import check_id, ec2_id
from .lookups.interfaces import (
    check_ips,
    find_interface,
    interfaces,
    new_port,
    no_address,
    vpc_group_ids,
)
from .lookups.tags import apply_tags
from .lookups.vpcs import find_subnet, free_addresses
from .model import PENDING, RUNNING, STOPPED, Interface
from .output import compact, now_iso, tag_specs
from .records import NS_ENI, modify, update
from .registration import ec2_handler
from .services import account, network

BINDING = 300.0  # how long a port a server was booted on may stay unbound (the server still building)


# ---- actions ------------------------------------------------------------------------------------------------------
@ec2_handler("CreateNetworkInterface")
async def create_network_interface(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if p.get("Ipv6Addresses") or p.get("Ipv6AddressCount") or p.get("Ipv4Prefixes") or p.get("Ipv4PrefixCount"):
        raise errors.Unsupported("IPv6 addresses and prefixes are not supported.")
    if (p.get("InterfaceType") or "interface") not in ("interface",):
        raise errors.Unsupported(f"Interface type {p['InterfaceType']} is not supported.")
    tagging = tag_specs(p, "network-interface")
    subnet = await find_subnet(ctx, p.get("SubnetId"))
    listed = p.get("PrivateIpAddresses") or []
    primaries = [a["PrivateIpAddress"] for a in listed if a.get("Primary")]
    if p.get("PrivateIpAddress") and primaries and primaries != [p["PrivateIpAddress"]] or len(primaries) > 1:
        raise errors.InvalidParameterValue("Only one primary private IP address may be specified.")
    ips = list(dict.fromkeys(([p["PrivateIpAddress"]] if p.get("PrivateIpAddress") else []) + primaries
                             + [a["PrivateIpAddress"] for a in listed if not a.get("Primary")]))
    secondary = p.get("SecondaryPrivateIpAddressCount") or 0
    if secondary < 0:
        raise errors.InvalidParameterValue("SecondaryPrivateIpAddressCount must be positive.")
    groups = await vpc_group_ids(ctx, p.get("Groups") or [], subnet.subnet.vpc_id)

    async def run() -> dict[str, Any]:
        port = await new_port(ctx, subnet, ips=ips, secondary=secondary, groups=groups,
                              description=p.get("Description") or "")
        eni = await ec2_id(ctx, "network-interface", port.id)
        await apply_tags(ctx, [eni or ""], tagging.get("network-interface"))
        made = next(i for i in await interfaces(ctx, subnets={subnet.ec2_id: subnet}) if i.id == eni)
        return {"NetworkInterface": shapes.interface(made, ctx.gateway.config.region)}

    return await once(ctx.gateway.store, account(ctx), "CreateNetworkInterface", p, run)




@ec2_handler("DeleteNetworkInterface")
async def delete_network_interface(ctx: RequestContext) -> dict[str, Any]:
    eni = ctx.params.get("NetworkInterfaceId")
    item = await find_interface(ctx, eni)
    if item.attachment or item.port.device_id:
        raise errors.InvalidParameterValue(f"Network interface '{eni}' is currently in use.")
    if item.requester_managed:
        raise errors.OperationNotPermitted(f"Network interface '{eni}' is managed by a NAT gateway.")
    net = await network(ctx)
    with backend_errors("network-interface", eni):
        await net.delete_port(item.port.id)
    await routing.interface_gone(ctx, eni)  # type: ignore[arg-type]
    return {}


FILTERS: dict[str, filters.Extractor] = {
    "addresses.private-ip-address": filters.field("PrivateIpAddresses", "PrivateIpAddress"),
    "addresses.primary": filters.field("PrivateIpAddresses", "Primary"),
    "addresses.association.public-ip": filters.field("PrivateIpAddresses", "Association", "PublicIp"),
    "addresses.association.owner-id": filters.field("PrivateIpAddresses", "Association", "IpOwnerId"),
    "association.association-id": filters.field("Association", "AssociationId"),
    "association.allocation-id": filters.field("Association", "AllocationId"),
    "association.ip-owner-id": filters.field("Association", "IpOwnerId"),
    "association.public-ip": filters.field("Association", "PublicIp"),
    "association.public-dns-name": filters.field("Association", "PublicDnsName"),
    "attachment.attachment-id": filters.field("Attachment", "AttachmentId"),
    "attachment.attach-time": filters.field("Attachment", "AttachTime"),
    "attachment.delete-on-termination": filters.field("Attachment", "DeleteOnTermination"),
    "attachment.device-index": filters.field("Attachment", "DeviceIndex"),
    "attachment.instance-id": filters.field("Attachment", "InstanceId"),
    "attachment.instance-owner-id": filters.field("Attachment", "InstanceOwnerId"),
    "attachment.status": filters.field("Attachment", "Status"),
    "availability-zone": filters.field("AvailabilityZone"), "description": filters.field("Description"),
    "group-id": filters.field("Groups", "GroupId"), "group-name": filters.field("Groups", "GroupName"),
    "interface-type": filters.field("InterfaceType"), "mac-address": filters.field("MacAddress"),
    "network-interface-id": filters.field("NetworkInterfaceId"), "owner-id": filters.field("OwnerId"),
    "private-ip-address": filters.field("PrivateIpAddress"), "private-dns-name": filters.field("PrivateDnsName"),
    "requester-id": filters.field("RequesterId"), "requester-managed": filters.field("RequesterManaged"),
    "source-dest-check": filters.field("SourceDestCheck"), "status": filters.field("Status"),
    "subnet-id": filters.field("SubnetId"), "vpc-id": filters.field("VpcId"),
}


@ec2_handler("DescribeNetworkInterfaces")
async def describe_network_interfaces(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="NetworkInterfaceIds")
    filters.validate(p.get("Filters"), FILTERS)
    wanted = p.get("NetworkInterfaceIds") or []
    for eni in wanted:
        check_id("network-interface", eni)
    found = await interfaces(ctx)
    if wanted:
        missing = [w for w in dict.fromkeys(wanted) if w not in {i.id for i in found}]
        if missing:
            raise not_found("network-interface", missing)
        found = [i for i in found if i.id in wanted]
        found.sort(key=lambda i: wanted.index(i.id))
    region = ctx.gateway.config.region
    # what filters see: the NetworkInterface shape with its tags under "Tags", as every other family's
    views = [{**shapes.interface(i, region), "Tags": i.tags} for i in found]
    items = [{k: v for k, v in view.items() if k != "Tags"} for view in filters.apply(views, p.get("Filters"), FILTERS)]
    if max_results is None and not p.get("NextToken"):
        return {"NetworkInterfaces": items}
    chunk, token = paging.page("DescribeNetworkInterfaces", items, lambda i: i["NetworkInterfaceId"], max_results,
                               p.get("NextToken"))
    return compact({"NetworkInterfaces": chunk, "NextToken": token})


@ec2_handler("AttachNetworkInterface")
async def attach_network_interface(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    index = p.get("DeviceIndex")
    if index is None:
        raise errors.MissingParameter("The request must contain the parameter deviceIndex")
    if index < 1:
        raise errors.InvalidParameterValue(f"Invalid value '{index}' for deviceIndex: the primary network "
                                           "interface (index 0) cannot be attached.")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    iid = p.get("InstanceId") or ""
    instance = (await instance_lookup.find(ctx, [iid]))[iid]
    if item.in_use:
        raise errors.InvalidParameterValue(f"Interface {item.id} is currently in use.")
    if (instance.vpc.vpc_id if instance.vpc else None) != item.vpc_id:
        raise errors.InvalidParameterValue("The network interface and the instance are in different VPCs.")
    if instance.state not in (RUNNING, STOPPED, PENDING):
        raise errors.IncorrectInstanceState(f"The instance '{iid}' is not in a valid state for this operation.")
    if any(n.attachment and n.attachment.device_index == index for n in (instance.vpc.interfaces if instance.vpc else [])):
        raise errors.InvalidParameterValue(f"Instance '{iid}' already has an interface attached at device index "
                                           f"'{index}'.")
    net = await network(ctx)
    port = item.port
    with backend_errors("network-interface", item.id, instance=iid):
        await net.attach_port(port.id, instance.server_id or "")
    eni = item.id
    await update(ctx, NS_ENI, eni, device_index=index, delete_on_termination=False, attach_time=now_iso())
    return {"AttachmentId": await ec2_id(ctx, "attachment", f"{port.id}:{instance.server_id}"),
            "NetworkCardIndex": 0}


async def _by_attachment(ctx: RequestContext, attachment: str) -> Interface:
    check_id("attachment", attachment)
    match = [i for i in await interfaces(ctx) if i.attachment and i.attachment.id == attachment]
    if not match:
        raise not_found("attachment", attachment)
    return match[0]


@ec2_handler("DetachNetworkInterface")
async def detach_network_interface(ctx: RequestContext) -> dict[str, Any]:
    attachment = ctx.params.get("AttachmentId")
    if not attachment:
        raise errors.MissingParameter("The request must contain the parameter attachmentId")
    item = await _by_attachment(ctx, attachment)
    if item.attachment is None or item.attachment.device_index == 0:
        raise errors.OperationNotPermitted("The network interface at device index 0 cannot be detached.")
    net = await network(ctx)
    with backend_errors("network-interface", item.id):
        await net.detach_port(item.port.id, item.server_id or "")
    await modify(ctx, NS_ENI, item.id, lambda record: record.pop("server", None))
    return {}


_ATTRIBUTES = ("description", "groupSet", "sourceDestCheck", "attachment", "associatePublicIpAddress")


@ec2_handler("DescribeNetworkInterfaceAttribute")
async def describe_network_interface_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    attribute = p.get("Attribute")
    if not attribute:
        raise errors.InvalidParameterCombination("No attributes specified.")
    if attribute not in _ATTRIBUTES:
        raise errors.InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                           "Unknown attribute.")
    item = shapes.interface(await find_interface(ctx, p.get("NetworkInterfaceId")), ctx.gateway.config.region)
    out: dict[str, Any] = {"NetworkInterfaceId": item["NetworkInterfaceId"]}
    if attribute == "description":
        out["Description"] = {"Value": item.get("Description") or ""}
    elif attribute == "groupSet":
        out["Groups"] = item.get("Groups") or []
    elif attribute == "sourceDestCheck":
        out["SourceDestCheck"] = {"Value": item["SourceDestCheck"]}
    elif attribute == "associatePublicIpAddress":
        out["AssociatePublicIpAddress"] = bool(item.get("Association"))
    elif item.get("Attachment"):
        out["Attachment"] = item["Attachment"]
    return out


@ec2_handler("ModifyNetworkInterfaceAttribute")
async def modify_network_interface_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    given = [k for k in ("Description", "SourceDestCheck", "Groups", "Attachment") if p.get(k)]
    if len(given) != 1:
        raise errors.InvalidParameterCombination("Specify exactly one attribute to modify.")
    what = given[0]
    if what == "Attachment":
        if p["Attachment"].get("DeleteOnTermination") is None:
            raise errors.MissingParameter("The request must contain the parameter deleteOnTermination")
        if not p["Attachment"].get("AttachmentId"):
            raise errors.MissingParameter("The request must contain the parameter attachmentId")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    eni, port = item.id, item.port
    net = await network(ctx)
    if what == "Attachment":
        if (item.attachment.id if item.attachment else None) != p["Attachment"]["AttachmentId"]:
            check_id("attachment", p["Attachment"]["AttachmentId"])
            raise not_found("attachment", p["Attachment"]["AttachmentId"])
        await update(ctx, NS_ENI, eni, delete_on_termination=bool(p["Attachment"]["DeleteOnTermination"]))
        return {}
    if what == "Groups":
        groups = await vpc_group_ids(ctx, p["Groups"], item.subnet.subnet.vpc_id)
        with backend_errors("network-interface", eni):
            await net.update_port(port.id, security_groups=groups)
        return {}
    value = (p[what] or {}).get("Value")
    if value is None:
        raise errors.InvalidParameterCombination(f"The parameter {what}.Value is required.")
    with backend_errors("network-interface", eni):
        if what == "Description":
            await net.update_port(port.id, description=str(value))
        else:
            await net.update_port(port.id, source_dest_check=bool(value))
    return {}


@ec2_handler("ResetNetworkInterfaceAttribute")
async def reset_network_interface_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    if p.get("SourceDestCheck") not in (None, "sourceDestCheck"):
        raise errors.InvalidParameterValue(f"Value ({p['SourceDestCheck']}) for parameter attribute is invalid.")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    net = await network(ctx)
    with backend_errors("network-interface", item.id):
        await net.update_port(item.port.id, source_dest_check=True)
    return {}


@ec2_handler("AssignPrivateIpAddresses")
async def assign_private_ip_addresses(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    wanted, count = p.get("PrivateIpAddresses") or [], p.get("SecondaryPrivateIpAddressCount") or 0
    if p.get("Ipv4Prefixes") or p.get("Ipv4PrefixCount"):
        raise errors.Unsupported("IPv4 prefixes are not supported.")
    if bool(wanted) == bool(count):
        raise errors.InvalidParameterCombination("Specify either private IP addresses or a count of them.")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    subnet, port = item.subnet, item.port
    check_ips(subnet, wanted)
    if free_addresses(subnet.subnet) < len(wanted) + count:
        raise no_address(NoFreeAddress(), subnet, wanted)
    current = list(item.ips)
    net = await network(ctx)
    try:
        with backend_errors("network-interface", item.id):
            updated = await net.update_port(port.id, ips=current + [w for w in wanted if w not in current],
                                            add_count=count)
    except NoFreeAddress as e:
        raise no_address(e, subnet, wanted) from None
    added = [ip for ip in updated.ips if ip not in current]
    return {"NetworkInterfaceId": item.id,
            "AssignedPrivateIpAddresses": [{"PrivateIpAddress": ip} for ip in added]}


@ec2_handler("UnassignPrivateIpAddresses")
async def unassign_private_ip_addresses(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    doomed = p.get("PrivateIpAddresses") or []
    if not doomed:
        raise errors.MissingParameter("The request must contain the parameter privateIpAddress")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    current = list(item.ips)
    for ip in doomed:
        if ip == item.primary_ip:
            raise errors.InvalidParameterValue(f"The primary private IP address {ip} cannot be unassigned.")
        if ip not in current:
            raise errors.InvalidParameterValue(f"Some of the specified addresses are not assigned to interface "
                                               f"{item.id}: {ip}")
    net = await network(ctx)
    with backend_errors("network-interface", item.id):
        await net.update_port(item.port.id, ips=[ip for ip in current if ip not in doomed])
    return {}


