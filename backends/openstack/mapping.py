"""Pure translations between OpenStack resources (Nova, Neutron, Glance, Cinder JSON) and the neutral
compute dataclasses: states, servers, images, volumes, snapshots, key pairs, security groups, addresses.

No I/O here: everything takes the JSON the services returned and gives dataclasses back (and the few
request bodies built from neutral input), so it is unit-tested without a cloud.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
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
    ServerSpec,
    ServerState,
    Snapshot,
    Volume,
    VolumeState,
)


def parse_time(value: Any) -> dt.datetime | None:
    """Nova/Glance `2026-01-01T00:00:00Z`, Cinder and Nova usage `2026-01-01T00:00:00.000000` (UTC)."""
    if not value or not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _epoch() -> dt.datetime:
    return dt.datetime.fromtimestamp(0, dt.UTC)


# ---- servers ---------------------------------------------------------------------------------------------
_STATUS = {
    "BUILD": ServerState.BUILDING, "ACTIVE": ServerState.ACTIVE, "SHUTOFF": ServerState.STOPPED,
    "STOPPED": ServerState.STOPPED, "REBOOT": ServerState.REBOOTING, "HARD_REBOOT": ServerState.REBOOTING,
    "DELETED": ServerState.DELETED, "SOFT_DELETED": ServerState.DELETED, "ERROR": ServerState.ERROR,
    "UNKNOWN": ServerState.ERROR, "PAUSED": ServerState.STOPPED, "SUSPENDED": ServerState.STOPPED,
    "SHELVED": ServerState.STOPPED, "SHELVED_OFFLOADED": ServerState.STOPPED,
    # a running guest in an administrative transition stays running for its owner
    "RESIZE": ServerState.ACTIVE, "VERIFY_RESIZE": ServerState.ACTIVE, "REVERT_RESIZE": ServerState.ACTIVE,
    "MIGRATING": ServerState.ACTIVE, "REBUILD": ServerState.BUILDING, "RESCUE": ServerState.ACTIVE,
    "PASSWORD": ServerState.ACTIVE,
}
_TASKS = {
    "powering-off": ServerState.STOPPING, "powering-on": ServerState.STARTING,
    "rebooting": ServerState.REBOOTING, "reboot_pending": ServerState.REBOOTING,
    "reboot_started": ServerState.REBOOTING, "rebooting_hard": ServerState.REBOOTING,
    "reboot_pending_hard": ServerState.REBOOTING, "reboot_started_hard": ServerState.REBOOTING,
    "deleting": ServerState.DELETING, "soft-deleting": ServerState.DELETING,
    "shelving": ServerState.STOPPING, "suspending": ServerState.STOPPING, "pausing": ServerState.STOPPING,
    "resuming": ServerState.STARTING, "unpausing": ServerState.STARTING, "unshelving": ServerState.STARTING,
    "restoring": ServerState.STARTING,
    "scheduling": ServerState.BUILDING, "block_device_mapping": ServerState.BUILDING,
    "networking": ServerState.BUILDING, "spawning": ServerState.BUILDING,
}


# Administrative transitions (resize, migration) keep the guest as it was: running or powered off.
_ADMIN_TRANSITIONS = frozenset({"RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE", "MIGRATING"})
_POWER_SHUTDOWN = 4  # Nova power_state SHUTDOWN


def server_state(status: str | None, task_state: str | None = None, vm_state: str | None = None,
                 power_state: int | None = None) -> ServerState:
    """Nova's status (+ task_state, which says what is happening to it right now) → neutral state."""
    if vm_state in ("deleted", "soft-delete"):
        return ServerState.DELETED
    if task_state and task_state in _TASKS:
        task = _TASKS[task_state]
        # a task never turns an error or deleted server into a live one, except deleting
        if status not in ("ERROR", "DELETED", "SOFT_DELETED") or task is ServerState.DELETING:
            return task
    status = (status or "").upper()
    if status in _ADMIN_TRANSITIONS and (vm_state == "stopped" or power_state == _POWER_SHUTDOWN):
        return ServerState.STOPPED  # resizing a stopped server: it stays stopped
    return _STATUS.get(status, ServerState.ERROR)


