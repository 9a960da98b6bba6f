"""DeleteVolume of a volume the cloud keeps while it has snapshots (Cinder refuses the delete, and its
`cascade` would delete the snapshots, which on AWS outlive their volume).

The gateway answers success and records the volume as deleted (NS_VOLUME_DELETED, "<account>/<vol id>":
{"volume": backend id, "at": epoch seconds}); `common.resolve`/`resolve_many` and `volumes.volume_items`
then treat it as gone for every EC2 action. Its snapshots stay as they are. The record lives exactly as long
as the cloud's volume, which is labelled for operators ("cloudgate-deleted-vol-…"); the volume is deleted
in the cloud once its last snapshot is gone, without blocking any request:
- after DeleteSnapshot of one of its snapshots (and after DeleteVolume itself, for a snapshot deleted
  meanwhile), a background task retries, gently and bounded (RETRY_SECONDS), since Cinder deletes snapshots
  asynchronously and refuses the volume until then; it stops early while other snapshots remain. The task
  is recorded work under a lease (work.py, kind "volume-delete"): one replica runs it, and a replica killed
  mid-task leaves it to another's sweep; a DeleteSnapshot on any replica extends its deadline;
- a lazy sweep, at most every SWEEP_SECONDS per account and process, on DescribeVolumes, DeleteVolume and
  DeleteSnapshot, retries SWEEP_MAX of the account's pending volumes (one listing, one DELETE each): it catches
  what no task saw (the gateway was down or restarted, another replica, a race). It runs with the caller's
  credentials, so a volume is deleted on that account's next such call.
A volume the cloud deleted itself is simply forgotten; one pending longer than WARN_SECONDS is logged at
warning on each sweep: nothing leaks silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from backends import base
from backends.compute import Compute, Volume, VolumeState

from ..context import RequestContext
from . import work
from .output import now_iso
from .records import NS_VOLUME_DELETED
from .services import account, compute

log = logging.getLogger("cloudgate.ec2.volumes")

RETRY_SECONDS = 300.0  # background retry after a snapshot delete: Cinder takes seconds, a busy cloud minutes
SWEEP_SECONDS = 60.0   # at most one sweep per account and process a minute
SWEEP_MAX = 10         # pending volumes tried per sweep
WARN_SECONDS = 86400.0  # pending a day: most likely a snapshot nobody deletes, or a stuck volume
_DELETABLE = (VolumeState.AVAILABLE, VolumeState.ERROR)

KIND = "volume-delete"  # the recorded work (work.py): "volume-delete/<account>/<vol id>" -> {"volume", "vid"}
_retrying: set[str] = set()  # backend volume ids this process's task is finishing now
_last_sweep: dict[str, float] = {}  # account -> time.monotonic() of its last sweep


def _key(ctx: RequestContext, vid: str) -> str:
    return f"{account(ctx)}/{vid}"


async def pending(ctx: RequestContext) -> dict[str, tuple[str, dict[str, Any]]]:
    """The caller's volumes deleted here and kept by the cloud: {backend id: (EC2 id, record)}."""
    prefix = f"{account(ctx)}/"
    return {r["volume"]: (k[len(prefix):], r) for k, r in await ctx.gateway.store.scan(NS_VOLUME_DELETED, prefix)}


async def defer_delete(ctx: RequestContext, c: Compute, vid: str, volume: Volume) -> bool:
    """After the cloud refused to delete an unattached volume: when that is for its snapshots, record it as
    deleted and answer success. False when it is not (another conflict: the caller answers VolumeInUse)."""
    if not c.keeps_volumes_with_snapshots or volume.state not in _DELETABLE:
        return False
    # any state counts: a snapshot being created or deleted still holds the volume in Cinder
    if not any(s.volume_id == volume.id for s in await c.list_snapshots()):
        return False
    store, key = ctx.gateway.store, _key(ctx, vid)
    await store.put(NS_VOLUME_DELETED, key, {"volume": volume.id, "at": time.time()})
    # an AttachVolume that resolved the volume before the record was written may have won: it stays
    now = None
    with contextlib.suppress(base.BackendError):  # unknown: the record stands (a sweep logs a stuck one)
        now = await c.list_volumes([volume.id])
    if now and (now[0].attachments or now[0].state not in _DELETABLE):
        await store.delete(NS_VOLUME_DELETED, key)
        return False
    with contextlib.suppress(base.BackendError):  # a label for operators only
        await c.update_volume(volume.id, name=f"cloudgate-deleted-{vid}", description=(
            f"{vid} was deleted through EC2 at {now_iso()}; cloudgate deletes it once its last snapshot is gone"))
    await finish_later(ctx, volume.id, vid)  # its last snapshot may have gone while this ran
    return True


