"""EC2 security groups: handlers end to end over HTTP with boto3, against the in-memory cloud of
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


# ---- security groups ---------------------------------------------------------------------------------------------
def test_security_groups_classic_rules(ec2):
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    gid = ec2.create_security_group(GroupName="web", Description="web servers")["GroupId"]
    assert error(ec2.create_security_group, GroupName="web", Description="x") == ("InvalidGroup.Duplicate", 400)
    assert error(ec2.create_security_group, GroupName="default", Description="x") == ("InvalidGroup.Reserved", 400)
    perms = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
             {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 65535,
              "UserIdGroupPairs": [{"GroupId": default["GroupId"]}]}]
    out = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    assert out["Return"] is True and len(out["SecurityGroupRules"]) == 2
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=perms[:1]) == \
        ("InvalidPermission.Duplicate", 400)
    got = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert got["IpPermissionsEgress"] == []
    icmp = [p for p in got["IpPermissions"] if p["IpProtocol"] == "icmp"][0]
    assert (icmp["FromPort"], icmp["ToPort"], icmp["IpRanges"]) == (-1, -1, [{"CidrIp": "10.0.0.0/8"}])
    tcp = [p for p in got["IpPermissions"] if p["IpProtocol"] == "tcp"][0]
    assert tcp["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]
    # the legacy top-level form
    ec2.authorize_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=22, ToPort=22,
                                         CidrIp="0.0.0.0/0")
    by_port = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["22"]}])
    assert [g["GroupId"] for g in by_port["SecurityGroups"]] == [gid]
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=perms)
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=perms)  # EC2-Classic: absent rule is fine
    assert error(ec2.authorize_security_group_egress, GroupId=gid, IpPermissions=perms[:1]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[{"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.delete_security_group, GroupName="default") == ("CannotDelete", 400)
    ec2.delete_security_group(GroupName="web")
    assert error(ec2.describe_security_groups, GroupIds=[gid]) == ("InvalidGroup.NotFound", 400)
    assert error(ec2.delete_security_group, GroupId=gid) == ("InvalidGroup.NotFound", 400)


def test_security_group_in_use_is_dependency_violation(ec2, ami):
    gid = ec2.create_security_group(GroupName="used", Description="d")["GroupId"]
    (iid,) = launch(ec2, ami, SecurityGroupIds=[gid])
    assert error(ec2.delete_security_group, GroupId=gid) == ("DependencyViolation", 400)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.describe_instances()  # the cloud finishes deleting
    ec2.delete_security_group(GroupId=gid)
