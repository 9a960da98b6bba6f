"""The hot path: small and large S3 requests and small EC2 Describes through cloudgate, side by side with
what it fronts, in one run, with the gateway's own CPU time per request.

    .venv/bin/python bench/hot_path.py [--quick] [--skip-s3 | --skip-ec2] [--rounds 3] [--instances 50]

S3 (the devcloud tempauth Swift, `bash devcloud/swift.sh up`): PUT, GET, HEAD, DELETE and LIST of objects of
each size (4 KiB, 64 KiB, 1 MiB) at each concurrency (1, 16, 64) (and MISS, a HEAD of a key that does not
exist, when `--ops` names it), against three targets:

  * cloudgate   `cloudgate serve` as a subprocess (SigV4 header auth, UNSIGNED-PAYLOAD),
  * s3api       Swift's own S3 middleware in the same Swift proxy (same signing, its own account key),
  * swift       Swift's native API directly (X-Auth-Token).

EC2 (the devcloud OpenStack, `.devcloud/openstack.json`): DescribeInstances of tenant A with --instances
servers booted by the bench (whole tenant, as `aws ec2 describe-instances`) and DescribeSecurityGroups, at
concurrency 1 and 16, through cloudgate against the equivalent list calls straight to the backend with the
project token the gateway uses (Nova `GET /servers/detail`, Neutron `GET /v2.0/security-groups`).

Every (operation, size, concurrency) cell runs `--rounds` rounds; in each round the targets take turns, a
different one first each round, so drift and background load (the machine is shared) hit all alike. Every
request is signed before its batch starts (a signature stays valid 15 minutes): client-side signing is not
timed. Printed per cell: the median over rounds of ops/s, p50/p99 latency (ms, all rounds pooled), the
median of the per-round ratios cloudgate/swift and cloudgate/s3api (EC2: cloudgate time / backend time),
and the gateway process's CPU time per request, read from /proc (per-thread schedstat, nanoseconds; the
gateway is otherwise idle) over that target's batches only. The same aiohttp client code drives all targets.
The load average and the CPU time of a fixed reference workload are printed at start and end: CPU per
request is comparable between runs only at a similar reference figure. Prints figures; asserts nothing. Everything the
bench created (bucket, container, servers, a raised quota) is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.s3_throughput import AK, SK, human, launch, parse_size, start_gateway, stop_gateway  # noqa: E402

OPS = ("PUT", "GET", "HEAD", "LIST", "DELETE")
EXTRA_OPS = ("MISS",)  # on request only: HEAD of a key that does not exist (the 404 path)
TARGETS = ("cloudgate", "s3api", "swift")
EC2_OPS = ("DescribeInstances", "DescribeSecurityGroups")
Req = tuple[str, str, dict[str, str], bytes | None]  # method, url, headers, body


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def reference_cpu_ms() -> float:
    """CPU milliseconds this process needs for a fixed pure-Python workload (best of 3): how fast a core is
    right now, to read the gateway's CPU per request against (a loaded shared machine is several times
    slower than an idle one)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for i in range(20000):
            json.dumps({"request_id": i, "path": f"/bucket/key-{i}", "status": 200}).encode().hex()
        best = min(best, time.process_time() - started)
    return best * 1000


