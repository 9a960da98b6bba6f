"""The neutral compute contract: servers, images, key pairs, security groups, volumes, snapshots,
floating addresses, zones and flavors — as a cloud holds them, with no AWS vocabulary beyond what the
concept needs. The gateway's EC2 layer maps these to EC2 shapes, states and ids.

States are neutral lifecycles; the backend maps its own (Nova's BUILD/ACTIVE/SHUTOFF..., CloudStack's
Starting/Running/Stopped...) onto them. Ids are the backend's own (UUIDs); EC2 ids are the gateway's.
Errors are the neutral ones of `backends.base` (NotFound(kind=...), Conflict, QuotaExceeded...).
NotFound kinds: "server", "image", "flavor", "keypair", "security_group", "security_group_rule", "volume",
"snapshot", "attachment" (the volume is not attached there), "address", "network", "zone".
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class ServerState(StrEnum):
    BUILDING = "building"      # being created
    ACTIVE = "active"          # running
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    REBOOTING = "rebooting"
    DELETING = "deleting"
    DELETED = "deleted"        # gone from the cloud (the gateway may still remember it)
    ERROR = "error"


class VolumeState(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    IN_USE = "in-use"
    ATTACHING = "attaching"
    DETACHING = "detaching"
    DELETING = "deleting"
    ERROR = "error"


@dataclass
class Flavor:
    id: str
    name: str
    vcpus: int
    ram_mib: int
    disk_gib: int


@dataclass
class Zone:
    name: str
    available: bool = True


@dataclass
class ServerAddress:
    ip: str
    version: int = 4
    floating: bool = False
    mac: str | None = None
    port_id: str | None = None
    network_id: str | None = None


@dataclass
class Attachment:
    volume_id: str
    server_id: str
    device: str | None = None
    attached_at: dt.datetime | None = None
    delete_on_termination: bool = False
    state: str = "attached"  # attaching | attached | detaching


@dataclass
class Server:
    id: str
    name: str
    state: ServerState
    flavor_name: str
    image_id: str | None
    created: dt.datetime
    key_name: str | None = None
    zone: str | None = None
    launched_at: dt.datetime | None = None
    addresses: list[ServerAddress] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)  # group ids
    attachments: list[Attachment] = field(default_factory=list)
    user_data: str | None = None  # base64 text, as given
    metadata: dict[str, str] = field(default_factory=dict)
    root_device: str | None = None
    boot_from_volume: bool = False
    reservation_id: str | None = None
    launch_index: int = 0
    fault: str | None = None  # why it is in ERROR, for StateReason


@dataclass
class ServerSpec:
    """What to create. count_min/count_max as EC2's MinCount/MaxCount (all-or-nothing on count_min)."""

    name: str
    image_id: str
    flavor_name: str
    count_min: int = 1
    count_max: int = 1
    key_name: str | None = None
    security_groups: list[str] = field(default_factory=list)  # group ids
    user_data: str | None = None
    zone: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # Block devices: (device name, size GiB or None, snapshot id or None, delete on termination)
    volumes: list[tuple[str, int | None, str | None, bool]] = field(default_factory=list)
    # The image's root device when the image boots from a volume (an EBS-backed image): a `volumes` entry
    # for that device overrides the image's root volume (size, delete on termination)
    root_device: str | None = None
    network_id: str | None = None
    ports: list[str] = field(default_factory=list)  # boot on these existing ports (one server), in order
    client_token: str | None = None


@dataclass
class Image:
    id: str
    name: str
    state: str  # "pending" | "available" | "failed" | "deregistered" (neutral: queued→pending, active→available)
    owner: str  # the owning project/account id
    public: bool
    created: dt.datetime | None = None
    description: str | None = None
    architecture: str = "x86_64"
    disk_format: str | None = None
    size: int | None = None
    root_device: str | None = None
    block_devices: list[tuple[str, str | None, int | None]] = field(default_factory=list)  # (device, snapshot id, GiB)
    shared_with: list[str] = field(default_factory=list)  # project ids granted launch permission
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class KeyPair:
    name: str
    fingerprint: str  # as the cloud reports it; the gateway computes AWS's fingerprints itself
    public_key: str
    created: dt.datetime | None = None
    id: str | None = None


