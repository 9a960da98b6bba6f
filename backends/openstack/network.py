"""`OpenStackNetwork`: the neutral Network contract (backends/network.py) on Neutron (and Nova for
attaching ports), as one caller. The mapping is written down in docs/vpc-on-neutron.md:

  VPC      = a router tagged `cloudgate-vpc` (CIDR in a tag); external gateway = internet gateway/SNAT
  subnet   = a network tagged with its VPC's router + one subnet on it, plugged into the router
  routes   = the router's static routes (extraroute)
  port     = a Neutron port; SourceDestCheck=false = allowed address pair 0.0.0.0/0

Neutron 28 rejects clearing a subnet's gateway_ip while a router port uses it (ec2-api's VPC code failed
on this): the subnet is created with its gateway at the router address (.1) and the allocation pool the
caller gives (the gateway's: AWS's reserved addresses left out), so nothing is ever changed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from backends import base
from backends.network import Network, NoFreeAddress, Port, PortSpec, Route, Subnet, Vpc

from . import vpc_mapping as vm
from .http import Fault
from .session import Caller

if TYPE_CHECKING:
    from .neutron import Neutron

_NO_ADDRESS = ("IpAddressGenerationFailure", "IpAddressAlreadyAllocated", "IpAddressInUse")


def _port_fault(fault: Fault) -> base.BackendError:
    """Neutron's answers to a port create/update: a full subnet or a taken address is NoFreeAddress."""
    if fault.type in _NO_ADDRESS:
        return NoFreeAddress(fault.message, taken=fault.type != "IpAddressGenerationFailure")
    if fault.status == 404:
        return base.NotFound(fault.message, kind="subnet" if "subnet" in fault.message.lower() else "port")
    if fault.status == 409:
        return base.Conflict(fault.message)
    if fault.type in ("OverQuota",):
        return base.QuotaExceeded(fault.message)
    return base.InvalidInput(fault.message)


_PORT_ERRORS = {400: _port_fault, 404: _port_fault, 409: _port_fault}


