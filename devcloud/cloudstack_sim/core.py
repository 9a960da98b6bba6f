"""The simulator's in-memory cloud: accounts and their keys, resources as CloudStack-shaped records, jobs,
errors, visibility and paging. Commands (cmd_*.py) act on a `World`; the HTTP side is server.py.

Records are the dicts CloudStack lists, plus private members starting with `_` (`_owner`: the owning
account's name) that never leave the simulator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import itertools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


class CsError(Exception):
    """A CloudStack API error: HTTP status = errorcode, as the management server answers."""

    def __init__(self, errorcode: int, text: str, cserrorcode: int | None = 4350) -> None:
        super().__init__(text)
        self.errorcode = errorcode
        self.cserrorcode = cserrorcode
        self.text = text


def param_error(text: str, cserrorcode: int | None = 4350) -> CsError:
    return CsError(431, text, cserrorcode)


def job_error(text: str, cserrorcode: int | None = 4250) -> CsError:
    return CsError(530, text, cserrorcode)


@dataclass
class Job:
    """What an async command does when its job runs. `work` returns the job result object (e.g.
    {"virtualmachine": {...}}) or raises CsError; `immediate` is merged into the command's answer next to
    `jobid` (CloudStack returns the new resource's id there)."""

    work: Callable[[], Record]
    instance_type: str = "None"
    instance_id: str | None = None
    immediate: Record = field(default_factory=dict)
    on_fail: Callable[[], None] | None = None  # e.g. a failed deploy leaves the VM in Error


@dataclass
class Account:
    name: str
    api_key: str
    secret_key: str = field(repr=False)
    admin: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    domain_id: str = ""
    domain: str = "ROOT"
    state: str = "enabled"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def new_id() -> str:
    return str(uuid.uuid4())


def public(record: Record) -> Record:
    """A record as CloudStack shows it: private `_` members dropped (also inside nested lists)."""
    out = {}
    for k, v in record.items():
        if k.startswith("_"):
            continue
        if isinstance(v, list):
            v = [public(x) if isinstance(x, dict) else x for x in v]
        elif isinstance(v, dict):
            v = public(v)
        out[k] = v
    return out


@dataclass
class World:
    accounts: dict[str, Account] = field(default_factory=dict)          # by name
    domain_id: str = field(default_factory=new_id)
    zone: Record = field(default_factory=dict)
    region: Record = field(default_factory=dict)
    offerings: list[Record] = field(default_factory=list)
    disk_offerings: list[Record] = field(default_factory=list)
    ostypes: list[Record] = field(default_factory=list)
    templates: dict[str, Record] = field(default_factory=dict)
    vms: dict[str, Record] = field(default_factory=dict)
    volumes: dict[str, Record] = field(default_factory=dict)
    snapshots: dict[str, Record] = field(default_factory=dict)
    keypairs: dict[tuple[str, str], Record] = field(default_factory=dict)   # (account, name)
    groups: dict[str, Record] = field(default_factory=dict)
    ips: dict[str, Record] = field(default_factory=dict)
    networks: dict[str, Record] = field(default_factory=dict)
    vpcs: dict[str, Record] = field(default_factory=dict)
    tags: list[Record] = field(default_factory=list)
    vpc_offering: Record = field(default_factory=dict)
    network_offering: Record = field(default_factory=dict)    # VPC tiers (forvpc)
    isolated_offering: Record = field(default_factory=dict)   # the accounts' own isolated networks
    vpc_max_networks: int = 3  # CloudStack's global setting vpc.max.networks (default 3)
    _ips: Iterable[int] = field(default_factory=lambda: itertools.count(10))
    _macs: Iterable[int] = field(default_factory=lambda: itertools.count(1))

    def by_key(self, api_key: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.api_key == api_key), None)

    def owner_fields(self, account: Account) -> Record:
        return {"account": account.name, "domainid": self.domain_id, "domain": "ROOT"}

    def next_public_ip(self) -> str:
        n = next(self._ips)  # type: ignore[call-overload]
        return f"198.51.{100 + n // 250}.{n % 250 + 1}"

    def next_mac(self) -> str:
        n = next(self._macs)  # type: ignore[call-overload]
        return "02:00:" + ":".join(f"{(n >> s) & 0xff:02x}" for s in (24, 16, 8, 0))