def _nova_addresses(server: Mapping[str, Any]) -> list[ServerAddress]:
    found = []
    for entries in (server.get("addresses") or {}).values():
        for a in entries or ():
            found.append(ServerAddress(ip=a.get("addr", ""), version=int(a.get("version") or 4),
                                       floating=a.get("OS-EXT-IPS:type") == "floating",
                                       mac=a.get("OS-EXT-IPS-MAC:mac_addr")))
    return found


def port_order(server: Mapping[str, Any]) -> dict[str, int]:
    """MAC → position in Nova's address list (attach order): the first NIC is the primary one."""
    order: dict[str, int] = {}
    for a in _nova_addresses(server):
        if a.mac and a.mac not in order:
            order[a.mac] = len(order)
    return order


def server_from(server: Mapping[str, Any], ports: Iterable[Mapping[str, Any]] = (),
                fips_by_port: Mapping[str, list[Mapping[str, Any]]] | None = None,
                volumes: Mapping[str, Mapping[str, Any]] | None = None) -> Server:
    """A Nova server (microversion ≥ 2.47), its Neutron ports and floating IPs, and the Cinder
    volumes attached to it, as one neutral Server."""
    fips_by_port = fips_by_port or {}
    volumes = volumes or {}
    order = port_order(server)
    ports = sorted(ports, key=lambda p: (order.get(p.get("mac_address", ""), len(order)), p.get("id", "")))
    addresses: list[ServerAddress] = []
    groups: list[str] = []
    for port in ports:
        for fixed in port.get("fixed_ips") or ():
            ip = fixed.get("ip_address", "")
            addresses.append(ServerAddress(ip=ip, version=6 if ":" in ip else 4, mac=port.get("mac_address"),
                                           port_id=port.get("id"), network_id=port.get("network_id")))
        for fip in fips_by_port.get(port.get("id", ""), ()):
            ip = fip.get("floating_ip_address", "")
            addresses.append(ServerAddress(ip=ip, version=6 if ":" in ip else 4, floating=True,
                                           mac=port.get("mac_address"), port_id=port.get("id"),
                                           network_id=port.get("network_id")))
        groups.extend(g for g in port.get("security_groups") or () if g not in groups)
    if not ports:  # no port yet (still building) or Neutron not consulted: Nova's view (groups by name)
        addresses = _nova_addresses(server)
        groups = [g["name"] for g in server.get("security_groups") or () if g.get("name")]
    image = server.get("image")
    image_id = image.get("id") if isinstance(image, dict) else None
    flavor = server.get("flavor") or {}
    attachments = []
    for att in server.get("os-extended-volumes:volumes_attached") or ():
        vid = att.get("id", "")
        device = attached_at = None
        for va in (volumes.get(vid) or {}).get("attachments") or ():
            if va.get("server_id") == server.get("id"):
                device, attached_at = va.get("device"), parse_time(va.get("attached_at"))
        status = (volumes.get(vid) or {}).get("status")
        attachments.append(Attachment(vid, server.get("id", ""), device, attached_at,
                                      bool(att.get("delete_on_termination")),
                                      _ATTACHMENT_STATE.get(_VOLUME_STATES.get(status or ""), "attached")))
    fault = server.get("fault") or {}
    return Server(
        id=server.get("id", ""), name=server.get("name") or "",
        state=server_state(server.get("status"), server.get("OS-EXT-STS:task_state"),
                           server.get("OS-EXT-STS:vm_state"), server.get("OS-EXT-STS:power_state")),
        flavor_name=flavor.get("original_name") or flavor.get("id") or "",
        image_id=image_id or None, created=parse_time(server.get("created")) or _epoch(),
        key_name=server.get("key_name") or None, zone=server.get("OS-EXT-AZ:availability_zone") or None,
        launched_at=parse_time(server.get("OS-SRV-USG:launched_at")), addresses=addresses,
        security_groups=groups, attachments=attachments,
        user_data=server.get("OS-EXT-SRV-ATTR:user_data") or None,
        metadata={str(k): str(v) for k, v in (server.get("metadata") or {}).items() if k != LAUNCH_MARK},
        root_device=server.get("OS-EXT-SRV-ATTR:root_device_name") or None,
        boot_from_volume=not image_id,
        reservation_id=server.get("OS-EXT-SRV-ATTR:reservation_id") or None,
        launch_index=int(server.get("OS-EXT-SRV-ATTR:launch_index") or 0),
        fault=fault.get("message") or None)


