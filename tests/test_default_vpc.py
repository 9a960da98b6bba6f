"""The default VPC on by default (`ec2.default_vpc`, as AWS accounts since 2013), on the CloudStack simulator
with the configuration's defaults: VPC-only account attributes, a default VPC with a default subnet per zone
made on first need, RunInstances without a subnet landing there; and one 12-digit account number shown as the
STS Account, the reservation's OwnerId and the default VPC's OwnerId."""

from __future__ import annotations

import re

import boto3
from botocore.config import Config as BotoConfig

from gateway.config import parse_config
from tests.cloudstack_support import REGION, WAIT, cs_gateway, instances_of


def test_the_default_vpc_is_on_by_default() -> None:
    assert parse_config({}).ec2.default_vpc is True
    assert parse_config({"ec2": {"default_vpc": False}}).ec2.default_vpc is False


def test_a_new_account_launches_into_its_default_vpc_on_cloudstack() -> None:
    with cs_gateway(job_delay=0.0, default_vpc=None) as gw:
        ec2 = gw.client("a")
        attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]] for a in
                 ec2.describe_account_attributes(AttributeNames=["supported-platforms"])["AccountAttributes"]}
        assert attrs == {"supported-platforms": ["VPC"]}
        image = ec2.describe_images()["Images"][0]["ImageId"]
        reservation = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro")
        (iid,) = [i["InstanceId"] for i in reservation["Instances"]]
        try:
            ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
            (inst,) = instances_of(ec2.describe_instances(InstanceIds=[iid]))
            (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            assert inst["VpcId"] == vpc["VpcId"] and vpc["CidrBlock"] == "172.31.0.0/16"
            subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
            zones = {z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
            assert {s["AvailabilityZone"] for s in subnets if s["DefaultForAz"]} == zones
            assert inst["SubnetId"] in {s["SubnetId"] for s in subnets if s["DefaultForAz"]}
            default_vpc = [v["AttributeValue"] for v in ec2.describe_account_attributes(
                AttributeNames=["default-vpc"])["AccountAttributes"][0]["AttributeValues"]]
            assert default_vpc == [vpc["VpcId"]]
            # the account: 12 digits, the same in STS and every OwnerId
            access, secret = gw.sim.keys("a")
            sts = boto3.client("sts", endpoint_url=gw.endpoint, region_name=REGION, aws_access_key_id=access,
                               aws_secret_access_key=secret, config=BotoConfig(retries={"total_max_attempts": 1}))
            account = sts.get_caller_identity()["Account"]
            assert re.fullmatch(r"[1-9]\d{11}", account)
            owner = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["OwnerId"]
            assert account == owner == vpc["OwnerId"] == reservation["OwnerId"]
        finally:
            ec2.terminate_instances(InstanceIds=[iid])
            ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
