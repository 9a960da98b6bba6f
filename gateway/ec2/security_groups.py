"""Security groups: Create/Delete/Describe, Authorize/Revoke Ingress and Egress.

Every IpPermissions form is parsed into neutral rules (one per source: CIDR, IPv6 CIDR or group), and
neutral rules are grouped back into IpPermissions by (protocol, from, to). A group without a network
(`network_id` None) has EC2-Classic semantics, as the EC2 suite expects of non-VPC groups: no egress
rules (egress calls are InvalidParameterValue), `default` is reserved and can't be deleted, and revoking
an absent rule succeeds (it is listed in UnknownIpPermissions); VPC groups answer InvalidPermission.NotFound.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from backends.compute import SecurityGroup, SecurityRule

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging
from .error_map import backend_errors
from .lookups import groups as vpc_groups
from .lookups import instances as instance_lookup
from .lookups.ids import backend_id, ec2_id, resolve
from .lookups.tags import apply_tags, tag_map
from .lookups.vpcs import find_vpc
from .model import TERMINATED
from .output import compact, tag_specs
from .registration import ec2_handler
from .services import account, compute, tags_of

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
              "-1": None, "all": None}
_VPC_NAME = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")


@dataclass(frozen=True)
class RuleKey:
    """What makes two rules the same rule (duplicates, revocation)."""

    egress: bool
    protocol: str | None
    port_min: int | None
    port_max: int | None
    cidr: str | None
    remote_group_id: str | None


def rule_key(rule: SecurityRule) -> RuleKey:
    protocol = _PROTOCOLS.get(str(rule.protocol).lower(), rule.protocol) if rule.protocol is not None else None
    lo, hi = rule.port_min, rule.port_max
    if protocol in ("tcp", "udp") and lo is None:
        lo, hi = 0, 65535
    if protocol is None or protocol not in ("tcp", "udp", "icmp"):
        lo = hi = None
    cidr = str(ipaddress.ip_network(rule.cidr, strict=False)) if rule.cidr else None
    return RuleKey(rule.egress, protocol, lo, hi, cidr, rule.remote_group_id)


# ---- parsing IpPermissions ---------------------------------------------------------------------------------
def parse_protocol(value: Any) -> str | None:
    text = str(value).strip().lower()
    if text in _PROTOCOLS:
        return _PROTOCOLS[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return text
    raise errors.InvalidParameterValue(f"Invalid value '{value}' for IP protocol. Unknown protocol.")


def parse_ports(protocol: str | None, lo: int | None, hi: int | None) -> tuple[int | None, int | None]:
    if protocol in ("tcp", "udp"):
        if lo is None or hi is None:
            raise errors.InvalidParameterValue(
                "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange")
        if (lo, hi) == (-1, -1):
            return 0, 65535
        if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or lo > hi:
            raise errors.InvalidParameterValue(f"Invalid TCP/UDP port range: {lo}-{hi}")
        return lo, hi
    if protocol == "icmp":
        icmp_type = -1 if lo is None else lo
        code = -1 if hi is None else hi
        if not (-1 <= icmp_type <= 255 and -1 <= code <= 255) or (icmp_type == -1 and code != -1):
            raise errors.InvalidParameterValue(f"Invalid value for ICMP type/code: {icmp_type}/{code}")
        return (None if icmp_type == -1 else icmp_type), (None if code == -1 else code)
    return None, None


def _cidr(value: str, v6: bool) -> str:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise errors.InvalidParameterValue(f"Value ({value}) for parameter cidrIp is invalid. "
                                           "This is not a valid CIDR block.") from None
    if (net.version == 6) != v6:
        raise errors.InvalidParameterValue(f"Value ({value}) for parameter cidrIp is invalid.")
    return str(net)


def legacy_permissions(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level IpProtocol/FromPort/ToPort/CidrIp/SourceSecurityGroupName form as IpPermissions."""
    legacy = [k for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp", "SourceSecurityGroupName",
                          "SourceSecurityGroupOwnerId") if p.get(k) is not None]
    if not legacy:
        return []
    if p.get("IpPermissions"):
        raise errors.InvalidParameterCombination(
            f"The parameter 'ipPermissions' may not be used in combination with '{legacy[0]}'")
    pairs = []
    if p.get("SourceSecurityGroupName"):
        pairs = [{"GroupName": p["SourceSecurityGroupName"], "UserId": p.get("SourceSecurityGroupOwnerId")}]
    ranges = [{"CidrIp": p["CidrIp"]}] if p.get("CidrIp") else []
    if p.get("IpProtocol") is None:
        if not pairs:
            raise errors.MissingParameter("The request must contain the parameter ipProtocol")
        # EC2-Classic: a source group alone grants all of TCP, UDP and ICMP.
        return [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": pairs},
                {"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": pairs},
                {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": pairs}]
    return [{"IpProtocol": p["IpProtocol"], "FromPort": p.get("FromPort"), "ToPort": p.get("ToPort"),
             "IpRanges": ranges, "UserIdGroupPairs": pairs}]


async def parse_permissions(ctx: RequestContext, p: dict[str, Any], group: SecurityGroup, egress: bool,
                            groups: list[SecurityGroup]) -> list[tuple[SecurityRule, dict[str, Any]]]:
    """IpPermissions (or the legacy form) -> neutral rules, each with the IpPermission it came from."""
    perms = p.get("IpPermissions") or legacy_permissions(p)
    if not perms:
        raise errors.MissingParameter("The request must contain the parameter ipPermissions")
    by_name = {g.name: g for g in groups}
    visible = {g.id for g in groups}
    out = []
    for perm in perms:
        if perm.get("IpProtocol") is None:
            raise errors.MissingParameter("The request must contain the parameter ipProtocol")
        protocol = parse_protocol(perm["IpProtocol"])
        lo, hi = parse_ports(protocol, perm.get("FromPort"), perm.get("ToPort"))

        def rule(**source: Any) -> SecurityRule:
            return SecurityRule(id="", group_id=group.id, egress=egress, protocol=protocol,  # noqa: B023
                                port_min=lo, port_max=hi, **source)  # noqa: B023

        sources = []
        for r in perm.get("IpRanges") or []:
            sources.append(rule(cidr=_cidr(r.get("CidrIp") or "", False), description=r.get("Description")))
        for r in perm.get("Ipv6Ranges") or []:
            sources.append(rule(cidr=_cidr(r.get("CidrIpv6") or "", True), ethertype="IPv6",
                                description=r.get("Description")))
        for pair in perm.get("UserIdGroupPairs") or []:
            if pair.get("GroupId"):
                bid = await resolve(ctx, "security-group", pair["GroupId"])
                if bid not in visible:
                    raise errors.InvalidGroupNotFound(f"The security group '{pair['GroupId']}' does not exist")
            elif pair.get("GroupName"):
                owner = pair.get("UserId")
                source = by_name.get(pair["GroupName"])
                if source is None or (owner and owner != account(ctx)):
                    raise errors.InvalidGroupNotFound(f"The security group '{pair['GroupName']}' does not exist")
                bid = source.id
            else:
                raise errors.MissingParameter("The request must contain the parameter groupId or groupName "
                                              "for a user/group pair")
            sources.append(rule(remote_group_id=bid, description=pair.get("Description")))
        if perm.get("PrefixListIds"):
            raise errors.Unsupported("Prefix lists are not supported.")
        if not sources:  # as EC2-Classic: no source means anywhere
            sources.append(rule(cidr="0.0.0.0/0"))
        out.extend((s, perm) for s in sources)
    return out


# ---- rules -> IpPermissions --------------------------------------------------------------------------------------
def _ports(key: RuleKey) -> dict[str, int]:
    if key.protocol in ("tcp", "udp"):
        return {"FromPort": key.port_min if key.port_min is not None else 0,
                "ToPort": key.port_max if key.port_max is not None else 65535}
    if key.protocol == "icmp":
        return {"FromPort": -1 if key.port_min is None else key.port_min,
                "ToPort": -1 if key.port_max is None else key.port_max}
    return {}


async def permissions(ctx: RequestContext, rules: list[SecurityRule], names: dict[str, str]) -> list[dict[str, Any]]:
    grouped: dict[tuple, dict[str, Any]] = {}
    for rule in rules:
        key = rule_key(rule)
        perm = grouped.setdefault((key.protocol or "-1", key.port_min, key.port_max), {
            "IpProtocol": key.protocol or "-1", **_ports(key), "IpRanges": [], "Ipv6Ranges": [],
            "UserIdGroupPairs": [], "PrefixListIds": []})
        if key.remote_group_id:
            perm["UserIdGroupPairs"].append(compact({
                "UserId": account(ctx), "GroupId": await ec2_id(ctx, "security-group", key.remote_group_id),
                "GroupName": names.get(key.remote_group_id), "Description": rule.description}))
        elif key.cidr and ":" in key.cidr:
            perm["Ipv6Ranges"].append(compact({"CidrIpv6": key.cidr, "Description": rule.description}))
        elif key.cidr:
            perm["IpRanges"].append(compact({"CidrIp": key.cidr, "Description": rule.description}))
    return list(grouped.values())


async def group_item(ctx: RequestContext, group: SecurityGroup, names: dict[str, str],
                     tags: dict[str, list]) -> dict[str, Any]:
    gid = await ec2_id(ctx, "security-group", group.id)
    classic = group.network_id is None
    ingress = [r for r in group.rules if not r.egress]
    egress = [] if classic else [r for r in group.rules if r.egress]
    return compact({
        "GroupId": gid, "GroupName": group.name, "Description": group.description, "OwnerId": account(ctx),
        "IpPermissions": await permissions(ctx, ingress, names),
        "IpPermissionsEgress": await permissions(ctx, egress, names),
        "VpcId": await ec2_id(ctx, "vpc", group.network_id) if group.network_id else None,
        "Tags": tags.get(gid),
    })


async def _groups(ctx: RequestContext) -> list[SecurityGroup]:
    c = await compute(ctx)
    with backend_errors("security-group"):
        groups = await c.list_security_groups()
    return await vpc_groups.annotate(ctx, groups)  # a VPC's groups: their VPC and EC2 name


async def _target(ctx: RequestContext, p: dict[str, Any], groups: list[SecurityGroup]) -> SecurityGroup:
    """The group a call acts on, by GroupId or (EC2-Classic) GroupName."""
    if p.get("GroupId"):
        bid = await resolve(ctx, "security-group", p["GroupId"])
        match = [g for g in groups if g.id == bid]
        ident = p["GroupId"]
    elif p.get("GroupName"):
        match = [g for g in groups if g.name == p["GroupName"] and g.network_id is None] or \
            [g for g in groups if g.name == p["GroupName"]]
        ident = p["GroupName"]
    else:
        raise errors.MissingParameter("The request must contain the parameter groupName or groupId")
    if not match:
        raise errors.InvalidGroupNotFound(f"The security group '{ident}' does not exist")
    return match[0]


# ---- actions -------------------------------------------------------------------------------------------------
@ec2_handler("CreateSecurityGroup")
async def create_security_group(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    name, description = p.get("GroupName") or "", p.get("Description") or ""
    if not name:
        raise errors.MissingParameter("The request must contain the parameter GroupName")
    if not description:
        raise errors.MissingParameter("The request must contain the parameter GroupDescription")
    network_id = None
    if p.get("VpcId"):
        network_id = (await find_vpc(ctx, p["VpcId"])).vpc.id  # InvalidVpcID.NotFound once deleted, too
    for field_name, value in (("GroupName", name), ("GroupDescription", description)):
        if len(value) > 255:
            raise errors.InvalidParameterValue(
                f"Value ({value}) for parameter {field_name} is invalid. Length exceeds maximum of 255.")
        if not value.isascii() or (network_id and not _VPC_NAME.match(value)):
            raise errors.InvalidParameterValue(
                f"Value ({value}) for parameter {field_name} is invalid. Character sets beyond ASCII "
                "are not supported.")
    if name.startswith("sg-"):
        raise errors.InvalidParameterValue(f"Value ({name}) for parameter GroupName is invalid. "
                                           "Group names may not be in the format sg-*.")
    if name == "default":
        if network_id is None:
            raise errors.InvalidGroupReserved("The security group 'default' is reserved")
        raise errors.InvalidParameterValue("Value (default) for parameter GroupName is invalid. "
                                           "Group name 'default' is reserved.")
    tagging = tag_specs(p, "security-group")
    groups = await _groups(ctx)
    if any(g.name == name and g.network_id == network_id for g in groups):
        raise errors.InvalidGroupDuplicate(f"The security group '{name}' already exists")
    c = await compute(ctx)
    if network_id:  # named uniquely per VPC in the cloud; the VPC and EC2 name are recorded
        group = await vpc_groups.create(ctx, name, description, network_id, p["VpcId"])
    else:
        with backend_errors("security-group", name):
            group = await c.create_security_group(name, description, network_id)
    gid = await ec2_id(ctx, "security-group", group.id)
    return compact({"GroupId": gid, "Tags": await apply_tags(ctx, [gid], tagging.get("security-group"))})


@ec2_handler("DeleteSecurityGroup")
async def delete_security_group(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    group = await _target(ctx, p, await _groups(ctx))
    gid = await ec2_id(ctx, "security-group", group.id)
    if group.name == "default":
        raise errors.CannotDelete(f'the specified group: "{p.get("GroupId") or p.get("GroupName")}" '
                                  'name: "default" cannot be deleted by a user')
    # an instance still building may hold no port yet, so the cloud would let the group go: ask the instances
    if any(gid in {g.id for g in (i.vpc.groups if i.vpc and i.vpc.groups else i.groups)} and i.state != TERMINATED
           for i in await instance_lookup.all_instances(ctx)):
        raise errors.DependencyViolation(f"resource {gid} has a dependent object")
    c = await compute(ctx)
    with backend_errors("security-group", gid):
        await c.delete_security_group(group.id)
    await tags_of(ctx).remove([gid], None)  # type: ignore[list-item]
    await vpc_groups.forget(ctx, gid)  # type: ignore[arg-type]
    return {"Return": True, "GroupId": gid}


FILTERS: dict[str, filters.Extractor] = {"description": filters.field("Description"),
                                         "group-id": filters.field("GroupId"),
                                         "group-name": filters.field("GroupName"),
                                         "owner-id": filters.field("OwnerId"), "vpc-id": filters.field("VpcId")}
for _prefix, _member in (("ip-permission", "IpPermissions"), ("egress.ip-permission", "IpPermissionsEgress")):
    FILTERS.update({
        f"{_prefix}.cidr": filters.field(_member, "IpRanges", "CidrIp"),
        f"{_prefix}.ipv6-cidr": filters.field(_member, "Ipv6Ranges", "CidrIpv6"),
        f"{_prefix}.from-port": filters.field(_member, "FromPort"),
        f"{_prefix}.to-port": filters.field(_member, "ToPort"),
        f"{_prefix}.protocol": filters.field(_member, "IpProtocol"),
        f"{_prefix}.group-id": filters.field(_member, "UserIdGroupPairs", "GroupId"),
        f"{_prefix}.group-name": filters.field(_member, "UserIdGroupPairs", "GroupName"),
        f"{_prefix}.user-id": filters.field(_member, "UserIdGroupPairs", "UserId"),
        f"{_prefix}.prefix-list-id": filters.field(_member, "PrefixListIds", "PrefixListId"),
    })


@ec2_handler("DescribeSecurityGroups")
async def describe_security_groups(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="GroupIds")
    filters.validate(p.get("Filters"), FILTERS)
    groups = await _groups(ctx)
    names, tags = {g.id: g.name for g in groups}, await tag_map(ctx)
    items = [await group_item(ctx, g, names, tags) for g in groups]
    wanted_ids, wanted_names = p.get("GroupIds") or [], p.get("GroupNames") or []
    for gid in wanted_ids:
        if not gid.startswith("sg-"):
            raise errors.InvalidGroupIdMalformed(f'Invalid id: "{gid}" (expecting "sg-...")')
    missing = [g for g in wanted_ids if g not in {i["GroupId"] for i in items}]
    missing += [n for n in wanted_names if n not in {i["GroupName"] for i in items}]
    if missing:
        raise errors.InvalidGroupNotFound(f"The security group '{', '.join(missing)}' does not exist")
    if wanted_ids or wanted_names:
        items = [i for i in items if i["GroupId"] in wanted_ids or i["GroupName"] in wanted_names]
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeSecurityGroups", items, lambda i: i["GroupId"], max_results,
                               p.get("NextToken"))
    return compact({"SecurityGroups": [compact(i) for i in chunk], "NextToken": token})


def _describe_rule(rule: SecurityRule, perm: dict[str, Any]) -> str:
    peer = rule.cidr or rule.remote_group_id
    proto = (rule.protocol or "ALL").upper()
    return (f'the specified rule "peer: {peer}, {proto}, from port: {perm.get("FromPort")}, '
            f'to port: {perm.get("ToPort")}, ALLOW" already exists')


async def _authorize(ctx: RequestContext, egress: bool) -> dict[str, Any]:
    p = ctx.params
    groups = await _groups(ctx)
    group = await _target(ctx, p, groups)
    if egress and group.network_id is None:
        raise errors.InvalidParameterValue("Egress rules are only supported for security groups in a VPC "
                                           "(this group is an EC2-Classic group).")
    tagging = tag_specs(p, "security-group-rule")
    wanted = await parse_permissions(ctx, p, group, egress, groups)
    existing = {rule_key(r) for r in group.rules}
    seen = set()
    for rule, perm in wanted:
        key = rule_key(rule)
        if key in existing or key in seen:
            raise errors.InvalidPermissionDuplicate(_describe_rule(rule, perm))
        seen.add(key)
    c = await compute(ctx)
    gid = await ec2_id(ctx, "security-group", group.id)
    created = []
    for rule, _perm in wanted:
        with backend_errors("security-group-rule", gid):
            new = await c.add_security_rule(rule)
        created.append(await rule_item(ctx, new, gid))
    if tagging.get("security-group-rule"):
        await apply_tags(ctx, [r["SecurityGroupRuleId"] for r in created], tagging["security-group-rule"])
    return {"Return": True, "SecurityGroupRules": created}


async def rule_item(ctx: RequestContext, rule: SecurityRule, gid: str) -> dict[str, Any]:
    key = rule_key(rule)
    ports = _ports(key) or {"FromPort": -1, "ToPort": -1}
    ref = await ec2_id(ctx, "security-group", rule.remote_group_id) if rule.remote_group_id else None
    return compact({
        "SecurityGroupRuleId": await ec2_id(ctx, "security-group-rule", rule.id), "GroupId": gid,
        "GroupOwnerId": account(ctx), "IsEgress": rule.egress, "IpProtocol": key.protocol or "-1", **ports,
        "CidrIpv4": key.cidr if key.cidr and ":" not in key.cidr else None,
        "CidrIpv6": key.cidr if key.cidr and ":" in key.cidr else None,
        "ReferencedGroupInfo": {"GroupId": ref, "UserId": account(ctx)} if ref else None,
        "Description": rule.description})


async def _revoke(ctx: RequestContext, egress: bool) -> dict[str, Any]:
    p = ctx.params
    groups = await _groups(ctx)
    group = await _target(ctx, p, groups)
    if egress and group.network_id is None:
        raise errors.InvalidParameterValue("Egress rules are only supported for security groups in a VPC.")
    gid = await ec2_id(ctx, "security-group", group.id)
    by_key: dict[RuleKey, list[SecurityRule]] = {}
    for r in group.rules:
        by_key.setdefault(rule_key(r), []).append(r)
    doomed: list[SecurityRule] = []
    unknown = []
    if p.get("SecurityGroupRuleIds"):
        by_id = {r.id: r for r in group.rules if r.egress == egress}
        for sgr in p["SecurityGroupRuleIds"]:
            bid = await backend_id(ctx, "security-group-rule", sgr)
            if bid not in by_id:
                raise errors.InvalidSecurityGroupRuleIdNotFound(
                    f"The security group rule ID '{sgr}' does not exist")
            doomed.append(by_id[bid])
    else:
        for rule, perm in await parse_permissions(ctx, p, group, egress, groups):
            match = by_key.get(rule_key(rule))
            if match:
                doomed.extend(match)
            elif group.network_id is not None:
                raise errors.InvalidPermissionNotFound()
            elif perm not in unknown:
                unknown.append(perm)
    c = await compute(ctx)
    revoked = []
    for rule in {r.id: r for r in doomed}.values():
        with backend_errors("security-group-rule", gid):
            await c.delete_security_rule(rule.id)
        revoked.append(await rule_item(ctx, rule, gid))
    return compact({"Return": True, "UnknownIpPermissions": unknown or None,
                    "RevokedSecurityGroupRules": revoked or None})


@ec2_handler("AuthorizeSecurityGroupIngress")
async def authorize_security_group_ingress(ctx: RequestContext) -> dict[str, Any]:
    return await _authorize(ctx, egress=False)


@ec2_handler("AuthorizeSecurityGroupEgress")
async def authorize_security_group_egress(ctx: RequestContext) -> dict[str, Any]:
    return await _authorize(ctx, egress=True)


@ec2_handler("RevokeSecurityGroupIngress")
async def revoke_security_group_ingress(ctx: RequestContext) -> dict[str, Any]:
    return await _revoke(ctx, egress=False)


@ec2_handler("RevokeSecurityGroupEgress")
async def revoke_security_group_egress(ctx: RequestContext) -> dict[str, Any]:
    return await _revoke(ctx, egress=True)
