"""The database server stores when the database misbehaves: unreachable, stopped and restarted, too slow
(a deadline passes), a pooled connection killed under the store. Each ends in StoreUnavailable (which
the pipeline answers 503 ServiceUnavailable) within the deadline, and in recovery without a restart."""

from __future__ import annotations

import asyncio
import time

import asyncmy
import asyncpg
import pytest

from backends.base import Unavailable
from gateway.store import StoreUnavailable, open_store
from tests import store_fixtures
from tests.db_servers import free_port
from tests.store_fixtures import CONNECT_TIMEOUT, TIMEOUT, new_database, open_test_store

pg_server, my_server = store_fixtures.pg_server, store_fixtures.my_server
SERVERS = ("postgresql", "mysql")
# "Within the deadline": the call's own deadline plus scheduling slack on a loaded 2-core machine.
SLACK = 3.0


@pytest.fixture(params=SERVERS)
async def db(request, tmp_path):
    """(kind, server, url of a fresh database)."""
    url = await new_database(request, request.param, tmp_path)
    server = request.getfixturevalue("pg_server" if request.param == "postgresql" else "my_server")
    return request.param, server, url


async def _timed(coro) -> tuple[float, BaseException | None]:
    t = time.monotonic()
    try:
        await coro
        return time.monotonic() - t, None
    except BaseException as e:  # noqa: BLE001 - the test inspects it
        return time.monotonic() - t, e


@pytest.mark.parametrize("kind", SERVERS)
async def test_unreachable_database_is_a_503_within_the_connect_deadline(kind, tmp_path):
    url = (f"postgresql://x:y@127.0.0.1:{free_port()}/db" if kind == "postgresql"
           else f"mysql://root@localhost/db?unix_socket={tmp_path}/nothing.sock")
    s = open_store(url, connect_timeout=1.0, timeout=1.0)
    try:
        elapsed, err = await _timed(s.get("ns", "k"))
        assert isinstance(err, StoreUnavailable) and isinstance(err, Unavailable), err
        assert elapsed < 1.0 + SLACK
        elapsed, err = await _timed(s.put("ns", "k", 1))  # and again: no cached failure, no hang
        assert isinstance(err, StoreUnavailable)
    finally:
        await s.close()


async def test_database_stopped_then_restarted(db):
    kind, server, url = db
    s = open_test_store(url)
    try:
        await s.put("ns", "before", {"kept": True})
        server.stop()
        try:
            for op in (s.get("ns", "before"), s.put("ns", "during", 1), s.put_if_absent("ns", "t", 1),
                       s.scan("ns"), s.update("ns", "c", lambda n: (n or 0) + 1)):
                elapsed, err = await _timed(op)
                assert isinstance(err, StoreUnavailable), err
                assert elapsed < TIMEOUT + CONNECT_TIMEOUT + SLACK
        finally:
            server.start()
        # Back by itself: no restart of the store, nothing written before lost.
        assert await s.get("ns", "before") == {"kept": True}
        await s.put("ns", "after", 2)
        assert await s.update("ns", "c", lambda n: (n or 0) + 1) == 1
        assert [k for k, _ in await s.scan("ns")] == ["after", "before", "c"]
    finally:
        await s.close()


async def _hold_row_lock(kind: str, server, url: str, key: str):
    """Another client's open transaction holding the row `key` locked: our writes to it must wait."""
    if kind == "postgresql":
        conn = await asyncpg.connect(url)
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM kv WHERE ns='ns' AND key=$1 FOR UPDATE", key.encode())
        return conn, tx.rollback
    conn = await asyncmy.connect(unix_socket=str(server.sock), user="root", database=url.split("/")[3].split("?")[0])
    cur = conn.cursor()
    await cur.execute("BEGIN")
    await cur.execute("SELECT 1 FROM kv WHERE ns='ns' AND k='locked' FOR UPDATE")
    return conn, conn.rollback


async def test_a_call_past_its_deadline_is_a_503_and_the_store_goes_on(db):
    kind, server, url = db
    s = open_test_store(url)
    try:
        await s.put("ns", "locked", 0)
        await s.put("ns", "free", 0)
        conn, release = await _hold_row_lock(kind, server, url, "locked")
        try:
            elapsed, err = await _timed(s.put("ns", "locked", 1))
            assert isinstance(err, StoreUnavailable), err
            assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + SLACK
            await s.put("ns", "free", 1)  # other rows, other connections: unaffected
        finally:
            await release()
            conn.close() if kind == "mysql" else await conn.close()
        await s.put("ns", "locked", 2)
        assert await s.get("ns", "locked") == 2
    finally:
        await s.close()


