"""Pure translations between CloudStack JSON items and the neutral compute dataclasses.

No I/O: every function takes what a CloudStack list/job answered (old clouds send numeric ids, newer UUIDs:
ids always become text) and returns dataclasses, so the recorded responses test it without a cloud.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from backends.compute import (
    Attachment,
    Flavor,
    FloatingAddress,
    Image,
    KeyPair,
    SecurityGroup,
    SecurityRule,
    Server,
    ServerAddress,
    ServerState,
    Snapshot,
    Volume,
    VolumeState,
    Zone,
)
from backends.network import Port, Subnet, Vpc

GIB = 1 << 30


def parse_time(value: Any) -> dt.datetime | None:
    """CloudStack dates: `2014-02-21T17:28:40+0000` (also `-0700`, `+0530`)."""
    if not value or not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return dt.datetime.strptime(value, fmt).astimezone(dt.UTC)
        except ValueError:
            continue
    return None


def _epoch() -> dt.datetime:
    return dt.datetime.fromtimestamp(0, dt.UTC)


def _id(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


# ---- virtual machines --------------------------------------------------------------------------------------
VM_STATES: dict[str, ServerState] = {
    "Starting": ServerState.STARTING, "Running": ServerState.ACTIVE, "Stopping": ServerState.STOPPING,
    "Stopped": ServerState.STOPPED, "Destroyed": ServerState.DELETED, "Expunging": ServerState.DELETED,
    "Error": ServerState.ERROR, "Migrating": ServerState.ACTIVE, "Shutdowned": ServerState.STOPPED,
    "Unknown": ServerState.ERROR,
}


def server_state(state: str | None, ever_ran: bool = True) -> ServerState:
    """CloudStack's VM state → neutral. A VM that is `Starting` and never ran is being built."""
    found = VM_STATES.get(state or "", ServerState.ERROR)
    if found is ServerState.STARTING and not ever_ran:
        return ServerState.BUILDING
    return found


def server_from(vm: Mapping[str, Any], *, flavor_names: Mapping[str, str] | None = None,
                volumes: list[Mapping[str, Any]] = (), ever_ran: bool = True,
                user_data: str | None = None) -> Server:
    """A virtualmachine item (+ its data volumes from listVolumes) as a neutral Server. `flavor_names`
    maps service offering names to the EC2 instance types configured for them."""
    addresses = []
    for nic in vm.get("nic") or ():
        if nic.get("ipaddress"):
            addresses.append(ServerAddress(ip=nic["ipaddress"], mac=nic.get("macaddress"),
                                           port_id=_id(nic.get("id")) or None,
                                           network_id=_id(nic.get("networkid")) or None))
        if nic.get("ip6address"):
            addresses.append(ServerAddress(ip=nic["ip6address"], version=6, mac=nic.get("macaddress"),
                                           port_id=_id(nic.get("id")) or None))
    if vm.get("publicip"):
        addresses.append(ServerAddress(ip=vm["publicip"], floating=True))
    offering = vm.get("serviceofferingname") or _id(vm.get("serviceofferingid"))
    vid = _id(vm.get("id"))
    # the ROOT volume is the instance's root device (CloudStack deletes it with the VM, as EC2's
    # DeleteOnTermination=true root volume); data disks keep their own lives
    attachments = [Attachment(volume_id=_id(v.get("id")), server_id=vid,
                              device="/dev/sda1" if v.get("type") == "ROOT" else device_name(v.get("deviceid")),
                              attached_at=parse_time(v.get("attached") or v.get("created")),
                              delete_on_termination=v.get("type") == "ROOT")
                   for v in volumes]
    state = server_state(vm.get("state"), ever_ran)
    created = parse_time(vm.get("created")) or _epoch()
    return Server(
        id=vid, name=vm.get("displayname") or vm.get("name") or "", state=state,
        flavor_name=(flavor_names or {}).get(offering, offering), image_id=_id(vm.get("templateid")) or None,
        created=created, key_name=vm.get("keypair") or None, zone=vm.get("zonename") or None,
        launched_at=None if state in (ServerState.BUILDING, ServerState.ERROR) and not ever_ran else created,
        addresses=addresses,
        security_groups=[_id(g.get("id")) for g in vm.get("securitygroup") or () if g.get("id") is not None],
        attachments=attachments, user_data=user_data, root_device="/dev/sda1", boot_from_volume=True,
        fault="the deployment failed" if state is ServerState.ERROR else None)


