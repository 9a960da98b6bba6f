"""PostgreSQL state store (asyncpg): several gateway replicas share one database.

Every call holds one pooled connection for one or two statements, in autocommit: each statement is
atomic on its own (INSERT … ON CONFLICT, a conditional UPDATE on the row version), so no transaction is
ever left open across an await. Deadlines: `connect_timeout` to open a connection, `timeout` for a whole
call (waiting for a pooled connection included). When either passes, or the server is gone, the call
raises StoreUnavailable (503) and the pool drops every connection it holds: a server that went away
took them all, and the next call opens fresh ones. A read that failed on a dead connection is retried
once on a fresh one; a write is not (it may have been applied), the client retries it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from .base import Store, StoreContention, StoreUnavailable, byte_successor, utf8
from .schema import MIGRATIONS, PG_LOCK_ID

T = TypeVar("T")
# Errors that say "the database is not answering", not "the statement is wrong". InternalClientError is
# a pooled connection left mid-protocol by a server that shut down under it ("cannot switch to state 12;
# another operation (2) is in progress"): raised before anything is sent, and the connection is no good.
_DOWN = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
         asyncpg.InternalClientError, asyncpg.exceptions.OperatorInterventionError,
         asyncpg.exceptions.InsufficientResourcesError)
_RETRY = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
DEADLOCK_RETRIES = 3
MIGRATION_LOCK_SECONDS = 120.0  # another replica migrating holds the lock this long at most


_b = utf8


class _Connection(asyncpg.Connection):
    """After expire_connections() the pool closes each old connection in a task nobody awaits; to a server
    that stopped answering the graceful close times out, and asyncio logged "Task exception was never
    retrieved" at error level. A close that fails has aborted the connection already: nothing to report."""

    async def close(self, *, timeout: float | None = None) -> None:
        try:
            await super().close(timeout=timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass


class PostgresStore(Store):
    def __init__(self, url: str, pool_size: int = 10, connect_timeout: float = 5.0,
                 timeout: float = 5.0) -> None:
        self.url = url
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._applied: list[int] = []

    async def _open(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                try:
                    pool = await asyncpg.create_pool(
                        self.url, min_size=0, max_size=self.pool_size, timeout=self.connect_timeout,
                        command_timeout=self.timeout, max_inactive_connection_lifetime=300,
                        reset=_keep_session, connection_class=_Connection)
                    try:
                        async with asyncio.timeout(self.connect_timeout + MIGRATION_LOCK_SECONDS):
                            self._applied = await _migrate(pool)
                    except BaseException:
                        await pool.close()
                        raise
                except _DOWN as e:
                    raise StoreUnavailable(f"state database unreachable: {type(e).__name__}: {e}") from None
                self._pool = pool
        return self._pool

    async def _call(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], read: bool = False) -> T:
        pool = await self._open()
        retried_down = False
        for _ in range(DEADLOCK_RETRIES + 1):
            try:
                async with asyncio.timeout(self.timeout), pool.acquire() as conn:
                    return await fn(conn)
            except _RETRY:
                continue  # the statement was rolled back: nothing was applied, run it again
            except _DOWN as e:
                await pool.expire_connections()  # the server restarted or is gone: none of them is any good
                if read and not retried_down and not isinstance(e, TimeoutError):
                    retried_down = True
                    continue
                raise StoreUnavailable(f"state database: {type(e).__name__}: {e}") from None
        raise StoreContention(f"state database: deadlocked {DEADLOCK_RETRIES + 1} times in a row")

    async def migrate(self) -> list[int]:
        await self._open()
        return list(self._applied)

    async def get(self, ns: str, key: str) -> Any | None:
        text = await self._call(lambda c: c.fetchval("SELECT value FROM kv WHERE ns=$1 AND key=$2", ns, _b(key)),
                                read=True)
        return None if text is None else json.loads(text)

    async def put(self, ns: str, key: str, value: Any) -> None:
        text = json.dumps(value)
        await self._call(lambda c: c.execute(
            "INSERT INTO kv(ns, key, value) VALUES ($1, $2, $3) "
            "ON CONFLICT (ns, key) DO UPDATE SET value=EXCLUDED.value, version=kv.version+1", ns, _b(key), text))

    async def put_if_absent(self, ns: str, key: str, value: Any) -> Any | None:
        text, k = json.dumps(value), _b(key)

        async def q(c: asyncpg.Connection) -> Any | None:
            for _ in range(10):  # the row may be deleted between our INSERT and our SELECT
                status = await c.execute("INSERT INTO kv(ns, key, value) VALUES ($1, $2, $3) "
                                         "ON CONFLICT DO NOTHING", ns, k, text)
                if status == "INSERT 0 1":
                    return None
                # A new statement: READ COMMITTED sees the row the INSERT collided with.
                current = await c.fetchval("SELECT value FROM kv WHERE ns=$1 AND key=$2", ns, _b(key))
                if current is not None:
                    return json.loads(current)
            raise StoreUnavailable(f"state {ns}/{key}: inserted and deleted under us repeatedly")
        return await self._call(q)

    async def delete(self, ns: str, key: str) -> bool:
        status = await self._call(lambda c: c.execute("DELETE FROM kv WHERE ns=$1 AND key=$2", ns, _b(key)))
        return status != "DELETE 0"

    async def scan(self, ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
        low = _b(prefix)
        rows = await self._call(lambda c: c.fetch(
            "SELECT key, value FROM kv WHERE ns=$1 AND key>=$2 AND ($3::bytea IS NULL OR key<$3) "
            "ORDER BY key LIMIT $4", ns, low, byte_successor(low), limit), read=True)
        return [(k.decode("utf-8"), json.loads(v)) for k, v in rows]

    async def delete_prefix(self, ns: str, prefix: str) -> int:
        low = _b(prefix)
        status = await self._call(lambda c: c.execute(
            "DELETE FROM kv WHERE ns=$1 AND key>=$2 AND ($3::bytea IS NULL OR key<$3)",
            ns, low, byte_successor(low)))
        return int(status.rsplit(" ", 1)[1])

    async def get_versioned(self, ns: str, key: str) -> tuple[Any | None, int]:
        row = await self._call(lambda c: c.fetchrow(
            "SELECT value, version FROM kv WHERE ns=$1 AND key=$2", ns, _b(key)), read=True)
        return (None, 0) if row is None else (json.loads(row[0]), row[1])

    async def put_if_version(self, ns: str, key: str, value: Any, version: int) -> bool:
        text = json.dumps(value)
        if version == 0:
            status = await self._call(lambda c: c.execute(
                "INSERT INTO kv(ns, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", ns, _b(key), text))
            return status == "INSERT 0 1"
        status = await self._call(lambda c: c.execute(
            "UPDATE kv SET value=$3, version=version+1 WHERE ns=$1 AND key=$2 AND version=$4",
            ns, _b(key), text, version))
        return status == "UPDATE 1"

    async def delete_if_version(self, ns: str, key: str, version: int) -> bool:
        status = await self._call(lambda c: c.execute(
            "DELETE FROM kv WHERE ns=$1 AND key=$2 AND version=$3", ns, _b(key), version))
        return status == "DELETE 1"

    async def dump(self, batch: int = 1000) -> AsyncIterator[tuple[str, str, Any]]:
        after: tuple[str, bytes] = ("", b"")
        while True:
            rows = await self._call(lambda c, a=after: c.fetch(
                "SELECT ns, key, value FROM kv WHERE (ns, key) > ($1, $2) ORDER BY ns, key LIMIT $3",
                *a, batch), read=True)
            for ns, key, value in rows:
                yield ns, key.decode("utf-8"), json.loads(value)
            if len(rows) < batch:
                return
            after = (rows[-1][0], rows[-1][1])

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), self.timeout)
            except (TimeoutError, *_DOWN):
                pool.terminate()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default RESET ALL / UNLISTEN / advisory-unlock round trip: our calls
    set no session state (the migration's advisory lock is released by the migration), and an open
    transaction is still rolled back by the pool. The default reset costs a round trip per call
    (PostgreSQL point reads: ~970/s through the pool vs ~6000/s on one connection, measured here)."""


async def _migrate(pool: asyncpg.Pool) -> list[int]:
    """Apply the missing versions under an advisory lock (per database): a replica starting at the same
    moment waits, then finds them applied. Each version in its own transaction with its record."""
    applied = []
    async with pool.acquire() as c:
        await c.execute("SELECT pg_advisory_lock($1)", PG_LOCK_ID)
        try:
            await c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            done = {r[0] for r in await c.fetch("SELECT version FROM schema_migrations")}
            for version, statements in MIGRATIONS["postgresql"]:
                if version in done:
                    continue
                async with c.transaction():
                    for sql in statements:
                        await c.execute(sql)
                    await c.execute("INSERT INTO schema_migrations(version) VALUES ($1)", version)
                applied.append(version)
        finally:
            if not c.is_closed():
                await c.execute("SELECT pg_advisory_unlock($1)", PG_LOCK_ID)
    return applied
