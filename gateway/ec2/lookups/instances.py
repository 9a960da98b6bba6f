"""Instances by EC2 id, loaded as model records (gateway/ec2/model.py Instance).

`find` reads only what the ids named need: their id mappings, their ec2:instance and ec2:terminated records
(one store get each), their servers (one backend call for the ids) and, with `detail`, their tags, the
security group names and their VPC interfaces. Its cost does not grow with the tenant's other instances,
so Stop/Start/Reboot/Terminate/ModifyInstanceAttribute/CreateTags/DescribeInstances with ids stay O(1)
in the tenant's size. `all_instances` lists the tenant (DescribeInstances without ids).

Terminated instances stay visible as `terminated` for `ec2.terminated_retention_seconds`, as on AWS: the
gateway records them when it terminates them, or first sees the cloud report them deleted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from backends.compute import SecurityGroup, Server, ServerState

from ...context import RequestContext
from ...protocol import errors
from ...session import session
from .. import shapes
from ..block_devices import attached_device
from ..error_map import backend_errors, not_found
from ..ids import derive
from ..model import (
    SHUTTING_DOWN,
    TERMINATED,
    AttachedVolume,
    GroupRef,
    Instance,
    InstanceVpc,
    Interface,
    InterfaceRef,
    ec2_state,
)
from ..output import iso
from ..records import NS_INSTANCE, NS_TERMINATED, NS_VPC, modify, scan
from ..services import account, compute, tags_of
from ..tags import NS_TAGS, as_list
from . import groups as vpc_groups
from .ids import backend_id, check_id, ec2_id
from .interfaces import find_interface, interfaces
from .tags import tag_map


# ---- the gateway's records ---------------------------------------------------------------------------------------
def _key(ctx: RequestContext, iid: str) -> str:
    return f"{account(ctx)}/{iid}"


async def record(ctx: RequestContext, iid: str) -> dict[str, Any]:
    """The ec2:instance record of one instance ({} when the gateway holds none)."""
    return await session(ctx).store.get(NS_INSTANCE, _key(ctx, iid)) or {}


async def records(ctx: RequestContext) -> dict[str, dict[str, Any]]:
    return await scan(ctx, NS_INSTANCE)


async def save_record(ctx: RequestContext, iid: str, value: dict[str, Any]) -> None:
    """Write a whole record: only for a new instance (RunInstances); a change to one goes by `change_record`."""
    await session(ctx).store.put(NS_INSTANCE, _key(ctx, iid), value)


async def change_record(ctx: RequestContext, iid: str, server_id: str | None,
                        change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Edit one instance's record in place (`{"server": server_id}` when it has none), atomically across
    replicas: ModifyInstanceAttribute, ModifyInstanceMetadataOptions and AttachVolume on one instance at
    once, through any replicas, each keep their change. `change` may run more than once (records.modify)."""
    return await modify(ctx, NS_INSTANCE, iid, change, initial={"server": server_id})


def _frozen(ctx: RequestContext, iid: str, stored: dict[str, Any]) -> Instance:
    """A terminated instance from its ec2:terminated record. (Records written before the typed model kept
    the reservation and server among the item's private `_` members.)"""
    item = {k: v for k, v in stored["item"].items() if not k.startswith("_")}
    reservation = stored.get("reservation") or stored["item"].get("_ReservationId") or derive("reservation", iid)
    server = stored.get("server") or stored["item"].get("_ServerId")
    return Instance(id=iid, server=None, record={"server": server}, state=TERMINATED, reservation_id=reservation,
                    frozen=item)


async def _terminated_one(ctx: RequestContext, iid: str) -> dict[str, Any] | None:
    store = session(ctx).store
    value = await store.get(NS_TERMINATED, _key(ctx, iid))
    if value is not None and value["until"] < time.time():
        await _forget(ctx, _key(ctx, iid))
        return None
    return value


async def _terminated_all(ctx: RequestContext) -> dict[str, dict[str, Any]]:
    """Terminated instances still inside their retention; expired ones are forgotten (and their tags)."""
    prefix, now = f"{account(ctx)}/", time.time()
    out = {}
    for key, value in await session(ctx).store.scan(NS_TERMINATED, prefix):
        if value["until"] < now:
            await _forget(ctx, key)
            continue
        out[key[len(prefix):]] = value
    return out


async def _forget(ctx: RequestContext, key: str) -> None:
    store = session(ctx).store
    await store.delete(NS_TERMINATED, key)
    await store.delete(NS_INSTANCE, key)
    await store.delete(NS_TAGS, key)


