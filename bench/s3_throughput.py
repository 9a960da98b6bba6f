"""S3 throughput through cloudgate vs Swift's native API on the same Swift, and the gateway's peak memory
while it streams a very large object up and down.

    bash devcloud/swift.sh up                       # the Swift all-in-one (tempauth test:tester/testing)
    .venv/bin/python bench/s3_throughput.py [--sizes 1MiB,64MiB,1GiB] [--big 5GiB | --big 0]

One run, one Swift: for each size, PUT and GET MiB/s straight to Swift (X-Auth-Token, same account) and
through cloudgate (S3, SigV4, UNSIGNED-PAYLOAD), alternating the two so drift hits both alike; the ratio
cloudgate/direct (target >= 0.9). Then the gateway's peak RSS (psutil, sampled every 20 ms) while it
streams a `--big` object up and down (target < 150 MB). The gateway runs as a subprocess (`cloudgate
serve`) so its memory is its own. Both clients are the same aiohttp code with 1 MiB chunks; the data is
generated on the fly (one random 1 MiB block repeated), never held whole. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
GiB = 1024 * MiB
CHUNK = MiB
BLOCK = os.urandom(CHUNK)  # repeated to make any size; incompressible
AK, SK = "AKIDBENCHMARK0000001", "benchSecretKey/000000000000000000000000"
REGION = "us-east-1"
MIN_FREE_FOR_BIG = 15 * GiB
# Per size, repeat until about this many bytes moved (at least twice, at most 64 times) for a stable figure.
BYTES_PER_SIZE = 256 * MiB
UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": MiB, "mib": MiB, "g": GiB, "gib": GiB}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1MiB, 64MiB, 1GiB)")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def human(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


async def body(size: int) -> AsyncIterator[bytes]:
    """`size` bytes in 1 MiB chunks, generated as they are sent."""
    view = memoryview(BLOCK)
    sent = 0
    while sent < size:
        n = min(CHUNK, size - sent)
        yield bytes(view[:n]) if n < CHUNK else BLOCK
        sent += n


# ---- the gateway under test ------------------------------------------------------------------------------
@dataclass
class RssSampler:
    """Samples a process's RSS (with its children) on a thread; `peak` since the last `reset`."""

    pid: int
    interval: float = 0.02
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def current(self) -> int:
        proc = psutil.Process(self.pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def reset(self) -> None:
        self.peak = self.current()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, self.current())
            except psutil.Error:
                return

    def __enter__(self) -> RssSampler:
        self.reset()
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(workdir: Path, swift_url: str, user: str, key: str,
                  log_level: str = "warning", source: Path = ROOT) -> tuple[subprocess.Popen, str]:
    config = {
        "region": REGION, "logging": {"level": log_level, "format": "json"},
        "state": {"url": f"sqlite:///{workdir / 'state.db'}"},
        "auth": {"static": [{"access_key": AK, "secret_key": SK, "account_id": "100000000001",
                             "display_name": "bench", "backend": {"swift_user": user, "swift_key": key}}]},
        "backend": {"type": "swift", "options": {"auth_url": f"{swift_url}/auth/v1.0"}},
    }
    return launch(workdir, config, source)


def launch(workdir: Path, config: dict, source: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """`cloudgate serve` with this configuration (written to workdir), on a free port; waits until healthy.
    Its output goes to workdir/gateway.log. `source`: the checkout whose gateway runs (another one than
    this, e.g. an older commit's export, to compare two versions in one run)."""
    path = workdir / "cloudgate.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "gateway.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(path),
                             "--host", "127.0.0.1", "--port", str(port)],
                            cwd=source, stdout=log, stderr=subprocess.STDOUT)
    return proc, wait_healthy(proc, f"http://127.0.0.1:{port}", workdir / "gateway.log", "gateway")


def wait_healthy(proc: subprocess.Popen, endpoint: str, log: Path, what: str, seconds: float = 30) -> str:
    """`endpoint` once its /healthz answers; the process's log tail if it exits first, killed if it stays mute."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n" + log.read_text()[-2000:])
        try:
            with urllib.request.urlopen(endpoint + "/healthz", timeout=1):
                return endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{what} not healthy within {seconds:g} s")


def stop_gateway(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- the two clients -------------------------------------------------------------------------------------
class TransferError(Exception):
    pass


class Swift:
    """Swift's native API with a tempauth token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, user: str, key: str) -> None:
        self.session, self.url, self.user, self.key = session, url, user, key
        self.storage = self.token = ""

    async def login(self) -> None:
        async with self.session.get(f"{self.url}/auth/v1.0",
                                    headers={"X-Storage-User": self.user, "X-Storage-Pass": self.key}) as r:
            if r.status // 100 != 2:
                raise TransferError(f"Swift auth: {r.status}")
            self.token, self.storage = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]

    async def request(self, method: str, path: str, **kw: object) -> aiohttp.ClientResponse:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}  # type: ignore[dict-item]
        return await self.session.request(method, f"{self.storage}/{path}", headers=headers, **kw)

    async def put(self, container: str, key: str, size: int) -> None:
        async with await self.request("PUT", f"{container}/{key}", data=body(size),
                                      headers={"Content-Length": str(size)}) as r:
            if r.status != 201:
                raise TransferError(f"Swift PUT: {r.status} {(await r.read())[:200]!r}")

    async def get(self, container: str, key: str) -> int:
        async with await self.request("GET", f"{container}/{key}") as r:
            if r.status != 200:
                raise TransferError(f"Swift GET: {r.status}")
            return await drain(r)


