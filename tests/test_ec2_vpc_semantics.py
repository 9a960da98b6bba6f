"""EC2 VPC semantics end to end over HTTP with boto3, against the in-memory cloud of tests/vpc_fake.py:
exact AWS codes and statuses for VPCs, subnets, route tables, gateways, network interfaces, DHCP options,
instances in a subnet and the default VPC (created once under concurrent first launches).
"""

from __future__ import annotations

import concurrent.futures

import pytest
from botocore.exceptions import ClientError

from tests.vpc_fake import B, client, fake_gateway


@pytest.fixture(scope="module")
def gw():
    with fake_gateway() as (endpoint, backend):
        yield endpoint, backend


@pytest.fixture(scope="module")
def ec2(gw):
    return client(gw[0])


@pytest.fixture(scope="module")
def ami(ec2):
    return ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]


def error(call, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def vpc(ec2):
    vid = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    yield vid
    for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]:
        for n in ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [s["SubnetId"]]}])[
                "NetworkInterfaces"]:
            if not n.get("Attachment"):
                ec2.delete_network_interface(NetworkInterfaceId=n["NetworkInterfaceId"])
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    ec2.delete_vpc(VpcId=vid)


def test_vpc_cidr_rules_and_lifecycle(ec2):
    assert error(ec2.create_vpc, CidrBlock="10.0.0.0/15") == ("InvalidVpc.Range", 400)
    assert error(ec2.create_vpc, CidrBlock="10.0.0.0/29") == ("InvalidVpc.Range", 400)
    assert error(ec2.create_vpc, CidrBlock="10.0.0.1/16") == ("InvalidParameterValue", 400)
    assert error(ec2.create_vpc, CidrBlock="bogus") == ("InvalidParameterValue", 400)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "one"}]}])["Vpc"]
    assert vpc["State"] == "available" and vpc["DhcpOptionsId"].startswith("dopt-") and not vpc["IsDefault"]
    assert vpc["Tags"] == [{"Key": "Name", "Value": "one"}]
    vid = vpc["VpcId"]
    assert [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["one"]}])["Vpcs"]] == [vid]
    assert ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.1.0.0/16"]}])["Vpcs"][0]["VpcId"] == vid
    assert error(ec2.describe_vpcs, Filters=[{"Name": "fake", "Values": ["x"]}]) == ("InvalidParameterValue", 400)
    assert error(ec2.describe_vpcs, VpcIds=["vpc-0"]) == ("InvalidVpcID.NotFound", 400)
    attr = ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": not attr})
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"] \
        is (not attr)
    # DNS support may be turned off with hostnames on (as AWS allows); hostnames need it to be turned on
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsSupport={"Value": False})
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"] is False
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": False})
    assert error(ec2.modify_vpc_attribute, VpcId=vid, EnableDnsHostnames={"Value": True}) == \
        ("InvalidParameterCombination", 400)
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    assert error(ec2.delete_security_group, GroupId=groups[0]["GroupId"]) == ("CannotDelete", 400)
    ec2.delete_vpc(VpcId=vid)
    assert error(ec2.describe_vpcs, VpcIds=[vid]) == ("InvalidVpcID.NotFound", 400)
    assert error(ec2.delete_vpc, VpcId=vid) == ("InvalidVpcID.NotFound", 400)


def test_describe_vpcs_pages(ec2):
    ids = [ec2.create_vpc(CidrBlock=f"10.{30 + n}.0.0/16")["Vpc"]["VpcId"] for n in range(6)]
    try:
        page = ec2.describe_vpcs(MaxResults=5)
        assert len(page["Vpcs"]) == 5 and page["NextToken"]
        rest = ec2.describe_vpcs(MaxResults=5, NextToken=page["NextToken"])
        seen = [v["VpcId"] for v in page["Vpcs"] + rest["Vpcs"]]
        assert set(ids) <= set(seen) and len(seen) == len(set(seen))
        assert error(ec2.describe_vpcs, VpcIds=ids[:1], MaxResults=5) == ("InvalidParameterCombination", 400)
    finally:
        for vid in ids:
            ec2.delete_vpc(VpcId=vid)