async def finish_later(ctx: RequestContext, bid: str, vid: str) -> None:
    """Delete the pending volume in the cloud once its snapshots are gone; in the background, bounded. The
    work is recorded (a recorded one has its deadline extended instead) before this returns."""
    _retrying.add(bid)
    try:
        task = await work.submit(ctx, KIND, vid, {"volume": bid, "vid": vid}, RETRY_SECONDS)
    except BaseException:
        _retrying.discard(bid)
        raise
    task.add_done_callback(lambda _task: _retrying.discard(bid))


@work.handler(KIND)
async def _finish(ctx: RequestContext, job: work.Job) -> None:
    bid, vid = job.record["volume"], job.record["vid"]
    c = await compute(ctx)
    delay = 1.0
    while time.time() < job.until:
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 15.0)
        if not await job.refresh():
            return
        try:
            found = await c.list_volumes([bid])
            outcome = await _attempt(ctx, c, vid, found[0] if found else None)
            if outcome == "gone":
                return
            if outcome == "refused":
                others = any(s.volume_id == bid and s.state != "deleting" for s in await c.list_snapshots())
                if others and await job.finish():
                    return  # not its last snapshot, and no DeleteSnapshot since: one will come back
        except base.BackendError as exc:
            log.warning("deleted volume %s: the cloud failed (%s); retrying", vid, type(exc).__name__)


async def _attempt(ctx: RequestContext, c: Compute, vid: str, volume: Volume | None) -> str:
    """One step for one pending volume, as the cloud now shows it: "gone" (the record is dropped),
    "deleting" (asked already; dropped once gone) or "refused" (snapshots remain, or another conflict)."""
    if volume is None:
        await ctx.gateway.store.delete(NS_VOLUME_DELETED, _key(ctx, vid))
        return "gone"
    if volume.state == VolumeState.DELETING:
        return "deleting"
    try:
        await c.delete_volume(volume.id)
    except base.NotFound:
        await ctx.gateway.store.delete(NS_VOLUME_DELETED, _key(ctx, vid))
        return "gone"
    except base.Conflict:
        return "refused"
    log.info("deleted volume %s: its snapshots are gone, the cloud deletes it now", vid)
    return "deleting"


def sweep_later(ctx: RequestContext, known: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Retry the caller's pending volumes in the background, at most every SWEEP_SECONDS (`known`: pending())."""
    acct, now = account(ctx), time.monotonic()
    if not known or now - _last_sweep.get(acct, -SWEEP_SECONDS) < SWEEP_SECONDS:
        return
    if len(_last_sweep) > 10_000:
        _last_sweep.clear()
    _last_sweep[acct] = now
    ctx.gateway.spawn(_sweep(ctx, known))


async def _sweep(ctx: RequestContext, known: dict[str, tuple[str, dict[str, Any]]]) -> None:
    running = await work.pending_ids(ctx, KIND)  # a task (on some replica) has those: left to it
    oldest = sorted((r.get("at", 0), bid, vid) for bid, (vid, r) in known.items()
                    if bid not in _retrying and vid not in running)
    for at, _bid, vid in oldest:
        if time.time() - at > WARN_SECONDS:
            log.warning("deleted volume %s is still kept by the cloud after %.0f h (snapshots left, or stuck)",
                        vid, (time.time() - at) / 3600)
    batch = oldest[:SWEEP_MAX]
    if not batch:
        return
    try:
        c = await compute(ctx)
        found = {v.id: v for v in await c.list_volumes([bid for _, bid, _ in batch])}
        for _, bid, vid in batch:
            await _attempt(ctx, c, vid, found.get(bid))
    except base.BackendError as exc:
        log.warning("deleted volumes: sweep failed (%s); the next one retries", type(exc).__name__)
