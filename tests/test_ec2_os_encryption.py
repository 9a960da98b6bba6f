"""Encrypted EBS volumes through cloudgate on the real devcloud OpenStack: Cinder's encrypted volume type
(devcloud/openstack/bootstrap.py, backend option encrypted_volume_type) behind CreateVolume Encrypted=true,
snapshots and volumes made from them, attaching to an instance, KmsKeyId, and a gateway configured without
an encrypted type. Exact AWS codes and statuses, cleanup in `finally`, bounded waits. Without a cloud:
tests/test_volume_encryption_units.py."""

from __future__ import annotations

import uuid
from typing import Any

from tests.ec2_os_support import (  # noqa: F401 - fixtures
    WAIT,
    ami_fixture,
    devcloud_gateway,
    ec2a_fixture,
    ec2b_fixture,
    error_of,
    gw_fixture,
    outcome,
    poll,
    quietly,
    terminate_and_wait,
)
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture

ZONE = "nova"
# a boot on a busy devcloud (benchmarks boot hundreds of servers) waits minutes for the scheduler
BOOT_WAIT = {"Delay": 3, "MaxAttempts": 200}


def _volume(client: Any, vid: str) -> dict[str, Any]:
    return client.describe_volumes(VolumeIds=[vid])["Volumes"][0]


def _snapshot(client: Any, sid: str) -> dict[str, Any]:
    return client.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]


def _cleanup(client: Any, volumes: list[str], snapshots: list[str]) -> None:
    """Volumes made from a snapshot first, then the snapshots, then their volumes (Cinder keeps a volume
    while it has snapshots); each bounded."""
    for vid in reversed(volumes[1:]):
        _delete_volume(client, vid)
    for sid in snapshots:
        quietly(lambda sid=sid: client.delete_snapshot(SnapshotId=sid))
        quietly(lambda sid=sid: poll(lambda: outcome(client.describe_snapshots, SnapshotIds=[sid]),
                                     lambda c: c is not None and c[0] == "InvalidSnapshot.NotFound",
                                     timeout=60, interval=2))
    for vid in volumes[:1]:
        _delete_volume(client, vid)


def _delete_volume(client: Any, vid: str) -> None:
    quietly(lambda: client.detach_volume(VolumeId=vid))
    quietly(lambda: client.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT))
    quietly(lambda: client.delete_volume(VolumeId=vid))
    quietly(lambda: client.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=WAIT))


def test_encrypted_volume_create_describe_snapshot_and_restore(ec2a: Any, ec2b: Any) -> None:
    volumes: list[str] = []
    snapshots: list[str] = []
    try:
        vol = ec2a.create_volume(Size=1, AvailabilityZone=ZONE, Encrypted=True)
        vid = vol["VolumeId"]
        volumes.append(vid)
        assert (vol["Encrypted"], vol["State"], vol["Size"]) == (True, "creating", 1)
        assert vol["KmsKeyId"].startswith("arn:aws:kms:") and vol["KmsKeyId"].endswith(":alias/aws/ebs")
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        assert (_volume(ec2a, vid)["Encrypted"], _volume(ec2a, vid)["KmsKeyId"]) == (True, vol["KmsKeyId"])
        listed = ec2a.describe_volumes(Filters=[{"Name": "encrypted", "Values": ["true"]}])["Volumes"]
        assert vid in {v["VolumeId"] for v in listed}
        unencrypted = ec2a.describe_volumes(Filters=[{"Name": "encrypted", "Values": ["false"]}])["Volumes"]
        assert vid not in {v["VolumeId"] for v in unencrypted}
        assert error_of(ec2b.describe_volumes, VolumeIds=[vid]) == ("InvalidVolume.NotFound", 400)

        # the KmsKeyId it shows is accepted back; any other key, or a key without Encrypted, is refused
        again = ec2a.create_volume(Size=1, AvailabilityZone=ZONE, Encrypted=True, KmsKeyId=vol["KmsKeyId"])
        volumes.append(again["VolumeId"])
        assert (again["Encrypted"], again["KmsKeyId"]) == (True, vol["KmsKeyId"])
        assert error_of(ec2a.create_volume, Size=1, AvailabilityZone=ZONE, KmsKeyId="alias/aws/ebs") == \
            ("InvalidParameterDependency", 400)
        assert error_of(ec2a.create_volume, Size=1, AvailabilityZone=ZONE, Encrypted=True,
                        KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab") == \
            ("InvalidParameterValue", 400)

        # snapshots of it are encrypted, and so is a volume made from one (Cinder keeps the snapshot's type)
        snap = ec2a.create_snapshot(VolumeId=vid, Description="cloudgate encrypted")
        sid = snap["SnapshotId"]
        snapshots.append(sid)
        assert snap["Encrypted"] is True
        ec2a.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)
        assert _snapshot(ec2a, sid)["Encrypted"] is True
        mine = ec2a.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "encrypted", "Values": ["true"]}])
        assert sid in {s["SnapshotId"] for s in mine["Snapshots"]}
        restored = ec2a.create_volume(AvailabilityZone=ZONE, SnapshotId=sid)
        volumes.append(restored["VolumeId"])
        assert restored["Encrypted"] is True
        ec2a.get_waiter("volume_available").wait(VolumeIds=[restored["VolumeId"]], WaiterConfig=WAIT)
        item = _volume(ec2a, restored["VolumeId"])
        assert (item["Encrypted"], item["SnapshotId"], item["Size"]) == (True, sid, 1)
    finally:
        _cleanup(ec2a, volumes, snapshots)