class OpenStackNetwork(Network):
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.project_id = caller.project_id

    @property
    def neutron(self) -> Neutron:
        return self.caller.neutron

    # -- VPCs -------------------------------------------------------------------------------------------------
    async def list_vpcs(self, ids: list[str] | None = None) -> list[Vpc]:
        if ids is not None and not ids:
            return []
        routers = await self.neutron.routers(tags=vm.VPC_TAG, id=list(ids) if ids else None)
        return [vm.vpc_from(r) for r in routers]

    async def create_vpc(self, cidr: str, *, default: bool = False) -> Vpc:
        router = await self.neutron.create_router({"name": "cloudgate-default-vpc" if default else "cloudgate-vpc",
                                                   "description": f"EC2 VPC {cidr}"})
        tags = vm.vpc_tags(cidr, default)
        try:
            await self.neutron.set_tags("routers", router["id"], tags)
        except base.BackendError:
            with contextlib.suppress(base.BackendError):
                await self.neutron.delete_router(router["id"])
            raise
        return vm.vpc_from({**router, "tags": tags})

    async def _router_interfaces(self, router_id: str) -> list[dict]:
        return [p for p in await self.neutron.full_ports(device_id=router_id)
                if p.get("device_owner") in ("network:router_interface", "network:router_interface_distributed")]

    async def delete_vpc(self, vpc_id: str) -> None:
        (await self._vpc(vpc_id))  # NotFound(kind="vpc") when it is not one of ours
        if await self._router_interfaces(vpc_id):
            raise base.Conflict(f"VPC {vpc_id} still has subnets")
        await self.neutron.delete_router(vpc_id)

    async def _vpc(self, vpc_id: str) -> Vpc:
        found = await self.list_vpcs([vpc_id])
        if not found:
            raise base.NotFound(f"VPC {vpc_id} not found", kind="vpc")
        return found[0]

    async def _public_network(self) -> str:
        return await self.caller.shared.public_network_id(self.neutron)

    async def set_external_gateway(self, vpc_id: str, enabled: bool) -> None:
        vpc = await self._vpc(vpc_id)
        if vpc.external_gateway == enabled:
            return
        info = {"network_id": await self._public_network()} if enabled else {}
        await self.neutron.update_router(vpc_id, {"external_gateway_info": info})

    async def set_routes(self, vpc_id: str, routes: list[Route]) -> None:
        await self.neutron.update_router(vpc_id, {"routes": [{"destination": r.destination, "nexthop": r.nexthop}
                                                             for r in routes]})

    # -- subnets -------------------------------------------------------------------------------------------------
    async def list_subnets(self, ids: list[str] | None = None, *, vpc_id: str | None = None) -> list[Subnet]:
        if ids is not None and not ids:
            return []
        tags = f"{vm.SUBNET_TAG},{vm.VPC_OF_TAG}{vpc_id}" if vpc_id else vm.SUBNET_TAG  # all of them
        networks = await self.neutron.all_networks(tags=tags, fields=["id", "tags"])
        if not networks:
            return []
        by_id = {n["id"]: n for n in networks}
        subnets, ports = await asyncio.gather(
            self.neutron.subnets(network_id=list(by_id), id=list(ids) if ids else None),
            self.neutron.full_ports(network_id=list(by_id), fields=["fixed_ips"]))
        return [vm.subnet_from(s, by_id[s["network_id"]], ports) for s in subnets if s.get("network_id") in by_id]

    async def create_subnet(self, vpc_id: str, cidr: str, *, zone: str | None = None,
                            dns_servers: list[str] | None = None,
                            allocation_pool: tuple[str, str] | None = None) -> Subnet:
        await self._vpc(vpc_id)
        network = await self.neutron.create_network({"name": vm.SUBNET_NAME, "description": f"EC2 subnet {cidr}"})
        try:
            tags = vm.subnet_tags(vpc_id, zone)
            await self.neutron.set_tags("networks", network["id"], tags)
            body: dict[str, Any] = {"network_id": network["id"], "cidr": cidr, "ip_version": 4,
                                    "name": vm.SUBNET_NAME, "gateway_ip": vm.router_address(cidr)}
            if allocation_pool is not None:
                body["allocation_pools"] = [{"start": allocation_pool[0], "end": allocation_pool[1]}]
            if dns_servers:
                body["dns_nameservers"] = list(dns_servers)
            subnet = await self.neutron.create_subnet(body)
            await self.neutron.add_router_interface(vpc_id, subnet["id"])
        except base.BackendError:
            with contextlib.suppress(base.BackendError):
                await self.neutron.delete_network(network["id"])
            raise
        return vm.subnet_from(subnet, {**network, "tags": tags}, ())

    async def delete_subnet(self, subnet_id: str) -> None:
        found = await self.list_subnets([subnet_id])
        if not found:
            raise base.NotFound(f"subnet {subnet_id} not found", kind="subnet")
        subnet = found[0]
        ports = await self.neutron.full_ports(network_id=subnet.network_id, fields=["id", "device_owner"])
        if any(vm.owner_kind(p.get("device_owner")) not in ("router", "dhcp") for p in ports):
            raise base.Conflict(f"subnet {subnet_id} still has network interfaces")
        with contextlib.suppress(base.NotFound):
            await self.neutron.remove_router_interface(subnet.vpc_id, subnet_id)
        await self.neutron.delete_network(subnet.network_id)

    async def set_dns_servers(self, subnet_id: str, servers: list[str]) -> None:
        await self.neutron.update_subnet(subnet_id, {"dns_nameservers": list(servers)})

    # -- ports -------------------------------------------------------------------------------------------------------
    async def list_ports(self, ids: list[str] | None = None, *, network_ids: list[str] | None = None,
                         server_ids: list[str] | None = None) -> list[Port]:
        if any(f is not None and not f for f in (ids, network_ids, server_ids)):
            return []
        ports = await self.neutron.full_ports(id=ids, network_id=network_ids, device_id=server_ids)
        return [vm.port_from(p) for p in ports]

    async def _network_of(self, subnet_id: str) -> str:
        found = await self.neutron.subnets(id=subnet_id, fields=["network_id"])
        if not found:
            raise base.NotFound(f"subnet {subnet_id} not found", kind="subnet")
        return found[0]["network_id"]

    async def create_port(self, spec: PortSpec) -> Port:
        fixed = [{"subnet_id": spec.subnet_id, "ip_address": ip} for ip in spec.ips]
        if not fixed:
            fixed.append({"subnet_id": spec.subnet_id})
        fixed += [{"subnet_id": spec.subnet_id}] * spec.secondary_count
        body: dict[str, Any] = {"network_id": await self._network_of(spec.subnet_id), "fixed_ips": fixed,
                                "name": "cloudgate-eni", "description": spec.description}
        if spec.security_groups:
            body["security_groups"] = list(spec.security_groups)
        data = (await self.neutron.call("POST", "/ports", json_body={"port": body}, errors=_PORT_ERRORS)).data
        return vm.port_from((data or {})["port"])

    async def update_port(self, port_id: str, *, ips: list[str] | None = None, add_count: int = 0,
                          security_groups: list[str] | None = None, source_dest_check: bool | None = None,
                          description: str | None = None) -> Port:
        current = await self.neutron.port(port_id)
        body: dict[str, Any] = {}
        if ips is not None or add_count:
            subnet = next((f["subnet_id"] for f in current.get("fixed_ips") or ()), None)
            keep = ips if ips is not None else [f["ip_address"] for f in current.get("fixed_ips") or ()]
            body["fixed_ips"] = [{"subnet_id": subnet, "ip_address": ip} for ip in keep] + \
                [{"subnet_id": subnet}] * add_count
        if security_groups is not None:
            body["security_groups"] = list(security_groups)
        if source_dest_check is not None:
            pairs = [p for p in current.get("allowed_address_pairs") or () if p.get("ip_address") != vm.ANYWHERE]
            if not source_dest_check:
                pairs.append({"ip_address": vm.ANYWHERE})
            body["allowed_address_pairs"] = pairs
        if description is not None:
            body["description"] = description
        if not body:
            return vm.port_from(current)
        data = (await self.neutron.call("PUT", f"/ports/{port_id}", json_body={"port": body},
                                        errors=_PORT_ERRORS)).data
        return vm.port_from((data or {}).get("port") or current)

    async def delete_port(self, port_id: str) -> None:
        await self.neutron.delete_port(port_id)

    async def attach_port(self, port_id: str, server_id: str) -> None:
        await self.caller.nova.call("POST", f"/servers/{server_id}/os-interface",
                                     json_body={"interfaceAttachment": {"port_id": port_id}}, kind="server")

    async def detach_port(self, port_id: str, server_id: str) -> None:
        await self.caller.nova.call("DELETE", f"/servers/{server_id}/os-interface/{port_id}", kind="port")

    async def associate_address(self, address_id: str, port_id: str, fixed_ip: str | None = None) -> None:
        await self.neutron.update_floating_ip(address_id, port_id, fixed_ip)
