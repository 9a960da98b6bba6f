"""S3 GET / LIST latency through 1 replica vs 3 replicas behind HAProxy, on one PostgreSQL (the devcloud Swift
behind them), side by side; `--outage S` then stops PostgreSQL for S seconds under load and reports what the
clients saw (the issue's 20 s).

    SWIFT_STATE_DIR=... .venv/bin/python bench/replicas.py [--n 300] [--threads 1,8] [--outage 20]
    .venv/bin/python bench/replicas.py --ec2 [--n 300]   # DescribeInstances on the CloudStack simulator

Baseline = one replica reached directly; the same replica set is then reached through HAProxy (3 replicas,
round robin), so the ratio holds the proxy hop and the spreading. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import yaml
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devcloud.replicas import Postgres, running  # noqa: E402 - after the path fix

REGION = "us-east-1"


def client(endpoint: str, tenant: dict, pool: int):
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=tenant["access_key"],
                        aws_secret_access_key=tenant["secret_key"],
                        config=BotoConfig(retries={"total_max_attempts": 1}, max_pool_connections=pool,
                                          s3={"addressing_style": "path"}, read_timeout=60))


def measure(c, bucket: str, op: str, n: int, threads: int) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, requests/s) of n calls on `threads` threads."""
    def one(i: int) -> float:
        start = time.perf_counter()
        if op == "GET":
            c.get_object(Bucket=bucket, Key=f"obj-{i % 20}")["Body"].read()
        else:
            c.list_objects_v2(Bucket=bucket, MaxKeys=20)
        return time.perf_counter() - start

    begin = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        lat = sorted(pool.map(one, range(n)))
    wall = time.perf_counter() - begin
    return statistics.median(lat) * 1000, lat[int(len(lat) * 0.95) - 1] * 1000, n / wall


