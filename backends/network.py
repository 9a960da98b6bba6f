"""The neutral network contract: isolated private networks ("VPCs") with an address range, subnets in them,
a routing domain with an optional external (internet) gateway and static routes, and ports (network
interfaces) with private addresses, security groups and an anti-spoofing switch.

No AWS vocabulary beyond what the concepts need; the gateway's EC2 layer maps these to VPCs, subnets, route
tables, internet/NAT gateways and network interfaces, and keeps whatever the cloud cannot hold (route
tables not applied, DHCP option sets, attributes) in its own state store.

OpenStack: a VPC is a Neutron router (tagged, its CIDR in a tag) and a subnet is a Neutron network + subnet
attached to that router (backends/openstack/network.py). CloudStack: a VPC and its tier networks.

Ids are the backend's own. Errors are the neutral ones of `backends.base`; NotFound kinds: "vpc", "subnet",
"port", "server", "address". Conflict when a resource still has dependents; `NoFreeAddress` when a subnet
has no address left to give.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from .base import BackendError


class NoFreeAddress(BackendError):
    """The subnet has no free address (or the one asked for is taken)."""

    def __init__(self, message: str = "", taken: bool = False) -> None:
        super().__init__(message or "no free address in the subnet")
        self.taken = taken  # a specific address was asked for and is in use


@dataclass
class Route:
    destination: str  # CIDR
    nexthop: str      # an address inside one of the VPC's subnets


@dataclass
class Vpc:
    id: str
    cidr: str
    is_default: bool = False
    external_gateway: bool = False  # connected to the cloud's public network (internet access, SNAT)
    routes: list[Route] = field(default_factory=list)  # static routes the cloud applies


@dataclass
class Subnet:
    id: str
    vpc_id: str
    cidr: str
    network_id: str        # what servers attach to (a Neutron network, a CloudStack tier)
    zone: str | None = None
    gateway_ip: str | None = None
    dns_servers: list[str] = field(default_factory=list)
    used_ips: int = 0      # addresses taken inside the allocatable range (ports, secondary addresses)


@dataclass
class Port:
    id: str
    network_id: str
    subnet_id: str | None
    mac: str | None
    ips: list[str] = field(default_factory=list)  # private addresses, the primary first
    security_groups: list[str] = field(default_factory=list)
    source_dest_check: bool = True
    description: str = ""
    device_id: str | None = None  # the server it is attached to
    owner_kind: str = ""          # "" (free/attachable), "compute", "router", "dhcp", "other"


@dataclass
class PortSpec:
    subnet_id: str
    ips: list[str] = field(default_factory=list)  # wanted private addresses (primary first); none = any
    secondary_count: int = 0                      # extra addresses to pick
    security_groups: list[str] = field(default_factory=list)
    description: str = ""


class Network(abc.ABC):
    """VPC networking as one caller (project/account) sees it."""

    # Whether a port can exist before (and without) a server. Clouds whose interfaces live only on their VMs
    # (CloudStack NICs) say False: a launch into a subnet then lets the cloud make the interface.
    ports_made_ahead: bool = True

    # -- VPCs ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_vpcs(self, ids: list[str] | None = None) -> list[Vpc]: ...

    @abc.abstractmethod
    async def create_vpc(self, cidr: str, *, default: bool = False) -> Vpc: ...

    @abc.abstractmethod
    async def delete_vpc(self, vpc_id: str) -> None:
        """Conflict while subnets remain (the gateway checks first; this is the cloud's own guard)."""

    @abc.abstractmethod
    async def set_external_gateway(self, vpc_id: str, enabled: bool) -> None: ...

    @abc.abstractmethod
    async def set_routes(self, vpc_id: str, routes: list[Route]) -> None:
        """Replace the VPC's static routes (the ones the cloud can apply)."""

    # -- subnets ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_subnets(self, ids: list[str] | None = None, *, vpc_id: str | None = None) -> list[Subnet]: ...

    @abc.abstractmethod
    async def create_subnet(self, vpc_id: str, cidr: str, *, zone: str | None = None,
                            dns_servers: list[str] | None = None,
                            allocation_pool: tuple[str, str] | None = None) -> Subnet:
        """`allocation_pool`: (first, last) address the cloud may give ports, as the caller decides (it
        keeps its reserved addresses out); None = the cloud's own default range. A cloud that cannot
        restrict a subnet's range says so in its module."""

    @abc.abstractmethod
    async def delete_subnet(self, subnet_id: str) -> None:
        """Conflict while ports remain in it."""

    @abc.abstractmethod
    async def set_dns_servers(self, subnet_id: str, servers: list[str]) -> None: ...

    # -- ports ---------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_ports(self, ids: list[str] | None = None, *, network_ids: list[str] | None = None,
                         server_ids: list[str] | None = None) -> list[Port]: ...

    @abc.abstractmethod
    async def create_port(self, spec: PortSpec) -> Port:
        """NoFreeAddress when the subnet is full (or a wanted address is taken)."""

    @abc.abstractmethod
    async def update_port(self, port_id: str, *, ips: list[str] | None = None,
                          add_count: int = 0, security_groups: list[str] | None = None,
                          source_dest_check: bool | None = None, description: str | None = None) -> Port:
        """`ips` replaces the private addresses (primary first); `add_count` picks that many more."""

    @abc.abstractmethod
    async def delete_port(self, port_id: str) -> None: ...

    @abc.abstractmethod
    async def attach_port(self, port_id: str, server_id: str) -> None: ...

    @abc.abstractmethod
    async def detach_port(self, port_id: str, server_id: str) -> None: ...

    # -- floating addresses on ports ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def associate_address(self, address_id: str, port_id: str, fixed_ip: str | None = None) -> None:
        """Point a floating address (Compute.allocate_address) at a port (and one of its addresses)."""

    async def close(self) -> None:
        return