def device_name(deviceid: Any) -> str | None:
    """CloudStack's device number → a Linux device name (0 = root /dev/sda1... 1 = /dev/sdb)."""
    n = _int(deviceid)
    if n is None:
        return None
    return "/dev/sda1" if n == 0 else f"/dev/sd{chr(ord('a') + n)}"


def device_id(device: str | None) -> int | None:
    """A device name (/dev/sdf, /dev/xvdf, /dev/vdb) → CloudStack's deviceid; None lets CloudStack pick."""
    if not device:
        return None
    letter = device.rstrip("0123456789")[-1:].lower()
    if not letter.isalpha() or letter == "a":
        return None
    n = ord(letter) - ord("a")
    return n if n != 3 else None  # deviceid 3 is reserved for the CD-ROM


def flavor_from(o: Mapping[str, Any], name: str | None = None) -> Flavor:
    disk = _int(o.get("rootdisksize")) or 0
    return Flavor(id=_id(o.get("id")), name=name or o.get("name") or "", vcpus=_int(o.get("cpunumber")) or 0,
                  ram_mib=_int(o.get("memory")) or 0, disk_gib=disk)


def zone_from(z: Mapping[str, Any]) -> Zone:
    return Zone(name=z.get("name") or "", available=z.get("allocationstate", "Enabled") == "Enabled")


# ---- templates -----------------------------------------------------------------------------------------------
def image_state(t: Mapping[str, Any]) -> str:
    if t.get("removed"):
        return "deregistered"
    if t.get("isready"):
        return "available"
    status = str(t.get("status") or "").lower()
    if "error" in status or "fail" in status or "abandon" in status:
        return "failed"
    return "pending"


def image_from(t: Mapping[str, Any], shared_with: list[str] = ()) -> Image:
    size = _int(t.get("size"))
    return Image(
        id=_id(t.get("id")), name=t.get("name") or "", state=image_state(t),
        owner=_id(t.get("accountid")) or t.get("account") or "", public=bool(t.get("ispublic")),
        created=parse_time(t.get("created")), description=t.get("displaytext") or None,
        architecture="i386" if _int(t.get("bits")) == 32 else "x86_64",
        disk_format=(t.get("format") or "").lower() or None, size=size, root_device="/dev/sda1",
        shared_with=list(shared_with),
        properties={k: str(t[k]) for k in ("hypervisor", "ostypename", "templatetype", "format") if t.get(k)})


# ---- key pairs -------------------------------------------------------------------------------------------------
def keypair_from(k: Mapping[str, Any]) -> KeyPair:
    return KeyPair(name=k.get("name") or "", fingerprint=k.get("fingerprint") or "",
                   public_key=k.get("publickey") or "", id=_id(k.get("id")) or None)


# ---- security groups -------------------------------------------------------------------------------------------
def rule_from(r: Mapping[str, Any], group_id: str, egress: bool,
              group_ids_by_name: Mapping[str, str] | None = None) -> SecurityRule:
    proto = (r.get("protocol") or "all").lower()
    is_icmp = proto in ("icmp", "1")
    lo = _int(r.get("icmptype")) if is_icmp else _int(r.get("startport"))
    hi = _int(r.get("icmpcode")) if is_icmp else _int(r.get("endport"))
    if is_icmp:  # CloudStack's -1 (any type / any code) is the neutral "no value"
        lo = None if lo == -1 else lo
        hi = None if hi == -1 else hi
    remote = None
    if r.get("securitygroupname"):
        remote = (group_ids_by_name or {}).get(r["securitygroupname"]) or r["securitygroupname"]
    cidr = r.get("cidr") or (None if remote else "0.0.0.0/0")
    return SecurityRule(id=_id(r.get("ruleid")), group_id=group_id, egress=egress,
                        protocol=None if proto in ("all", "-1") else ("icmp" if is_icmp else proto),
                        port_min=lo, port_max=hi, cidr=cidr, remote_group_id=remote,
                        ethertype="IPv6" if cidr and ":" in cidr else "IPv4")


def group_from(g: Mapping[str, Any], owner: str = "", group_ids_by_name: Mapping[str, str] | None = None
               ) -> SecurityGroup:
    gid = _id(g.get("id"))
    rules = [rule_from(r, gid, False, group_ids_by_name) for r in g.get("ingressrule") or ()]
    rules += [rule_from(r, gid, True, group_ids_by_name) for r in g.get("egressrule") or ()]
    return SecurityGroup(id=gid, name=g.get("name") or "", description=g.get("description") or "",
                         owner=owner or g.get("account") or "", rules=rules)


