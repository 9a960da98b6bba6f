"""An in-memory cloud with VPC networking, for the backend-neutral VPC tests (tests/test_ec2_vpc_*.py).

It extends the in-memory compute cloud of tests/ec2_fake_cloud.py with the neutral Network contract
(backends/network.py) the way a real cloud behaves: per-project visibility, addresses allocated from the
subnet's range (AWS's five reserved addresses excluded), NoFreeAddress when the range is exhausted, a
Conflict for a VPC with subnets or a subnet with ports, ports bound to servers booted on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import botocore.config

from backends import base
from backends.compute import ServerAddress, ServerSpec
from backends.network import Network, NoFreeAddress, Port, PortSpec, Route, Subnet, Vpc
from gateway.app import create_app
from gateway.config import parse_config
from tests.ec2_fake_cloud import A, B, FakeCompute, World
from tests.server import serve_app


@dataclass
class NetWorld(World):
    vpcs: dict[str, tuple[str, Vpc]] = field(default_factory=dict)
    subnets: dict[str, tuple[str, Subnet]] = field(default_factory=dict)
    pools: dict[str, tuple[str, str]] = field(default_factory=dict)  # subnet id -> its allocation pool
    ports: dict[str, tuple[str, Port]] = field(default_factory=dict)
    create_vpc_delay: float = 0.0  # widens the window of a concurrent default-VPC race


class VpcFakeCompute(FakeCompute):
    """Servers booted on ports (spec.ports) or on a subnet's network get those ports bound to them."""

    w: NetWorld

    async def create_servers(self, spec: ServerSpec):
        servers = await super().create_servers(spec)
        net = FakeNetwork(self.w, self.p)
        for server in servers:
            ports = list(spec.ports)
            if not ports and spec.network_id:
                subnet = next(s for p, s in self.w.subnets.values() if s.network_id == spec.network_id)
                ports = [(await net.create_port(PortSpec(subnet.id, security_groups=spec.security_groups))).id]
            if ports:
                for pid in ports:
                    port = self.w.ports[pid][1]
                    port.device_id, port.owner_kind = server.id, "compute"
                addresses = [ServerAddress(ip, port_id=pid, network_id=self.w.ports[pid][1].network_id)
                             for pid in ports for ip in self.w.ports[pid][1].ips]
                stored = self.w.servers[server.id][1]
                stored.addresses = addresses
                stored.security_groups = list(self.w.ports[ports[0]][1].security_groups)
                server.addresses, server.security_groups = list(addresses), list(stored.security_groups)
        return servers

    async def delete_server(self, server_id):
        await super().delete_server(server_id)
        for _, port in self.w.ports.values():  # the cloud keeps ports it did not make: unbound
            if port.device_id == server_id:
                port.device_id, port.owner_kind = None, ""


