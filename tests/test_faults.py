"""Backend fault injection, a bounded matrix (bench/faults.py runs the full one and prints the table).

A fault proxy (tests/faults/proxy.py) sits between an in-process gateway and each backend service; per case
one proxy turns to a fault, one representative operation runs, the fault ends, the operation runs again.
Each faulted request must end (an answer, not a hang) within a few backend deadlines with ServiceUnavailable
(503) — or succeed under latency below the deadline, or be cut short when the backend cut a body already
being sent — the next request must succeed (the gateway recovers by itself), and the gateway must log no
unhandled error. The tempauth Swift and the CloudStack simulator get every fault; the devcloud OpenStack
(slow when the machine is loaded) a sample of the ones that fail fast, plus its state database.
"""

from __future__ import annotations

import os
from typing import Any

from tests.conftest import SwiftEndpoint
from tests.faults import matrix
from tests.faults.matrix import (
    ErrorLog,
    drop_bucket,
    ec2_ops,
    run_case,
    s3_ops,
    table,
)
from tests.faults.proxy import MODES
from tests.faults.rig import cloudstack_rig, openstack_rig, swift_rig
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - the devcloud fixture
from tests.store_fixtures import pg_server  # noqa: F401 - a private PostgreSQL for the state database

error_log = matrix.error_log  # the fixture
FAULTS = [m for m in MODES if m != "pass"]
FAST_TIMEOUT = 2.0  # the backend deadline where the backend is local and quick (Swift, the simulator)


def _check(rows: list) -> None:
    failed = [r for r in rows if r.problems]
    assert not failed, "\n" + table(failed)


def test_swift_faults(swift_endpoint: SwiftEndpoint, error_log: ErrorLog) -> None:
    """Every fault on the tempauth Swift for GetObject, three for PutObject. GetObject under `truncated` is the
    regression test of a body cut mid-stream: the client's connection is now cut at once (a short read)
    instead of being left waiting for the promised bytes."""
    ops, ctx, rows = s3_ops(), {}, []
    with swift_rig(swift_endpoint.auth_url, dict(swift_endpoint.users), timeout=FAST_TIMEOUT) as rig:
        try:
            ops["PutObject"].prepare(rig, ctx)
            for name, modes in (("GetObject", FAULTS), ("PutObject", ["stall", "reset", "truncated"])):
                rows += [run_case(rig, error_log, "swift", "swift", mode, ops[name], ctx) for mode in modes]
        finally:
            drop_bucket(rig, ctx)
    _check(rows)
    cut = next(r for r in rows if (r.op, r.mode) == ("GetObject", "truncated"))
    assert (cut.faulted.status, cut.faulted.code) in {(0, "cut"), (503, "ServiceUnavailable")}


def test_cloudstack_faults(error_log: ErrorLog) -> None:
    ops, ctx = ec2_ops(None), {}
    with cloudstack_rig(timeout=FAST_TIMEOUT) as rig:
        rows = [run_case(rig, error_log, "cloudstack", "cloudstack", mode, ops["DescribeInstances"], ctx)
                for mode in FAULTS]
    _check(rows)


# (service, fault, operation): what fails fast on a loaded devcloud; bench/faults.py runs all of them
OPENSTACK_SAMPLE = [
    ("keystone", "error", "ListBuckets(cold key)"),
    ("object-store", "truncated", "GetObject"),
    ("network", "garbage", "DescribeSecurityGroups"),
    ("state", "stall", "PutObject"),
    ("state", "reset", "PutObject"),
]


def test_openstack_faults(openstack_env: dict[str, Any], pg_server: Any, error_log: ErrorLog) -> None:  # noqa: F811
    ops, ctx, rows = {**ec2_ops(openstack_env), **s3_ops()}, {}, []
    timeout = float(os.environ.get("CLOUDGATE_FAULTS_OPENSTACK_TIMEOUT", "20"))
    with openstack_rig(openstack_env, pg_server.url(), timeout=timeout) as rig:
        try:
            ops["PutObject"].prepare(rig, ctx)
            for service, mode, name in OPENSTACK_SAMPLE:
                rows.append(run_case(rig, error_log, "openstack", service, mode, ops[name], ctx))
        finally:
            drop_bucket(rig, ctx)
    _check(rows)
