"""The lifecycle sweeper: applies buckets' lifecycle rules in the background.

Every `s3.lifecycle_interval_seconds` (0 disables it) one pass scans the buckets that have a lifecycle
configuration and, acting as each bucket's owner (`CredentialProvider.identity_for_account`):
  - Expiration (Days/Date): deletes current versions that are due (in a versioned bucket that writes a
    delete marker, as S3 does; a current delete marker is left alone);
  - ExpiredObjectDeleteMarker: removes a delete marker that is the only version left of its key;
  - NoncurrentVersionExpiration: deletes noncurrent versions due NoncurrentDays after their successor was
    written, keeping the NewerNoncurrentVersions newest noncurrent ones;
  - AbortIncompleteMultipartUpload: aborts uploads initiated DaysAfterInitiation (rounded up to midnight
    UTC) ago.
A pass examines at most `s3.lifecycle_max_keys_per_pass` keys; a listing cut short resumes where it
stopped on the next pass. With several gateway replicas sharing one state store, a lease in the store
lets one replica sweep at a time. `run_once(now=...)` runs one pass against any clock (tests, tools).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from backends import base

from ..store import lease
from ..store.base import StoreUnavailable
from . import lifecycle, object_lock
from . import multipart_state as uploads
from .common import NS_BUCKET_CONFIG, NS_BUCKET_OWNER, NS_OBJECT_EXTRA, object_extra_key

if TYPE_CHECKING:
    from ..app import Gateway

log = logging.getLogger("cloudgate.s3.lifecycle")
NS_SWEEP = "s3:lifecycle-sweep"  # "lease" -> {"holder", "until"}
PAGE = 1000


@dataclass
class SweepStats:
    buckets: int = 0
    examined: int = 0
    expired: int = 0            # current versions deleted (or delete-markered)
    noncurrent_expired: int = 0
    markers_removed: int = 0
    uploads_aborted: int = 0
    errors: int = 0
    complete: bool = True       # False: the key budget ran out; the next pass resumes


@dataclass
class _StateContext:
    """What the state helpers of the handler modules read from a request context: the gateway."""

    gateway: Any
    params: dict[str, Any] = field(default_factory=dict)


class Sweeper:
    def __init__(self, gw: Gateway, *, interval: float, max_keys: int) -> None:
        self.gw = gw
        self.interval = interval
        self.max_keys = max_keys
        self._holder = uuid.uuid4().hex
        self._cursors: dict[tuple[str, str], str] = {}  # (bucket, rule id) -> key to resume after
        self._task: asyncio.Task | None = None

    # ---- app hooks ----------------------------------------------------------------------------------------
    async def start(self, _app: web.Application | None = None) -> None:
        if self.interval > 0 and self.gw.backend is not None:
            self._task = asyncio.create_task(self._loop(), name="s3-lifecycle-sweeper")

    async def stop(self, _app: web.Application | None = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if await self._lease():
                    stats = await self.run_once()
                    log.info("lifecycle sweep", extra={"fields": vars(stats)})
            except StoreUnavailable as e:  # the database is down: expected, the next pass tries again
                log.warning("lifecycle sweep skipped: %s", e)
            except Exception:  # a failed pass must not end the sweeper
                log.exception("lifecycle sweep failed")

    async def _lease(self) -> bool:
        """Hold the sweep lease for this interval (one replica sweeps at a time)."""
        return await lease.take(self.gw.store, NS_SWEEP, "lease", self._holder, self.interval * 0.9)

    # ---- one pass -----------------------------------------------------------------------------------------
    async def run_once(self, now: dt.datetime | None = None) -> SweepStats:
        now = now or dt.datetime.now(dt.UTC)
        stats = SweepStats()
        budget = [self.max_keys]
        configs = [(k[: -len("/lifecycle")], v) for k, v in await self.gw.store.scan(NS_BUCKET_CONFIG)
                   if k.endswith("/lifecycle")]
        for bucket, config in configs:
            if budget[0] <= 0:
                stats.complete = False
                break
            stats.buckets += 1
            try:
                await self._sweep_bucket(bucket, config, now, stats, budget)
            except base.BackendError as e:
                stats.errors += 1
                log.warning("lifecycle sweep of %s failed: %s", bucket, e)
        return stats

    async def _sweep_bucket(self, bucket: str, config: dict[str, Any], now: dt.datetime,
                            stats: SweepStats, budget: list[int]) -> None:
        owner = await self.gw.store.get(NS_BUCKET_OWNER, bucket)
        identity = await self.gw.credentials.identity_for_account(str(owner)) if owner else None
        if identity is None or self.gw.backend is None:
            log.warning("lifecycle: cannot act for the owner of bucket %s; skipped", bucket)
            stats.errors += 1
            return
        store = await self.gw.backend.object_store(identity.principal())
        rules = [r for r in config["rules"] if r.get("Status") == "Enabled"]
        for rule in rules:
            exp = rule.get("Expiration") or {}
            if exp.get("Days") is not None or exp.get("Date") is not None:
                await self._expire_current(store, bucket, rule, now, stats, budget)
            if exp.get("ExpiredObjectDeleteMarker") or rule.get("NoncurrentVersionExpiration"):
                await self._expire_versions(store, bucket, rule, now, stats, budget)
            if rule.get("AbortIncompleteMultipartUpload"):
                await self._abort_uploads(store, str(owner), bucket, rule, now, stats)
            if budget[0] <= 0:
                stats.complete = False
                return

    async def _tags(self, bucket: str, info: base.ObjectInfo) -> dict[str, str]:
        extra = await self.gw.store.get(NS_OBJECT_EXTRA, object_extra_key(bucket, info.key, info.version_id)) or {}
        return {t["Key"]: t["Value"] for t in extra.get("tags", ())}

    async def _expire_current(self, store: base.ObjectStore, bucket: str, rule: dict[str, Any],
                              now: dt.datetime, stats: SweepStats, budget: list[int]) -> None:
        prefix = lifecycle.filter_parts(rule)[0]
        cursor_key = (bucket, rule["ID"])
        marker = self._cursors.pop(cursor_key, None)
        while budget[0] > 0:
            listing = await store.list_objects(bucket, prefix=prefix, marker=marker, limit=min(PAGE, budget[0]))
            for info in listing.objects:
                budget[0] -= 1
                stats.examined += 1
                tags = await self._tags(bucket, info) if lifecycle.needs_tags(rule) else None
                if not lifecycle.applies(rule, info.key, info.size, tags):
                    continue
                due = lifecycle.expiry_date(rule, info.last_modified)
                if due is None or due > now:
                    continue
                with contextlib.suppress(base.NotFound):
                    result = await store.delete_object(bucket, info.key)
                    stats.expired += 1
                    if result is None or not result.delete_marker:  # gone for good: so is its state
                        await self.gw.store.delete(NS_OBJECT_EXTRA,
                                                   object_extra_key(bucket, info.key, info.version_id))
            if not listing.truncated or not listing.objects:
                return
            marker = listing.next_marker or listing.objects[-1].key
        self._cursors[cursor_key] = marker  # budget spent: resume here next pass

    async def _expire_versions(self, store: base.ObjectStore, bucket: str, rule: dict[str, Any],
                               now: dt.datetime, stats: SweepStats, budget: list[int]) -> None:
        """Noncurrent versions and lone delete markers. Versions of one key are listed newest first."""
        prefix = lifecycle.filter_parts(rule)[0]
        nve = rule.get("NoncurrentVersionExpiration") or {}
        keep = nve.get("NewerNoncurrentVersions") or 0
        marker = version_marker = None
        key_versions: list[base.ObjectInfo] = []

        async def settle(versions: list[base.ObjectInfo]) -> None:
            if not versions:
                return
            if (rule.get("Expiration") or {}).get("ExpiredObjectDeleteMarker") and len(versions) == 1 \
                    and versions[0].delete_marker and versions[0].is_latest:
                with contextlib.suppress(base.NotFound):
                    await store.delete_object(bucket, versions[0].key, version_id=versions[0].version_id)
                    stats.markers_removed += 1
                return
            if not nve:
                return
            for index in range(1, len(versions)):
                version = versions[index]
                noncurrent_rank = index - 1  # 0 = the newest noncurrent version
                tags = await self._tags(bucket, version) if lifecycle.needs_tags(rule) else None
                if noncurrent_rank < keep or not lifecycle.applies(rule, version.key, version.size, tags):
                    continue
                due = lifecycle.noncurrent_due(rule, versions[index - 1].last_modified)
                if due is not None and due <= now and \
                        not await object_lock.is_locked(self.gw.store, bucket, version.key, version.version_id):
                    with contextlib.suppress(base.NotFound):
                        await store.delete_object(bucket, version.key, version_id=version.version_id)
                        await self.gw.store.delete(NS_OBJECT_EXTRA,
                                                   object_extra_key(bucket, version.key, version.version_id))
                        stats.noncurrent_expired += 1

        while budget[0] > 0:
            listing = await store.list_objects(bucket, prefix=prefix, marker=marker, version_marker=version_marker,
                                               limit=min(PAGE, budget[0]), versions=True)
            for info in listing.objects:
                budget[0] -= 1
                stats.examined += 1
                if key_versions and key_versions[0].key != info.key:
                    await settle(key_versions)
                    key_versions = []
                key_versions.append(info)
            if not listing.truncated or not listing.objects:
                await settle(key_versions)
                return
            last = listing.objects[-1]
            marker, version_marker = last.key, last.version_id
        # Budget spent mid-listing: the versions seen of the last key may be incomplete, so leave it;
        # a later pass starts this listing over (deleted versions no longer cost anything then).

    async def _abort_uploads(self, store: base.ObjectStore, owner: str, bucket: str, rule: dict[str, Any],
                             now: dt.datetime, stats: SweepStats) -> None:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        ctx: Any = _StateContext(self.gw)
        for upload in await uploads.scan_uploads(ctx, owner, bucket, lifecycle.filter_parts(rule)[0]):
            if lifecycle.next_midnight(upload.initiated + dt.timedelta(days=days)) > now:
                continue
            try:
                async with uploads.finishing(ctx, upload, "abort"):
                    await uploads.delete_segments(store, upload)
                    await uploads.drop_upload(ctx, upload)
                stats.uploads_aborted += 1
            except Exception as e:  # e.g. a Complete holds the upload right now: next pass
                log.info("lifecycle: upload %s of %s not aborted: %s", upload.upload_id, bucket, e)


def install(app: web.Application, gw: Gateway) -> Sweeper:
    """Start the sweeper with the app and stop it at cleanup (the one hook app.py calls)."""
    cfg = gw.config.s3
    sweeper = Sweeper(gw, interval=cfg.lifecycle_interval_seconds, max_keys=cfg.lifecycle_max_keys_per_pass)
    gw.lifecycle_sweeper = sweeper  # type: ignore[attr-defined] - reachable for tools and tests
    app.on_startup.append(sweeper.start)
    app.on_cleanup.append(sweeper.stop)
    return sweeper
