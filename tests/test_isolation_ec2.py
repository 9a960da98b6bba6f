"""EC2 isolation matrix on the CloudStack simulator: tenant A owns one resource of every type the gateway
serves; tenant B, naming A's ids and names, gets each resource type's exact NotFound code, changes
nothing, and the error text never carries anything of A's beyond the id B itself sent (no owner/account
id, no CloudStack ids, no names, no addresses)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cloudstack_support import CsGateway, cs_gateway

WAIT = {"Delay": 0.2, "MaxAttempts": 100}


@pytest.fixture(scope="module")
def gw() -> Iterator[CsGateway]:
    with cs_gateway(job_delay=0.0, job_deadline=10) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def owned(gw: CsGateway) -> dict[str, str]:
    """One of everything, owned by tenant A."""
    a = gw.client("a")
    ami = a.describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]
    iid = a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    zone = a.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    vol = a.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    a.get_waiter("volume_available").wait(VolumeIds=[vol], WaiterConfig=WAIT)
    snap = a.create_snapshot(VolumeId=vol)["SnapshotId"]
    a.create_key_pair(KeyName="a-secret-keypair")
    sg = a.create_security_group(GroupName="a-secret-group", Description="a's")["GroupId"]
    addr = a.allocate_address(Domain="vpc")
    a.stop_instances(InstanceIds=[iid])
    a.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    image = a.create_image(InstanceId=iid, Name="a-secret-image")["ImageId"]
    a.start_instances(InstanceIds=[iid])
    a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    vpc = a.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = a.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    igw = a.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    rtb = a.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    a.create_tags(Resources=[iid], Tags=[{"Key": "owner", "Value": "a-secret-tag"}])
    return {"instance": iid, "volume": vol, "snapshot": snap, "keypair": "a-secret-keypair", "group": sg,
            "group_name": "a-secret-group", "allocation": addr.get("AllocationId", ""), "public_ip": addr["PublicIp"],
            "image": image, "vpc": vpc, "subnet": subnet, "igw": igw, "rtb": rtb, "ami": ami}


@pytest.fixture(scope="module")
def tenant_b(gw: CsGateway) -> Any:
    return gw.client("b")


def failure(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    try:
        call(**kwargs)
    except ClientError as e:
        return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"].get("Message", ""))
    raise AssertionError(f"{call.__name__}({kwargs}) succeeded for tenant B")


# (B's operation, its arguments from A's resources, the exact AWS code)
MATRIX: list[tuple[str, Any, str]] = [
    ("describe_instances", lambda o: {"InstanceIds": [o["instance"]]}, "InvalidInstanceID.NotFound"),
    ("stop_instances", lambda o: {"InstanceIds": [o["instance"]]}, "InvalidInstanceID.NotFound"),
    ("start_instances", lambda o: {"InstanceIds": [o["instance"]]}, "InvalidInstanceID.NotFound"),
    ("reboot_instances", lambda o: {"InstanceIds": [o["instance"]]}, "InvalidInstanceID.NotFound"),
    ("terminate_instances", lambda o: {"InstanceIds": [o["instance"]]}, "InvalidInstanceID.NotFound"),
    ("describe_instance_attribute", lambda o: {"InstanceId": o["instance"], "Attribute": "userData"},
     "InvalidInstanceID.NotFound"),
    ("get_console_output", lambda o: {"InstanceId": o["instance"]}, "InvalidInstanceID.NotFound"),
    ("create_image", lambda o: {"InstanceId": o["instance"], "Name": "steal"}, "InvalidInstanceID.NotFound"),
    ("describe_volumes", lambda o: {"VolumeIds": [o["volume"]]}, "InvalidVolume.NotFound"),
    ("delete_volume", lambda o: {"VolumeId": o["volume"]}, "InvalidVolume.NotFound"),
    ("attach_volume", lambda o: {"VolumeId": o["volume"], "InstanceId": o["instance"], "Device": "/dev/sdf"},
     "InvalidVolume.NotFound"),
    ("create_snapshot", lambda o: {"VolumeId": o["volume"]}, "InvalidVolume.NotFound"),
    ("describe_snapshots", lambda o: {"SnapshotIds": [o["snapshot"]]}, "InvalidSnapshot.NotFound"),
    ("delete_snapshot", lambda o: {"SnapshotId": o["snapshot"]}, "InvalidSnapshot.NotFound"),
    ("describe_key_pairs", lambda o: {"KeyNames": [o["keypair"]]}, "InvalidKeyPair.NotFound"),
    ("describe_security_groups", lambda o: {"GroupIds": [o["group"]]}, "InvalidGroup.NotFound"),
    ("describe_security_groups", lambda o: {"GroupNames": [o["group_name"]]}, "InvalidGroup.NotFound"),
    ("delete_security_group", lambda o: {"GroupId": o["group"]}, "InvalidGroup.NotFound"),
    ("authorize_security_group_ingress", lambda o: {"GroupId": o["group"], "IpProtocol": "tcp", "FromPort": 22,
                                                    "ToPort": 22, "CidrIp": "0.0.0.0/0"}, "InvalidGroup.NotFound"),
    ("describe_addresses", lambda o: {"PublicIps": [o["public_ip"]]}, "InvalidAddress.NotFound"),
    ("release_address", lambda o: {"AllocationId": o["allocation"]}, "InvalidAllocationID.NotFound"),
    ("associate_address", lambda o: {"AllocationId": o["allocation"], "InstanceId": o["instance"]},
     "InvalidAllocationID.NotFound"),
    ("describe_images", lambda o: {"ImageIds": [o["image"]]}, "InvalidAMIID.NotFound"),
    ("deregister_image", lambda o: {"ImageId": o["image"]}, "InvalidAMIID.NotFound"),
    ("describe_vpcs", lambda o: {"VpcIds": [o["vpc"]]}, "InvalidVpcID.NotFound"),
    ("delete_vpc", lambda o: {"VpcId": o["vpc"]}, "InvalidVpcID.NotFound"),
    ("create_subnet", lambda o: {"VpcId": o["vpc"], "CidrBlock": "10.77.9.0/24"}, "InvalidVpcID.NotFound"),
    ("describe_subnets", lambda o: {"SubnetIds": [o["subnet"]]}, "InvalidSubnetID.NotFound"),
    ("delete_subnet", lambda o: {"SubnetId": o["subnet"]}, "InvalidSubnetID.NotFound"),
    ("describe_internet_gateways", lambda o: {"InternetGatewayIds": [o["igw"]]}, "InvalidInternetGatewayID.NotFound"),
    ("delete_internet_gateway", lambda o: {"InternetGatewayId": o["igw"]}, "InvalidInternetGatewayID.NotFound"),
    ("describe_route_tables", lambda o: {"RouteTableIds": [o["rtb"]]}, "InvalidRouteTableID.NotFound"),
    ("delete_route_table", lambda o: {"RouteTableId": o["rtb"]}, "InvalidRouteTableID.NotFound"),
    ("create_tags", lambda o: {"Resources": [o["instance"]], "Tags": [{"Key": "k", "Value": "v"}]},
     "InvalidInstanceID.NotFound"),
    ("delete_tags", lambda o: {"Resources": [o["instance"]], "Tags": [{"Key": "owner"}]},
     "InvalidInstanceID.NotFound"),
]


def _leaks(message: str, sent: dict[str, Any], owned: dict[str, str]) -> list[str]:
    """Values of A's that B did not send itself and that appear in the error text."""
    sent_text = repr(sent)
    found = [v for v in owned.values() if v and v not in sent_text and v in message]
    found += [w for w in ("a-secret", "CSSIM-TENANT-A", "account a", "tenant-a") if w in message
              and w not in sent_text]
    found += re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", message)  # cloud ids
    return found


