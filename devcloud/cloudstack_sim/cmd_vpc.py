"""Simulated commands: guest networks, VPCs and their tiers, offerings, and the NICs of VMs (add/remove a NIC,
secondary addresses), with CloudStack's checks and messages:

* createVPC: the CIDR must be valid and RFC 1918; the job gives the VPC its router's source-NAT public address.
* createNetwork in a VPC: a VPC-tier offering, gateway + netmask, inside the VPC's CIDR, not crossing a
  sibling tier, in the VPC's zone, at most `vpc.max.networks` (3) tiers. Synchronous, as listApis says.
* deleteVPC / deleteNetwork are jobs whose work refuses while tiers / active NICs remain.
* addNicToVirtualMachine / addIpToNic hand out the lowest free address (CloudStack picks any free one).
"""

from __future__ import annotations

import ipaddress

from .core import (
    Account,
    CsError,
    Job,
    Record,
    World,
    allocate_ip,
    command,
    job_error,
    listing,
    new_id,
    now,
    owned,
    param_error,
    visible,
)

_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_VPC_SERVICES = ("Dhcp", "Dns", "SourceNat", "StaticNat", "PortForwarding", "NetworkACL", "UserData", "Vpn", "Lb")


def _invalid_param(cmd: str, name: str, value: str) -> CsError:
    return param_error(f"Unable to execute API command {cmd.lower()} due to invalid value. Invalid parameter "
                       f"{name} value={value} due to incorrect long value format, or entity does not exist or due "
                       "to incorrect parameter annotation for the field in api cmd class.", 9999)


def _true(value: object) -> bool:
    return str(value).lower() == "true"


def _tags(world: World, rid: str) -> list[Record]:
    return [{k: v for k, v in t.items() if k != "_owner"} for t in world.tags if t["resourceid"] == rid]


# ---- offerings ---------------------------------------------------------------------------------------------------
@command("listNetworkOfferings")
def list_network_offerings(world: World, account: Account, p: Record) -> Record:
    found = [world.network_offering, world.isolated_offering]
    if p.get("forvpc"):
        found = [o for o in found if o["forvpc"] == _true(p["forvpc"])]
    for key in ("id", "name", "guestiptype", "state"):
        if p.get(key):
            found = [o for o in found if str(o.get(key)).lower() == p[key].lower()]
    return listing("networkoffering", found, p)


@command("listVPCOfferings")
def list_vpc_offerings(world: World, account: Account, p: Record) -> Record:
    found = [world.vpc_offering]
    for key in ("id", "name", "state"):
        if p.get(key):
            found = [o for o in found if str(o.get(key)).lower() == p[key].lower()]
    return listing("vpcoffering", found, p)


# ---- networks ------------------------------------------------------------------------------------------------------
def _network_view(world: World, n: Record) -> Record:
    return {**n, "tags": _tags(world, n["id"])}


@command("listNetworks")
def list_networks(world: World, account: Account, p: Record) -> Record:
    found = visible(world.networks.values(), account, p)
    for key, table in (("id", world.networks), ("vpcid", world.vpcs)):
        if p.get(key):
            if p[key] not in table:
                raise _invalid_param("listNetworks", key, p[key])
            found = [n for n in found if n.get(key) == p[key]]
    if p.get("forvpc"):
        found = [n for n in found if bool(n.get("vpcid")) == _true(p["forvpc"])]
    if p.get("canusefordeploy"):
        found = [n for n in found if n.get("canusefordeploy") == _true(p["canusefordeploy"])]
    return listing("network", [_network_view(world, n) for n in found], p)


