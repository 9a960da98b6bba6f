"""`cloudgate state migrate|export|import`: an operator moves a gateway's state from SQLite to PostgreSQL
and on to MariaDB with ids and idempotency tokens intact (real servers, tests/db_servers.py)."""

from __future__ import annotations

import asyncio

from gateway.cli import main
from gateway.store import open_store
from tests import store_fixtures
from tests.store_fixtures import new_database

pg_server, my_server = store_fixtures.pg_server, store_fixtures.my_server

RECORDS = {("ec2:id", "i-0a1b2c3d4e5f60718"): {"os": "6f1e0c4a-11aa-4b5e-9d0e-5a3c2f1e0d9c"},
           ("ec2:token", "123456789012/RunInstances/tok-\u00e9%_"): {"reservation": "r-0123456789abcdef0"},
           ("s3:bucket-owner", "photos"): "123456789012"}


def _config(tmp_path, url: str) -> str:
    path = tmp_path / "gw.yaml"
    path.write_text(f"state:\n  url: \"{url}\"\n  timeout_seconds: 5\n")
    return str(path)


async def _fill(url: str) -> None:
    s = open_store(url)
    try:
        for (ns, key), value in RECORDS.items():
            await s.put(ns, key, value)
    finally:
        await s.close()


async def _read(url: str) -> dict:
    s = open_store(url)
    try:
        return {(ns, key): value async for ns, key, value in s.dump()}
    finally:
        await s.close()


def test_migrate_then_move_sqlite_to_postgresql_to_mariadb(request, tmp_path, capsys):
    sqlite_url = f"sqlite:///{tmp_path}/state.db"
    asyncio.run(_fill(sqlite_url))
    pg_url = asyncio.run(new_database(request, "postgresql", tmp_path))
    my_url = asyncio.run(new_database(request, "mysql", tmp_path))
    config = _config(tmp_path, sqlite_url)

    assert main(["state", "migrate", "--config", config, "--url", pg_url]) == 0
    assert "schema versions applied: 1, 2" in capsys.readouterr().out
    assert main(["state", "migrate", "--config", config, "--url", pg_url]) == 0
    assert "none (up to date)" in capsys.readouterr().out

    dump = tmp_path / "state.jsonl"
    assert main(["state", "export", "--config", config, "--file", str(dump)]) == 0
    assert "exported 3 records" in capsys.readouterr().err
    assert main(["state", "import", "--config", config, "--url", pg_url, "--file", str(dump)]) == 0
    assert asyncio.run(_read(pg_url)) == RECORDS

    again = tmp_path / "from-pg.jsonl"
    assert main(["state", "export", "--config", config, "--url", pg_url, "--file", str(again)]) == 0
    assert again.read_text() == dump.read_text()
    assert main(["state", "import", "--config", config, "--url", my_url, "--file", str(again)]) == 0
    assert asyncio.run(_read(my_url)) == RECORDS


def test_unreachable_database_and_bad_input_exit_1_with_the_reason(tmp_path, capsys):
    config = _config(tmp_path, "postgresql://x:y@127.0.0.1:1/db")
    assert main(["state", "migrate", "--config", config]) == 1
    assert "state database unreachable" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    config = _config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    assert main(["state", "import", "--config", config, "--file", str(bad)]) == 1
    assert "line 1: not an exported record" in capsys.readouterr().err


def test_two_replicas_starting_together_migrate_once(request, tmp_path):
    """Two real `cloudgate serve` processes on one fresh PostgreSQL database, started at the same moment:
    both come up, and each schema version is applied by exactly one of them (their logs say which)."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from tests.server import BASE_CONFIG, ROOT, free_port, wait_healthy

    url = asyncio.run(new_database(request, "postgresql", tmp_path))
    path = tmp_path / "gw.yaml"
    path.write_text(json.dumps({**BASE_CONFIG, "state": {"url": url}, "logging": {"level": "info"}}))
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(path),
                               "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"}) for port in ports]
    try:
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}", timeout=60)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=30)[0].decode() for proc in procs]
    applied = []
    for out in outputs:
        for line in out.splitlines():
            if "state schema migrated" in line:
                applied += json.loads(line)["versions"]
    assert sorted(applied) == [1, 2], outputs
