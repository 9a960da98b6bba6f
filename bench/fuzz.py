"""Fuzz a running cloudgate with 100,000+ requests built from botocore's EC2 and S3 models (tests/fuzz):
every operation, hostile values, malformed SigV4/SigV2, malformed XML, aws-chunked and HTTP framing errors.

    bash devcloud/swift.sh up                      # S3 runs on the devcloud Swift; EC2 on the CloudStack simulator
    .venv/bin/python bench/fuzz.py [--count 100000] [--seed 1] [--concurrency 16]
    .venv/bin/python bench/fuzz.py --endpoint http://127.0.0.1:8787 --service s3 --access-key AK \\
        --secret-key SK --bucket B                 # against a gateway you started

By default each service's gateway runs as its own subprocess (`python -m tests.fuzz.serve`), so its RSS
(sampled every 2,000 requests) and its log lines are its own. Prints the answers counted by status and
AWS error code, per corruption family, the failures (any 5xx but 503 / S3's 501 NotImplemented, a non-AWS
error body, no answer) with examples, the log lines at error level or carrying a traceback, and RSS at
start, peak and end. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from tests.fuzz import build, runner  # noqa: E402

SHARE = {"s3": 0.6, "ec2": 0.4}


class Gateway:
    """`python -m tests.fuzz.serve SERVICE` as a subprocess; stderr lines are scanned as they come."""

    def __init__(self, service: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.serve", service], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.info = json.loads(self.proc.stdout.readline() or "{}")
        if not self.info:
            raise SystemExit(f"the {service} gateway did not start:\n{self.proc.stderr.read()}")
        self.bad_logs: Counter = Counter()
        self.examples: list[str] = []
        self.lines = 0
        threading.Thread(target=self._scan, daemon=True).start()

    def _scan(self) -> None:
        for line in self.proc.stderr:
            self.lines += 1
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"level": "raw", "msg": line.strip()}
            if entry.get("level") in ("error", "critical", "raw") or "exc" in entry:
                # the exception's own line: the last one not indented (aiohttp adds a caret excerpt)
                exc = [x for x in entry.get("exc", "").splitlines() if x and not x[0].isspace()]
                key = f"{entry.get('logger')} {entry.get('level')}: {entry.get('msg')}" + (
                    f" / {exc[-1][:100]}" if exc else "")
                self.bad_logs[key] += 1
                if len(self.examples) < 5:
                    self.examples.append(line[:600])

    def rss(self) -> int:
        return psutil.Process(self.proc.pid).memory_info().rss

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_service(service: str, target: build.Target, count: int, seed: int, concurrency: int,
                rss: callable | None) -> tuple[runner.Outcome, list[int], float]:
    outcome, samples = runner.Outcome(), []
    if rss:
        samples.append(rss())

    def sample(_req, _ans) -> None:
        if rss and outcome.sent % 2000 == 0:
            samples.append(rss())
        if outcome.sent % 10000 == 0:
            print(f"   ... {service}: {outcome.sent} sent, {len(outcome.failures)} failing", file=sys.stderr,
                  flush=True)

    started = time.monotonic()
    asyncio.run(runner.fire(target.host, target.port, runner.stream(service, target, seed, count),
                            concurrency=concurrency, outcome=outcome, on_answer=sample))
    if rss:
        samples.append(rss())
    return outcome, samples, time.monotonic() - started


def print_outcome(service: str, outcome: runner.Outcome, samples: list[int], seconds: float) -> None:
    mib = 1 << 20
    print(f"\n== {service}: {outcome.sent} requests in {seconds:.0f} s ({outcome.sent / seconds:.0f}/s)")
    print("   status/code histogram:")
    for key, n in outcome.histogram.most_common():
        print(f"   {n:8d}  {key}")
    kinds = Counter()
    for (kind, _), n in outcome.by_kind.items():
        kinds[kind] += n
    print("   per family: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    fivexx = sum(n for key, n in outcome.histogram.items() if key[:1] == "5")
    print(f"   5xx answers: {fivexx} (of which allowed 503/501 NotImplemented: "
          f"{fivexx - sum(1 for _, a, w in outcome.failures if a.status >= 500)})")
    print(f"   failures: {len(outcome.failures)}")
    if outcome.failures:
        print(outcome.report(15))
    if samples:
        print(f"   gateway RSS MiB: start {samples[0] / mib:.0f}, peak {max(samples) / mib:.0f}, "
              f"end {samples[-1] / mib:.0f} ({len(samples)} samples)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100_000, help="requests in all (split s3 60%%, ec2 40%%)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--service", choices=("s3", "ec2", "both"), default="both")
    p.add_argument("--endpoint")
    p.add_argument("--access-key")
    p.add_argument("--secret-key")
    p.add_argument("--bucket", default="")
    args = p.parse_args()
    services = ["s3", "ec2"] if args.service == "both" else [args.service]
    total = Counter()
    for service in services:
        count = args.count if len(services) == 1 else int(args.count * SHARE[service])
        if args.endpoint:
            host, _, port = args.endpoint.split("//", 1)[1].partition(":")
            target = build.Target(host, int(port or 80), args.access_key, args.secret_key, bucket=args.bucket)
            outcome, samples, seconds = run_service(service, target, count, args.seed, args.concurrency, None)
            print_outcome(service, outcome, samples, seconds)
        else:
            gw = Gateway(service)
            try:
                port = int(gw.info["endpoint"].rsplit(":", 1)[1])
                target = build.Target("127.0.0.1", port, gw.info["access_key"], gw.info["secret_key"],
                                      bucket=gw.info["bucket"])
                outcome, samples, seconds = run_service(service, target, count, args.seed, args.concurrency,
                                                        gw.rss)
                time.sleep(1)  # let the last log lines arrive
            finally:
                gw.stop()
            print_outcome(service, outcome, samples, seconds)
            print(f"   gateway log lines: {gw.lines}; at error level or with a traceback: "
                  f"{sum(gw.bad_logs.values())}")
            for key, n in gw.bad_logs.most_common(10):
                print(f"   {n:8d}  {key[:220]}")
        total.update(outcome.histogram)
    fivexx = sum(n for key, n in total.items() if key[:1] == "5")
    print(f"\nALL: {sum(total.values())} requests, {fivexx} answered 5xx "
          f"({total.get('501 NotImplemented', 0)} × 501 NotImplemented, "
          f"{sum(n for k, n in total.items() if k.startswith('503'))} × 503)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
