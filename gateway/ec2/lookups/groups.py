"""Security groups that belong to a VPC.

A cloud's security groups are project-wide (Neutron's are; CloudStack's are not even VPC-scoped), while an
EC2 group belongs to one VPC, its name unique only within that VPC, and every VPC has its own `default`
group. So the gateway records, per group, the VPC it belongs to and its EC2 name (ec2:vpc-group), and
creates the cloud's group under a name that is unique in the project (`<vpc id>.<name>`; Neutron also
reserves the name `default`). `annotate` gives every listing the EC2 view: network_id = the VPC's backend
id, name = the EC2 name.
"""

from __future__ import annotations

import contextlib
import dataclasses

from backends import base
from backends.compute import SecurityGroup, SecurityRule

from ...context import RequestContext
from ..error_map import backend_errors
from ..records import NS_VPC_GROUP, delete, get, put, scan
from ..services import compute
from .ids import ec2_id

DEFAULT_DESCRIPTION = "default VPC security group"


async def annotate(ctx: RequestContext, groups: list[SecurityGroup]) -> list[SecurityGroup]:
    """The groups as EC2 sees them: VPC groups carry their VPC (network_id) and EC2 name."""
    records = await scan(ctx, NS_VPC_GROUP)
    if not records:
        return groups
    by_backend = {r.get("backend"): r for r in records.values()}
    out = []
    for g in groups:
        rec = by_backend.get(g.id)
        out.append(dataclasses.replace(g, network_id=rec["vpc"], name=rec["name"]) if rec else g)
    return out


async def create(ctx: RequestContext, name: str, description: str, vpc_backend_id: str,
                 vpc_ec2_id: str) -> SecurityGroup:
    """A security group in a VPC (the cloud's name made unique per VPC)."""
    c = await compute(ctx)
    with backend_errors("security-group", name):
        group = await c.create_security_group(f"{vpc_ec2_id}.{name}"[:255], description, vpc_backend_id)
    gid = await ec2_id(ctx, "security-group", group.id)
    assert gid is not None
    await put(ctx, NS_VPC_GROUP, gid, {"backend": group.id, "vpc": vpc_backend_id, "name": name})
    return dataclasses.replace(group, name=name, network_id=vpc_backend_id)


async def create_default(ctx: RequestContext, vpc_backend_id: str, vpc_ec2_id: str) -> SecurityGroup:
    """A VPC's `default` group, as AWS makes it: all egress (the cloud's default rules for a new group) and
    all ingress from members of the group itself."""
    group = await create(ctx, "default", DEFAULT_DESCRIPTION, vpc_backend_id, vpc_ec2_id)
    c = await compute(ctx)
    for ethertype in ("IPv4", "IPv6"):
        with contextlib.suppress(base.AlreadyExists):
            await c.add_security_rule(SecurityRule(id="", group_id=group.id, egress=False, protocol=None,
                                                   remote_group_id=group.id, ethertype=ethertype))
    return group


async def forget(ctx: RequestContext, group_ec2_id: str) -> None:
    await delete(ctx, NS_VPC_GROUP, group_ec2_id)


async def of_vpc(ctx: RequestContext, vpc_backend_id: str) -> dict[str, dict]:
    """{group EC2 id: record} of the groups recorded in one VPC."""
    return {gid: r for gid, r in (await scan(ctx, NS_VPC_GROUP)).items() if r.get("vpc") == vpc_backend_id}


async def default_group(ctx: RequestContext, vpc_backend_id: str) -> str | None:
    """The backend id of a VPC's default group."""
    for rec in (await of_vpc(ctx, vpc_backend_id)).values():
        if rec.get("name") == "default":
            return rec.get("backend")
    return None


async def record_of(ctx: RequestContext, group_ec2_id: str) -> dict:
    return await get(ctx, NS_VPC_GROUP, group_ec2_id)
