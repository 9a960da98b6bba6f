"""EC2 background work that outlives the replica that started it: deferred volume deletes
(deferred_volumes.py) and launch addresses (public_ips.py).

A request that leaves work behind records it first (NS_WORK, "<kind>/<account>/<id>": the kind's fields, the
deadline "until" in epoch seconds, and "key", the access key it acts with — an id, never a secret) and then
starts it on its own replica. Whoever runs a piece of work holds its lease (NS_WORK_LEASE, the same key; the
primitive the S3 lifecycle sweep uses, gateway/store/lease.py) and renews it every third of
`ec2.work_lease_seconds`; it drops the record when done, or at the deadline. Every replica sweeps the records
every `ec2.work_sweep_seconds` and starts those whose lease is free — their replica was killed mid-task, or
stopped — acting as the recorded key's holder (`CredentialProvider.identity_for_key`). So killed work is
resumed within lease + sweep seconds, and no two replicas run one piece at once: a runner that fails to
renew (the lease went to another) stops. Handlers are written to be resumed: each step checks the cloud
first (an address already attached, a volume already gone) and records its progress in the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from ..auth.request import AuthResult
from ..context import RequestContext
from ..store import Store, lease
from ..store.base import StoreUnavailable
from .services import account

if TYPE_CHECKING:
    from ..app import Gateway
    from ..auth.credentials import Identity

log = logging.getLogger("cloudgate.ec2.work")
NS_WORK = "ec2:work"              # "<kind>/<account>/<id>" -> {"kind", "account", "key", "until", ...}
NS_WORK_LEASE = "ec2:work-lease"  # the same keys -> {"holder", "until"}: the replica running it
SWEEP_MAX = 100                   # records examined per sweep


@dataclass
class Job:
    """One piece of recorded work as its runner holds it: the record, and the version it was read at."""

    store: Store
    key: str
    record: dict[str, Any]
    version: int = 0

    @property
    def until(self) -> float:
        return float(self.record.get("until", 0))

    async def refresh(self) -> bool:
        """Read the record again (a submit may have extended it); False once it is gone."""
        value, version = await self.store.get_versioned(NS_WORK, self.key)
        if value is None:
            return False
        self.record, self.version = value, version
        return True

    async def change(self, edit: Callable[[dict[str, Any]], None]) -> None:
        """Record progress (`edit` changes a copy in place; atomic: a submit meanwhile is kept)."""
        def apply(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None:
                return None
            record = copy.deepcopy(current)
            edit(record)
            return record

        await self.store.update(NS_WORK, self.key, apply)
        await self.refresh()

    async def finish(self) -> bool:
        """Drop the record, only if nobody added to it since it was read (False: run once more)."""
        return await self.store.delete_if_version(NS_WORK, self.key, self.version)


Handler = Callable[[RequestContext, Job], Awaitable[None]]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register what runs a kind of work (the modules that submit it register it at import)."""
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn
    return register


def acting_key(identity: Identity) -> str:
    """The long-term access key a resumed task acts with (a session key's parent: sessions expire)."""
    session = identity.attributes.get("session") or {}
    return str(session.get("parent_access_key") or identity.access_key)


def background_context(gw: Gateway, identity: Identity) -> RequestContext:
    """A context for work resumed without a request: the gateway and the identity, nothing else."""
    return RequestContext(request=cast(web.Request, None), request_id=f"work-{uuid.uuid4().hex[:16]}",
                          gateway=gw, auth=AuthResult(identity))


async def submit(ctx: RequestContext, kind: str, ident: str, fields: dict[str, Any],
                 seconds: float) -> asyncio.Task:
    """Record work (or extend the recorded one: fields updated, deadline the later one), then run it here
    (the task). Returns once it is recorded: a replica killed after that leaves it to another."""
    assert ctx.identity is not None
    acct, key, until = account(ctx), f"{kind}/{account(ctx)}/{ident}", time.time() + seconds

    def merge(current: dict[str, Any] | None) -> dict[str, Any]:
        record = copy.deepcopy(current) if current else {"kind": kind, "account": acct}
        record.update(fields, key=acting_key(ctx.identity))  # type: ignore[arg-type]
        record["until"] = max(until, float(record.get("until", 0)))
        return record

    await ctx.gateway.store.update(NS_WORK, key, merge)
    return worker(ctx.gateway).run(key, ctx)


async def pending_ids(ctx: RequestContext, kind: str) -> set[str]:
    """The ids of the caller's recorded work of one kind."""
    prefix = f"{kind}/{account(ctx)}/"
    return {k[len(prefix):] for k, _ in await ctx.gateway.store.scan(NS_WORK, prefix)}