def test_an_encrypted_volume_attaches_and_detaches(ec2a: Any, ami: str) -> None:
    """Nova's fake driver attaches it without opening it (Cinder hands out the connection, the key stays put)."""
    iid = vid = None
    try:
        iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro", TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"cgt-enc-{uuid.uuid4().hex[:8]}"}]}],
        )["Instances"][0]["InstanceId"]
        vid = ec2a.create_volume(Size=1, AvailabilityZone=ZONE, Encrypted=True)["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=BOOT_WAIT)
        att = ec2a.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
        assert (att["State"], att["Device"]) == ("attaching", "/dev/vdb")
        ec2a.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        attached = _volume(ec2a, vid)
        assert attached["Encrypted"] is True
        assert [(a["InstanceId"], a["Device"], a["State"]) for a in attached["Attachments"]] == \
            [(iid, "/dev/vdb", "attached")]
        ec2a.detach_volume(VolumeId=vid)
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        assert _volume(ec2a, vid)["Attachments"] == []
    finally:
        if vid:
            _delete_volume(ec2a, vid)
        if iid:
            terminate_and_wait(ec2a, [iid])


def test_an_unencrypted_snapshot_gives_no_encrypted_volume(ec2a: Any) -> None:
    volumes: list[str] = []
    snapshots: list[str] = []
    try:
        vol = ec2a.create_volume(Size=1, AvailabilityZone=ZONE)
        volumes.append(vol["VolumeId"])
        assert vol["Encrypted"] is False and "KmsKeyId" not in vol
        ec2a.get_waiter("volume_available").wait(VolumeIds=volumes, WaiterConfig=WAIT)
        snap = ec2a.create_snapshot(VolumeId=vol["VolumeId"])
        snapshots.append(snap["SnapshotId"])
        assert snap["Encrypted"] is False
        ec2a.get_waiter("snapshot_completed").wait(SnapshotIds=snapshots, WaiterConfig=WAIT)
        assert error_of(ec2a.create_volume, AvailabilityZone=ZONE, SnapshotId=snap["SnapshotId"], Encrypted=True) == \
            ("Unsupported", 400)
    finally:
        _cleanup(ec2a, volumes, snapshots)


def test_a_gateway_without_an_encrypted_volume_type_answers_unsupported(openstack_env: dict[str, Any]) -> None:
    with devcloud_gateway({**openstack_env, "volume_types": {}}) as plain:
        ec2 = plain.client("a")
        assert error_of(ec2.create_volume, Size=1, AvailabilityZone=ZONE, Encrypted=True) == ("Unsupported", 400)
        assert error_of(ec2.create_volume, Size=1, AvailabilityZone=ZONE, Encrypted=True,
                        KmsKeyId="alias/aws/ebs") == ("Unsupported", 400)
