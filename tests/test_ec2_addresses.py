"""EC2 elastic IP addresses: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
    launch,
)


# ---- addresses ---------------------------------------------------------------------------------------------------
def test_standard_address_associate_and_release(ec2, ami):
    (iid,) = launch(ec2, ami)
    ip = ec2.allocate_address()["PublicIp"]
    ec2.associate_address(InstanceId=iid, PublicIp=ip)
    addr = ec2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert (addr["InstanceId"], addr["Domain"]) == (iid, "standard") and "AllocationId" not in addr
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["PublicIpAddress"] == ip
    ec2.disassociate_address(PublicIp=ip)
    ec2.disassociate_address(PublicIp=ip)  # not associated: fine for a standard address
    ec2.release_address(PublicIp=ip)
    assert error(ec2.describe_addresses, PublicIps=[ip]) == ("InvalidAddress.NotFound", 400)
    assert error(ec2.release_address, PublicIp=ip) == ("AuthFailure", 401)  # no longer the caller's
    assert error(ec2.describe_addresses, PublicIps=["invalidIp"]) == ("InvalidParameterValue", 400)
    ec2.terminate_instances(InstanceIds=[iid])


def test_vpc_address_forms(ec2, ami):
    alloc = ec2.allocate_address(Domain="vpc")
    aid, ip = alloc["AllocationId"], alloc["PublicIp"]
    assert error(ec2.release_address, PublicIp=ip, AllocationId=aid) == ("InvalidParameterCombination", 400)
    assert error(ec2.release_address, PublicIp=ip) == ("InvalidParameterValue", 400)
    assert error(ec2.disassociate_address, AssociationId="eipassoc-00000001") == \
        ("InvalidAssociationID.NotFound", 400)
    assert error(ec2.disassociate_address, PublicIp=ip) == ("InvalidParameterValue", 400)
    (iid,) = launch(ec2, ami)
    assoc = ec2.associate_address(InstanceId=iid, AllocationId=aid)["AssociationId"]
    assert error(ec2.release_address, AllocationId=aid) == ("InvalidIPAddress.InUse", 400)
    ec2.disassociate_address(AssociationId=assoc)
    ec2.release_address(AllocationId=aid)
    assert error(ec2.release_address, AllocationId=aid) == ("InvalidAllocationID.NotFound", 400)
    assert error(ec2.allocate_address, Domain="invalid") == ("InvalidParameterValue", 400)
    ec2.terminate_instances(InstanceIds=[iid])
