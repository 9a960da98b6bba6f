"""Neutron objects <-> neutral network models (backends/openstack/vpc_mapping.py), and the fault mapping of
port calls: pure functions, no cloud."""

from __future__ import annotations

from types import SimpleNamespace

from backends import base
from backends.network import NoFreeAddress
from backends.openstack import vpc_mapping as vm
from backends.openstack.http import Fault
from backends.openstack.network import OpenStackNetwork, _port_fault
from gateway.ec2 import addressing


def test_subnets_leave_out_awss_five_addresses() -> None:
    assert addressing.allocation_pool("10.7.0.0/28") == ("10.7.0.4", "10.7.0.14")
    assert addressing.allocation_pool("10.20.0.0/16") == ("10.20.0.4", "10.20.255.254")
    assert addressing.reserved("10.7.0.0/28") == {"10.7.0.0", "10.7.0.1", "10.7.0.2", "10.7.0.3", "10.7.0.15"}
    assert len(addressing.reserved("10.20.0.0/16")) == addressing.AWS_RESERVED
    assert vm.router_address("10.7.0.0/28") == "10.7.0.1"


class _RecordingNeutron:
    """What OpenStackNetwork.create_subnet sends, without a cloud."""

    def __init__(self) -> None:
        self.subnets: list[dict] = []

    async def routers(self, **query: object) -> list[dict]:
        return [{"id": "r1", "tags": vm.vpc_tags("10.7.0.0/16", False)}]

    async def create_network(self, body: dict) -> dict:
        return {"id": "n1", **body}

    async def set_tags(self, *args: object) -> None:
        return None

    async def create_subnet(self, body: dict) -> dict:
        self.subnets.append(body)
        return {"id": "s1", **body}

    async def add_router_interface(self, *args: object) -> None:
        return None


async def test_the_allocation_pool_reaches_neutron_as_the_caller_gives_it() -> None:
    neutron = _RecordingNeutron()
    net = OpenStackNetwork(SimpleNamespace(project_id="p", neutron=neutron))  # type: ignore[arg-type]
    await net.create_subnet("r1", "10.7.0.0/28", allocation_pool=("10.7.0.6", "10.7.0.9"))
    await net.create_subnet("r1", "10.7.1.0/28")
    assert neutron.subnets[0]["allocation_pools"] == [{"start": "10.7.0.6", "end": "10.7.0.9"}]
    assert "allocation_pools" not in neutron.subnets[1]  # none given: Neutron's default range
    assert neutron.subnets[1]["gateway_ip"] == "10.7.1.1"


def test_vpc_and_subnet_are_read_from_tags() -> None:
    router = {"id": "r1", "tags": vm.vpc_tags("10.1.0.0/16", True), "external_gateway_info": {"network_id": "p"},
              "routes": [{"destination": "10.9.0.0/16", "nexthop": "10.1.0.5"}]}
    vpc = vm.vpc_from(router)
    assert (vpc.id, vpc.cidr, vpc.is_default, vpc.external_gateway) == ("r1", "10.1.0.0/16", True, True)
    assert [(r.destination, r.nexthop) for r in vpc.routes] == [("10.9.0.0/16", "10.1.0.5")]
    network = {"id": "n1", "tags": vm.subnet_tags("r1", "nova")}
    subnet = {"id": "s1", "network_id": "n1", "cidr": "10.1.0.0/28", "gateway_ip": "10.1.0.1",
              "allocation_pools": [{"start": "10.1.0.4", "end": "10.1.0.14"}], "dns_nameservers": ["8.8.8.8"]}
    ports = [{"fixed_ips": [{"subnet_id": "s1", "ip_address": "10.1.0.1"}]},  # the router: outside the pool
             {"fixed_ips": [{"subnet_id": "s1", "ip_address": "10.1.0.4"}, {"subnet_id": "s1", "ip_address": "10.1.0.9"}]},
             {"fixed_ips": [{"subnet_id": "other", "ip_address": "10.1.0.5"}]}]
    s = vm.subnet_from(subnet, network, ports)
    assert (s.vpc_id, s.zone, s.used_ips, s.dns_servers) == ("r1", "nova", 2, ["8.8.8.8"])


def test_ports_owner_and_source_dest_check() -> None:
    port = vm.port_from({"id": "p1", "network_id": "n1", "mac_address": "fa:16:3e:00:00:01",
                         "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.1.0.6"}],
                         "allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}], "device_owner": "compute:nova",
                         "device_id": "srv", "security_groups": ["g1"], "description": "d"})
    assert (port.subnet_id, port.ips, port.source_dest_check, port.owner_kind, port.device_id) == \
        ("s1", ["10.1.0.6"], False, "compute", "srv")
    assert vm.owner_kind("network:router_interface") == "router"
    assert vm.owner_kind("network:dhcp") == "dhcp"
    assert vm.owner_kind("") == ""


def test_port_faults() -> None:
    full = _port_fault(Fault(409, "IpAddressGenerationFailure", "No more IP addresses available"))
    assert isinstance(full, NoFreeAddress) and not full.taken
    taken = _port_fault(Fault(409, "IpAddressAlreadyAllocated", "IP 10.1.0.6 already allocated"))
    assert isinstance(taken, NoFreeAddress) and taken.taken
    assert isinstance(_port_fault(Fault(400, "InvalidIpForSubnet", "bad")), base.InvalidInput)
    assert isinstance(_port_fault(Fault(404, "SubnetNotFound", "Subnet x could not be found")), base.NotFound)
