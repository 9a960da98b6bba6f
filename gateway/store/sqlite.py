"""SQLite state store. One worker thread owns the connection, so calls never block the event loop and
SQLite sees one writer (no "database is locked" under concurrency).

Point reads (`get`) of a database file run on the event loop's own thread, on a second, read-only
connection: in WAL mode a reader never waits for the writer, a primary-key lookup takes microseconds, and
the hop to the worker thread and back costs a hundred times that (a GIL handover each way). Each read
sees everything committed before it began, so the gateway still reads its own writes. A read the reader
can't do at once (the table not made yet, a rare SQLITE_BUSY) goes to the worker thread.

Single-statement writes (put, delete, the compare-and-set pair every PutObject makes) also run on the loop
thread, on a third connection that never waits: in WAL mode with synchronous=NORMAL a commit appends to the
WAL without an fsync (tens of microseconds), while the hop costs ~75 us of CPU per pair. When the write lock
is held (the worker thread or another process writing) SQLite answers SQLITE_BUSY at once, before changing
anything, and the write goes to the worker thread, which waits for the lock as before. That connection never
checkpoints (the checkpoint is the fsync): the worker thread does, every CHECKPOINT_EVERY loop writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .base import Store
from .schema import MIGRATIONS

CHECKPOINT_EVERY = 500  # loop-thread writes between the worker thread's passive WAL checkpoints


def _migrate(db: sqlite3.Connection) -> list[int]:
    """Apply the missing schema versions in one write transaction: a second process opening the file
    at the same moment waits for it (busy_timeout), then finds them applied."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                   " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        done = {v for (v,) in db.execute("SELECT version FROM schema_migrations")}
        applied = []
        for version, statements in MIGRATIONS["sqlite"]:
            if version not in done:
                for sql in statements:
                    db.execute(sql)
                db.execute("INSERT INTO schema_migrations(version) VALUES (?)", (version,))
                applied.append(version)
        db.execute("COMMIT")
        return applied
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _enter_wal(db: sqlite3.Connection, deadline: float = 10.0) -> None:
    """Switch the file to WAL (persistent, so usually already done). The switch reads the file first,
    then needs it alone; SQLite skips the busy handler for that upgrade (it could deadlock), so two
    replicas opening a new file together get SQLITE_BUSY at once: retry for a bounded time."""
    stop = time.monotonic() + deadline
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > stop:
                raise
            time.sleep(0.02)


