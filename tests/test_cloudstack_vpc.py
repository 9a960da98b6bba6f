"""EC2 VPC networking over HTTP with boto3 against cloudgate on the CloudStack simulator: VPCs = CloudStack
VPCs, subnets = VPC tiers, network interfaces = VM NICs (backends/cloudstack/network.py). Exact AWS codes and
HTTP statuses, refused deletes that leave CloudStack as it was, tenant isolation, CloudStack's own guards
mapped to the neutral errors, what CloudStack cannot express answered NotSupported, and every command the
adapter sent declared by listApis."""

from __future__ import annotations

from typing import Any

import pytest

from backends import base
from backends.cloudstack.network import CloudStackNetwork
from backends.network import NoFreeAddress, PortSpec, Route
from tests.cloudstack_support import WAIT, CsGateway, cs_gateway, error_of, instances_of


@pytest.fixture(scope="module")
def gw():
    with cs_gateway(job_delay=0.02, job_deadline=5.0) as gateway:
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


def net_of(gw: CsGateway, tenant: str = "a") -> CloudStackNetwork:
    account = gw.sim.world.accounts[tenant]
    principal = base.Principal(account_id=account.id, display_name=tenant,
                               attributes={"api_key": account.api_key, "account": tenant})
    return gw.run(gw.backend.network(principal))


def cs_vpcs(gw: CsGateway, tenant: str = "a") -> dict[str, dict]:
    return {v["cidr"]: v for v in gw.sim.world.vpcs.values() if v["_owner"] == tenant}


def cs_tiers(gw: CsGateway, vpc_cidr: str, tenant: str = "a") -> list[str]:
    vpc = cs_vpcs(gw, tenant)[vpc_cidr]
    return sorted(n["cidr"] for n in gw.sim.world.networks.values() if n.get("vpcid") == vpc["id"])


def test_vpc_lifecycle_and_filters(gw: CsGateway, ec2a: Any) -> None:
    vpc = ec2a.create_vpc(CidrBlock="10.10.0.0/16",
                          TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "one"}]}])["Vpc"]
    other = ec2a.create_vpc(CidrBlock="192.168.0.0/20")["Vpc"]
    assert vpc["CidrBlock"] == "10.10.0.0/16" and vpc["State"] == "available" and vpc["IsDefault"] is False
    made = cs_vpcs(gw)["10.10.0.0/16"]  # a real CloudStack VPC, with its router's source-NAT address
    assert made["name"] == "cloudgate-vpc" and made["state"] == "Enabled"
    assert any(ip.get("vpcid") == made["id"] and ip["issourcenat"] for ip in gw.sim.world.ips.values())
    assert not any(a.get("PublicIp") for a in ec2a.describe_addresses()["Addresses"])  # SNAT is no elastic IP
    by_cidr = ec2a.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.10.0.0/16"]}])["Vpcs"]
    assert [v["VpcId"] for v in by_cidr] == [vpc["VpcId"]]
    by_tag = ec2a.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["one"]}])["Vpcs"]
    assert [v["VpcId"] for v in by_tag] == [vpc["VpcId"]]
    both = ec2a.describe_vpcs(VpcIds=[vpc["VpcId"], other["VpcId"]])["Vpcs"]
    assert sorted(v["VpcId"] for v in both) == sorted([vpc["VpcId"], other["VpcId"]])
    assert ec2a.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"] == []
    ec2a.delete_vpc(VpcId=other["VpcId"])
    ec2a.delete_vpc(VpcId=vpc["VpcId"])
    assert "10.10.0.0/16" not in cs_vpcs(gw)
    assert not any(ip.get("vpcid") == made["id"] for ip in gw.sim.world.ips.values())
    assert error_of(ec2a.describe_vpcs, VpcIds=[vpc["VpcId"]]) == ("InvalidVpcID.NotFound", 400)
    assert error_of(ec2a.delete_vpc, VpcId=vpc["VpcId"]) == ("InvalidVpcID.NotFound", 400)


def test_vpc_errors(ec2a: Any) -> None:
    assert error_of(ec2a.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"]) == ("InvalidVpcID.NotFound", 400)
    assert error_of(ec2a.create_vpc, CidrBlock="10.0.0.0/33") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.create_vpc, CidrBlock="10.0.0.1/16") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.create_vpc, CidrBlock="10.0.0.0/8") == ("InvalidVpc.Range", 400)
    # CloudStack wants RFC 1918 VPC ranges: its refusal comes back as the cloud's message
    assert error_of(ec2a.create_vpc, CidrBlock="100.64.0.0/16") == ("InvalidParameterValue", 400)


