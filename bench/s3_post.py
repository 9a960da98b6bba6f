"""Browser-based POST uploads through cloudgate: the file part streams (flat gateway RSS) and costs about
what a PutObject of the same size does.

    bash devcloud/swift.sh up                       # the Swift all-in-one (tempauth test:tester/testing)
    .venv/bin/python bench/s3_post.py [--size 1GiB] [--rounds 2]

One run, one gateway (`cloudgate serve` as a subprocess, so its memory is its own), one Swift. Each round
uploads `--size` bytes once as PutObject (SigV4, UNSIGNED-PAYLOAD) and once as a POST form (SigV4 policy,
the file as the last part), alternating so drift hits both alike. For each: MiB/s and the gateway's peak
RSS (psutil, sampled every 20 ms) against its RSS before the upload. Then the POST/PUT throughput ratio.
The data is generated as it is sent (one random 1 MiB block repeated), never held whole by the client.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import s3_throughput as tp  # noqa: E402 - the shared gateway launcher, sampler, client and helpers

MiB = tp.MiB


def form_parts(bucket: str, key: str, max_size: int) -> tuple[bytes, bytes, str]:
    """(the fields and the file part's header, the closing delimiter, content type) of a SigV4 POST form."""
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{tp.AK}/{stamp[:8]}/{tp.REGION}/s3/aws4_request"
    amz = {"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": credential, "x-amz-date": stamp}
    doc = {"expiration": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "conditions": [{"bucket": bucket}, {"key": key}, ["content-length-range", 0, max_size],
                          *({k: v} for k, v in amz.items())]}
    policy = base64.b64encode(json.dumps(doc).encode()).decode()
    signing = f"AWS4{tp.SK}".encode()
    for part in (stamp[:8], tp.REGION, "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    fields = {"key": key, **amz, "policy": policy,
              "x-amz-signature": hmac.new(signing, policy.encode(), hashlib.sha256).hexdigest()}
    boundary = "----bench" + secrets.token_hex(8)
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n")
    return head.encode(), f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def form_body(head: bytes, size: int, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    async for chunk in tp.body(size):
        yield chunk
    yield tail


async def post_upload(session: aiohttp.ClientSession, endpoint: str, bucket: str, key: str, size: int) -> None:
    head, tail, ctype = form_parts(bucket, key, size)
    headers = {"Content-Type": ctype, "Content-Length": str(len(head) + size + len(tail))}
    async with session.post(f"{endpoint}/{bucket}", data=form_body(head, size, tail), headers=headers) as r:
        if r.status != 204:
            raise tp.TransferError(f"POST: {r.status} {(await r.read())[:300]!r}")


async def measure(label: str, sampler: tp.OverallSampler, upload) -> tuple[float, int, int]:
    """(MiB/s, RSS before, peak RSS during) of one upload."""
    before = sampler.current()
    sampler.reset()
    start = time.perf_counter()
    await upload()
    elapsed = time.perf_counter() - start
    return elapsed, before, sampler.peak


async def main_async(args: argparse.Namespace, endpoint: str, sampler: tp.OverallSampler) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=2)) as session:
        s3 = tp.S3(session, endpoint)
        bucket = f"bench-post-{secrets.token_hex(4)}"
        await s3.call("PUT", f"/{bucket}")
        size, rates = args.size, {"PutObject": [], "POST form": []}
        try:
            print(f"\n{tp.human(size)} uploads, {args.rounds} round(s), gateway pid {sampler.pid}")
            for n in range(args.rounds):
                for label, upload in (("PutObject", lambda: s3.put(bucket, "put.bin", size)),
                                      ("POST form", lambda: post_upload(session, endpoint, bucket, "post.bin",
                                                                        size))):
                    elapsed, before, peak = await measure(label, sampler, upload)
                    rate = size / MiB / elapsed
                    rates[label].append(rate)
                    print(f"  round {n + 1} {label:<9}: {rate:7.1f} MiB/s ({elapsed:5.1f} s); gateway RSS "
                          f"before {before / 1e6:6.1f} MB, peak {peak / 1e6:6.1f} MB "
                          f"(+{(peak - before) / 1e6:.1f} MB)", flush=True)
            put, post = (sum(rates[k]) / len(rates[k]) for k in ("PutObject", "POST form"))
            print(f"\n  mean PutObject {put:.1f} MiB/s, POST form {post:.1f} MiB/s: POST/PUT = {post / put:.2f}")
            print(f"  gateway peak RSS over the whole run: {sampler.overall / 1e6:.1f} MB "
                  f"(uploaded {2 * args.rounds * size / MiB:.0f} MiB in all)")
        finally:
            for key in ("put.bin", "post.bin"):
                await s3.call("DELETE", f"/{bucket}/{key}", expect=204)
            await s3.call("DELETE", f"/{bucket}", expect=204)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--size", default="1GiB", type=tp.parse_size, help="bytes per upload")
    p.add_argument("--rounds", default=1, type=int, help="PutObject + POST pairs")
    args = p.parse_args(argv)
    print(f"cloudgate POST-upload benchmark: {tp.human(args.size)} x {args.rounds} round(s); {os.cpu_count()} "
          "CPUs (client, gateway and Swift share them)")
    with tempfile.TemporaryDirectory(prefix="cg-bench-post-") as tmp:
        proc, endpoint = tp.start_gateway(Path(tmp), args.swift, args.user, args.key)
        try:
            with tp.OverallSampler(proc.pid) as sampler:
                print(f"gateway {endpoint} (pid {proc.pid}), idle RSS {sampler.current() / 1e6:.1f} MB")
                asyncio.run(main_async(args, endpoint, sampler))
        finally:
            tp.stop_gateway(proc)
            said = (Path(tmp) / "gateway.log").read_text(errors="replace").strip().splitlines()
            if said:
                print(f"\ngateway log ({len(said)} lines, last 5):")
                for line in said[-5:]:
                    print(f"  {line[:400]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
