"""EC2 key pairs, security groups, volumes, snapshots, addresses, images and tags over HTTP through cloudgate
on the real devcloud OpenStack — and tenant B's isolation from every one of tenant A's resources.

Same ground rules as tests/test_ec2_openstack.py: exact AWS codes and statuses, cleanup in `finally`,
bounded gentle waits, nothing touched that this module did not create.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.ec2_os_support import (  # noqa: F401 - fixtures
    WAIT,
    Gateway,
    ami_fixture,
    aws_cli,
    ec2a_fixture,
    ec2b_fixture,
    error_of,
    gw_fixture,
    instances_of,
    outcome,
    poll,
    quietly,
    terminate_and_wait,
)
from tests.openstack_env import openstack_env_fixture, principal  # noqa: F401 - fixture

SSH22 = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def _name() -> str:
    return f"cgt-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def pair(ec2a: Any, ami: str) -> Iterator[list[str]]:
    """Two running instances of tenant A."""
    ids: list[str] = []
    try:
        ids = [i["InstanceId"] for i in ec2a.run_instances(
            ImageId=ami, MinCount=2, MaxCount=2, InstanceType="t2.micro",
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": _name()}]}],
        )["Instances"]]
        ec2a.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
        yield ids
    finally:
        terminate_and_wait(ec2a, ids)


def _volume(client: Any, vid: str) -> dict[str, Any]:
    return client.describe_volumes(VolumeIds=[vid])["Volumes"][0]


def _delete_volume(client: Any, vid: str) -> None:
    """Cleanup: detach if needed, delete, wait (bounded) until it is gone."""
    quietly(lambda: client.detach_volume(VolumeId=vid))
    quietly(lambda: client.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT))
    quietly(lambda: client.delete_volume(VolumeId=vid))
    quietly(lambda: client.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=WAIT))


def _delete_snapshot(client: Any, sid: str) -> None:
    quietly(lambda: client.delete_snapshot(SnapshotId=sid))
    quietly(lambda: poll(lambda: outcome(client.describe_snapshots, SnapshotIds=[sid]),
                         lambda code: code is not None and code[0] == "InvalidSnapshot.NotFound", timeout=60, interval=2))


# ---- key pairs ---------------------------------------------------------------------------------------------------
def test_key_pairs_create_import_duplicate_and_fingerprints(gw: Gateway, ec2a: Any, ec2b: Any) -> None:
    created, imported = _name(), _name()
    try:
        key = ec2a.create_key_pair(KeyName=created)
        # AWS: a created RSA key's fingerprint is the SHA-1 of its PKCS#8 DER private key, colon-hex
        assert re.fullmatch(r"([0-9a-f]{2}:){19}[0-9a-f]{2}", key["KeyFingerprint"])
        private = serialization.load_pem_private_key(key["KeyMaterial"].encode(), password=None)
        der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        assert key["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())  # noqa: S324
        assert key["KeyPairId"].startswith("key-")
        assert error_of(ec2a.create_key_pair, KeyName=created) == ("InvalidKeyPair.Duplicate", 400)

        public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        material = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        out = ec2a.import_key_pair(KeyName=imported, PublicKeyMaterial=material)
        # AWS: an imported RSA key's fingerprint is the MD5 of its DER public key, colon-hex
        spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert out["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(spki).digest())  # noqa: S324
        assert error_of(ec2a.import_key_pair, KeyName=imported, PublicKeyMaterial=material) == \
            ("InvalidKeyPair.Duplicate", 400)
        assert error_of(ec2a.import_key_pair, KeyName=_name(), PublicKeyMaterial=b"not a key") == \
            ("InvalidKey.Format", 400)

        listed = {k["KeyName"]: k for k in ec2a.describe_key_pairs(KeyNames=[created, imported])["KeyPairs"]}
        assert listed[created]["KeyFingerprint"] == key["KeyFingerprint"]
        assert listed[imported]["KeyFingerprint"] == out["KeyFingerprint"]
        by_filter = ec2a.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [created[:8] + "*"]}])
        assert created in {k["KeyName"] for k in by_filter["KeyPairs"]}
        assert error_of(ec2a.describe_key_pairs, KeyNames=[_name()]) == ("InvalidKeyPair.NotFound", 400)
        cli = aws_cli(gw, "a", "ec2", "describe-key-pairs", "--key-names", imported)
        assert cli.returncode == 0 and json.loads(cli.stdout)["KeyPairs"][0]["KeyName"] == imported, cli.stderr

        # tenant B: cannot see, and deleting "its" key of that name leaves A's alone
        assert error_of(ec2b.describe_key_pairs, KeyNames=[created]) == ("InvalidKeyPair.NotFound", 400)
        assert created not in {k["KeyName"] for k in ec2b.describe_key_pairs()["KeyPairs"]}
        ec2b.delete_key_pair(KeyName=created)  # idempotent on AWS: succeeds, deletes nothing of A's
        assert ec2a.describe_key_pairs(KeyNames=[created])["KeyPairs"][0]["KeyPairId"] == key["KeyPairId"]

        ec2a.delete_key_pair(KeyName=created)
        assert error_of(ec2a.describe_key_pairs, KeyNames=[created]) == ("InvalidKeyPair.NotFound", 400)
    finally:
        quietly(lambda: ec2a.delete_key_pair(KeyName=created))
        quietly(lambda: ec2a.delete_key_pair(KeyName=imported))


# ---- security groups -----------------------------------------------------------------------------------------------
def test_security_groups_rules_duplicates_and_in_use(ec2a: Any, ec2b: Any, ami: str) -> None:
    name = _name()
    gid = None
    try:
        gid = ec2a.create_security_group(GroupName=name, Description="cloudgate test")["GroupId"]
        assert error_of(ec2a.create_security_group, GroupName=name, Description="again") == \
            ("InvalidGroup.Duplicate", 400)
        rules = ec2a.authorize_security_group_ingress(GroupId=gid, IpPermissions=SSH22)["SecurityGroupRules"]
        assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIpv4"]) for r in rules] == \
            [("tcp", 22, 22, "0.0.0.0/0")]
        assert error_of(ec2a.authorize_security_group_ingress, GroupId=gid, IpPermissions=SSH22) == \
            ("InvalidPermission.Duplicate", 400)
        (group,) = ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
        assert group["GroupName"] == name
        assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
                for p in group["IpPermissions"]] == [("tcp", 22, 22, ["0.0.0.0/0"])]
        found = ec2a.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["22"]},
                                                       {"Name": "group-name", "Values": [name]}])
        assert [g["GroupId"] for g in found["SecurityGroups"]] == [gid]

        # tenant B can neither see nor change it
        nf = ("InvalidGroup.NotFound", 400)
        assert error_of(ec2b.describe_security_groups, GroupIds=[gid]) == nf
        assert error_of(ec2b.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]) == nf
        assert error_of(ec2b.revoke_security_group_ingress, GroupId=gid, IpPermissions=SSH22) == nf
        assert error_of(ec2b.delete_security_group, GroupId=gid) == nf
        assert error_of(ec2b.create_tags, Resources=[gid], Tags=[{"Key": "k", "Value": "v"}]) == nf
        assert len(ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]) == 1

        ec2a.revoke_security_group_ingress(GroupId=gid, IpPermissions=SSH22)
        assert ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"] == []
        ec2a.authorize_security_group_ingress(GroupId=gid, IpPermissions=SSH22)

        # icmp + a group pair in one call: both read back as AWS shapes them (the EC2 suite's check)
        default_gid = ec2a.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
        mixed = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
                 {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": default_gid}]}]
        ec2a.authorize_security_group_ingress(GroupId=gid, IpPermissions=mixed)
        perms = ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]
        shapes = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), tuple(r["CidrIp"] for r in p["IpRanges"]),
                   tuple(g["GroupId"] for g in p["UserIdGroupPairs"])) for p in perms}
        assert shapes == {("tcp", 22, 22, ("0.0.0.0/0",), ()), ("icmp", -1, -1, ("10.0.0.0/8",), ()),
                          ("tcp", 1, 65535, (), (default_gid,))}, perms
        ec2a.revoke_security_group_ingress(GroupId=gid, IpPermissions=mixed)
        assert len(ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]) == 1

        # in use by an instance: DependencyViolation (as AWS answers for a group with a network interface)
        user = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                                  SecurityGroupIds=[gid])["Instances"][0]["InstanceId"]
        try:
            assert [g["GroupId"] for g in instances_of(ec2a.describe_instances(InstanceIds=[user]))[0][
                "SecurityGroups"]] == [gid]
            assert error_of(ec2a.delete_security_group, GroupId=gid) == ("DependencyViolation", 400)
        finally:
            terminate_and_wait(ec2a, [user])
        ec2a.delete_security_group(GroupId=gid)
        gid = None
        assert error_of(ec2a.describe_security_groups, GroupNames=[name]) == nf
    finally:
        if gid:
            quietly(lambda: ec2a.delete_security_group(GroupId=gid))


# ---- volumes and snapshots ---------------------------------------------------------------------------------------
def test_volumes_attach_echoes_device_and_in_use_rules(ec2a: Any, ec2b: Any, pair: list[str]) -> None:
    iid = pair[0]
    vid = None
    try:
        vol = ec2a.create_volume(AvailabilityZone="nova", Size=1, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": _name()}]}])
        vid = vol["VolumeId"]
        assert vol["State"] == "creating" and vol["Size"] == 1
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        assert error_of(ec2a.create_volume, AvailabilityZone="no-such-zone", Size=1) == ("InvalidZone.NotFound", 400)

        # tenant B cannot touch it
        nf = ("InvalidVolume.NotFound", 400)
        assert error_of(ec2b.describe_volumes, VolumeIds=[vid]) == nf
        assert vid not in {v["VolumeId"] for v in ec2b.describe_volumes()["Volumes"]}
        assert error_of(ec2b.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/vdc") == nf
        assert error_of(ec2b.delete_volume, VolumeId=vid) == nf
        assert error_of(ec2b.detach_volume, VolumeId=vid) == nf
        assert error_of(ec2b.modify_volume, VolumeId=vid, Size=2) == nf
        assert error_of(ec2b.create_snapshot, VolumeId=vid) == nf
        assert error_of(ec2b.create_tags, Resources=[vid], Tags=[{"Key": "k", "Value": "v"}]) == nf

        att = ec2a.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
        assert (att["Device"], att["InstanceId"], att["State"]) == ("/dev/vdb", iid, "attaching")
        ec2a.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        (attachment,) = _volume(ec2a, vid)["Attachments"]
        assert (attachment["Device"], attachment["InstanceId"], attachment["State"]) == ("/dev/vdb", iid, "attached")
        bdm = instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0]["BlockDeviceMappings"]
        assert [(m["DeviceName"], m["Ebs"]["VolumeId"]) for m in bdm] == [("/dev/vdb", vid)]
        assert [v["VolumeId"] for v in ec2a.describe_volumes(Filters=[
            {"Name": "attachment.device", "Values": ["/dev/vdb"]},
            {"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]] == [vid]
        assert error_of(ec2a.attach_volume, VolumeId=vid, InstanceId=pair[1], Device="/dev/vdc") == \
            ("VolumeInUse", 400)
        assert error_of(ec2a.delete_volume, VolumeId=vid) == ("VolumeInUse", 400)
        assert error_of(ec2b.detach_volume, VolumeId=vid) == nf
        assert _volume(ec2a, vid)["State"] == "in-use"

        detached = ec2a.detach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
        assert (detached["Device"], detached["State"]) == ("/dev/vdb", "detaching")
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        assert error_of(ec2a.detach_volume, VolumeId=vid) == ("IncorrectState", 400)
        # a short device name (no /dev/) is accepted and echoed as given, on both sides
        assert ec2a.attach_volume(VolumeId=vid, InstanceId=iid, Device="vdf")["Device"] == "vdf"
        ec2a.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        assert _volume(ec2a, vid)["Attachments"][0]["Device"] == "vdf"
        bdm = instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0]["BlockDeviceMappings"]
        assert [(m["DeviceName"], m["Ebs"]["VolumeId"]) for m in bdm] == [("vdf", vid)]
        ec2a.detach_volume(VolumeId=vid)
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        ec2a.delete_volume(VolumeId=vid)
        ec2a.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        vid = None
    finally:
        if vid:
            _delete_volume(ec2a, vid)


def test_reattach_at_the_same_device_as_soon_as_the_attachment_is_gone(ec2a: Any, pair: list[str]) -> None:
    """What the EC2 suite does: detach, wait only until DescribeVolumes lists no attachment, attach again at the
    same device. The cloud finishes a detach in steps after that (Cinder's "detaching", Nova's block-device
    mapping); the gateway must absorb them, not answer VolumeInUse."""
    iid, vid = pair[1], None
    try:
        vid = ec2a.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        for _ in range(3):
            assert ec2a.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdd")["State"] == "attaching"
            poll(lambda: [a["State"] for a in _volume(ec2a, vid)["Attachments"]], lambda s: s == ["attached"],
                 timeout=120, interval=0.5)
            assert ec2a.detach_volume(VolumeId=vid)["State"] == "detaching"
            poll(lambda: _volume(ec2a, vid)["Attachments"], lambda a: not a, timeout=120, interval=0.5)
    finally:
        if vid:
            _delete_volume(ec2a, vid)


def test_delete_on_termination_set_on_an_attached_volume_is_the_clouds_to_keep(ec2a: Any, ami: str) -> None:
    """ModifyInstanceAttribute BlockDeviceMappings DeleteOnTermination reaches Nova: terminating the
    instance deletes the volume (AWS behaviour), with nothing left for the gateway to do afterwards."""
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    vid = None
    try:
        ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        vid = ec2a.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        ec2a.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdh")
        ec2a.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        ec2a.modify_instance_attribute(InstanceId=iid, BlockDeviceMappings=[
            {"DeviceName": "/dev/sdh", "Ebs": {"VolumeId": vid, "DeleteOnTermination": True}}])
        (bdm,) = instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0]["BlockDeviceMappings"]
        assert (bdm["DeviceName"], bdm["Ebs"]["VolumeId"], bdm["Ebs"]["DeleteOnTermination"]) == ("/dev/sdh", vid, True)
        assert _volume(ec2a, vid)["Attachments"][0]["DeleteOnTermination"] is True  # the cloud's own flag
        ec2a.terminate_instances(InstanceIds=[iid])
        ec2a.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        vid = None
    finally:
        terminate_and_wait(ec2a, [iid])
        if vid:
            _delete_volume(ec2a, vid)


def test_snapshots_and_volumes_from_snapshots(ec2a: Any, ec2b: Any) -> None:
    vid = sid = restored = None
    try:
        vid = ec2a.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        snap = ec2a.create_snapshot(VolumeId=vid, Description="cloudgate test", TagSpecifications=[
            {"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": _name()}]}])
        sid = snap["SnapshotId"]
        assert (snap["VolumeId"], snap["State"], snap["VolumeSize"]) == (vid, "pending", 1)
        ec2a.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)
        own = ec2a.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [vid]}])
        assert [s["SnapshotId"] for s in own["Snapshots"]] == [sid]
        # DeleteVolume while it has snapshots: tests/test_ec2_os_volume_delete.py

        nf = ("InvalidSnapshot.NotFound", 400)
        assert error_of(ec2b.describe_snapshots, SnapshotIds=[sid]) == nf
        assert sid not in {s["SnapshotId"] for s in ec2b.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
        assert error_of(ec2b.delete_snapshot, SnapshotId=sid) == nf
        assert error_of(ec2b.create_volume, AvailabilityZone="nova", SnapshotId=sid) == nf

        restored = ec2a.create_volume(AvailabilityZone="nova", SnapshotId=sid)["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[restored], WaiterConfig=WAIT)
        item = _volume(ec2a, restored)
        assert (item["SnapshotId"], item["Size"]) == (sid, 1)
        _delete_volume(ec2a, restored)
        restored = None
        ec2a.delete_snapshot(SnapshotId=sid)
        poll(lambda: outcome(ec2a.describe_snapshots, SnapshotIds=[sid]), lambda c: c == nf, timeout=60,
             interval=2, what="the snapshot to go")
        sid = None
    finally:
        if restored:
            _delete_volume(ec2a, restored)
        if sid:
            _delete_snapshot(ec2a, sid)
        if vid:
            _delete_volume(ec2a, vid)


# ---- addresses ------------------------------------------------------------------------------------------------------
def test_addresses_allocate_associate_disassociate_release(ec2a: Any, ec2b: Any, pair: list[str]) -> None:
    iid = pair[1]
    alloc = None
    try:
        address = ec2a.allocate_address(Domain="vpc")
        alloc, ip = address["AllocationId"], address["PublicIp"]
        assert alloc.startswith("eipalloc-") and address["Domain"] == "vpc"
        nf = ("InvalidAllocationID.NotFound", 400)
        assert error_of(ec2b.describe_addresses, AllocationIds=[alloc]) == nf
        assert ip not in {a["PublicIp"] for a in ec2b.describe_addresses()["Addresses"]}
        assert error_of(ec2b.associate_address, AllocationId=alloc, InstanceId=iid) == nf
        assert error_of(ec2b.release_address, AllocationId=alloc) == nf

        assoc = ec2a.associate_address(AllocationId=alloc, InstanceId=iid)["AssociationId"]
        assert assoc.startswith("eipassoc-")
        (item,) = ec2a.describe_addresses(AllocationIds=[alloc])["Addresses"]
        assert (item["InstanceId"], item["AssociationId"], item["PublicIp"]) == (iid, assoc, ip)
        assert instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0]["PublicIpAddress"] == ip
        assert [a["AllocationId"] for a in ec2a.describe_addresses(
            Filters=[{"Name": "instance-id", "Values": [iid]}])["Addresses"]] == [alloc]
        assert error_of(ec2b.disassociate_address, AssociationId=assoc) == ("InvalidAssociationID.NotFound", 400)
        assert error_of(ec2a.release_address, AllocationId=alloc) == ("InvalidIPAddress.InUse", 400)

        ec2a.disassociate_address(AssociationId=assoc)
        assert "InstanceId" not in ec2a.describe_addresses(AllocationIds=[alloc])["Addresses"][0]
        assert "PublicIpAddress" not in instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0]
        ec2a.release_address(AllocationId=alloc)
        alloc = None
        assert error_of(ec2a.describe_addresses, PublicIps=[ip]) == ("InvalidAddress.NotFound", 400)
    finally:
        if alloc:
            quietly(lambda: ec2a.disassociate_address(AssociationId=ec2a.describe_addresses(
                AllocationIds=[alloc])["Addresses"][0]["AssociationId"]))
            quietly(lambda: ec2a.release_address(AllocationId=alloc))


# ---- images ---------------------------------------------------------------------------------------------------------
def test_ebs_images_register_launch_and_create_image(ec2a: Any, ec2b: Any, pair: list[str],
                                                     openstack_env: dict[str, Any]) -> None:
    """The EBS path end to end on the real cloud: a snapshot registered as a root device makes an EBS image,
    its instances boot from a volume, CreateImage of one makes a new EBS image (Nova snapshots the volumes;
    no image data is needed) and that image launches too. An instance-store instance cannot be imaged."""
    names, vid, root_vid, amis, iids = (_name(), _name()), None, None, [], []
    try:
        assert error_of(ec2a.create_image, InstanceId=pair[0], Name=names[0]) == ("InvalidParameterValue", 400)
        vid = ec2a.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        snap = ec2a.create_snapshot(VolumeId=vid)["SnapshotId"]
        ec2a.get_waiter("snapshot_completed").wait(SnapshotIds=[snap], WaiterConfig=WAIT)
        amis.append(ec2a.register_image(
            Name=names[0], RootDeviceName="/dev/vda", VirtualizationType="hvm", Architecture="x86_64",
            # the root volume as large as the flavor's disk (8 GiB): Nova refuses a smaller one
            BlockDeviceMappings=[{"DeviceName": "/dev/vda", "Ebs": {"SnapshotId": snap, "VolumeSize": 8}}])["ImageId"])
        (image,) = ec2a.describe_images(ImageIds=amis)["Images"]
        assert (image["RootDeviceType"], image["RootDeviceName"], image["State"]) == ("ebs", "/dev/vda", "available")
        assert image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] == snap
        assert error_of(ec2b.describe_images, ImageIds=amis) == ("InvalidAMIID.NotFound", 400)

        # the image's root mapping overridden at launch: a larger root volume that outlives the instance
        iids.append(ec2a.run_instances(ImageId=amis[0], MinCount=1, MaxCount=1, InstanceType="t2.micro",
                                       BlockDeviceMappings=[{"DeviceName": "/dev/vda", "Ebs": {
                                           "VolumeSize": 9, "DeleteOnTermination": False}}])[
            "Instances"][0]["InstanceId"])
        ec2a.get_waiter("instance_running").wait(InstanceIds=iids, WaiterConfig=WAIT)
        inst = instances_of(ec2a.describe_instances(InstanceIds=iids))[0]
        assert (inst["RootDeviceType"], inst["RootDeviceName"], inst["ImageId"]) == ("ebs", "/dev/vda", amis[0])
        (root,) = inst["BlockDeviceMappings"]
        assert root["DeviceName"] == "/dev/vda" and root["Ebs"]["DeleteOnTermination"] is False
        root_vid = root["Ebs"]["VolumeId"]
        assert _volume(ec2a, root_vid)["Size"] == 9

        amis.append(ec2a.create_image(InstanceId=iids[0], Name=names[1], Description="from an EBS instance")[
            "ImageId"])
        assert error_of(ec2a.create_image, InstanceId=iids[0], Name=names[1]) == ("InvalidAMIName.Duplicate", 400)
        ec2a.get_waiter("image_available").wait(ImageIds=amis[1:], WaiterConfig=WAIT)
        (made,) = ec2a.describe_images(ImageIds=amis[1:])["Images"]
        assert (made["RootDeviceType"], made["Description"], made["Public"]) == ("ebs", "from an EBS instance", False)
        # the 12-digit account number the security groups also show, not the project id
        assert made["OwnerId"] == ec2a.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0][
            "OwnerId"] != openstack_env["tenants"]["a"]["project_id"]
        iids.append(ec2a.run_instances(ImageId=amis[1], MinCount=1, MaxCount=1, InstanceType="t2.micro")[
            "Instances"][0]["InstanceId"])
        ec2a.get_waiter("instance_running").wait(InstanceIds=iids[1:], WaiterConfig=WAIT)
        terminate_and_wait(ec2a, iids[:1])
        ec2a.get_waiter("volume_available").wait(VolumeIds=[root_vid], WaiterConfig=WAIT)  # kept, detached
    finally:
        terminate_and_wait(ec2a, iids)
        if root_vid:
            _delete_volume(ec2a, root_vid)
        for ami in amis:
            quietly(lambda ami=ami: ec2a.deregister_image(ImageId=ami))
        if vid:
            _delete_volume(ec2a, vid)


def _backend_id(ec2_id: str) -> str:
    from gateway.ec2.lookups.ids import _REVERSE

    return _REVERSE[ec2_id][1]


async def _tenant_compute(gw: Gateway, env: dict[str, Any], tenant: str) -> Any:
    return await gw.backend.compute(await principal(gw.backend, env["tenants"][tenant]))


async def _glance_status(gw: Gateway, env: dict[str, Any], image_id: str) -> str:
    c = await _tenant_compute(gw, env, "a")
    return (await c.glance.image(image_id)).get("status", "")


async def _glance_image_of_a(gw: Gateway, env: dict[str, Any], name: str) -> str:
    """A bootable private image owned by tenant A, uploaded to Glance directly (setup only: the devcloud
    can produce no image data through Nova, and Glance refuses web-download from loopback)."""
    c = await _tenant_compute(gw, env, "a")
    image = await c.glance.create_image({"name": name, "container_format": "bare", "disk_format": "raw",
                                         "visibility": "private"})
    await c.glance.upload(image["id"], b"\0" * 4096)
    return image["id"]


async def _glance_delete(gw: Gateway, env: dict[str, Any], image_id: str) -> None:
    c = await _tenant_compute(gw, env, "a")
    await c.glance.delete_image(image_id)


def test_images_launch_permission_shares_with_tenant_b(gw: Gateway, ec2a: Any, ec2b: Any,
                                                       openstack_env: dict[str, Any]) -> None:
    # clients name accounts by their 12-digit numbers (B's: its own OwnerId), never by project ids
    name = _name()
    b_project = ec2b.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["OwnerId"]
    a_number = ec2a.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["OwnerId"]
    assert b_project != openstack_env["tenants"]["b"]["project_id"] and len(b_project) == 12
    glance_id = gw.run(_glance_image_of_a(gw, openstack_env, name))
    b_instances: list[str] = []
    deregistered = False
    try:
        (image,) = ec2a.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]
        ami = image["ImageId"]
        assert (image["State"], image["Public"]) == ("available", False)
        nf = ("InvalidAMIID.NotFound", 400)
        assert error_of(ec2b.describe_images, ImageIds=[ami]) == nf
        assert error_of(ec2b.run_instances, ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro") == nf
        assert error_of(ec2b.modify_image_attribute, ImageId=ami,
                        LaunchPermission={"Add": [{"UserId": b_project}]}) == nf
        assert error_of(ec2b.deregister_image, ImageId=ami) == nf
        assert error_of(ec2b.create_tags, Resources=[ami], Tags=[{"Key": "k", "Value": "v"}]) == nf

        ec2a.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": b_project}]})
        perms = ec2a.describe_image_attribute(ImageId=ami, Attribute="launchPermission")["LaunchPermissions"]
        assert perms == [{"UserId": b_project}]
        (seen,) = ec2b.describe_images(ImageIds=[ami])["Images"]
        assert seen["OwnerId"] == a_number
        assert ami in {i["ImageId"] for i in ec2b.describe_images(ExecutableUsers=["self"])["Images"]}
        assert ami not in {i["ImageId"] for i in ec2b.describe_images(Owners=["self"])["Images"]}
        # B may launch it, and may not change or deregister it (not the owner)
        assert error_of(ec2b.deregister_image, ImageId=ami) == ("AuthFailure", 401)
        assert error_of(ec2b.modify_image_attribute, ImageId=ami,
                        LaunchPermission={"Remove": [{"UserId": b_project}]}) == ("AuthFailure", 401)
        b_instances = [i["InstanceId"] for i in ec2b.run_instances(
            ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro")["Instances"]]
        ec2b.get_waiter("instance_running").wait(InstanceIds=b_instances, WaiterConfig=WAIT)
        assert instances_of(ec2b.describe_instances(InstanceIds=b_instances))[0]["ImageId"] == ami
        terminate_and_wait(ec2b, b_instances)
        b_instances = []

        ec2a.modify_image_attribute(ImageId=ami, LaunchPermission={"Remove": [{"UserId": b_project}]})
        assert error_of(ec2b.describe_images, ImageIds=[ami]) == nf
        ec2a.deregister_image(ImageId=ami)
        deregistered = True
        assert error_of(ec2a.describe_images, ImageIds=[ami]) == nf
    finally:
        terminate_and_wait(ec2b, b_instances)
        if not deregistered:
            quietly(lambda: gw.run(_glance_delete(gw, openstack_env, glance_id)))


# ---- tags ---------------------------------------------------------------------------------------------------------
def test_tags_create_describe_filter_delete(ec2a: Any, ec2b: Any, pair: list[str]) -> None:
    iid, marker = pair[1], _name()
    vid = None
    try:
        vid = ec2a.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
        ec2a.create_tags(Resources=[iid, vid], Tags=[{"Key": "team", "Value": marker}, {"Key": "empty", "Value": ""}])
        tags = ec2a.describe_tags(Filters=[{"Name": "value", "Values": [marker]}])["Tags"]
        assert sorted((t["ResourceId"], t["ResourceType"], t["Key"]) for t in tags) == \
            sorted([(iid, "instance", "team"), (vid, "volume", "team")])
        assert [t["ResourceId"] for t in ec2a.describe_tags(Filters=[
            {"Name": "value", "Values": [marker[:6] + "*"]}, {"Name": "resource-type", "Values": ["volume"]},
            {"Name": "resource-id", "Values": [vid]}])["Tags"]] == [vid]
        assert {t["Key"] for t in ec2a.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]} \
            >= {"team", "empty", "Name"}
        assert [i["InstanceId"] for i in instances_of(ec2a.describe_instances(
            Filters=[{"Name": "tag:team", "Values": [marker]}]))] == [iid]
        assert [v["VolumeId"] for v in ec2a.describe_volumes(
            Filters=[{"Name": "tag:team", "Values": [marker]}])["Volumes"]] == [vid]
        assert ec2b.describe_tags(Filters=[{"Name": "value", "Values": [marker]}])["Tags"] == []
        assert error_of(ec2a.create_tags, Resources=["i-0123456789abcdef0"], Tags=[{"Key": "k", "Value": "v"}]) == \
            ("InvalidInstanceID.NotFound", 400)
        assert error_of(ec2a.create_tags, Resources=[iid], Tags=[{"Key": "aws:reserved", "Value": "v"}]) == \
            ("InvalidParameterValue", 400)
        # a value that does not match deletes nothing; the key alone deletes
        ec2a.delete_tags(Resources=[iid], Tags=[{"Key": "team", "Value": "other"}])
        assert ec2a.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]},
                                           {"Name": "key", "Values": ["team"]}])["Tags"]
        ec2a.delete_tags(Resources=[iid, vid], Tags=[{"Key": "team"}, {"Key": "empty"}])
        assert ec2a.describe_tags(Filters=[{"Name": "value", "Values": [marker]}])["Tags"] == []
    finally:
        quietly(lambda: ec2a.delete_tags(Resources=[iid], Tags=[{"Key": "team"}, {"Key": "empty"}]))
        if vid:
            _delete_volume(ec2a, vid)

