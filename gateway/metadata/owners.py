"""Which account an instance belongs to and which key can act for it, by the cloud's id of its server.

Neutron's metadata proxy names a guest by its server's id only (X-Instance-ID), and the gateway keeps its EC2
records per account: RunInstances writes one entry per server it launches (`remember`), so the metadata
service finds the account, the EC2 id and a key of the launcher's (the long-term key behind a temporary one)
with one store read. An instance the gateway did not launch has no entry: the metadata service does not know it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..session import session

if TYPE_CHECKING:
    from ..context import RequestContext
    from ..store import Store

NS_OWNERS = "metadata:owner"  # server (backend) id -> {"account", "instance", "key"}


@dataclass(frozen=True)
class Owner:
    account: str      # the account id, as DescribeInstances shows OwnerId
    instance_id: str  # EC2 id (i-…)
    access_key: str   # a long-term key of the launcher's: the gateway acts for the account with it


def launcher_key(ctx: RequestContext) -> str:
    """The caller's long-term access key (the parent of temporary credentials)."""
    identity = ctx.identity
    assert identity is not None, "launches are authenticated"
    session = identity.attributes.get("session") if identity.attributes else None
    if isinstance(session, dict) and session.get("parent_access_key"):
        return str(session["parent_access_key"])
    return identity.access_key


async def remember(ctx: RequestContext, launched: dict[str, str]) -> None:
    """Record the servers just launched ({server id: EC2 id}) as the caller's account's."""
    owner_id, key = session(ctx).account, launcher_key(ctx)  # the account as DescribeInstances' OwnerId
    for server_id, iid in launched.items():
        await session(ctx).store.put(NS_OWNERS, server_id, {"account": owner_id, "instance": iid, "key": key})


async def owner(store: Store, server_id: str) -> Owner | None:
    value: dict[str, Any] | None = await store.get(NS_OWNERS, server_id)
    if not value:
        return None
    return Owner(account=str(value["account"]), instance_id=str(value["instance"]), access_key=str(value["key"]))
