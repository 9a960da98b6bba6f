"""Integrity under crashes: ≥10,000 concurrent S3 PUT/GET/multipart operations with checksums against a
`cloudgate serve` on the devcloud tempauth Swift, while the gateway is SIGKILLed and restarted and the Swift
proxy is restarted (a private proxy process on the devcloud Swift's configuration: the shared proxy on
:18080 is left alone). See tests/faults/crash.py for the verdicts.

Prints the operations by outcome, the violations (target 0), bytes lost (target 0), open uploads aborted
at the end, and the Swift segments before/after the clean-up (target: none left). The baseline is the same
workload's throughput without any crash, measured first in the same run.

    .venv/bin/python bench/crash_integrity.py [--operations 10000] [--workers 32] [--kill-every 6]
        [--swift-restart-every 20] [--baseline-operations 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.crash import Report, Settings, arrangement, run  # noqa: E402


def show(title: str, report: Report, operations: int) -> None:
    t = report.tally
    print(f"\n== {title}: {operations} operations in {report.seconds:.0f}s "
          f"({operations / report.seconds:.0f} ops/s); gateway SIGKILLs {report.gateway_kills}, "
          f"Swift proxy restarts {report.swift_restarts}")
    for what, n in sorted(t.ops.items()):
        print(f"   {what:18} {n:7d}")
    print(f"   violations (partial/mixed/stale reads, lost acknowledged writes): {len(t.violations)}")
    for v in t.violations[:20]:
        print(f"     {v}")
    print(f"   keys whose acknowledged write is not readable at the end: {len(report.final_lost_keys)}")
    print(f"   bytes lost: {t.bytes_lost}")
    print(f"   multipart uploads still open at the end (aborted): {report.leftover_uploads}")
    print(f"   Swift segments: {report.segments_before} before, {report.segments_after} left after the clean-up")


def _succeeded(report: Report) -> int:
    return sum(n for what, n in report.tally.ops.items() if what.endswith((" ok", " missing")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--kill-every", type=float, default=6.0)
    parser.add_argument("--swift-restart-every", type=float, default=20.0)
    parser.add_argument("--baseline-operations", type=int, default=1000)
    args = parser.parse_args()
    settings = Settings(operations=args.operations, workers=args.workers, kill_every=args.kill_every,
                        swift_restart_every=args.swift_restart_every)
    bad = 0
    with arrangement() as (swift, gw):
        if args.baseline_operations:
            base = dataclasses.replace(settings, operations=args.baseline_operations, kill_every=0,
                                       swift_restart_every=0, seed=settings.seed + 1)
            report = run(swift, gw, base)
            show("baseline, no crashes", report, base.operations)
            base_rate = _succeeded(report) / report.seconds
            bad += len(report.tally.violations) + report.tally.bytes_lost + report.segments_after
        last = [0.0]

        def progress(tally, done: int) -> None:
            if time.monotonic() - last[0] > 15:
                last[0] = time.monotonic()
                print(f"   ... {done} operations, {sum(tally.ops.values())} done, "
                      f"{len(tally.violations)} violations", flush=True)

        report = run(swift, gw, settings, progress)
        show("with crashes", report, settings.operations)
        if args.baseline_operations:
            print(f"   successful operations per second under crashes: {_succeeded(report) / report.seconds:.1f}, "
                  f"{_succeeded(report) / report.seconds / base_rate:.2f}× the baseline's")
        bad += len(report.tally.violations) + report.tally.bytes_lost + report.segments_after
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
