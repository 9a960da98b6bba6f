"""EC2 over HTTP with boto3 against cloudgate on the CloudStack simulator (`backend: cloudstack` at devcloud/cloudstack_sim):
the instance lifecycle, key pairs, groups and rules, volumes, snapshots, addresses, tags, images, tenant
isolation, exact AWS error codes and HTTP statuses (the same ones the OpenStack suite asserts), failing and
never-finishing async jobs, and that other requests proceed while one waits for a job."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import botocore.config
import botocore.exceptions
import pytest

from tests.cloudstack_support import WAIT, CsGateway, cs_gateway, error_of, instances_of

DEADLINE = 1.5  # backend job_deadline in this gateway


@pytest.fixture(scope="module")
def gw():
    with cs_gateway(job_delay=0.05, job_deadline=DEADLINE) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def ec2a(gw: CsGateway) -> Any:
    return gw.client("a")


@pytest.fixture(scope="module")
def ec2b(gw: CsGateway) -> Any:
    return gw.client("b")


@pytest.fixture(scope="module")
def ami(ec2a: Any) -> str:
    return ec2a.describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]


@pytest.fixture(scope="module")
def running(ec2a: Any, ami: str) -> str:
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    return iid


def _state(client: Any, iid: str) -> str:
    return instances_of(client.describe_instances(InstanceIds=[iid]))[0]["State"]["Name"]


def test_run_instances_answers_pending_then_runs(gw: CsGateway, ec2a: Any, ami: str) -> None:
    started = time.monotonic()
    r = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                           UserData=base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
                           TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}])
    inst = r["Instances"][0]
    assert inst["State"] == {"Code": 0, "Name": "pending"} and time.monotonic() - started < 2
    ec2a.get_waiter("instance_running").wait(InstanceIds=[inst["InstanceId"]], WaiterConfig=WAIT)
    found = instances_of(ec2a.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web"]}]))
    assert [i["InstanceId"] for i in found] == [inst["InstanceId"]]
    assert found[0]["InstanceType"] == "t2.micro" and found[0]["PrivateIpAddress"].startswith("10.1.")
    assert found[0]["Placement"]["AvailabilityZone"] == "zone1"
    ec2a.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_stop_start_reboot_terminate(ec2a: Any, ami: str) -> None:
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert ec2a.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping"
    ec2a.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert error_of(ec2a.reboot_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    ec2a.start_instances(InstanceIds=[iid])
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2a.reboot_instances(InstanceIds=[iid])
    assert _state(ec2a, iid) == "running"
    ec2a.terminate_instances(InstanceIds=[iid])
    ec2a.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert error_of(ec2a.start_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    assert error_of(ec2a.stop_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)


def test_describe_paging_and_filters(ec2a: Any, ami: str) -> None:
    r = ec2a.run_instances(ImageId=ami, MinCount=6, MaxCount=6, InstanceType="m1.small")
    ids = [i["InstanceId"] for i in r["Instances"]]
    assert len(ids) == 6 and len({i["AmiLaunchIndex"] for i in r["Instances"]}) == 6
    seen, token, pages = [], None, 0
    while True:
        kw = {"MaxResults": 5, "Filters": [{"Name": "reservation-id", "Values": [r["ReservationId"]]}]}
        page = ec2a.describe_instances(**kw, **({"NextToken": token} if token else {}))
        seen += [i["InstanceId"] for i in instances_of(page)]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids) and pages == 2
    assert error_of(ec2a.describe_instances, Filters=[{"Name": "bogus", "Values": ["x"]}]) == (
        "InvalidParameterValue", 400)
    ec2a.terminate_instances(InstanceIds=ids)


def test_instance_errors(ec2a: Any, ami: str) -> None:
    assert error_of(ec2a.describe_instances, InstanceIds=["i-0123456789abcdef0"]) == ("InvalidInstanceID.NotFound", 400)
    assert error_of(ec2a.terminate_instances, InstanceIds=["i-0123456789abcdef0"]) == (
        "InvalidInstanceID.NotFound", 400)
    assert error_of(ec2a.describe_instances, InstanceIds=["bogus"]) == ("InvalidInstanceID.Malformed", 400)
    assert error_of(ec2a.run_instances, ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1) == (
        "InvalidAMIID.NotFound", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, MinCount=1, MaxCount=1, KeyName="nope") == (
        "InvalidKeyPair.NotFound", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, MinCount=1, MaxCount=1, InstanceType="x9.huge") == (
        "InvalidParameterValue", 400)


def test_key_pairs(ec2a: Any, ec2b: Any) -> None:
    made = ec2a.create_key_pair(KeyName="k1")
    assert made["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert error_of(ec2a.create_key_pair, KeyName="k1") == ("InvalidKeyPair.Duplicate", 400)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me@host"
    imported = ec2a.import_key_pair(KeyName="k2", PublicKeyMaterial=pub.encode())
    assert error_of(ec2a.import_key_pair, KeyName="k2", PublicKeyMaterial=pub.encode()) == (
        "InvalidKeyPair.Duplicate", 400)
    # CloudStack lists only its own fingerprint: the EC2 id, fingerprint and public key come from the gateway's
    # store (the backend keeps nothing in memory), matched by CloudStack's fingerprint
    (listed,) = ec2a.describe_key_pairs(KeyNames=["k2"], IncludePublicKey=True)["KeyPairs"]
    assert (listed["KeyPairId"], listed["KeyFingerprint"]) == (imported["KeyPairId"], imported["KeyFingerprint"])
    assert listed["PublicKey"].split()[:2] == pub.split()[:2]
    names = {k["KeyName"] for k in ec2a.describe_key_pairs()["KeyPairs"]}
    assert {"k1", "k2"} <= names
    assert not {k["KeyName"] for k in ec2b.describe_key_pairs()["KeyPairs"]} & {"k1", "k2"}
    assert error_of(ec2a.describe_key_pairs, KeyNames=["absent"]) == ("InvalidKeyPair.NotFound", 400)
    ec2a.delete_key_pair(KeyName="k2")
    assert "k2" not in {k["KeyName"] for k in ec2a.describe_key_pairs()["KeyPairs"]}


def test_security_groups_and_rules(ec2a: Any, ec2b: Any) -> None:
    gid = ec2a.create_security_group(GroupName="web", Description="web servers")["GroupId"]
    assert error_of(ec2a.create_security_group, GroupName="web", Description="again") == ("InvalidGroup.Duplicate", 400)
    perm = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2a.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    assert error_of(ec2a.authorize_security_group_ingress, GroupId=gid, IpPermissions=[perm]) == (
        "InvalidPermission.Duplicate", 400)
    icmp = {"IpProtocol": "icmp", "FromPort": 8, "ToPort": 0, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    any_icmp = {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    ec2a.authorize_security_group_ingress(GroupId=gid, IpPermissions=[icmp, any_icmp])
    group = ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    got = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")) for p in group["IpPermissions"]}
    assert got == {("tcp", 80, 80), ("icmp", 8, 0), ("icmp", -1, -1)}
    ec2a.revoke_security_group_ingress(GroupId=gid, IpPermissions=[any_icmp])
    ec2a.revoke_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    group = ec2a.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert [p["IpProtocol"] for p in group["IpPermissions"]] == ["icmp"]
    assert error_of(ec2b.describe_security_groups, GroupIds=[gid]) == ("InvalidGroup.NotFound", 400)
    assert error_of(ec2a.describe_security_groups, GroupIds=["sg-0123456789abcdef0"]) == ("InvalidGroup.NotFound", 400)
    assert error_of(ec2a.describe_security_groups, GroupIds=["bogus"]) == ("InvalidGroupId.Malformed", 400)
    ec2a.delete_security_group(GroupId=gid)


def test_group_in_use_cannot_be_deleted(ec2a: Any, ami: str) -> None:
    gid = ec2a.create_security_group(GroupName="used", Description="used")["GroupId"]
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SecurityGroupIds=[gid])["Instances"][0]["InstanceId"]
    assert error_of(ec2a.delete_security_group, GroupId=gid) == ("DependencyViolation", 400)
    inst = instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0]
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [gid]
    ec2a.terminate_instances(InstanceIds=[iid])


def test_volumes_attach_detach(ec2a: Any, ec2b: Any, running: str) -> None:
    vol = ec2a.create_volume(Size=2, AvailabilityZone="zone1")
    vid = vol["VolumeId"]
    assert vol["Size"] == 2
    ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    ec2a.attach_volume(VolumeId=vid, InstanceId=running, Device="/dev/sdf")
    ec2a.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    att = ec2a.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Attachments"][0]
    assert (att["InstanceId"], att["Device"], att["State"]) == (running, "/dev/sdf", "attached")
    inst = instances_of(ec2a.describe_instances(InstanceIds=[running]))[0]
    assert vid in [b["Ebs"]["VolumeId"] for b in inst["BlockDeviceMappings"]]
    assert error_of(ec2a.delete_volume, VolumeId=vid) == ("VolumeInUse", 400)
    assert error_of(ec2b.describe_volumes, VolumeIds=[vid]) == ("InvalidVolume.NotFound", 400)
    ec2a.detach_volume(VolumeId=vid)
    ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    ec2a.delete_volume(VolumeId=vid)
    assert error_of(ec2a.describe_volumes, VolumeIds=[vid]) == ("InvalidVolume.NotFound", 400)
    assert error_of(ec2a.delete_volume, VolumeId="vol-0123456789abcdef0") == ("InvalidVolume.NotFound", 400)


def test_snapshots_and_restore(ec2a: Any, ec2b: Any) -> None:
    vid = ec2a.create_volume(Size=3, AvailabilityZone="zone1")["VolumeId"]
    ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    sid = ec2a.create_snapshot(VolumeId=vid, Description="backup")["SnapshotId"]
    ec2a.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)
    snap = ec2a.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert (snap["VolumeId"], snap["VolumeSize"], snap["Progress"]) == (vid, 3, "100%")
    restored = ec2a.create_volume(SnapshotId=sid, AvailabilityZone="zone1")
    assert restored["Size"] == 3
    ec2a.get_waiter("volume_available").wait(VolumeIds=[restored["VolumeId"]], WaiterConfig=WAIT)
    assert error_of(ec2b.describe_snapshots, SnapshotIds=[sid]) == ("InvalidSnapshot.NotFound", 400)
    ec2a.delete_volume(VolumeId=vid)  # a snapshot outlives its volume on CloudStack, as on AWS
    assert ec2a.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] == "completed"
    ec2a.delete_snapshot(SnapshotId=sid)
    assert error_of(ec2a.describe_snapshots, SnapshotIds=[sid]) == ("InvalidSnapshot.NotFound", 400)
    ec2a.delete_volume(VolumeId=restored["VolumeId"])


def test_encrypted_volumes_are_unsupported_and_nothing_is_created(ec2a: Any) -> None:
    """The CloudStack API we speak has no encrypted disk offerings: the same answer as before encryption existed."""
    before = len(ec2a.describe_volumes()["Volumes"])
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ec2a.create_volume(Size=1, AvailabilityZone="zone1", Encrypted=True)
    err = caught.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]) == \
        ("Unsupported", 400, "Encrypted volumes are not supported.")
    assert len(ec2a.describe_volumes()["Volumes"]) == before


def test_addresses(ec2a: Any, ec2b: Any, running: str) -> None:
    alloc = ec2a.allocate_address(Domain="vpc")
    ec2a.associate_address(AllocationId=alloc["AllocationId"], InstanceId=running)
    addr = ec2a.describe_addresses(AllocationIds=[alloc["AllocationId"]])["Addresses"][0]
    assert addr["InstanceId"] == running and addr["PublicIp"] == alloc["PublicIp"]
    assert instances_of(ec2a.describe_instances(InstanceIds=[running]))[0]["PublicIpAddress"] == alloc["PublicIp"]
    assert not [a for a in ec2b.describe_addresses()["Addresses"] if a["PublicIp"] == alloc["PublicIp"]]
    ec2a.disassociate_address(AssociationId=addr["AssociationId"])
    assert "PublicIpAddress" not in instances_of(ec2a.describe_instances(InstanceIds=[running]))[0]
    ec2a.release_address(AllocationId=alloc["AllocationId"])
    assert error_of(ec2a.release_address, AllocationId=alloc["AllocationId"]) == ("InvalidAllocationID.NotFound", 400)


def test_a_classic_launch_gets_a_public_address_released_with_it(gw: CsGateway, ec2a: Any, ami: str) -> None:
    """The same public_ips mechanism as on OpenStack: an address of the zone's public range with static NAT,
    not an elastic IP, gone from the cloud when the instance is terminated."""
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    deadline = time.monotonic() + 30
    while not (public := instances_of(ec2a.describe_instances(InstanceIds=[iid]))[0].get("PublicIpAddress")):
        assert time.monotonic() < deadline, "no public address within 30 s"
        time.sleep(0.5)
    held = {ip["ipaddress"]: ip for ip in gw.sim.world.ips.values()}
    assert held[public].get("isstaticnat") and public not in {a["PublicIp"] for a in ec2a.describe_addresses()["Addresses"]}
    assert error_of(ec2a.release_address, PublicIp=public) == ("AuthFailure", 401)
    ec2a.terminate_instances(InstanceIds=[iid])
    assert public not in {ip["ipaddress"] for ip in gw.sim.world.ips.values()}


def test_tags(ec2a: Any, running: str) -> None:
    ec2a.create_tags(Resources=[running], Tags=[{"Key": "env", "Value": "test"}])
    tags = ec2a.describe_tags(Filters=[{"Name": "resource-id", "Values": [running]}])["Tags"]
    assert {"Key": "env", "Value": "test", "ResourceId": running, "ResourceType": "instance"} in tags
    ec2a.delete_tags(Resources=[running], Tags=[{"Key": "env"}])
    assert error_of(ec2a.create_tags, Resources=["i-0123456789abcdef0"], Tags=[{"Key": "k", "Value": "v"}]) == (
        "InvalidInstanceID.NotFound", 400)


def test_images_from_an_instance(ec2a: Any, ec2b: Any, ami: str) -> None:
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2a.stop_instances(InstanceIds=[iid])
    ec2a.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    image_id = ec2a.create_image(InstanceId=iid, Name="my-image")["ImageId"]
    ec2a.get_waiter("image_available").wait(ImageIds=[image_id], WaiterConfig=WAIT)
    mine = ec2a.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in mine] == [image_id]
    assert error_of(ec2b.describe_images, ImageIds=[image_id]) == ("InvalidAMIID.NotFound", 400)
    ec2a.deregister_image(ImageId=image_id)
    assert error_of(ec2a.describe_images, ImageIds=[image_id]) == ("InvalidAMIID.NotFound", 400)
    ec2a.terminate_instances(InstanceIds=[iid])


def test_password_data_is_empty_for_a_vm_without_one(ec2a: Any, ec2b: Any, running: str) -> None:
    # CloudStack answers getVMPassword with an error for such a VM; EC2 answers empty data
    out = ec2a.get_password_data(InstanceId=running)
    assert (out["InstanceId"], out["PasswordData"]) == (running, "")
    assert error_of(ec2b.get_password_data, InstanceId=running) == ("InvalidInstanceID.NotFound", 400)


def test_tenant_isolation(ec2a: Any, ec2b: Any, running: str) -> None:
    assert running not in [i["InstanceId"] for i in instances_of(ec2b.describe_instances())]
    assert error_of(ec2b.describe_instances, InstanceIds=[running]) == ("InvalidInstanceID.NotFound", 400)
    assert error_of(ec2b.stop_instances, InstanceIds=[running]) == ("InvalidInstanceID.NotFound", 400)
    assert error_of(ec2b.terminate_instances, InstanceIds=[running]) == ("InvalidInstanceID.NotFound", 400)
    assert _state(ec2a, running) == "running"


def test_wrong_secret_and_unknown_key_are_auth_failures(gw: CsGateway) -> None:
    import boto3
    for ak, sk in ((gw.sim.keys("a")[0], "wrong"), ("NOSUCHKEY", "x")):
        client = boto3.client("ec2", endpoint_url=gw.endpoint, region_name="us-east-1", aws_access_key_id=ak,
                              aws_secret_access_key=sk,
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))
        assert error_of(client.describe_instances) == ("AuthFailure", 401)


def test_a_failing_job_is_the_mapped_aws_error(gw: CsGateway, ec2a: Any, running: str) -> None:
    gw.sim.fail_next("associateIpAddress", 535, "Maximum number of public IP addresses for account a has been "
                                                "exceeded.", 4370)
    assert error_of(ec2a.allocate_address, Domain="vpc") == ("AddressLimitExceeded", 400)
    vid = ec2a.create_volume(Size=1, AvailabilityZone="zone1")["VolumeId"]
    ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    gw.sim.fail_next("attachVolume", 530, "Invalid parameter virtualmachineid.", 4250)
    assert error_of(ec2a.attach_volume, VolumeId=vid, InstanceId=running, Device="/dev/sdg") == (
        "InvalidInstanceID.NotFound", 400)
    ec2a.delete_volume(VolumeId=vid)


def test_a_job_that_never_finishes_fails_at_the_deadline_while_others_proceed(gw: CsGateway, ec2a: Any,
                                                                            ec2b: Any) -> None:
    gw.sim.hang_next("associateIpAddress")
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        outcome["error"] = error_of(gw.client("a").allocate_address, Domain="vpc")
        outcome["took"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    fast = []
    for _ in range(3):  # other requests, same and other tenant, while the job hangs
        started = time.monotonic()
        ec2b.describe_instances()
        ec2a.describe_key_pairs()
        fast.append(time.monotonic() - started)
    still_waiting = thread.is_alive()
    thread.join(timeout=10)
    assert still_waiting and max(fast) < 0.5 * DEADLINE
    assert outcome["error"] == ("ServiceUnavailable", 503)
    assert DEADLINE <= outcome["took"] < DEADLINE + 2


def test_volumes_of_a_terminated_instance_become_available(ec2a: Any, ami: str) -> None:
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    vid = ec2a.create_volume(Size=1, AvailabilityZone="zone1")["VolumeId"]
    ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    ec2a.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdh")
    ec2a.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    ec2a.terminate_instances(InstanceIds=[iid])
    ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    assert ec2a.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Attachments"] == []
    ec2a.delete_volume(VolumeId=vid)


def test_every_call_the_adapter_made_is_declared_by_listapis(gw: CsGateway) -> None:
    """Runs last in this module: the simulator checked every request the flows above made."""
    if gw.sim.apis is None:
        pytest.skip("listApis.json is absent (../shared/contracts/cloudstack): parameters were not checked")
    assert gw.sim.violations == []
    assert len({c for c, _ in gw.sim.calls}) >= 30
