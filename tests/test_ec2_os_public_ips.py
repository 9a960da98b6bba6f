"""Public addresses given at launch (gateway/ec2/public_ips.py) on the real devcloud OpenStack: a classic
launch gets one, it is not an elastic IP, an elastic IP replaces it, and it goes with the instance.

Same ground rules as tests/test_ec2_openstack.py: exact AWS codes and statuses, cleanup in `finally`,
bounded gentle waits.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.ec2_os_support import (  # noqa: F401 - fixtures
    WAIT,
    Gateway,
    ami_fixture,
    ec2a_fixture,
    ec2b_fixture,
    error_of,
    gw_fixture,
    instances_of,
    poll,
    quietly,
    terminate_and_wait,
)
from tests.openstack_env import openstack_env_fixture, principal  # noqa: F401 - fixture


def _cloud_ips(gw: Gateway, env: dict[str, Any]) -> set[str]:
    """Tenant A's floating addresses, as Neutron lists them."""
    async def ips() -> set[str]:
        c = await gw.backend.compute(await principal(gw.backend, env["tenants"]["a"]))
        return {a.ip for a in await c.list_addresses()}
    return gw.run(ips())


def _described(ec2a: Any, ids: list[str]) -> list[dict[str, Any]]:
    return instances_of(ec2a.describe_instances(InstanceIds=ids))


def _with_public_ips(ec2a: Any, ids: list[str]) -> list[dict[str, Any]]:
    return poll(lambda: _described(ec2a, ids), lambda items: all(i.get("PublicIpAddress") for i in items),
                timeout=180, interval=2, what="public addresses")


def test_a_classic_launch_gets_a_public_address_that_is_no_elastic_ip(gw: Gateway, ec2a: Any, ec2b: Any, ami: str,
                                                                   openstack_env: dict[str, Any]) -> None:
    ids: list[str] = []
    eip = None
    try:
        ids = [i["InstanceId"] for i in ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                                           InstanceType="t2.micro")["Instances"]]
        ec2a.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
        (item,) = _with_public_ips(ec2a, ids)
        public, private = item["PublicIpAddress"], item["PrivateIpAddress"]
        assert public != private and ipaddress.ip_address(public) in ipaddress.ip_network("203.0.113.0/24")
        assert item["PublicDnsName"]
        assert [i["InstanceId"] for i in instances_of(ec2a.describe_instances(
            Filters=[{"Name": "ip-address", "Values": [public]}]))] == ids
        # the instance's own address, not an elastic IP: not listed, not releasable, not movable
        assert public not in {a["PublicIp"] for a in ec2a.describe_addresses()["Addresses"]}
        assert error_of(ec2a.describe_addresses, PublicIps=[public]) == ("InvalidAddress.NotFound", 400)
        assert error_of(ec2a.release_address, PublicIp=public) == ("AuthFailure", 401)
        assert error_of(ec2b.release_address, PublicIp=public) == ("AuthFailure", 401)
        assert public in _cloud_ips(gw, openstack_env)

        # an elastic IP associated with the instance replaces its public address, which is released
        eip = ec2a.allocate_address(Domain="standard")["PublicIp"]
        ec2a.associate_address(InstanceId=ids[0], PublicIp=eip)
        assert _described(ec2a, ids)[0]["PublicIpAddress"] == eip
        assert public not in _cloud_ips(gw, openstack_env)
        assert [a["InstanceId"] for a in ec2a.describe_addresses(PublicIps=[eip])["Addresses"]] == ids
        ec2a.disassociate_address(PublicIp=eip)
    finally:
        terminate_and_wait(ec2a, ids)
        if eip:
            quietly(lambda: ec2a.release_address(PublicIp=eip))


def test_every_instance_of_a_launch_gets_its_own_and_it_goes_with_the_instance(
        gw: Gateway, ec2a: Any, ami: str, openstack_env: dict[str, Any]) -> None:
    ids: list[str] = []
    try:
        ids = [i["InstanceId"] for i in ec2a.run_instances(ImageId=ami, MinCount=2, MaxCount=2,
                                                           InstanceType="t2.micro")["Instances"]]
        publics = {i["PublicIpAddress"] for i in _with_public_ips(ec2a, ids)}
        assert len(publics) == 2 and publics <= _cloud_ips(gw, openstack_env)
        ec2a.terminate_instances(InstanceIds=ids)
        # released at once by TerminateInstances, not left to the cloud
        assert not publics & _cloud_ips(gw, openstack_env)
        ec2a.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=WAIT)
        assert all("PublicIpAddress" not in i for i in _described(ec2a, ids))
    finally:
        terminate_and_wait(ec2a, ids)