def test_subnets(gw: CsGateway, ec2a: Any) -> None:
    vpc = ec2a.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    s1 = ec2a.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]
    s2 = ec2a.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/28", AvailabilityZone="zone1")["Subnet"]
    assert s1["VpcId"] == vpc and s1["AvailabilityZone"] == "zone1" and s1["AvailableIpAddressCount"] == 251
    assert s2["AvailableIpAddressCount"] == 11
    assert cs_tiers(gw, "10.20.0.0/16") == ["10.20.1.0/24", "10.20.2.0/28"]
    tier = next(n for n in gw.sim.world.networks.values() if n["cidr"] == "10.20.1.0/24")
    assert (tier["gateway"], tier["netmask"]) == ("10.20.1.1", "255.255.255.0")
    found = ec2a.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in found) == ["10.20.1.0/24", "10.20.2.0/28"]
    one = ec2a.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.20.2.0/28"]}])["Subnets"]
    assert [s["SubnetId"] for s in one] == [s2["SubnetId"]]
    assert ec2a.describe_subnets(SubnetIds=[s1["SubnetId"]])["Subnets"][0]["CidrBlock"] == "10.20.1.0/24"
    assert error_of(ec2a.create_subnet, VpcId=vpc, CidrBlock="10.20.1.128/25") == ("InvalidSubnet.Conflict", 400)
    assert error_of(ec2a.create_subnet, VpcId=vpc, CidrBlock="10.21.0.0/24") == ("InvalidSubnet.Range", 400)
    assert error_of(ec2a.create_subnet, VpcId=vpc, CidrBlock="10.20.3.0/29") == ("InvalidSubnet.Range", 400)
    assert error_of(ec2a.create_subnet, VpcId=vpc, CidrBlock="10.20.3.1/24") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.create_subnet, VpcId=vpc, CidrBlock="nonsense") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.create_subnet, VpcId="vpc-0123456789abcdef0", CidrBlock="10.20.3.0/24") == (
        "InvalidVpcID.NotFound", 400)
    assert error_of(ec2a.create_subnet, VpcId=vpc, CidrBlock="10.20.3.0/24", AvailabilityZone="zone9") == (
        "InvalidParameterValue", 400)
    # deleting the VPC while subnets remain: refused, and CloudStack keeps the VPC and both tiers
    assert error_of(ec2a.delete_vpc, VpcId=vpc) == ("DependencyViolation", 400)
    assert cs_tiers(gw, "10.20.0.0/16") == ["10.20.1.0/24", "10.20.2.0/28"]
    assert ec2a.describe_vpcs(VpcIds=[vpc])["Vpcs"]
    ec2a.delete_subnet(SubnetId=s1["SubnetId"])
    assert error_of(ec2a.delete_subnet, SubnetId=s1["SubnetId"]) == ("InvalidSubnetID.NotFound", 400)
    assert error_of(ec2a.describe_subnets, SubnetIds=[s1["SubnetId"]]) == ("InvalidSubnetID.NotFound", 400)
    ec2a.delete_subnet(SubnetId=s2["SubnetId"])
    ec2a.delete_vpc(VpcId=vpc)
    assert "10.20.0.0/16" not in cs_vpcs(gw)


def test_tenant_isolation(gw: CsGateway, ec2a: Any, ec2b: Any) -> None:
    vpc = ec2a.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2a.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    assert vpc not in [v["VpcId"] for v in ec2b.describe_vpcs()["Vpcs"]]
    assert subnet not in [s["SubnetId"] for s in ec2b.describe_subnets()["Subnets"]]
    assert error_of(ec2b.describe_vpcs, VpcIds=[vpc]) == ("InvalidVpcID.NotFound", 400)
    assert error_of(ec2b.delete_subnet, SubnetId=subnet) == ("InvalidSubnetID.NotFound", 400)
    assert error_of(ec2b.delete_vpc, VpcId=vpc) == ("InvalidVpcID.NotFound", 400)
    assert error_of(ec2b.create_subnet, VpcId=vpc, CidrBlock="10.30.2.0/24") == ("InvalidVpcID.NotFound", 400)
    # below the gateway too: b's keys do not reach a's VPC in CloudStack
    b = net_of(gw, "b")
    assert all(v.cidr != "10.30.0.0/16" for v in gw.run(b.list_vpcs()))
    a_vpc = cs_vpcs(gw)["10.30.0.0/16"]["id"]
    with pytest.raises(base.NotFound):
        gw.run(b.delete_vpc(a_vpc))
    assert "10.30.0.0/16" in cs_vpcs(gw)
    ec2a.delete_subnet(SubnetId=subnet)
    ec2a.delete_vpc(VpcId=vpc)


