"""Server-side encryption cost through cloudgate: PUT/GET throughput of SSE-C and SSE-S3 objects against
unencrypted ones in the same run, and the gateway's peak RSS while it streams a large encrypted object
up and down.

    bash devcloud/swift.sh up
    .venv/bin/python bench/s3_sse.py [--sizes 1MiB,64MiB] [--big 5GiB | --big 0]

One gateway (`cloudgate serve` subprocess, SSE-S3 master key configured, SSE-C allowed over loopback
HTTP), one bucket; for each size the three modes are interleaved (each first in turn) so drift hits all
alike, and each encrypted rate is printed with its ratio to the unencrypted one (target >= 0.8). Then
`--big` bytes PUT and GET with SSE-C, sampling the gateway's RSS every 20 ms. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import s3_throughput as tp  # noqa: E402 - the shared client, sampler and helpers

CUSTOMER = os.urandom(32)
MODES = {
    "plain": {},
    "SSE-S3": {"x-amz-server-side-encryption": "AES256"},
    "SSE-C": {"x-amz-server-side-encryption-customer-algorithm": "AES256",
              "x-amz-server-side-encryption-customer-key": base64.b64encode(CUSTOMER).decode(),
              "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(CUSTOMER).digest()).decode()},
}
READ_HEADERS = {"plain": {}, "SSE-S3": {}, "SSE-C": {k: v for k, v in MODES["SSE-C"].items() if "customer" in k}}


class S3(tp.S3):
    async def put_with(self, bucket: str, key: str, size: int, headers: dict[str, str]) -> None:
        await self.call("PUT", f"/{bucket}/{key}", data=tp.body(size),
                        headers={"Content-Length": str(size), "Content-Type": "application/octet-stream", **headers})

    async def get_with(self, bucket: str, key: str, headers: dict[str, str]) -> int:
        path = f"/{bucket}/{key}"
        async with self.session.get(self.endpoint + path, headers=self._signed("GET", path, headers)) as r:
            if r.status != 200:
                raise tp.TransferError(f"S3 GET: {r.status} {(await r.read())[:300]!r}")
            return await tp.drain(r)


def start_gateway(workdir: Path, swift_url: str, user: str, key: str) -> tuple[subprocess.Popen, str]:
    config = {
        "region": tp.REGION, "logging": {"level": "warning", "format": "json"},
        "state": {"url": f"sqlite:///{workdir / 'state.db'}"},
        "auth": {"static": [{"access_key": tp.AK, "secret_key": tp.SK, "account_id": "100000000001",
                             "display_name": "bench", "backend": {"swift_user": user, "swift_key": key}}]},
        "backend": {"type": "swift", "options": {"auth_url": f"{swift_url}/auth/v1.0"}},
        "s3": {"sse_master_keys": {"bench": base64.b64encode(os.urandom(32)).decode()},
               "sse_write_key_id": "bench", "sse_c_allow_http": True},
    }
    return tp.launch(workdir, config)


async def compare(s3: S3, bucket: str, sizes: list[int], budget: int) -> None:
    print(f"{'size':>8} {'op':>4} {'mode':>7} {'MiB/s':>9} {'vs plain':>9}")
    names = list(MODES)
    for size in sizes:
        reps = max(2, min(32, budget // size))
        totals = {(m, op): tp.Totals() for m in names for op in ("PUT", "GET")}
        for rep in range(reps):
            order = names[rep % 3:] + names[:rep % 3]
            for op in ("PUT", "GET"):
                for mode in order:
                    key = f"obj-{mode}-{size}"
                    fn = ((lambda k=key, m=mode, n=size: s3.put_with(bucket, k, n, MODES[m])) if op == "PUT" else
                          (lambda k=key, m=mode: s3.get_with(bucket, k, READ_HEADERS[m])))
                    await tp.timed(totals[mode, op], fn, size)
        for op in ("PUT", "GET"):
            plain = totals["plain", op].rate
            for mode in names:
                t = totals[mode, op]
                rate = t.rate
                ratio = f"{rate / plain:9.2f}" if rate and plain else f"{'-':>9}"
                print(f"{tp.human(size):>8} {op:>4} {mode:>7} {tp.fmt(rate)[1:]:>9} {ratio}  (x{reps})"
                      + (f"  error: {t.error}" if t.error else ""), flush=True)
        for mode in names:
            await s3.call("DELETE", f"/{bucket}/obj-{mode}-{size}", expect=204)


async def big(s3: S3, bucket: str, size: int, sampler: tp.RssSampler) -> None:
    idle = sampler.current()
    for op in ("PUT", "GET"):
        totals = tp.Totals()
        sampler.reset()
        fn = ((lambda: s3.put_with(bucket, "big", size, MODES["SSE-C"])) if op == "PUT" else
              (lambda: s3.get_with(bucket, "big", READ_HEADERS["SSE-C"])))
        await tp.timed(totals, fn, size)
        if totals.error:
            print(f"  {tp.human(size)} SSE-C {op} failed: {totals.error}")
            break
        print(f"  {tp.human(size)} SSE-C {op}: {totals.rate:.1f} MiB/s, gateway peak RSS {sampler.peak / 1e6:.1f} MB "
              f"(idle before: {idle / 1e6:.1f} MB)", flush=True)
    await s3.call("DELETE", f"/{bucket}/big", expect=204)


async def main_async(args: argparse.Namespace, endpoint: str, sampler: tp.RssSampler) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=1)) as session:
        s3 = S3(session, endpoint)
        bucket = f"bench-sse-{secrets.token_hex(4)}"
        await s3.call("PUT", f"/{bucket}")
        try:
            print("\nthroughput, one stream, 1 MiB client chunks")
            await compare(s3, bucket, args.sizes, args.budget)
            print(f"\ngateway memory while streaming one large SSE-C object (pid {sampler.pid})")
            if args.big:
                await big(s3, bucket, args.big, sampler)
            else:
                print("  skipped (--big 0)")
        finally:
            await s3.call("DELETE", f"/{bucket}", expect=204)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--sizes", default="1MiB,64MiB", type=lambda s: [tp.parse_size(x) for x in s.split(",") if x])
    p.add_argument("--budget", default="256MiB", type=tp.parse_size, help="bytes per size and mode (reps)")
    # Just under 5 GiB: the ciphertext (+16 B per 64 KiB) of a single PUT must fit Swift's default
    # max_file_size (5 GiB + 2 B).
    p.add_argument("--big", default="5112MiB", type=tp.parse_size,
                   help="SSE-C object for the RSS figure (0: skip)")
    args = p.parse_args(argv)
    print(f"cloudgate SSE benchmark: sizes {', '.join(tp.human(s) for s in args.sizes)}; big "
          f"{tp.human(args.big) if args.big else 'skipped'}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="cg-bench-sse-") as tmp:
        proc, endpoint = start_gateway(Path(tmp), args.swift, args.user, args.key)
        try:
            with tp.RssSampler(proc.pid) as sampler:
                print(f"gateway {endpoint} (pid {proc.pid}), idle RSS {sampler.current() / 1e6:.1f} MB")
                asyncio.run(main_async(args, endpoint, sampler))
        finally:
            tp.stop_gateway(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