class S3:
    """S3 through cloudgate: SigV4 header auth, UNSIGNED-PAYLOAD (no client-side body hashing)."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: str) -> None:
        self.session, self.endpoint = session, endpoint
        self.creds = Credentials(AK, SK)

    def _signed(self, method: str, path: str, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method, self.endpoint + path,
                             headers={**headers, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        SigV4Auth(self.creds, "s3", REGION).add_auth(request)
        return dict(request.headers.items())

    async def call(self, method: str, path: str, *, expect: int = 200, **kw: object) -> None:
        headers = self._signed(method, path, kw.pop("headers", {}))  # type: ignore[arg-type]
        async with self.session.request(method, self.endpoint + path, headers=headers, **kw) as r:
            if r.status != expect and not (method == "DELETE" and r.status == 404):
                raise TransferError(f"S3 {method} {path}: {r.status} {(await r.read())[:300]!r}")

    async def put(self, bucket: str, key: str, size: int) -> None:
        await self.call("PUT", f"/{bucket}/{key}", data=body(size),
                        headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})

    async def get(self, bucket: str, key: str) -> int:
        path = f"/{bucket}/{key}"
        async with self.session.get(self.endpoint + path, headers=self._signed("GET", path, {})) as r:
            if r.status != 200:
                raise TransferError(f"S3 GET: {r.status} {(await r.read())[:300]!r}")
            return await drain(r)


async def drain(resp: aiohttp.ClientResponse) -> int:
    n = 0
    async for chunk in resp.content.iter_chunked(CHUNK):
        n += len(chunk)
    return n


# ---- measurements ----------------------------------------------------------------------------------------
@dataclass
class Totals:
    bytes: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def rate(self) -> float | None:
        return self.bytes / MiB / self.seconds if self.seconds and not self.error else None


async def timed(totals: Totals, coro_fn, size: int) -> None:
    if totals.error:
        return
    started = time.perf_counter()
    try:
        got = await coro_fn()
    except (TimeoutError, TransferError, aiohttp.ClientError) as exc:
        totals.error = str(exc) or type(exc).__name__
        return
    totals.seconds += time.perf_counter() - started
    if got is not None and got != size:
        totals.error = f"read {got} bytes, expected {size}"
    totals.bytes += size


def fmt(rate: float | None) -> str:
    return f"{rate:10.1f}" if rate is not None else f"{'n/a':>10}"


async def compare(swift: Swift, s3: S3, container: str, bucket: str, sizes: list[int]) -> list[str]:
    errors = []
    print(f"{'size':>8} {'op':>4} {'direct MiB/s':>13} {'cloudgate MiB/s':>16} {'ratio':>7}")
    for size in sizes:
        reps = max(2, min(64, BYTES_PER_SIZE // size))
        key = f"obj-{size}"
        results = {(side, op): Totals() for side in ("direct", "gateway") for op in ("PUT", "GET")}
        calls = {("direct", "PUT"): lambda k=key, n=size: swift.put(container, k, n),
                 ("gateway", "PUT"): lambda k=key, n=size: s3.put(bucket, k, n),
                 ("direct", "GET"): lambda k=key: swift.get(container, k),
                 ("gateway", "GET"): lambda k=key: s3.get(bucket, k)}
        for rep in range(reps):
            # Interleave the two sides, each going first every other time, so drift and warm caches
            # favour neither.
            sides = ("direct", "gateway") if rep % 2 == 0 else ("gateway", "direct")
            for op in ("PUT", "GET"):
                for side in sides:
                    await timed(results[side, op], calls[side, op], size)
        for op in ("PUT", "GET"):
            direct, gw = results["direct", op].rate, results["gateway", op].rate
            ratio = f"{gw / direct:7.2f}" if direct and gw else f"{'n/a':>7}"
            print(f"{human(size):>8} {op:>4} {fmt(direct):>13} {fmt(gw):>16} {ratio}  (x{reps})", flush=True)
            for side in ("direct", "gateway"):
                if results[side, op].error:
                    errors.append(f"{human(size)} {op} {side}: {results[side, op].error}")
        await s3.call("DELETE", f"/{bucket}/{key}", expect=204)
        async with await swift.request("DELETE", f"{container}/{key}"):
            pass
    return errors


async def big_transfer(s3: S3, bucket: str, size: int, sampler: RssSampler) -> list[str]:
    lines = []
    idle = sampler.current()
    for op in ("PUT", "GET"):
        totals = Totals()
        sampler.reset()
        fn = (lambda: s3.put(bucket, "big", size)) if op == "PUT" else (lambda: s3.get(bucket, "big"))
        await timed(totals, fn, size)
        peak = sampler.peak
        if totals.error:
            lines.append(f"{human(size)} {op} through cloudgate failed: {totals.error}")
            break
        lines.append(f"{human(size)} {op}: {totals.rate:.1f} MiB/s, gateway peak RSS {peak / 1e6:.1f} MB "
                     f"(idle before: {idle / 1e6:.1f} MB; target < 150 MB)")
    await s3.call("DELETE", f"/{bucket}/big", expect=204)
    return lines


def disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free


async def main_async(args: argparse.Namespace, endpoint: str, sampler: RssSampler) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    # One connection per side, reused: what a single-stream client does.
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=2)) as session:
        swift = Swift(session, args.swift, args.user, args.key)
        await swift.login()
        s3 = S3(session, endpoint)
        tag = secrets.token_hex(4)
        container, bucket = f"bench-direct-{tag}", f"bench-gw-{tag}"
        async with await swift.request("PUT", container) as r:
            if r.status // 100 != 2:
                raise SystemExit(f"cannot create Swift container: {r.status}")
        try:
            await s3.call("PUT", f"/{bucket}")
        except TransferError as exc:
            raise SystemExit(f"cloudgate CreateBucket failed: {exc}") from None
        try:
            print(f"\nthroughput, one stream each, 1 MiB chunks (Swift {args.swift}, account {args.user})")
            errors = await compare(swift, s3, container, bucket, args.sizes)
            for line in errors:
                print(f"  error: {line}")
            print(f"\ngateway memory while streaming one large object (pid {sampler.pid})")
            free = disk_free(args.swift_data)
            if not args.big:
                print("  skipped (--big 0)")
            elif free < MIN_FREE_FOR_BIG:
                print(f"  skipped: {free / GiB:.1f} GiB free under {args.swift_data}, need 15 GiB")
            else:
                for line in await big_transfer(s3, bucket, args.big, sampler):
                    print(f"  {line}", flush=True)
            print(f"  peak RSS over the whole run: {sampler.overall / 1e6:.1f} MB")
        finally:
            await s3.call("DELETE", f"/{bucket}", expect=204)
            async with await swift.request("DELETE", container):
                pass


class OverallSampler(RssSampler):
    """Also keeps the peak over the whole run (reset() only restarts the per-phase peak)."""

    overall: int = 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                now = self.current()
            except psutil.Error:
                return
            self.peak = max(self.peak, now)
            self.overall = max(self.overall, now)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}",
                   help="Swift proxy URL (tempauth at /auth/v1.0)")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--sizes", default="1MiB,64MiB,1GiB",
                   type=lambda s: [parse_size(x) for x in s.split(",") if x.strip()],
                   help="object sizes to compare (comma-separated)")
    p.add_argument("--big", default="5GiB", type=parse_size, help="object streamed for the RSS figure (0: skip)")
    p.add_argument("--swift-data", type=Path, default=ROOT / ".devcloud" / "swift",
                   help="where Swift stores data (checked for free space before --big)")
    p.add_argument("--log-level", default="warning", help="the gateway's log level (its last lines are shown)")
    args = p.parse_args(argv)

    print(f"cloudgate S3 throughput benchmark: sizes {', '.join(human(s) for s in args.sizes)}; "
          f"big object {human(args.big) if args.big else 'skipped'}; {os.cpu_count()} CPUs "
          "(client, gateway and Swift share them)")
    data_dir = args.swift_data if args.swift_data.exists() else ROOT
    args.swift_data = data_dir
    print(f"disk free under {data_dir}: {disk_free(data_dir) / GiB:.1f} GiB")
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        proc, endpoint = start_gateway(Path(tmp), args.swift, args.user, args.key, args.log_level)
        try:
            with OverallSampler(proc.pid) as sampler:
                print(f"gateway {endpoint} (pid {proc.pid}), idle RSS {sampler.current() / 1e6:.1f} MB")
                asyncio.run(main_async(args, endpoint, sampler))
        finally:
            stop_gateway(proc)
            # Whatever the gateway logged explains a failed transfer.
            said = (Path(tmp) / "gateway.log").read_text(errors="replace").strip().splitlines()
            if said:
                print(f"\ngateway log ({len(said)} lines, last 5):")
                for line in said[-5:]:
                    print(f"  {line[:400]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