def rule_params(rule: SecurityRule, remote_group: tuple[str, str] | None = None) -> dict[str, Any]:
    """authorizeSecurityGroupIngress/Egress parameters for a neutral rule. `remote_group` = (account
    name, group name) of a source group."""
    proto = (rule.protocol or "all").lower()
    proto = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}.get(proto, proto)
    params: dict[str, Any] = {"securitygroupid": rule.group_id, "protocol": proto}
    if proto == "icmp":
        params["icmptype"] = rule.port_min if rule.port_min is not None else -1
        params["icmpcode"] = rule.port_max if rule.port_max is not None else -1
    elif proto in ("tcp", "udp"):
        lo = rule.port_min if rule.port_min is not None and rule.port_min >= 0 else 1
        hi = rule.port_max if rule.port_max is not None and rule.port_max >= 0 else 65535
        params["startport"], params["endport"] = lo, hi
    if remote_group:
        params["usersecuritygrouplist"] = [{"account": remote_group[0], "group": remote_group[1]}]
    else:
        params["cidrlist"] = rule.cidr or "0.0.0.0/0"
    return params


def same_rule(a: SecurityRule, b: SecurityRule) -> bool:
    """Whether two rules allow the same traffic (CloudStack reports duplicates only as a failed job)."""
    def norm(r: SecurityRule) -> tuple:
        proto = (r.protocol or "all").lower()
        proto = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}.get(proto, proto)
        lo, hi = r.port_min, r.port_max
        if proto in ("tcp", "udp"):
            lo = lo if lo is not None and lo >= 0 else 1
            hi = hi if hi is not None and hi >= 0 else 65535
        elif proto == "icmp":
            lo = -1 if lo is None else lo
            hi = -1 if hi is None else hi
        else:
            lo = hi = None
        return (r.egress, proto, lo, hi, None if r.remote_group_id else (r.cidr or "0.0.0.0/0"), r.remote_group_id)
    return norm(a) == norm(b)


# ---- volumes and snapshots -------------------------------------------------------------------------------------
VOLUME_STATES: dict[str, VolumeState] = {
    "Allocated": VolumeState.AVAILABLE, "Ready": VolumeState.AVAILABLE, "Creating": VolumeState.CREATING,
    "Allocating": VolumeState.CREATING, "Copying": VolumeState.CREATING, "Uploaded": VolumeState.CREATING,
    "UploadOp": VolumeState.CREATING, "NotUploaded": VolumeState.CREATING, "Attaching": VolumeState.ATTACHING,
    "Detaching": VolumeState.DETACHING, "Destroy": VolumeState.DELETING, "Expunging": VolumeState.DELETING,
    "Expunged": VolumeState.DELETING, "Destroying": VolumeState.DELETING, "Snapshotting": VolumeState.AVAILABLE,
    "Resizing": VolumeState.AVAILABLE, "Migrating": VolumeState.AVAILABLE, "UploadError": VolumeState.ERROR,
    "UploadAbandoned": VolumeState.ERROR,
}


def volume_state(state: str | None, attached: bool) -> VolumeState:
    found = VOLUME_STATES.get(state or "", VolumeState.ERROR)
    if found is VolumeState.AVAILABLE and attached:
        return VolumeState.IN_USE
    return found