def _cidr(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise param_error(f"Invalid CIDR specified {value}", 4350) from None


@command("createNetwork")
def create_network(world: World, account: Account, p: Record) -> Record:
    cmd = "createNetwork"
    offering = next((o for o in (world.network_offering, world.isolated_offering)
                     if o["id"] == p["networkofferingid"]), None)
    if offering is None:
        raise _invalid_param(cmd, "networkofferingid", p["networkofferingid"])
    if p["zoneid"] != world.zone["id"]:
        raise _invalid_param(cmd, "zoneid", p["zoneid"])
    vpc = None
    if p.get("vpcid"):
        vpc = owned(world.vpcs, p["vpcid"], account)
        if vpc is None:
            raise _invalid_param(cmd, "vpcid", p["vpcid"])
        if not offering["forvpc"]:
            raise param_error(f"Network offering {offering['name']} can't be used for VPC networks", 4350)
        if vpc["state"] != "Enabled":
            raise param_error(f"Vpc {vpc['name']} is not in Enabled state", 4350)
        if vpc["zoneid"] != p["zoneid"]:
            raise param_error("New network doesn't belong to vpc zone", 4350)
    elif offering["forvpc"]:
        raise param_error(f"Network offering {offering['name']} can be used for VPC networks only", 4350)
    if not p.get("gateway") or not p.get("netmask"):
        raise param_error("Gateway/netmask are required when creating a network for a VPC", 4350)
    try:
        net = ipaddress.IPv4Network(f"{p['gateway']}/{p['netmask']}", strict=False)
    except ValueError:
        raise param_error(f"Invalid gateway {p['gateway']} or netmask {p['netmask']}", 4350) from None
    if p["gateway"] in (str(net.network_address), str(net.broadcast_address)):
        raise param_error(f"The gateway {p['gateway']} is not a host address of {net}", 4350)
    if vpc is not None:
        if not net.subnet_of(ipaddress.IPv4Network(vpc["cidr"])):
            raise param_error(f"Network cidr {net} is not within vpc {vpc['name']} cidr", 4350)
        tiers = [n for n in world.networks.values() if n.get("vpcid") == vpc["id"]]
        for other in tiers:
            if net.overlaps(ipaddress.IPv4Network(other["cidr"])):
                raise param_error(f"Network cidr {net} crosses other network cidr {other['name']} belonging to the "
                                  f"same vpc {vpc['name']}", 4350)
        if len(tiers) >= world.vpc_max_networks:
            raise CsError(530, f"Number of networks per VPC can't extend {world.vpc_max_networks}; increase it "
                               "using global config vpc.max.networks", 4250)
    nid = new_id()
    world.networks[nid] = {
        "id": nid, "name": p["name"], "displaytext": p["displaytext"], "type": "Isolated", "traffictype": "Guest",
        "broadcastdomaintype": "Vlan", "state": "Allocated", "cidr": str(net), "gateway": p["gateway"],
        "netmask": str(net.netmask), "zoneid": world.zone["id"], "zonename": world.zone["name"],
        "isdefault": False, "issystem": False, "canusefordeploy": True, "networkofferingid": offering["id"],
        "networkofferingname": offering["name"], "networkofferingdisplaytext": offering["displaytext"],
        "acltype": "Account", "dns1": world.zone["dns1"], "related": nid, "restartrequired": False,
        "specifyipranges": False, "ispersistent": False, "displaynetwork": True, "created": now(), "tags": [],
        **({"vpcid": vpc["id"], "vpcname": vpc["name"]} if vpc else {}),
        **world.owner_fields(account), "_owner": account.name, "_first": 2}
    return {"network": world.networks[nid]}


def _active_nics(world: World, network_id: str) -> int:
    return sum(1 for vm in world.vms.values() if vm["state"] != "Expunging"
               for n in vm["nic"] if n["networkid"] == network_id)


@command("deleteNetwork")
def delete_network(world: World, account: Account, p: Record) -> Job:
    net = owned(world.networks, p["id"], account)
    if net is None:
        raise _invalid_param("deleteNetwork", "id", p["id"])

    def work() -> Record:
        if _active_nics(world, net["id"]) and not _true(p.get("forced")):
            raise CsError(431, f"Unable to remove the network id={net['id']} as it has active Nics.", 4350)
        world.networks.pop(net["id"], None)
        world.tags[:] = [t for t in world.tags if t["resourceid"] != net["id"]]
        return {"success": True}

    return Job(work, "Network", net["id"])


# ---- VPCs ------------------------------------------------------------------------------------------------------------
def _vpc_view(world: World, vpc: Record) -> Record:
    tiers = [{k: v for k, v in n.items() if k != "tags"} for n in world.networks.values()
             if n.get("vpcid") == vpc["id"]]
    return {**vpc, "network": tiers, "tags": _tags(world, vpc["id"])}


@command("createVPC")
def create_vpc(world: World, account: Account, p: Record) -> Job:
    cmd = "createVPC"
    try:
        cidr = ipaddress.IPv4Network(p["cidr"], strict=True)
    except ValueError:
        raise param_error(f"Invalid CIDR specified {p['cidr']}", 4350) from None
    if not any(cidr.subnet_of(block) for block in _RFC1918):
        raise param_error(f"Guest Cidr {p['cidr']} is not RFC1918 compliant", 4350)
    if p["vpcofferingid"] != world.vpc_offering["id"]:
        raise _invalid_param(cmd, "vpcofferingid", p["vpcofferingid"])
    if p["zoneid"] != world.zone["id"]:
        raise _invalid_param(cmd, "zoneid", p["zoneid"])
    if sum(1 for v in world.vpcs.values() if v["_owner"] == account.name) >= 20:
        raise CsError(535, f"Maximum number of vpcs for account: {account.name} has been exceeded.", 4370)
    vid = new_id()
    vpc = {"id": vid, "name": p["name"], "displaytext": p["displaytext"], "cidr": str(cidr), "state": "Enabled",
           "zoneid": world.zone["id"], "zonename": world.zone["name"], "vpcofferingid": p["vpcofferingid"],
           "vpcofferingname": world.vpc_offering["name"], "created": now(), "restartrequired": False,
           "regionlevelvpc": False, "distributedvpcrouter": False, "redundantvpcrouter": False, "fordisplay": True,
           "networkdomain": p.get("networkdomain") or f"cs{account.name}local", "hasannotations": False,
           "service": [{"name": s, "provider": [{"name": "VpcVirtualRouter"}]} for s in _VPC_SERVICES],
           "network": [], "tags": [], **world.owner_fields(account), "_owner": account.name}
    world.vpcs[vid] = vpc

    def work() -> Record:
        # the VPC's virtual router comes up with its source-NAT public address
        iid = new_id()
        world.ips[iid] = {"id": iid, "ipaddress": world.next_public_ip(), "allocated": now(),
                          "zoneid": world.zone["id"], "zonename": world.zone["name"], "issourcenat": True,
                          "isstaticnat": False, "issystem": False, "forvirtualnetwork": True, "state": "Allocated",
                          "vpcid": vid, "vpcname": vpc["name"], "tags": [], "isportable": False,
                          **world.owner_fields(account), "_owner": account.name}
        return {"vpc": _vpc_view(world, vpc)}

    return Job(work, "Vpc", vid, {"id": vid}, on_fail=lambda: world.vpcs.pop(vid, None))


@command("listVPCs")
def list_vpcs(world: World, account: Account, p: Record) -> Record:
    found = visible(world.vpcs.values(), account, p)
    if p.get("id"):
        if p["id"] not in world.vpcs:
            raise _invalid_param("listVPCs", "id", p["id"])
        found = [v for v in found if v["id"] == p["id"]]
    for key in ("name", "cidr", "state"):
        if p.get(key):
            found = [v for v in found if str(v.get(key)).lower() == p[key].lower()]
    return listing("vpc", [_vpc_view(world, v) for v in found], p)


@command("deleteVPC")
def delete_vpc(world: World, account: Account, p: Record) -> Job:
    vpc = owned(world.vpcs, p["id"], account)
    if vpc is None:
        raise _invalid_param("deleteVPC", "id", p["id"])

    def work() -> Record:
        tiers = sum(1 for n in world.networks.values() if n.get("vpcid") == vpc["id"])
        if tiers:
            raise CsError(431, f"Can't delete VPC {vpc['id']} as its used by {tiers} networks", 4350)
        world.vpcs.pop(vpc["id"], None)
        for iid in [i for i, ip in world.ips.items() if ip.get("vpcid") == vpc["id"]]:
            world.ips.pop(iid, None)
        world.tags[:] = [t for t in world.tags if t["resourceid"] != vpc["id"]]
        return {"success": True}

    return Job(work, "Vpc", vpc["id"])


# ---- NICs of VMs -----------------------------------------------------------------------------------------------------
def _vm(world: World, account: Account, cmd: str, vid: str) -> Record:
    vm = owned(world.vms, vid, account)
    if vm is None or vm["state"] in ("Destroyed", "Expunging"):
        raise _invalid_param(cmd, "virtualmachineid", vid)
    return vm


def _nic_of(world: World, account: Account, cmd: str, nic_id: str) -> tuple[Record, Record]:
    for vm in world.vms.values():
        for nic in vm["nic"]:
            if nic["id"] == nic_id and (vm["_owner"] == account.name or account.admin) \
                    and vm["state"] not in ("Destroyed", "Expunging"):
                return vm, nic
    raise _invalid_param(cmd, "nicid", nic_id)


def _nic_view(vm: Record, nic: Record) -> Record:
    return {**nic, "virtualmachineid": vm["id"], "deviceid": str(vm["nic"].index(nic))}


@command("listNics")
def list_nics(world: World, account: Account, p: Record) -> Record:
    vm = _vm(world, account, "listNics", p["virtualmachineid"])
    found = [_nic_view(vm, n) for n in vm["nic"]]
    for key in ("nicid", "networkid"):
        if p.get(key):
            found = [n for n in found if n["id" if key == "nicid" else key] == p[key]]
    return listing("nic", found, p)


def _address(world: World, network: Record, wanted: str | None) -> str:
    """A free address of the network, or `wanted`; CloudStack's errors when there is none."""
    if wanted is not None:
        try:
            inside = ipaddress.IPv4Address(wanted) in ipaddress.IPv4Network(network["cidr"])
        except ValueError:
            inside = False
        if not inside:
            raise param_error(f"Invalid ip address {wanted}: not in the cidr {network['cidr']} of network "
                              f"{network['name']}", 4350)
    got = allocate_ip(world, network, wanted)
    if got is None and wanted is not None:
        raise param_error(f"The requested ip address {wanted} is not available in network {network['name']}", 4350)
    if got is None:
        raise CsError(533, f"Insufficient address capacity: no free ip address in network {network['name']}", 4320)
    return got


@command("addNicToVirtualMachine")
def add_nic(world: World, account: Account, p: Record) -> Job:
    cmd = "addNicToVirtualMachine"
    vm = _vm(world, account, cmd, p["virtualmachineid"])
    network = owned(world.networks, p["networkid"], account)
    if network is None:
        raise _invalid_param(cmd, "networkid", p["networkid"])
    vpcs = {world.networks.get(n["networkid"], {}).get("vpcid") for n in vm["nic"]} - {None}
    if network.get("vpcid") and vpcs and network["vpcid"] not in vpcs:
        raise param_error(f"A VM can't be part of more than one VPC: vm {vm['id']} is in vpc {vpcs.pop()}", 4350)

    def work() -> Record:
        if any(n["networkid"] == network["id"] for n in vm["nic"]):
            raise job_error(f"A NIC already exists for VM: {vm['name']} in network: {network['name']}", 4350)
        ip = _address(world, network, p.get("ipaddress"))
        vm["nic"].append({"id": new_id(), "networkid": network["id"], "networkname": network["name"],
                          "netmask": network["netmask"], "gateway": network["gateway"], "ipaddress": ip,
                          "isolationuri": "vlan://untagged", "broadcasturi": "vlan://untagged",
                          "traffictype": "Guest", "type": "Isolated", "isdefault": False,
                          "macaddress": p.get("macaddress") or world.next_mac(), "secondaryip": [],
                          "extradhcpoption": []})
        if network.get("vpcid"):
            network["state"] = "Implemented"
        return {"virtualmachine": vm}

    return Job(work, "VirtualMachine", vm["id"])


@command("removeNicFromVirtualMachine")
def remove_nic(world: World, account: Account, p: Record) -> Job:
    cmd = "removeNicFromVirtualMachine"
    vm = _vm(world, account, cmd, p["virtualmachineid"])
    nic = next((n for n in vm["nic"] if n["id"] == p["nicid"]), None)
    if nic is None:
        raise _invalid_param(cmd, "nicid", p["nicid"])
    if nic["isdefault"]:
        raise param_error(f"Unable to remove nic from {vm['name']} in network {nic['networkname']}, nic is default.",
                          4350)

    def work() -> Record:
        if nic in vm["nic"]:
            vm["nic"].remove(nic)
        return {"virtualmachine": vm}

    return Job(work, "VirtualMachine", vm["id"])


@command("addIpToNic")
def add_ip_to_nic(world: World, account: Account, p: Record) -> Job:
    vm, nic = _nic_of(world, account, "addIpToNic", p["nicid"])
    network = world.networks.get(nic["networkid"])
    if network is None:
        raise param_error(f"Network of nic {nic['id']} is not found", 4350)

    def work() -> Record:
        ip = _address(world, network, p.get("ipaddress"))
        secondary = {"id": new_id(), "ipaddress": ip}
        nic.setdefault("secondaryip", []).append(secondary)
        return {"nicsecondaryip": {**secondary, "nicid": nic["id"], "networkid": network["id"],
                                   "virtualmachineid": vm["id"]}}

    return Job(work, "Nic", nic["id"])


@command("removeIpFromNic")
def remove_ip_from_nic(world: World, account: Account, p: Record) -> Job:
    for vm in world.vms.values():
        for nic in vm["nic"]:
            for secondary in nic.get("secondaryip") or ():
                if secondary["id"] == p["id"] and (vm["_owner"] == account.name or account.admin):
                    if any(ip.get("vmipaddress") == secondary["ipaddress"] and ip.get("isstaticnat")
                           for ip in world.ips.values()):
                        raise param_error(f"Can't remove the secondary ip {secondary['ipaddress']}: it has static "
                                          "nat enabled", 4350)

                    def work(nic: Record = nic, secondary: Record = secondary) -> Record:
                        nic["secondaryip"].remove(secondary)
                        return {"success": True}

                    return Job(work, "Nic", nic["id"])
    raise _invalid_param("removeIpFromNic", "id", p["id"])