def visible(records: Iterable[Record], account: Account, params: Record) -> list[Record]:
    """The caller's own records; an admin with listall=true sees everyone's."""
    listall = account.admin and str(params.get("listall", "")).lower() == "true"
    return [r for r in records if listall or r.get("_owner") == account.name]


def owned(records: dict[str, Record], rid: str | None, account: Account) -> Record | None:
    found = records.get(rid or "")
    if found is None or (found.get("_owner") != account.name and not account.admin):
        return None
    return found


def listing(key: str, items: list[Record], params: Record) -> Record:
    """A list answer: `count` of all matches, the page asked for, `{}` when there is nothing."""
    if not items:
        return {}
    total = len(items)
    try:
        pagesize = int(params.get("pagesize") or 500)
        page = int(params.get("page") or 1)
    except ValueError:
        raise param_error("Unable to execute API command due to invalid value: page/pagesize") from None
    if pagesize < 1 or page < 1:
        raise param_error("Page and pagesize must be positive")
    chunk = items[(page - 1) * pagesize: page * pagesize]
    return {"count": total, key: [public(i) for i in chunk]} if chunk else {"count": total}


def seed(world: World, accounts: dict[str, tuple[str, str]], admin: tuple[str, str]) -> World:
    """Admin + accounts, one zone, offerings, disk offerings, a public template, each account's default
    security group and isolated network (with its source-NAT address)."""
    world.accounts["admin"] = Account("admin", admin[0], admin[1], admin=True)
    for name, (ak, sk) in accounts.items():
        world.accounts[name] = Account(name, ak, sk)
    for acct in world.accounts.values():
        acct.domain_id = world.domain_id
    world.zone = {"id": new_id(), "name": "zone1", "networktype": "Advanced", "securitygroupsenabled": True,
                  "allocationstate": "Enabled", "localstorageenabled": False, "dns1": "192.0.2.53",
                  "internaldns1": "192.0.2.53", "guestcidraddress": "10.1.0.0/16", "tags": []}
    world.region = {"id": 1, "name": "Local", "endpoint": "http://127.0.0.1/client/api"}
    for name, cpu, mem in (("Tiny", 1, 256), ("Small Instance", 1, 512), ("Medium Instance", 2, 1024),
                           ("Large Instance", 4, 4096)):
        world.offerings.append({"id": new_id(), "name": name, "displaytext": f"{name} ({cpu} CPU, {mem} MB)",
                                "cpunumber": cpu, "cpuspeed": 1000, "memory": mem, "created": now(),
                                "storagetype": "shared", "offerha": False, "limitcpuuse": False,
                                "issystem": False, "defaultuse": False, "iscustomized": False,
                                "provisioningtype": "thin", "rootdisksize": 0})
    world.disk_offerings.append({"id": new_id(), "name": "Custom", "displaytext": "Custom Disk", "disksize": 0,
                                 "created": now(), "iscustomized": True, "storagetype": "shared",
                                 "provisioningtype": "thin", "displayoffering": True})
    for size in (5, 20):
        world.disk_offerings.append({"id": new_id(), "name": f"Small {size}GB" if size == 5 else f"Medium {size}GB",
                                     "displaytext": f"{size} GB", "disksize": size, "created": now(),
                                     "iscustomized": False, "storagetype": "shared", "provisioningtype": "thin",
                                     "displayoffering": True})
    world.ostypes.append({"id": new_id(), "description": "Other Linux (64-bit)", "oscategoryid": new_id(),
                          "isuserdefined": False})
    tid = new_id()
    world.templates[tid] = {
        "id": tid, "name": "cirros-0.6", "displaytext": "CirrOS 0.6 (simulator)", "ispublic": True,
        "isfeatured": True, "isready": True, "status": "Download Complete", "format": "QCOW2",
        "hypervisor": "Simulator", "templatetype": "BUILTIN", "ostypeid": world.ostypes[0]["id"],
        "ostypename": "Other Linux (64-bit)", "account": "system", "accountid": new_id(),
        "domainid": world.domain_id, "domain": "ROOT", "zoneid": world.zone["id"], "zonename": "zone1",
        "size": 117440512, "created": now(), "crossZones": True, "isextractable": False,
        "passwordenabled": False, "sshkeyenabled": False, "isdynamicallyscalable": False, "bootable": True,
        "requireshvm": False, "bits": 64, "tags": [], "_owner": "system"}
    world.vpc_offering = {"id": new_id(), "name": "Default VPC offering", "displaytext": "Default VPC offering",
                          "isdefault": True, "state": "Enabled"}
    world.network_offering = {"id": new_id(), "name": "DefaultIsolatedNetworkOfferingForVpcNetworks",
                              "displaytext": "Offering for Isolated Vpc networks with Source Nat service enabled",
                              "forvpc": True, "guestiptype": "Isolated", "state": "Enabled", "isdefault": True,
                              "traffictype": "Guest", "availability": "Optional"}
    world.isolated_offering = {"id": new_id(), "name": "DefaultIsolatedNetworkOfferingWithSourceNatService",
                               "displaytext": "Offering for Isolated networks with Source Nat service enabled",
                               "forvpc": False, "guestiptype": "Isolated", "state": "Enabled", "isdefault": True,
                               "traffictype": "Guest", "availability": "Required"}
    for n, acct in enumerate(a for a in world.accounts.values() if not a.admin):
        gid = new_id()
        world.groups[gid] = {"id": gid, "name": "default", "description": "Default Security Group",
                             **world.owner_fields(acct), "ingressrule": [], "egressrule": [], "tags": [],
                             "virtualmachinecount": 0, "virtualmachineids": [], "_owner": acct.name}
        nid = new_id()
        world.networks[nid] = {
            "id": nid, "name": f"{acct.name}-network", "displaytext": f"{acct.name}'s network",
            "type": "Isolated", "traffictype": "Guest", "state": "Implemented", "cidr": f"10.1.{n + 1}.0/24",
            "gateway": f"10.1.{n + 1}.1", "netmask": "255.255.255.0", "zoneid": world.zone["id"],
            "zonename": "zone1", "isdefault": True, "issystem": False, "canusefordeploy": True,
            "networkofferingid": world.isolated_offering["id"], "acltype": "Account", "tags": [],
            **world.owner_fields(acct), "_owner": acct.name, "_first": 10}
        ipid = new_id()
        world.ips[ipid] = {"id": ipid, "ipaddress": world.next_public_ip(), "allocated": now(),
                           "zoneid": world.zone["id"], "zonename": "zone1", "issourcenat": True,
                           "isstaticnat": False, "issystem": False, "forvirtualnetwork": True,
                           "associatednetworkid": nid, "networkid": nid, "state": "Allocated", "tags": [],
                           **world.owner_fields(acct), "_owner": acct.name}
    return world


