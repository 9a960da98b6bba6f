"""Neutron objects <-> neutral network models (backends/openstack/vpc_mapping.py), and the fault mapping of
port calls: pure functions, no cloud."""

from __future__ import annotations

from backends import base
from backends.network import NoFreeAddress
from backends.openstack import vpc_mapping as vm
from backends.openstack.http import Fault
from backends.openstack.network import _port_fault


def test_subnets_leave_out_awss_five_addresses() -> None:
    assert vm.allocation_pool("10.7.0.0/28") == ("10.7.0.4", "10.7.0.14")
    assert vm.allocation_pool("10.20.0.0/16") == ("10.20.0.4", "10.20.255.254")
    assert vm.router_address("10.7.0.0/28") == "10.7.0.1"


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
