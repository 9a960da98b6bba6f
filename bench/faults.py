"""Backend fault injection, the full matrix: every fault × every backend service × its representative
operations, through fault proxies (tests/faults/proxy.py) between an in-process gateway and the devcloud
OpenStack (Keystone, Nova, Neutron, Glance, Cinder, Swift with keystoneauth; as the state database a
private PostgreSQL, then a private MariaDB on a second gateway), the tempauth Swift and the CloudStack
simulator.

Prints one row per case: how the faulted request ended (status, AWS code, seconds), how the same request
ended right after the fault was lifted, and the verdict (tests/faults/matrix.py), then the totals. The
baseline is each operation's fault-free time, measured first in the same run.

    .venv/bin/python bench/faults.py [--only SERVICE[,SERVICE]] [--modes MODE[,MODE]] [--backends openstack,swift,cloudstack]
                                     [--state postgresql,mariadb]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.matrix import ErrorLog, Row, drop_bucket, ec2_ops, run_case, s3_ops, table  # noqa: E402
from tests.faults.proxy import MODES  # noqa: E402
from tests.faults.rig import cloudstack_rig, openstack_rig, outcome, swift_rig  # noqa: E402

# which operations exercise which proxied service
OPENSTACK_CASES = {
    "keystone": ["DescribeInstances(cold key)", "ListBuckets(cold key)"],
    "compute": ["DescribeInstances", "RunInstances"],
    "network": ["DescribeSecurityGroups"],
    "image": ["DescribeImages"],
    "block-storage": ["CreateVolume"],
    "object-store": ["ListBuckets", "PutObject", "GetObject"],
    "state": ["DescribeInstances", "PutObject"],
}
SWIFT_CASES = {"swift": ["ListBuckets", "PutObject", "GetObject", "ListBuckets(cold key)"]}
CLOUDSTACK_CASES = {"cloudstack": ["DescribeInstances", "DescribeSecurityGroups"]}


def run_matrix(rig, backend: str, cases: dict, ops: dict, modes: list[str], log: ErrorLog,
               labels: dict[str, str] | None = None) -> list[Row]:
    rows: list[Row] = []
    ctx: dict = {}
    prepared: set[str] = set()
    baseline = {}
    for service, names in cases.items():
        for name in names:
            op = ops[name]
            if name not in prepared:
                op.prepare(rig, ctx)
                prepared.add(name)
                baseline[name] = outcome(lambda op=op: op.call(rig, ctx))[0]
            for mode in modes:
                row = run_case(rig, log, backend, service, mode, op, ctx)
                row.service = (labels or {}).get(service, service)
                rows.append(row)
                print(table([row]).splitlines()[1], flush=True)
    print("fault-free baseline: " + ", ".join(f"{k} {v}" for k, v in baseline.items()))
    drop_bucket(rig, ctx)
    return rows


def openstack_rows(env: dict, cases: dict, state: str | None, modes: list[str], log: ErrorLog, timeout: float,
                   header: bool) -> list[Row]:
    """The OpenStack cases on one gateway, its state database a private `state` server (or SQLite)."""
    from tests.db_servers import Mariadb, Postgres

    server = {"postgresql": Postgres, "mariadb": Mariadb, None: None}[state]
    db = server() if server and "state" in cases else None
    try:
        url = None
        if db is not None:
            db.start()
            url = db.url() if state == "postgresql" else mariadb_database(db)
        with openstack_rig(env, url, timeout=timeout) as rig:
            if header:
                print(table([]))
            return run_matrix(rig, "openstack", cases, {**ec2_ops(env), **s3_ops()}, modes, log,
                              {"state": f"state/{state}"})
    finally:
        if db is not None:
            db.destroy()


def mariadb_database(db) -> str:
    import asyncio

    import asyncmy

    async def create() -> None:
        conn = await asyncmy.connect(unix_socket=str(db.sock), user="root")
        try:
            async with conn.cursor() as cur:
                await cur.execute("CREATE DATABASE cloudgate")
        finally:
            conn.close()

    asyncio.run(create())
    return db.url("cloudgate")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated proxied services (default: all)")
    parser.add_argument("--modes", default=",".join(m for m in MODES if m != "pass"))
    parser.add_argument("--backends", default="openstack,swift,cloudstack")
    parser.add_argument("--state", default="postgresql,mariadb", help="the state databases the `state` rows run on")
    parser.add_argument("--openstack-timeout", type=float, default=20.0,
                        help="backend deadline on the devcloud OpenStack (its calls take seconds when loaded)")
    args = parser.parse_args()
    modes = args.modes.split(",")
    only = set(args.only.split(",")) if args.only else None
    log = ErrorLog()
    logging.getLogger().addHandler(log)
    rows: list[Row] = []
    started = time.monotonic()
    backends = args.backends.split(",")
    if "openstack" in backends:
        env = json.loads((ROOT / ".devcloud" / "openstack.json").read_text())
        cases = {s: ops for s, ops in OPENSTACK_CASES.items() if only is None or s in only}
        kinds = args.state.split(",") if "state" in cases else []
        first = True
        for kind in kinds or [None]:  # the other services once, with the first state database
            run = cases if first else {"state": cases["state"]}
            if run:
                rows += openstack_rows(env, run, kind, modes, log, args.openstack_timeout, header=first)
            first = False
    if "swift" in backends and (only is None or "swift" in only):
        from tests.conftest import SWIFT_USERS

        port = int(os.environ.get("SWIFT_PROXY_PORT", "18080"))
        with swift_rig(f"http://127.0.0.1:{port}/auth/v1.0", dict(SWIFT_USERS)) as rig:
            rows += run_matrix(rig, "swift", SWIFT_CASES, s3_ops(), modes, log)
    if "cloudstack" in backends and (only is None or "cloudstack" in only):
        with cloudstack_rig() as rig:
            rows += run_matrix(rig, "cloudstack", CLOUDSTACK_CASES, ec2_ops(None), modes, log)
    print()
    print(table(rows))
    failed = [r for r in rows if r.problems]
    services = {(r.backend, r.service) for r in rows}
    print(f"\n{len(rows)} cases ({len(services)} services × {len(modes)} faults × their operations) in "
          f"{time.monotonic() - started:.0f}s: {len(rows) - len(failed)} as expected, {len(failed)} not")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
