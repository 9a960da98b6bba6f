"""Typed records of the EC2 resources the handlers act on: the EC2 id, the backend id and what handlers need,
loaded by the lookup layer (gateway/ec2/lookups/). The AWS output shapes are built from these at the
handler's edge (gateway/ec2/shapes.py); nothing here is an output dict, and handlers never read state back
out of one.

The bottom layer of gateway.ec2 (the `ec2-layers` contract in .importlinter): it imports no other EC2 module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backends.compute import Image, Server, ServerState
from backends.network import Port, Subnet, Vpc

# ---- instances ------------------------------------------------------------------------------------------------
State = tuple[str, int]  # (Name, Code) as EC2 shows an instance state
PENDING, RUNNING, SHUTTING_DOWN, TERMINATED, STOPPING, STOPPED = (
    ("pending", 0), ("running", 16), ("shutting-down", 32), ("terminated", 48), ("stopping", 64), ("stopped", 80))
_STATES = {
    ServerState.BUILDING: PENDING, ServerState.STARTING: PENDING, ServerState.ACTIVE: RUNNING,
    ServerState.REBOOTING: RUNNING, ServerState.STOPPING: STOPPING, ServerState.STOPPED: STOPPED,
    ServerState.DELETING: SHUTTING_DOWN, ServerState.DELETED: TERMINATED,
}
DEFAULT_ATTRS: dict[str, Any] = {"disableApiTermination": False, "disableApiStop": False,
                                 "instanceInitiatedShutdownBehavior": "stop", "sourceDestCheck": True}


def ec2_state(server: Server) -> State:
    """The EC2 state of a server. A server in ERROR that never ran failed to launch: AWS shows such an
    instance as terminated (Server.InternalError); one that ran shows as stopped."""
    if server.state == ServerState.ERROR:
        return TERMINATED if server.launched_at is None else STOPPED
    return _STATES.get(server.state, PENDING)


@dataclass(frozen=True)
class GroupRef:
    """A security group as an instance or interface names it."""
    id: str          # EC2 id (sg-…)
    name: str | None


@dataclass(frozen=True)
class AttachedVolume:
    """A volume attached to an instance, as its block device mapping shows it."""
    device: str
    volume_id: str   # EC2 id
    status: str
    attach_time: str | None
    delete_on_termination: bool


@dataclass(frozen=True)
class InterfaceRef:
    """A network interface an instance is attached to: what terminating the instance needs."""
    port_id: str     # backend id
    eni_id: str      # EC2 id
    delete_on_termination: bool


@dataclass
class InstanceVpc:
    """The VPC members of an instance in a VPC (from its interfaces, primary first)."""
    vpc_id: str
    subnet_id: str
    source_dest_check: bool
    private_ip: str | None
    private_dns: str | None
    groups: list[GroupRef]
    interfaces: list[Interface]        # device order
    enis: list[InterfaceRef]


@dataclass
class Instance:
    """One EC2 instance: the cloud's server (None once only the gateway's terminated record is left), the
    gateway-held record (ec2:instance) and the EC2 ids of what it refers to."""
    id: str                              # EC2 id (i-…)
    server: Server | None
    record: dict[str, Any]               # the ec2:instance record as stored (reservation, attrs, devices…)
    state: State
    reservation_id: str
    image_id: str | None = None          # EC2 id
    groups: list[GroupRef] = field(default_factory=list)
    volumes: list[AttachedVolume] = field(default_factory=list)
    tags: list[dict[str, str]] | None = None
    vpc: InstanceVpc | None = None
    frozen: dict[str, Any] | None = None  # a terminated instance: the Instance shape AWS keeps showing

    @property
    def server_id(self) -> str | None:
        """The backend id."""
        return self.server.id if self.server is not None else self.record.get("server")

    @property
    def attrs(self) -> dict[str, Any]:
        return {**DEFAULT_ATTRS, **self.record.get("attrs", {})}

    @property
    def user_data(self) -> str | None:
        return self.attrs.get("userData", self.server.user_data if self.server is not None else None)

    @property
    def instance_type(self) -> str | None:
        if self.server is not None:
            return self.server.flavor_name
        return (self.frozen or {}).get("InstanceType")

    @property
    def in_vpc(self) -> bool:
        return self.vpc is not None


# ---- addresses --------------------------------------------------------------------------------------------------
@dataclass
class Address:
    """An elastic IP (the cloud's floating address) and its gateway-held domain."""
    allocation_id: str                   # EC2 id (eipalloc-…)
    backend_id: str
    public_ip: str
    domain: str                          # standard | vpc
    pool: str | None
    instance_id: str | None              # EC2 id of the instance it is associated with
    private_ip: str | None               # the fixed address it maps to, when associated
    port_id: str | None                  # backend id of the port it is associated with
    association_id: str | None = None    # vpc domain, associated
    interface_id: str | None = None      # vpc domain, associated with a port: its EC2 id
    tags: list[dict[str, str]] | None = None

    @property
    def associated(self) -> bool:
        return self.private_ip is not None


# ---- VPCs, subnets, network interfaces ----------------------------------------------------------------------------
@dataclass
class VpcView:
    """A VPC: the cloud's model and the gateway-held record (ec2:vpc)."""
    vpc: Vpc
    ec2_id: str
    record: dict[str, Any]


@dataclass
class SubnetView:
    """A subnet: the cloud's model and the gateway-held record (ec2:subnet)."""
    subnet: Subnet
    ec2_id: str
    vpc_ec2_id: str
    record: dict[str, Any]


@dataclass(frozen=True)
class InterfaceAttachment:
    id: str                              # EC2 attachment id
    instance_id: str | None
    device_index: int
    attach_time: str | None
    delete_on_termination: bool


@dataclass(frozen=True)
class PublicAssociation:
    """The public address one private address of an interface maps to."""
    public_ip: str
    allocation_id: str | None            # vpc-domain addresses only
    association_id: str | None


@dataclass
class Interface:
    """A network interface: a cloud port in one of a VPC's subnets, and what the gateway holds of it (ec2:eni)."""
    id: str                              # EC2 id (eni-…)
    port: Port
    subnet: SubnetView
    owner: str                           # account id
    ips: list[str]                       # private addresses, the primary first
    groups: list[GroupRef]
    associations: dict[str, PublicAssociation]  # private address -> public address
    server_id: str | None                # backend id of the server it is attached to
    attachment: InterfaceAttachment | None
    requester_managed: bool              # a NAT gateway's
    tags: list[dict[str, str]] | None = None

    @property
    def vpc_id(self) -> str:
        return self.subnet.vpc_ec2_id

    @property
    def primary_ip(self) -> str | None:
        return self.ips[0] if self.ips else None

    @property
    def in_use(self) -> bool:
        return bool(self.server_id or self.port.device_id)


# ---- images -------------------------------------------------------------------------------------------------------
@dataclass
class Ami:
    """An image (the cloud's) with its EC2 id and the EC2 ids of the snapshots it maps."""
    id: str                              # EC2 id (ami-…)
    image: Image
    block_devices: list[tuple[str, str | None, int | None]]  # (device, snapshot EC2 id, GiB)
    tags: list[dict[str, str]] | None = None

    @property
    def backend_id(self) -> str:
        return self.image.id

    @property
    def ebs_backed(self) -> bool:
        return ebs_backed(self.image)


def ebs_backed(image: Image) -> bool:
    """Its root device is a snapshot: instances launched from it boot from a volume."""
    return bool(image.root_device) and any(d == image.root_device for d, _, _ in image.block_devices)
