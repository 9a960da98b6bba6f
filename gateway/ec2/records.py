"""The gateway-held EC2 state (gateway/store): what a cloud cannot hold, per account, keys "<account>/<ec2 id>".

  ec2:instance   instance attributes the cloud can't hold (reservation, DisableApiTermination...)
  ec2:terminated terminated instances, kept visible until "until" (epoch seconds)
  ec2:keypair    AWS fingerprint and key pair id of a key created/imported here
  ec2:address    domain (standard|vpc) of an allocated address
  ec2:image      image attributes the cloud can't hold
  ec2:volume-deleted volumes DeleteVolume deleted that the cloud keeps while they have snapshots
  ec2:vpc        VPC attributes, its DHCP options, default security group, main route table + association
  ec2:subnet     MapPublicIpOnLaunch, DefaultForAz
  ec2:rtb        route tables: routes (targets by EC2 id), subnet associations
  ec2:rtb-subnet one entry per associated subnet: the atomic claim behind Resource.AlreadyAssociated
  ec2:igw        internet gateways and the VPC each is attached to
  ec2:nat        NAT gateways
  ec2:dopt       DHCP option sets
  ec2:eni        network interface attachment flags (device index, DeleteOnTermination)
  ec2:vpc-group  security groups that belong to a VPC: their VPC and EC2 name
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..context import RequestContext
from ..session import session
from .services import account

NS_INSTANCE = "ec2:instance"      # instance attributes the cloud can't hold (reservation, DisableApiTermination...)
NS_TERMINATED = "ec2:terminated"  # terminated instances, kept visible until "until" (epoch seconds)
NS_KEYPAIR = "ec2:keypair"        # AWS fingerprint and key pair id of a key created/imported here
NS_ADDRESS = "ec2:address"        # domain (standard|vpc) of an allocated address
NS_IMAGE = "ec2:image"            # image attributes the cloud can't hold
# volumes DeleteVolume deleted that the cloud keeps while they have snapshots (deferred_volumes.py): gone
# for every EC2 action. Not cached: a delete on one replica must hide the volume on every other at once.
NS_VOLUME_DELETED = "ec2:volume-deleted"
NS_VPC = "ec2:vpc"
NS_SUBNET = "ec2:subnet"
NS_RTB = "ec2:rtb"
NS_RTB_SUBNET = "ec2:rtb-subnet"
NS_IGW = "ec2:igw"
NS_NAT = "ec2:nat"
NS_DOPT = "ec2:dopt"
NS_ENI = "ec2:eni"
NS_VPC_GROUP = "ec2:vpc-group"
NS_DEFAULT_VPC = "ec2:default-vpc"


def key(ctx: RequestContext, ident: str) -> str:
    return f"{account(ctx)}/{ident}"


async def get(ctx: RequestContext, ns: str, ident: str) -> dict[str, Any]:
    return await session(ctx).store.get(ns, key(ctx, ident)) or {}


async def put(ctx: RequestContext, ns: str, ident: str, value: dict[str, Any]) -> None:
    await session(ctx).store.put(ns, key(ctx, ident), value)


async def delete(ctx: RequestContext, ns: str, ident: str) -> None:
    await session(ctx).store.delete(ns, key(ctx, ident))


async def scan(ctx: RequestContext, ns: str) -> dict[str, dict[str, Any]]:
    prefix = f"{account(ctx)}/"
    return {k[len(prefix):]: v for k, v in await session(ctx).store.scan(ns, prefix)}


async def update(ctx: RequestContext, ns: str, ident: str, **changes: Any) -> dict[str, Any]:
    """Set fields of one record (created when absent), atomically across replicas (the store's compare-and-
    set `update`): two replicas changing different fields of one record at once both keep theirs."""
    return await modify(ctx, ns, ident, lambda record: record.update(changes))


async def modify(ctx: RequestContext, ns: str, ident: str, change: Callable[[dict[str, Any]], None],
                 initial: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read-modify-write of one record, atomic across replicas: `change` edits a private copy of the
    record (or of `initial` when there is none) in place; it runs again on a lost compare-and-set, so it
    must only edit the record (it may raise, an AWS error say: nothing is written then). The written record."""
    def apply(current: dict[str, Any] | None) -> dict[str, Any]:
        record = copy.deepcopy(current if current is not None else initial or {})
        change(record)
        return record

    return await session(ctx).store.update(ns, key(ctx, ident), apply)
