"""EC2 RunInstances, Describe/Stop/Start/Terminate, attributes, status and types: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

import pytest

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    A,
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
    launch,
)


# ---- instances ----------------------------------------------------------------------------------------------------
def test_run_instances_answers_pending_and_the_waiter_sees_running(ec2, ami):
    res = ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2, InstanceType="t2.micro", UserData="hello",
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": [{"Key": "Name", "Value": "web"}]}])
    assert res["ReservationId"].startswith("r-") and res["OwnerId"] == A[2]
    assert [i["State"] for i in res["Instances"]] == [{"Code": 0, "Name": "pending"}] * 2
    assert [i["AmiLaunchIndex"] for i in res["Instances"]] == [0, 1]
    ids = [i["InstanceId"] for i in res["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    desc = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    assert len(desc) == 1 and desc[0]["ReservationId"] == res["ReservationId"]
    inst = desc[0]["Instances"][0]
    assert inst["Tags"] == [{"Key": "Name", "Value": "web"}]
    assert inst["PrivateIpAddress"].startswith("10.0.0.") and inst["InstanceType"] == "t2.micro"
    assert inst["SecurityGroups"][0]["GroupName"] == "default"
    # outside a VPC a reservation names its instances' groups (EC2-Classic), in RunInstances and Describe
    assert res["Groups"] == desc[0]["Groups"] == inst["SecurityGroups"]
    attr = ec2.describe_instance_attribute(InstanceId=ids[0], Attribute="userData")
    assert attr["UserData"]["Value"] == "aGVsbG8="


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"MinCount": 3, "MaxCount": 2}, "InvalidParameterValue"),
    ({"InstanceType": "x9.huge"}, "InvalidParameterValue"),
    ({"KeyName": "nope"}, "InvalidKeyPair.NotFound"),
    ({"SecurityGroups": ["nope"]}, "InvalidGroup.NotFound"),
    ({"SecurityGroupIds": ["sg-12345678901234567"]}, "InvalidGroup.NotFound"),
    ({"Placement": {"AvailabilityZone": "mars-1a"}}, "InvalidParameterValue"),
    ({"ImageId": "ami-12345678901234567"}, "InvalidAMIID.NotFound"),
    ({"ImageId": "bogus"}, "InvalidAMIID.Malformed"),
])
def test_run_instances_errors(ec2, ami, kwargs, code):
    args = {"ImageId": ami, "MinCount": 1, "MaxCount": 1, "InstanceType": "t2.micro", **kwargs}
    assert error(ec2.run_instances, **args) == (code, 400)


def test_run_instances_quota_is_instance_limit_exceeded(ec2, ami, cloud):
    assert error(ec2.run_instances, ImageId=ami, MinCount=500, MaxCount=500) == ("InstanceLimitExceeded", 400)


def test_client_token_is_idempotent(ec2, ami):
    first = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-1")
    again = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-1")
    assert again["Instances"][0]["InstanceId"] == first["Instances"][0]["InstanceId"]
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m1.small",
                 ClientToken="tok-1") == ("IdempotentParameterMismatch", 400)
    ec2.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])


def test_dry_run(ec2, ami):
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, DryRun=True) == ("DryRunOperation", 412)
    assert error(ec2.describe_instances, DryRun=True) == ("DryRunOperation", 412)


def test_stop_start_terminate_and_terminated_stays_visible(ec2, ami):
    (iid,) = launch(ec2, ami)
    assert error(ec2.stop_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)  # still pending
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    noop = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (noop["PreviousState"]["Name"], noop["CurrentState"]["Name"]) == ("running", "running")
    change = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (change["PreviousState"]["Code"], change["CurrentState"]["Code"]) == (16, 64)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error(ec2.reboot_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    change = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (change["PreviousState"]["Name"], change["CurrentState"]["Name"]) == ("stopped", "pending")
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    change = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert (change["PreviousState"]["Code"], change["CurrentState"]["Code"]) == (16, 32)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["State"] == {"Code": 48, "Name": "terminated"}
    states = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["terminated"]}])
    assert iid in [i["InstanceId"] for r in states["Reservations"] for i in r["Instances"]]
    assert error(ec2.start_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert again["CurrentState"]["Name"] == "terminated"


def test_disable_api_termination(ec2, ami):
    (iid,) = launch(ec2, ami, DisableApiTermination=True)
    assert error(ec2.terminate_instances, InstanceIds=[iid]) == ("OperationNotPermitted", 400)
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
    assert attr["DisableApiTermination"] == {"Value": True}
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[iid])


def test_instance_attributes(ec2, ami):
    (iid,) = launch(ec2, ami)
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"] == \
        {"Value": "t2.micro"}
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="rootDeviceName")["RootDeviceName"] == \
        {"Value": "/dev/vda"}
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")["Groups"][0]["GroupName"] == \
        "default"
    ec2.modify_instance_attribute(InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior",
                                  Value="terminate")
    out = ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior")
    assert out["InstanceInitiatedShutdownBehavior"] == {"Value": "terminate"}
    # outside a VPC (EC2-Classic rules): no source/dest check, security groups fixed at launch
    classic = ("InvalidParameterCombination", 400)
    assert error(ec2.modify_instance_attribute, InstanceId=iid, SourceDestCheck={"Value": False}) == classic
    assert error(ec2.reset_instance_attribute, InstanceId=iid, Attribute="sourceDestCheck") == classic
    assert error(ec2.describe_instance_attribute, InstanceId=iid, Attribute="sourceDestCheck") == classic
    assert error(ec2.modify_instance_attribute, InstanceId=iid, Groups=["sg-0"]) == classic
    assert error(ec2.modify_instance_attribute, InstanceId=iid) == classic
    assert error(ec2.modify_instance_attribute, InstanceId=iid, Attribute="disableApiTermination") == \
        ("MissingParameter", 400)
    assert error(ec2.describe_instance_attribute, InstanceId="i-0", Attribute="disableApiTermination") == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.modify_instance_attribute, InstanceId=iid, UserData={"Value": b"x"}) == \
        ("IncorrectInstanceState", 400)
    assert error(ec2.describe_instance_attribute, InstanceId=iid, Attribute="bogus") == \
        ("InvalidParameterValue", 400)
    out = ec2.get_console_output(InstanceId=iid)
    assert out["Output"] == "boot ok\n"  # boto3 decodes the base64
    assert ec2.get_password_data(InstanceId=iid)["PasswordData"] == ""
    ec2.terminate_instances(InstanceIds=[iid])


def test_describe_instances_filters_paging_and_errors(ec2, ami):
    ids = launch(ec2, ami, MinCount=3, MaxCount=3, InstanceType="m1.small")
    out = ec2.describe_instances(Filters=[{"Name": "instance-type", "Values": ["m1.small"]},
                                          {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    found = {i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]}
    assert set(ids) <= found
    res_id = out["Reservations"][0]["ReservationId"]
    by_res = ec2.describe_instances(Filters=[{"Name": "reservation-id", "Values": [res_id]}])
    assert by_res["Reservations"][0]["ReservationId"] == res_id
    seen, pages = [], ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5})
    for page in pages:
        seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    assert error(ec2.describe_instances, InstanceIds=["i-00000000000000000"]) == ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.describe_instances, InstanceIds=["i-xyz"]) == ("InvalidInstanceID.Malformed", 400)
    assert error(ec2.describe_instances, InstanceIds=["i-0"]) == ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.describe_instances, Filters=[{"Name": "bogus", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.describe_instances, MaxResults=5, NextToken="forged") == ("InvalidParameterValue", 400)
    assert error(ec2.describe_instances, MaxResults=3) == ("InvalidParameterValue", 400)
    ec2.terminate_instances(InstanceIds=ids)


def test_describe_instances_costs_constant_backend_calls(ec2, ami, cloud):
    world = cloud[1]
    ids = launch(ec2, ami, MinCount=5, MaxCount=5)
    world.calls.clear()
    ec2.describe_instances()
    assert world.calls.count("list_servers") == 1 and len(world.calls) <= 2
    ec2.terminate_instances(InstanceIds=ids)


def test_instance_status_and_types(ec2, ami):
    (iid,) = launch(ec2, ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    st = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"][0]
    assert st["InstanceState"]["Name"] == "running" and st["InstanceStatus"]["Status"] == "ok"
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    types = ec2.describe_instance_types(InstanceTypes=["t2.micro"])["InstanceTypes"]
    assert types[0]["MemoryInfo"]["SizeInMiB"] == 512
    assert error(ec2.describe_instance_types, InstanceTypes=["x9.huge"]) == ("InvalidInstanceType", 400)
    ec2.terminate_instances(InstanceIds=[iid])


# ---- instance metadata options ------------------------------------------------------------------------------------
def test_metadata_options_at_launch_in_describe_and_modified(ec2, ami):
    [iid] = launch(ec2, ami, MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2})
    try:
        shown = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["MetadataOptions"]
        assert shown == {"State": "applied", "HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                         "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"}
        changed = ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional",
                                                       InstanceMetadataTags="enabled")
        assert changed["InstanceMetadataOptions"]["State"] == "pending"
        after = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["MetadataOptions"]
        assert (after["State"], after["HttpTokens"], after["InstanceMetadataTags"], after["HttpPutResponseHopLimit"]) \
            == ("applied", "optional", "enabled", 2)
        assert error(ec2.modify_instance_metadata_options, InstanceId=iid, HttpTokens="sometimes") == (
            "InvalidParameterValue", 400)
        assert error(ec2.modify_instance_metadata_options, InstanceId="i-0123456789abcdef0", HttpTokens="required") \
            == ("InvalidInstanceID.NotFound", 400)
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


def test_default_metadata_options_and_a_bad_hop_limit(ec2, ami):
    [iid] = launch(ec2, ami)
    try:
        shown = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["MetadataOptions"]
        assert (shown["HttpTokens"], shown["HttpPutResponseHopLimit"], shown["HttpEndpoint"]) == ("optional", 1,
                                                                                                  "enabled")
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1,
                 MetadataOptions={"HttpPutResponseHopLimit": 65}) == ("InvalidParameterValue", 400)