async def remember_terminated(ctx: RequestContext, inst: Instance) -> None:
    """Keep a terminated instance visible for the retention time, as AWS does."""
    retention = ctx.gateway.config.ec2.terminated_retention_seconds
    item = shapes.terminated(shapes.instance(inst, ctx.gateway.config.region))
    item.pop("Tags", None)
    await session(ctx).store.put(NS_TERMINATED, _key(ctx, inst.id), {
        "until": time.time() + retention, "item": item, "reservation": inst.reservation_id,
        "server": inst.server_id})


# ---- building records ---------------------------------------------------------------------------------------------
class KnownGroups:
    """The caller's security groups by backend id and name, as EC2 names them (VPC groups annotated)."""

    def __init__(self, groups: list[SecurityGroup]) -> None:
        self.by_id = {g.id: g for g in groups}
        self.by_name = {g.name: g for g in groups}

    async def refs(self, ctx: RequestContext, server_groups: list[str]) -> list[GroupRef]:
        out = []
        for ref in server_groups:
            group = self.by_id.get(ref) or self.by_name.get(ref)
            if group is not None:
                gid = await ec2_id(ctx, "security-group", group.id)
                out.append(GroupRef(id=gid or "", name=group.name))
        return out


async def _volumes(ctx: RequestContext, server: Server, rec: dict[str, Any]) -> list[AttachedVolume]:
    flags = rec.get("delete_on_termination", {})
    out = []
    for att in server.attachments:
        device = attached_device(rec, att.volume_id, att.device)
        if device is None:
            continue  # the cloud names no device while it (un)does an attachment the gateway did not make
        out.append(AttachedVolume(
            device=device, volume_id=await ec2_id(ctx, "volume", att.volume_id) or "", status=att.state,
            attach_time=iso(att.attached_at or server.launched_at or server.created),
            delete_on_termination=flags.get(device, att.delete_on_termination)))
    return out


async def from_server(ctx: RequestContext, server: Server, iid: str, rec: dict[str, Any],
                      groups: KnownGroups | None = None, tags: list[dict[str, str]] | None = None) -> Instance:
    """An Instance from its server and record (groups: named only when the caller's groups are given)."""
    reservation = rec.get("reservation") or (
        await ec2_id(ctx, "reservation", server.reservation_id) if server.reservation_id
        else derive("reservation", server.id))
    image = await ec2_id(ctx, "image", server.image_id) if server.image_id else rec.get("image_id")
    # a cloud may not report a building server's groups yet (Nova): the ones it was launched with
    refs = await groups.refs(ctx, server.security_groups or rec.get("groups") or []) if groups else []
    return Instance(id=iid, server=server, record=rec, state=ec2_state(server), reservation_id=reservation or "",
                    image_id=image, groups=refs, volumes=await _volumes(ctx, server, rec), tags=tags)


def known_groups(groups: list[SecurityGroup]) -> KnownGroups:
    return KnownGroups(groups)


async def caller_groups(ctx: RequestContext) -> KnownGroups:
    c = await compute(ctx)
    with backend_errors("security-group"):
        listed = await c.list_security_groups()
    return KnownGroups(await vpc_groups.annotate(ctx, listed))


async def _assemble(ctx: RequestContext, servers: list[Server], recs: dict[str, dict[str, Any]],
                    gone: dict[str, dict[str, Any]], tags: dict[str, list[dict[str, str]]] | None,
                    groups: KnownGroups | None, wanted: list[str] | None) -> dict[str, Instance]:
    out: dict[str, Instance] = {}
    for server in servers:
        iid = await ec2_id(ctx, "instance", server.id)
        assert iid is not None
        inst = await from_server(ctx, server, iid, recs.get(iid, {}), groups,
                                 tags.get(iid) if tags is not None else None)
        if server.state == ServerState.DELETED:
            if iid not in gone:
                await remember_terminated(ctx, inst)
        elif iid in gone:  # terminated here, the cloud is still tearing it down
            inst.state = SHUTTING_DOWN
        out[iid] = inst
    for iid, stored in gone.items():
        if iid not in out and (not wanted or iid in wanted):
            inst = _frozen(ctx, iid, stored)
            inst.tags = tags.get(iid) if tags is not None else None
            out[iid] = inst
    if groups is not None:
        await place_in_vpcs(ctx, list(out.values()))
    return out


