"""EC2 instances over HTTP through cloudgate on the real devcloud OpenStack (boto3 and aws-cli).

The gateway runs in-process with `backend: openstack`; Keystone validates each tenant's own EC2 key. Every
error is asserted by its exact AWS code and HTTP status. Everything created is removed in `finally`
(bounded waits, gentle polling: the cloud is shared with other runs). Tenant isolation of instances is
here; the other resource families are in tests/test_ec2_os_resources.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ec2_os_support import (  # noqa: F401 - fixtures
    RETENTION,
    WAIT,
    Gateway,
    ami_fixture,
    aws_cli,
    ec2a_fixture,
    ec2b_fixture,
    error_of,
    gw_fixture,
    instances_of,
    poll,
    terminate_and_wait,
)
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture

FLEET = 6


def _name() -> str:
    return f"cgt-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def fleet(ec2a: Any, ami: str) -> Iterator[dict[str, Any]]:
    """Six running t2.micro instances of tenant A, launched in one call, named `<prefix>-fleet`."""
    prefix = _name()
    ids: list[str] = []
    try:
        r = ec2a.run_instances(ImageId=ami, MinCount=FLEET, MaxCount=FLEET, InstanceType="t2.micro",
                               TagSpecifications=[{"ResourceType": "instance",
                                                   "Tags": [{"Key": "Name", "Value": f"{prefix}-fleet"},
                                                            {"Key": "suite", "Value": prefix}]}])
        ids = [i["InstanceId"] for i in r["Instances"]]
        ec2a.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
        yield {"prefix": prefix, "ids": ids, "reservation": r["ReservationId"]}
    finally:
        terminate_and_wait(ec2a, ids)


def _one(client: Any, iid: str) -> dict[str, Any]:
    (item,) = instances_of(client.describe_instances(InstanceIds=[iid]))
    return item


def _state(client: Any, iid: str) -> str:
    return _one(client, iid)["State"]["Name"]


# ---- RunInstances ------------------------------------------------------------------------------------------
def test_run_instances_rejects_bad_input_with_aws_codes(ec2a: Any, ami: str) -> None:
    base = {"MinCount": 1, "MaxCount": 1, "InstanceType": "t2.micro"}
    assert error_of(ec2a.run_instances, ImageId="ami-0123456789abcdef0", **base) == ("InvalidAMIID.NotFound", 400)
    assert error_of(ec2a.run_instances, ImageId="image-1", **base) == ("InvalidAMIID.Malformed", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, MinCount=1, MaxCount=1,
                    InstanceType="x9.enormous") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, KeyName=f"{_name()}-nokey",
                    **base) == ("InvalidKeyPair.NotFound", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, MinCount=3, MaxCount=2,
                    InstanceType="t2.micro") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, SecurityGroups=[f"{_name()}-nogroup"],
                    **base) == ("InvalidGroup.NotFound", 400)
    assert error_of(ec2a.run_instances, ImageId=ami, DryRun=True, **base) == ("DryRunOperation", 412)


def test_run_instances_client_token_tag_specifications_and_block_devices(ec2a: Any, ami: str) -> None:
    name, token = _name(), uuid.uuid4().hex
    args = {"ImageId": ami, "MinCount": 1, "MaxCount": 1, "InstanceType": "t2.micro", "ClientToken": token,
            "BlockDeviceMappings": [{"DeviceName": "/dev/vdb", "Ebs": {"VolumeSize": 1,
                                                                     "DeleteOnTermination": True}}],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]},
                                  {"ResourceType": "volume", "Tags": [{"Key": "launched-by", "Value": name}]}]}
    ids: list[str] = []
    try:
        first = ec2a.run_instances(**args)
        ids = [i["InstanceId"] for i in first["Instances"]]
        assert len(ids) == 1 and first["Instances"][0]["State"] == {"Code": 0, "Name": "pending"}
        assert first["Instances"][0]["ClientToken"] == token
        assert {"Key": "Name", "Value": name} in first["Instances"][0]["Tags"]
        replay = ec2a.run_instances(**args)
        assert [i["InstanceId"] for i in replay["Instances"]] == ids
        assert replay["ReservationId"] == first["ReservationId"]
        assert error_of(ec2a.run_instances, **{**args, "InstanceType": "t2.small"}) == \
            ("IdempotentParameterMismatch", 400)
        ec2a.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
        # one server only, found by its token and its Name
        found = instances_of(ec2a.describe_instances(Filters=[{"Name": "client-token", "Values": [token]}]))
        assert [i["InstanceId"] for i in found] == ids
        assert [i["InstanceId"] for i in instances_of(ec2a.describe_instances(
            Filters=[{"Name": "tag:Name", "Values": [name]}]))] == ids
        # the launch's volume carries the volume TagSpecifications and shows the device asked for
        volumes = poll(lambda: ec2a.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": ids}])["Volumes"],
            lambda v: bool(v), timeout=60, what="the launch volume")
        assert {"Key": "launched-by", "Value": name} in volumes[0].get("Tags", [])
        assert volumes[0]["Size"] == 1
    finally:
        terminate_and_wait(ec2a, ids)


# ---- DescribeInstances: filters and paging ------------------------------------------------------------------------
def test_describe_instances_filters(ec2a: Any, fleet: dict[str, Any]) -> None:
    ids, prefix = fleet["ids"], fleet["prefix"]
    mine = {"Name": "instance-id", "Values": ids}

    def matching(*filters: dict[str, Any]) -> set[str]:
        return {i["InstanceId"] for i in instances_of(ec2a.describe_instances(Filters=[mine, *filters]))}

    assert matching({"Name": "instance-state-name", "Values": ["running"]}) == set(ids)
    assert matching({"Name": "instance-state-name", "Values": ["stopped", "terminated"]}) == set()
    assert matching({"Name": "instance-state-code", "Values": ["16"]}) == set(ids)
    assert matching({"Name": "tag:Name", "Values": [f"{prefix[:8]}*-fl?et"]}) == set(ids)
    assert matching({"Name": "tag:Name", "Values": ["no-such-*"]}) == set()
    assert matching({"Name": "tag-key", "Values": ["suite"]}) == set(ids)
    assert matching({"Name": "instance-type", "Values": ["t2.micro"]}) == set(ids)
    assert matching({"Name": "instance-type", "Values": ["t2.large"]}) == set()
    assert matching({"Name": "availability-zone", "Values": ["nova"]}) == set(ids)
    assert matching({"Name": "reservation-id", "Values": [fleet["reservation"]]}) == set(ids)
    one = _one(ec2a, ids[2])
    assert one["PrivateIpAddress"]
    assert matching({"Name": "private-ip-address", "Values": [one["PrivateIpAddress"]]}) == {ids[2]}
    assert matching({"Name": "private-ip-address", "Values": [one["PrivateIpAddress"].rsplit(".", 1)[0] + ".*"]}) \
        >= {ids[2]}
    assert error_of(ec2a.describe_instances, Filters=[{"Name": "no-such-filter", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)
    # one reservation for the six, launch indexes 0..5
    reservations = ec2a.describe_instances(InstanceIds=ids)["Reservations"]
    assert [r["ReservationId"] for r in reservations] == [fleet["reservation"]]
    assert sorted(i["AmiLaunchIndex"] for i in reservations[0]["Instances"]) == list(range(FLEET))


def test_describe_instances_paging(ec2a: Any, fleet: dict[str, Any]) -> None:
    by_tag = [{"Name": "tag:suite", "Values": [fleet["prefix"]]}]
    first = ec2a.describe_instances(Filters=by_tag, MaxResults=5)
    assert len(instances_of(first)) == 5 and first.get("NextToken")
    second = ec2a.describe_instances(Filters=by_tag, MaxResults=5, NextToken=first["NextToken"])
    assert len(instances_of(second)) == 1 and not second.get("NextToken")
    seen = [i["InstanceId"] for i in instances_of(first) + instances_of(second)]
    assert sorted(seen) == sorted(fleet["ids"])
    paginated = [i["InstanceId"] for page in ec2a.get_paginator("describe_instances").paginate(
        Filters=by_tag, PaginationConfig={"PageSize": 5}) for r in page["Reservations"] for i in r["Instances"]]
    assert sorted(paginated) == sorted(fleet["ids"])
    assert error_of(ec2a.describe_instances, MaxResults=5, NextToken="bm90LWEtdG9rZW4") == \
        ("InvalidParameterValue", 400)
    assert error_of(ec2a.describe_instances, MaxResults=4) == ("InvalidParameterValue", 400)
    assert error_of(ec2a.describe_instances, InstanceIds=fleet["ids"][:1], MaxResults=5) == \
        ("InvalidParameterCombination", 400)
    assert error_of(ec2a.describe_instances, InstanceIds=["i-0123456789abcdef0"]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error_of(ec2a.describe_instances, InstanceIds=["instance-1"]) == ("InvalidInstanceID.Malformed", 400)


def test_aws_cli_describes_and_reports_errors(gw: Gateway, fleet: dict[str, Any]) -> None:
    out = aws_cli(gw, "a", "ec2", "describe-instances", "--instance-ids", *fleet["ids"][:2])
    assert out.returncode == 0, out.stderr
    found = [i["InstanceId"] for r in json.loads(out.stdout)["Reservations"] for i in r["Instances"]]
    assert sorted(found) == sorted(fleet["ids"][:2])
    out = aws_cli(gw, "a", "ec2", "describe-instances", "--filters", f"Name=tag:suite,Values={fleet['prefix']}",
                  "--query", "length(Reservations[].Instances[])")
    assert out.returncode == 0 and json.loads(out.stdout) == FLEET, out.stderr
    denied = aws_cli(gw, "b", "ec2", "stop-instances", "--instance-ids", fleet["ids"][0])
    assert denied.returncode != 0 and "(InvalidInstanceID.NotFound)" in denied.stderr


# ---- state changes, attributes, console ---------------------------------------------------------------------------
def test_stop_start_reboot(ec2a: Any, fleet: dict[str, Any]) -> None:
    iid = fleet["ids"][0]
    assert error_of(ec2a.start_instances, InstanceIds=["i-0123456789abcdef0"]) == ("InvalidInstanceID.NotFound", 400)
    stopping = ec2a.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert stopping["PreviousState"]["Name"] == "running"
    assert stopping["CurrentState"]["Name"] == "stopping"
    ec2a.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    stopped = _one(ec2a, iid)
    assert stopped["State"] == {"Code": 80, "Name": "stopped"}
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert error_of(ec2a.reboot_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    again = ec2a.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]  # idempotent, as on AWS
    assert again["CurrentState"]["Name"] == "stopped"
    starting = ec2a.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (starting["PreviousState"]["Name"], starting["CurrentState"]["Name"]) == ("stopped", "pending")
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2a.reboot_instances(InstanceIds=[iid])
    assert _state(ec2a, iid) == "running"  # a reboot keeps the instance running
    # the cloud refuses a stop while its reboot is in progress (IncorrectInstanceState); it then succeeds
    poll(lambda: _try_stop(ec2a, iid), lambda ok: ok, timeout=60, what="stop after reboot")
    ec2a.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2a.start_instances(InstanceIds=[iid])
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)


def _try_stop(client: Any, iid: str) -> bool:
    try:
        client.stop_instances(InstanceIds=[iid])
    except Exception as e:  # noqa: BLE001 - only the documented refusal is tolerated
        code = getattr(e, "response", {}).get("Error", {}).get("Code")
        assert code == "IncorrectInstanceState", e
        return False
    return True


def test_instance_attributes(gw: Gateway, ec2a: Any, fleet: dict[str, Any]) -> None:
    iid = fleet["ids"][1]
    attr = ec2a.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")
    assert attr["InstanceType"] == {"Value": "t2.micro"}
    assert error_of(ec2a.describe_instance_attribute, InstanceId=iid, Attribute="bogus") == \
        ("InvalidParameterValue", 400)
    # instanceType: only when stopped
    assert error_of(ec2a.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "t2.small"}) == \
        ("IncorrectInstanceState", 400)
    # disableApiTermination blocks TerminateInstances
    ec2a.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    assert ec2a.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"] == {"Value": True}
    try:
        assert error_of(ec2a.terminate_instances, InstanceIds=[iid]) == ("OperationNotPermitted", 400)
        assert _state(ec2a, iid) == "running"
    finally:
        ec2a.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2a.stop_instances(InstanceIds=[iid])
    ec2a.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    # a real resize (devcloud Nova allows it on its one host): done, stopped still, when the call returns
    ec2a.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t2.small"})
    item = _one(ec2a, iid)
    assert (item["InstanceType"], item["State"]["Name"]) == ("t2.small", "stopped")
    assert ec2a.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"] == \
        {"Value": "t2.small"}
    ec2a.start_instances(InstanceIds=[iid])
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)


def test_console_output_and_status(ec2a: Any, fleet: dict[str, Any]) -> None:
    iid = fleet["ids"][2]
    out = ec2a.get_console_output(InstanceId=iid)
    assert out["InstanceId"] == iid and out["Output"]  # boto3 decodes the base64 output
    assert error_of(ec2a.get_console_output, InstanceId="i-0123456789abcdef0") == ("InvalidInstanceID.NotFound", 400)
    statuses = ec2a.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert [s["InstanceState"]["Name"] for s in statuses] == ["running"]
    # Nova's os-server-password: nothing posted by a Linux guest, so empty data, as AWS answers
    assert ec2a.get_password_data(InstanceId=iid)["PasswordData"] == ""


# ---- tenant isolation (instances) ---------------------------------------------------------------------------------
def test_tenant_b_can_neither_see_nor_change_tenant_a_instances(ec2a: Any, ec2b: Any, fleet: dict[str, Any]) -> None:
    iid = fleet["ids"][3]
    nf = ("InvalidInstanceID.NotFound", 400)
    assert error_of(ec2b.describe_instances, InstanceIds=[iid]) == nf
    assert instances_of(ec2b.describe_instances(Filters=[{"Name": "instance-id", "Values": fleet["ids"]}])) == []
    assert instances_of(ec2b.describe_instances(Filters=[{"Name": "tag:suite", "Values": [fleet["prefix"]]}])) == []
    assert ec2b.describe_instance_status(InstanceIds=[], IncludeAllInstances=True,
                                         Filters=[{"Name": "instance-id", "Values": [iid]}])["InstanceStatuses"] == []
    assert error_of(ec2b.describe_instance_status, InstanceIds=[iid]) == nf
    assert error_of(ec2b.stop_instances, InstanceIds=[iid]) == nf
    assert error_of(ec2b.start_instances, InstanceIds=[iid]) == nf
    assert error_of(ec2b.reboot_instances, InstanceIds=[iid]) == nf
    assert error_of(ec2b.terminate_instances, InstanceIds=[iid]) == nf
    assert error_of(ec2b.describe_instance_attribute, InstanceId=iid, Attribute="instanceType") == nf
    assert error_of(ec2b.modify_instance_attribute, InstanceId=iid, DisableApiTermination={"Value": True}) == nf
    assert error_of(ec2b.reset_instance_attribute, InstanceId=iid, Attribute="sourceDestCheck") == nf
    assert error_of(ec2b.get_console_output, InstanceId=iid) == nf
    assert error_of(ec2b.get_password_data, InstanceId=iid) == nf
    assert error_of(ec2b.create_tags, Resources=[iid], Tags=[{"Key": "owned", "Value": "b"}]) == nf
    assert error_of(ec2b.delete_tags, Resources=[iid], Tags=[{"Key": "Name"}]) == nf
    assert error_of(ec2b.create_image, InstanceId=iid, Name=f"{_name()}-stolen") == nf
    assert ec2b.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"] == []
    # A's instance is unchanged
    item = _one(ec2a, iid)
    assert item["State"]["Name"] == "running"
    assert {t["Key"] for t in item["Tags"]} == {"Name", "suite"}
    assert ec2a.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"] == {"Value": False}


# ---- termination and retention -----------------------------------------------------------------------------------
def test_terminated_instances_stay_visible_for_the_retention_then_vanish(ec2a: Any, ami: str) -> None:
    ids: list[str] = []
    try:
        ids = [i["InstanceId"] for i in ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                                           InstanceType="t2.micro")["Instances"]]
        ec2a.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
        change = ec2a.terminate_instances(InstanceIds=ids)["TerminatingInstances"][0]
        assert change["PreviousState"]["Name"] == "running"
        assert change["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
        ec2a.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=WAIT)
        terminated_at = time.monotonic()
        item = _one(ec2a, ids[0])
        assert item["State"] == {"Code": 48, "Name": "terminated"}
        assert "PrivateIpAddress" not in item
        # terminating again is accepted and stays terminated; stopping is not
        again = ec2a.terminate_instances(InstanceIds=ids)["TerminatingInstances"][0]
        assert again["CurrentState"]["Name"] == "terminated"
        assert error_of(ec2a.stop_instances, InstanceIds=ids) == ("IncorrectInstanceState", 400)
        assert error_of(ec2a.start_instances, InstanceIds=ids) == ("IncorrectInstanceState", 400)
        time.sleep(max(0.0, RETENTION + 1 - (time.monotonic() - terminated_at)))
        assert error_of(ec2a.describe_instances, InstanceIds=ids) == ("InvalidInstanceID.NotFound", 400)
        assert instances_of(ec2a.describe_instances(Filters=[{"Name": "instance-id", "Values": ids}])) == []
        ids = []
    finally:
        terminate_and_wait(ec2a, ids)
