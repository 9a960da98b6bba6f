"""`compat-tests/run-ec2-suite`: OpenStack's EC2 compatibility suite (ec2api-tempest-plugin 1.7.0)
against any EC2 endpoint with static keys. This module runs in any Python 3.10+ (stdlib only); the tests
themselves run in the suite's own venv (see venv.py, worker.py, runner.py)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from . import venv as suite_venv
from .runner import Result, RunConfig, Runner

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
DEFAULT_VENV = Path(os.environ.get("EC2SUITE_VENV") or CACHE / "ec2suite-venv")  # env: share one venv
RUNS_DIR = CACHE / "ec2suite-runs"
KEEP_RUNS = 10
PACKAGE_PREFIX = "ec2api_tempest_plugin."

# Tests left out unless asked for, and why (shown by --help and at the start of every run).
DEFAULT_EXCLUDES = {
    "test_create_max_network_interface": (
        "it creates network interfaces in a loop until the endpoint answers "
        "InsufficientFreeAddressesInSubnet; against an endpoint that never does (a large subnet, or no "
        "free-address accounting) it loops forever, and its thousands of interfaces then take longer to "
        "clean up than any timeout allows"),
}

EPILOG = "Excluded by default:\n  test_create_max_network_interface:\n" + textwrap.fill(
    DEFAULT_EXCLUDES["test_create_max_network_interface"] + ". --include-max-network-interface runs it "
    "(the per-test timeout still bounds it).", 100, initial_indent="    ", subsequent_indent="    ") + "\n\n"
EPILOG += textwrap.dedent(f"""\

    Output: FAIL lines as tests finish (all results with -v), then one line per module
    `<module> passed=N failed=N skipped=N`, then exactly `N passed, N failed, N skipped`.
    A test that exceeds --timeout-per-test fails (tempest's own timeout, so cleanups run); a worker that
    shows no progress for --timeout-per-test + --kill-grace seconds is killed and its test fails with
    "timeout"; past --overall-timeout every unfinished test fails. Exit 0 iff nothing failed,
    1 if something failed, 2 for a usage error, an unreachable endpoint or a failed install.

    The suite's venv (--venv, env EC2SUITE_VENV, default .cache/ec2suite-venv) is built once with
    {' '.join(suite_venv.REQUIREMENTS)} and reused;
    never the project's venv (tempest's pins differ).
    Worker logs and failures.txt (full tracebacks and test logs) go to the run's work directory
    ({RUNS_DIR.relative_to(ROOT)}/<time>/ unless --workdir).
    """)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="run-ec2-suite", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Run OpenStack's EC2 compatibility suite (ec2api-tempest-plugin 1.7.0, 181 tests) "
                    "against any EC2 endpoint with static keys.")
    p.add_argument("--endpoint", help="EC2 endpoint URL, e.g. http://127.0.0.1:8787/")
    p.add_argument("--s3-endpoint", help="S3 URL for the plugin's s3_url (default: --endpoint)")
    p.add_argument("--access", help="access key id")
    p.add_argument("--secret", help="secret access key")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--zone", help="availability zone (default: the first one DescribeAvailabilityZones "
                                  "lists, else <region>a)")
    p.add_argument("--image-id", help="instance-store machine image (enables the instance tests)")
    p.add_argument("--ebs-image-id", help="EBS-backed machine image (enables the EBS/snapshot tests)")
    p.add_argument("--discover-images", action="store_true",
                   help="fill --image-id/--ebs-image-id not given from DescribeImages (first available "
                        "machine image by root device type)")
    p.add_argument("--create-ebs-image", action="store_true",
                   help="with --discover-images: when no EBS-backed image exists, make one through the endpoint "
                        "(volume -> snapshot -> RegisterImage, named ec2suite-ebs-image; kept for later runs)")
    p.add_argument("--run-incompatible-tests", action="store_true",
                   help="also the suite's tests that hold AWS behaviour OpenStack's ec2-api lacks (run_incompatible_tests)")
    p.add_argument("--run-long-tests", action="store_true", help="also the suite's long tests (run_long_tests)")
    p.add_argument("--instance-type", default="t2.micro")
    p.add_argument("--instance-type-alt", help="a second instance type (instance attribute tests)")
    p.add_argument("--build-timeout", type=int, default=120,
                   help="the plugin's wait for a state change, seconds (default 120)")
    p.add_argument("--concurrency", type=int, default=4, help="test classes run at once (default 4)")
    p.add_argument("--timeout-per-test", type=float, default=300.0,
                   help="seconds one test may run before it fails (default 300)")
    p.add_argument("--kill-grace", type=float, default=60.0,
                   help="extra seconds for cleanups before a stuck worker is killed (default 60)")
    p.add_argument("--overall-timeout", type=float, default=3600.0,
                   help="bound on the whole run, seconds (default 3600)")
    p.add_argument("--regex", action="append",
                   help="only tests whose id matches (re.search; repeatable: any of them)")
    p.add_argument("--exclude-regex", action="append", help="leave out tests whose id matches (repeatable)")
    p.add_argument("--include-max-network-interface", action="store_true",
                   help="also run test_create_max_network_interface (see below)")
    p.add_argument("--list", action="store_true", help="list the selected test ids and exit")
    p.add_argument("--json", dest="json_path", help="write per-test results (id, status, duration, reason)")
    p.add_argument("--venv", default=str(DEFAULT_VENV), help=f"suite venv (default {DEFAULT_VENV})")
    p.add_argument("--no-install", action="store_true", help="fail instead of building a missing venv")
    p.add_argument("--install-only", action="store_true", help="build the suite venv and exit")
    p.add_argument("--workdir", help="where config, worker logs and failures.txt go")
    p.add_argument("-v", "--verbose", action="store_true", help="print every result, not only failures")
    args = p.parse_args(argv)
    if not (args.list or args.install_only):
        missing = [f"--{n}" for n in ("endpoint", "access", "secret") if not getattr(args, n)]
        if missing:
            p.error(f"{', '.join(missing)} required")
    if args.concurrency < 1 or args.timeout_per_test <= 0 or args.overall_timeout <= 0:
        p.error("--concurrency, --timeout-per-test and --overall-timeout must be positive")
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- config ---------------------------------------------------------------------------------------
def _ini(value: str) -> str:
    return value.replace("$", "$$")  # oslo.config substitutes $name in values


def write_config(path: Path, args: argparse.Namespace, zone: str | None, image_id: str | None,
                 ebs_image_id: str | None) -> None:
    aws = {
        "ec2_url": args.endpoint or "http://127.0.0.1:1/",
        "s3_url": args.s3_endpoint or args.endpoint or "http://127.0.0.1:1/",
        "aws_access": args.access or "listing-only",
        "aws_secret": args.secret or "listing-only",
        "aws_region": args.region,
        "aws_zone": zone or f"{args.region}a",
        "instance_type": args.instance_type,
        "instance_type_alt": args.instance_type_alt,
        "image_id": image_id,
        "ebs_image_id": ebs_image_id,
        "run_ssh": "false",
        # the suite's tests of AWS behaviour that OpenStack's own ec2-api does not match (skipped by default)
        "run_incompatible_tests": "true" if args.run_incompatible_tests else None,
        "run_long_tests": "true" if args.run_long_tests else None,
        "build_timeout": str(args.build_timeout),
        "build_interval": "1",
    }
    lines = ["[DEFAULT]", "", "[aws]"]
    lines += [f"{k} = {_ini(v)}" for k, v in aws.items() if v]
    lines += ["", "[service_available]", "ec2api = true", ""]
    path.write_text("\n".join(lines))


def worker_env(workdir: Path, conf: Path, test_timeout: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PYTHON", "TEMPEST_", "OS_")) and k not in ("VIRTUAL_ENV",
                                                                                  "TEST_CONFIG",
                                                                                  "TEST_CONFIG_DIR")}
    env.update({
        # The plugin's own config loader (no tempest.conf needed).
        "TEST_CONFIG_DIR": str(workdir), "TEST_CONFIG": conf.name,
        # No user AWS config may change what botocore sends.
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        # tempest.lib.base: soft per-test timeout, and captured output/logging (kept for failures).
        "OS_TEST_TIMEOUT": str(int(max(1, test_timeout))), "OS_LOG_CAPTURE": "1",
        "OS_STDOUT_CAPTURE": "1", "OS_STDERR_CAPTURE": "1", "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def make_workdir(explicit: str | None) -> Path:
    if explicit:
        path = Path(explicit).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    old = sorted(p for p in RUNS_DIR.iterdir() if p.is_dir())
    for stale in old[:max(0, len(old) - KEEP_RUNS + 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=RUNS_DIR))


# ---- the suite venv's helpers -----------------------------------------------------------------------
def run_helper(python: Path, workdir: Path, env: dict[str, str], *args: str, timeout: float = 180) -> dict:
    done = subprocess.run([str(python), str(Path(__file__).with_name("worker.py")), *args],
                          capture_output=True, text=True, cwd=workdir, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def select_tests(tests: list[dict], args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(selected ids, default-excluded ids)."""
    include = [re.compile(r) for r in args.regex or []]
    exclude = [re.compile(r) for r in args.exclude_regex or []]
    defaults = [] if args.include_max_network_interface else list(DEFAULT_EXCLUDES)
    selected, excluded = [], []
    for t in tests:
        names = (t["id"], t["full_id"])
        if include and not any(r.search(n) for r in include for n in names):
            continue
        if any(r.search(n) for r in exclude for n in names):
            continue
        if any(t["id"].rsplit(".", 1)[-1] == d for d in defaults):
            excluded.append(t["id"])
            continue
        selected.append(t["id"])
    return selected, excluded