@dataclass
class SecurityRule:
    id: str
    group_id: str
    egress: bool
    protocol: str | None  # "tcp" | "udp" | "icmp" | a number as text | None = all
    port_min: int | None = None
    port_max: int | None = None
    cidr: str | None = None  # IPv4 or IPv6 CIDR
    remote_group_id: str | None = None
    description: str | None = None
    ethertype: str = "IPv4"


@dataclass
class SecurityGroup:
    id: str
    name: str
    description: str
    owner: str
    rules: list[SecurityRule] = field(default_factory=list)
    network_id: str | None = None  # a VPC's network, when the cloud scopes groups


@dataclass
class Volume:
    id: str
    size_gib: int
    state: VolumeState
    zone: str
    created: dt.datetime
    snapshot_id: str | None = None
    volume_type: str | None = None
    name: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    encrypted: bool = False
    multiattach: bool = False


@dataclass
class Snapshot:
    id: str
    volume_id: str | None
    size_gib: int
    state: str  # "pending" | "completed" | "error" | "deleting"
    created: dt.datetime
    description: str | None = None
    progress: str = "100%"
    owner: str = ""
    encrypted: bool = False  # taken from its volume: a volume made from it is encrypted too


@dataclass
class FloatingAddress:
    id: str
    ip: str
    pool: str | None = None
    port_id: str | None = None
    server_id: str | None = None
    fixed_ip: str | None = None


