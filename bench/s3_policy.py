"""What a bucket policy costs: a 4 KiB GetObject from a bucket with a 20-statement policy vs one with none.

    bash devcloud/swift.sh up
    .venv/bin/python bench/s3_policy.py [--reps 400] [--statements 20]

The gateway runs in this process (the real app, SQLite state, as bench/s3_request_cost.py does) in front
of the devcloud Swift. Two buckets of the same owner hold the same 4 KiB object; one carries a policy of
`--statements` statements (Denies and Allows with principals, prefixes and conditions, none of which
refuses the request, so every statement is evaluated, as for any request that is not denied). GETs
alternate between the two buckets so drift hits both alike. Prints requests/s, p50/p95 and the ratio;
then the evaluation alone (parse cache hit + request context + evaluate) in microseconds per request.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.s3_request_cost import AK, REGION, SK, Gateway, Side, one  # noqa: E402
from bench.s3_throughput import free_port  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.s3 import policy as pol  # noqa: E402

ACCOUNT, OTHER = "100000000002", "100000000003"
SIZE = 4096


def policy_text(bucket: str, n: int) -> str:
    """n statements in the shapes people write; none denies the owner's GET of `data/obj`."""
    arn = f"arn:aws:s3:::{bucket}"
    shapes = [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}},
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:PutObject"],
         "Resource": f"{arn}/protected/*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "s3:GetObject",
         "Resource": f"{arn}/shared/*", "Condition": {"StringLike": {"aws:Referer": "https://*.example.com/*"}}},
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:ListBucket", "Resource": arn,
         "Condition": {"StringEquals": {"s3:prefix": ["shared/", "public/"]}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{arn}/archive/*",
         "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}},
    ]
    statements = [dict(shapes[i % len(shapes)], Sid=f"S{i}") for i in range(n - 1)]
    statements.append({"Sid": "OwnerRead", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                       "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"{arn}/data/*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


async def put_policy(gw: Gateway, bucket: str, text: str) -> None:
    body = text.encode()
    await gw.request("PUT", f"/{bucket}?policy", body)


def evaluation_micros(bucket: str, text: str, reps: int = 20_000) -> float:
    """Parse-cache hit + a request context of the size the gateway builds + evaluate, per request."""
    context = {"aws:securetransport": ["false"], "aws:currenttime": ["2026-12-06T03:00:00Z"],
               "aws:epochtime": ["1796526000"], "s3:resourceaccount": [ACCOUNT], "aws:sourceip": ["127.0.0.1"],
               "aws:useragent": ["bench"], "aws:principalaccount": [ACCOUNT], "aws:principaltype": ["User"]}
    started = time.perf_counter()
    for _ in range(reps):
        policy = pol.parse(text, bucket)
        facts = pol.Facts(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/bench", "s3:GetObject",
                          f"arn:aws:s3:::{bucket}/data/obj", dict(context))
        pol.evaluate(policy, facts)
    return (time.perf_counter() - started) / reps * 1e6


async def run(args: argparse.Namespace, tmp: Path) -> None:
    config = parse_config({
        "region": REGION, "logging": {"level": "warning", "format": "json"},
        "state": {"url": f"sqlite:///{tmp / 'state.db'}"},
        "auth": {"static": [{"access_key": AK, "secret_key": SK, "account_id": ACCOUNT, "display_name": "bench",
                             "backend": {"swift_user": args.user, "swift_key": args.key}},
                            {"access_key": "AKIDPOLICYOTHER00001", "secret_key": SK, "account_id": OTHER,
                             "display_name": "other", "backend": {"swift_user": args.user,
                                                                  "swift_key": args.key}}]},
        "backend": {"type": "swift", "options": {"auth_url": f"{args.swift}/auth/v1.0"}},
    }, "bench/s3_policy.py")
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    tag = secrets.token_hex(4)
    plain, guarded = f"pol-none-{tag}", f"pol-20-{tag}"
    text = policy_text(guarded, args.statements)
    data = os.urandom(SIZE)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:
            gw = Gateway(session, f"http://127.0.0.1:{port}")
            for b in (plain, guarded):
                await gw.request("PUT", f"/{b}")
                await gw.request("PUT", f"/{b}/data/obj", data)
            await put_policy(gw, guarded, text)
            try:
                sides = {plain: Side(), guarded: Side()}
                for _ in range(20):  # warm-up: connections, caches
                    for b in sides:
                        await gw.request("GET", f"/{b}/data/obj")
                for _ in range(args.reps):
                    for b, side in sides.items():
                        await one(side, lambda b=b: gw.request("GET", f"/{b}/data/obj"))
                base, pol_side = sides[plain], sides[guarded]
                print(f"4 KiB GetObject, {args.reps} each, interleaved (Swift {args.swift}); latencies in ms")
                print(f"{'bucket':<22} {'req/s':>8} {'p50':>7} {'p95':>7}")
                for label, side in (("no policy", base), (f"{args.statements}-statement policy", pol_side)):
                    print(f"{label:<22} {side.rate:8.1f} {side.pct(0.5):7.2f} {side.pct(0.95):7.2f}")
                cost = (base.rate / pol_side.rate - 1) * 100 if pol_side.rate else float("nan")
                p50 = (pol_side.pct(0.5) / base.pct(0.5) - 1) * 100 if base.pct(0.5) else float("nan")
                print(f"cost of the policy: {cost:+.1f}% time per request (mean), {p50:+.1f}% at p50 "
                      f"(target <= 5%)")
                micros = evaluation_micros(guarded, text)
                mean_ms = 1000 / base.rate if base.rate else float("nan")
                print(f"evaluation alone: {micros:.1f} us per request = {micros / 10 / mean_ms:.2f}% of a "
                      f"{mean_ms:.2f} ms request")
            finally:
                for b in (plain, guarded):
                    await gw.request("DELETE", f"/{b}/data/obj")
                    await gw.request("DELETE", f"/{b}")
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swift", default=f"http://127.0.0.1:{os.environ.get('SWIFT_PROXY_PORT', '18080')}")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--reps", type=int, default=400, help="GETs per bucket")
    p.add_argument("--statements", type=int, default=20)
    args: Any = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cg-policy-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
