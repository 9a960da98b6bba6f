"""Ansible's amazon.aws collection through cloudgate in front of the devcloud OpenStack (issue 11).

The playbooks of tests/ansible/ build a VPC, subnet, security group, key pair, instance, volume, bucket and
object with the tenant's own Keystone EC2 key on one endpoint; a second run and a --check run must change
nothing; the teardown playbook stops, starts and terminates the instance and deletes everything. Whatever
a failed run leaves behind is swept with boto3 afterwards. The playbooks themselves are checked against
moto the same way (see tests/ansible/README.md), so a failure here is the gateway's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ansible_support import PlaybookRun, ansible_playbook, run_playbook
from tests.ec2_os_support import Gateway, devcloud_gateway, quietly, terminate_and_wait
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture

# ec2_vol answers changed=true in check mode for a volume that exists and is as asked: its ensure_tags()
# returns (…, True) whenever module.check_mode is set (amazon.aws 10.x). s3_bucket has no check mode and
# is skipped by --check.
CHECK_MODE_ALWAYS_CHANGED = {"Volume"}


def _assert_ok(run: PlaybookRun, what: str) -> None:
    assert run.rc == 0 and not run.failed and run.stats.get("failures", 0) == 0, f"{what}:\n{run.report()}"


def _listed(call: Callable[[], list[Any]]) -> list[Any]:
    """A cleanup listing: [] when it fails."""
    try:
        return call()
    except Exception:
        return []


def _retried(step: Callable[[], Any], tries: int = 10, delay: float = 3.0) -> None:
    """A cleanup step that may wait on another (a subnet on its instance's port): bounded retries."""
    for _ in range(tries):
        try:
            step()
            return
        except Exception:
            time.sleep(delay)


def _sweep(gw: Gateway, prefix: str) -> None:
    """Delete whatever a failed run left behind, by the names the playbooks give (never raises)."""
    ec2 = gw.client("a")
    s3 = gw.client("a", "s3")
    bucket = f"{prefix}-bucket"
    for obj in _listed(lambda: s3.list_objects_v2(Bucket=bucket).get("Contents", [])):
        quietly(lambda obj=obj: s3.delete_object(Bucket=bucket, Key=obj["Key"]))
    quietly(lambda: s3.delete_bucket(Bucket=bucket))

    def named(name: str) -> list[dict[str, Any]]:
        return [{"Name": "tag:Name", "Values": [f"{prefix}-{name}"]}]

    terminate_and_wait(ec2, _listed(lambda: [i["InstanceId"] for r in ec2.describe_instances(
        Filters=named("vm"))["Reservations"] for i in r["Instances"]]))
    for vol in _listed(lambda: ec2.describe_volumes(Filters=named("vol"))["Volumes"]):
        quietly(lambda vol=vol: ec2.delete_volume(VolumeId=vol["VolumeId"]))
    quietly(lambda: ec2.delete_key_pair(KeyName=f"{prefix}-key"))
    for vpc in _listed(lambda: ec2.describe_vpcs(Filters=named("vpc"))["Vpcs"]):
        in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
        for g in _listed(lambda in_vpc=in_vpc: ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]):
            if g["GroupName"] != "default":
                quietly(lambda g=g: ec2.delete_security_group(GroupId=g["GroupId"]))
        for sub in _listed(lambda in_vpc=in_vpc: ec2.describe_subnets(Filters=in_vpc)["Subnets"]):
            _retried(lambda sub=sub: ec2.delete_subnet(SubnetId=sub["SubnetId"]))
        _retried(lambda vpc=vpc: ec2.delete_vpc(VpcId=vpc["VpcId"]))


@pytest.mark.skipif(not ansible_playbook().exists(), reason="ansible-playbook is not installed (the test extra)")
def test_amazon_aws_playbook_twice_then_teardown(openstack_env: dict[str, Any], tmp_path: Path) -> None:
    prefix = f"cgt-ans-{uuid.uuid4().hex[:8]}"
    with devcloud_gateway(openstack_env) as gw:
        tenant = openstack_env["tenants"]["a"]
        aws_env = {"AWS_ACCESS_KEY_ID": tenant["ec2_access"], "AWS_SECRET_ACCESS_KEY": tenant["ec2_secret"],
                   "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
        extra = {"prefix": prefix, "aws_endpoint": gw.endpoint, "aws_region": openstack_env["region"],
                 "availability_zone": openstack_env["availability_zone"],
                 "image_name": openstack_env["image"]["name"], "download_path": str(tmp_path / "object.txt")}

        def play(playbook: str, check: bool = False) -> PlaybookRun:
            return run_playbook(playbook, aws_env=aws_env, extra_vars=extra, home=tmp_path / "ansible",
                                check=check)

        try:
            first = play("ec2_s3.yml")
            _assert_ok(first, "first run")
            assert "VPC" in first.changed and "Instance (running)" in first.changed, first.report()
            assert (tmp_path / "object.txt").read_text() == "hello from ansible through cloudgate\n"

            second = play("ec2_s3.yml")
            _assert_ok(second, "second run")
            assert second.changed == [] and second.stats["changed"] == 0, f"not idempotent:\n{second.report()}"

            checked = play("ec2_s3.yml", check=True)
            _assert_ok(checked, "--check run")
            assert set(checked.changed) <= CHECK_MODE_ALWAYS_CHANGED, f"--check would change:\n{checked.report()}"

            # The stack is really there, as the tenant sees it with boto3.
            ec2 = gw.client("a")
            vms = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"{prefix}-vm"]}])
                   ["Reservations"] for i in r["Instances"]]
            assert [i["State"]["Name"] for i in vms] == ["running"]

            down = play("ec2_s3_teardown.yml")
            _assert_ok(down, "teardown")
            for task in ("Stop the instance", "Start it again", "Terminate it", "Volume",
                         "Bucket and its objects", "Key pair", "Security group", "Subnet", "Delete the VPC"):
                assert task in down.changed, f"teardown did not {task!r}:\n{down.report()}"
            assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{prefix}-vpc"]}])["Vpcs"] == []
            s3 = gw.client("a", "s3")
            assert f"{prefix}-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        finally:
            _sweep(gw, prefix)