def test_subnet_ranges_conflicts_and_free_addresses(ec2, vpc):
    assert error(ec2.create_subnet, VpcId=vpc, CidrBlock="10.21.0.0/24") == ("InvalidSubnet.Range", 400)
    assert error(ec2.create_subnet, VpcId=vpc, CidrBlock="10.20.0.0/15") == ("InvalidSubnet.Range", 400)
    assert error(ec2.create_subnet, VpcId=vpc, CidrBlock="10.20.0.0/29") == ("InvalidSubnet.Range", 400)
    assert error(ec2.create_subnet, VpcId="vpc-0", CidrBlock="10.20.0.0/24") == ("InvalidVpcID.NotFound", 400)
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.0.0/28")["Subnet"]
    assert subnet["AvailableIpAddressCount"] == 11  # 16 minus AWS's five
    assert error(ec2.create_subnet, VpcId=vpc, CidrBlock="10.20.0.0/27") == ("InvalidSubnet.Conflict", 400)
    assert error(ec2.delete_vpc, VpcId=vpc) == ("DependencyViolation", 400)
    ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    found = ec2.describe_subnets(Filters=[{"Name": "map-public-ip-on-launch", "Values": ["true"]}])["Subnets"]
    assert [s["SubnetId"] for s in found] == [subnet["SubnetId"]]
    assert error(ec2.describe_subnets, SubnetIds=["subnet-0"]) == ("InvalidSubnetID.NotFound", 400)


def test_network_interfaces_exhaust_a_subnet(ec2, vpc):
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/28")["Subnet"]["SubnetId"]
    made = []
    for _ in range(20):  # bounded: 11 addresses, then InsufficientFreeAddressesInSubnet
        try:
            made.append(ec2.create_network_interface(SubnetId=sid)["NetworkInterface"])
        except ClientError as e:
            assert (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]) == \
                ("InsufficientFreeAddressesInSubnet", 400)
            break
    assert len(made) == 11
    assert ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"] == 0
    assert error(ec2.delete_subnet, SubnetId=sid) == ("DependencyViolation", 400)
    for ni in made:
        ec2.delete_network_interface(NetworkInterfaceId=ni["NetworkInterfaceId"])


def test_network_interface_addresses_and_attributes(ec2, vpc):
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24")["Subnet"]["SubnetId"]
    ni = ec2.create_network_interface(SubnetId=sid, Description="d", PrivateIpAddress="10.20.2.10")[
        "NetworkInterface"]
    eni = ni["NetworkInterfaceId"]
    assert ni["PrivateIpAddress"] == "10.20.2.10" and ni["Groups"][0]["GroupName"] == "default"
    assert ni["Status"] == "available" and ni["SourceDestCheck"] is True
    assert error(ec2.create_network_interface, SubnetId=sid, PrivateIpAddress="10.20.2.10")[0] == \
        "InvalidIPAddress.InUse"
    assert error(ec2.create_network_interface, SubnetId=sid, PrivateIpAddress="10.20.2.1")[0] == \
        "InvalidParameterValue"  # AWS's router address
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni, SecondaryPrivateIpAddressCount=2)
    addrs = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["PrivateIpAddresses"]
    assert len(addrs) == 3 and addrs[0]["Primary"] and addrs[0]["PrivateIpAddress"] == "10.20.2.10"
    assert error(ec2.unassign_private_ip_addresses, NetworkInterfaceId=eni,
                 PrivateIpAddresses=["10.20.2.10"]) == ("InvalidParameterValue", 400)
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=[a["PrivateIpAddress"]
                                                                                  for a in addrs[1:]])
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, SourceDestCheck={"Value": False})
    assert ec2.describe_network_interface_attribute(NetworkInterfaceId=eni, Attribute="sourceDestCheck")[
        "SourceDestCheck"]["Value"] is False
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Description={"Value": "new"})
    assert ec2.describe_network_interface_attribute(NetworkInterfaceId=eni, Attribute="description")[
        "Description"]["Value"] == "new"
    assert error(ec2.describe_network_interface_attribute, NetworkInterfaceId=eni) == \
        ("InvalidParameterCombination", 400)
    assert error(ec2.modify_network_interface_attribute, NetworkInterfaceId=eni, Groups=["sg-0"]) == \
        ("InvalidGroup.NotFound", 400)
    assert error(ec2.modify_network_interface_attribute, NetworkInterfaceId=eni,
                 Attachment={"AttachmentId": "eni-attach-0", "DeleteOnTermination": True}) == \
        ("InvalidAttachmentID.NotFound", 400)
    assert error(ec2.describe_network_interfaces, NetworkInterfaceIds=["eni-0"]) == \
        ("InvalidNetworkInterfaceID.NotFound", 400)
    ec2.delete_network_interface(NetworkInterfaceId=eni)