async def _kill_other_connections(kind: str, server, url: str) -> int:
    if kind == "postgresql":
        conn = await asyncpg.connect(server.url())
        try:
            return len(await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=$1 AND pid<>pg_backend_pid()",
                url.rsplit("/", 1)[1]))
        finally:
            await conn.close()
    conn = await asyncmy.connect(unix_socket=str(server.sock), user="root")
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT id FROM information_schema.processlist WHERE db=%s AND id<>CONNECTION_ID()",
                              (url.split("/")[3].split("?")[0],))
            ids = [r[0] for r in await cur.fetchall()]
            for i in ids:
                await cur.execute(f"KILL {int(i)}")
            return len(ids)
    finally:
        conn.close()


async def test_dead_pooled_connections_are_replaced(db):
    kind, server, url = db
    s = open_test_store(url, pool_size=4)
    try:
        await asyncio.gather(*(s.put("ns", f"k{i}", i) for i in range(8)))  # fills the pool
        assert await _kill_other_connections(kind, server, url) >= 1
        await asyncio.sleep(0.2)  # the server closes the sockets; the store is idle meanwhile
        # Reads and writes go on: the pool hands out fresh connections, not the dead ones.
        assert await s.get("ns", "k0") == 0
        assert sorted(v for _, v in await s.scan("ns")) == list(range(8))
        await asyncio.gather(*(s.put("ns", f"k{i}", -i) for i in range(8)))
        assert await s.get("ns", "k7") == -7
    finally:
        await s.close()


async def test_the_pool_stays_within_its_size(db):
    kind, server, url = db
    s = open_test_store(url, pool_size=3)
    try:
        await asyncio.gather(*(s.put_if_absent("ns", f"k{i % 5}", i) for i in range(60)))
        assert len(await s.scan("ns")) == 5
        assert await _kill_other_connections(kind, server, url) <= 3
    finally:
        await s.close()


async def test_a_connection_left_mid_protocol_is_a_503_and_a_read_retries(request, tmp_path):
    """PostgreSQL shutting down under load can leave a pooled connection mid-protocol; asyncpg then
    refuses the next statement on it with InternalClientError. Seen as a 500 InternalError through three
    replicas (tests/test_replicas.py): it is the database going away, so a write answers 503 and a read
    is retried once on a fresh connection."""
    s = open_test_store(await new_database(request, "postgresql", tmp_path))
    calls = []

    async def broken_once(conn):
        calls.append(conn)
        if len(calls) == 1:
            raise asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
        return await conn.fetchval("SELECT 7")

    try:
        assert await s._call(broken_once, read=True) == 7 and len(calls) == 2
        calls.clear()
        _, err = await _timed(s._call(broken_once))
        assert isinstance(err, StoreUnavailable) and len(calls) == 1, err
        assert await s.get("ns", "k") is None  # the store goes on
    finally:
        await s.close()


@pytest.fixture
def outage_gateway(request, tmp_path):
    """A gateway whose state is on the private PostgreSQL, with one EC2 and one S3 handler that read it."""
    import copy

    from gateway.config import parse_config
    from gateway.registry import Registry
    from tests.server import BASE_CONFIG, in_process

    server = request.getfixturevalue("pg_server")
    url = asyncio.run(new_database(request, "postgresql", tmp_path))
    reg = Registry()

    @reg.register("ec2", "DescribeRegions")
    async def regions(ctx):
        name = await ctx.gateway.store.get("test", "region")
        return {"Regions": [{"RegionName": name or "none"}]}

    @reg.register("s3", "ListBuckets")
    async def buckets(ctx):
        await ctx.gateway.store.scan("test")
        return {"Buckets": []}

    raw = copy.deepcopy(BASE_CONFIG)
    raw["state"] = {"url": url, "timeout_seconds": 1, "connect_timeout_seconds": 1}
    with in_process(parse_config(raw, "tests"), registry=reg) as endpoint:
        yield server, endpoint


def test_the_pipeline_answers_503_service_unavailable_while_the_database_is_down(outage_gateway):
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ClientError

    from tests.server import AK, SK

    server, endpoint = outage_gateway
    no_retry = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})
    ec2, s3 = (boto3.client(svc, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=AK,
                            aws_secret_access_key=SK, config=no_retry) for svc in ("ec2", "s3"))
    assert ec2.describe_regions()["Regions"] == [{"RegionName": "none"}]
    server.stop()
    try:
        for call in (ec2.describe_regions, s3.list_buckets):
            with pytest.raises(ClientError) as e:
                call()
            err = e.value.response
            assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceUnavailable", 503)
    finally:
        server.start()
    assert ec2.describe_regions()["Regions"] == [{"RegionName": "none"}]  # recovered by itself
    assert s3.list_buckets()["Buckets"] == []