def _upper(prefix: str) -> str:
    """The smallest string above every key starting with `prefix` (a range scan, case-sensitive;
    SQLite's LIKE would fold ASCII case)."""
    return prefix + "\U0010ffff"


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloudgate-sqlite")
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None  # used on `_reader_thread` only
        self._reader_thread: int | None = None
        self._writer: sqlite3.Connection | None = None  # used on `_reader_thread` only (never waits)
        self._loop_writes = 0
        self._applied: list[int] = []

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=5000")
            _enter_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            self._applied = _migrate(db)
            self._db = db
        return self._db

    async def migrate(self) -> list[int]:
        """The versions applied when this store opened its file (the first call opens it)."""
        await self._run(self._conn)
        return list(self._applied)

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _read_here(self) -> sqlite3.Connection | None:
        """The loop thread's reader, once the writer has set the file up (WAL, schema); else None."""
        if self._db is None or self._path == ":memory:":  # another connection can't see a :memory: db
            return None
        if self._reader is None:
            self._reader = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                                           timeout=0)
            self._reader.execute("PRAGMA query_only=1")
            self._reader_thread = threading.get_ident()
        return self._reader if self._reader_thread == threading.get_ident() else None

    def _write_here(self) -> sqlite3.Connection | None:
        """The loop thread's non-waiting writer, once the worker has set the file up; else None."""
        if self._read_here() is None:  # same conditions: a file set up, on the loop thread
            return None
        if self._writer is None:
            writer = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=0)
            writer.execute("PRAGMA synchronous=NORMAL")
            writer.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint's fsync stays off the loop
            self._writer = writer
        return self._writer

    async def _write(self, sql: str, args: tuple) -> int:
        """One write statement; the number of rows it changed."""
        writer = self._write_here()
        if writer is not None:
            try:
                changed = writer.execute(sql, args).rowcount
            except sqlite3.OperationalError:
                pass  # busy (nothing written): the worker thread waits for the lock
            else:
                self._loop_writes += 1
                if self._loop_writes % CHECKPOINT_EVERY == 0:
                    self._executor.submit(self._checkpoint)
                return changed
        return await self._run(lambda: self._conn().execute(sql, args).rowcount)

    def _checkpoint(self) -> None:
        try:
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the next one, or the worker's own autocheckpoint, catches up

    async def get(self, ns: str, key: str) -> Any | None:
        sql, args = "SELECT value FROM kv WHERE ns=? AND key=?", (ns, key)
        reader = self._read_here()
        if reader is not None:
            try:
                row = reader.execute(sql, args).fetchone()
                return None if row is None else json.loads(row[0])
            except sqlite3.OperationalError:
                pass  # busy or not set up yet: the worker thread waits as a writer would

        def q():
            row = self._conn().execute(sql, args).fetchone()
            return None if row is None else json.loads(row[0])
        return await self._run(q)

    async def put(self, ns: str, key: str, value: Any) -> None:
        await self._write("INSERT INTO kv(ns, key, value) VALUES (?, ?, ?) "
                          "ON CONFLICT(ns, key) DO UPDATE SET value=excluded.value, version=kv.version+1",
                          (ns, key, json.dumps(value)))

    async def put_if_absent(self, ns: str, key: str, value: Any) -> Any | None:
        text = json.dumps(value)

        def q():
            db = self._conn()
            cur = db.execute("INSERT INTO kv(ns, key, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             (ns, key, text))
            if cur.rowcount == 1:
                return None
            row = db.execute("SELECT value FROM kv WHERE ns=? AND key=?", (ns, key)).fetchone()
            return json.loads(row[0])
        return await self._run(q)

    async def delete(self, ns: str, key: str) -> bool:
        # Most deletes find nothing (every PutObject clears an overwritten object's extras): the loop
        # thread's reader sees that without a hop to the writer thread and a write transaction. A row
        # written after this read is one the delete linearizes before, as if it had run first.
        reader = self._read_here()
        if reader is not None:
            try:
                if reader.execute("SELECT 1 FROM kv WHERE ns=? AND key=?", (ns, key)).fetchone() is None:
                    return False
            except sqlite3.OperationalError:
                pass  # busy: the writer's delete decides
        return await self._write("DELETE FROM kv WHERE ns=? AND key=?", (ns, key)) > 0

    async def scan(self, ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
        sql = "SELECT key, value FROM kv WHERE ns=? AND key>=? AND key<? ORDER BY key LIMIT ?"
        args = (ns, prefix, _upper(prefix), -1 if limit is None else limit)
        # Like get: the loop thread's reader (every EC2 Describe scans its records). Decoding the rows holds
        # the GIL wherever it runs, so the worker thread would only add a hop.
        reader = self._read_here()
        if reader is not None:
            try:
                return [(k, json.loads(v)) for k, v in reader.execute(sql, args).fetchall()]
            except sqlite3.OperationalError:
                pass  # busy or not set up yet: the worker thread waits as a writer would

        def q():
            return [(k, json.loads(v)) for k, v in self._conn().execute(sql, args).fetchall()]
        return await self._run(q)

    async def delete_prefix(self, ns: str, prefix: str) -> int:
        cur = await self._run(lambda: self._conn().execute(
            "DELETE FROM kv WHERE ns=? AND key>=? AND key<?", (ns, prefix, _upper(prefix))))
        return cur.rowcount

    async def get_versioned(self, ns: str, key: str) -> tuple[Any | None, int]:
        def q():
            row = self._conn().execute("SELECT value, version FROM kv WHERE ns=? AND key=?", (ns, key)).fetchone()
            return (None, 0) if row is None else (json.loads(row[0]), row[1])
        return await self._run(q)

    async def put_if_version(self, ns: str, key: str, value: Any, version: int) -> bool:
        text = json.dumps(value)
        if version == 0:
            changed = await self._write("INSERT INTO kv(ns, key, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                        (ns, key, text))
        else:
            changed = await self._write("UPDATE kv SET value=?, version=version+1 WHERE ns=? AND key=? AND version=?",
                                        (text, ns, key, version))
        return changed == 1

    async def delete_if_version(self, ns: str, key: str, version: int) -> bool:
        return await self._write("DELETE FROM kv WHERE ns=? AND key=? AND version=?", (ns, key, version)) == 1

    async def dump(self, batch: int = 1000) -> AsyncIterator[tuple[str, str, Any]]:
        after: tuple[str, str] = ("", "")
        while True:
            rows = await self._run(lambda a=after: self._conn().execute(
                "SELECT ns, key, value FROM kv WHERE (ns, key) > (?, ?) ORDER BY ns, key LIMIT ?",
                (*a, batch)).fetchall())
            for ns, key, value in rows:
                yield ns, key, json.loads(value)
            if len(rows) < batch:
                return
            after = (rows[-1][0], rows[-1][1])

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)
