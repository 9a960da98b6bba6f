"""EC2 codec throughput, with moto's model-driven EC2 serializer as the baseline measured in the same run.

    .venv/bin/python bench/codec.py

Prints DescribeInstances (1000 realistic instances) responses serialized per second by our codec and by
moto, their ratio, and realistic RunInstances requests parsed per second. Time-bounded loops; no asserts.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.serialize import create_serializer  # noqa: E402
from botocore.utils import percent_encode_sequence  # noqa: E402

from gateway.protocol.ec2 import Ec2RequestParser, Ec2ResponseSerializer  # noqa: E402
from gateway.protocol.models import service_model  # noqa: E402

LAUNCH = dt.datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=dt.UTC)
N_INSTANCES = 1000


def instance(n: int) -> dict[str, Any]:
    """One instance as DescribeInstances returns it for a VPC instance with an ENI, EBS root and tags."""
    ip = f"10.0.{n // 250 % 250}.{n % 250 + 4}"
    sg = [{"GroupId": "sg-0a1b2c3d4e5f60718", "GroupName": "web"}]
    return {
        "InstanceId": f"i-{n:017x}", "ImageId": "ami-0c55b159cbfafe1f0", "AmiLaunchIndex": 0,
        "State": {"Code": 16, "Name": "running"}, "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
        "PublicDnsName": "", "StateTransitionReason": "", "KeyName": "deploy & ops", "ProductCodes": [],
        "InstanceType": "m5.large", "LaunchTime": LAUNCH,
        "Placement": {"AvailabilityZone": "us-east-1a", "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"}, "SubnetId": "subnet-0123456789abcdef0",
        "VpcId": "vpc-0123456789abcdef0", "PrivateIpAddress": ip, "PublicIpAddress": f"54.210.{n % 250}.7",
        "Architecture": "x86_64", "RootDeviceType": "ebs", "RootDeviceName": "/dev/xvda",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
            "AttachTime": LAUNCH, "DeleteOnTermination": True, "Status": "attached", "VolumeId": f"vol-{n:017x}"}}],
        "VirtualizationType": "hvm", "ClientToken": f"token-{n}", "Hypervisor": "xen", "EbsOptimized": False,
        "EnaSupport": True, "SourceDestCheck": True, "SecurityGroups": sg,
        "Tags": [{"Key": "Name", "Value": f"web-{n}"}, {"Key": "env", "Value": "prod"}],
        "NetworkInterfaces": [{
            "NetworkInterfaceId": f"eni-{n:017x}", "SubnetId": "subnet-0123456789abcdef0",
            "VpcId": "vpc-0123456789abcdef0", "Description": "", "OwnerId": "123456789012", "Status": "in-use",
            "MacAddress": "0e:3c:aa:41:5b:7d", "PrivateIpAddress": ip, "SourceDestCheck": True, "Groups": sg,
            "Attachment": {"AttachmentId": f"eni-attach-{n:017x}", "DeviceIndex": 0, "Status": "attached",
                           "AttachTime": LAUNCH, "DeleteOnTermination": True, "NetworkCardIndex": 0},
            "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": True,
                                    "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal"}],
            "Ipv6Addresses": [], "InterfaceType": "interface"}],
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "MetadataOptions": {"State": "applied", "HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                            "HttpEndpoint": "enabled", "InstanceMetadataTags": "disabled"},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False}, "EnclaveOptions": {"Enabled": False},
        "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances", "BootMode": "uefi-preferred",
    }


def describe_instances(n: int) -> dict[str, Any]:
    return {"Reservations": [{"ReservationId": f"r-{i:017x}", "OwnerId": "123456789012", "Groups": [],
                              "Instances": [instance(i)]} for i in range(n)]}


RUN_INSTANCES = {
    "ImageId": "ami-0c55b159cbfafe1f0", "MinCount": 1, "MaxCount": 2, "InstanceType": "t3.micro",
    "KeyName": "deploy", "SecurityGroupIds": ["sg-0a1b2c3d4e5f60718", "sg-0f1e2d3c4b5a69788"],
    "UserData": "IyEvYmluL2Jhc2gKZWNobyBoZWxsbw==", "EbsOptimized": True, "ClientToken": "c6d5b1a0",
    "BlockDeviceMappings": [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 50, "VolumeType": "gp3", "Iops": 3000,
                                            "Throughput": 125, "DeleteOnTermination": True, "Encrypted": True}},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}],
    "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": "subnet-0123456789abcdef0",
                           "AssociatePublicIpAddress": True, "Groups": ["sg-0a1b2c3d4e5f60718"],
                           "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.1.10"}],
                           "DeleteOnTermination": True}],
    "TagSpecifications": [
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "prod"}]},
        {"ResourceType": "volume", "Tags": [{"Key": "backup", "Value": "daily"}]}],
    "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
    "Monitoring": {"Enabled": False},
    "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 2},
    "IamInstanceProfile": {"Name": "web-role"},
}


def rate(fn: Callable[[], object], seconds: float = 2.0) -> float:
    fn()  # warm up (compiles plans)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    return n / elapsed


def main() -> None:
    ec2 = service_model("ec2")
    result = describe_instances(N_INSTANCES)
    ours = Ec2ResponseSerializer(ec2)
    size = len(ours.serialize("DescribeInstances", result, "bench"))
    ours_rate = rate(lambda: ours.serialize("DescribeInstances", result, "bench"))
    print(f"DescribeInstances x{N_INSTANCES} ({size / 1e6:.2f} MB): cloudgate {ours_rate:8.1f} responses/s")
    try:
        from moto.core.serialize import EC2Serializer as MotoEc2Serializer
        from moto.core.utils import get_service_model
    except ImportError:
        print("  moto not installed: no baseline")
    else:
        moto_op = get_service_model("ec2").operation_model("DescribeInstances")
        moto_rate = rate(lambda: MotoEc2Serializer(moto_op).serialize(result)["body"])
        print(f"DescribeInstances x{N_INSTANCES}: moto {moto_rate:8.1f} responses/s   "
              f"ratio cloudgate/moto = {ours_rate / moto_rate:.1f}x")

    request = create_serializer("ec2", include_validation=False).serialize_to_request(
        RUN_INSTANCES, ec2.operation_model("RunInstances"))
    pairs = parse_qsl(percent_encode_sequence(request["body"]), keep_blank_values=True)
    parser = Ec2RequestParser(ec2)
    parse_rate = rate(lambda: parser.parse(pairs))
    print(f"RunInstances ({len(pairs)} params): parsed {parse_rate:8.0f} requests/s")


if __name__ == "__main__":
    main()