# ---- the gateway's CPU time ---------------------------------------------------------------------------------
class CpuClock:
    """CPU seconds a process has used so far: the sum of its threads' schedstat run times (ns precision),
    or utime + stime of /proc/<pid>/stat (10 ms ticks) where schedstat is missing."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def __call__(self) -> float:
        try:
            total = 0
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            return total / 1e9
        except (OSError, ValueError, IndexError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.tick


# ---- one batch of requests at a concurrency -----------------------------------------------------------------
@dataclass
class Batch:
    latencies: list[float]
    seconds: float
    cpu: float | None  # gateway CPU seconds over the batch (cloudgate only)
    errors: list[str]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def run_batch(session: aiohttp.ClientSession, reqs: list[Req], concurrency: int, expect: set[int],
                    cpu: CpuClock | None) -> Batch:
    todo = iter(reqs)
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        for method, url, headers, body in todo:
            started = time.perf_counter()
            try:
                async with session.request(method, url, headers=headers, data=body) as r:
                    data = await r.read()
                    if r.status not in expect:
                        errors.append(f"{method} {url.split('?')[0][-60:]}: {r.status} {data[:160]!r}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(f"{method}: {type(exc).__name__} {exc}")
            latencies.append(time.perf_counter() - started)

    cpu_before = cpu() if cpu else None
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    used = cpu() - cpu_before if cpu and cpu_before is not None else None
    return Batch(latencies, seconds, used, errors)


@dataclass
class Cell:
    """One (operation, size, concurrency): every round's batch per target."""

    batches: dict[str, list[Batch]] = field(default_factory=dict)

    def add(self, target: str, batch: Batch) -> None:
        self.batches.setdefault(target, []).append(batch)

    def rate(self, target: str) -> float | None:
        b = [x for x in self.batches.get(target, []) if not x.errors]
        return statistics.median(x.rate for x in b) if b else None

    def pct(self, target: str, q: float) -> float | None:
        lat = sorted(t for x in self.batches.get(target, []) if not x.errors for t in x.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None

    def ratio(self, a: str, b: str) -> float | None:
        """Median over rounds of a's rate / b's rate within the same round."""
        pairs = [x.rate / y.rate for x, y in zip(self.batches.get(a, []), self.batches.get(b, []), strict=False)
                 if not x.errors and not y.errors and y.rate]
        return statistics.median(pairs) if pairs else None

    def cpu_ms(self, target: str) -> float | None:
        b = [x for x in self.batches.get(target, []) if x.cpu is not None and not x.errors]
        return statistics.median(x.cpu / len(x.latencies) * 1000 for x in b) if b else None

    def errors(self) -> list[str]:
        return [f"{t}: {e}" for t, bs in self.batches.items() for x in bs for e in x.errors[:1]]


def fmt(value: float | None, spec: str) -> str:
    return format(value, spec) if value is not None else format("n/a", f">{spec.split('.')[0]}")


# ---- S3: three targets ----------------------------------------------------------------------------------
class S3Target:
    """S3 path-style requests signed with SigV4 (header auth, UNSIGNED-PAYLOAD)."""

    def __init__(self, endpoint: str, access: str, secret: str, bucket: str, region: str = "us-east-1") -> None:
        self.endpoint, self.bucket, self.region = endpoint, bucket, region
        self.creds = Credentials(access, secret)

    def sign(self, method: str, path: str, headers: dict[str, str] | None = None) -> dict[str, str]:
        req = AWSRequest(method, self.endpoint + path,
                         headers={**(headers or {}), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        SigV4Auth(self.creds, "s3", self.region).add_auth(req)
        return dict(req.headers.items())

    def req(self, method: str, path: str, body: bytes | None = None) -> Req:
        extra = {"Content-Type": "application/octet-stream"} if body is not None else {}
        return method, self.endpoint + path, self.sign(method, path, extra), body

    def container_req(self, method: str) -> Req:
        return self.req(method, f"/{self.bucket}")

    def requests(self, op: str, keys: list[str], body: bytes, prefix: str) -> list[Req]:
        if op == "LIST":
            return [self.req("GET", f"/{self.bucket}?list-type=2&prefix={prefix}")] * len(keys)
        if op == "MISS":
            return [self.req("HEAD", f"/{self.bucket}/{k}-missing") for k in keys]
        method = "GET" if op == "GET" else op
        return [self.req(method, f"/{self.bucket}/{k}", body if op == "PUT" else None) for k in keys]


class SwiftTarget:
    """Swift's native API with a tempauth token."""

    def __init__(self, storage: str, token: str, container: str) -> None:
        self.storage, self.token, self.container = storage, token, container

    def req(self, method: str, path: str, body: bytes | None = None) -> Req:
        headers = {"X-Auth-Token": self.token}
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        return method, f"{self.storage}/{path}", headers, body

    def container_req(self, method: str) -> Req:
        return self.req(method, self.container)

    def requests(self, op: str, keys: list[str], body: bytes, prefix: str) -> list[Req]:
        if op == "LIST":
            return [self.req("GET", f"{self.container}?format=json&prefix={prefix}")] * len(keys)
        if op == "MISS":
            return [self.req("HEAD", f"{self.container}/{k}-missing") for k in keys]
        return [self.req(op, f"{self.container}/{k}", body if op == "PUT" else None) for k in keys]


EXPECT = {"PUT": {200, 201}, "GET": {200}, "HEAD": {200}, "LIST": {200}, "DELETE": {204}, "MISS": {404}}


async def swift_login(session: aiohttp.ClientSession, url: str, user: str, key: str) -> tuple[str, str]:
    async with session.get(f"{url}/auth/v1.0", headers={"X-Storage-User": user, "X-Storage-Pass": key}) as r:
        if r.status // 100 != 2:
            raise SystemExit(f"Swift tempauth login failed: {r.status}")
        return r.headers["X-Storage-Url"], r.headers["X-Auth-Token"]


def batch_size(size: int, concurrency: int, scale: float) -> int:
    """Requests per target per round: enough for every worker to run several, fewer for large objects."""
    base = 160 if size <= 64 * 1024 else 48
    return max(int(base * scale), 4 * concurrency if size <= 64 * 1024 else 2 * concurrency)


async def s3_part(args: argparse.Namespace, endpoint: str, cpu: CpuClock) -> dict[tuple[str, int, int], Cell]:
    timeout = aiohttp.ClientTimeout(total=600, sock_connect=10)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=max(args.concurrency))
    cells: dict[tuple[str, int, int], Cell] = {}
    async with aiohttp.ClientSession(timeout=timeout, connector=connector, auto_decompress=False) as session:
        storage, token = await swift_login(session, args.swift, args.user, args.key)
        tag = secrets.token_hex(4)
        targets: dict[str, Any] = {
            "cloudgate": S3Target(endpoint, AK, SK, f"hot-gw-{tag}"),
            "s3api": S3Target(args.swift, args.user, args.key, f"hot-s3api-{tag}"),
            "swift": SwiftTarget(storage, token, f"hot-swift-{tag}"),
        }
        for name, t in targets.items():
            b = await run_batch(session, [t.container_req("PUT")], 1, {200, 201, 202}, None)
            if b.errors:
                raise SystemExit(f"{name}: cannot create the bucket/container: {b.errors[0]}")
        print(f"\nS3: {', '.join(human(s) for s in args.sizes)} x concurrency "
              f"{', '.join(map(str, args.concurrency))} x {', '.join(args.ops)}; {args.rounds} rounds; "
              f"load {loadavg()}", flush=True)
        header = (f"{'size':>7} {'c':>3} {'op':<6}" + "".join(f" {t + ' ops/s':>15} {'p50':>6} {'p99':>6}"
                                                          for t in TARGETS)
                  + f" {'cg/swift':>8} {'cg/s3api':>8} {'cg cpu ms/req':>13}")
        print(header)
        try:
            for size in args.sizes:
                body = os.urandom(size)
                for conc in args.concurrency:
                    n = batch_size(size, conc, args.scale)
                    for op in args.ops:
                        cells[op, size, conc] = Cell()
                    for rnd in range(args.rounds):
                        prefix = f"k{size}-{conc}-{rnd}-"
                        keys = [f"{prefix}{i}" for i in range(n)]
                        order = list(TARGETS[rnd % 3:] + TARGETS[:rnd % 3])
                        # PUT makes the keys and DELETE removes them, measured or not
                        run = [op for op in OPS + EXTRA_OPS if op in args.ops or op in ("PUT", "DELETE")]
                        for i, op in enumerate(run):
                            turn = order[i % 3:] + order[:i % 3]
                            for name in turn:
                                reqs = targets[name].requests(op, keys, body, prefix)
                                batch = await run_batch(session, reqs, conc, EXPECT[op],
                                                        cpu if name == "cloudgate" else None)
                                if op in args.ops:
                                    cells[op, size, conc].add(name, batch)
                    for op in args.ops:
                        print_row(human(size), conc, op, cells[op, size, conc])
        finally:
            for t in targets.values():
                await run_batch(session, [t.container_req("DELETE")], 1, {204, 404, 409}, None)
    return cells


def print_row(size: str, conc: int, op: str, cell: Cell) -> None:
    line = f"{size:>7} {conc:>3} {op:<6}"
    for t in TARGETS:
        line += f" {fmt(cell.rate(t), '15.0f')} {fmt(cell.pct(t, .5), '6.1f')} {fmt(cell.pct(t, .99), '6.1f')}"
    line += (f" {fmt(cell.ratio('cloudgate', 'swift'), '8.2f')} {fmt(cell.ratio('cloudgate', 's3api'), '8.2f')}"
             f" {fmt(cell.cpu_ms('cloudgate'), '13.3f')}")
    print(line, flush=True)
    for err in cell.errors()[:3]:
        print(f"{'':>18} error: {err[:200]}")


def s3_verdict(cells: dict[tuple[str, int, int], Cell]) -> None:
    """The issue's targets, as figures (never asserted)."""
    print("\nS3 targets (issue 18):")
    for op in ("GET", "PUT"):
        for size, want in ((1024 * 1024, 0.9), (4096, 0.85)):
            cell = cells.get((op, size, 16))
            if cell:
                r = cell.ratio("cloudgate", "swift")
                print(f"  {op} {human(size)} c16 cloudgate/swift {fmt(r, '.2f')} (target >= {want})")
    worst = [(c.ratio("cloudgate", "s3api"), k) for k, c in cells.items() if c.ratio("cloudgate", "s3api")]
    if worst:
        r, (op, size, conc) = min(worst)
        print(f"  lowest cloudgate/s3api {r:.2f} at {op} {human(size)} c{conc} (target >= 1.5 everywhere)")
    for op, want in (("GET", 0.4), ("PUT", 0.6)):
        got = [c.cpu_ms("cloudgate") for (o, s, _), c in cells.items() if o == op and s == 4096]
        got = [g for g in got if g is not None]
        if got:
            print(f"  gateway CPU per 4 KiB {op}: {min(got):.3f}-{max(got):.3f} ms (target <= {want})")


# ---- EC2 --------------------------------------------------------------------------------------------------
def ec2_request(endpoint: str, region: str, tenant: dict[str, Any], action: str) -> Req:
    body = f"Action={action}&Version=2016-11-15"
    req = AWSRequest("POST", endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(tenant["ec2_access"], tenant["ec2_secret"]), "ec2", region).add_auth(req)
    return "POST", endpoint + "/", dict(req.headers.items()), body.encode()


async def ec2_measure(args: argparse.Namespace, env: dict[str, Any], endpoint: str, cpu: CpuClock,
                      token: str, nova_url: str) -> dict[tuple[str, int], Cell]:
    tenant = env["tenants"]["a"]
    neutron = env["endpoints"]["network"].rstrip("/")
    direct: dict[str, Callable[[], Req]] = {
        "DescribeInstances": lambda: ("GET", f"{nova_url}/servers/detail", {
            "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.92", "Accept": "application/json"}, None),
        "DescribeSecurityGroups": lambda: ("GET", f"{neutron}/v2.0/security-groups", {
            "X-Auth-Token": token, "Accept": "application/json"}, None),
    }
    cells: dict[tuple[str, int], Cell] = {}
    timeout = aiohttp.ClientTimeout(total=300, sock_connect=10)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=max(args.ec2_concurrency))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # one untimed call each: connections, the gateway's token and id caches
        for action in EC2_OPS:
            for req in (ec2_request(endpoint, env["region"], tenant, action), direct[action]()):
                b = await run_batch(session, [req], 1, {200}, None)
                if b.errors:
                    raise SystemExit(f"{action} warm-up failed: {b.errors[0]}")
        print(f"\nEC2 (tenant A, {args.instances} bench servers): {args.rounds} rounds; load {loadavg()}; "
              f"reference workload {reference_cpu_ms():.0f} ms CPU")
        print(f"{'action':<24} {'c':>3} {'cloudgate ops/s':>15} {'p50':>7} {'p99':>7} {'direct ops/s':>12} "
              f"{'p50':>7} {'p99':>7} {'time ratio':>10} {'cg cpu ms/req':>13}")
        for action in EC2_OPS:
            for conc in args.ec2_concurrency:
                cell = cells[action, conc] = Cell()
                # few: a Describe of a loaded devcloud's tenant takes seconds, and Nova is shared
                n = max(int(8 * args.scale), 2 * conc)
                for rnd in range(args.rounds):
                    sides = ("cloudgate", "direct") if rnd % 2 == 0 else ("direct", "cloudgate")
                    for side in sides:
                        if side == "cloudgate":
                            reqs = [ec2_request(endpoint, env["region"], tenant, action)] * n
                        else:
                            reqs = [direct[action]()] * n
                        cell.add(side, await run_batch(session, reqs, conc, {200},
                                                       cpu if side == "cloudgate" else None))
                ratio = cell.ratio("direct", "cloudgate")  # = cloudgate time / direct time
                print(f"{action:<24} {conc:>3} {fmt(cell.rate('cloudgate'), '15.1f')} "
                      f"{fmt(cell.pct('cloudgate', .5), '7.1f')} {fmt(cell.pct('cloudgate', .99), '7.1f')} "
                      f"{fmt(cell.rate('direct'), '12.1f')} {fmt(cell.pct('direct', .5), '7.1f')} "
                      f"{fmt(cell.pct('direct', .99), '7.1f')} {fmt(ratio, '9.2f')}x "
                      f"{fmt(cell.cpu_ms('cloudgate'), '13.3f')}", flush=True)
                for err in cell.errors()[:3]:
                    print(f"{'':>28} error: {err[:200]}")
    print("  target: cloudgate time within 1.2x of the direct call's at concurrency 16")
    return cells


def ec2_part(args: argparse.Namespace, workdir: Path) -> None:
    from describe_instances import Cloud  # bench/describe_instances.py: boot, quota, clean-up

    from tests.ec2_os_support import devcloud_gateway, gateway_config

    env = json.loads((ROOT / ".devcloud" / "openstack.json").read_text())
    prefix = f"cghot-{uuid.uuid4().hex[:8]}"
    # The in-process gateway only boots and deletes the bench's servers (Cloud); the measured one is a
    # `cloudgate serve` subprocess, so /proc shows its CPU alone.
    with devcloud_gateway(env) as setup_gw:
        cloud = Cloud(setup_gw, "a")
        cloud.start()
        used, _quota, raised = cloud.make_room(args.instances)
        try:
            if args.instances:
                print(f"\nbooting {args.instances} servers in tenant A ({used} there already), named {prefix}-*",
                      flush=True)
                started = time.monotonic()
                cloud.boot(prefix, args.instances, 50)
                print(f"booted in {time.monotonic() - started:.0f} s", flush=True)
            else:
                print(f"\nno servers booted: tenant A as it is ({used} servers)", flush=True)
            config = gateway_config(env)
            config["logging"] = {"level": args.log_level, "format": "json"}
            config["state"] = {"url": f"sqlite:///{workdir / 'ec2-state.db'}"}
            ec2_dir = workdir / "ec2"
            ec2_dir.mkdir()
            proc, endpoint = launch(ec2_dir, config)
            try:
                asyncio.run(ec2_measure(args, env, endpoint, CpuClock(proc.pid), cloud.token, cloud.nova_url))
            finally:
                stop_gateway(proc)
        finally:
            cloud.clean_up(prefix, raised)


# ---- main ---------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="4 KiB and 1 MiB, concurrency 1 and 16, fewer requests, 10 servers")
    p.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",") if x.strip()])
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--ops", type=lambda s: tuple(x.strip().upper() for x in s.split(",")), default=OPS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", type=float, help="multiplies the requests per batch (default 1, quick 0.5)")
    p.add_argument("--instances", type=int, help="servers booted for DescribeInstances (default 50, quick 10; "
                   "0: none, the tenant as it is, for a slow shared devcloud)")
    p.add_argument("--ec2-concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    p.add_argument("--skip-s3", action="store_true")
    p.add_argument("--skip-ec2", action="store_true")
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--log-level", default="info", help="the gateway's (info: one JSON access line a request)")
    args = p.parse_args(argv)
    args.sizes = args.sizes or ([4096, 1024 * 1024] if args.quick else [4096, 64 * 1024, 1024 * 1024])
    args.concurrency = args.concurrency or ([1, 16] if args.quick else [1, 16, 64])
    args.scale = args.scale or (0.5 if args.quick else 1.0)
    if args.instances is None:
        args.instances = 10 if args.quick else 50
    if args.rounds < 1 or any(op not in OPS + EXTRA_OPS for op in args.ops):
        p.error(f"--rounds >= 1; --ops from {','.join(OPS + EXTRA_OPS)}")
    print(f"cloudgate hot path{' (quick)' if args.quick else ''}: {os.cpu_count()} CPUs shared by the client, "
          f"the gateway and the clouds; load {loadavg()}; reference workload {reference_cpu_ms():.0f} ms CPU")
    with tempfile.TemporaryDirectory(prefix="cg-hot-") as tmp:
        work = Path(tmp)
        if not args.skip_s3:
            proc, endpoint = start_gateway(work, args.swift, args.user, args.key, args.log_level)
            try:
                print(f"gateway {endpoint} (pid {proc.pid}), log level {args.log_level}")
                cells = asyncio.run(s3_part(args, endpoint, CpuClock(proc.pid)))
                s3_verdict(cells)
            finally:
                stop_gateway(proc)
        if not args.skip_ec2:
            sys.path.insert(0, str(ROOT / "bench"))
            ec2_part(args, work)
    print(f"\nload at the end {loadavg()}; reference workload {reference_cpu_ms():.0f} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