def outage(c, bucket: str, pg: Postgres, seconds: float) -> None:
    outcomes: list[tuple[float, str, float]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            start = time.monotonic()
            try:
                c.head_object(Bucket=bucket, Key="obj-0")
                c.put_object(Bucket=bucket, Key="outage", Body=b"x")
                what = "ok"
            except ClientError as e:
                what = e.response["Error"]["Code"].replace("503", "ServiceUnavailable")
            except Exception as e:
                what = type(e).__name__
            outcomes.append((start, what, time.monotonic() - start))
            time.sleep(0.05)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for w in workers:
        w.start()
    time.sleep(2)
    down = time.monotonic()
    pg.stop()
    time.sleep(seconds)
    pg.start()
    up = time.monotonic()
    time.sleep(10)
    stop.set()
    for w in workers:
        w.join(60)
    window = [o for o in outcomes if down <= o[0] < up]
    after = [o for o in outcomes if o[0] >= up]
    first_ok = min((s for s, what, _ in after if what == "ok"), default=None)
    print(f"\nPostgreSQL stopped {seconds:.0f} s under 4 clients (HEAD+PUT each), through HAProxy:")
    print(f"  in the window: {dict(Counter(w for _, w, _ in window))}, slowest answer "
          f"{max((d for _, _, d in window), default=0):.2f} s")
    print(f"  after restart: {dict(Counter(w for _, w, _ in after))}; first success "
          f"{(first_ok - up) if first_ok else float('nan'):.2f} s after PostgreSQL was back")
    print(f"  object written before the outage still there: "
          f"{c.get_object(Bucket=bucket, Key='obj-0')['Body'].read() == b'o' * 1024}")


def timed(call, n: int, threads: int) -> tuple[float, float, float]:
    def one(_i: int) -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    begin = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        lat = sorted(pool.map(one, range(n)))
    wall = time.perf_counter() - begin
    return statistics.median(lat) * 1000, lat[int(len(lat) * 0.95) - 1] * 1000, n / wall


def ec2_bench(args) -> int:
    """DescribeInstances (5 instances) through 1 replica vs 3 behind HAProxy, on the CloudStack simulator
    (in this process, on its own thread: it shares the client's CPU)."""
    from devcloud.cloudstack_sim import INSTANCE_TYPES, SimConfig
    from devcloud.cloudstack_sim import running as sim_running

    directory = Path(tempfile.mkdtemp(prefix="cg-bench-replicas-"))
    directory.chmod(0o755)
    pg = Postgres(directory / "postgres")
    pg.start()
    try:
        with sim_running(SimConfig(job_delay=0.05)) as sim:
            admin = sim.config.admin
            config = {"region": REGION, "logging": {"level": "warning"}, "auth": {"static": []},
                      "ec2": {"default_vpc": False},  # the baseline these figures were measured in
                      "state": {"url": pg.url}, "server": {"drain_notice_seconds": 1},
                      "backend": {"type": "cloudstack", "options": {
                          "endpoint": sim.endpoint, "api_key": admin[0], "secret_key": admin[1], "expunge": True,
                          "instance_types": dict(INSTANCE_TYPES), "job_deadline": 10}}}
            with running(config, 3, directory / "replicas") as cluster:
                ak, sk = sim.keys("a")

                def ec2(endpoint: str, pool: int):
                    return boto3.client("ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ak,
                                        aws_secret_access_key=sk, config=BotoConfig(
                                            retries={"total_max_attempts": 1}, max_pool_connections=pool))

                c = ec2(cluster.endpoint, 2)
                ami = c.describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]
                c.run_instances(ImageId=ami, MinCount=5, MaxCount=5)
                print(f"DescribeInstances (5 instances) on the CloudStack simulator, state on one PostgreSQL, "
                      f"n={args.n} per row")
                print(f"{'threads':>7} | {'1 replica p50/p95 ms':>21} {'req/s':>7} | "
                      f"{'3 via HAProxy p50/p95':>21} {'req/s':>7} | {'req/s 3/1':>9}")
                for threads in (int(t) for t in args.threads.split(",")):
                    one, three = ec2(cluster.replica_endpoint(0), threads), ec2(cluster.endpoint, threads)
                    timed(one.describe_instances, 20, threads)
                    timed(three.describe_instances, 20, threads)
                    a = timed(one.describe_instances, args.n, threads)
                    b = timed(three.describe_instances, args.n, threads)
                    print(f"{threads:7} | {a[0]:9.1f} / {a[1]:9.1f} {a[2]:7.0f} | "
                          f"{b[0]:9.1f} / {b[1]:9.1f} {b[2]:7.0f} | {b[2] / a[2]:8.2f}x")
    finally:
        pg.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--threads", default="1,8")
    parser.add_argument("--outage", type=float, default=0)
    parser.add_argument("--ec2", action="store_true", help="DescribeInstances on the CloudStack simulator")
    args = parser.parse_args()
    if args.ec2:
        return ec2_bench(args)
    config = yaml.safe_load((ROOT / "config/swift.example.yaml").read_text())
    tenant = config["auth"]["static"][0]
    directory = Path(tempfile.mkdtemp(prefix="cg-bench-replicas-"))
    directory.chmod(0o755)  # the postgres user (PostgreSQL as root) reaches its data directory inside
    pg = Postgres(directory / "postgres")
    pg.start()
    config.update(logging={"level": "warning"}, state={"url": pg.url, "timeout_seconds": 2},
                  server={"drain_notice_seconds": 1})
    try:
        with running(config, 3, directory / "replicas") as cluster:
            setup = client(cluster.endpoint, tenant, 2)
            bucket = f"cg-bench-{int(time.time())}"
            setup.create_bucket(Bucket=bucket)
            for i in range(20):
                setup.put_object(Bucket=bucket, Key=f"obj-{i}", Body=b"o" * 1024)
            print(f"S3 on devcloud Swift, state on one PostgreSQL, n={args.n} per row, 1 KiB objects")
            print(f"{'op':5} {'threads':>7} | {'1 replica p50/p95 ms':>21} {'req/s':>7} | "
                  f"{'3 via HAProxy p50/p95':>21} {'req/s':>7} | {'req/s 3/1':>9}")
            for threads in (int(t) for t in args.threads.split(",")):
                one = client(cluster.replica_endpoint(0), tenant, threads)
                three = client(cluster.endpoint, tenant, threads)
                for op in ("GET", "LIST"):
                    measure(one, bucket, op, 20, threads)  # warm connections and caches
                    measure(three, bucket, op, 20, threads)
                    a = measure(one, bucket, op, args.n, threads)
                    b = measure(three, bucket, op, args.n, threads)
                    print(f"{op:5} {threads:7} | {a[0]:9.1f} / {a[1]:9.1f} {a[2]:7.0f} | "
                          f"{b[0]:9.1f} / {b[1]:9.1f} {b[2]:7.0f} | {b[2] / a[2]:8.2f}x")
            if args.outage:
                outage(client(cluster.endpoint, tenant, 8), bucket, pg, args.outage)
            for i in range(20):
                setup.delete_object(Bucket=bucket, Key=f"obj-{i}")
            setup.delete_object(Bucket=bucket, Key="outage")
            setup.delete_bucket(Bucket=bucket)
    finally:
        pg.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
