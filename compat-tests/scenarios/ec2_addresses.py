"""Suite "ec2", Elastic IP addresses: allocate, associate with a running instance, disassociate, release."""

from __future__ import annotations

from harness import Ctx, check

from . import scenario
from .ec2_common import SUITE, call, check_id, cleanup, ec2_env, expect, instance, patient, poll, wait


@scenario(SUITE)
def ec2_address_lifecycle(ctx: Ctx) -> None:
    """AllocateAddress (Domain vpc) → AssociateAddress with a running instance (DescribeAddresses and the
    instance's PublicIpAddress show it) → DisassociateAddress → ReleaseAddress → InvalidAllocationID.NotFound."""
    ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        addr = res.address()
        ip, alloc = addr.get("PublicIp"), addr.get("AllocationId")
        check(ip, "AllocateAddress returned no PublicIp")
        check_id("allocation", alloc, "AllocationId")
        check(addr.get("Domain") == "vpc", f"Domain is {addr.get('Domain')!r}")
        listed = call("DescribeAddresses", lambda: c.describe_addresses(AllocationIds=[alloc]))["Addresses"]
        check([a.get("PublicIp") for a in listed] == [ip], f"DescribeAddresses by AllocationId lists {listed}")
        check(not listed[0].get("InstanceId") and not listed[0].get("AssociationId"),
              f"a new address is already associated: {listed[0]}")

        iid = res.launch()["Instances"][0]["InstanceId"]
        wait(ctx, "instance_running", "the instance", InstanceIds=[iid])
        assoc = call("AssociateAddress", lambda: c.associate_address(AllocationId=alloc, InstanceId=iid))
        check_id("association", assoc.get("AssociationId"), "AssociationId")
        now = c.describe_addresses(AllocationIds=[alloc])["Addresses"][0]
        check(now.get("InstanceId") == iid, f"associated address names instance {now.get('InstanceId')!r}")
        check(now.get("AssociationId") == assoc["AssociationId"],
              f"AssociationId {now.get('AssociationId')!r}, AssociateAddress said {assoc['AssociationId']!r}")
        by_instance = c.describe_addresses(Filters=[{"Name": "instance-id", "Values": [iid]}])["Addresses"]
        check([a.get("AllocationId") for a in by_instance] == [alloc], f"instance-id filter lists {by_instance}")
        poll("the instance's PublicIpAddress to be the Elastic IP",
             lambda: instance(patient(ctx), iid).get("PublicIpAddress") == ip)

        call("DisassociateAddress", lambda: c.disassociate_address(AssociationId=assoc["AssociationId"]))
        now = c.describe_addresses(AllocationIds=[alloc])["Addresses"][0]
        check(not now.get("InstanceId") and not now.get("AssociationId"), f"still associated: {now}")

        call("ReleaseAddress", lambda: c.release_address(AllocationId=alloc))
        expect("InvalidAllocationID.NotFound", 400, "DescribeAddresses of a released address",
               lambda: c.describe_addresses(AllocationIds=[alloc]))
        expect("InvalidAllocationID.NotFound", 400, "ReleaseAddress twice",
               lambda: c.release_address(AllocationId=alloc))
