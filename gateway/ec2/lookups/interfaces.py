"""Network interfaces (the cloud's ports in a VPC's subnets) by EC2 id or by server, and the address and
group rules for making one (AWS's reserved addresses: gateway/ec2/addressing.py)."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from backends.network import NoFreeAddress, Port, PortSpec

from ...context import RequestContext
from ...protocol import errors
from ..addressing import reserved
from ..error_map import backend_errors, not_found
from ..model import Address, GroupRef, Interface, InterfaceAttachment, PublicAssociation, SubnetView
from ..records import NS_ENI, NS_NAT
from ..records import get as get_record
from ..records import put as put_record
from ..records import scan as scan_records
from ..services import account, compute, network, tags_of
from ..tags import as_list
from . import groups as vpc_groups
from .addresses import all_addresses
from .ids import backend_id, check_id, ec2_id, resolve
from .tags import tag_map
from .vpcs import free_addresses, load_subnets

BINDING = 300.0  # how long a port a server was booted on may stay unbound (the server still building)


async def _context(ctx: RequestContext, enis: list[str] | None = None) -> dict[str, Any]:
    """What interfaces need besides the ports: group names, addresses, gateway records (those of `enis`
    only, read one by one, or the account's, scanned)."""
    c = await compute(ctx)
    with backend_errors("security-group"):
        groups = await vpc_groups.annotate(ctx, await c.list_security_groups())
    addresses: dict[str, list[Address]] = {}
    for a in await all_addresses(ctx, with_tags=False):
        if a.port_id:
            addresses.setdefault(a.port_id, []).append(a)
    nat_ports = {r.get("port") for r in (await scan_records(ctx, NS_NAT)).values()}
    if enis is None:
        records, tags = await scan_records(ctx, NS_ENI), await tag_map(ctx)
    else:
        records = {e: r for e in enis if (r := await get_record(ctx, NS_ENI, e))}
        tags = {e: as_list(t) for e in enis if (t := await tags_of(ctx).get(e))}
    return {"groups": {g.id: g for g in groups}, "addresses": addresses, "records": records, "tags": tags,
            "nat_ports": nat_ports}


async def interface_of(ctx: RequestContext, port: Port, subnet: SubnetView, look: dict[str, Any]) -> Interface:
    eni = await ec2_id(ctx, "network-interface", port.id)
    assert eni is not None
    rec = look["records"].get(eni, {})
    ips = list(port.ips)
    if rec.get("primary") in ips:
        ips.remove(rec["primary"])
        ips.insert(0, rec["primary"])
    groups = []
    for gid in port.security_groups:
        g = look["groups"].get(gid)
        groups.append(GroupRef(id=await ec2_id(ctx, "security-group", gid) or "", name=g.name if g else None))
    associations = {}
    for a in look["addresses"].get(port.id, ()):
        fixed = a.private_ip or (ips[0] if ips else None)
        vpc = a.domain == "vpc"
        associations[fixed or ""] = PublicAssociation(public_ip=a.public_ip,
                                                      allocation_id=a.allocation_id if vpc else None,
                                                      association_id=a.association_id if vpc else None)
    attachment = None
    server = port.device_id if port.owner_kind == "compute" else None
    if not server and not port.device_id and rec.get("server") and time.time() - rec.get("launched", 0) < BINDING:
        server = rec["server"]  # booted on it a moment ago: the cloud binds it while the server builds
    if server:
        attachment = InterfaceAttachment(
            id=await ec2_id(ctx, "attachment", f"{port.id}:{server}") or "",
            instance_id=await ec2_id(ctx, "instance", server), device_index=rec.get("device_index", 0),
            attach_time=rec.get("attach_time"), delete_on_termination=bool(rec.get("delete_on_termination")))
    return Interface(id=eni, port=port, subnet=subnet, owner=account(ctx), ips=ips, groups=groups,
                     associations=associations, server_id=server, attachment=attachment,
                     requester_managed=port.id in look["nat_ports"], tags=look["tags"].get(eni))


async def interfaces(ctx: RequestContext, *, server_ids: list[str] | None = None,
                     subnets: dict[str, SubnetView] | None = None) -> list[Interface]:
    """Every network interface of the caller (or those of some servers)."""
    subnets = subnets if subnets is not None else await load_subnets(ctx)
    if not subnets:
        return []
    by_network = {s.subnet.network_id: s for s in subnets.values()}
    by_id = {s.subnet.id: s for s in subnets.values()}
    net = await network(ctx)
    with backend_errors("network-interface"):
        ports = await net.list_ports(network_ids=None if server_ids else list(by_network), server_ids=server_ids)
        bound = {p.device_id for p in ports}
        if server_ids and not set(server_ids) <= bound:  # ports a server was just booted on, not bound yet
            pending = [await backend_id(ctx, "network-interface", eni)
                       for eni, rec in (await scan_records(ctx, NS_ENI)).items() if rec.get("server") in server_ids]
            known = {p.id for p in ports}
            ports += await net.list_ports([b for b in pending if b and b not in known]) if pending else []
    ports = [p for p in ports if p.owner_kind in ("", "compute") and p.network_id in by_network]
    if not ports:
        return []
    # some servers' interfaces: their records and tags only (the cost of one instance's lookup stays flat)
    enis = [await ec2_id(ctx, "network-interface", p.id) or "" for p in ports] if server_ids else None
    look = await _context(ctx, enis)
    return [await interface_of(ctx, p, by_id.get(p.subnet_id or "") or by_network[p.network_id], look)
            for p in ports]


async def find_interface(ctx: RequestContext, eni: str | None) -> Interface:
    if not eni:
        raise errors.MissingParameter("The request must contain the parameter networkInterfaceId")
    check_id("network-interface", eni)
    bid = await backend_id(ctx, "network-interface", eni)
    if bid is None:
        raise not_found("network-interface", eni)
    match = [i for i in await interfaces(ctx) if i.id == eni]
    if not match:
        raise not_found("network-interface", eni)
    return match[0]


# ---- addresses and groups ---------------------------------------------------------------------------------------
def check_ips(subnet: SubnetView, ips: list[str]) -> None:
    block = ipaddress.ip_network(subnet.subnet.cidr)
    for ip in ips:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            raise errors.InvalidParameterValue(f"Value ({ip}) for parameter privateIpAddress is invalid. "
                                               "It is not a valid IPv4 address.") from None
        if addr not in block or str(addr) in reserved(str(block)):
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