def test_route_tables_routes_and_associations(ec2, vpc):
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    assert len(tables) == 1 and tables[0]["Associations"][0]["Main"]
    main, main_assoc = tables[0]["RouteTableId"], tables[0]["Associations"][0]["RouteTableAssociationId"]
    made = ec2.create_route_table(VpcId=vpc, ClientToken="rt-token")
    assert made["ClientToken"] == "rt-token"  # the model's output has the member: echoed, first call and repeats
    first = made["RouteTable"]
    repeat = ec2.create_route_table(VpcId=vpc, ClientToken="rt-token")
    again = repeat["RouteTable"]
    assert repeat["ClientToken"] == "rt-token"
    assert first["RouteTableId"] == again["RouteTableId"]
    assert first["Routes"] == [{"DestinationCidrBlock": "10.20.0.0/16", "GatewayId": "local", "State": "active",
                                "Origin": "CreateRouteTable"}]
    rtb = first["RouteTableId"]
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.3.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]
    assert error(ec2.create_route, RouteTableId=rtb, DestinationCidrBlock="10.20.0.0/16",
                 NetworkInterfaceId=eni["NetworkInterfaceId"]) == ("InvalidParameterValue", 400)
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="10.50.0.0/16", NetworkInterfaceId=eni["NetworkInterfaceId"])
    assert error(ec2.create_route, RouteTableId=rtb, DestinationCidrBlock="10.50.0.0/16",
                 NetworkInterfaceId=eni["NetworkInterfaceId"]) == ("RouteAlreadyExists", 400)
    assert error(ec2.delete_route, RouteTableId=rtb, DestinationCidrBlock="10.51.0.0/16") == \
        ("InvalidRoute.NotFound", 400)
    assert error(ec2.delete_route, RouteTableId=rtb, DestinationCidrBlock="10.20.0.0/16") == \
        ("InvalidParameterValue", 400)
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=sid)["AssociationId"]
    assert error(ec2.associate_route_table, RouteTableId=main, SubnetId=sid) == ("Resource.AlreadyAssociated", 400)
    assert error(ec2.delete_route_table, RouteTableId=rtb) == ("DependencyViolation", 400)
    new_main = ec2.replace_route_table_association(AssociationId=main_assoc, RouteTableId=rtb)["NewAssociationId"]
    assert error(ec2.disassociate_route_table, AssociationId=new_main) == ("InvalidParameterValue", 400)
    ec2.replace_route_table_association(AssociationId=new_main, RouteTableId=main)
    ec2.disassociate_route_table(AssociationId=assoc)
    assert error(ec2.disassociate_route_table, AssociationId=assoc) == ("InvalidAssociationID.NotFound", 400)
    assert error(ec2.delete_vpc, VpcId=vpc) == ("DependencyViolation", 400)
    ec2.delete_route_table(RouteTableId=rtb)
    assert error(ec2.describe_route_tables, RouteTableIds=[rtb]) == ("InvalidRouteTableID.NotFound", 400)
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])


def test_internet_gateways_and_vpc_addresses(ec2, vpc, gw):
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    other = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    try:
        assert error(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=vpc) == ("Gateway.NotAttached", 400)
        # a malformed gateway id is simply not found, as AWS answers
        assert error(ec2.attach_internet_gateway, InternetGatewayId="gw-1", VpcId=vpc) == \
            ("InvalidInternetGatewayID.NotFound", 400)
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        assert error(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=other) == \
            ("Resource.AlreadyAssociated", 400)
        assert error(ec2.delete_internet_gateway, InternetGatewayId=igw) == ("DependencyViolation", 400)
        assert error(ec2.delete_vpc, VpcId=vpc) == ("DependencyViolation", 400)
        vpcs = gw[1].world.vpcs
        assert any(v.external_gateway for _, v in vpcs.values())
        sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.4.0/24")["Subnet"]["SubnetId"]
        eni = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        assoc = ec2.associate_address(AllocationId=alloc, NetworkInterfaceId=eni)["AssociationId"]
        addr = ec2.describe_addresses(AllocationIds=[alloc])["Addresses"][0]
        assert addr["AssociationId"] == assoc and addr["NetworkInterfaceId"] == eni
        ni = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        assert ni["Association"]["PublicIp"] == addr["PublicIp"]
        ec2.disassociate_address(AssociationId=assoc)
        ec2.release_address(AllocationId=alloc)
        ec2.delete_network_interface(NetworkInterfaceId=eni)
        found = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])
        assert [g["InternetGatewayId"] for g in found["InternetGateways"]] == [igw]
        ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    finally:
        ec2.delete_internet_gateway(InternetGatewayId=igw)
        ec2.delete_vpc(VpcId=other)
    assert error(ec2.describe_internet_gateways, InternetGatewayIds=[igw]) == \
        ("InvalidInternetGatewayID.NotFound", 400)