def launch_order(server: Mapping[str, Any]) -> tuple[int, str]:
    """Nova names the servers of one request `<name>-<n>` (n from 1): their launch order."""
    name = server.get("name") or ""
    head, _, tail = name.rpartition("-")
    return (int(tail) if head and tail.isdigit() else 0, server.get("id", ""))


# Nova metadata naming the launch that made a server (compute.py: a launch whose answer was lost is
# cleaned up by it); internal, so never part of the neutral Server.
LAUNCH_MARK = "cloudgate-launch"


def server_body(spec: ServerSpec, flavor_id: str) -> dict[str, Any]:
    """The `server` of POST /servers for a neutral spec."""
    body: dict[str, Any] = {"name": spec.name, "imageRef": spec.image_id, "flavorRef": flavor_id,
                            "min_count": spec.count_min, "max_count": max(spec.count_max, spec.count_min),
                            "networks": [{"uuid": spec.network_id}] if spec.network_id else "auto"}
    if spec.ports:  # a VPC launch on ports made beforehand: they carry the groups (Nova refuses both)
        body["networks"] = [{"port": port} for port in spec.ports]
    if spec.key_name:
        body["key_name"] = spec.key_name
    if spec.security_groups and not spec.ports:
        # Nova resolves each entry by name or by id; ids are unambiguous.
        body["security_groups"] = [{"name": g} for g in spec.security_groups]
    if spec.user_data:
        body["user_data"] = spec.user_data  # already base64
    if spec.zone:
        body["availability_zone"] = spec.zone
    if spec.metadata:
        body["metadata"] = dict(spec.metadata)
    if spec.volumes:
        # An image that boots from a volume brings its own root mapping (Nova merges it by device name);
        # any other image boots from its local disk.
        bdms: list[dict[str, Any]] = [] if spec.root_device else [
            {"boot_index": 0, "uuid": spec.image_id, "source_type": "image", "destination_type": "local",
             "delete_on_termination": True}]
        for device, size, snapshot, delete in spec.volumes:
            bdm: dict[str, Any] = {"boot_index": 0 if device == spec.root_device else -1,
                                   "destination_type": "volume", "device_name": device,
                                   "delete_on_termination": bool(delete)}
            if snapshot:
                bdm.update(source_type="snapshot", uuid=snapshot)
            else:
                bdm["source_type"] = "blank"
            if size:
                bdm["volume_size"] = int(size)
            bdms.append(bdm)
        body["block_device_mapping_v2"] = bdms
    return body


def flavor_from(f: Mapping[str, Any]) -> Flavor:
    return Flavor(id=str(f.get("id", "")), name=f.get("name") or "", vcpus=int(f.get("vcpus") or 0),
                  ram_mib=int(f.get("ram") or 0), disk_gib=int(f.get("disk") or 0))


def keypair_from(k: Mapping[str, Any]) -> KeyPair:
    return KeyPair(name=k.get("name", ""), fingerprint=k.get("fingerprint", ""),
                   public_key=k.get("public_key", ""), created=parse_time(k.get("created_at")),
                   id=str(k["id"]) if k.get("id") is not None else None)


# ---- images ----------------------------------------------------------------------------------------------
_IMAGE_STATES = {"queued": "pending", "saving": "pending", "uploading": "pending", "importing": "pending",
                 "active": "available", "killed": "failed", "deactivated": "failed",
                 "deleted": "deregistered", "pending_delete": "deregistered"}
_GLANCE_CORE = frozenset({
    "id", "name", "status", "visibility", "protected", "checksum", "os_hash_algo", "os_hash_value", "owner",
    "size", "virtual_size", "min_ram", "min_disk", "created_at", "updated_at", "tags", "self", "file",
    "schema", "disk_format", "container_format", "locations", "direct_url", "os_hidden", "stores",
    "description", "architecture", "root_device_name", "block_device_mapping", "bdm_v2"})


def image_state(status: str | None) -> str:
    return _IMAGE_STATES.get(status or "", "pending")


