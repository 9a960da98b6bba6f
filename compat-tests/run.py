#!/usr/bin/env python3
"""Run the compatibility scenarios against any AWS-compatible endpoint.

    python compat-tests/run.py --endpoint http://127.0.0.1:8787 --access-key AK --secret-key SK \
        [--region us-east-1] [--suite core] [-k substring] [-v] [--json PATH]

One line per scenario (`PASS name`, `FAIL name: reason`, `SKIP name: reason`), then exactly
`N passed, N failed, N skipped`. Exit status 0 iff nothing failed (2: usage error or endpoint unreachable).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Ctx, Fail, Skip, Target  # noqa: E402
from scenarios import Scenario, load_all  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="AWS-compatibility scenarios (EC2 query API + S3 REST).")
    p.add_argument("--endpoint", required=True, help="base URL, e.g. http://127.0.0.1:8787")
    p.add_argument("--ec2-endpoint", help="EC2 URL when it differs from --endpoint")
    p.add_argument("--s3-endpoint", help="S3 URL when it differs from --endpoint")
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--suite", action="append",
                   help="suite to run (repeatable, or comma-separated); default: all suites")
    p.add_argument("-k", dest="keyword", help="only scenarios whose name contains this substring")
    p.add_argument("-v", "--verbose", action="store_true", help="print each scenario's purpose and duration")
    p.add_argument("--json", dest="json_path", help="also write a JSON summary to this path")
    p.add_argument("--timeout", type=float, default=10.0, help="socket timeout per request, seconds")
    p.add_argument("--aws-cli", help="aws executable (default: next to this Python, else on PATH)")
    p.add_argument("--list", action="store_true", help="list the selected scenarios and exit")
    return p.parse_args(argv)


def select(all_scenarios: list[Scenario], suites: list[str] | None, keyword: str | None) -> list[Scenario]:
    wanted = {s.strip() for item in suites or [] for s in item.split(",") if s.strip()}
    known = {s.suite for s in all_scenarios}
    if unknown := wanted - known:
        raise ValueError(f"unknown suite(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return [s for s in all_scenarios
            if (not wanted or s.suite in wanted) and (not keyword or keyword in s.name)]


def unreachable(target: Target) -> str | None:
    """Why the endpoint cannot be reached at all (one TCP connect each), else None."""
    for url in {target.ec2_endpoint, target.s3_endpoint}:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=target.timeout).close()
        except (OSError, ValueError) as exc:
            return f"cannot reach {url}: {exc}"
    return None


def run_one(ctx: Ctx, sc: Scenario) -> tuple[str, str]:
    """("PASS"|"FAIL"|"SKIP", reason)."""
    try:
        for need in sc.needs:
            ctx.require(need)
        sc.func(ctx)
    except Skip as exc:
        return "SKIP", str(exc)
    except Fail as exc:
        return "FAIL", str(exc)
    except Exception as exc:  # a crash (timeout, refused connection, SDK error) is a failure, not a stop
        return "FAIL", f"{type(exc).__name__}: {exc}"
    return "PASS", ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        chosen = select(load_all(), args.suite, args.keyword)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.list:
        for sc in chosen:
            print(f"{sc.suite:10} {sc.name:45} {sc.doc}")
        return 0
    target = Target(ec2_endpoint=args.ec2_endpoint or args.endpoint,
                    s3_endpoint=args.s3_endpoint or args.endpoint,
                    access_key=args.access_key, secret_key=args.secret_key, region=args.region,
                    timeout=args.timeout, aws_cli=args.aws_cli)
    if reason := unreachable(target):
        print(reason, file=sys.stderr)  # one clear line rather than a failure per scenario
        return 2
    ctx = Ctx(target)
    results: list[dict[str, Any]] = []
    try:
        for sc in chosen:
            started = time.monotonic()
            status, reason = run_one(ctx, sc)
            seconds = round(time.monotonic() - started, 3)
            results.append({"name": sc.name, "suite": sc.suite, "status": status, "reason": reason,
                            "seconds": seconds})
            print(f"{status} {sc.name}" + (f": {reason}" if reason else ""), flush=True)
            if args.verbose:
                print(f"    [{sc.suite}, {seconds:.2f}s] {sc.doc}", flush=True)
    finally:
        ctx.close()
    counts = {"passed": sum(r["status"] == "PASS" for r in results),
              "failed": sum(r["status"] == "FAIL" for r in results),
              "skipped": sum(r["status"] == "SKIP" for r in results)}
    if args.json_path:
        summary = {"endpoint": args.endpoint, "region": args.region,
                   "suites": sorted({s.suite for s in chosen}),
                   **counts, "results": results}
        Path(args.json_path).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
