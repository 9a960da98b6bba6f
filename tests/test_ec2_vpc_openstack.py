"""EC2 VPC networking against the real devcloud OpenStack (Neutron 28): the properties that only a real
cloud can prove. Tenant b; every test removes what it made.

- Two concurrent first RunInstances in a project without a default VPC create exactly one (one Neutron
  router tagged as the default VPC), and both instances land in it.
- A launch outside any VPC while a CreateSubnet is between its two Neutron calls (network made, tags not
  yet set) still boots on the project's own network (the suite once got Nova's "Multiple possible networks").
- DeleteVpc / DeleteSubnet / DeleteInternetGateway with dependents answer DependencyViolation (400) and
  leave every Neutron object as it was (router, its interfaces and routes, networks, subnets, ports, groups).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from backends.openstack import vpc_mapping as vm
from gateway.app import create_app
from gateway.config import parse_config
from tests.ec2_os_support import Gateway, error_of, gateway_config, quietly, terminate_and_wait
from tests.openstack_env import openstack_env_fixture, principal  # noqa: F401 - fixture
from tests.server import serve_app

TENANT = "b"


@contextlib.contextmanager
def vpc_gateway(env: dict[str, Any], *, default_vpc: bool) -> Iterator[Gateway]:
    """The gateway in-process with a fresh in-memory store (a project it has never seen)."""
    doc = gateway_config(env)
    doc["ec2"]["default_vpc"] = default_vpc
    config = parse_config(doc, "ec2-vpc-openstack-tests")
    app = create_app(config)
    with serve_app(app) as (endpoint, loop):
        yield Gateway(endpoint, env, app, loop)


def network_of(gw: Gateway) -> Any:
    async def build() -> Any:
        return await gw.backend.network(await principal(gw.backend, gw.env["tenants"][TENANT]))
    return gw.run(build())


def remove_vpc(ec2: Any, vpc_id: str) -> None:
    """Cleanup: everything in a VPC, then the VPC (bounded, errors ignored)."""
    flt = [{"Name": "vpc-id", "Values": [vpc_id]}]
    iids = [i["InstanceId"] for r in ec2.describe_instances(Filters=flt)["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] != "terminated"]
    terminate_and_wait(ec2, iids)
    for ni in ec2.describe_network_interfaces(Filters=flt)["NetworkInterfaces"]:
        quietly(lambda ni=ni: ec2.delete_network_interface(NetworkInterfaceId=ni["NetworkInterfaceId"]))
    for s in ec2.describe_subnets(Filters=flt)["Subnets"]:
        quietly(lambda s=s: ec2.delete_subnet(SubnetId=s["SubnetId"]))
    for g in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
            "InternetGateways"]:
        quietly(lambda g=g: ec2.detach_internet_gateway(InternetGatewayId=g["InternetGatewayId"], VpcId=vpc_id))
        quietly(lambda g=g: ec2.delete_internet_gateway(InternetGatewayId=g["InternetGatewayId"]))
    for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]:
        if g["GroupName"] != "default":
            quietly(lambda g=g: ec2.delete_security_group(GroupId=g["GroupId"]))
    quietly(lambda: ec2.delete_vpc(VpcId=vpc_id))


def test_concurrent_first_launches_create_one_default_vpc(openstack_env: dict[str, Any]) -> None:
    with vpc_gateway(openstack_env, default_vpc=True) as gw:
        ec2 = gw.client(TENANT)
        net = network_of(gw)
        for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
            remove_vpc(ec2, vpc["VpcId"])  # a fresh project: no default VPC yet
        assert not gw.run(net.neutron.routers(tags=vm.DEFAULT_TAG))
        image = openstack_env["image"]["name"]
        ami = ec2.describe_images(Filters=[{"Name": "name", "Values": [image]}])["Images"][0]["ImageId"]
        barrier = threading.Barrier(2)

        def launch(_: int) -> str:
            client = gw.client(TENANT)
            barrier.wait(timeout=30)
            return client.run_instances(ImageId=ami, InstanceType="t1.micro", MinCount=1, MaxCount=1)[
                "Instances"][0]["InstanceId"]

        iids: list[str] = []
        try:
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                iids = list(pool.map(launch, range(2)))
            routers = gw.run(net.neutron.routers(tags=vm.DEFAULT_TAG))
            assert len(routers) == 1
            insts = [i for r in ec2.describe_instances(InstanceIds=iids)["Reservations"] for i in r["Instances"]]
            assert {i["VpcId"] for i in insts} == {ec2.describe_vpcs(Filters=[
                {"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]}
            assert all(i["SubnetId"] and i["NetworkInterfaces"] for i in insts)
            vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "172.31.0.0/16"
            attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
            assert attrs[0]["AttributeValues"] == [{"AttributeValue": vpcs[0]["VpcId"]}]
        finally:
            terminate_and_wait(ec2, iids)
            for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
                remove_vpc(ec2, vpc["VpcId"])
        assert not gw.run(net.neutron.routers(tags=vm.DEFAULT_TAG))


def test_a_subnet_being_created_is_not_the_classic_network(openstack_env: dict[str, Any]) -> None:
    with vpc_gateway(openstack_env, default_vpc=False) as gw:
        net = network_of(gw)
        classic = gw.run(net.caller.classic_network())
        assert classic is not None  # devcloud's tenants each have one network of their own
        # CreateSubnet's first call, caught before its second (the tags)
        half_made = gw.run(net.neutron.create_network({"name": vm.SUBNET_NAME}))
        try:
            assert gw.run(net.caller.classic_network()) == classic
        finally:
            gw.run(net.neutron.delete_network(half_made["id"]))


def _neutron_view(gw: Gateway, net: Any, router_id: str) -> dict[str, Any]:
    """What Neutron holds for one VPC, without the fields that change on reads."""
    volatile = ("updated_at", "revision_number", "status")

    def clean(objs: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in o.items() if k not in volatile} for o in objs), key=lambda o: o["id"])

    networks = gw.run(net.neutron.all_networks(tags=vm.VPC_OF_TAG + router_id))
    net_ids = [n["id"] for n in networks]
    return {"router": clean(gw.run(net.neutron.routers(id=router_id))),
            "router_ports": clean(gw.run(net.neutron.full_ports(device_id=router_id))),
            "networks": clean(networks), "subnets": clean(gw.run(net.neutron.subnets(network_id=net_ids))),
            "ports": clean(gw.run(net.neutron.full_ports(network_id=net_ids))),
            "groups": sorted(g["id"] for g in gw.run(net.neutron.security_groups()))}


def test_refused_deletes_leave_neutron_intact(openstack_env: dict[str, Any]) -> None:
    with vpc_gateway(openstack_env, default_vpc=False) as gw:
        ec2 = gw.client(TENANT)
        net = network_of(gw)
        vpc_id = ec2.create_vpc(CidrBlock="10.177.0.0/16")["Vpc"]["VpcId"]
        try:
            subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.177.1.0/24")["Subnet"]["SubnetId"]
            eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
            igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
            group = ec2.create_security_group(VpcId=vpc_id, GroupName="web", Description="web")["GroupId"]
            router_id = gw.run(net.list_vpcs())
            router_id = next(v.id for v in router_id if v.cidr == "10.177.0.0/16")
            before = _neutron_view(gw, net, router_id)
            assert before["router"] and len(before["networks"]) == 1 and before["router_ports"]
            assert error_of(ec2.delete_vpc, VpcId=vpc_id) == ("DependencyViolation", 400)
            assert error_of(ec2.delete_subnet, SubnetId=subnet) == ("DependencyViolation", 400)
            assert error_of(ec2.delete_internet_gateway, InternetGatewayId=igw) == ("DependencyViolation", 400)
            assert _neutron_view(gw, net, router_id) == before
            # the dependents go one by one; the VPC still refuses until the last is gone
            ec2.delete_network_interface(NetworkInterfaceId=eni)
            ec2.delete_subnet(SubnetId=subnet)
            assert error_of(ec2.delete_vpc, VpcId=vpc_id) == ("DependencyViolation", 400)  # the gateway
            ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
            ec2.delete_internet_gateway(InternetGatewayId=igw)
            assert error_of(ec2.delete_vpc, VpcId=vpc_id) == ("DependencyViolation", 400)  # the group
            ec2.delete_security_group(GroupId=group)
            ec2.delete_vpc(VpcId=vpc_id)
            assert error_of(ec2.describe_vpcs, VpcIds=[vpc_id]) == ("InvalidVpcID.NotFound", 400)
            assert not gw.run(net.neutron.routers(id=router_id))
            assert not gw.run(net.neutron.all_networks(tags=vm.VPC_OF_TAG + router_id))
        finally:
            if ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]:
                remove_vpc(ec2, vpc_id)