class FakeNetwork(Network):
    def __init__(self, world: NetWorld, project: str) -> None:
        self.w, self.p = world, project

    def _mine(self, table: dict[str, tuple[str, Any]], ident: str, kind: str) -> Any:
        proj, obj = table.get(ident, (None, None))
        if proj != self.p:
            raise base.NotFound(kind=kind)
        return obj

    async def list_vpcs(self, ids=None):
        return [replace(v, routes=list(v.routes)) for p, v in self.w.vpcs.values()
                if p == self.p and (ids is None or v.id in ids)]

    async def create_vpc(self, cidr, *, default=False):
        if self.w.create_vpc_delay:
            await asyncio.sleep(self.w.create_vpc_delay)
        vid = str(uuid.uuid4())
        self.w.vpcs[vid] = (self.p, Vpc(vid, cidr, is_default=default))
        return replace(self.w.vpcs[vid][1])

    async def delete_vpc(self, vpc_id):
        self._mine(self.w.vpcs, vpc_id, "vpc")
        if any(s.vpc_id == vpc_id for _, s in self.w.subnets.values()):
            raise base.Conflict("router in use")
        del self.w.vpcs[vpc_id]

    async def set_external_gateway(self, vpc_id, enabled):
        self._mine(self.w.vpcs, vpc_id, "vpc").external_gateway = enabled

    async def set_routes(self, vpc_id, routes: list[Route]):
        self._mine(self.w.vpcs, vpc_id, "vpc").routes = list(routes)

    def _used(self, subnet: Subnet) -> int:
        start, end = self._pool(subnet)
        return sum(1 for _, port in self.w.ports.values() for ip in port.ips
                   if port.subnet_id == subnet.id and start <= ipaddress.ip_address(ip) <= end)

    def _pool(self, subnet: Subnet) -> tuple[Any, Any]:
        """The pool the subnet was made with, else every host after the gateway (a cloud's default)."""
        if subnet.id in self.w.pools:
            return tuple(ipaddress.ip_address(a) for a in self.w.pools[subnet.id])
        net = ipaddress.ip_network(subnet.cidr)
        return net[2], net[-2]

    async def list_subnets(self, ids=None, *, vpc_id=None):
        return [replace(s, used_ips=self._used(s)) for p, s in self.w.subnets.values()
                if p == self.p and (ids is None or s.id in ids) and (vpc_id is None or s.vpc_id == vpc_id)]

    async def create_subnet(self, vpc_id, cidr, *, zone=None, dns_servers=None, allocation_pool=None):
        self._mine(self.w.vpcs, vpc_id, "vpc")
        sid = str(uuid.uuid4())
        if allocation_pool is not None:  # the caller's rule, as a cloud takes it
            self.w.pools[sid] = allocation_pool
        self.w.subnets[sid] = (self.p, Subnet(sid, vpc_id, cidr, network_id=f"net-{sid}", zone=zone,
                                              gateway_ip=str(ipaddress.ip_network(cidr)[1]),
                                              dns_servers=list(dns_servers or [])))
        return replace(self.w.subnets[sid][1])

    async def delete_subnet(self, subnet_id):
        self._mine(self.w.subnets, subnet_id, "subnet")
        if any(port.subnet_id == subnet_id for _, port in self.w.ports.values()):
            raise base.Conflict("ports remain")
        del self.w.subnets[subnet_id]

    async def set_dns_servers(self, subnet_id, servers):
        self._mine(self.w.subnets, subnet_id, "subnet").dns_servers = list(servers)

    async def list_ports(self, ids=None, *, network_ids=None, server_ids=None):
        return [replace(port, ips=list(port.ips), security_groups=list(port.security_groups))
                for p, port in self.w.ports.values()
                if p == self.p and (ids is None or port.id in ids)
                and (network_ids is None or port.network_id in network_ids)
                and (server_ids is None or port.device_id in server_ids)]

    def _allocate(self, subnet: Subnet, wanted: list[str], count: int) -> list[str]:
        start, end = self._pool(subnet)
        taken = {ip for _, port in self.w.ports.values() if port.subnet_id == subnet.id for ip in port.ips}
        for ip in wanted:
            if ip in taken:
                raise NoFreeAddress(f"{ip} in use", taken=True)
        free = [str(a) for a in ipaddress.ip_network(subnet.cidr).hosts()
                if start <= a <= end and str(a) not in taken and str(a) not in wanted]
        if len(free) < count:
            raise NoFreeAddress()
        return [*wanted, *free[:count]]

    async def create_port(self, spec: PortSpec):
        subnet = self._mine(self.w.subnets, spec.subnet_id, "subnet")
        ips = self._allocate(subnet, list(spec.ips), (0 if spec.ips else 1) + spec.secondary_count)
        pid = str(uuid.uuid4())
        self.w.ports[pid] = (self.p, Port(pid, subnet.network_id, subnet.id, f"fa:16:3e:00:00:{len(self.w.ports):02x}",
                                          ips=ips, security_groups=list(spec.security_groups),
                                          description=spec.description))
        return replace(self.w.ports[pid][1])

    async def update_port(self, port_id, *, ips=None, add_count=0, security_groups=None, source_dest_check=None,
                          description=None):
        port = self._mine(self.w.ports, port_id, "port")
        if ips is not None or add_count:
            subnet = self.w.subnets[port.subnet_id][1]
            keep = list(ips if ips is not None else port.ips)
            others = [ip for ip in keep if ip not in port.ips]
            port.ips = [ip for ip in keep if ip in port.ips]
            port.ips += self._allocate(subnet, others, add_count)
        if security_groups is not None:
            port.security_groups = list(security_groups)
        if source_dest_check is not None:
            port.source_dest_check = source_dest_check
        if description is not None:
            port.description = description
        return replace(port)

    async def delete_port(self, port_id):
        self._mine(self.w.ports, port_id, "port")
        del self.w.ports[port_id]
        for _, addr in self.w.addresses.values():
            if addr.port_id == port_id:
                addr.port_id = addr.server_id = addr.fixed_ip = None

    async def attach_port(self, port_id, server_id):
        port = self._mine(self.w.ports, port_id, "port")
        self._mine(self.w.servers, server_id, "server")
        port.device_id, port.owner_kind = server_id, "compute"

    async def detach_port(self, port_id, server_id):
        port = self._mine(self.w.ports, port_id, "port")
        port.device_id, port.owner_kind = None, ""

    async def associate_address(self, address_id, port_id, fixed_ip=None):
        addr = self._mine(self.w.addresses, address_id, "address")
        port = self._mine(self.w.ports, port_id, "port")
        vpc = self.w.vpcs[self.w.subnets[port.subnet_id][1].vpc_id][1]
        if not vpc.external_gateway:
            raise base.Conflict("no external gateway for the port's network")
        addr.port_id, addr.fixed_ip, addr.server_id = port_id, fixed_ip or port.ips[0], port.device_id


class VpcFakeBackend(base.Backend):
    name = "fake-vpc"

    def __init__(self) -> None:
        self.world = NetWorld()

    async def compute(self, principal):
        return VpcFakeCompute(self.world, principal.account_id)

    async def network(self, principal):
        return FakeNetwork(self.world, principal.account_id)


@contextlib.contextmanager
def fake_gateway(*, default_vpc: bool = False) -> Iterator[tuple[str, VpcFakeBackend]]:
    backend = VpcFakeBackend()
    config = parse_config({
        "region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
        "ec2": {"terminated_retention_seconds": 3600, "default_vpc": default_vpc},
        "auth": {"static": [{"access_key": ak, "secret_key": sk, "account_id": acct, "display_name": ak}
                            for ak, sk, acct in (A, B)]}}, "vpc-tests")
    with serve_app(create_app(config, backend=backend)) as (endpoint, loop):
        yield endpoint, backend


def client(endpoint: str, creds: tuple[str, str, str] = A) -> Any:
    return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=creds[0],
                        aws_secret_access_key=creds[1],
                        config=botocore.config.Config(retries={"max_attempts": 1}))


__all__ = ["A", "B", "client", "fake_gateway", "NetWorld", "VpcFakeBackend"]