def gib(size_bytes: Any) -> int:
    """Bytes → GiB, rounded up (CloudStack sizes are bytes; EC2's are GiB)."""
    n = _int(size_bytes) or 0
    return -(-n // GIB)


# A data volume of a VM being destroyed is being released: shown detached, as EC2 shows the volumes of a
# terminated instance (CloudStack keeps it attached to a Destroyed VM until the VM is expunged).
_GONE_VM_STATES = ("Destroyed", "Expunging")


def volume_from(v: Mapping[str, Any]) -> Volume:
    vm = "" if v.get("vmstate") in _GONE_VM_STATES else _id(v.get("virtualmachineid"))
    atts = [Attachment(volume_id=_id(v.get("id")), server_id=vm, device=device_name(v.get("deviceid")),
                       attached_at=parse_time(v.get("attached")))] if vm else []
    return Volume(id=_id(v.get("id")), size_gib=gib(v.get("size")), state=volume_state(v.get("state"), bool(vm)),
                  zone=v.get("zonename") or "", created=parse_time(v.get("created")) or _epoch(),
                  snapshot_id=_id(v.get("snapshotid")) or None, volume_type=v.get("diskofferingname") or None,
                  name=v.get("name") or None, attachments=atts)


SNAPSHOT_STATES = {"BackedUp": "completed", "Ready": "completed", "Allocated": "pending", "Creating": "pending",
                   "CreatedOnPrimary": "pending", "BackingUp": "pending", "Copying": "pending",
                   "Destroying": "deleting", "Destroyed": "deleting", "Error": "error"}


def snapshot_from(s: Mapping[str, Any], owner: str = "") -> Snapshot:
    state = SNAPSHOT_STATES.get(s.get("state") or "", "pending")
    return Snapshot(id=_id(s.get("id")), volume_id=_id(s.get("volumeid")) or None,
                    size_gib=gib(s.get("virtualsize") or s.get("physicalsize")), state=state,
                    created=parse_time(s.get("created")) or _epoch(), description=s.get("name") or None,
                    progress="100%" if state == "completed" else "0%", owner=owner or s.get("account") or "")


# ---- addresses -------------------------------------------------------------------------------------------------
def address_from(a: Mapping[str, Any]) -> FloatingAddress:
    vm = _id(a.get("virtualmachineid")) if a.get("isstaticnat") else ""
    return FloatingAddress(id=_id(a.get("id")), ip=a.get("ipaddress") or "", pool=a.get("zonename") or None,
                           server_id=vm or None, fixed_ip=a.get("vmipaddress") or None)


# ---- VPC networking (backends/cloudstack/network.py) -------------------------------------------------------------
DEFAULT_VPC_NAME = "cloudgate-default-vpc"
VPC_NAME = "cloudgate-vpc"
SUBNET_NAME = "cloudgate-subnet"
IGW_TAG = "cloudgate-internet-gateway"  # a resource tag on the VPC: the recorded internet-gateway switch
GONE = ("Destroyed", "Expunging")       # VMs whose NICs no longer count


def has_tag(item: Mapping[str, Any], key: str) -> bool:
    return any(isinstance(t, Mapping) and t.get("key") == key for t in item.get("tags") or ())


def vpc_from(v: Mapping[str, Any]) -> Vpc:
    """A CloudStack VPC. Its static routes go to private gateways only (the operator's): none is shown."""
    return Vpc(id=_id(v.get("id")), cidr=v.get("cidr") or "", is_default=v.get("name") == DEFAULT_VPC_NAME,
               external_gateway=has_tag(v, IGW_TAG))


def nic_ips(nic: Mapping[str, Any]) -> list[str]:
    """A NIC's addresses, the primary first, then its secondary addresses."""
    primary = [nic["ipaddress"]] if nic.get("ipaddress") else []
    return primary + [s["ipaddress"] for s in nic.get("secondaryip") or () if s.get("ipaddress")]


def used_addresses(vms: list[Mapping[str, Any]]) -> dict[str, int]:
    """Network id → guest addresses in use by live VMs (the router's gateway address is not a VM's)."""
    used: dict[str, int] = {}
    for vm in vms:
        if vm.get("state") in GONE:
            continue
        for nic in vm.get("nic") or ():
            key = _id(nic.get("networkid"))
            used[key] = used.get(key, 0) + len(nic_ips(nic))
    return used


def subnet_from(n: Mapping[str, Any], used: int = 0) -> Subnet:
    """A VPC tier: it is both the subnet and the network VMs attach to. DNS is the VPC router's (the cloud's
    own resolver, AWS's AmazonProvidedDNS): no servers of the tier's own."""
    return Subnet(id=_id(n.get("id")), vpc_id=_id(n.get("vpcid")), cidr=n.get("cidr") or "",
                  network_id=_id(n.get("id")), zone=n.get("zonename") or None, gateway_ip=n.get("gateway") or None,
                  dns_servers=[], used_ips=used)


def port_from(nic: Mapping[str, Any], vm: Mapping[str, Any]) -> Port:
    """A NIC of a VM. CloudStack's security groups are the VM's (all its NICs), anti-spoofing is always on and
    NICs carry no description."""
    return Port(id=_id(nic.get("id")), network_id=_id(nic.get("networkid")), subnet_id=_id(nic.get("networkid")),
                mac=nic.get("macaddress") or None, ips=nic_ips(nic),
                security_groups=[_id(g.get("id")) for g in vm.get("securitygroup") or () if g.get("id")],
                device_id=_id(vm.get("id")) or None, owner_kind="compute")