class Compute(abc.ABC):
    """Compute, images, block storage and addresses as one caller (project/account) sees them."""

    # True when the cloud refuses to delete a volume while it has snapshots (Cinder): the gateway then hides
    # the volume and deletes it after its last snapshot (gateway/ec2/deferred_volumes.py), as snapshots
    # outlive their volume on AWS. False when the cloud deletes such a volume itself (CloudStack).
    keeps_volumes_with_snapshots: bool = False

    # -- catalogue ---------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_zones(self) -> list[Zone]: ...

    @abc.abstractmethod
    async def list_flavors(self) -> list[Flavor]: ...

    # -- servers -------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_servers(self, ids: list[str] | None = None) -> list[Server]:
        """Every server of the caller (or those ids), in one backend round trip where the cloud can."""

    @abc.abstractmethod
    async def create_servers(self, spec: ServerSpec) -> list[Server]:
        """Start creating; returns at once with servers in BUILDING (never waits for ACTIVE)."""

    @abc.abstractmethod
    async def start_server(self, server_id: str) -> None: ...

    @abc.abstractmethod
    async def stop_server(self, server_id: str, force: bool = False) -> None: ...

    @abc.abstractmethod
    async def reboot_server(self, server_id: str) -> None: ...

    @abc.abstractmethod
    async def delete_server(self, server_id: str) -> None: ...

    @abc.abstractmethod
    async def update_server(self, server_id: str, *, name: str | None = None,
                            metadata: dict[str, str] | None = None,
                            security_groups: list[str] | None = None) -> None: ...

    @abc.abstractmethod
    async def console_output(self, server_id: str) -> str: ...

    async def password_data(self, server_id: str) -> str:
        """The encrypted administrator password the guest posted (Windows guests), base64; "" when none.
        Optional: clouds without the concept keep the default."""
        return ""

    async def resize_server(self, server_id: str, flavor_name: str) -> None:
        """Change a (stopped) server's flavor, confirming any resize step the cloud needs. Optional:
        clouds that cannot resize raise NotSupported."""
        from .base import NotSupported

        raise NotSupported("resizing servers is not supported by this cloud")

    async def quotas(self) -> dict[str, int]:
        """The caller's limits the cloud knows, by neutral name: "servers", "volumes", "gigabytes",
        "snapshots", "addresses", "security_groups", "security_group_rules", "keypairs" (-1 = unlimited).
        Optional: {} when the cloud cannot tell."""
        return {}

    # -- images ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_images(self, ids: list[str] | None = None) -> list[Image]:
        """Images the caller may see: own, public and shared with them."""

    @abc.abstractmethod
    async def create_image(self, server_id: str, name: str, description: str | None = None) -> Image: ...

    @abc.abstractmethod
    async def register_image(self, name: str, *, location: str | None = None,
                             block_devices: list[tuple[str, str | None, int | None]] | None = None,
                             root_device: str | None = None, architecture: str | None = None,
                             description: str | None = None) -> Image: ...

    @abc.abstractmethod
    async def delete_image(self, image_id: str) -> None: ...

    @abc.abstractmethod
    async def update_image(self, image_id: str, *, description: str | None = None,
                           public: bool | None = None, add_members: list[str] | None = None,
                           remove_members: list[str] | None = None) -> None: ...

    # -- key pairs --------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_keypairs(self) -> list[KeyPair]: ...

    @abc.abstractmethod
    async def import_keypair(self, name: str, public_key: str) -> KeyPair:
        """AlreadyExists on a duplicate name. (Key generation is the gateway's: clouds differ.)"""

    @abc.abstractmethod
    async def delete_keypair(self, name: str) -> None: ...

    # -- security groups ---------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_security_groups(self, ids: list[str] | None = None) -> list[SecurityGroup]: ...

    @abc.abstractmethod
    async def create_security_group(self, name: str, description: str,
                                    network_id: str | None = None) -> SecurityGroup: ...

    @abc.abstractmethod
    async def delete_security_group(self, group_id: str) -> None:
        """Conflict while in use."""

    @abc.abstractmethod
    async def add_security_rule(self, rule: SecurityRule) -> SecurityRule:
        """AlreadyExists for a duplicate rule. `rule.id` is ignored on input."""

    @abc.abstractmethod
    async def delete_security_rule(self, rule_id: str) -> None: ...

    # -- volumes and snapshots ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_volumes(self, ids: list[str] | None = None) -> list[Volume]: ...

    @abc.abstractmethod
    async def create_volume(self, size_gib: int | None, zone: str | None, *, snapshot_id: str | None = None,
                            volume_type: str | None = None, name: str | None = None,
                            encrypted: bool = False) -> Volume:
        """`encrypted`: an encrypted volume, in whatever way the cloud encrypts (the backend picks how;
        NotSupported when it cannot, or not from that snapshot). A volume made from an encrypted snapshot
        is encrypted whatever `encrypted` says."""

    @abc.abstractmethod
    async def delete_volume(self, volume_id: str) -> None:
        """Conflict while attached (and, where `keeps_volumes_with_snapshots`, while it has snapshots)."""

    async def update_volume(self, volume_id: str, *, name: str | None = None,
                            description: str | None = None) -> None:
        """Rename/describe a volume (for operators: e.g. "deleted, kept for its snapshots"). Optional."""
        from .base import NotSupported

        raise NotSupported("renaming a volume is not supported")

    @abc.abstractmethod
    async def attach_volume(self, volume_id: str, server_id: str, device: str | None) -> Attachment: ...

    @abc.abstractmethod
    async def detach_volume(self, volume_id: str, server_id: str | None = None, force: bool = False) -> None: ...

    async def set_delete_on_termination(self, server_id: str, volume_id: str, delete: bool) -> None:
        """Whether the cloud deletes an attached volume when it deletes the server. Optional."""
        from .base import NotSupported

        raise NotSupported("changing whether an attached volume is deleted with its server is not supported")

    @abc.abstractmethod
    async def extend_volume(self, volume_id: str, size_gib: int) -> None: ...

    @abc.abstractmethod
    async def list_snapshots(self, ids: list[str] | None = None) -> list[Snapshot]: ...

    @abc.abstractmethod
    async def create_snapshot(self, volume_id: str, description: str | None = None) -> Snapshot: ...

    @abc.abstractmethod
    async def delete_snapshot(self, snapshot_id: str) -> None: ...

    # -- floating addresses -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def list_addresses(self) -> list[FloatingAddress]: ...

    @abc.abstractmethod
    async def allocate_address(self) -> FloatingAddress: ...

    @abc.abstractmethod
    async def release_address(self, address_id: str) -> None: ...

    @abc.abstractmethod
    async def associate_address(self, address_id: str, server_id: str, fixed_ip: str | None = None) -> None: ...

    @abc.abstractmethod
    async def disassociate_address(self, address_id: str) -> None: ...

    async def close(self) -> None:
        """Release per-caller resources (optional)."""
        return
