"""Load and soak: 200 concurrent clients against a `cloudgate serve` on the devcloud OpenStack, mixed EC2
describes and S3 PUT/GET/LIST/DELETE of 4 KiB–8 MiB objects (sizes log-uniform), for 10 minutes.

Prints: the error count (any answer that is not a success; target 0), p50/p99 latency per operation against
a baseline measured first in the same run with one client, the gateway's RSS and open file descriptors at
start and end, and the event-loop lag: the latency of an unsigned /healthz probe every 0.5 s (the gateway
answers it without any backend call, so its time is the loop's delay), idle baseline vs under load.

    .venv/bin/python bench/soak.py [--seconds 600] [--clients 200] [--baseline-seconds 20] [--tenant bench]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import yaml  # noqa: E402
import yarl  # noqa: E402
from botocore.auth import S3SigV4Auth, SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

from tests.ec2_os_support import gateway_config  # noqa: E402
from tests.server import free_port, wait_healthy  # noqa: E402

EC2_OPS = ["DescribeInstances", "DescribeImages", "DescribeSecurityGroups", "DescribeAvailabilityZones",
           "DescribeVolumes"]
EC2_SHARE = 0.2
MIN_SIZE, MAX_SIZE = 4 << 10, 8 << 20
KEYS_PER_CLIENT = 4
# The gateway's idle backend connections close after backends.openstack.http.KEEPALIVE_SECONDS (checked every
# as many seconds: up to twice that), its idle client connections after limits.header_timeout_seconds.
IDLE_SECONDS = 45.0


class Client:
    def __init__(self, endpoint: str, region: str, ak: str, sk: str, session: aiohttp.ClientSession) -> None:
        self.endpoint, self.region, self.session = endpoint, region, session
        self.creds = Credentials(ak, sk)

    async def call(self, method: str, path: str, *, service: str, body: bytes = b"", query: str = "",
                   headers: dict | None = None) -> tuple[int, bytes]:
        url = self.endpoint + path + (f"?{query}" if query else "")
        req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        signer = S3SigV4Auth(self.creds, "s3", self.region) if service == "s3" else SigV4Auth(self.creds, "ec2", self.region)
        signer.add_auth(req)
        # the URL exactly as signed (aiohttp would re-quote it otherwise)
        async with self.session.request(method, yarl.URL(url, encoded=True), data=body or None,
                                        headers=dict(req.headers)) as resp:
            data = await resp.read()
            return resp.status, data


def size_of(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))


class Load:
    def __init__(self, client: Client, bucket: str, seed: int) -> None:
        self.client, self.bucket = client, bucket
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.blob = os.urandom(MAX_SIZE)
        self.cycle: Iterator[str] | None = None

    def _err(self, op: str, detail: str) -> None:
        self.errors[op] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{op}: {detail}")

    async def one(self, n: int, keys: dict[str, int]) -> None:
        rng, c = self.rng, self.client
        forced = next(self.cycle) if self.cycle else None  # the baseline: every operation in turn
        if forced in EC2_OPS or (forced is None and rng.random() < EC2_SHARE):
            op = forced or rng.choice(EC2_OPS)
            args = {"DescribeInstances": "&MaxResults=20"}.get(op, "")
            body = f"Action={op}&Version=2016-11-15{args}".encode()
            call = c.call("POST", "/", service="ec2", body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        else:
            choices = ["PutObject", "ListObjectsV2"] + (["GetObject", "DeleteObject"] if keys else [])
            op = forced if forced in choices else rng.choice(choices)
            key = f"c{n}/k{rng.randrange(KEYS_PER_CLIENT)}" if op == "PutObject" else rng.choice(list(keys or [""]))
            if op == "PutObject":
                size = size_of(rng)
                start = rng.randrange(MAX_SIZE - size + 1)
                call = c.call("PUT", f"/{self.bucket}/{key}", service="s3", body=self.blob[start:start + size])
            elif op == "GetObject":
                call = c.call("GET", f"/{self.bucket}/{key}", service="s3")
            elif op == "DeleteObject":
                call = c.call("DELETE", f"/{self.bucket}/{key}", service="s3")
            else:
                call = c.call("GET", f"/{self.bucket}", service="s3", query=f"list-type=2&prefix=c{n}%2F")
        started = time.monotonic()
        try:
            status, data = await call
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            self._err(op, f"{type(e).__name__}")
            return
        self.latency[op].append(time.monotonic() - started)
        if status >= 300:
            self._err(op, f"HTTP {status} {data[:160]!r}")
            return
        if op == "PutObject":
            keys[key] = size
        elif op == "GetObject" and len(data) != keys[key]:
            self._err(op, f"{len(data)} bytes, {keys[key]} put")
        elif op == "DeleteObject":
            keys.pop(key, None)


async def clients(load: Load, n_clients: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds

    async def run(n: int) -> None:
        keys: dict[str, int] = {}
        while time.monotonic() < deadline:
            await load.one(n, keys)
        for key in list(keys):  # leave the bucket empty
            await load.client.call("DELETE", f"/{load.bucket}/{key}", service="s3")

    await asyncio.gather(*(run(n) for n in range(n_clients)))


async def probe_lag(endpoint: str, session: aiohttp.ClientSession, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            async with session.get(endpoint + "/healthz") as resp:
                await resp.read()
            out.append(time.monotonic() - started)
        except (aiohttp.ClientError, OSError):
            pass
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def resources(proc: psutil.Process) -> tuple[float, int]:
    return proc.memory_info().rss / 2**20, proc.num_fds()


class Sampler:
    """RSS and open fds of the gateway every 0.2 s in a thread, for the peak under load."""

    def __init__(self, proc: psutil.Process) -> None:
        self.proc, self.peak_rss, self.peak_fds = proc, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(psutil.Error):
                rss, fds = resources(self.proc)
                self.peak_rss, self.peak_fds = max(self.peak_rss, rss), max(self.peak_fds, fds)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def fd_kinds(proc: psutil.Process, port: int, services: dict[int, str]) -> str:
    """What the open fds are: sockets by peer (a backend service by its port, `clients` for connections
    accepted on the gateway's port), files, and the rest (pipes, epoll, eventfd)."""
    kinds: Counter[str] = Counter()
    socks = 0
    for c in proc.net_connections(kind="all"):
        socks += 1
        if c.status == psutil.CONN_LISTEN:
            kinds["listening"] += 1
        elif c.laddr and isinstance(c.laddr, tuple) and c.laddr[1] == port:
            kinds["clients"] += 1
        elif c.raddr and isinstance(c.raddr, tuple):
            name = services.get(c.raddr[1], f":{c.raddr[1]}")
            kinds[f"{name}{'' if c.status == psutil.CONN_ESTABLISHED else ' ' + c.status}"] += 1
        else:
            kinds["other socket"] += 1
    files = len(proc.open_files())
    kinds["files"] = files
    kinds["pipes/epoll/eventfd"] = proc.num_fds() - socks - files
    return ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v)