def unreachable(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return f"not a URL: {url}"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=10).close()
    except OSError as exc:
        return f"cannot reach {url}: {exc}"
    return None


def short(module: str) -> str:
    return module[len(PACKAGE_PREFIX):] if module.startswith(PACKAGE_PREFIX) else module


# ---- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        python, install_seconds = suite_venv.ensure(Path(args.venv), install=not args.no_install, log=log)
    except suite_venv.VenvError as exc:
        log(str(exc))
        return 2
    if args.install_only:
        print(f"suite venv ready: {python.parent.parent}"
              + (f" (installed in {install_seconds:.0f}s)" if install_seconds is not None else " (cached)"))
        return 0

    workdir = make_workdir(args.workdir)
    conf = workdir / "functional_tests.conf"
    env = worker_env(workdir, conf, args.timeout_per_test)

    if not args.list:
        for url in {args.endpoint, args.s3_endpoint or args.endpoint}:
            if reason := unreachable(url):
                log(reason)
                return 2
    zone, image_id, ebs_image_id = args.zone, args.image_id, args.ebs_image_id
    want_images = args.discover_images and not (image_id and ebs_image_id)
    if not args.list and (zone is None or want_images):
        probe = workdir / "discover.json"
        probe.write_text(json.dumps({"endpoint": args.endpoint, "region": args.region, "access": args.access,
                                     "secret": args.secret, "want_zone": zone is None, "zone": zone,
                                     "want_images": want_images, "create_ebs_image": args.create_ebs_image}))
        try:
            found = run_helper(python, workdir, env, "discover", str(probe))
        finally:
            probe.unlink(missing_ok=True)  # it holds the secret
        if found.get("error"):
            log(f"discovery: {found['error']}")
        zone = zone or found.get("zone")
        if want_images:
            image_id = image_id or found.get("image_id")
            ebs_image_id = ebs_image_id or found.get("ebs_image_id")
    write_config(conf, args, zone, image_id, ebs_image_id)

    listing = run_helper(python, workdir, env, "list")
    for error in listing.get("errors", []):
        log(f"cannot load: {error}")
    selected, excluded = select_tests(listing["tests"], args)
    if args.list:
        for tid in selected:
            print(tid)
        log(f"{len(selected)} tests selected of {len(listing['tests'])}"
            + (f"; excluded by default: {', '.join(t.rsplit('.', 1)[-1] for t in excluded)}" if excluded else ""))
        return 0 if not listing.get("errors") else 1

    log(f"ec2api-tempest-plugin {suite_venv.PLUGIN_VERSION}: {len(selected)} tests against {args.endpoint} "
        f"(region {args.region}, zone {zone or args.region + 'a'}, image {image_id or '-'}, "
        f"ebs image {ebs_image_id or '-'}, type {args.instance_type}); concurrency {args.concurrency}, "
        f"{args.timeout_per_test:.0f}s per test, {args.overall_timeout:.0f}s overall; workdir {workdir}")
    for tid in excluded:
        log(f"excluded: {tid.rsplit('.', 1)[-1]}: {DEFAULT_EXCLUDES.get(tid.rsplit('.', 1)[-1], '')} "
            "(--include-max-network-interface)")

    print_lock = threading.Lock()

    def on_result(r: Result) -> None:
        if r.status == "failed" or args.verbose:
            tag = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[r.status]
            with print_lock:
                print(f"{tag} {short(r.id)} ({r.duration:.1f}s)" + (f": {r.reason}" if r.reason else ""),
                      flush=True)

    started_at, started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.monotonic()
    runner = Runner(RunConfig(python=python, workdir=workdir, env=env, concurrency=args.concurrency,
                              test_timeout=args.timeout_per_test, kill_grace=args.kill_grace,
                              overall_timeout=args.overall_timeout), on_result)
    try:
        results = runner.run(selected)
    except KeyboardInterrupt:
        runner.kill_all()
        log("interrupted; workers killed")
        return 130
    seconds = round(time.monotonic() - started, 1)
    results.sort(key=lambda r: r.id)

    modules: dict[str, Counter] = {}
    for r in results:
        modules.setdefault(short(r.module), Counter())[r.status] += 1
    totals = Counter(r.status for r in results)

    failures = [r for r in results if r.status == "failed"]
    if failures:
        with open(workdir / "failures.txt", "w") as out:
            for r in failures:
                out.write(f"=== {r.id} ({r.duration:.1f}s)\n{r.reason}\n\n{r.details}\n\n")
        print(f"# tracebacks and logs of the {len(failures)} failures: {workdir / 'failures.txt'}")
    if args.json_path:
        summary = {
            "suite": "ec2api-tempest-plugin", "plugin_version": suite_venv.PLUGIN_VERSION,
            "requirements": list(suite_venv.REQUIREMENTS), "endpoint": args.endpoint,
            "region": args.region, "zone": zone, "image_id": image_id, "ebs_image_id": ebs_image_id,
            "instance_type": args.instance_type, "concurrency": args.concurrency,
            "timeout_per_test": args.timeout_per_test, "started": started_at, "seconds": seconds,
            "excluded": excluded,
            "passed": totals["passed"], "failed": totals["failed"], "skipped": totals["skipped"],
            "modules": {m: {s: c[s] for s in ("passed", "failed", "skipped")} for m, c in sorted(modules.items())},
            "tests": [{"id": r.id, "status": r.status, "duration": r.duration, "reason": r.reason,
                       **({"timeout": True} if r.timeout else {})} for r in results],
        }
        Path(args.json_path).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"# {seconds:.0f}s", flush=True)
    for module, c in sorted(modules.items()):
        print(f"{module} passed={c['passed']} failed={c['failed']} skipped={c['skipped']}")
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped", flush=True)
    return 0 if totals["failed"] == 0 else 1
