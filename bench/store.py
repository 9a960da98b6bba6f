"""State store throughput: SQLite vs PostgreSQL vs MariaDB, on private servers started for the run.

    .venv/bin/python bench/store.py [--n 3000] [--concurrency 1,16] [--scans 300]

Starts a private PostgreSQL and MariaDB (tests/db_servers.py: 127.0.0.1 / unix socket, no fsync, the
same settings as the tests) and measures, on a fresh database each, in the same run:

  * put_if_absent: N new keys (each an id-map-sized JSON record), then
  * get: N point reads of those keys (in random order), then
  * scan: prefix scans of 100 keys each (`<prefix>/` over 30 prefixes),

with 1 and with C concurrent tasks, and prints ops/s side by side with the ratio to SQLite. The database
servers share the machine's cores with the benchmark (no network hop): a deployment adds its network
round trip per call. Figures only: no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.store import Store, open_store  # noqa: E402
from tests.db_servers import Mariadb, Postgres  # noqa: E402

RECORD = {"kind": "instance", "backend_id": "6f1e0c4a-11aa-4b5e-9d0e-5a3c2f1e0d9c"}


async def _run(tasks: int, items: list, op) -> float:
    """ops/s for `op(item)` over `items`, `tasks` at a time."""
    queue = iter(items)

    async def worker():
        for item in queue:
            await op(item)
    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return len(items) / (time.perf_counter() - t)


async def measure(store: Store, n: int, scans: int, tasks: int, tag: str) -> dict[str, float]:
    await store.migrate()
    keys = [f"{tag}{i % 30:02d}/{i:08d}" for i in range(n)]
    out = {"put_if_absent": await _run(tasks, keys, lambda k: store.put_if_absent("bench", k, RECORD))}
    shuffled = random.sample(keys, len(keys))
    out["get"] = await _run(tasks, shuffled, lambda k: store.get("bench", k))
    prefixes = [f"{tag}{i % 30:02d}/" for i in range(scans)]
    out["scan(100)"] = await _run(tasks, prefixes, lambda p: store.scan("bench", p, limit=100))
    return out


async def main_async(args, urls: dict[str, str]) -> None:
    results: dict[tuple[str, int], dict[str, float]] = {}
    for tasks in args.concurrency:
        for name, url in urls.items():
            store = open_store(url, pool_size=max(tasks, 2))
            try:
                results[(name, tasks)] = await measure(store, args.n, args.scans, tasks, f"c{tasks}-")
            finally:
                await store.close()
    names = list(urls)
    print(f"\nstate store ops/s (n={args.n}, scans={args.scans}; ratio = store / SQLite, higher is faster)")
    header = f"{'operation':<16}{'tasks':>6}" + "".join(f"{n:>14}" for n in names) + "".join(
        f"{n + '/sqlite':>18}" for n in names[1:])
    print(header)
    print("-" * len(header))
    for op in ("put_if_absent", "get", "scan(100)"):
        for tasks in args.concurrency:
            row = [results[(n, tasks)][op] for n in names]
            print(f"{op:<16}{tasks:>6}" + "".join(f"{v:>14,.0f}" for v in row)
                  + "".join(f"{v / row[0]:>17.2f}x" for v in row[1:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    tmp = tempfile.mkdtemp(prefix="cg-bench-")
    servers = []
    try:
        pg, my = Postgres(), Mariadb()
        servers = [pg, my]
        for s in servers:
            s.start()
        asyncio.run(_create_databases(pg, my))
        urls = {"sqlite": f"sqlite:///{tmp}/state.db", "postgresql": pg.url("bench"),
                "mariadb": my.url("bench")}
        asyncio.run(main_async(args, urls))
    finally:
        for s in servers:
            s.destroy()
    return 0


async def _create_databases(pg: Postgres, my: Mariadb) -> None:
    import asyncmy
    import asyncpg

    conn = await asyncpg.connect(pg.url())
    await conn.execute("CREATE DATABASE bench")
    await conn.close()
    c = await asyncmy.connect(unix_socket=str(my.sock), user="root")
    async with c.cursor() as cur:
        await cur.execute("CREATE DATABASE bench")
    c.close()


if __name__ == "__main__":
    sys.exit(main())
