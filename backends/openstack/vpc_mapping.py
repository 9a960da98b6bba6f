"""Neutron objects <-> the neutral network models (backends/network.py): how a VPC, a subnet and a network
interface are recognised and read back. See docs/vpc-on-neutron.md for the whole mapping.

Neutron takes no `tags` on POST for routers and networks, so they are set right after creation; a router
or network without our tags is not ours (the devcloud's own router, a user's network) and is never shown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from backends.network import Port, Route, Subnet, Vpc

VPC_TAG = "cloudgate-vpc"
DEFAULT_TAG = "cloudgate-default-vpc"
CIDR_TAG = "cloudgate-cidr="
SUBNET_TAG = "cloudgate-subnet"
SUBNET_NAME = "cloudgate-subnet"  # a subnet's network carries it from its create call, before its tags
VPC_OF_TAG = "cloudgate-vpc="
ZONE_TAG = "cloudgate-az="
ANYWHERE = "0.0.0.0/0"  # an allowed address pair for any source: EC2's SourceDestCheck=false


def tag_value(tags: Iterable[str] | None, prefix: str) -> str | None:
    for tag in tags or ():
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return None


def vpc_tags(cidr: str, default: bool) -> list[str]:
    return [VPC_TAG, CIDR_TAG + cidr, *([DEFAULT_TAG] if default else [])]


def subnet_tags(router_id: str, zone: str | None) -> list[str]:
    return [SUBNET_TAG, VPC_OF_TAG + router_id, *([ZONE_TAG + zone] if zone else [])]


def vpc_from(router: Mapping[str, Any]) -> Vpc:
    tags = router.get("tags") or []
    return Vpc(id=router.get("id", ""), cidr=tag_value(tags, CIDR_TAG) or "", is_default=DEFAULT_TAG in tags,
               external_gateway=bool(router.get("external_gateway_info")),
               routes=[Route(r.get("destination", ""), r.get("nexthop", "")) for r in router.get("routes") or ()])


def router_address(cidr: str) -> str:
    """The VPC router's address in a subnet: the first host, as on AWS."""
    return str(ipaddress.ip_network(cidr)[1])


def in_pools(ip: str, pools: Iterable[Mapping[str, str]]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(ipaddress.ip_address(p["start"]) <= addr <= ipaddress.ip_address(p["end"]) for p in pools)


def subnet_from(subnet: Mapping[str, Any], network: Mapping[str, Any], ports: Iterable[Mapping[str, Any]]) -> Subnet:
    tags = network.get("tags") or []
    pools = subnet.get("allocation_pools") or ()
    sid = subnet.get("id", "")
    used = sum(1 for p in ports for f in p.get("fixed_ips") or ()
               if f.get("subnet_id") == sid and in_pools(f.get("ip_address", ""), pools))
    return Subnet(id=sid, vpc_id=tag_value(tags, VPC_OF_TAG) or "", cidr=subnet.get("cidr", ""),
                  network_id=subnet.get("network_id", ""), zone=tag_value(tags, ZONE_TAG),
                  gateway_ip=subnet.get("gateway_ip"), dns_servers=list(subnet.get("dns_nameservers") or ()),
                  used_ips=used)


def owner_kind(device_owner: str | None) -> str:
    owner = device_owner or ""
    if not owner:
        return ""
    if owner.startswith("compute:"):
        return "compute"
    if owner.startswith("network:router") or owner == "network:ha_router_replicated_interface":
        return "router"
    if owner == "network:dhcp":
        return "dhcp"
    return "other"


def port_from(port: Mapping[str, Any]) -> Port:
    fixed = [f for f in port.get("fixed_ips") or () if f.get("ip_address")]
    pairs = port.get("allowed_address_pairs") or ()
    return Port(id=port.get("id", ""), network_id=port.get("network_id", ""),
                subnet_id=fixed[0].get("subnet_id") if fixed else None, mac=port.get("mac_address"),
                ips=[f["ip_address"] for f in fixed], security_groups=list(port.get("security_groups") or ()),
                source_dest_check=not any(p.get("ip_address") == ANYWHERE for p in pairs),
                description=port.get("description") or "", device_id=port.get("device_id") or None,
                owner_kind=owner_kind(port.get("device_owner")))
