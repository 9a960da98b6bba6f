"""The fault × service × operation matrix: run one case, judge how it ended.

A case: switch one proxy to a fault, run one representative operation through the gateway, switch the
proxy back, run the operation again. It passes when the faulted call ended (an answer, not a hang) within
the deadline bound with an accepted AWS answer, the retry after the fault succeeded (the gateway recovered
by itself), and the gateway logged no unhandled error. Operations that create something also check what
the backend holds afterwards (RunInstances: no server the gateway does not show).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.faults.rig import STATE_TIMEOUT, Outcome, Rig, outcome, unique

# What a fault may end in: the service's answer when the backend is down or broken (503), a success when
# the fault did not stop the operation (latency under the deadline).
UNAVAILABLE = {(503, "ServiceUnavailable")}
OK = {(200, "")}
ACCEPTED: dict[str, set[tuple[int, str]]] = {
    "latency": OK, "stall": UNAVAILABLE, "blackhole": UNAVAILABLE, "reset": UNAVAILABLE,
    "error": UNAVAILABLE, "garbage": UNAVAILABLE,
    # a body cut after the status line was sent can only be passed on as a cut: the client sees a short read
    "truncated": UNAVAILABLE | {(0, "cut")},
}
LATENCY = 1.0  # below BACKEND_TIMEOUT: the operation must still succeed
GHOST_WAIT = 45.0  # how long a server left by a lost launch may take to be cleaned up


def deadline_bound(rig: Rig, service: str) -> float:
    """How long a faulted request may take: a few backend deadlines (an operation makes several calls in a
    row, each with its own deadline) plus scheduling slack on a loaded machine. Not a performance figure:
    the hang detector."""
    per_call = STATE_TIMEOUT if service == "state" else rig.timeout
    return 4 * per_call + 10


class ErrorLog(logging.Handler):
    """Collects `unhandled error` (and any other error-level) records of the gateway while a case runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(f"{record.name}: {record.getMessage()}")

    def take(self) -> list[str]:
        with self._lock:
            out, self.records = self.records, []
        return out


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    """Every log record at error level (or with a traceback) while a test runs."""
    log = ErrorLog()
    root = logging.getLogger()
    root.addHandler(log)
    yield log
    root.removeHandler(log)


@dataclass
class Op:
    """One representative operation: `prepare` once (fault-free), `call` per case, `check` after recovery."""

    name: str
    call: Callable[[Rig, dict], Any]
    prepare: Callable[[Rig, dict], None] = lambda rig, ctx: None
    check: Callable[[Rig, dict], str] = lambda rig, ctx: ""
    cold_key: bool = False   # the validator forgets the keys first (Keystone is asked)


@dataclass
class Row:
    backend: str
    service: str
    mode: str
    op: str
    faulted: Outcome
    recovered: Outcome
    problems: list[str] = field(default_factory=list)
    hits: int = 0  # requests (or connections) the proxy met under the fault


def run_case(rig: Rig, log: ErrorLog, backend: str, service: str, mode: str, op: Op, ctx: dict) -> Row:
    log.take()
    if op.cold_key:
        rig.run(_forget(rig))
    # the state database makes several round trips per request under a 2 s deadline: a smaller delay
    counts = rig.proxies[service].counts
    before = counts[mode] + counts[f"{mode} answer"]
    rig.proxies.set(service, mode, delay=LATENCY / 5 if service == "state" else LATENCY)
    try:
        faulted, _ = outcome(lambda: op.call(rig, ctx))
    finally:
        rig.proxies.set(service, "pass")
    hits = counts[mode] + counts[f"{mode} answer"] - before
    recovered, _ = _recover(rig, op, ctx)
    problems = []
    if not hits:  # the operation never reached the service: the case proved nothing
        problems.append(f"the operation sent nothing to {service} under the fault")
    if (faulted.status, faulted.code) not in ACCEPTED[mode]:
        problems.append(f"ended {faulted} ({faulted.detail}), expected one of {sorted(ACCEPTED[mode])}")
    if faulted.seconds > deadline_bound(rig, service):
        problems.append(f"took {faulted.seconds:.1f}s, over the bound {deadline_bound(rig, service):.0f}s")
    if (recovered.status, recovered.code) != (200, ""):
        problems.append(f"did not recover: {recovered} ({recovered.detail})")
    problems += [f"logged: {line}" for line in log.take()]
    try:
        leaked = op.check(rig, ctx)
    except Exception as e:  # noqa: BLE001 - the check itself could not run (the backend is slow): say so
        leaked = f"check failed: {type(e).__name__}: {str(e)[:120]}"
    if leaked:
        problems.append(leaked)
    return Row(backend, service, mode, op.name, faulted, recovered, problems, hits)


def _recover(rig: Rig, op: Op, ctx: dict) -> tuple[Outcome, Any]:
    """The first call after the fault may still meet a connection the fault broke; a healthy gateway
    answers the next ones. Up to three tries, a second apart."""
    result: tuple[Outcome, Any] = (Outcome(0, "untried", 0.0), None)
    for _ in range(3):
        result = outcome(lambda: op.call(rig, ctx))
        if result[0].status == 200:
            break
        time.sleep(1)
    return result


async def _forget(rig: Rig) -> None:
    rig.forget_keys()


