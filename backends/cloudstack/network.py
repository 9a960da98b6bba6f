"""`CloudStackNetwork`: the neutral Network contract (backends/network.py) on CloudStack VPCs, as one caller
(their own keys: CloudStack enforces account isolation).

  VPC       = a CloudStack VPC (createVPC with a VPC offering, in one zone); is_default = named
              `cloudgate-default-vpc`
  subnet    = a VPC tier: a guest network (createNetwork with a VPC-tier offering, `vpcid`, gateway = the
              CIDR's first host, netmask); the tier is also the network VMs attach to
  port      = a NIC of a VM (listVirtualMachines' `nic`, secondary addresses with addIpToNic/removeIpFromNic)

The internet-gateway switch, honestly: a CloudStack VPC always has a virtual router with a source-NAT public
address (acquired with the VPC), so outbound internet access (SNAT) and static NAT of public addresses exist
whether an internet gateway is "attached" or not, and no API disconnects a VPC router from the public
network. `set_external_gateway` therefore records the switch in CloudStack itself (a resource tag on the VPC,
`cloudgate-internet-gateway`, read back by listVPCs: it survives gateway restarts and is shared by every
gateway replica) and `Vpc.external_gateway` reports it; what is real is the VPC's public access, always on.

What CloudStack cannot express raises NotSupported, never silently:
* routes: VPC static routes lead only to a private gateway (createStaticRoute gatewayid=); a route via an
  address inside the VPC (an instance or network interface) has no CloudStack form. Routes of private
  gateways are the operator's: not shown, never touched.
* DNS servers per subnet: a tier's DNS is its VPC router's (the cloud's resolver); none can be set.
* ports apart from a VM: a NIC exists only on its VM (deployVirtualMachine, addNicToVirtualMachine) and goes
  with it: no pre-created or detached interface (create_port, attach_port, detach_port); a NIC's security
  groups are its VM's, there is no source/dest-check switch and no description.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from backends import base
from backends.network import Network, NoFreeAddress, Port, PortSpec, Route, Subnet, Vpc

from . import mapping as m
from .session import Caller

TIER_OFFERING = "DefaultIsolatedNetworkOfferingForVpcNetworks"

# CloudStack reports these only in errortext (InvalidParameterValue 431/4350, CloudRuntime 530/4250); the
# client's table leaves them InvalidInput/Unavailable, the network calls need the precise neutral error.
_REFINE: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"crosses other network cidr|overlap", re.I), base.AlreadyExists),
    (re.compile(r"networks per vpc|vpc\.max\.networks", re.I), base.QuotaExceeded),
    (re.compile(r"as its used by|active nics", re.I), base.Conflict),
    (re.compile(r"requested ip address .* not available|is already (?:in use|allocated)", re.I),
     lambda msg: NoFreeAddress(msg, taken=True)),
    (re.compile(r"insufficient address capacity|no free ip", re.I), NoFreeAddress),
)


@contextlib.contextmanager
def _refined(kind: str = "") -> Iterator[None]:
    """Turn the vague errors of a network command into the neutral error they mean; NotFound gets `kind`."""
    try:
        yield
    except base.NotFound as e:  # CloudStack names VPCs and tiers alike ("network"): the call knows which
        raise base.NotFound(str(e), kind=kind if kind and e.kind in ("", "network") else e.kind) from None
    except (base.InvalidInput, base.Unavailable) as e:
        for pattern, error in _REFINE:
            if pattern.search(str(e)):
                raise error(str(e)) from None
        raise


class CloudStackNetwork(Network):
    ports_made_ahead = False  # a NIC exists only on a VM (addNicToVirtualMachine)

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.shared = caller.shared
        self.settings = caller.shared.settings
        self.cs = caller.cs

    # -- offerings -------------------------------------------------------------------------------------------------
    async def _vpc_offering(self) -> str:
        async def load() -> list[dict]:
            return await self.cs.list("listVPCOfferings", "vpcoffering", {"state": "Enabled"})
        offerings = await self.shared.cached(("vpc-offerings", self.cs.api_key), load)
        return _pick(offerings, self.settings.vpc_offering, lambda o: bool(o.get("isdefault")), "VPC offering")

    async def _tier_offering(self) -> str:
        async def load() -> list[dict]:
            return await self.cs.list("listNetworkOfferings", "networkoffering",
                                      {"forvpc": True, "guestiptype": "Isolated", "state": "Enabled"})
        offerings = await self.shared.cached(("tier-offerings", self.cs.api_key), load)
        return _pick(offerings, self.settings.vpc_network_offering, lambda o: o.get("name") == TIER_OFFERING,
                     "VPC tier network offering")

    # -- raw listings ----------------------------------------------------------------------------------------------
    async def _list(self, command: str, item: str, params: dict[str, Any]) -> list[dict]:
        try:
            return await self.cs.list(command, item, params)
        except (base.NotFound, base.InvalidInput):
            if "id" in params or "vpcid" in params:  # an id CloudStack does not know: simply absent
                return []
            raise

    async def _vpcs(self, vpc_id: str | None = None) -> list[dict]:
        return await self._list("listVPCs", "vpc", {"id": vpc_id} if vpc_id else {})

    async def _vpc(self, vpc_id: str) -> dict:
        found = await self._vpcs(vpc_id)
        if not found:
            raise base.NotFound(f"VPC {vpc_id} not found", kind="vpc")
        return found[0]

    async def _tiers(self, network_id: str | None = None, vpc_id: str | None = None) -> list[dict]:
        params: dict[str, Any] = {"forvpc": True}
        if network_id:
            params["id"] = network_id
        if vpc_id:
            params["vpcid"] = vpc_id
        return [n for n in await self._list("listNetworks", "network", params) if n.get("vpcid")]

    async def _vms(self, vm_id: str | None = None) -> list[dict]:
        vms = await self._list("listVirtualMachines", "virtualmachine", {"id": vm_id} if vm_id else {})
        return [vm for vm in vms if vm.get("state") not in m.GONE]

    async def _nic(self, port_id: str) -> tuple[Port, dict]:
        """A NIC by id (and its VM): NotFound(kind="port") when no live VM of the caller has it."""
        for vm in await self._vms():
            for nic in vm.get("nic") or ():
                if str(nic.get("id")) == port_id:
                    return m.port_from(nic, vm), nic
        raise base.NotFound(f"network interface {port_id} not found", kind="port")

    # -- VPCs --------------------------------------------------------------------------------------------------------
    async def list_vpcs(self, ids: list[str] | None = None) -> list[Vpc]:
        if ids is not None and not ids:
            return []
        vpcs = await self._vpcs(ids[0] if ids and len(ids) == 1 else None)
        return [m.vpc_from(v) for v in vpcs if not ids or str(v.get("id")) in ids]

    async def create_vpc(self, cidr: str, *, default: bool = False) -> Vpc:
        zone, offering = await asyncio.gather(self.caller.zone_id(), self._vpc_offering())
        with _refined("vpc"):
            result = await self.cs.run("createVPC", {
                "name": m.DEFAULT_VPC_NAME if default else m.VPC_NAME, "displaytext": f"EC2 VPC {cidr}",
                "cidr": cidr, "vpcofferingid": offering, "zoneid": zone}, kind="vpc")
        return m.vpc_from(result.get("vpc") or {})

    async def delete_vpc(self, vpc_id: str) -> None:
        await self._vpc(vpc_id)
        if await self._tiers(vpc_id=vpc_id):
            raise base.Conflict(f"VPC {vpc_id} still has subnets")
        with _refined("vpc"):  # CloudStack's own guard ("as its used by N networks") is a Conflict too
            await self.cs.run("deleteVPC", {"id": vpc_id}, kind="vpc")

    async def set_external_gateway(self, vpc_id: str, enabled: bool) -> None:
        """Record the switch (see the module docstring: the VPC's SNAT is on either way)."""
        vpc = await self._vpc(vpc_id)
        if m.has_tag(vpc, m.IGW_TAG) == enabled:
            return
        with _refined("vpc"):
            if enabled:
                await self.cs.run("createTags", {"resourcetype": "Vpc", "resourceids": vpc_id,
                                                 "tags": [{"key": m.IGW_TAG, "value": "attached"}]}, kind="vpc")
            else:
                await self.cs.run("deleteTags", {"resourcetype": "Vpc", "resourceids": vpc_id,
                                                 "tags": [{"key": m.IGW_TAG}]}, kind="vpc")

    async def set_routes(self, vpc_id: str, routes: list[Route]) -> None:
        await self._vpc(vpc_id)
        if routes:
            shown = ", ".join(f"{r.destination} via {r.nexthop}" for r in routes)
            raise base.NotSupported(f"CloudStack VPC static routes lead only to a private gateway; a route via an "
                                    f"address inside the VPC (an instance or network interface) cannot be "
                                    f"applied: {shown}")
        # no routes wanted: the VPC has none of ours (private-gateway routes are the operator's)

    # -- subnets -------------------------------------------------------------------------------------------------------
    async def list_subnets(self, ids: list[str] | None = None, *, vpc_id: str | None = None) -> list[Subnet]:
        if ids is not None and not ids:
            return []
        tiers = [n for n in await self._tiers(ids[0] if ids and len(ids) == 1 else None, vpc_id)
                 if not ids or str(n.get("id")) in ids]
        used = m.used_addresses(await self._vms()) if tiers else {}
        return [m.subnet_from(n, used.get(str(n.get("id")), 0)) for n in tiers]

    async def create_subnet(self, vpc_id: str, cidr: str, *, zone: str | None = None,
                            dns_servers: list[str] | None = None,
                            allocation_pool: tuple[str, str] | None = None) -> Subnet:
        # `allocation_pool` is not applied: createNetwork's startip/endip are for shared networks, a VPC
        # tier's VMs get addresses from CloudStack's own range (after the tier's gateway).
        if dns_servers:
            raise base.NotSupported("a CloudStack VPC tier gets its DNS from the VPC's router; other DNS servers "
                                    f"({', '.join(dns_servers)}) cannot be set")
        vpc = await self._vpc(vpc_id)
        if zone and zone not in (vpc.get("zonename"), str(vpc.get("zoneid"))):
            raise base.NotSupported(f"a CloudStack VPC lives in one zone ({vpc.get('zonename')}): its subnets "
                                    f"cannot be in {zone}")
        block = ipaddress.IPv4Network(cidr)
        params = {"name": m.SUBNET_NAME, "displaytext": f"EC2 subnet {cidr}", "vpcid": vpc_id,
                  "zoneid": vpc.get("zoneid"), "networkofferingid": await self._tier_offering(),
                  "gateway": str(block[1]), "netmask": str(block.netmask)}
        with _refined("vpc"):  # a NotFound here is the VPC (gone meanwhile)
            answer = await self.cs.call("createNetwork", params, kind="vpc")
        return m.subnet_from(answer.get("network") or {})

    async def delete_subnet(self, subnet_id: str) -> None:
        if not await self._tiers(subnet_id):
            raise base.NotFound(f"subnet {subnet_id} not found", kind="subnet")
        if m.used_addresses(await self._vms()).get(subnet_id):
            raise base.Conflict(f"subnet {subnet_id} still has network interfaces")
        with _refined("subnet"):
            await self.cs.run("deleteNetwork", {"id": subnet_id}, kind="subnet")

    async def set_dns_servers(self, subnet_id: str, servers: list[str]) -> None:
        if not await self._tiers(subnet_id):
            raise base.NotFound(f"subnet {subnet_id} not found", kind="subnet")
        if servers:
            raise base.NotSupported("a CloudStack VPC tier gets its DNS from the VPC's router; other DNS servers "
                                    f"({', '.join(servers)}) cannot be set")

    # -- ports ----------------------------------------------------------------------------------------------------------
    async def list_ports(self, ids: list[str] | None = None, *, network_ids: list[str] | None = None,
                         server_ids: list[str] | None = None) -> list[Port]:
        if any(f is not None and not f for f in (ids, network_ids, server_ids)):
            return []
        one = server_ids[0] if server_ids and len(server_ids) == 1 else None
        ports = [m.port_from(nic, vm) for vm in await self._vms(one) for nic in vm.get("nic") or ()]
        return [p for p in ports if (ids is None or p.id in ids)
                and (network_ids is None or p.network_id in network_ids)
                and (server_ids is None or p.device_id in server_ids)]

    async def create_port(self, spec: PortSpec) -> Port:
        raise base.NotSupported("CloudStack has no network interface apart from a VM: a NIC is made on a VM "
                                "(at deploy or with addNicToVirtualMachine) and goes with it")

    async def add_nic(self, server_id: str, subnet_id: str, ip: str | None = None) -> Port:
        """A new NIC on a VM in a tier (addNicToVirtualMachine): CloudStack's create-and-attach, the building
        block a neutral "create a port on a server" would map to (the contract has none yet)."""
        with _refined("subnet"):
            result = await self.cs.run("addNicToVirtualMachine", {"virtualmachineid": server_id, "networkid": subnet_id,
                                                                  "ipaddress": ip}, kind="server")
        vm = result.get("virtualmachine") or {}
        nic = next((n for n in vm.get("nic") or () if str(n.get("networkid")) == subnet_id), None)
        if nic is None:
            raise base.Unavailable("CloudStack did not report the new NIC")
        return m.port_from(nic, vm)

    async def update_port(self, port_id: str, *, ips: list[str] | None = None, add_count: int = 0,
                          security_groups: list[str] | None = None, source_dest_check: bool | None = None,
                          description: str | None = None) -> Port:
        port, nic = await self._nic(port_id)
        if security_groups is not None and sorted(set(security_groups)) != sorted(set(port.security_groups)):
            raise base.NotSupported("CloudStack applies security groups to a whole VM, not to one network interface")
        if source_dest_check is False:
            raise base.NotSupported("CloudStack has no source/destination check switch on a NIC")
        if description:
            raise base.NotSupported("CloudStack NICs carry no description")
        secondary = {s.get("ipaddress"): str(s.get("id")) for s in nic.get("secondaryip") or ()}
        add: list[str | None] = []
        remove: list[str] = []
        if ips is not None:
            if ips[:1] != port.ips[:1]:
                raise base.NotSupported("the primary address of a CloudStack NIC cannot be replaced")
            add = [ip for ip in ips[1:] if ip not in port.ips]
            remove = [sid for ip, sid in secondary.items() if ip not in ips]
        add += [None] * add_count
        with _refined("port"):
            for ip in add:
                await self.cs.run("addIpToNic", {"nicid": port_id, "ipaddress": ip}, kind="port")
            for sid in remove:
                await self.cs.run("removeIpFromNic", {"id": sid}, kind="port")
        return (await self._nic(port_id))[0] if add or remove else port

    async def delete_port(self, port_id: str) -> None:
        port, nic = await self._nic(port_id)
        if nic.get("isdefault"):
            raise base.Conflict(f"network interface {port_id} is its VM's default NIC: it goes with the VM")
        with _refined("port"):
            await self.cs.run("removeNicFromVirtualMachine", {"virtualmachineid": port.device_id, "nicid": port_id},
                              kind="port")

    async def attach_port(self, port_id: str, server_id: str) -> None:
        port, _ = await self._nic(port_id)
        if port.device_id != server_id:
            raise base.NotSupported("a CloudStack NIC belongs to the VM it was made on; it cannot move to another")

    async def detach_port(self, port_id: str, server_id: str) -> None:
        await self._nic(port_id)
        raise base.NotSupported("CloudStack keeps no NIC apart from its VM: removing one deletes it")

    async def associate_address(self, address_id: str, port_id: str, fixed_ip: str | None = None) -> None:
        port, _ = await self._nic(port_id)
        with _refined("address"):
            await self.cs.call("enableStaticNat", {"ipaddressid": address_id, "virtualmachineid": port.device_id,
                                                   "networkid": port.network_id,
                                                   "vmguestip": fixed_ip or (port.ips[0] if port.ips else None)},
                               kind="address")


def _pick(offerings: list[dict], wanted: str | None, preferred: Any, what: str) -> str:
    """The configured offering (name or id), else the preferred one, else the first; Unavailable if none."""
    if wanted:
        for o in offerings:
            if wanted in (o.get("name"), str(o.get("id"))):
                return str(o["id"])
        raise base.Unavailable(f"the cloud has no {what} named {wanted!r}")
    chosen = next((o for o in offerings if preferred(o)), offerings[0] if offerings else None)
    if chosen is None:
        raise base.NotSupported(f"the cloud offers no {what}")
    return str(chosen["id"])
