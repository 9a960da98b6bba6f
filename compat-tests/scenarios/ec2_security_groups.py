"""Suite "ec2", security groups: create/describe/delete, ingress and egress rules in several IpPermissions
forms, and the exact errors for duplicate rules and duplicate names."""

from __future__ import annotations

from typing import Any

from harness import Ctx, Skip, check

from . import scenario
from .ec2_common import ABSENT, SUITE, call, check_id, cleanup, expect, unique

SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
RANGE = {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8010, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
ICMP = {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}
HTTPS_OUT = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}


def _rules(perms: list[dict[str, Any]]) -> set[tuple]:
    """IpPermissions flattened to (protocol, from, to, source) tuples; protocol numbers as AWS names them."""
    names = {"6": "tcp", "17": "udp", "1": "icmp"}
    out = set()
    for p in perms:
        proto = names.get(str(p.get("IpProtocol")), str(p.get("IpProtocol")))
        ports = (p.get("FromPort"), p.get("ToPort")) if proto != "-1" else (None, None)
        for r in p.get("IpRanges", []):
            out.add((proto, *ports, r["CidrIp"]))
        for r in p.get("Ipv6Ranges", []):
            out.add((proto, *ports, r["CidrIpv6"]))
        for g in p.get("UserIdGroupPairs", []):
            out.add((proto, *ports, g.get("GroupId")))
    return out


def _group(c: Any, gid: str) -> dict:
    return c.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]


@scenario(SUITE)
def ec2_security_group_rules(ctx: Ctx) -> None:
    """CreateSecurityGroup; authorize ingress (port, port range, ICMP, source group) and, for a VPC group,
    egress; a repeated rule is InvalidPermission.Duplicate 400; revoke removes exactly one rule; delete →
    InvalidGroup.NotFound."""
    c = ctx.client("ec2")
    name = unique("sg")
    with cleanup(ctx) as res:
        gid = res.security_group(name, "compat rules")
        check_id("group", gid, "GroupId")
        group = _group(c, gid)
        check(group.get("GroupName") == name and group.get("Description") == "compat rules",
              f"described as {group.get('GroupName')!r} / {group.get('Description')!r}")
        check(not group.get("IpPermissions"), f"a new group has ingress rules {group.get('IpPermissions')}")

        source = {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "UserIdGroupPairs": [{"GroupId": gid}]}
        call("AuthorizeSecurityGroupIngress", lambda: c.authorize_security_group_ingress(
            GroupId=gid, IpPermissions=[SSH, RANGE, ICMP, source]))
        want = {("tcp", 22, 22, "0.0.0.0/0"), ("tcp", 8000, 8010, "10.0.0.0/8"), ("icmp", -1, -1, "192.0.2.0/24"),
                ("tcp", 3306, 3306, gid)}
        got = _rules(_group(c, gid).get("IpPermissions", []))
        check(got == want, f"ingress rules are {sorted(map(str, got))}, expected {sorted(map(str, want))}")

        expect("InvalidPermission.Duplicate", 400, "authorizing an existing ingress rule",
               lambda: c.authorize_security_group_ingress(GroupId=gid, IpPermissions=[SSH]))
        call("RevokeSecurityGroupIngress", lambda: c.revoke_security_group_ingress(GroupId=gid, IpPermissions=[SSH]))
        got = _rules(_group(c, gid).get("IpPermissions", []))
        check(got == want - {("tcp", 22, 22, "0.0.0.0/0")}, f"after revoking tcp/22 the rules are {sorted(map(str, got))}")

        if _is_classic(group):
            return _finish(c, name, gid)  # EC2-Classic groups have no egress rules (on AWS neither)
        call("AuthorizeSecurityGroupEgress", lambda: c.authorize_security_group_egress(
            GroupId=gid, IpPermissions=[HTTPS_OUT]))
        check(("tcp", 443, 443, "198.51.100.0/24") in _rules(_group(c, gid).get("IpPermissionsEgress", [])),
              "the egress rule is not described")
        expect("InvalidPermission.Duplicate", 400, "authorizing an existing egress rule",
               lambda: c.authorize_security_group_egress(GroupId=gid, IpPermissions=[HTTPS_OUT]))
        call("RevokeSecurityGroupEgress", lambda: c.revoke_security_group_egress(GroupId=gid, IpPermissions=[HTTPS_OUT]))
        check(("tcp", 443, 443, "198.51.100.0/24") not in _rules(_group(c, gid).get("IpPermissionsEgress", [])),
              "the revoked egress rule is still described")

        _finish(c, name, gid)