# ---- the operations -------------------------------------------------------------------------------------
def ec2_ops(env: dict[str, Any] | None) -> dict[str, Op]:
    def describe(rig: Rig, ctx: dict) -> Any:
        return rig.client("ec2").describe_instances(MaxResults=5)

    def prepare_run(rig: Rig, ctx: dict) -> None:
        ec2 = rig.client("ec2")
        name = env["image"]["name"] if env else None
        images = ec2.describe_images(Filters=[{"Name": "name", "Values": [name]}] if name else [])["Images"]
        ctx["ami"] = images[0]["ImageId"]
        ctx["run_name"] = unique("faults-run")

    def run(rig: Rig, ctx: dict) -> Any:
        token = unique("tok")
        ctx.setdefault("tokens", []).append(token)
        return rig.client("ec2").run_instances(
            ImageId=ctx["ami"], InstanceType="t2.micro", MinCount=1, MaxCount=1, ClientToken=token,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": ctx["run_name"]}]}])

    def no_ghosts(rig: Rig, ctx: dict) -> str:
        """Every server the backend holds under this case's name is one DescribeInstances shows (then
        terminated); nothing is left behind by a launch whose answer was lost."""
        from tests.faults.nova import servers_named

        ec2 = rig.client("ec2")
        shown = [i["InstanceId"] for r in ec2.describe_instances(
            Filters=[{"Name": "tag:Name", "Values": [ctx["run_name"]]}])["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")]
        if env is None:
            return ""
        # a launch whose answer was lost is cleaned up by the gateway as soon as Nova answers again
        deadline = time.monotonic() + GHOST_WAIT
        held = servers_named(env, ctx["run_name"])
        while len(held) > len(shown) and time.monotonic() < deadline:
            time.sleep(3)
            held = servers_named(env, ctx["run_name"])
        if shown:
            ec2.terminate_instances(InstanceIds=shown)
        if len(held) > len(shown):
            from tests.faults.nova import delete_servers

            delete_servers(env, held)
            return (f"ghost: the backend holds {len(held)} servers named {ctx['run_name']}, DescribeInstances "
                    f"shows {len(shown)}, {GHOST_WAIT:.0f} s after the fault ended")
        return ""

    def prepare_volume(rig: Rig, ctx: dict) -> None:
        ctx["zone"] = rig.client("ec2").describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
        ctx["volumes"] = []

    def create_volume(rig: Rig, ctx: dict) -> Any:
        vol = rig.client("ec2").create_volume(Size=1, AvailabilityZone=ctx["zone"])
        ctx["volumes"].append(vol["VolumeId"])
        return vol

    def drop_volumes(rig: Rig, ctx: dict) -> str:
        ec2 = rig.client("ec2")
        for vid in ctx.pop("volumes", []):
            for _ in range(20):
                try:
                    ec2.delete_volume(VolumeId=vid)
                    break
                except Exception:  # noqa: BLE001 - still creating: wait, bounded
                    time.sleep(0.5)
        ctx["volumes"] = []
        return ""

    return {
        "DescribeInstances": Op("DescribeInstances", describe),
        "DescribeInstances(cold key)": Op("DescribeInstances(cold key)", describe, cold_key=True),
        "RunInstances": Op("RunInstances", run, prepare_run, no_ghosts),
        "CreateVolume": Op("CreateVolume", create_volume, prepare_volume, drop_volumes),
        "DescribeImages": Op("DescribeImages", lambda rig, ctx: rig.client("ec2").describe_images(
            Filters=[{"Name": "name", "Values": [env["image"]["name"]]}] if env else [])),
        "DescribeSecurityGroups": Op("DescribeSecurityGroups",
                                     lambda rig, ctx: rig.client("ec2").describe_security_groups()),
    }


def s3_ops() -> dict[str, Op]:
    body = b"fault-proxy-" * 1000

    def prepare(rig: Rig, ctx: dict) -> None:
        if "bucket" not in ctx:
            ctx["bucket"] = unique("cg-faults")
            s3 = rig.client("s3")
            where = {} if rig.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": rig.region}}
            s3.create_bucket(Bucket=ctx["bucket"], **where)
            s3.put_object(Bucket=ctx["bucket"], Key="fixed", Body=body)

    def get(rig: Rig, ctx: dict) -> Any:
        got = rig.client("s3").get_object(Bucket=ctx["bucket"], Key="fixed")["Body"].read()
        assert got == body, "GetObject returned other bytes than were put"
        return got

    return {
        "ListBuckets": Op("ListBuckets", lambda rig, ctx: rig.client("s3").list_buckets(), prepare),
        "ListBuckets(cold key)": Op("ListBuckets(cold key)", lambda rig, ctx: rig.client("s3").list_buckets(),
                                    prepare, cold_key=True),
        "PutObject": Op("PutObject", lambda rig, ctx: rig.client("s3").put_object(
            Bucket=ctx["bucket"], Key=unique("k"), Body=body), prepare),
        "GetObject": Op("GetObject", get, prepare),
    }


def drop_bucket(rig: Rig, ctx: dict) -> None:
    if "bucket" not in ctx:
        return
    s3 = rig.client("s3")
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ctx["bucket"]):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=ctx["bucket"], Key=obj["Key"])
        s3.delete_bucket(Bucket=ctx["bucket"])
    except Exception:  # noqa: BLE001 - best-effort clean-up of a test bucket
        pass


def table(rows: list[Row]) -> str:
    lines = [f"{'backend':10} {'service':16} {'fault':10} {'operation':28} {'hits':>4} {'faulted':28} {'after':16} "
             "verdict"]
    for r in rows:
        lines.append(f"{r.backend:10} {r.service:16} {r.mode:10} {r.op:28} {r.hits:4d} {str(r.faulted):28} "
                     f"{str(r.recovered):16} {'ok' if not r.problems else 'FAIL: ' + '; '.join(r.problems)}")
    return "\n".join(lines)