# ---- finding ------------------------------------------------------------------------------------------------------
async def find(ctx: RequestContext, ids: list[str], *, detail: bool = True) -> dict[str, Instance]:
    """The instances these EC2 ids name, each one required (Malformed / one NotFound naming the missing).

    Without `detail` only what a state change needs is read (server, record, terminated record): no tags,
    no group names, no VPC interfaces."""
    for i in ids:
        check_id("instance", i)
    wanted = list(dict.fromkeys(ids))
    bids = {i: b for i in wanted if (b := await backend_id(ctx, "instance", i))}
    missing = [i for i in wanted if i not in bids]
    if missing:
        raise not_found("instance", missing)
    c = await compute(ctx)

    async def tags() -> dict[str, list[dict[str, str]]]:
        return {i: as_list(t) for i in wanted if (t := await tags_of(ctx).get(i))}

    async def nothing() -> None:
        return None

    with backend_errors("instance"):
        servers, recs, gone, tag_lists, groups = await asyncio.gather(
            c.list_servers(list(bids.values())),
            _gather({i: record(ctx, i) for i in wanted}),
            _gather({i: _terminated_one(ctx, i) for i in wanted}),
            tags() if detail else nothing(),
            caller_groups(ctx) if detail else nothing())
    if not detail:
        for s in servers:
            if s.state == ServerState.DELETED and not gone.get(await ec2_id(ctx, "instance", s.id) or ""):
                return await find(ctx, ids, detail=True)  # the first sight of a deletion freezes the full shape
    found = await _assemble(ctx, servers, {i: r for i, r in recs.items() if r},
                            {i: g for i, g in gone.items() if g}, tag_lists, groups, wanted)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise not_found("instance", missing)
    return found


async def _gather(calls: dict[str, Any]) -> dict[str, Any]:
    values = await asyncio.gather(*calls.values())
    return dict(zip(calls, values, strict=True))


async def all_instances(ctx: RequestContext) -> list[Instance]:
    """Every instance of the caller, terminated ones included: one server listing, one group listing and one
    scan per gateway namespace, whatever the tenant's size."""
    c = await compute(ctx)
    with backend_errors("instance"):
        servers, groups, recs, gone, tags = await asyncio.gather(
            c.list_servers(), caller_groups(ctx), records(ctx), _terminated_all(ctx), tag_map(ctx))
    return list((await _assemble(ctx, servers, recs, gone, tags, groups, None)).values())


async def primary_interface(ctx: RequestContext, iid: str) -> Interface:
    """The one network interface of an instance in a VPC (the one an instance-level VPC action acts on)."""
    inst = (await find(ctx, [iid]))[iid]
    nis = inst.vpc.enis if inst.vpc else []
    if len(nis) != 1:
        raise errors.InvalidInstanceIDPlain(f"There are multiple interfaces attached to instance '{iid}'. Please "
                                            "specify an interface ID for the operation instead." if nis else
                                            f"The instance '{iid}' is not in a VPC.")
    return await find_interface(ctx, nis[0].eni_id)


# ---- instances in a VPC ---------------------------------------------------------------------------------------------
async def place_in_vpcs(ctx: RequestContext, insts: list[Instance]) -> None:
    """Give instances in a VPC their VPC, subnet and interfaces (device order) and the VPC view of their groups.
    An account without VPCs pays one scan of its (empty) VPC records."""
    live = [i for i in insts if i.server is not None and i.state != TERMINATED
            and i.server.state != ServerState.DELETED]
    if not live or not await scan(ctx, NS_VPC):
        return
    enis = await interfaces(ctx, server_ids=[i.server.id for i in live if i.server is not None])
    by_server: dict[str, list[Interface]] = {}
    for eni in enis:
        by_server.setdefault(eni.server_id or "", []).append(eni)
    region = ctx.gateway.config.region
    for inst in live:
        assert inst.server is not None
        nis = sorted(by_server.get(inst.server.id, []), key=lambda n: n.attachment.device_index if n.attachment else 0)
        if not nis:
            continue
        primary = nis[0]
        groups = {g.id: g for n in nis for g in n.groups}
        inst.vpc = InstanceVpc(
            vpc_id=primary.vpc_id, subnet_id=primary.subnet.ec2_id, source_dest_check=primary.port.source_dest_check,
            private_ip=primary.primary_ip, private_dns=shapes.interface(primary, region).get("PrivateDnsName"),
            groups=list(groups.values()), interfaces=nis,
            enis=[InterfaceRef(port_id=n.port.id, eni_id=n.id,
                               delete_on_termination=bool(n.attachment and n.attachment.delete_on_termination))
                  for n in nis])