def used_ips(world: World, network_id: str) -> set[str]:
    """Guest addresses taken in a network: every NIC's address and secondary addresses (VMs not expunged)."""
    out: set[str] = set()
    for vm in world.vms.values():
        if vm.get("state") == "Expunging":
            continue
        for nic in vm.get("nic") or ():
            if nic.get("networkid") == network_id:
                out.add(nic["ipaddress"])
                out.update(s["ipaddress"] for s in nic.get("secondaryip") or ())
    return out


def allocate_ip(world: World, network: Record, wanted: str | None = None) -> str | None:
    """A free guest address of the network (the lowest from `_first`, or `wanted` if it is free); None when
    there is none. The gateway (the virtual router) is never handed out."""
    net = ipaddress.IPv4Network(network["cidr"])
    taken = used_ips(world, network["id"]) | {network.get("gateway")}
    if wanted is not None:
        ok = ipaddress.IPv4Address(wanted) in net and wanted not in (str(net.network_address),
                                                                       str(net.broadcast_address))
        return wanted if ok and wanted not in taken else None
    first = int(net.network_address) + int(network.get("_first", 2))
    for n in range(first, int(net.broadcast_address)):
        candidate = str(ipaddress.IPv4Address(n))
        if candidate not in taken:
            return candidate
    return None


def replace_record(record: Record, **changes: Any) -> Record:
    record.update(changes)
    return record


__all__ = ["Account", "CsError", "Job", "Record", "World", "allocate_ip", "dataclasses", "job_error", "listing",
           "new_id", "now", "owned", "param_error", "public", "seed", "used_ips", "visible"]


# ---- the command registry: the cmd_* modules register their handlers here, by CloudStack command name ----
Handler = Callable[[World, Account, Record], Record | Job]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn
    return register
