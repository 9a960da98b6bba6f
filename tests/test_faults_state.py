"""The state database behind the fault proxy (tests/faults/proxy.py). MariaDB as test_faults.py does for
PostgreSQL: a gateway on the tempauth Swift whose state store (`mysql://`) reaches a private MariaDB only
through the proxy. Every fault must end the request within a few state deadlines in 503
ServiceUnavailable (or succeed under latency), log no error, and leave a gateway that answers the next
request by itself. bench/faults.py runs the same rows on the OpenStack backend, for both databases. Plus
the regressions those runs found, in either store.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import time
from typing import Any

import pytest

from gateway.store import StoreUnavailable, open_store
from tests import store_fixtures
from tests.conftest import SwiftEndpoint
from tests.faults import matrix
from tests.faults.matrix import (
    ErrorLog,
    drop_bucket,
    run_case,
    s3_ops,
    table,
)
from tests.faults.proxy import MODES, Fault, FaultProxy
from tests.faults.rig import STATE_TIMEOUT, outcome, state_upstream, swift_rig
from tests.store_fixtures import new_database

my_server, pg_server = store_fixtures.my_server, store_fixtures.pg_server
error_log = matrix.error_log  # the fixture
FAULTS = [m for m in MODES if m != "pass"]
SLACK = 3.0  # scheduling on a loaded 2-core machine


@pytest.fixture
def mariadb_url(request, tmp_path) -> str:
    return asyncio.run(new_database(request, "mysql", tmp_path))


def test_mariadb_state_faults(swift_endpoint: SwiftEndpoint, mariadb_url: str, error_log: ErrorLog) -> None:
    """Every fault on the state database for PutObject (writes: object metadata, no retry) and the ones
    that fail differently for GetObject (reads: retried once on a fresh connection)."""
    ops, ctx, rows = s3_ops(), {}, []
    with swift_rig(swift_endpoint.auth_url, dict(swift_endpoint.users), timeout=2.0, state_url=mariadb_url) as rig:
        try:
            ops["PutObject"].prepare(rig, ctx)
            for name, modes in (("PutObject", FAULTS), ("GetObject", ["stall", "reset", "garbage", "truncated"])):
                rows += [run_case(rig, error_log, "swift", "state", mode, ops[name], ctx) for mode in modes]
        finally:
            drop_bucket(rig, ctx)
    failed = [r for r in rows if r.problems]
    assert not failed, "\n" + table(failed)
    assert {(r.faulted.status, r.faulted.code) for r in rows if r.mode != "latency"} == {(503, "ServiceUnavailable")}


def test_mariadb_stalled_under_concurrent_requests(swift_endpoint: SwiftEndpoint, mariadb_url: str,
                                                   error_log: ErrorLog) -> None:
    """Regression: with the pooled connections gone and the database stalled, concurrent requests queue
    for new connections; some hung until the client gave up (60 s) when a deadline's cancellation was lost
    in the connect. Each must end within the deadlines, and the first request after the fault succeed."""
    ops, ctx, ended = s3_ops(), {}, []
    with swift_rig(swift_endpoint.auth_url, dict(swift_endpoint.users), timeout=2.0, state_url=mariadb_url) as rig:
        px = rig.proxies["state"]
        try:
            ops["PutObject"].prepare(rig, ctx)
            for mode in ("stall", "blackhole", "stall"):
                rig.proxies.loop.call_soon_threadsafe(px.drop_connections)
                time.sleep(0.2)
                rig.proxies.set("state", mode)
                with concurrent.futures.ThreadPoolExecutor(12) as pool:
                    ended += pool.map(lambda i: outcome(lambda: ops["GetObject" if i % 2 else "PutObject"].call(
                        rig, ctx))[0], range(12))
                rig.proxies.set("state", "pass")
                after = outcome(lambda: ops["PutObject"].call(rig, ctx))[0]
                assert (after.status, after.code) == (200, ""), f"after {mode}: {after} ({after.detail})"
        finally:
            rig.proxies.set("state", "pass")
            drop_bucket(rig, ctx)
    assert {(o.status, o.code) for o in ended} == {(503, "ServiceUnavailable")}, [str(o) for o in ended]
    assert max(o.seconds for o in ended) < 3 * STATE_TIMEOUT + SLACK, [str(o) for o in ended]
    assert not error_log.take()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, f"{record.name}: {record.getMessage()}"))


def test_background_sweeps_log_a_state_outage_as_a_warning(swift_endpoint: SwiftEndpoint, mariadb_url: str) -> None:
    """Regression: the EC2 work sweeper and the S3 lifecycle sweeper logged every pass that met a stopped
    database as an error with a traceback; an outage the store reports (StoreUnavailable) is a warning."""
    records = Records()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        with swift_rig(swift_endpoint.auth_url, dict(swift_endpoint.users), timeout=2.0, state_url=mariadb_url,
                       sections={"ec2": {"work_sweep_seconds": 0.2}, "s3": {"lifecycle_interval_seconds": 1}}) as rig:
            rig.proxies.set("state", "reset")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not {"work", "lifecycle"} <= {
                    word for _, line in records.lines for word in ("work", "lifecycle") if f"{word} sweep" in line}:
                time.sleep(0.2)
            rig.proxies.set("state", "pass")
    finally:
        root.removeHandler(records)
    lines = records.lines
    assert not [line for level, line in lines if level >= logging.ERROR], lines
    assert any("background work sweep skipped" in line for _, line in lines), lines
    assert any("lifecycle sweep skipped" in line for _, line in lines), lines


async def test_a_lost_cancellation_does_not_outlive_the_deadline(request, tmp_path) -> None:
    """The mechanism of the hang above, made certain: the pool's checkout ignores the first cancellation
    (as Python 3.11's asyncio.wait_for does when the connect completes at that moment) while the stalled
    server never greets. The call still ends at its deadline in StoreUnavailable, and the checkout left
    behind is ended too: the pool serves the next call once the database answers."""
    mariadb_url = await new_database(request, "mysql", tmp_path)
    proxy = FaultProxy(state_upstream(mariadb_url), server_first=True)
    await proxy.start()
    database = mariadb_url.split("/")[3].split("?")[0]
    store = open_store(f"mysql://root@127.0.0.1:{proxy.port}/{database}", timeout=STATE_TIMEOUT,
                       connect_timeout=STATE_TIMEOUT)
    try:
        await store.put("ns", "k", 1)
        pool = store._pool
        proxy.drop_connections()
        await asyncio.sleep(0.2)
        proxy.fault = Fault("stall")
        real_acquire, lost = pool.acquire, []

        async def deaf(checkout: Any) -> Any:
            inner = asyncio.ensure_future(checkout)
            while True:
                try:
                    return await asyncio.shield(inner)
                except asyncio.CancelledError:
                    if lost:
                        inner.cancel()
                        raise
                    lost.append(time.monotonic())  # dropped, like the race does

        pool.acquire = lambda: deaf(real_acquire())
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(store.get("ns", "k"), 6 * STATE_TIMEOUT)  # the old code: hung here
        assert lost, "the checkout was never cancelled: the test did not test anything"
        assert time.monotonic() - started < STATE_TIMEOUT + SLACK
        proxy.fault = Fault("pass")
        del pool.acquire
        assert await asyncio.wait_for(store.get("ns", "k"), 2 * STATE_TIMEOUT) == 1
    finally:
        await store.close()
        await proxy.stop()


async def test_postgresql_old_connections_closed_quietly_while_the_server_is_silent(pg_server: Any) -> None:
    """Regression: after a failure the PostgreSQL store expires its pool; asyncpg then closes each old
    connection in a task of its own, whose graceful close timed out against a silent server and was logged
    by asyncio as "Task exception was never retrieved" (error level)."""
    records: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: records.append(record.getMessage()[:200])  # type: ignore[method-assign]
    logging.getLogger("asyncio").addHandler(handler)
    proxy = FaultProxy(state_upstream(pg_server.url()))
    await proxy.start()
    store = open_store(pg_server.url().replace(f":{pg_server.port}/", f":{proxy.port}/"), timeout=1.0,
                       connect_timeout=1.0)
    try:
        await asyncio.gather(*(store.put("ns", f"k{i}", i) for i in range(6)))  # several pooled connections
        proxy.fault = Fault("blackhole")
        for _ in range(3):
            with pytest.raises(StoreUnavailable):
                await store.get("ns", "k0")
        await asyncio.sleep(2.5)  # the old connections' close tasks time out (command_timeout 1 s)
        gc.collect()  # an unretrieved task exception is reported when the task is collected
        proxy.fault = Fault("pass")
        assert await store.get("ns", "k0") == 0
    finally:
        logging.getLogger("asyncio").removeHandler(handler)
        await store.close()
        await proxy.stop()
    assert not records, records