def image_from(img: Mapping[str, Any], members: Iterable[str] = ()) -> Image:
    devices: list[tuple[str, str | None, int | None]] = []
    raw = img.get("block_device_mapping")
    try:
        mappings = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        mappings = []
    for m in mappings if isinstance(mappings, list) else ():
        if isinstance(m, dict) and m.get("device_name"):
            size = m.get("volume_size")
            devices.append((m["device_name"], m.get("snapshot_id"), int(size) if size else None))
    props = {k: str(v) for k, v in img.items()
             if k not in _GLANCE_CORE and isinstance(v, str | int | float | bool) and not isinstance(v, dict)}
    return Image(
        id=img.get("id", ""), name=img.get("name") or "", state=image_state(img.get("status")),
        owner=img.get("owner") or "", public=img.get("visibility") in ("public", "community"),
        created=parse_time(img.get("created_at")), description=img.get("description") or None,
        architecture=img.get("architecture") or "x86_64", disk_format=img.get("disk_format"),
        size=img.get("size"), root_device=img.get("root_device_name") or None, block_devices=devices,
        shared_with=list(members), properties=props)


def image_bdm_properties(block_devices: list[tuple[str, str | None, int | None]],
                         root_device: str | None) -> dict[str, str]:
    """Glance properties of a volume-backed image, as Nova writes them when it snapshots one."""
    root = root_device or (block_devices[0][0] if block_devices else None)
    mappings = []
    for device, snapshot, size in block_devices:
        m: dict[str, Any] = {"device_name": device, "source_type": "snapshot" if snapshot else "blank",
                             "destination_type": "volume", "delete_on_termination": True,
                             "boot_index": 0 if device == root else -1}
        if snapshot:
            m["snapshot_id"] = snapshot
        if size:
            m["volume_size"] = int(size)
        mappings.append(m)
    props = {"bdm_v2": "True", "block_device_mapping": json.dumps(mappings)}
    if root:
        props["root_device_name"] = root
    return props


# ---- security groups ----------------------------------------------------------------------------------------
_PROTO_NUMBERS = {"ipv6-icmp": "58", "icmpv6": "58", "gre": "47", "esp": "50", "ah": "51", "sctp": "132",
                  "igmp": "2", "ipip": "4", "ospf": "89", "vrrp": "112", "pgm": "113", "dccp": "33",
                  "egp": "8", "ipv6-encap": "41", "ipv6-frag": "44", "ipv6-nonxt": "59", "ipv6-opts": "60",
                  "ipv6-route": "43", "rsvp": "46", "udplite": "136"}
_PROTO_NAMES = {"6": "tcp", "17": "udp", "1": "icmp"}


def rule_from(r: Mapping[str, Any]) -> SecurityRule:
    proto = r.get("protocol")
    proto = _PROTO_NUMBERS.get(proto, proto) if proto is not None else None
    proto = _PROTO_NAMES.get(proto, proto) if proto is not None else None
    ethertype = r.get("ethertype") or "IPv4"
    cidr = r.get("remote_ip_prefix")
    if not cidr and not r.get("remote_group_id") and not r.get("remote_address_group_id"):
        cidr = "::/0" if ethertype == "IPv6" else "0.0.0.0/0"  # Neutron: no remote = anywhere
    lo, hi = r.get("port_range_min"), r.get("port_range_max")
    if proto in ("tcp", "udp") and lo is None and hi is None:
        lo, hi = 1, 65535  # Neutron stores a 1-65535 range as "no range"; every port, as it was asked
    return SecurityRule(id=r.get("id", ""), group_id=r.get("security_group_id", ""),
                        egress=r.get("direction") == "egress", protocol=proto,
                        port_min=lo, port_max=hi, cidr=cidr,
                        remote_group_id=r.get("remote_group_id"), description=r.get("description") or None,
                        ethertype=ethertype)


def rule_body(rule: SecurityRule) -> dict[str, Any]:
    """A neutral rule as a Neutron `security_group_rule`."""
    proto = (rule.protocol or "").lower() or None
    if proto in ("-1", "all"):
        proto = None
    proto = _PROTO_NAMES.get(proto, proto) if proto else None
    ethertype = "IPv6" if (rule.cidr and ":" in rule.cidr) else (rule.ethertype or "IPv4")
    body: dict[str, Any] = {"security_group_id": rule.group_id, "direction": "egress" if rule.egress else "ingress",
                            "ethertype": ethertype}
    if proto:
        body["protocol"] = proto
        lo, hi = rule.port_min, rule.port_max
        if proto in ("icmp", "58", "ipv6-icmp"):
            # ICMP: Neutron carries type in port_range_min and code in port_range_max; -1 = any
            if lo is not None and lo >= 0:
                body["port_range_min"] = lo
                if hi is not None and hi >= 0:
                    body["port_range_max"] = hi
        elif lo is not None and hi is not None and not (lo <= 1 and hi >= 65535) and lo >= 0:
            body["port_range_min"], body["port_range_max"] = lo, hi
    if rule.remote_group_id:
        body["remote_group_id"] = rule.remote_group_id
    elif rule.cidr:
        body["remote_ip_prefix"] = rule.cidr
    if rule.description:
        body["description"] = rule.description
    return body


