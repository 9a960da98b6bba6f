"""Public IPv4 addresses given at launch, as AWS gives them: to every EC2-Classic-style instance
(`ec2.public_ip_on_launch`), and in a VPC where the subnet maps one (MapPublicIpOnLaunch) or the primary
interface asks for one (AssociatePublicIpAddress).

They are the cloud's floating addresses, marked in the address records (NS_ADDRESS, `"launch": iid`) as
the instance's own: not elastic IPs, so DescribeAddresses does not list them and Release/Associate do not
find them; associating an elastic IP with the instance replaces its public address, and it goes with the
instance. An index (NS_LAUNCH_ADDRESS: by instance and by port) finds an instance's address without reading
the account's other address records, so TerminateInstances costs the same in any tenant. The cloud gives a
classic launch's server its port only while building it, so those addresses
are attached by a background task per launch that polls, gently and bounded
(`ec2.public_ip_deadline_seconds`), until each server has a private address; RunInstances never waits.
That task is recorded work under a lease (work.py, kind "launch-address": {"servers": {server: iid}}, each
server dropped once it has its address): a replica killed mid-task leaves it to another, which gives each
server one address — an address marked for the instance but not attached yet is attached, not doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Sequence

from backends import base
from backends.compute import Compute, ServerState

from ..context import RequestContext
from ..protocol import errors
from . import work
from .lookups.ids import ec2_id, resolve
from .records import NS_ADDRESS
from .services import account, compute, network

log = logging.getLogger("cloudgate.ec2.public_ips")
NS_LAUNCH_ADDRESS = "ec2:launch-address"  # "<account>/<iid>", "<account>/port:<port id>" -> [allocation ids]
KIND = "launch-address"  # the recorded work (work.py): "launch-address/<account>/<first iid>"
NS_INDEXED = "ec2:launch-address-indexed"  # "<account>" -> {}: the index covers the account's address records
_GONE = (ServerState.DELETING, ServerState.DELETED, ServerState.ERROR)


def _index_keys(ctx: RequestContext, iid: str | None, port_id: str | None) -> list[str]:
    acct = account(ctx)
    return ([f"{acct}/{iid}"] if iid else []) + ([f"{acct}/port:{port_id}"] if port_id else [])


async def _index(ctx: RequestContext, alloc: str, iid: str | None, port_id: str | None, *, add: bool) -> None:
    def edit(current: list[str] | None) -> list[str] | None:  # None: the last one went, the entry goes
        return [a for a in current or [] if a != alloc] + ([alloc] if add else []) or None

    for key in _index_keys(ctx, iid, port_id):  # two launches' addresses on one port: both stay indexed
        await ctx.gateway.store.update(NS_LAUNCH_ADDRESS, key, edit)


async def _ensure_index(ctx: RequestContext) -> None:
    """Records written before the index existed are indexed once per account (one scan, then never again)."""
    store, acct = ctx.gateway.store, account(ctx)
    if await store.get(NS_INDEXED, acct) is not None:
        return
    prefix = f"{acct}/"
    for key, rec in await store.scan(NS_ADDRESS, prefix):
        if rec.get("launch"):
            await _index(ctx, key[len(prefix):], rec["launch"], rec.get("port"), add=True)
    await store.put(NS_INDEXED, acct, {})


async def _mark(ctx: RequestContext, address_id: str, iid: str, port_id: str | None) -> str:
    alloc = await ec2_id(ctx, "elastic-ip", address_id)
    assert alloc is not None
    await _ensure_index(ctx)
    await ctx.gateway.store.put(NS_ADDRESS, f"{account(ctx)}/{alloc}", {
        "domain": "vpc" if port_id else "standard", "launch": iid, "port": port_id})
    await _index(ctx, alloc, iid, port_id, add=True)
    return alloc


async def _marked(ctx: RequestContext, iid: str, port_id: str | None) -> tuple[str, str] | None:
    """(allocation id, cloud address id) of a launch address already marked for this instance (or port): one
    a task killed between marking and attaching left behind."""
    store = ctx.gateway.store
    for key in _index_keys(ctx, None if port_id else iid, port_id):
        for alloc in await store.get(NS_LAUNCH_ADDRESS, key) or []:
            rec = await store.get(NS_ADDRESS, f"{account(ctx)}/{alloc}")
            if rec and rec.get("launch") == iid:
                with contextlib.suppress(errors.AwsError):
                    return alloc, await resolve(ctx, "elastic-ip", alloc)
    return None


async def give(ctx: RequestContext, iid: str, *, server_id: str | None = None, port_id: str | None = None) -> None:
    """Allocate a floating address and attach it to the server (its primary port) or to a port. Marked
    before it is attached, so a TerminateInstances meanwhile finds it and releases it; one marked before by
    a task that died is attached instead of a second one."""
    c = await compute(ctx)
    await _ensure_index(ctx)
    found = await _marked(ctx, iid, port_id)
    if found is not None:
        alloc, address_id = found
    else:
        address_id = (await c.allocate_address()).id
        alloc = await _mark(ctx, address_id, iid, port_id)
    try:
        if port_id:
            await (await network(ctx)).associate_address(address_id, port_id)
        else:
            assert server_id is not None
            await c.associate_address(address_id, server_id)
    except BaseException:
        with contextlib.suppress(base.BackendError):
            await c.release_address(address_id)
        await ctx.gateway.store.delete(NS_ADDRESS, f"{account(ctx)}/{alloc}")
        await _index(ctx, alloc, iid, port_id, add=False)
        raise


async def later(ctx: RequestContext, servers: dict[str, str]) -> None:
    """Give each server (backend id -> instance id) of a classic launch its public address once the cloud
    has made its port; in the background, bounded. Recorded before RunInstances answers."""
    deadline = float(getattr(ctx.gateway.config.ec2, "public_ip_deadline_seconds", 600))
    await work.submit(ctx, KIND, min(servers.values()), {"servers": dict(servers)}, deadline)


@work.handler(KIND)
async def _attach_when_ready(ctx: RequestContext, job: work.Job) -> None:
    c: Compute = await compute(ctx)
    delay = 1.0
    while job.record.get("servers") and time.time() < job.until:
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 10.0)
        pending: dict[str, str] = dict(job.record["servers"])
        try:
            servers = await c.list_servers(list(pending))
        except base.BackendError as exc:
            log.warning("public addresses: listing servers failed (%s); retrying", type(exc).__name__)
            continue
        seen = {s.id: s for s in servers}
        for sid, iid in pending.items():
            server = seen.get(sid)
            if server is not None and server.state not in _GONE and not any(a.floating for a in server.addresses):
                if not any(not a.floating and a.version == 4 for a in server.addresses):
                    continue  # no port yet
                try:
                    await give(ctx, iid, server_id=sid)
                except base.NotFound:
                    log.info("public address for %s not given: the instance went first", iid)
                except base.BackendError as exc:  # no pool, quota, ...: the instance runs without one, as noted
                    log.warning("public address for %s not given: %s", iid, type(exc).__name__)
            # done with it — given now, gone (terminated meanwhile), failed, or given an elastic IP already
            await job.change(functools.partial(_drop_server, sid))
    if job.record.get("servers"):
        log.warning("public addresses: %d server(s) had no port within the deadline", len(job.record["servers"]))


def _drop_server(sid: str, record: dict) -> None:
    record["servers"].pop(sid, None)


async def release(ctx: RequestContext, iids: Sequence[str] = (), *, port_id: str | None = None) -> None:
    """Release the public addresses of these instances (they are going, or an elastic IP replaces the
    address: one floating address per private address, and AWS releases the public IP the same way), or the
    one on this port. Found through the index: no listing of the cloud's addresses, no scan of the records."""
    store, acct = ctx.gateway.store, account(ctx)
    await _ensure_index(ctx)
    mine: list[str] = []
    for iid in dict.fromkeys(iids):
        mine += await store.get(NS_LAUNCH_ADDRESS, f"{acct}/{iid}") or []
    if port_id:
        mine += await store.get(NS_LAUNCH_ADDRESS, f"{acct}/port:{port_id}") or []
    if not mine:
        return
    c = await compute(ctx)
    for alloc in dict.fromkeys(mine):
        rec = await store.get(NS_ADDRESS, f"{acct}/{alloc}")
        if rec is None or not rec.get("launch"):
            continue
        with contextlib.suppress(base.BackendError, errors.AwsError):  # already gone: only the record is left
            await c.release_address(await resolve(ctx, "elastic-ip", alloc))
        await store.delete(NS_ADDRESS, f"{acct}/{alloc}")
        await _index(ctx, alloc, rec["launch"], rec.get("port"), add=False)
