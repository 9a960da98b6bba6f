"""Fixtures for the store contract suite: one private server of each kind per session, a fresh database
per test, and `store_url` parametrized over SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import itertools
import os

import asyncmy
import asyncpg
import pytest

from gateway.store import open_store
from tests.db_servers import Mariadb, Postgres

KINDS = ("sqlite", "postgresql", "mysql")
# Short deadlines, so the outage tests are quick; production defaults are in gateway/config.py.
TIMEOUT, CONNECT_TIMEOUT = 2.0, 2.0
_names = itertools.count()


# Each test module that uses these fixtures registers them anew (pytest scopes a fixture's cache to its
# definition): one server per kind is shared through this cache, and stopped by the module that started it,
# at the end of the session.
_running: dict[type, Postgres | Mariadb] = {}


def _server(cls: type):
    if cls in _running:
        yield _running[cls]
        return
    server = cls()
    try:
        server.start()
        _running[cls] = server
        yield server
    finally:
        _running.pop(cls, None)
        server.destroy()


@pytest.fixture(scope="session")
def pg_server():
    yield from _server(Postgres)


@pytest.fixture(scope="session")
def my_server():
    yield from _server(Mariadb)


async def new_database(request, kind: str, tmp_path) -> str:
    """A URL naming a new, empty database on the `kind` server."""
    name = f"t{os.getpid()}_{next(_names)}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/{name}.db"
    if kind == "postgresql":
        server = request.getfixturevalue("pg_server")
        conn = await asyncpg.connect(server.url())
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        return server.url(name)
    server = request.getfixturevalue("my_server")
    conn = await asyncmy.connect(unix_socket=str(server.sock), user="root")
    try:
        async with conn.cursor() as cur:
            await cur.execute(f"CREATE DATABASE {name}")
    finally:
        conn.close()
    return server.url(name)


def open_test_store(url: str, **kw):
    return open_store(url, **{"timeout": TIMEOUT, "connect_timeout": CONNECT_TIMEOUT, **kw})


@pytest.fixture(params=KINDS)
async def store_url(request, tmp_path) -> str:
    return await new_database(request, request.param, tmp_path)


@pytest.fixture
async def store(store_url):
    s = open_test_store(store_url)
    yield s
    await s.close()
