"""EC2 volumes and snapshots: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
    launch,
)


# ---- volumes and snapshots ------------------------------------------------------------------------------------------
def test_volume_lifecycle(ec2, ami):
    assert error(ec2.create_volume, Size=1) == ("MissingParameter", 400)
    assert error(ec2.create_volume, AvailabilityZone="nova") == ("MissingParameter", 400)
    assert error(ec2.create_volume, AvailabilityZone="mars", Size=1) == ("InvalidZone.NotFound", 400)
    vol = ec2.create_volume(AvailabilityZone="nova", Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "k", "Value": "v"}]}])
    vid = vol["VolumeId"]
    assert vol["State"] == "creating" and vol["Tags"] == [{"Key": "k", "Value": "v"}]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    (iid,) = launch(ec2, ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="bogus") == ("InvalidParameterValue", 400)
    att = ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
    assert att["State"] == "attaching"
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error(ec2.delete_volume, VolumeId=vid) == ("VolumeInUse", 400)
    desc = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    assert [v["VolumeId"] for v in desc] == [vid] and desc[0]["Attachments"][0]["Device"] == "/dev/vdb"
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"] == vid
    ec2.detach_volume(VolumeId=vid)
    assert error(ec2.detach_volume, VolumeId=vid) == ("IncorrectState", 400)
    ec2.modify_volume(VolumeId=vid, Size=2)
    assert error(ec2.modify_volume, VolumeId=vid, Size=1) == ("InvalidParameterValue", 400)
    status = ec2.describe_volume_status(VolumeIds=[vid])["VolumeStatuses"][0]
    assert status["VolumeStatus"]["Status"] == "ok"
    snap = ec2.create_snapshot(VolumeId=vid, Description="s")
    assert snap["State"] == "pending" and snap["VolumeId"] == vid
    snaps = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert snap["SnapshotId"] in [s["SnapshotId"] for s in snaps]
    restored = ec2.create_volume(AvailabilityZone="nova", SnapshotId=snap["SnapshotId"])
    assert restored["SnapshotId"] == snap["SnapshotId"]
    ec2.delete_volume(VolumeId=restored["VolumeId"])
    ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])
    assert error(ec2.describe_snapshots, SnapshotIds=[snap["SnapshotId"]]) == ("InvalidSnapshot.NotFound", 400)
    ec2.delete_volume(VolumeId=vid)
    assert error(ec2.describe_volumes, VolumeIds=[vid]) == ("InvalidVolume.NotFound", 400)
    assert error(ec2.describe_volumes, VolumeIds=["vol-1x"]) == ("InvalidVolumeID.Malformed", 400)
    assert error(ec2.describe_volumes, VolumeIds=["vol-0"]) == ("InvalidVolume.NotFound", 400)
    ec2.terminate_instances(InstanceIds=[iid])
