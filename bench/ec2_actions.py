"""Per-resource EC2 actions at two tenant sizes, on the devcloud OpenStack: their cost must not grow with the
tenant (issue 10: the 300/10 latency ratio ≤ 1.2, backend calls identical).

    .venv/bin/python bench/ec2_actions.py [--sizes 10,300] [--runs 7] [--batch 50]

Boots the small size in devcloud's `bench_small` project and the large one in its `bench` project, straight
through Nova (as bench/describe_instances.py does, whose `Cloud` this reuses; the instance quota is raised
with the service credentials when needed and restored). It then measures both tenants alternately (request
for request, so a change in the machine's load hits both alike), warm, through a SigV4-signed keep-alive
HTTP client:

  * StopInstances of one running instance (a different one each run, so every run really stops one),
  * DescribeInstances with one InstanceId,
  * CreateTags on one instance,

and prints per action the median latency, the backend HTTP calls one request makes (the backend's HTTP
observer) and the state store reads it makes (gets, and rows returned by scans; counted by wrapping the
gateway's store in this bench, not in production code), then the ratios of the largest size to the
smallest, and each backend call's own median time at both sizes (timed around the backend's HTTP client
in this bench): what grows with the tenant inside the cloud itself, not in the gateway.

Booting 300 servers on the devcloud takes about an hour: `--keep` leaves them (and the raised quota) for
the next run, `--reuse PREFIX` measures on the servers a `--keep` run left (stopped ones are started
first). Otherwise everything the bench created is deleted. After a fresh boot the bench waits `--settle`
seconds, so the figures are not taken while the cloud still finishes the large tenant's last builds:
measured straight after the 300th boot, one run gave DescribeInstances 1.56x; on settled servers
(--reuse) four runs gave 0.96-1.06x. Figures only: no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from describe_instances import Cloud, bench_tenant  # noqa: E402

from gateway.app import GATEWAY_KEY  # noqa: E402
from gateway.ec2.ids import derive  # noqa: E402
from tests.ec2_os_support import Gateway, devcloud_gateway  # noqa: E402


class StoreReads:
    """Counts the state store reads the gateway makes: gets, and the rows scans return."""

    def __init__(self, store: Any) -> None:
        self.gets = 0
        self.scanned = 0
        get, scan = store.get, store.scan

        async def counted_get(ns: str, key: str) -> Any:
            self.gets += 1
            return await get(ns, key)

        async def counted_scan(ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
            rows = await scan(ns, prefix, limit)
            self.scanned += len(rows)
            return rows

        store.get, store.scan = counted_get, counted_scan  # this bench's gateway only

    def snapshot(self) -> tuple[int, int]:
        return self.gets, self.scanned


class CallTimes:
    """Each backend HTTP call's time, by method and path shape (ids replaced), around the backend's client."""

    ID = re.compile(r"/[0-9a-f]{32}|/[0-9a-f-]{36}")

    def __init__(self, http: Any) -> None:
        self.ms: dict[str, list[float]] = {}
        self.recording = False
        request = http.request

        async def timed(method: str, url: str, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await request(method, url, **kw)
            finally:
                if self.recording:
                    shape = self.ID.sub("/{id}", url.split("://", 1)[-1])
                    if kw.get("params"):
                        shape += "?" + "&".join(sorted({k for k, _ in _pairs(kw["params"])}))
                    self.ms.setdefault(f"{method} {shape}", []).append((time.perf_counter() - started) * 1000)

        http.request = timed  # this bench's gateway only

    def take(self) -> dict[str, list[float]]:
        taken, self.ms = self.ms, {}
        return taken


def _pairs(params: Any) -> list[tuple[str, str]]:
    return list(params.items()) if hasattr(params, "items") else list(params)


def signed(gw: Gateway, tenant: dict[str, Any], params: dict[str, str]) -> tuple[str, dict[str, str], str]:
    body = urlencode({**params, "Version": "2016-11-15"})
    req = AWSRequest("POST", gw.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(tenant["ec2_access"], tenant["ec2_secret"]), "ec2", gw.env["region"]).add_auth(req)
    return req.url, dict(req.headers.items()), body


Action = Callable[[int], dict[str, str]]  # run number -> request parameters


def measure(gw: Gateway, pool: urllib3.PoolManager, tenant: dict[str, Any], params: dict[str, str],
            reads: StoreReads) -> tuple[float, int, int, int]:
    """One request: its ms, backend calls, store gets and scanned rows."""
    url, headers, body = signed(gw, tenant, params)
    calls_before, (gets_before, scanned_before) = len(gw.calls), reads.snapshot()
    started = time.perf_counter()
    resp = pool.request("POST", url, headers=headers, body=body, preload_content=True)
    elapsed = (time.perf_counter() - started) * 1000
    if resp.status != 200:
        raise RuntimeError(f"{params} -> {resp.status}: {resp.data[:300]!r}")
    gets, scanned = (a - b for a, b in zip(reads.snapshot(), (gets_before, scanned_before), strict=True))
    return elapsed, len(gw.calls) - calls_before, gets, scanned


def actions(booted: list[str], runs: int) -> dict[str, Action]:
    """The first instance is tagged and described; the last `runs + 1` are stopped, one per run."""
    target = derive("instance", booted[0])
    fresh = [derive("instance", sid) for sid in booted[-(runs + 1):]]
    return {
        "StopInstances (1 id)": lambda i: {"Action": "StopInstances", "InstanceId.1": fresh[i]},
        "DescribeInstances (1 InstanceId)": lambda i: {"Action": "DescribeInstances", "InstanceId.1": target},
        "CreateTags (1 instance)": lambda i: {"Action": "CreateTags", "ResourceId.1": target,
                                              "Tag.1.Key": "bench", "Tag.1.Value": str(i)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,300", help="the small and the large tenant's instance count")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="leave the booted servers for --reuse")
    parser.add_argument("--reuse", metavar="PREFIX", help="measure on the servers a --keep run left")
    parser.add_argument("--settle", type=float, default=120, help="seconds to wait after a fresh boot")
    args = parser.parse_args()
    small, large = sorted(int(s) for s in args.sizes.split(","))
    if small < args.runs + 2:
        parser.error(f"the small size must hold --runs + 2 instances ({args.runs + 2}): each run stops one")
    env = json.loads((ROOT / ".devcloud" / "openstack.json").read_text())
    keys = {small: bench_tenant(env, "bench_small"), large: bench_tenant(env, "bench")}
    prefix = args.reuse or f"cgbench-{uuid.uuid4().hex[:8]}"
    pool = urllib3.PoolManager(maxsize=4)

    with devcloud_gateway(env) as gw:
        reads = StoreReads(gw.app[GATEWAY_KEY].store)
        times = CallTimes(gw.backend.http)
        clouds = {size: Cloud(gw, key) for size, key in keys.items()}
        raised: dict[int, int | None] = {}
        for size, cloud in clouds.items():
            cloud.start()
            if args.reuse:
                raised[size] = None
                continue
            cloud.delete("cgbench-")  # what an interrupted earlier run left (these projects are the benches' own)
            used, _, raised[size] = cloud.make_room(size)
            print(f"{cloud.tenant['project_name']}: {used} instances before the bench; {size} to boot")
        print(f"{args.runs} warm runs per figure, the two tenants alternately; bench servers: {prefix}-*\n")
        try:
            todo: dict[int, dict[str, Action]] = {}
            for size, cloud in clouds.items():
                booted = (cloud.run(_reused(cloud, f"{prefix}-{size}", size)) if args.reuse
                          else cloud.boot(f"{prefix}-{size}", size, args.batch))
                todo[size] = actions(booted, args.runs)
            if not args.reuse:
                time.sleep(args.settle)
            for key in keys.values():  # the gateway learns the EC2 ids as a client would: one full Describe
                gw.client(key).describe_instances()
            results: dict[int, dict[str, tuple[float, int, int, int]]] = {small: {}, large: {}}
            call_ms: dict[str, dict[int, dict[str, list[float]]]] = {}
            for name in todo[small]:
                samples: dict[int, list[float]] = {small: [], large: []}
                call_ms[name] = {small: {}, large: {}}
                for i in range(args.runs + 1):  # run 0 warms up
                    for size in (small, large):
                        times.recording = bool(i)
                        ms, calls, gets, scanned = measure(gw, pool, env["tenants"][keys[size]],
                                                           todo[size][name](i), reads)
                        times.recording = False
                        for shape, each in times.take().items():
                            call_ms[name][size].setdefault(shape, []).extend(each)
                        if i:
                            samples[size].append(ms)
                        results[size][name] = (statistics.median(samples[size] or [ms]), calls, gets, scanned)
            print(f"{'N':>5} {'action':<34} {'median ms':>10} {'backend calls':>14} {'store gets':>11} "
                  f"{'rows scanned':>13}")
            for size in (small, large):
                for name, (ms, calls, gets, scanned) in results[size].items():
                    print(f"{size:>5} {name:<34} {ms:>10.1f} {calls:>14} {gets:>11} {scanned:>13}")
            print(f"\n{large}/{small}: {'latency ratio':>14} {'backend calls':>14} {'store reads':>12}")
            for name in results[small]:
                (ms_s, calls_s, gets_s, rows_s), (ms_l, calls_l, gets_l, rows_l) = (
                    results[small][name], results[large][name])
                same = "identical" if calls_s == calls_l else f"{calls_s} -> {calls_l}"
                print(f"  {name:<34} {ms_l / ms_s:>5.2f}x {same:>14} {gets_s + rows_s:>4} -> {gets_l + rows_l:<4}")
            print(f"\neach backend call's median ms, as the gateway waited for it ({small} -> {large} instances)")
            for name, by_size in call_ms.items():
                print(f"  {name}")
                for shape in sorted(set(by_size[small]) | set(by_size[large])):
                    a, b = (statistics.median(by_size[n][shape]) if by_size[n].get(shape) else float("nan")
                            for n in (small, large))
                    print(f"    {shape[:78]:<78} {a:>7.1f} -> {b:>7.1f}  {b / a:>5.2f}x")
        finally:
            for size, cloud in clouds.items():
                if args.keep or args.reuse:
                    print(f"kept {prefix}-{size}-* in {cloud.tenant['project_name']} (--reuse {prefix})")
                else:
                    cloud.clean_up(f"{prefix}-{size}", raised[size])


async def _reused(cloud: Cloud, prefix: str, size: int) -> list[str]:
    """The ids of the `size` servers named prefix-N, all running: the stopped ones (a previous run's
    StopInstances) are started first."""
    servers = await cloud.compute.nova.servers(name=f"^{prefix}-[0-9]+$")
    if len(servers) != size:
        raise SystemExit(f"--reuse: {len(servers)} servers named {prefix}-N, not {size}")
    for s in servers:
        if s.get("status") == "SHUTOFF":
            await cloud.compute.start_server(s["id"])
    for _ in range(60):
        if all(s.get("status") == "ACTIVE" for s in await cloud.compute.nova.servers(name=f"^{prefix}-[0-9]+$")):
            return [s["id"] for s in sorted(servers, key=lambda s: s["id"])]
        await asyncio.sleep(5)
    raise SystemExit(f"--reuse: the servers named {prefix}-N are not all ACTIVE after 5 minutes")


if __name__ == "__main__":
    main()
