"""What one small S3 request costs through cloudgate, against Swift's native API on the same Swift.

    bash devcloud/swift.sh up
    .venv/bin/python bench/s3_request_cost.py [--reps 200] [--sizes 1KiB,1MiB] [--profile GetObject]

For PutObject, GetObject and HeadObject of each size: requests/s and p50/p95 latency straight to Swift
(X-Auth-Token) and through cloudgate (SigV4, UNSIGNED-PAYLOAD), one request at a time, the two sides
interleaved so drift hits both alike; the ratio cloudgate/direct in requests/s. And, per S3 request, what
the gateway did for it: Swift HTTP calls (by method; `100c` = sent with `Expect: 100-continue`), new TCP
connections to Swift, and calls reaching the state store (by method; cache hits are not calls).

The gateway runs in this process, on this event loop (the real app from `create_app`, SQLite state in a
temporary file, logging as `cloudgate serve` sets it up), so its calls can be counted: its SwiftClient's
one exchange method and its Store are wrapped. The S3 client signs each (method, path) once and reuses
the headers (a SigV4 signature stays valid for 15 minutes), so client-side signing is not measured.
`--profile OP` then runs OP through cloudgate only, under cProfile, and prints where the time goes.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.s3_throughput import free_port, human, parse_size  # noqa: E402
from gateway.app import GATEWAY_KEY, create_app  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.logs import setup_logging  # noqa: E402

AK, SK = "AKIDREQUESTCOST00001", "requestCostSecret/000000000000000000000000"
REGION = "us-east-1"
OPS = ("PutObject", "GetObject", "HeadObject")
METHOD = {"PutObject": "PUT", "GetObject": "GET", "HeadObject": "HEAD"}
PHASE_SECONDS = 60.0  # a (size, op) pair stops early when both sides together took this long
STORE_METHODS = ("get", "put", "put_if_absent", "delete", "scan", "delete_prefix")


# ---- counting what the gateway does ------------------------------------------------------------------
@dataclass
class Calls:
    swift: Counter[str] = field(default_factory=Counter)
    store: Counter[str] = field(default_factory=Counter)
    connections: int = 0

    def reset(self) -> None:
        self.swift.clear()
        self.store.clear()
        self.connections = 0

    def per_request(self, n: int) -> str:
        def fmt(c: Counter[str]) -> str:
            total = sum(c.values()) / n
            parts = " ".join(f"{k}:{v / n:g}" for k, v in sorted(c.items()))
            return f"{total:g}" + (f" ({parts})" if parts else "")
        return f"swift {fmt(self.swift)}; new conns {self.connections / n:g}; store {fmt(self.store)}"


def instrument(gw: Any, calls: Calls) -> None:
    """Count the gateway's Swift exchanges (every one goes through SwiftClient.raw, auth included), its
    new connections to Swift, and the calls reaching its state store (past any in-process cache)."""
    client = gw.backend._client
    raw = client.raw

    def counted_raw(method: str, url: Any, **kw: Any) -> Any:
        calls.swift[method + ("/100c" if kw.get("expect100") else "")] += 1
        return raw(method, url, **kw)

    client.raw = counted_raw

    async def on_connect(*_: Any) -> None:
        calls.connections += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_connect)
    trace.freeze()
    gw.backend._session._trace_configs.append(trace)

    store = getattr(gw.store, "inner", gw.store)  # behind the in-process cache, if there is one
    for name in STORE_METHODS:
        fn = getattr(store, name)

        def wrap(fn: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
            async def counted(*a: Any, **kw: Any) -> Any:
                calls.store[name] += 1
                return await fn(*a, **kw)
            return counted
        setattr(store, name, wrap(fn, name))


# ---- the two clients -------------------------------------------------------------------------------------
class Direct:
    def __init__(self, session: aiohttp.ClientSession, url: str, user: str, key: str) -> None:
        self.session, self.url, self.user, self.key = session, url, user, key
        self.token = self.storage = ""

    async def login(self) -> None:
        async with self.session.get(f"{self.url}/auth/v1.0",
                                    headers={"X-Storage-User": self.user, "X-Storage-Pass": self.key}) as r:
            r.raise_for_status()
            self.token, self.storage = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]

    async def request(self, method: str, path: str, data: bytes | None = None) -> int:
        async with self.session.request(method, f"{self.storage}/{path}", data=data,
                                        headers={"X-Auth-Token": self.token}) as r:
            body = await r.read()
            if r.status // 100 != 2:
                raise RuntimeError(f"Swift {method} {path}: {r.status} {body[:200]!r}")
            return len(body)


class Gateway:
    def __init__(self, session: aiohttp.ClientSession, endpoint: str) -> None:
        self.session, self.endpoint = session, endpoint
        self._signed: dict[tuple[str, str, int], dict[str, str]] = {}

    def headers(self, method: str, path: str, size: int) -> dict[str, str]:
        key = (method, path, size)
        if key not in self._signed:
            extra = {"Content-Length": str(size)} if method == "PUT" else {}
            req = AWSRequest(method, self.endpoint + path,
                             headers={**extra, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
            SigV4Auth(Credentials(AK, SK), "s3", REGION).add_auth(req)
            self._signed[key] = dict(req.headers.items())
        return self._signed[key]

    async def request(self, method: str, path: str, data: bytes | None = None) -> int:
        headers = self.headers(method, path, len(data) if data is not None else 0)
        async with self.session.request(method, self.endpoint + path, data=data, headers=headers) as r:
            body = await r.read()
            if r.status // 100 != 2:
                raise RuntimeError(f"S3 {method} {path}: {r.status} {body[:300]!r}")
            return len(body)


# ---- measuring -------------------------------------------------------------------------------------------
@dataclass
class Side:
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / sum(self.latencies) if self.latencies else 0.0

    def pct(self, q: float) -> float:
        s = sorted(self.latencies)
        return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0


async def one(side: Side, fn: Callable[[], Awaitable[int]]) -> None:
    started = time.perf_counter()
    await fn()
    side.latencies.append(time.perf_counter() - started)


async def measure(direct: Direct, gw: Gateway, calls: Calls, container: str, bucket: str,
                  size: int, reps: int) -> None:
    data = os.urandom(size)
    key = f"obj-{size}"
    await direct.request("PUT", f"{container}/{key}", data)
    await gw.request("PUT", f"/{bucket}/{key}", data)
    for op in OPS:
        method = METHOD[op]
        body = data if method == "PUT" else None
        fns = {"direct": lambda m=method, b=body: direct.request(m, f"{container}/{key}", b),
               "gateway": lambda m=method, b=body: gw.request(m, f"/{bucket}/{key}", b)}
        sides = {"direct": Side(), "gateway": Side()}
        for _ in range(3):  # warm both paths (connections, caches) before counting
            for name in fns:
                await fns[name]()
        calls.reset()
        deadline = time.monotonic() + PHASE_SECONDS
        for rep in range(reps):
            order = ("direct", "gateway") if rep % 2 == 0 else ("gateway", "direct")
            for name in order:
                await one(sides[name], fns[name])
            if time.monotonic() > deadline:
                break
        d, g = sides["direct"], sides["gateway"]
        n = len(g.latencies)
        print(f"{human(size):>7} {op:<10} {d.rate:8.0f} {g.rate:8.0f} {g.rate / d.rate:6.2f}  "
              f"{d.pct(.5):6.2f} {d.pct(.95):6.2f}  {g.pct(.5):6.2f} {g.pct(.95):6.2f}  (x{n})", flush=True)
        print(f"{'':>18} per S3 request: {calls.per_request(n)}", flush=True)


async def profile(gw: Gateway, bucket: str, op: str, size: int, reps: int) -> None:
    data = os.urandom(size)
    path = f"/{bucket}/prof-{size}"
    await gw.request("PUT", path, data)
    method = METHOD[op]
    body = data if method == "PUT" else None
    for _ in range(10):
        await gw.request(method, path, body)
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    for _ in range(reps):
        await gw.request(method, path, body)
    prof.disable()
    took = time.perf_counter() - started
    print(f"\nprofile: {reps} x {op} {human(size)} through cloudgate, {reps / took:.0f} req/s under cProfile "
          "(client, gateway and event loop in one process)")
    # Everything by own time; then cloudgate's own functions (gateway/, backends/) by cumulative time.
    for key, only in (("tottime", ""), ("cumulative", r"/(gateway|backends)/")):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).sort_stats(key)
        stats.print_stats(only, 30) if only else stats.strip_dirs().print_stats(30)
        text = out.getvalue()
        print(text[text.find("   ncalls"):].rstrip().replace(str(ROOT) + "/", ""))
    await gw.request("DELETE", path)


async def run(args: argparse.Namespace, tmp: Path) -> None:
    config = parse_config({
        "region": REGION, "logging": {"level": args.log_level, "format": "json"},
        "state": {"url": f"sqlite:///{tmp / 'state.db'}"},
        "auth": {"static": [{"access_key": AK, "secret_key": SK, "account_id": "100000000002",
                             "display_name": "bench", "backend": {"swift_user": args.user,
                                                                  "swift_key": args.key}}]},
        "backend": {"type": "swift", "options": {"auth_url": f"{args.swift}/auth/v1.0"}},
    }, "bench/s3_request_cost.py")
    setup_logging(config.logging)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    calls = Calls()
    instrument(app[GATEWAY_KEY], calls)
    try:
        connector = aiohttp.TCPConnector(limit=4)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            direct = Direct(session, args.swift, args.user, args.key)
            await direct.login()
            gw = Gateway(session, f"http://127.0.0.1:{port}")
            tag = secrets.token_hex(4)
            container, bucket = f"cost-direct-{tag}", f"cost-gw-{tag}"
            await direct.request("PUT", container)
            await gw.request("PUT", f"/{bucket}")
            try:
                if args.profile:
                    await profile(gw, bucket, args.profile, args.sizes[0], args.reps)
                    return
                print(f"\nsequential requests, one at a time (Swift {args.swift}); latencies in ms")
                print(f"{'size':>7} {'op':<10} {'direct':>8} {'gateway':>8} {'ratio':>6}  "
                      f"{'d p50':>6} {'d p95':>6}  {'g p50':>6} {'g p95':>6}   (req/s)")
                for size in args.sizes:
                    await measure(direct, gw, calls, container, bucket, size, args.reps)
                    await direct.request("DELETE", f"{container}/obj-{size}")
                    await gw.request("DELETE", f"/{bucket}/obj-{size}")
            finally:
                await gw.request("DELETE", f"/{bucket}")
                await direct.request("DELETE", container)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--sizes", default="1KiB,1MiB", type=lambda s: [parse_size(x) for x in s.split(",") if x.strip()])
    p.add_argument("--reps", type=int, default=200, help="requests per side, per size and operation")
    p.add_argument("--profile", choices=OPS, help="profile this operation (first size) instead")
    p.add_argument("--log-level", default="warning")
    args = p.parse_args(argv)
    print(f"cloudgate S3 request cost: {', '.join(human(s) for s in args.sizes)}; {args.reps} reps; "
          f"{os.cpu_count()} CPUs shared by client, gateway and Swift")
    with tempfile.TemporaryDirectory(prefix="cg-cost-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
