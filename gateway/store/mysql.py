"""MariaDB / MySQL state store (asyncmy): several gateway replicas share one database.

Same contract and failure handling as the PostgreSQL store (postgres.py): autocommit, one atomic
statement per step (INSERT … ON DUPLICATE KEY, a conditional UPDATE on the row version), a call deadline
covering the wait for a pooled connection, StoreUnavailable (503) when the server is gone or slow.
A connection a call gave up on (deadline, error mid-statement) is closed, never handed back to the
pool half-read; the pool also drops connections whose socket closed while idle.

Keys are VARBINARY (UTF-8 bytes): exact, case-sensitive, code point ordered, and a prefix scan's upper
bound is exact (the prefix's byte successor) with no LIKE escaping.
URL: mysql://user:password@host:port/database, or ?unix_socket=/path/to/socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import asyncmy
from asyncmy.errors import InterfaceError, InternalError, OperationalError

from .base import Store, StoreContention, StoreUnavailable, byte_successor, utf8
from .schema import MIGRATIONS, MYSQL_LOCK_NAME

T = TypeVar("T")
# OperationalError covers lost connections (2006/2013), refused connects (2003) and lock wait timeouts.
_DOWN = (OSError, TimeoutError, OperationalError, InterfaceError, InternalError)
MIGRATION_LOCK_SECONDS = 120
ER_LOCK_DEADLOCK = 1213  # concurrent INSERT … ON DUPLICATE KEY on one key can deadlock on gap locks
DEADLOCK_RETRIES = 3


_b = utf8


def parse_url(url: str) -> dict[str, Any]:
    u = urlsplit(url)
    q = parse_qs(u.query)
    args: dict[str, Any] = {"user": unquote(u.username or "root"), "password": unquote(u.password or ""),
                            "database": unquote(u.path.lstrip("/")) or None}
    if "unix_socket" in q:
        args["unix_socket"] = q["unix_socket"][0]
    else:
        args["host"], args["port"] = u.hostname or "127.0.0.1", u.port or 3306
    return args


class MysqlStore(Store):
    def __init__(self, url: str, pool_size: int = 10, connect_timeout: float = 5.0,
                 timeout: float = 5.0) -> None:
        self.args = parse_url(url)
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._pool: Any = None
        self._opening = asyncio.Lock()
        self._applied: list[int] = []

    async def _open(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                try:
                    async with asyncio.timeout(self.connect_timeout):
                        pool = await asyncmy.create_pool(
                            minsize=0, maxsize=self.pool_size, pool_recycle=300, autocommit=True,
                            charset="utf8mb4", connect_timeout=self.connect_timeout, **self.args)
                    try:
                        async with asyncio.timeout(self.connect_timeout + MIGRATION_LOCK_SECONDS):
                            self._applied = await _migrate(pool)
                    except BaseException:
                        pool.terminate()
                        raise
                except _DOWN as e:
                    raise StoreUnavailable(f"state database unreachable: {type(e).__name__}: {e}") from None
                self._pool = pool
        return self._pool

    async def _call(self, fn: Callable[[Any], Awaitable[T]], read: bool = False) -> T:
        pool = await self._open()
        retried_down = False
        for _ in range(DEADLOCK_RETRIES + 1):
            try:
                if _idle_connection_ready(pool):  # no connect: a cancellation reaches the query for sure
                    async with asyncio.timeout(self.timeout):
                        return await _attempt(pool, fn)
                return await self._within_deadline(pool, fn)
            except BaseException as e:
                if isinstance(e, OperationalError) and e.args and e.args[0] == ER_LOCK_DEADLOCK:
                    continue  # InnoDB rolled the statement back: nothing was applied, run it again
                if not isinstance(e, _DOWN):
                    raise
                with contextlib.suppress(Exception, TimeoutError):
                    async with asyncio.timeout(1):
                        await pool.clear()  # the idle ones likely died with it
                if read and not retried_down and not isinstance(e, TimeoutError):
                    retried_down = True
                    continue
                raise StoreUnavailable(f"state database: {type(e).__name__}: {e}") from None
        raise StoreContention(f"state database: deadlocked {DEADLOCK_RETRIES + 1} times in a row")

    async def _within_deadline(self, pool: Any, fn: Callable[[Any], Awaitable[T]]) -> T:
        """One attempt that may have to open a connection, in a task of its own, waited for at most
        `timeout`. A cancellation alone does not bound it: on Python 3.11 asyncio.wait_for (which asyncmy's
        connect uses) drops a cancellation that arrives as the TCP connect completes, and the handshake
        then waits on the socket holding the pool's lock (requests behind a stalled database hung until
        their clients gave up). At the deadline the task is cancelled, and again until it ends, so the
        pool is free for the calls after it. (A task per call costs ~35 µs: only this path pays it.)"""
        attempt = asyncio.ensure_future(_attempt(pool, fn))
        try:
            done, _ = await asyncio.wait((attempt,), timeout=self.timeout)
        finally:
            if not attempt.done():
                attempt.add_done_callback(_retrieve)  # its late error is nobody's: no "never retrieved"
                _cancel_until_done(attempt)
        if not done:
            raise TimeoutError(f"no answer within {self.timeout:g} s")
        return attempt.result()

    async def migrate(self) -> list[int]:
        await self._open()
        return list(self._applied)

    async def get(self, ns: str, key: str) -> Any | None:
        async def q(cur):
            await cur.execute("SELECT value FROM kv WHERE ns=%s AND k=%s", (_b(ns), _b(key)))
            return await cur.fetchone()
        row = await self._call(q, read=True)
        return None if row is None else json.loads(row[0])

    async def put(self, ns: str, key: str, value: Any) -> None:
        async def q(cur):
            await cur.execute("INSERT INTO kv(ns, k, value) VALUES (%s, %s, %s) ON DUPLICATE KEY UPDATE"
                              " value=VALUES(value), version=version+1", (_b(ns), _b(key), json.dumps(value)))
        await self._call(q)

    async def put_if_absent(self, ns: str, key: str, value: Any) -> Any | None:
        text = json.dumps(value)

        async def q(cur):
            for _ in range(10):  # the row may be deleted between our INSERT and our SELECT
                # A no-op update on a duplicate: 0 rows affected (INSERT IGNORE would hide other errors).
                await cur.execute("INSERT INTO kv(ns, k, value) VALUES (%s, %s, %s)"
                                  " ON DUPLICATE KEY UPDATE ns=ns", (_b(ns), _b(key), text))
                if cur.rowcount == 1:
                    return None
                await cur.execute("SELECT value FROM kv WHERE ns=%s AND k=%s", (_b(ns), _b(key)))
                row = await cur.fetchone()
                if row is not None:
                    return json.loads(row[0])
            raise StoreUnavailable(f"state {ns}/{key}: inserted and deleted under us repeatedly")
        return await self._call(q)

    async def delete(self, ns: str, key: str) -> bool:
        return await self._rowcount("DELETE FROM kv WHERE ns=%s AND k=%s", (_b(ns), _b(key))) > 0

    async def _rowcount(self, sql: str, args: tuple) -> int:
        async def q(cur):
            await cur.execute(sql, args)
            return cur.rowcount
        return await self._call(q)

    def _range(self, prefix: str) -> tuple[str, tuple]:
        upper = byte_successor(_b(prefix))
        return ("k>=%s AND k<%s", (_b(prefix), upper)) if upper is not None else ("k>=%s", (_b(prefix),))

    async def scan(self, ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
        where, args = self._range(prefix)
        sql = f"SELECT k, value FROM kv WHERE ns=%s AND {where} ORDER BY k"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"

        async def q(cur):
            await cur.execute(sql, (_b(ns), *args))
            return await cur.fetchall()
        rows = await self._call(q, read=True)
        return [(k.decode("utf-8"), json.loads(v)) for k, v in rows]

    async def delete_prefix(self, ns: str, prefix: str) -> int:
        where, args = self._range(prefix)
        return await self._rowcount(f"DELETE FROM kv WHERE ns=%s AND {where}", (_b(ns), *args))

    async def get_versioned(self, ns: str, key: str) -> tuple[Any | None, int]:
        async def q(cur):
            await cur.execute("SELECT value, version FROM kv WHERE ns=%s AND k=%s", (_b(ns), _b(key)))
            return await cur.fetchone()
        row = await self._call(q, read=True)
        return (None, 0) if row is None else (json.loads(row[0]), int(row[1]))

    async def put_if_version(self, ns: str, key: str, value: Any, version: int) -> bool:
        text = json.dumps(value)
        if version == 0:
            return await self._rowcount("INSERT INTO kv(ns, k, value) VALUES (%s, %s, %s)"
                                        " ON DUPLICATE KEY UPDATE ns=ns", (_b(ns), _b(key), text)) == 1
        # The version always changes, so "rows affected" is 1 exactly when the row matched.
        return await self._rowcount("UPDATE kv SET value=%s, version=version+1 WHERE ns=%s AND k=%s"
                                    " AND version=%s", (text, _b(ns), _b(key), version)) == 1

    async def delete_if_version(self, ns: str, key: str, version: int) -> bool:
        return await self._rowcount("DELETE FROM kv WHERE ns=%s AND k=%s AND version=%s",
                                    (_b(ns), _b(key), version)) == 1

    async def dump(self, batch: int = 1000) -> AsyncIterator[tuple[str, str, Any]]:
        after = (b"", b"")
        while True:
            async def q(cur, a=after):
                await cur.execute("SELECT ns, k, value FROM kv WHERE (ns, k) > (%s, %s) ORDER BY ns, k"
                                  f" LIMIT {int(batch)}", a)
                return await cur.fetchall()
            rows = await self._call(q, read=True)
            for ns, key, value in rows:
                yield ns.decode("utf-8"), key.decode("utf-8"), json.loads(value)
            if len(rows) < batch:
                return
            after = (rows[-1][0], rows[-1][1])

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()
            try:
                await asyncio.wait_for(pool.wait_closed(), self.timeout)
            except (TimeoutError, *_DOWN):
                pool.terminate()


async def _attempt(pool: Any, fn: Callable[[Any], Awaitable[T]]) -> T:
    conn = None
    try:
        conn = await pool.acquire()
        async with conn.cursor() as cur:
            result = await fn(cur)
    except BaseException:
        if conn is not None:
            conn.close()  # in an unknown state: never back into the pool
            pool.release(conn)
        raise
    pool.release(conn)
    return result


def _idle_connection_ready(pool: Any) -> bool:
    """The pool will hand out an idle connection without connecting (asyncmy's own checkout test: the
    socket open, not older than pool_recycle). Anything unexpected: no, and the safe path is taken."""
    try:
        if pool.cond.locked() or not pool.freesize:
            return False
        conn = pool._free[0]
        transport = conn._transport
        return (transport is not None and not transport.is_closing()
                and pool._loop.time() - conn.last_usage <= pool._recycle)
    except (AttributeError, IndexError):
        return False


def _cancel_until_done(task: asyncio.Future, tries: int = 100) -> None:
    """Cancel, and cancel again every 50 ms (up to 5 s) while the task goes on: a lost cancellation
    (see MysqlStore._within_deadline) is repeated where the task waits next (a read on a plain future,
    which always takes it)."""
    if not task.done() and tries > 0:
        task.cancel()
        asyncio.get_running_loop().call_later(0.05, _cancel_until_done, task, tries - 1)


def _retrieve(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


async def _migrate(pool: Any) -> list[int]:
    """Apply the missing versions holding GET_LOCK (server-wide, named): a replica starting at the same
    moment waits, then finds them applied. MariaDB commits DDL at once, so each version's record is
    written right after its statements; a crash in between is re-run by hand (the log says which)."""
    applied = []
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT GET_LOCK(LEFT(CONCAT(%s, DATABASE()), 64), %s)",
                          (MYSQL_LOCK_NAME, MIGRATION_LOCK_SECONDS))
        (got,) = await cur.fetchone()
        if got != 1:
            raise TimeoutError("another process holds the schema migration lock")
        try:
            await cur.execute("SET SESSION sql_notes=0")  # "already exists" is the normal case, not news
            await cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY,"
                              " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB")
            await cur.execute("SET SESSION sql_notes=1")
            await cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in await cur.fetchall()}
            for version, statements in MIGRATIONS["mysql"]:
                if version in done:
                    continue
                for sql in statements:
                    await cur.execute(sql)
                await cur.execute("INSERT INTO schema_migrations(version) VALUES (%s)", (version,))
                applied.append(version)
        finally:
            await cur.execute("SELECT RELEASE_LOCK(LEFT(CONCAT(%s, DATABASE()), 64))", (MYSQL_LOCK_NAME,))
            await cur.fetchall()
    return applied
