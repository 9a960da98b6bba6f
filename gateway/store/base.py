"""The state store interface, its errors, and what every store builds on it (bounded CAS updates)."""

from __future__ import annotations

import abc
import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from backends.base import Unavailable

# An `update` retries its compare-and-set this many times before giving up: contention on one key this
# long means something is wrong, and the caller answers 503 (retryable) rather than spin.
UPDATE_ATTEMPTS = 20
UPDATE_BACKOFF_SECONDS = 0.002  # × attempts lost so far (up to 10): 20 attempts wait ≤ 0.3 s in all


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


def byte_successor(prefix: bytes) -> bytes | None:
    """The smallest byte string above every string starting with `prefix` (None: no bound): an exact
    upper bound for a prefix range scan over UTF-8 keys, with no LIKE and no escaping."""
    p = prefix.rstrip(b"\xff")
    return p[:-1] + bytes([p[-1] + 1]) if p else None


class StoreUnavailable(Unavailable):
    """The database did not answer (unreachable, a deadline passed, a connection died): the request
    pipeline answers 503 ServiceUnavailable, and the client retries."""


class StoreContention(StoreUnavailable):
    """A compare-and-set lost `UPDATE_ATTEMPTS` times in a row: retryable, like any 503."""


class Store(abc.ABC):
    @abc.abstractmethod
    async def get(self, ns: str, key: str) -> Any | None: ...

    @abc.abstractmethod
    async def put(self, ns: str, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    async def put_if_absent(self, ns: str, key: str, value: Any) -> Any | None:
        """Insert unless present, atomically across concurrent callers (and replicas): None when
        inserted, else the value already stored."""

    @abc.abstractmethod
    async def delete(self, ns: str, key: str) -> bool: ...

    @abc.abstractmethod
    async def scan(self, ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
        """(key, value) pairs whose key starts with `prefix`, in key order (code point order)."""

    @abc.abstractmethod
    async def delete_prefix(self, ns: str, prefix: str) -> int: ...

    # Compare-and-set. Every row carries a version, bumped by every write; 0 means "absent".

    @abc.abstractmethod
    async def get_versioned(self, ns: str, key: str) -> tuple[Any | None, int]:
        """(value, version); (None, 0) when absent."""

    @abc.abstractmethod
    async def put_if_version(self, ns: str, key: str, value: Any, version: int) -> bool:
        """Write `value` only if the row is still at `version` (0: only if absent). True when written."""

    @abc.abstractmethod
    async def delete_if_version(self, ns: str, key: str, version: int) -> bool:
        """Delete only if the row is still at `version`. True when deleted."""

    @abc.abstractmethod
    def dump(self, batch: int = 1000) -> AsyncIterator[tuple[str, str, Any]]:
        """Every (ns, key, value), in (ns, key) order, read a batch at a time (export, migration)."""

    async def update(self, ns: str, key: str, fn: Callable[[Any | None], Any | None],
                     attempts: int = UPDATE_ATTEMPTS) -> Any | None:
        """Read-modify-write, atomic across replicas: `fn(current or None)` returns the new value (None
        deletes). Retried on a lost compare-and-set, so `fn` must be pure. Returns what was written."""
        for attempt in range(attempts):
            if attempt:  # lost a race: step aside a little, at random, so contenders spread out
                await asyncio.sleep(random.uniform(0, UPDATE_BACKOFF_SECONDS * min(attempt, 10)))
            current, version = await self.get_versioned(ns, key)
            new = fn(current)
            if new is None:
                if version == 0 or await self.delete_if_version(ns, key, version):
                    return None
            elif await self.put_if_version(ns, key, new, version):
                return new
        raise StoreContention(f"state {ns}/{key}: {attempts} concurrent updates in a row, giving up")

    async def migrate(self) -> list[int]:
        """Apply the schema versions not applied yet (under a database lock); the versions applied."""
        return []

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass
