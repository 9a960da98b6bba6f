"""What completion-ordered overwrites cost a lone writer: sequential PutObjects of one key with the ordering
record (gateway/s3/put_order.py: two state-store updates per PUT) vs without it.

    bash devcloud/swift.sh up
    .venv/bin/python bench/put_order.py [--reps 300] [--size 1024] [--state sqlite|memory]

The real app runs in this process (tests/server.py) in front of the devcloud tempauth Swift, on a SQLite state
file (`--state memory`: the in-memory store). Batches of 20 PUTs alternate between ordering on and off so
drift hits both alike; then the same for the overlapping case is not measured (it only adds waiting, by
design). Prints ms per PUT (mean, p50, p95) for both and the ratio; asserts nothing.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from gateway.config import parse_config  # noqa: E402
from gateway.s3 import put_order  # noqa: E402
from tests.conftest import TENANTS, SwiftEndpoint, gateway_config  # noqa: E402
from tests.server import in_process  # noqa: E402

BATCH = 20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--state", choices=("sqlite", "memory"), default="sqlite")
    args = ap.parse_args()
    swift = SwiftEndpoint(url="http://127.0.0.1:18080", auth_url="http://127.0.0.1:18080/auth/v1.0")
    with tempfile.TemporaryDirectory() as tmp:
        raw = gateway_config(swift)
        raw["state"] = {"url": f"sqlite:///{tmp}/state.db" if args.state == "sqlite" else "sqlite://:memory:"}
        with in_process(parse_config(raw, "bench")) as endpoint:
            t = TENANTS["a"]
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id=t["access_key"], aws_secret_access_key=t["secret_key"],
                              config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
            bucket = f"cg-bench-order-{secrets.token_hex(4)}"
            s3.create_bucket(Bucket=bucket)
            body = secrets.token_bytes(args.size)
            times: dict[bool, list[float]] = {True: [], False: []}
            try:
                for _ in range(5):  # warm: token, bucket owner, connections
                    s3.put_object(Bucket=bucket, Key="k", Body=body)
                done = 0
                while done < args.reps:
                    for enabled in (True, False):
                        put_order.ENABLED = enabled
                        for _ in range(BATCH):
                            start = time.perf_counter()
                            s3.put_object(Bucket=bucket, Key="k", Body=body)
                            times[enabled].append((time.perf_counter() - start) * 1000)
                    done += BATCH
            finally:
                put_order.ENABLED = True
                s3.delete_object(Bucket=bucket, Key="k")
                s3.delete_bucket(Bucket=bucket)
    print(f"sequential PutObject of one key, {args.size} B, state {args.state}, {len(times[True])} PUTs each")
    for enabled in (False, True):
        xs = sorted(times[enabled])
        print(f"  ordering {'on ' if enabled else 'off'}: mean {statistics.mean(xs):6.2f} ms  "
              f"p50 {xs[len(xs) // 2]:6.2f} ms  p95 {xs[int(len(xs) * 0.95)]:6.2f} ms")
    ratio = statistics.mean(times[True]) / statistics.mean(times[False])
    print(f"  on/off mean ratio: {ratio:.3f}  (+{statistics.mean(times[True]) - statistics.mean(times[False]):.2f} ms)")


if __name__ == "__main__":
    main()
