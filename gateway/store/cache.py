"""A read-through, in-process cache in front of a Store, for small facts read on every request.

Every S3 object request reads its bucket's owner and configurations (lifecycle, ACL, CORS...): facts that
change rarely and only through the gateway's own writes. Caching them for a few seconds takes those
reads off the hot path. Consistency, by construction:
- One replica: exact. Every write through this wrapper drops the entries it touches, and a read that
  raced with a write never stores what it read (a generation counter), so a reader never sees an older
  value than the last write it could have observed.
- Several replicas sharing one store (PostgreSQL): a write on one replica is seen by the others within
  `ttl` seconds. S3 itself documents bucket configuration changes (ACLs, CORS, lifecycle, versioning) as
  eventually consistent, so a TTL of a few seconds stays inside its contract. Keep it short.
Absent keys are cached too ("no lifecycle configuration" is the common answer). Values are kept as JSON
text and decoded on every hit, so a caller mutating what it got never changes the cache.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from .base import Store

_ABSENT = "\0absent"  # JSON text never starts with NUL


class CachedStore(Store):
    def __init__(self, inner: Store, namespaces: Iterable[str], ttl: float, max_entries: int = 10_000) -> None:
        self.inner = inner
        self.namespaces = frozenset(namespaces)
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, str]] = {}  # (ns, key) -> (expires, JSON text)
        self._generation = 0  # bumped by every write to a cached namespace

    def _cached(self, ns: str) -> bool:
        return self.ttl > 0 and ns in self.namespaces

    def _written(self, ns: str, key: str | None = None, prefix: str | None = None) -> None:
        self._generation += 1
        if key is not None:
            self._entries.pop((ns, key), None)
        elif prefix is not None:
            for k in [k for k in self._entries if k[0] == ns and k[1].startswith(prefix)]:
                del self._entries[k]

    async def get(self, ns: str, key: str) -> Any | None:
        if not self._cached(ns):
            return await self.inner.get(ns, key)
        now = time.monotonic()
        hit = self._entries.get((ns, key))
        if hit is not None and hit[0] > now:
            return None if hit[1] == _ABSENT else json.loads(hit[1])
        generation = self._generation
        value = await self.inner.get(ns, key)
        if generation == self._generation:  # no write since the read began: what we read is current
            if len(self._entries) >= self.max_entries:
                self._evict(now)
            self._entries[(ns, key)] = (now + self.ttl, _ABSENT if value is None else json.dumps(value))
        return value

    def _evict(self, now: float) -> None:
        expired = [k for k, (until, _) in self._entries.items() if until <= now]
        for k in expired:
            del self._entries[k]
        while len(self._entries) >= self.max_entries:  # all fresh: drop the oldest insertions
            del self._entries[next(iter(self._entries))]

    async def put(self, ns: str, key: str, value: Any) -> None:
        if not self._cached(ns):
            return await self.inner.put(ns, key, value)
        self._written(ns, key)
        try:
            await self.inner.put(ns, key, value)
        finally:
            self._written(ns, key)

    async def put_if_absent(self, ns: str, key: str, value: Any) -> Any | None:
        if not self._cached(ns):
            return await self.inner.put_if_absent(ns, key, value)
        self._written(ns, key)
        try:
            return await self.inner.put_if_absent(ns, key, value)
        finally:
            self._written(ns, key)

    async def delete(self, ns: str, key: str) -> bool:
        if not self._cached(ns):
            return await self.inner.delete(ns, key)
        self._written(ns, key)
        try:
            return await self.inner.delete(ns, key)
        finally:
            self._written(ns, key)

    async def scan(self, ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
        return await self.inner.scan(ns, prefix, limit)

    async def delete_prefix(self, ns: str, prefix: str) -> int:
        if not self._cached(ns):
            return await self.inner.delete_prefix(ns, prefix)
        self._written(ns, prefix=prefix)
        try:
            return await self.inner.delete_prefix(ns, prefix)
        finally:
            self._written(ns, prefix=prefix)

    async def get_versioned(self, ns: str, key: str) -> tuple[Any | None, int]:
        return await self.inner.get_versioned(ns, key)  # a CAS must start from the database's row

    async def put_if_version(self, ns: str, key: str, value: Any, version: int) -> bool:
        if not self._cached(ns):
            return await self.inner.put_if_version(ns, key, value, version)
        self._written(ns, key)
        try:
            return await self.inner.put_if_version(ns, key, value, version)
        finally:
            self._written(ns, key)

    async def delete_if_version(self, ns: str, key: str, version: int) -> bool:
        if not self._cached(ns):
            return await self.inner.delete_if_version(ns, key, version)
        self._written(ns, key)
        try:
            return await self.inner.delete_if_version(ns, key, version)
        finally:
            self._written(ns, key)

    def dump(self, batch: int = 1000) -> AsyncIterator[tuple[str, str, Any]]:
        return self.inner.dump(batch)

    async def migrate(self) -> list[int]:
        return await self.inner.migrate()

    async def close(self) -> None:
        self._entries.clear()
        await self.inner.close()