async def phase(endpoint: str, region: str, keys: tuple[str, str], bucket: str, n_clients: int, seconds: float,
                seed: int) -> tuple[Load, list[float]]:
    conn = aiohttp.TCPConnector(limit=n_clients + 10)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as probe_session:
        load = Load(Client(endpoint, region, *keys, session), bucket, seed)
        if n_clients == 1:
            load.cycle = itertools.cycle([*EC2_OPS, "PutObject", "GetObject", "ListObjectsV2", "DeleteObject"])
        stop, lag = asyncio.Event(), []
        prober = asyncio.create_task(probe_lag(endpoint, probe_session, stop, lag))
        await clients(load, n_clients, seconds)
        stop.set()
        await prober
    return load, lag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--tenant", default="bench", help="a tenant of .devcloud/openstack.json")
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS,
                        help="quiet time after the load before the last fd count (above the keep-alive timeouts)")
    args = parser.parse_args()
    env = json.loads((ROOT / ".devcloud" / "openstack.json").read_text())
    tenant = env[args.tenant] if args.tenant in env else env["tenants"][args.tenant]
    keys = (tenant["ec2_access"], tenant["ec2_secret"])
    work = Path(tempfile.mkdtemp(prefix="cg-soak-"))
    cfg = gateway_config(env)
    cfg["state"] = {"url": f"sqlite:///{work}/state.db"}
    cfg["backend"]["options"]["timeout"] = 120
    (work / "cloudgate.yaml").write_text(yaml.safe_dump(cfg))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).with_name("cloudgate")
    with open(work / "gateway.log", "wb") as log:
        proc = subprocess.Popen([str(exe), "serve", "--config", str(work / "cloudgate.yaml"), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT)
    bucket = f"cg-soak-{os.urandom(4).hex()}"
    try:
        wait_healthy(endpoint, 60)
        gw = psutil.Process(proc.pid)

        async def setup() -> None:
            async with aiohttp.ClientSession() as s:
                body = (f'<CreateBucketConfiguration><LocationConstraint>{env["region"]}'
                        '</LocationConstraint></CreateBucketConfiguration>').encode()
                status, data = await Client(endpoint, env["region"], *keys, s).call("PUT", f"/{bucket}", service="s3",
                                                                                    body=body)
                assert status == 200, (status, data[:300])

        asyncio.run(setup())
        base, base_lag = asyncio.run(phase(endpoint, env["region"], keys, bucket, 1, args.baseline_seconds, 1))
        services = {urlsplit(u).port or 80: name for name, u in {**env["endpoints"], "keystone": env["auth_url"]}.items()}
        rss0, fds0 = resources(gw)
        print(f"gateway at start of load: RSS {rss0:.0f} MiB, {fds0} open fds ({fd_kinds(gw, port, services)})")
        started = time.monotonic()
        with Sampler(gw) as peak:
            load, lag = asyncio.run(phase(endpoint, env["region"], keys, bucket, args.clients, args.seconds, 2))
        elapsed = time.monotonic() - started
        rss1, fds1 = resources(gw)
        print(f"gateway as the clients leave: RSS {rss1:.0f} MiB, {fds1} open fds ({fd_kinds(gw, port, services)})")
        time.sleep(5)
        rss2, fds2 = resources(gw)
        time.sleep(max(0.0, args.idle_seconds - 5))
        rss3, fds3 = resources(gw)
        print(f"gateway idle {args.idle_seconds:.0f} s later: RSS {rss3:.0f} MiB, {fds3} open fds "
              f"({fd_kinds(gw, port, services)})")
    finally:
        async def teardown() -> None:
            async with aiohttp.ClientSession() as s:
                await Client(endpoint, env["region"], *keys, s).call("DELETE", f"/{bucket}", service="s3")
        try:
            asyncio.run(teardown())
        except Exception:  # noqa: BLE001 - best effort
            pass
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
    total = sum(len(v) for v in load.latency.values())
    errors = sum(load.errors.values())
    print(f"\n{args.clients} clients for {elapsed:.0f}s: {total} requests ({total / elapsed:.0f}/s), errors {errors}")
    print(f"{'operation':26} {'n':>7} {'p50 ms':>9} {'p99 ms':>9} {'1-client p50':>13} {'ratio':>6} errors")
    for op in sorted(load.latency):
        v, b = load.latency[op], base.latency.get(op, [])
        ratio = pct(v, 50) / pct(b, 50) if b else float("nan")
        print(f"{op:26} {len(v):7d} {pct(v, 50) * 1000:9.1f} {pct(v, 99) * 1000:9.1f} "
              f"{pct(b, 50) * 1000:13.1f} {ratio:6.1f} {load.errors.get(op, 0)}")
    for s in load.samples:
        print(f"   error: {s}")
    print(f"gateway RSS MiB: start {rss0:.0f}, peak {peak.peak_rss:.0f}, end {rss1:.0f}, 5 s later {rss2:.0f}, "
          f"idle {args.idle_seconds:.0f} s later {rss3:.0f}")
    print(f"gateway open fds: start {fds0}, peak {peak.peak_fds}, end {fds1}, 5 s later {fds2}, "
          f"idle {args.idle_seconds:.0f} s later {fds3} (start→idle ratio {fds3 / max(fds0, 1):.2f})")
    print(f"event-loop lag (/healthz latency): idle p50 {pct(base_lag, 50) * 1000:.1f} ms; under load "
          f"p50 {pct(lag, 50) * 1000:.1f} ms, p99 {pct(lag, 99) * 1000:.1f} ms, max {max(lag, default=0) * 1000:.1f} ms "
          f"({len(lag)} probes; mean {statistics.fmean(lag) * 1000 if lag else 0:.1f} ms)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
