"""The stack's floor: the CPU time per request of a minimal aiohttp server that forwards an S3-style GET or
PUT to Swift with one aiohttp client call and does nothing else, beside cloudgate's own, in one run.

    .venv/bin/python bench/floor.py [--size 4KiB] [--requests 400] [--rounds 3] [--concurrency 1] [--before DIR]

Both servers run as subprocesses on the same event loop (uvloop where installed, as `cloudgate serve`'s
`auto`) and the same aiohttp, in front of the devcloud tempauth Swift (127.0.0.1:18080). The floor server
maps `/<bucket>/<key>` to Swift's `<bucket>/<key>` with a token it got once at start: no authentication, no
state, no checks, no log; what is left is aiohttp's server, its client and the loop, the least any
aiohttp gateway pays. cloudgate gets SigV4 (UNSIGNED-PAYLOAD, signed before the batch) as in
bench/hot_path.py and logs its access line (--log-level info). One client, one request at a time by default
(CPU accounting, not a load test; --concurrency N for N clients): per round, per target, N PUTs then N GETs
of the same keys, targets alternating first; the CPU per request is each server process's /proc schedstat
time over its batch.
Prints per-round figures, the medians and cloudgate/floor; asserts nothing.

`python bench/floor.py serve --swift URL --user U --key K --port P` runs the floor server
alone (what the measuring run starts).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hot_path import CpuClock, S3Target, loadavg, reference_cpu_ms, swift_login  # noqa: E402
from bench.s3_throughput import (  # noqa: E402
    AK,
    SK,
    free_port,
    human,
    parse_size,
    start_gateway,
    stop_gateway,
    wait_healthy,
)

FLOOR_KEY = web.AppKey("floor", dict)


# ---- the floor server -------------------------------------------------------------------------------------
async def _forward(request: web.Request) -> web.StreamResponse:
    """One client call to Swift, its answer passed on; nothing else. `/<bucket>[/<key>]` is the container
    (and object) of that name in the account the server logged in to."""
    st = request.app[FLOOR_KEY]
    url = f"{st['storage']}/{request.match_info['tail']}"
    headers = {"X-Auth-Token": st["token"]}
    session: aiohttp.ClientSession = st["session"]
    if request.method == "GET":
        async with session.get(url, headers=headers) as r:
            return web.Response(status=r.status, body=await r.read(),
                                headers={"ETag": r.headers.get("Etag", ""), "Content-Type": r.content_type})
    async with session.request(request.method, url, headers=headers,
                               data=await request.read() if request.can_read_body else None) as r:
        await r.read()
        return web.Response(status=200 if r.status in (201, 202) else r.status,
                            headers={"ETag": r.headers.get("Etag", "")})


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def floor_app(swift: str, user: str, key: str) -> web.Application:
    app = web.Application()
    app[FLOOR_KEY] = {}

    async def start(app: web.Application) -> None:
        st = app[FLOOR_KEY]
        st["session"] = aiohttp.ClientSession(auto_decompress=False)
        st["storage"], st["token"] = await swift_login(st["session"], swift, user, key)

    async def stop(app: web.Application) -> None:
        await app[FLOOR_KEY]["session"].close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/healthz", _healthz)
    app.router.add_route("*", "/{tail:.+}", _forward)
    return app


def serve(args: argparse.Namespace) -> int:
    from gateway.eventloop import loop_factory, run

    _name, factory = loop_factory("auto")  # the loop cloudgate serves on by default

    async def main() -> None:
        runner = web.AppRunner(floor_app(args.swift, args.user, args.key), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        run(main(), factory)
    except KeyboardInterrupt:
        pass
    return 0


def start_floor(workdir: Path, swift: str, user: str, key: str) -> tuple[subprocess.Popen, str]:
    """The floor server as a subprocess on a free port; waits until it answers."""
    port = free_port()
    log = (workdir / "floor.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", "--swift", swift,
                             "--user", user, "--key", key, "--port", str(port)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return proc, wait_healthy(proc, f"http://127.0.0.1:{port}", workdir / "floor.log", "floor server")


# ---- the measuring run ------------------------------------------------------------------------------------
async def sequential(session: aiohttp.ClientSession, reqs: list, cpu: CpuClock,
                     concurrency: int = 1) -> tuple[float, int]:
    """(CPU seconds the server used, failures) for these requests, `concurrency` clients at a time."""
    failures = 0
    todo = iter(reqs)

    async def client() -> None:
        nonlocal failures
        for method, url, headers, body in todo:
            async with session.request(method, url, headers=headers, data=body) as r:
                await r.read()
                failures += r.status // 100 != 2

    before = cpu()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return cpu() - before, failures


async def measure(args: argparse.Namespace, targets: dict[str, tuple[S3Target, CpuClock]]) -> None:
    """Each target has a bucket of its own (a gateway knows only the buckets made through it)."""
    body = os.urandom(args.size)
    keys = [f"f{i}" for i in range(args.requests)]  # every round overwrites and reads the same keys
    cpu_ms: dict[tuple[str, str], list[float]] = {}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for name, (t, _clock) in targets.items():
            status = await _send(session, t.req("PUT", f"/{t.bucket}"))
            if status != 200:
                raise SystemExit(f"{name}: creating bucket {t.bucket} answered {status}")
        try:
            # one untimed request each: connections, the gateway's token and caches
            for t, clock in targets.values():
                await sequential(session, [t.req("PUT", f"/{t.bucket}/{keys[0]}", body),
                                           t.req("GET", f"/{t.bucket}/{keys[0]}")], clock)
            print(f"{'round':>5} {'target':<10} {'PUT ms/req':>10} {'GET ms/req':>10}")
            for rnd in range(args.rounds):
                names = list(targets)[rnd % len(targets):] + list(targets)[:rnd % len(targets)]
                for name in names:
                    t, clock = targets[name]
                    row = []
                    for op in ("PUT", "GET"):
                        reqs = [t.req(op, f"/{t.bucket}/{k}", body if op == "PUT" else None) for k in keys]
                        used, failed = await sequential(session, reqs, clock, args.concurrency)
                        if failed:
                            print(f"  {name} {op}: {failed} of {len(reqs)} failed")
                        cpu_ms.setdefault((name, op), []).append(used / len(reqs) * 1000)
                        row.append(cpu_ms[name, op][-1])
                    print(f"{rnd:>5} {name:<10} {row[0]:>10.3f} {row[1]:>10.3f}", flush=True)
            print(f"\nmedian server CPU per {human(args.size)} request (ms), load {loadavg()}:")
            for op in ("PUT", "GET"):
                cg, fl = (statistics.median(cpu_ms[n, op]) for n in ("cloudgate", "floor"))
                line = (f"  {op}: cloudgate {cg:.3f}  floor {fl:.3f}  cloudgate/floor {cg / fl:.2f}x  "
                        f"above the floor {cg - fl:.3f}")
                if "before" in targets:
                    bf = statistics.median(cpu_ms["before", op])
                    line += f"  | before {bf:.3f} ({bf / fl:.2f}x floor), after/before {cg / bf:.2f}"
                print(line)
        finally:
            for t, _clock in targets.values():
                for k in keys:
                    await _send(session, t.req("DELETE", f"/{t.bucket}/{k}"))
                await _send(session, t.req("DELETE", f"/{t.bucket}"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", nargs="?", choices=("measure", "serve"), default="measure")
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--port", type=int)
    p.add_argument("--size", type=parse_size, default=4096)
    p.add_argument("--requests", type=int, default=400, help="per target, operation and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=1, help="clients at a time (above 1 this is a load test: "
                   "not while someone else measures on the machine)")
    p.add_argument("--log-level", default="info", help="cloudgate's (info: one JSON access line a request)")
    p.add_argument("--before", type=Path, help="also measure the gateway of this checkout (e.g. `git archive` "
                   "of an older commit, unpacked): a before/after figure from one run")
    args = p.parse_args(argv)
    if args.mode == "serve":
        return serve(args)
    print(f"stack floor vs cloudgate, {human(args.size)} PUT/GET, {args.requests} requests x {args.rounds} "
          f"rounds, {args.concurrency} client(s) at a time; load {loadavg()}; reference workload "
          f"{reference_cpu_ms():.0f} ms CPU")
    tag = secrets.token_hex(4)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="cg-floor-") as tmp:
        try:
            targets: dict[str, tuple[S3Target, CpuClock]] = {}
            sources = {"cloudgate": ROOT, **({"before": args.before.resolve()} if args.before else {})}
            for name, source in sources.items():
                (Path(tmp) / name).mkdir()
                proc, url = start_gateway(Path(tmp) / name, args.swift, args.user, args.key, args.log_level,
                                          source=source)
                procs.append(proc)
                targets[name] = (S3Target(url, AK, SK, f"floor-{name}-{tag}"), CpuClock(proc.pid))
            proc, url = start_floor(Path(tmp), args.swift, args.user, args.key)
            procs.append(proc)
            targets["floor"] = (S3Target(url, AK, SK, f"floor-floor-{tag}"), CpuClock(proc.pid))
            asyncio.run(measure(args, targets))
        finally:
            for proc in procs:
                stop_gateway(proc)
    return 0


async def _send(session: aiohttp.ClientSession, req: tuple) -> int:
    method, url, headers, body = req
    async with session.request(method, url, headers=headers, data=body) as r:
        await r.read()
        return r.status


if __name__ == "__main__":
    sys.exit(main())
