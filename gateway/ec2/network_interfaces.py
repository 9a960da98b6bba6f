"""Network interfaces: Create/Delete/Describe, Attach/Detach, Describe/Modify/ResetNetworkInterfaceAttribute,
Assign/UnassignPrivateIpAddresses.

A network interface is a port of the cloud in one of the VPC's subnets (backends/network.py): its private
addresses (the primary first), security groups and anti-spoofing switch (SourceDestCheck) are the port's;
its device index and DeleteOnTermination are the gateway's (ec2:eni). Attaching is the cloud's interface
attach to a server. A full subnet is InsufficientFreeAddressesInSubnet, checked against the subnet's free
count before the cloud is asked (AWS's five reserved addresses are never allocatable).
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from backends import base
from backends.network import NoFreeAddress, Port, PortSpec

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, public_ips
from .error_map import backend_errors, not_found
from .idempotency import once
from .lookups.ids import backend_id, check_id, ec2_id, resolve
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import SubnetView, find_subnet, free_addresses, load_subnets
from .output import compact, now_iso, tag_specs
from .records import NS_ENI, NS_NAT, delete, get
from .records import put as put_record
from .records import scan as scan_records
from .registration import ec2_handler
from .services import account, compute, network, tags_of

BINDING = 300.0  # how long a port a server was booted on may stay unbound (the server still building)


def _dns(ip: str | None, region: str) -> str | None:
    return f"ip-{ip.replace('.', '-')}.{region}.compute.internal" if ip and ":" not in ip else None


async def _context(ctx: RequestContext) -> dict[str, Any]:
    """What items need besides the ports: group names, addresses, gateway records."""
    from . import vpc_groups
    from .addresses import address_items

    c = await compute(ctx)
    with backend_errors("security-group"):
        groups = await vpc_groups.annotate(ctx, await c.list_security_groups())
    addresses = {}
    for a in await address_items(ctx):
        if a.get("_PortId"):
            addresses.setdefault(a["_PortId"], []).append(a)
    nat_ports = {r.get("port") for r in (await scan_records(ctx, NS_NAT)).values()}
    return {"groups": {g.id: g for g in groups}, "addresses": addresses, "records": await scan_records(ctx, NS_ENI),
            "tags": await tag_map(ctx), "nat_ports": nat_ports}


async def eni_item(ctx: RequestContext, port: Port, subnet: SubnetView, look: dict[str, Any]) -> dict[str, Any]:
    eni = await ec2_id(ctx, "network-interface", port.id)
    assert eni is not None
    rec, region, owner = look["records"].get(eni, {}), ctx.gateway.config.region, account(ctx)
    ips = list(port.ips)
    if rec.get("primary") in ips:
        ips.remove(rec["primary"])
        ips.insert(0, rec["primary"])
    groups = []
    for gid in port.security_groups:
        g = look["groups"].get(gid)
        groups.append(compact({"GroupId": await ec2_id(ctx, "security-group", gid), "GroupName": g.name if g else None}))
    associations = {}
    for a in look["addresses"].get(port.id, ()):
        fixed = a.get("PrivateIpAddress") or (ips[0] if ips else None)
        associations[fixed] = compact({"PublicIp": a["PublicIp"], "IpOwnerId": owner, "AllocationId":
                                       a.get("AllocationId"), "AssociationId": a.get("AssociationId"),
                                       "PublicDnsName": f"ec2-{a['PublicIp'].replace('.', '-')}.{region}.compute."
                                                        "amazonaws.com"})
    attachment = None
    server = port.device_id if port.owner_kind == "compute" else None
    if not server and not port.device_id and rec.get("server") and time.time() - rec.get("launched", 0) < BINDING:
        server = rec["server"]  # booted on it a moment ago: the cloud binds it while the server builds
    if server:
        iid = await ec2_id(ctx, "instance", server)
        attachment = compact({
            "AttachmentId": await ec2_id(ctx, "attachment", f"{port.id}:{server}"), "InstanceId": iid,
            "InstanceOwnerId": owner, "DeviceIndex": rec.get("device_index", 0), "Status": "attached",
            "AttachTime": rec.get("attach_time"), "DeleteOnTermination": bool(rec.get("delete_on_termination")),
            "NetworkCardIndex": 0})
    primary = ips[0] if ips else None
    return compact({
        "NetworkInterfaceId": eni, "SubnetId": subnet.ec2_id, "VpcId": subnet.vpc_ec2_id,
        "AvailabilityZone": subnet.subnet.zone or "", "Description": port.description, "OwnerId": owner,
        "RequesterManaged": port.id in look["nat_ports"], "Status": "in-use" if server or port.device_id else "available",
        "MacAddress": port.mac, "PrivateIpAddress": primary, "PrivateDnsName": _dns(primary, region),
        "SourceDestCheck": port.source_dest_check, "Groups": groups, "Attachment": attachment,
        "Association": associations.get(primary),
        "PrivateIpAddresses": [compact({"PrivateIpAddress": ip, "PrivateDnsName": _dns(ip, region),
                                        "Primary": n == 0, "Association": associations.get(ip)})
                               for n, ip in enumerate(ips)],
        "InterfaceType": "nat_gateway" if port.id in look["nat_ports"] else "interface",
        "Ipv6Addresses": [], "Tags": look["tags"].get(eni), "_Port": port, "_Subnet": subnet, "_ServerId": server,
    })


async def eni_items(ctx: RequestContext, *, server_ids: list[str] | None = None,
                    subnets: dict[str, SubnetView] | None = None) -> list[dict[str, Any]]:
    """Every network interface of the caller (or those of some servers), with private `_Port`/`_Subnet`."""
    subnets = subnets if subnets is not None else await load_subnets(ctx)
    if not subnets:
        return []
    by_network = {s.subnet.network_id: s for s in subnets.values()}
    by_id = {s.subnet.id: s for s in subnets.values()}
    net = await network(ctx)
    with backend_errors("network-interface"):
        ports = await net.list_ports(network_ids=None if server_ids else list(by_network), server_ids=server_ids)
        if server_ids:  # ports a server was just booted on, not bound yet
            pending = [await backend_id(ctx, "network-interface", eni)
                       for eni, rec in (await scan_records(ctx, NS_ENI)).items() if rec.get("server") in server_ids]
            known = {p.id for p in ports}
            ports += await net.list_ports([b for b in pending if b and b not in known]) if pending else []
    ports = [p for p in ports if p.owner_kind in ("", "compute") and p.network_id in by_network]
    if not ports:
        return []
    look = await _context(ctx)
    return [await eni_item(ctx, p, by_id.get(p.subnet_id or "") or by_network[p.network_id], look) for p in ports]


def public_eni(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if not k.startswith("_") and k != "Tags"}
    if item.get("Tags"):
        out["TagSet"] = item["Tags"]
    return out


async def find_interface(ctx: RequestContext, eni: str | None) -> dict[str, Any]:
    if not eni:
        raise errors.MissingParameter("The request must contain the parameter networkInterfaceId")
    check_id("network-interface", eni)
    bid = await backend_id(ctx, "network-interface", eni)
    if bid is None:
        raise not_found("network-interface", eni)
    match = [i for i in await eni_items(ctx) if i["NetworkInterfaceId"] == eni]
    if not match:
        raise not_found("network-interface", eni)
    return match[0]


async def primary_of_instance(ctx: RequestContext, iid: str) -> dict[str, Any]:
    from .instances import find

    instance = (await find(ctx, [iid]))[iid]
    nis = instance.get("NetworkInterfaces") or []
    if len(nis) != 1:
        raise errors.InvalidInstanceIDPlain(f"There are multiple interfaces attached to instance '{iid}'. Please "
                                            "specify an interface ID for the operation instead." if nis else
                                            f"The instance '{iid}' is not in a VPC.")
    return await find_interface(ctx, nis[0]["NetworkInterfaceId"])


# ---- addresses and groups ---------------------------------------------------------------------------------------
def check_ips(subnet: SubnetView, ips: list[str]) -> None:
    block = ipaddress.ip_network(subnet.subnet.cidr)
    for ip in ips:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            raise errors.InvalidParameterValue(f"Value ({ip}) for parameter privateIpAddress is invalid. "
                                               "It is not a valid IPv4 address.") from None
        reserved = {block.network_address + n for n in range(4)} | {block.broadcast_address}
        if addr not in block or addr in reserved:
            raise errors.InvalidParameterValue(f"Address {ip} does not fall within the subnet's address range "
                                               f"({subnet.subnet.cidr}) or is reserved.")


def no_address(e: NoFreeAddress, subnet: SubnetView, ips: list[str]) -> errors.AwsError:
    if e.taken:
        return errors.InvalidIPAddressInUseVpc(f"Address {', '.join(ips)} is in use.")
    return errors.InsufficientFreeAddressesInSubnet(
        f"There are not enough free addresses in subnet '{subnet.ec2_id}' to satisfy the requested number of "
        "instances.")


async def vpc_group_ids(ctx: RequestContext, group_ids: list[str], vpc_backend_id: str) -> list[str]:
    """EC2 group ids -> backend ids, each required to be a group of this VPC."""
    from . import vpc_groups

    c = await compute(ctx)
    with backend_errors("security-group"):
        groups = {g.id: g for g in await vpc_groups.annotate(ctx, await c.list_security_groups())}
    out = []
    for gid in group_ids:
        bid = await resolve(ctx, "security-group", gid)
        if bid not in groups:
            raise errors.InvalidGroupNotFound(f"The security group '{gid}' does not exist")
        if groups[bid].network_id != vpc_backend_id:
            raise errors.InvalidParameterValue(f"The security group '{gid}' does not belong to the VPC "
                                               "of the subnet.")
        out.append(bid)
    return list(dict.fromkeys(out))


async def new_port(ctx: RequestContext, subnet: SubnetView, *, ips: list[str], secondary: int,
                   groups: list[str], description: str = "") -> Port:
    """A port for a network interface, its free addresses checked first (AWS reserves five)."""
    from . import vpc_groups

    check_ips(subnet, ips)
    if free_addresses(subnet.subnet) < max(len(ips), 1) + secondary:
        raise no_address(NoFreeAddress(), subnet, ips)
    if not groups:
        default = await vpc_groups.default_group(ctx, subnet.subnet.vpc_id)
        groups = [default] if default else []
    net = await network(ctx)
    try:
        with backend_errors("subnet", subnet.ec2_id):
            port = await net.create_port(PortSpec(subnet_id=subnet.subnet.id, ips=ips, secondary_count=secondary,
                                                  security_groups=groups, description=description))
    except NoFreeAddress as e:
        raise no_address(e, subnet, ips) from None
    eni = await ec2_id(ctx, "network-interface", port.id)
    await put_record(ctx, NS_ENI, eni or "", {"primary": port.ips[0] if port.ips else None})
    return port


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
        item = next(i for i in await eni_items(ctx, subnets={subnet.ec2_id: subnet}) if i["NetworkInterfaceId"] == eni)
        return {"NetworkInterface": public_eni(item)}

    return await once(ctx.gateway.store, account(ctx), "CreateNetworkInterface", p, run)


async def after_delete(ctx: RequestContext, eni: str) -> None:
    """A network interface is gone: its records, tags, and any router route through it."""
    from .route_tables import sync, uses_interface

    await delete(ctx, NS_ENI, eni)
    await tags_of(ctx).remove([eni], None)  # type: ignore[list-item]
    for vid in await uses_interface(ctx, eni):
        await sync(ctx, vid)


@ec2_handler("DeleteNetworkInterface")
async def delete_network_interface(ctx: RequestContext) -> dict[str, Any]:
    eni = ctx.params.get("NetworkInterfaceId")
    item = await find_interface(ctx, eni)
    if item.get("Attachment") or item["_Port"].device_id:
        raise errors.InvalidParameterValue(f"Network interface '{eni}' is currently in use.")
    if item.get("RequesterManaged"):
        raise errors.OperationNotPermitted(f"Network interface '{eni}' is managed by a NAT gateway.")
    net = await network(ctx)
    with backend_errors("network-interface", eni):
        await net.delete_port(item["_Port"].id)
    await after_delete(ctx, eni)  # type: ignore[arg-type]
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
    items = await eni_items(ctx)
    if wanted:
        missing = [w for w in dict.fromkeys(wanted) if w not in {i["NetworkInterfaceId"] for i in items}]
        if missing:
            raise not_found("network-interface", missing)
        items = [i for i in items if i["NetworkInterfaceId"] in wanted]
        items.sort(key=lambda i: wanted.index(i["NetworkInterfaceId"]))
    items = filters.apply(items, p.get("Filters"), FILTERS)
    if max_results is None and not p.get("NextToken"):
        return {"NetworkInterfaces": [public_eni(i) for i in items]}
    chunk, token = paging.page("DescribeNetworkInterfaces", items, lambda i: i["NetworkInterfaceId"], max_results,
                               p.get("NextToken"))
    return compact({"NetworkInterfaces": [public_eni(i) for i in chunk], "NextToken": token})


@ec2_handler("AttachNetworkInterface")
async def attach_network_interface(ctx: RequestContext) -> dict[str, Any]:
    from .instances import find

    p = ctx.params
    index = p.get("DeviceIndex")
    if index is None:
        raise errors.MissingParameter("The request must contain the parameter deviceIndex")
    if index < 1:
        raise errors.InvalidParameterValue(f"Invalid value '{index}' for deviceIndex: the primary network "
                                           "interface (index 0) cannot be attached.")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    iid = p.get("InstanceId") or ""
    instance = (await find(ctx, [iid]))[iid]
    if item.get("_ServerId") or item["_Port"].device_id:
        raise errors.InvalidParameterValue(f"Interface {item['NetworkInterfaceId']} is currently in use.")
    if instance.get("VpcId") != item["VpcId"]:
        raise errors.InvalidParameterValue("The network interface and the instance are in different VPCs.")
    if instance["State"]["Name"] not in ("running", "stopped", "pending"):
        raise errors.IncorrectInstanceState(f"The instance '{iid}' is not in a valid state for this operation.")
    if any(n.get("Attachment", {}).get("DeviceIndex") == index for n in instance.get("NetworkInterfaces") or []):
        raise errors.InvalidParameterValue(f"Instance '{iid}' already has an interface attached at device index "
                                           f"'{index}'.")
    net = await network(ctx)
    port = item["_Port"]
    with backend_errors("network-interface", item["NetworkInterfaceId"], instance=iid):
        await net.attach_port(port.id, instance["_ServerId"])
    eni = item["NetworkInterfaceId"]
    record = await get(ctx, NS_ENI, eni)
    await put_record(ctx, NS_ENI, eni, {**record, "device_index": index, "delete_on_termination": False,
                                        "attach_time": now_iso()})
    return {"AttachmentId": await ec2_id(ctx, "attachment", f"{port.id}:{instance['_ServerId']}"),
            "NetworkCardIndex": 0}


async def _by_attachment(ctx: RequestContext, attachment: str) -> dict[str, Any]:
    check_id("attachment", attachment)
    match = [i for i in await eni_items(ctx) if (i.get("Attachment") or {}).get("AttachmentId") == attachment]
    if not match:
        raise not_found("attachment", attachment)
    return match[0]


@ec2_handler("DetachNetworkInterface")
async def detach_network_interface(ctx: RequestContext) -> dict[str, Any]:
    attachment = ctx.params.get("AttachmentId")
    if not attachment:
        raise errors.MissingParameter("The request must contain the parameter attachmentId")
    item = await _by_attachment(ctx, attachment)
    if item["Attachment"].get("DeviceIndex", 0) == 0:
        raise errors.OperationNotPermitted("The network interface at device index 0 cannot be detached.")
    net = await network(ctx)
    port = item["_Port"]
    with backend_errors("network-interface", item["NetworkInterfaceId"]):
        await net.detach_port(port.id, item.get("_ServerId") or "")
    record = await get(ctx, NS_ENI, item["NetworkInterfaceId"])
    record.pop("server", None)
    await put_record(ctx, NS_ENI, item["NetworkInterfaceId"], record)
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
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
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
    eni, port = item["NetworkInterfaceId"], item["_Port"]
    net = await network(ctx)
    if what == "Attachment":
        if (item.get("Attachment") or {}).get("AttachmentId") != p["Attachment"]["AttachmentId"]:
            check_id("attachment", p["Attachment"]["AttachmentId"])
            raise not_found("attachment", p["Attachment"]["AttachmentId"])
        record = await get(ctx, NS_ENI, eni)
        await put_record(ctx, NS_ENI, eni, {**record, "delete_on_termination":
                                            bool(p["Attachment"]["DeleteOnTermination"])})
        return {}
    if what == "Groups":
        groups = await vpc_group_ids(ctx, p["Groups"], item["_Subnet"].subnet.vpc_id)
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
    with backend_errors("network-interface", item["NetworkInterfaceId"]):
        await net.update_port(item["_Port"].id, source_dest_check=True)
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
    subnet, port = item["_Subnet"], item["_Port"]
    check_ips(subnet, wanted)
    if free_addresses(subnet.subnet) < len(wanted) + count:
        raise no_address(NoFreeAddress(), subnet, wanted)
    current = [a["PrivateIpAddress"] for a in item["PrivateIpAddresses"]]
    net = await network(ctx)
    try:
        with backend_errors("network-interface", item["NetworkInterfaceId"]):
            updated = await net.update_port(port.id, ips=current + [w for w in wanted if w not in current],
                                            add_count=count)
    except NoFreeAddress as e:
        raise no_address(e, subnet, wanted) from None
    added = [ip for ip in updated.ips if ip not in current]
    return {"NetworkInterfaceId": item["NetworkInterfaceId"],
            "AssignedPrivateIpAddresses": [{"PrivateIpAddress": ip} for ip in added]}


@ec2_handler("UnassignPrivateIpAddresses")
async def unassign_private_ip_addresses(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    doomed = p.get("PrivateIpAddresses") or []
    if not doomed:
        raise errors.MissingParameter("The request must contain the parameter privateIpAddress")
    item = await find_interface(ctx, p.get("NetworkInterfaceId"))
    current = [a["PrivateIpAddress"] for a in item["PrivateIpAddresses"]]
    for ip in doomed:
        if ip == item.get("PrivateIpAddress"):
            raise errors.InvalidParameterValue(f"The primary private IP address {ip} cannot be unassigned.")
        if ip not in current:
            raise errors.InvalidParameterValue(f"Some of the specified addresses are not assigned to interface "
                                               f"{item['NetworkInterfaceId']}: {ip}")
    net = await network(ctx)
    with backend_errors("network-interface", item["NetworkInterfaceId"]):
        await net.update_port(item["_Port"].id, ips=[ip for ip in current if ip not in doomed])
    return {}


async def associate_address(ctx: RequestContext, p: dict[str, Any], address: dict[str, Any]) -> dict[str, Any]:
    """AssociateAddress with a NetworkInterfaceId (addresses.py hands it over): the floating address goes to
    the interface's port (its primary address, or PrivateIpAddress)."""
    item = await find_interface(ctx, p["NetworkInterfaceId"])
    ip = p.get("PrivateIpAddress")
    if ip and ip not in [a["PrivateIpAddress"] for a in item["PrivateIpAddresses"]]:
        raise errors.InvalidParameterValue(f"The private IP address {ip} is not assigned to the network interface.")
    net = await network(ctx)
    c = await compute(ctx)
    if address.get("_Associated"):
        if address.get("_PortId") == item["_Port"].id and ip in (None, address.get("PrivateIpAddress")):
            return compact({"AssociationId": address.get("AssociationId")})
        if address.get("Domain") == "vpc" and p.get("AllowReassociation") is False:
            raise errors.ResourceAlreadyAssociated(f"The address {address['_AllocationId']} is already associated")
        with backend_errors("elastic-ip", address["PublicIp"]):
            await c.disassociate_address(address["_BackendId"])
    await public_ips.release(ctx, port_id=item["_Port"].id)  # an elastic IP replaces a public address
    try:
        with backend_errors("elastic-ip", address["PublicIp"]):
            await net.associate_address(address["_BackendId"], item["_Port"].id, ip or item.get("PrivateIpAddress"))
    except errors.InvalidIPAddressInUse:
        raise errors.GatewayNotAttached(f"Network {item['VpcId']} is not attached to any internet gateway") from None
    except base.BackendError:
        raise
    return {"AssociationId": await ec2_id(ctx, "association", f"{address['_BackendId']}:{item['_Port'].id}")}