def test_dhcp_options(ec2, vpc, gw):
    assert error(ec2.create_dhcp_options, DhcpConfigurations=[]) == ("MissingParameter", 400)
    assert error(ec2.create_dhcp_options, DhcpConfigurations=[{"Key": "aaa", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)
    opts = ec2.create_dhcp_options(DhcpConfigurations=[
        {"Key": "domain-name", "Values": ["my.com"]}, {"Key": "domain-name-servers", "Values": ["8.8.8.8"]}])
    did = opts["DhcpOptions"]["DhcpOptionsId"]
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.5.0/24")["Subnet"]["SubnetId"]
    ec2.associate_dhcp_options(DhcpOptionsId=did, VpcId=vpc)
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["DhcpOptionsId"] == did
    assert [s.dns_servers for _, s in gw[1].world.subnets.values() if s.cidr == "10.20.5.0/24"] == [["8.8.8.8"]]
    assert error(ec2.delete_dhcp_options, DhcpOptionsId=did) == ("DependencyViolation", 400)
    ec2.associate_dhcp_options(DhcpOptionsId="default", VpcId=vpc)
    ec2.delete_dhcp_options(DhcpOptionsId=did)
    assert error(ec2.describe_dhcp_options, DhcpOptionsIds=[did]) == ("InvalidDhcpOptionID.NotFound", 400)
    ec2.delete_subnet(SubnetId=sid)


def test_security_groups_are_per_vpc(ec2, vpc):
    other = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    try:
        g1 = ec2.create_security_group(VpcId=vpc, GroupName="web", Description="d")["GroupId"]
        assert error(ec2.create_security_group, VpcId=vpc, GroupName="web", Description="d") == \
            ("InvalidGroup.Duplicate", 400)
        g2 = ec2.create_security_group(VpcId=other, GroupName="web", Description="d")["GroupId"]
        described = ec2.describe_security_groups(GroupIds=[g1, g2])["SecurityGroups"]
        assert sorted((g["GroupName"], g["VpcId"]) for g in described) == sorted([("web", vpc), ("web", other)])
        ec2.authorize_security_group_egress(GroupId=g1, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        assert error(ec2.delete_vpc, VpcId=other) == ("DependencyViolation", 400)
        ec2.delete_security_group(GroupId=g1)
        ec2.delete_security_group(GroupId=g2)
    finally:
        ec2.delete_vpc(VpcId=other)


def test_instances_in_a_subnet(ec2, vpc, ami):
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.6.0/24")["Subnet"]["SubnetId"]
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, PrivateIpAddress="10.20.6.9") == \
        ("InvalidParameterCombination", 400)
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, SubnetId=sid,
                 PrivateIpAddress="10.20.7.9") == ("InvalidParameterValue", 400)
    launched = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=sid, PrivateIpAddress="10.20.6.9")[
        "Instances"][0]
    iid = launched["InstanceId"]
    # the RunInstances answer already names the interface, subnet and VPC (Ansible's ec2_instance reads them)
    assert (launched["VpcId"], launched["SubnetId"], launched["PrivateIpAddress"]) == (vpc, sid, "10.20.6.9")
    assert [n["PrivateIpAddress"] for n in launched["NetworkInterfaces"]] == ["10.20.6.9"]
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert (inst["VpcId"], inst["SubnetId"], inst["PrivateIpAddress"]) == (vpc, sid, "10.20.6.9")
    ni = inst["NetworkInterfaces"][0]
    assert ni["Attachment"]["DeviceIndex"] == 0 and ni["Attachment"]["DeleteOnTermination"] is True
    assert ni["Status"] == "in-use" and ni["Groups"][0]["GroupName"] == "default"
    extra = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
    assert error(ec2.attach_network_interface, NetworkInterfaceId=extra, InstanceId=iid, DeviceIndex=0) == \
        ("InvalidParameterValue", 400)
    att = ec2.attach_network_interface(NetworkInterfaceId=extra, InstanceId=iid, DeviceIndex=1)["AttachmentId"]
    assert error(ec2.delete_network_interface, NetworkInterfaceId=extra) == ("InvalidParameterValue", 400)
    nis = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
    assert sorted(n["Attachment"]["DeviceIndex"] for n in nis) == [0, 1]
    found = ec2.describe_instances(Filters=[{"Name": "subnet-id", "Values": [sid]}])["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == [iid]
    ec2.detach_network_interface(AttachmentId=att)
    ec2.terminate_instances(InstanceIds=[iid])
    left = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [sid]}])["NetworkInterfaces"]
    assert [n["NetworkInterfaceId"] for n in left] == [extra]  # the primary went with the instance
    ec2.delete_network_interface(NetworkInterfaceId=extra)