def group_from(g: Mapping[str, Any]) -> SecurityGroup:
    return SecurityGroup(id=g.get("id", ""), name=g.get("name") or "", description=g.get("description") or "",
                         owner=g.get("project_id") or g.get("tenant_id") or "",
                         rules=[rule_from(r) for r in g.get("security_group_rules") or ()])


# ---- volumes and snapshots -----------------------------------------------------------------------------------
_VOLUME_STATES = {
    "creating": VolumeState.CREATING, "downloading": VolumeState.CREATING, "available": VolumeState.AVAILABLE,
    "reserved": VolumeState.ATTACHING, "attaching": VolumeState.ATTACHING, "in-use": VolumeState.IN_USE,
    "detaching": VolumeState.DETACHING, "deleting": VolumeState.DELETING,
}


# an attachment being made ("reserved": Nova holds the volume for one) or undone, from the volume's state
_ATTACHMENT_STATE = {VolumeState.ATTACHING: "attaching", VolumeState.DETACHING: "detaching"}


def volume_state(status: str | None, attached: bool = False) -> VolumeState:
    status = status or ""
    if status in _VOLUME_STATES:
        return _VOLUME_STATES[status]
    if status.startswith("error"):
        return VolumeState.ERROR
    # extending, retyping, backing-up, uploading, maintenance...: usable, busy for a moment
    return VolumeState.IN_USE if attached else VolumeState.AVAILABLE


def volume_from(v: Mapping[str, Any]) -> Volume:
    atts = [Attachment(volume_id=v.get("id", ""), server_id=a.get("server_id", ""), device=a.get("device"),
                       attached_at=parse_time(a.get("attached_at")))
            for a in v.get("attachments") or () if a.get("server_id")]
    return Volume(id=v.get("id", ""), size_gib=int(v.get("size") or 0),
                  state=volume_state(v.get("status"), bool(atts)), zone=v.get("availability_zone") or "",
                  created=parse_time(v.get("created_at")) or _epoch(), snapshot_id=v.get("snapshot_id") or None,
                  volume_type=v.get("volume_type") or None, name=v.get("name") or None, attachments=atts,
                  encrypted=bool(v.get("encrypted")), multiattach=bool(v.get("multiattach")))


_SNAPSHOT_STATES = {"creating": "pending", "available": "completed", "deleting": "deleting",
                    "unmanaging": "deleting", "deleted": "deleting", "backing-up": "completed",
                    "restoring": "completed"}


def snapshot_state(status: str | None) -> str:
    status = status or ""
    return "error" if status.startswith("error") else _SNAPSHOT_STATES.get(status, "pending")


def snapshot_from(s: Mapping[str, Any], encrypted: bool = False) -> Snapshot:
    """`encrypted`: whether its volume is (Cinder's snapshot view does not say)."""
    state = snapshot_state(s.get("status"))
    progress = s.get("os-extended-snapshot-attributes:progress") or ("100%" if state == "completed" else "0%")
    return Snapshot(id=s.get("id", ""), volume_id=s.get("volume_id") or None, size_gib=int(s.get("size") or 0),
                    state=state, created=parse_time(s.get("created_at")) or _epoch(),
                    description=s.get("description") or None, progress=str(progress),
                    owner=s.get("os-extended-snapshot-attributes:project_id") or "", encrypted=encrypted)


# ---- floating addresses --------------------------------------------------------------------------------------
def address_from(fip: Mapping[str, Any], device_by_port: Mapping[str, str],
                 pool_names: Mapping[str, str]) -> FloatingAddress:
    port = fip.get("port_id") or None
    return FloatingAddress(id=fip.get("id", ""), ip=fip.get("floating_ip_address", ""),
                           pool=pool_names.get(fip.get("floating_network_id", "")) or fip.get("floating_network_id"),
                           port_id=port, server_id=device_by_port.get(port) if port else None,
                           fixed_ip=fip.get("fixed_ip_address") or None)


def is_server_port(port: Mapping[str, Any]) -> bool:
    return str(port.get("device_owner") or "").startswith("compute:")