@pytest.mark.parametrize(("op", "args", "code"), MATRIX, ids=[f"{m[0]}:{i}" for i, m in enumerate(MATRIX)])
def test_tenant_b_gets_not_found_for_tenant_a_resources(tenant_b: Any, owned: dict[str, str], op: str, args: Any,
                                                         code: str) -> None:
    kwargs = args(owned)
    got, status, message = failure(getattr(tenant_b, op), **kwargs)
    assert (got, status) == (code, 400), message
    assert not _leaks(message, kwargs, owned), message


def test_tenant_b_lists_nothing_of_tenant_a(tenant_b: Any, owned: dict[str, str]) -> None:
    b = tenant_b
    seen = repr([b.describe_instances(), b.describe_volumes(), b.describe_snapshots(OwnerIds=["self"]),
                 b.describe_key_pairs(), b.describe_security_groups(), b.describe_addresses(),
                 b.describe_images(Owners=["self"]), b.describe_vpcs(), b.describe_subnets(),
                 b.describe_internet_gateways(), b.describe_route_tables(), b.describe_tags()])
    leaked = [k for k, v in owned.items() if k != "ami" and v and v in seen]
    assert not leaked, leaked


def test_tenant_a_resources_are_untouched_after_b_tried(gw: CsGateway, tenant_b: Any, owned: dict[str, str]
                                                         ) -> None:
    for op, args, _ in MATRIX:  # run the whole matrix (again) first: order of the tests must not matter
        try:
            getattr(tenant_b, op)(**args(owned))
        except ClientError:
            pass
    a = gw.client("a")
    inst = a.describe_instances(InstanceIds=[owned["instance"]])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running"
    assert {"Key": "owner", "Value": "a-secret-tag"} in inst.get("Tags", [])
    assert a.describe_volumes(VolumeIds=[owned["volume"]])["Volumes"][0]["State"] == "available"
    assert a.describe_snapshots(SnapshotIds=[owned["snapshot"]])["Snapshots"]
    assert a.describe_key_pairs(KeyNames=[owned["keypair"]])["KeyPairs"]
    group = a.describe_security_groups(GroupIds=[owned["group"]])["SecurityGroups"][0]
    assert group["IpPermissions"] == []
    assert a.describe_addresses(PublicIps=[owned["public_ip"]])["Addresses"][0].get("InstanceId") is None
    assert a.describe_images(ImageIds=[owned["image"]])["Images"]
    assert a.describe_subnets(SubnetIds=[owned["subnet"]])["Subnets"]
    assert a.describe_internet_gateways(InternetGatewayIds=[owned["igw"]])["InternetGateways"]
    assert a.describe_route_tables(RouteTableIds=[owned["rtb"]])["RouteTables"]