class Worker:
    """Runs and resumes this gateway's background work (one per gateway: `worker(gw)`)."""

    def __init__(self, gw: Any, *, lease_seconds: float, sweep_seconds: float) -> None:
        self.gw = gw
        self.lease_seconds = lease_seconds
        self.sweep_seconds = sweep_seconds
        self.holder = uuid.uuid4().hex
        self._running: dict[str, asyncio.Task] = {}
        self._loop_task: asyncio.Task | None = None

    # ---- app hooks ------------------------------------------------------------------------------------------
    async def start(self, _app: web.Application | None = None) -> None:
        if self.sweep_seconds > 0 and self.gw.backend is not None:  # cancelled first at close, as all spawned
            self._loop_task = self.gw.spawn(self._loop())

    async def stop(self, _app: web.Application | None = None) -> None:
        if self._loop_task is not None:  # and the running work with the gateway's tasks (Gateway.close)
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except StoreUnavailable as e:  # the database is down: expected, the next sweep tries again
                log.warning("background work sweep skipped: %s", e)
            except Exception:  # a failed sweep must not end the sweeper
                log.exception("background work sweep failed")

    # ---- running ----------------------------------------------------------------------------------------------
    def run(self, key: str, ctx: RequestContext | None, resumed: bool = False) -> asyncio.Task:
        """Run the recorded work `key` here unless this process already does (it then sees the change)."""
        task = self._running.get(key)
        if task is None or task.done():
            task = self.gw.spawn(self._run(key, ctx, resumed))
            self._running[key] = task
            task.add_done_callback(lambda t: self._running.pop(key, None) if self._running.get(key) is t else None)
        return task

    async def _run(self, key: str, ctx: RequestContext | None, resumed: bool) -> None:
        store = self.gw.store
        if not await lease.take(store, NS_WORK_LEASE, key, self.holder, self.lease_seconds):
            return  # another replica runs it
        beat = asyncio.create_task(self._heartbeat(key, asyncio.current_task()))
        job = Job(store, key, {})
        try:
            while await job.refresh():
                fn = _HANDLERS.get(str(job.record.get("kind")))
                if fn is not None and ctx is not None and time.time() < job.until:
                    if resumed:
                        log.warning("background work %s: its replica stopped holding it; resumed here", key)
                        resumed = False
                    await fn(ctx, job)
                if await job.finish():  # done, or past its deadline
                    return
        except StoreUnavailable as e:  # the database is down: no traceback for an expected outage
            log.warning("background work %s stopped (%s); a sweep retries it", key, e)
        except Exception:  # left recorded: the next sweep (any replica) retries it until its deadline
            log.exception("background work %s failed; a sweep retries it", key)
        finally:
            beat.cancel()
            with contextlib.suppress(Exception):
                await lease.release(store, NS_WORK_LEASE, key, self.holder)

    async def _heartbeat(self, key: str, task: asyncio.Task | None) -> None:
        """Renew the lease while the work runs; stop the work when the lease went to another replica (or
        could not be renewed before it ran out: another may have taken it)."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                held = await lease.take(self.gw.store, NS_WORK_LEASE, key, self.holder, self.lease_seconds)
            except StoreUnavailable:
                held = time.monotonic() - renewed < self.lease_seconds * 0.8
            else:
                renewed = time.monotonic() if held else renewed
            if not held:
                log.warning("background work %s: lease lost; stopping here (another replica has it)", key)
                if task is not None:
                    task.cancel()
                return

    async def sweep(self) -> int:
        """Start the recorded work whose lease is free (its replica died or stopped); how many started."""
        store, now, started = self.gw.store, time.time(), 0
        for key, record in await store.scan(NS_WORK, "", SWEEP_MAX):
            task = self._running.get(key)
            if (task is not None and not task.done()) or lease.live(await store.get(NS_WORK_LEASE, key), now):
                continue
            ctx = None
            if float(record.get("until", 0)) > now:  # past its deadline: only dropped (ctx None)
                try:
                    identity = await self.gw.credentials.identity_for_key(str(record.get("key", "")))
                except Exception as exc:  # the identity service down: the next sweep tries again
                    log.warning("background work %s: its key's holder unknown now (%s)", key, type(exc).__name__)
                    continue
                if identity is None:
                    log.warning("background work %s: its access key is gone; left until its deadline", key)
                    continue
                ctx = background_context(self.gw, identity)
            self.run(key, ctx, resumed=True)
            started += 1
        return started


def worker(gw: Any) -> Worker:
    """The gateway's worker (install() made it; made here for a gateway built without the app)."""
    found = getattr(gw, "ec2_worker", None)
    if found is None:
        cfg = gw.config.ec2
        found = Worker(gw, lease_seconds=cfg.work_lease_seconds, sweep_seconds=cfg.work_sweep_seconds)
        gw.ec2_worker = found
    return found


def install(app: web.Application, gw: Gateway) -> Worker:
    """Start the sweep with the app and stop it at cleanup (the one hook app.py calls)."""
    found = worker(gw)
    app.on_startup.append(found.start)
    app.on_cleanup.append(found.stop)
    return found
