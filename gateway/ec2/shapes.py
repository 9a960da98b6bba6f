"""AWS output shapes built from the model (gateway/ec2/model.py), for the handlers' edge: an Instance as
DescribeInstances/RunInstances show it, the frozen form of a terminated one, a state, a reservation.

Pure functions of a record (no I/O); the handlers of several families share them, so they live below the
handlers, beside the model.
"""

from __future__ import annotations

from typing import Any

from backends.compute import ServerState

from . import instance_options
from .ids import derive
from .model import (
    PENDING,
    SHUTTING_DOWN,
    STOPPED,
    STOPPING,
    TERMINATED,
    Address,
    Ami,
    GroupRef,
    Instance,
    Interface,
    PublicAssociation,
    State,
    ec2_state,
)
from .output import compact, iso

_SHUTDOWN_REASON = {"Code": "Client.UserInitiatedShutdown",
                    "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}


def state(pair: State) -> dict[str, Any]:
    return {"Code": pair[1], "Name": pair[0]}


def _dns(ip: str | None, region: str, is_public: bool) -> str:
    if not ip or ":" in ip:
        return ""
    dashed = ip.replace(".", "-")
    return f"ec2-{dashed}.{region}.compute.internal" if is_public else f"ip-{dashed}.{region}.compute.internal"


def instance(inst: Instance, region: str) -> dict[str, Any]:
    """The Instance output shape."""
    if inst.frozen is not None and inst.server is None:
        return compact({**inst.frozen, "Tags": inst.tags})
    server = inst.server
    assert server is not None
    record, attrs = inst.record, inst.attrs
    pair = ec2_state(server)  # the cloud's view; inst.state may say shutting-down (terminated here)
    private = next((a.ip for a in server.addresses if not a.floating and a.version == 4), None)
    public_ip = next((a.ip for a in server.addresses if a.floating and a.version == 4), None)
    reason = None
    if server.state == ServerState.ERROR:
        reason = {"Code": "Server.InternalError", "Message": f"Server.InternalError: {server.fault or 'error'}"}
    elif pair in (STOPPED, STOPPING, SHUTTING_DOWN, TERMINATED):
        reason = _SHUTDOWN_REASON
    item = compact({
        "InstanceId": inst.id,
        "ImageId": inst.image_id,
        "State": state(inst.state if server.state != ServerState.DELETED else TERMINATED),
        "PrivateDnsName": _dns(private, region, False),
        "PublicDnsName": _dns(public_ip, region, True),
        "StateTransitionReason": "User initiated" if pair in (STOPPED, TERMINATED) else "",
        "KeyName": server.key_name,
        "AmiLaunchIndex": record.get("index", server.launch_index),
        "ProductCodes": [],
        "InstanceType": server.flavor_name,
        "LaunchTime": iso(server.launched_at or server.created),
        "Placement": {"AvailabilityZone": server.zone or "", "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"},
        "PrivateIpAddress": private,
        "PublicIpAddress": public_ip,
        "StateReason": reason,
        "Architecture": "x86_64",
        "RootDeviceType": "ebs" if server.boot_from_volume or record.get("ebs_root") else "instance-store",
        "RootDeviceName": server.root_device or record.get("root_device") or "/dev/sda1",
        "BlockDeviceMappings": [{"DeviceName": v.device, "Ebs": compact({
            "AttachTime": v.attach_time, "DeleteOnTermination": v.delete_on_termination, "Status": v.status,
            "VolumeId": v.volume_id})} for v in inst.volumes],
        "VirtualizationType": "hvm",
        "ClientToken": record.get("client_token", ""),
        "Tags": inst.tags,
        "SecurityGroups": _groups(inst.groups),
        "SourceDestCheck": attrs["sourceDestCheck"],
        "Hypervisor": "xen",
        "EbsOptimized": False,
        "EnaSupport": False,
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "MetadataOptions": instance_options.shown(record),
    })
    if server.state == ServerState.DELETED:
        return terminated(item)
    if inst.vpc is not None:
        vpc = inst.vpc
        item.update(VpcId=vpc.vpc_id, SubnetId=vpc.subnet_id, SourceDestCheck=vpc.source_dest_check,
                    NetworkInterfaces=[instance_interface(n, region) for n in vpc.interfaces])
        if vpc.private_ip:
            item["PrivateIpAddress"] = vpc.private_ip
            item["PrivateDnsName"] = vpc.private_dns
        if vpc.groups:
            item["SecurityGroups"] = _groups(vpc.groups)
    return item


def _groups(groups: list[GroupRef]) -> list[dict[str, str]]:
    return [compact({"GroupName": g.name, "GroupId": g.id}) for g in groups]


def _dns_name(ip: str | None, region: str) -> str | None:
    return f"ip-{ip.replace('.', '-')}.{region}.compute.internal" if ip and ":" not in ip else None


def _association(a: PublicAssociation, owner: str, region: str) -> dict[str, Any]:
    return compact({"PublicIp": a.public_ip, "IpOwnerId": owner, "AllocationId": a.allocation_id,
                    "AssociationId": a.association_id,
                    "PublicDnsName": f"ec2-{a.public_ip.replace('.', '-')}.{region}.compute.amazonaws.com"})


def interface(i: Interface, region: str) -> dict[str, Any]:
    """The NetworkInterface output shape."""
    port, att, primary = i.port, i.attachment, i.primary_ip
    assoc = {ip: _association(a, i.owner, region) for ip, a in i.associations.items()}
    return compact({
        "NetworkInterfaceId": i.id, "SubnetId": i.subnet.ec2_id, "VpcId": i.vpc_id,
        "AvailabilityZone": i.subnet.subnet.zone or "", "Description": port.description, "OwnerId": i.owner,
        "RequesterManaged": i.requester_managed, "Status": "in-use" if i.in_use else "available",
        "MacAddress": port.mac, "PrivateIpAddress": primary, "PrivateDnsName": _dns_name(primary, region),
        "SourceDestCheck": port.source_dest_check, "Groups": _groups_id_first(i.groups),
        "Attachment": compact({
            "AttachmentId": att.id, "InstanceId": att.instance_id, "InstanceOwnerId": i.owner,
            "DeviceIndex": att.device_index, "Status": "attached", "AttachTime": att.attach_time,
            "DeleteOnTermination": att.delete_on_termination, "NetworkCardIndex": 0}) if att else None,
        "Association": assoc.get(primary or ""),
        "PrivateIpAddresses": [compact({"PrivateIpAddress": ip, "PrivateDnsName": _dns_name(ip, region),
                                        "Primary": n == 0, "Association": assoc.get(ip)})
                               for n, ip in enumerate(i.ips)],
        "InterfaceType": "nat_gateway" if i.requester_managed else "interface",
        "Ipv6Addresses": [], "TagSet": i.tags,
    })


def _groups_id_first(groups: list[GroupRef]) -> list[dict[str, str]]:
    return [compact({"GroupId": g.id, "GroupName": g.name}) for g in groups]


def instance_interface(i: Interface, region: str) -> dict[str, Any]:
    """An InstanceNetworkInterface: what DescribeInstances shows of an instance's interface."""
    ni = interface(i, region)
    out = {k: v for k, v in ni.items() if k not in ("TagSet", "AvailabilityZone", "RequesterManaged",
                                                      "Ipv6Addresses")}
    if ni.get("Attachment"):
        out["Attachment"] = {k: v for k, v in ni["Attachment"].items() if k not in ("InstanceId", "InstanceOwnerId")}
    assoc_keys = ("PublicIp", "PublicDnsName", "IpOwnerId")
    if ni.get("Association"):
        out["Association"] = {k: ni["Association"][k] for k in assoc_keys if k in ni["Association"]}
    out["PrivateIpAddresses"] = [{**a, **({"Association": {k: a["Association"][k] for k in assoc_keys
                                                             if k in a["Association"]}} if a.get("Association")
                                          else {})} for a in ni.get("PrivateIpAddresses") or []]
    return out


def terminated(item: dict[str, Any]) -> dict[str, Any]:
    """How a terminated instance looks: no addresses, volumes or VPC, state 48."""
    out = {k: v for k, v in item.items()
           if k not in ("PrivateIpAddress", "PublicIpAddress", "BlockDeviceMappings", "VpcId", "SubnetId",
                        "NetworkInterfaces")}
    out.update(State=state(TERMINATED), PrivateDnsName="", PublicDnsName="", BlockDeviceMappings=[],
               StateTransitionReason="User initiated", StateReason=dict(_SHUTDOWN_REASON))
    return out


def launched(inst: Instance, region: str) -> dict[str, Any]:
    """An instance as RunInstances answers it: pending."""
    return {**instance(inst, region), "State": state(PENDING)}


def _add_groups(groups: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """A reservation lists its instances' security groups when they are outside any VPC (EC2-Classic
    style, as AWS did and the EC2 suite checks when the account supports the EC2 platform)."""
    if item.get("VpcId"):
        return
    for g in item.get("SecurityGroups") or []:
        if g not in groups:
            groups.append(g)


def reservations(pairs: list[tuple[Instance, dict[str, Any]]], owner: str) -> list[dict[str, Any]]:
    """Group (instance, Instance shape) pairs into Reservations, keeping their order."""
    out: dict[str, dict[str, Any]] = {}
    for inst, item in pairs:
        rid = inst.reservation_id or derive("reservation", inst.id)
        res = out.setdefault(rid, {"ReservationId": rid, "OwnerId": owner, "Groups": [], "Instances": []})
        _add_groups(res["Groups"], item)
        res["Instances"].append(item)
    return list(out.values())


def address(a: Address, region: str, owner: str) -> dict[str, Any]:
    """The Address output shape."""
    out: dict[str, Any] = {"PublicIp": a.public_ip, "Domain": a.domain, "PublicIpv4Pool": a.pool,
                           "InstanceId": a.instance_id, "PrivateIpAddress": a.private_ip,
                           "NetworkBorderGroup": region}
    if a.domain == "vpc":
        out.update(AllocationId=a.allocation_id, AssociationId=a.association_id, Tags=a.tags,
                   NetworkInterfaceId=a.interface_id)
        if a.associated:
            out["NetworkInterfaceOwnerId"] = owner
    return compact(out)


_IMAGE_STATES = {"pending": "pending", "available": "available", "failed": "failed", "deregistered": "deregistered"}


def image(ami: Ami) -> dict[str, Any]:
    """The Image output shape."""
    img = ami.image
    return compact({
        "ImageId": ami.id, "ImageLocation": img.properties.get("location") or f"{img.owner}/{img.name}",
        "State": _IMAGE_STATES.get(img.state, "failed"), "OwnerId": img.owner, "CreationDate": iso(img.created),
        "Public": img.public, "Architecture": img.architecture or "x86_64", "ImageType": "machine",
        "Name": img.name, "Description": img.description,
        "RootDeviceType": "ebs" if ami.ebs_backed else "instance-store",
        "RootDeviceName": img.root_device or "/dev/sda1",
        "BlockDeviceMappings": [{"DeviceName": device, "Ebs": compact({
            "SnapshotId": snapshot, "VolumeSize": size, "DeleteOnTermination": True, "VolumeType": "standard",
            "Encrypted": False})} for device, snapshot, size in ami.block_devices],
        "VirtualizationType": "hvm", "Hypervisor": "xen", "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances", "Tags": ami.tags,
    })