def _is_classic(group: dict) -> bool:
    """A group without VpcId is an EC2-Classic group: what an endpoint whose supported-platforms include
    EC2 and whose default-vpc is none creates when no VpcId is given (AWS itself is VPC-only now)."""
    return not group.get("VpcId")


def _finish(c: Any, name: str, gid: str) -> None:
    """group-name filter, DeleteSecurityGroup, then InvalidGroup.NotFound."""
    by_name = c.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    check([g["GroupId"] for g in by_name] == [gid], f"group-name filter lists {by_name}")
    call("DeleteSecurityGroup", lambda: c.delete_security_group(GroupId=gid))
    expect("InvalidGroup.NotFound", 400, "DescribeSecurityGroups of the deleted group",
           lambda: c.describe_security_groups(GroupIds=[gid]))


@scenario(SUITE)
def ec2_security_group_default_egress(ctx: Ctx) -> None:
    """A new (VPC) security group allows all outbound IPv4 traffic: egress `-1` to 0.0.0.0/0, as AWS
    creates it, and revoking that rule leaves no IPv4 egress."""
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        gid = res.security_group(unique("sgegress"))
        group = _group(c, gid)
        if _is_classic(group):
            raise Skip("the endpoint made an EC2-Classic group (no VpcId): classic groups have no egress rules")
        everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        check(("-1", None, None, "0.0.0.0/0") in _rules(group.get("IpPermissionsEgress", [])),
              f"a new group lacks AWS's default egress rule (all traffic to 0.0.0.0/0): "
              f"{group.get('IpPermissionsEgress')}")
        call("RevokeSecurityGroupEgress (default rule)",
             lambda: c.revoke_security_group_egress(GroupId=gid, IpPermissions=[everything]))
        left = {r for r in _rules(_group(c, gid).get("IpPermissionsEgress", [])) if ":" not in str(r[3])}
        check(not left, f"IPv4 egress rules left after revoking the default one: {sorted(map(str, left))}")


@scenario(SUITE)
def ec2_security_group_errors(ctx: Ctx) -> None:
    """A second group with a taken name is InvalidGroup.Duplicate 400; a missing group id is
    InvalidGroup.NotFound 400 and a malformed one InvalidGroupId.Malformed 400."""
    c = ctx.client("ec2")
    name = unique("sgdup")
    with cleanup(ctx) as res:
        res.security_group(name)
        expect("InvalidGroup.Duplicate", 400, "CreateSecurityGroup under a taken name",
               lambda: c.create_security_group(GroupName=name, Description="again"))
    expect("InvalidGroup.NotFound", 400, "DescribeSecurityGroups of a missing id",
           lambda: c.describe_security_groups(GroupIds=[ABSENT["group"]]))
    expect("InvalidGroup.NotFound", 400, "AuthorizeSecurityGroupIngress on a missing group",
           lambda: c.authorize_security_group_ingress(GroupId=ABSENT["group"], IpPermissions=[SSH]))
    # AWS: `InvalidGroupId.Malformed: Invalid id: "..." (expecting "sg-...")`, 400 (public reports with
    # AWS request ids, e.g. hashicorp/terraform-provider-aws#2375, aws/aws-cdk#20800).
    expect("InvalidGroupId.Malformed", 400, "DescribeSecurityGroups of a malformed id",
           lambda: c.describe_security_groups(GroupIds=["not-a-group-id"]))
