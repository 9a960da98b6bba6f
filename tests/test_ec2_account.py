"""EC2 regions, zones, account attributes, tenant isolation and a gateway without a compute backend: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    A,
    B,
    ami_fixture,
    client_for,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
    launch,
)


# ---- zones, regions, account --------------------------------------------------------------------------------------
def test_regions_zones_account(ec2, cloud):
    regions = ec2.describe_regions()["Regions"]
    assert regions == [{"RegionName": "us-east-1", "Endpoint": cloud[0].removeprefix("http://"),
                        "OptInStatus": "opt-in-not-required"}]
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["State"]) for z in zones] == [("nova", "available")]
    assert error(ec2.describe_availability_zones, ZoneNames=["mars"]) == ("InvalidParameterValue", 400)
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert "VPC" in attrs["supported-platforms"] and attrs["default-vpc"] == ["none"]




# ---- tenant isolation -------------------------------------------------------------------------------------------------
def test_tenant_b_can_neither_see_nor_change_tenant_a_resources(ec2, ec2_b, ami):
    (iid,) = launch(ec2, ami)
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    gid = ec2.create_security_group(GroupName="private", Description="d")["GroupId"]
    aid = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_key_pair(KeyName="a-key")
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    seen = [i["InstanceId"] for r in ec2_b.describe_instances()["Reservations"] for i in r["Instances"]]
    assert iid not in seen
    assert vid not in [v["VolumeId"] for v in ec2_b.describe_volumes()["Volumes"]]
    assert "a-key" not in [k["KeyName"] for k in ec2_b.describe_key_pairs()["KeyPairs"]]
    nf = ("InvalidInstanceID.NotFound", 400)
    assert error(ec2_b.describe_instances, InstanceIds=[iid]) == nf
    assert error(ec2_b.terminate_instances, InstanceIds=[iid]) == nf
    assert error(ec2_b.stop_instances, InstanceIds=[iid]) == nf
    assert error(ec2_b.modify_instance_attribute, InstanceId=iid, DisableApiTermination={"Value": True}) == nf
    assert error(ec2_b.create_tags, Resources=[iid], Tags=[{"Key": "k", "Value": "v"}]) == nf
    assert error(ec2_b.get_console_output, InstanceId=iid) == nf
    assert error(ec2_b.delete_volume, VolumeId=vid) == ("InvalidVolume.NotFound", 400)
    assert error(ec2_b.create_snapshot, VolumeId=vid) == ("InvalidVolume.NotFound", 400)
    assert error(ec2_b.delete_snapshot, SnapshotId=sid) == ("InvalidSnapshot.NotFound", 400)
    assert error(ec2_b.delete_security_group, GroupId=gid) == ("InvalidGroup.NotFound", 400)
    assert error(ec2_b.authorize_security_group_ingress, GroupId=gid, IpProtocol="tcp", FromPort=1, ToPort=2,
                 CidrIp="0.0.0.0/0") == ("InvalidGroup.NotFound", 400)
    assert error(ec2_b.release_address, AllocationId=aid) == ("InvalidAllocationID.NotFound", 400)
    assert error(ec2_b.associate_address, AllocationId=aid, InstanceId=iid)[0] in (
        "InvalidAllocationID.NotFound", "InvalidInstanceID.NotFound")
    b_iid = launch(ec2_b, ami)[0]
    assert error(ec2_b.attach_volume, VolumeId=vid, InstanceId=b_iid, Device="/dev/vdc") == \
        ("InvalidVolume.NotFound", 400)
    ec2_b.delete_key_pair(KeyName="a-key")  # idempotent no-op for B: A's key survives
    assert "a-key" in [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    ec2.delete_key_pair(KeyName="a-key")
    ec2_b.terminate_instances(InstanceIds=[b_iid])
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_snapshot(SnapshotId=sid)
    ec2.delete_volume(VolumeId=vid)
    ec2.release_address(AllocationId=aid)


def test_without_a_compute_backend_every_action_is_unsupported():
    from tests.server import AK, SK, in_process

    with in_process() as endpoint:
        client = client_for(endpoint, (AK, SK, ""))
        assert error(client.describe_instances) == ("Unsupported", 400)