def test_internet_gateway_switch_is_recorded_in_cloudstack(gw: CsGateway, ec2a: Any) -> None:
    vpc = ec2a.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    igw = ec2a.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    cs_id = cs_vpcs(gw)["10.40.0.0/16"]["id"]
    net = net_of(gw)

    def switch() -> bool:
        return gw.run(net.list_vpcs([cs_id]))[0].external_gateway

    assert switch() is False
    ec2a.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert switch() is True
    assert [t["key"] for t in gw.sim.world.tags if t["resourceid"] == cs_id] == ["cloudgate-internet-gateway"]
    assert error_of(ec2a.delete_vpc, VpcId=vpc) == ("DependencyViolation", 400)
    ec2a.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert switch() is False
    ec2a.delete_internet_gateway(InternetGatewayId=igw)
    ec2a.delete_vpc(VpcId=vpc)


def test_cloudstack_guards_map_to_neutral_errors(gw: CsGateway, ec2a: Any) -> None:
    """What the gateway checks first, CloudStack also refuses (a race, another client): the same meaning."""
    net = net_of(gw)
    vpc = gw.run(net.create_vpc("172.20.0.0/16"))
    first = gw.run(net.create_subnet(vpc.id, "172.20.1.0/24"))
    with pytest.raises(base.AlreadyExists):  # CloudStack: "crosses other network cidr"
        gw.run(net.create_subnet(vpc.id, "172.20.1.0/25"))
    with pytest.raises(base.InvalidInput):  # "is not within vpc ... cidr"
        gw.run(net.create_subnet(vpc.id, "172.21.0.0/24"))
    with pytest.raises(base.NotSupported):  # a CloudStack VPC lives in one zone
        gw.run(net.create_subnet(vpc.id, "172.20.9.0/24", zone="zone2"))
    with pytest.raises(base.NotSupported):  # tiers take DNS from the VPC router
        gw.run(net.create_subnet(vpc.id, "172.20.9.0/24", dns_servers=["192.0.2.1"]))
    gw.run(net.create_subnet(vpc.id, "172.20.2.0/24"))
    gw.run(net.create_subnet(vpc.id, "172.20.3.0/24"))
    with pytest.raises(base.QuotaExceeded):  # vpc.max.networks = 3
        gw.run(net.create_subnet(vpc.id, "172.20.4.0/24"))
    with pytest.raises(base.Conflict):  # the adapter's check
        gw.run(net.delete_vpc(vpc.id))

    async def no_tiers(*_: Any, **__: Any) -> list:
        return []

    net._tiers = no_tiers  # type: ignore[method-assign]  # skip it: CloudStack's own guard answers
    try:
        with pytest.raises(base.Conflict):  # "Can't delete VPC ... as its used by 3 networks"
            gw.run(net.delete_vpc(vpc.id))
    finally:
        del net._tiers
    assert "172.20.0.0/16" in cs_vpcs(gw)
    with pytest.raises(base.NotFound) as missing:
        gw.run(net.create_subnet("00000000-0000-0000-0000-000000000000", "10.0.0.0/24"))
    assert missing.value.kind == "vpc"
    with pytest.raises(base.NotSupported):
        gw.run(net.set_routes(vpc.id, [Route("0.0.0.0/0", "172.20.1.10")]))
    gw.run(net.set_routes(vpc.id, []))  # nothing of ours to replace: fine
    with pytest.raises(base.NotSupported):
        gw.run(net.create_port(PortSpec(subnet_id=first.id)))
    with pytest.raises(base.NotSupported):
        gw.run(net.set_dns_servers(first.id, ["192.0.2.1"]))
    gw.run(net.set_dns_servers(first.id, []))
    for subnet in gw.run(net.list_subnets(vpc_id=vpc.id)):
        gw.run(net.delete_subnet(subnet.id))
    gw.run(net.delete_vpc(vpc.id))
    assert gw.run(net.list_vpcs([vpc.id])) == []


