"""One instance as its own metadata shows it: the EC2 view DescribeInstances gives, built the same way (the
lookup layer and the Instance shape), acting as the instance's account. EC2 ids only, never the cloud's.

The view is the costly part (the cloud's server, groups, tags, interfaces, key pair): it is kept for
`metadata.cache_seconds` per instance, because a booting guest reads dozens of paths in a row. What decides
whether a request is served at all (the instance's metadata options, its termination) is read fresh on
every request: `Gate`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..auth.request import AuthResult
from ..context import RequestContext
from ..ec2 import account_edge, shapes
from ..ec2.error_map import backend_errors
from ..ec2.instance_options import validated
from ..ec2.lookups import instances as lookup
from ..ec2.lookups.vpcs import find_vpc
from ..ec2.model import Instance
from ..ec2.records import NS_INSTANCE, NS_TERMINATED
from ..ec2.services import compute
from ..protocol import errors
from .owners import Owner

if TYPE_CHECKING:
    from ..app import Gateway

_MAX_CACHED = 10_000  # instances whose view is kept (least recently used dropped first)


@dataclass(frozen=True)
class Gate:
    """What decides whether (and how) a request is served, read fresh each time."""
    options: dict[str, Any]  # the instance's metadata options (HttpTokens, HttpEndpoint, InstanceMetadataTags)
    terminated: bool


@dataclass
class Nic:
    """One network interface as network/interfaces/macs/<mac>/ shows it."""
    mac: str
    device_number: int
    interface_id: str | None = None
    local_ipv4s: list[str] = field(default_factory=list)
    public_ipv4s: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)
    subnet_id: str | None = None
    subnet_cidr: str | None = None
    vpc_id: str | None = None
    vpc_cidr: str | None = None


@dataclass
class View:
    instance: dict[str, Any]  # the Instance shape, as DescribeInstances shows it
    owner: str                # OwnerId
    reservation_id: str
    region: str
    user_data: bytes | None
    public_key: str | None
    nics: list[Nic]
    tags: dict[str, str]


async def gate(gw: Gateway, owner: Owner) -> Gate:
    key = f"{owner.account}/{owner.instance_id}"
    record, gone = await asyncio.gather(gw.store.get(NS_INSTANCE, key), gw.store.get(NS_TERMINATED, key))
    return Gate(options=validated(None, (record or {}).get("metadata_options")), terminated=gone is not None)


class Views:
    """The views of the instances asking, built on demand and kept `ttl` seconds."""

    def __init__(self, gw: Gateway, ttl: float) -> None:
        self.gw, self.ttl = gw, ttl
        self._cache: OrderedDict[str, tuple[float, View]] = OrderedDict()
        self._building: dict[str, asyncio.Future[View | None]] = {}

    async def get(self, request: web.Request, owner: Owner) -> View | None:
        """The view, or None when the instance is gone or cannot be read as its account. Requests of one
        instance arriving together share one build (a guest's boot reads many paths at once)."""
        iid = owner.instance_id
        hit = self._cache.get(iid)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        pending = self._building.get(iid)
        if pending is None:
            pending = asyncio.ensure_future(self._build(request, owner))
            self._building[iid] = pending
            pending.add_done_callback(lambda _f: self._building.pop(iid, None))
        return await asyncio.shield(pending)

    async def _build(self, request: web.Request, owner: Owner) -> View | None:
        view = await build(self.gw, request, owner)
        now = time.monotonic()
        # entries are kept in expiry order (one TTL): the expired ones are at the front, dropped here
        while self._cache and (len(self._cache) >= _MAX_CACHED or next(iter(self._cache.values()))[0] <= now):
            self._cache.popitem(last=False)
        if view is not None and self.ttl > 0:
            self._cache[owner.instance_id] = (now + self.ttl, view)
            self._cache.move_to_end(owner.instance_id)
        return view


async def acting_context(gw: Gateway, request: web.Request, owner: Owner) -> RequestContext | None:
    """A request context acting as the instance's account: the launcher's key (a cloud's identity service: the
    key's project, with all its services), else the account's identity where the credential provider has one
    (a cloud's may reach the account's storage only: identity_for_account)."""
    identity = await gw.credentials.identity_for_key(owner.access_key)
    if identity is None:
        identity = await gw.credentials.identity_for_account(owner.account)
    if identity is None:
        return None
    ctx = RequestContext(request=request, request_id=str(uuid.uuid4()), gateway=gw, service="metadata")
    ctx.auth = AuthResult(identity=identity)
    return ctx


async def build(gw: Gateway, request: web.Request, owner: Owner) -> View | None:
    ctx = await acting_context(gw, request, owner)
    if ctx is None:
        return None
    try:
        inst = (await lookup.find(ctx, [owner.instance_id]))[owner.instance_id]
    except errors.AwsError:  # gone from the cloud, or no longer the account's
        return None
    if inst.server is None:
        return None
    region = gw.config.region
    # as DescribeInstances shows it: account numbers, not the cloud's ids (the EC2 edge, account_edge.py)
    item = await account_edge.outbound(ctx, shapes.instance(inst, region))
    assert ctx.identity is not None
    return View(instance=item, owner=ctx.identity.account_id, reservation_id=inst.reservation_id, region=region, user_data=_user_data(inst.user_data),
                public_key=await _public_key(ctx, item.get("KeyName")), nics=await _nics(ctx, inst, item),
                tags={t["Key"]: t.get("Value") or "" for t in inst.tags or []})


def _user_data(text: str | None) -> bytes | None:
    """The bytes the guest gets: RunInstances' UserData is base64 (the SDKs encode it)."""
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


async def _public_key(ctx: RequestContext, name: str | None) -> str | None:
    if not name:
        return None
    c = await compute(ctx)
    try:
        with backend_errors("key-pair"):
            pairs = await c.list_keypairs()
    except errors.AwsError:
        return None
    return next((k.public_key for k in pairs if k.name == name), None)


async def _nics(ctx: RequestContext, inst: Instance, item: dict[str, Any]) -> list[Nic]:
    """Interfaces in device order: the VPC's network interfaces, or the server's own addresses (EC2-Classic
    style: one interface, its MAC the cloud's port's)."""
    groups = item.get("SecurityGroups") or []
    if inst.vpc is not None:
        out = []
        cidrs: dict[str, str | None] = {}
        for n in inst.vpc.interfaces:
            if n.vpc_id not in cidrs:
                try:
                    cidrs[n.vpc_id] = (await find_vpc(ctx, n.vpc_id)).vpc.cidr
                except errors.AwsError:
                    cidrs[n.vpc_id] = None
            out.append(Nic(
                mac=n.port.mac or "", device_number=n.attachment.device_index if n.attachment else 0,
                interface_id=n.id, local_ipv4s=list(n.ips),
                public_ipv4s=[a.public_ip for ip in n.ips if (a := n.associations.get(ip))],
                group_ids=[g.id for g in n.groups], group_names=[g.name or "" for g in n.groups],
                subnet_id=n.subnet.ec2_id, subnet_cidr=n.subnet.subnet.cidr, vpc_id=n.vpc_id,
                vpc_cidr=cidrs[n.vpc_id]))
        return [n for n in out if n.mac]
    server = inst.server
    assert server is not None
    by_mac: dict[str, Nic] = {}
    for a in server.addresses:
        if not a.mac or a.version != 4:
            continue
        nic = by_mac.setdefault(a.mac, Nic(mac=a.mac, device_number=len(by_mac),
                                           group_ids=[g["GroupId"] for g in groups if g.get("GroupId")],
                                           group_names=[g["GroupName"] for g in groups if g.get("GroupName")]))
        (nic.public_ipv4s if a.floating else nic.local_ipv4s).append(a.ip)
    return list(by_mac.values())