def test_tenants_do_not_see_each_others_vpcs(ec2, vpc, gw):
    other = client(gw[0], B)
    assert error(other.describe_vpcs, VpcIds=[vpc]) == ("InvalidVpcID.NotFound", 400)
    assert error(other.delete_vpc, VpcId=vpc) == ("InvalidVpcID.NotFound", 400)
    assert error(other.create_subnet, VpcId=vpc, CidrBlock="10.20.9.0/24") == ("InvalidVpcID.NotFound", 400)


def test_concurrent_first_launches_make_one_default_vpc():
    with fake_gateway(default_vpc=True) as (endpoint, backend):
        backend.world.create_vpc_delay = 0.3  # both requests are inside the creation window
        ec2 = client(endpoint)
        attrs = ec2.describe_account_attributes(AttributeNames=["supported-platforms"])  # (default-vpc makes it)
        assert attrs["AccountAttributes"][0]["AttributeValues"] == [{"AttributeValue": "VPC"}]
        ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: client(endpoint).run_instances(ImageId=ami, MinCount=1, MaxCount=1),
                                 range(2)))
        iids = [r["Instances"][0]["InstanceId"] for r in runs]
        defaults = [v for _, v in backend.world.vpcs.values() if v.is_default]
        assert len(defaults) == 1
        insts = [i for r in ec2.describe_instances(InstanceIds=iids)["Reservations"] for i in r["Instances"]]
        vpc_ids = {i["VpcId"] for i in insts}
        assert len(vpc_ids) == 1
        vpc = ec2.describe_vpcs(VpcIds=list(vpc_ids))["Vpcs"][0]
        assert vpc["IsDefault"] and vpc["CidrBlock"] == "172.31.0.0/16"
        subnet = ec2.describe_subnets(SubnetIds=[insts[0]["SubnetId"]])["Subnets"][0]
        assert subnet["DefaultForAz"] and subnet["MapPublicIpOnLaunch"]
        attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
        assert attrs[0]["AttributeValues"] == [{"AttributeValue": vpc["VpcId"]}]
        assert error(ec2.create_default_vpc) == ("DefaultVpcAlreadyExists", 400)
        assert len(backend.world.addresses) == 2  # the default subnets map a public address at launch
        ec2.terminate_instances(InstanceIds=iids)
        assert not backend.world.addresses  # found through the launch-address index, released with them