def test_instances_and_nics_in_a_subnet(gw: CsGateway, ec2a: Any, ami: str) -> None:
    vpc = ec2a.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2a.create_subnet(VpcId=vpc, CidrBlock="10.50.1.0/28")["Subnet"]["SubnetId"]
    # no free-standing interface in CloudStack: a NIC is made with its VM, in the tier
    assert error_of(ec2a.create_network_interface, SubnetId=subnet) == ("Unsupported", 400)
    one = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    ids = [one] + [i["InstanceId"] for i in ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                                               SubnetId=subnet)["Instances"]]
    ec2a.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
    found = instances_of(ec2a.describe_instances(InstanceIds=ids))
    assert {(i["VpcId"], i["SubnetId"]) for i in found} == {(vpc, subnet)}
    assert all(i["PrivateIpAddress"].startswith("10.50.1.") for i in found)
    enis = ec2a.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["NetworkInterfaces"]
    assert len(enis) == 2 and all(e["Status"] == "in-use" for e in enis)
    assert ec2a.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"] == 11 - 2
    assert error_of(ec2a.delete_subnet, SubnetId=subnet) == ("DependencyViolation", 400)
    eni = enis[0]["NetworkInterfaceId"]
    ec2a.assign_private_ip_addresses(NetworkInterfaceId=eni, SecondaryPrivateIpAddressCount=1)
    ips = ec2a.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["PrivateIpAddresses"]
    assert len(ips) == 2 and [a["Primary"] for a in ips] == [True, False]
    ec2a.unassign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=[ips[1]["PrivateIpAddress"]])
    assert len(ec2a.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0][
        "PrivateIpAddresses"]) == 1
    assert error_of(ec2a.modify_network_interface_attribute, NetworkInterfaceId=eni,
                    SourceDestCheck={"Value": False}) == ("Unsupported", 400)
    ec2a.terminate_instances(InstanceIds=ids)
    ec2a.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=WAIT)
    ec2a.delete_subnet(SubnetId=subnet)
    ec2a.delete_vpc(VpcId=vpc)


def test_nics_below_the_gateway(gw: CsGateway, ec2a: Any, ami: str) -> None:
    """The NIC commands the contract reaches: a second NIC, secondary addresses (full tier, taken address),
    removing a non-default NIC; the default one goes only with its VM."""
    net = net_of(gw)
    vpc = gw.run(net.create_vpc("10.60.0.0/16"))
    tier = gw.run(net.create_subnet(vpc.id, "10.60.1.0/29"))  # .1 router, .2-.6 for VMs
    iid = ec2a.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2a.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    server = next(vm["id"] for vm in gw.sim.world.vms.values() if vm["state"] == "Running" and vm["_owner"] == "a")
    port = gw.run(net.add_nic(server, tier.id, "10.60.1.3"))
    assert port.ips == ["10.60.1.3"] and port.device_id == server and port.network_id == tier.id
    assert [p.id for p in gw.run(net.list_ports(network_ids=[tier.id]))] == [port.id]
    assert gw.run(net.list_subnets([tier.id]))[0].used_ips == 1
    with pytest.raises(NoFreeAddress) as taken:
        gw.run(net.update_port(port.id, ips=["10.60.1.3", "10.60.1.1"]))  # the router's address
    assert taken.value.taken
    grown = gw.run(net.update_port(port.id, add_count=3))
    assert grown.ips[0] == "10.60.1.3" and len(grown.ips) == 4
    with pytest.raises(NoFreeAddress) as full:
        gw.run(net.update_port(port.id, add_count=2))
    assert not full.value.taken
    with pytest.raises(base.NotSupported):
        gw.run(net.update_port(port.id, ips=["10.60.1.2"]))
    with pytest.raises(base.NotSupported):
        gw.run(net.detach_port(port.id, server))
    with pytest.raises(base.Conflict):
        gw.run(net.delete_subnet(tier.id))
    default_nic = next(p for p in gw.run(net.list_ports(server_ids=[server])) if p.network_id != tier.id)
    with pytest.raises(base.Conflict):
        gw.run(net.delete_port(default_nic.id))
    gw.run(net.delete_port(port.id))
    with pytest.raises(base.NotFound) as gone:
        gw.run(net.delete_port(port.id))
    assert gone.value.kind == "port"
    ec2a.terminate_instances(InstanceIds=[iid])
    gw.run(net.delete_subnet(tier.id))
    gw.run(net.delete_vpc(vpc.id))


def test_every_call_the_adapter_made_is_declared_by_listapis(gw: CsGateway) -> None:
    """Runs last in this module: the simulator checked every request the flows above made."""
    if gw.sim.apis is None:
        pytest.skip("listApis.json is absent (../shared/contracts/cloudstack): parameters were not checked")
    assert gw.sim.violations == []
    used = {c for c, _ in gw.sim.calls}
    assert {"createVPC", "listVPCs", "deleteVPC", "createNetwork", "listNetworks", "deleteNetwork",
            "listVPCOfferings", "listNetworkOfferings", "createTags", "deleteTags", "addNicToVirtualMachine",
            "removeNicFromVirtualMachine", "addIpToNic", "removeIpFromNic"} <= used
    assert used <= set(gw.sim.apis)