def test_a_new_account_has_its_default_vpc_until_its_owner_deletes_it():
    """As on AWS, the default VPC is there from the start: the first DescribeVpcs shows it with a default subnet
    per zone and the default-vpc attribute names it; once its owner deleted it no Describe brings it back, and
    CreateDefaultVpc makes a new one."""
    with fake_gateway(default_vpc=True) as (endpoint, backend):
        ec2 = client(endpoint)
        (vpc,) = ec2.describe_vpcs()["Vpcs"]
        assert vpc["IsDefault"] and vpc["CidrBlock"] == "172.31.0.0/16"
        subnets = ec2.describe_subnets()["Subnets"]
        assert subnets and all(s["DefaultForAz"] and s["VpcId"] == vpc["VpcId"] for s in subnets)
        attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
        assert attrs[0]["AttributeValues"] == [{"AttributeValue": vpc["VpcId"]}]
        assert len([v for _, v in backend.world.vpcs.values() if v.is_default]) == 1  # made once

        for s in subnets:
            ec2.delete_subnet(SubnetId=s["SubnetId"])
        for g in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id",
                                                          "Values": [vpc["VpcId"]]}])["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=g["InternetGatewayId"], VpcId=vpc["VpcId"])
            ec2.delete_internet_gateway(InternetGatewayId=g["InternetGatewayId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])
        assert ec2.describe_vpcs()["Vpcs"] == [] and ec2.describe_subnets()["Subnets"] == []
        attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
        assert attrs[0]["AttributeValues"] == [{"AttributeValue": "none"}]

        again = ec2.create_default_vpc()["Vpc"]
        assert again["IsDefault"] and again["VpcId"] != vpc["VpcId"]
        assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]] == [again["VpcId"]]


def test_nat_gateway_on_an_elastic_ip(ec2, vpc, gw):
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.8.0/24")["Subnet"]["SubnetId"]
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=sid, AllocationId=alloc, ClientToken="nat-1")["NatGateway"]
    assert nat["State"] == "available" and nat["NatGatewayAddresses"][0]["AllocationId"] == alloc
    assert ec2.create_nat_gateway(SubnetId=sid, AllocationId=alloc, ClientToken="nat-1")["NatGateway"][
        "NatGatewayId"] == nat["NatGatewayId"]
    assert any(v.external_gateway for _, v in gw[1].world.vpcs.values() if v.cidr == "10.20.0.0/16")
    assert ec2.describe_addresses(AllocationIds=[alloc])["Addresses"][0]["NetworkInterfaceId"] == \
        nat["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    assert error(ec2.delete_vpc, VpcId=vpc) == ("DependencyViolation", 400)
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    found = ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"]
    assert found[0]["State"] == "deleted"
    assert not any(v.external_gateway for _, v in gw[1].world.vpcs.values() if v.cidr == "10.20.0.0/16")
    assert error(ec2.delete_nat_gateway, NatGatewayId=nat["NatGatewayId"]) == ("InvalidNatGatewayID.NotFound", 400)
    ec2.release_address(AllocationId=alloc)


def test_customer_gateways(ec2):
    cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="198.51.100.77", BgpAsn=65000)["CustomerGateway"]
    assert cgw["IpAddress"] == "198.51.100.77" and cgw["State"] == "available"
    ec2.create_tags(Resources=[cgw["CustomerGatewayId"]], Tags=[{"Key": "k", "Value": "v"}])
    assert ec2.describe_customer_gateways(Filters=[{"Name": "tag-key", "Values": ["k"]}])["CustomerGateways"][0][
        "CustomerGatewayId"] == cgw["CustomerGatewayId"]
    ec2.delete_customer_gateway(CustomerGatewayId=cgw["CustomerGatewayId"])
    assert ec2.describe_customer_gateways(CustomerGatewayIds=[cgw["CustomerGatewayId"]])["CustomerGateways"][0][
        "State"] == "deleted"
    assert error(ec2.delete_customer_gateway, CustomerGatewayId=cgw["CustomerGatewayId"]) == \
        ("InvalidCustomerGatewayID.NotFound", 400)


def test_concurrent_route_edits_on_one_table_all_stay(ec2, vpc):
    """Routes added to one table at once (two replicas or two clients) are each a compare-and-set of the table's
    record: none is lost (a read-then-write kept only some), and a route added twice at once exists once."""
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.7.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
    wanted = [f"10.{60 + i}.0.0/16" for i in range(12)]

    def add(dst: str) -> str:
        try:
            ec2.create_route(RouteTableId=rtb, DestinationCidrBlock=dst, NetworkInterfaceId=eni)
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(add, wanted + [wanted[0]] * 4))
    routes = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"]
    try:
        assert sorted(r["DestinationCidrBlock"] for r in routes if r.get("GatewayId") != "local") == sorted(wanted)
        assert outcomes.count("ok") == len(wanted) and outcomes.count("RouteAlreadyExists") == 4, outcomes
    finally:
        ec2.delete_route_table(RouteTableId=rtb)
        ec2.delete_network_interface(NetworkInterfaceId=eni)
