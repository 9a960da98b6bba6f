"""The EC2 compatibility tooling in compat-tests/: the `run-ec2-suite` runner (ec2api-tempest-plugin in its
own venv, watchdogged workers) and the `ec2` scenario suite of `run.py`.

- The runner's scheduling and watchdog run offline on a fake unittest suite (no venv needed): statuses,
  a hanging test killed and reported as a timeout while its class goes on, setUpClass/tearDownClass
  failures, the overall bound.
- `run-ec2-suite --list` and a short run against moto need the suite venv; they skip when it is not
  cached (`compat-tests/run-ec2-suite --install-only` builds it, ~1 min).
- The `ec2` scenario suite runs against moto's server. moto is not the product, so the test checks the
  suite ran (>= 10 scenarios, summary line, JSON, time bound), not that it passed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import ROOT, free_port

COMPAT = ROOT / "compat-tests"
RUNNER = COMPAT / "run-ec2-suite"
RUN_PY = COMPAT / "run.py"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")
MODULE_LINE = re.compile(r"^(\S+) passed=(\d+) failed=(\d+) skipped=(\d+)$")

sys.path.insert(0, str(COMPAT))
from ec2suite import venv as suite_venv  # noqa: E402
from ec2suite.cli import DEFAULT_VENV  # noqa: E402
from ec2suite.runner import Result, RunConfig, Runner  # noqa: E402

SUITE_VENV_READY = suite_venv.is_ready(DEFAULT_VENV)
needs_suite_venv = pytest.mark.skipif(
    not SUITE_VENV_READY, reason=f"suite venv {DEFAULT_VENV} not cached (compat-tests/run-ec2-suite --install-only)")


# ---- the watchdog, offline ----------------------------------------------------------------------------
FAKE_SUITE = '''
import os
import time
import unittest


class Mixed(unittest.TestCase):
    def test_a_pass(self):
        pass

    def test_b_fail(self):
        self.assertEqual(1, 2, "one is not two")

    def test_c_skip(self):
        self.skipTest("not here")

    def test_d_hang(self):
        time.sleep(600)

    def test_e_after_hang(self):
        pass

    def test_f_error(self):
        raise RuntimeError("boom\\nsecond line")


class SetupSkips(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise unittest.SkipTest("no VPC here")

    def test_one(self):
        pass

    def test_two(self):
        pass


class SetupFails(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("CreateVpc is Unsupported")

    def test_one(self):
        pass


class TeardownFails(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        raise RuntimeError("2 cleanUp operation failed")

    def test_one(self):
        pass


class Crashes(unittest.TestCase):
    def test_exit(self):
        os._exit(3)

    def test_after_exit(self):
        pass
'''


def fake_runner(tmp_path: Path, *, test_timeout: float = 1.0, grace: float = 1.0,
                overall: float = 60.0) -> tuple[Runner, list[Result]]:
    (tmp_path / "fake_suite.py").write_text(textwrap.dedent(FAKE_SUITE))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    seen: list[Result] = []
    cfg = RunConfig(python=Path(sys.executable), workdir=tmp_path, env=env, concurrency=3,
                    test_timeout=test_timeout, kill_grace=grace, overall_timeout=overall)
    return Runner(cfg, seen.append), seen


def by_id(results: list[Result]) -> dict[str, Result]:
    return {r.id.removeprefix("fake_suite."): r for r in results}


def test_runner_statuses_timeouts_and_class_fixtures(tmp_path: Path) -> None:
    runner, seen = fake_runner(tmp_path)
    ids = [f"fake_suite.Mixed.test_{n}" for n in ("a_pass", "b_fail", "c_skip", "d_hang", "e_after_hang", "f_error")]
    ids += ["fake_suite.SetupSkips.test_one", "fake_suite.SetupSkips.test_two", "fake_suite.SetupFails.test_one",
            "fake_suite.TeardownFails.test_one", "fake_suite.Crashes.test_exit", "fake_suite.Crashes.test_after_exit"]
    started = time.monotonic()
    results = by_id(runner.run(ids))
    took = time.monotonic() - started
    assert took < 30, f"the hanging test was not cut short ({took:.0f}s)"
    assert len(seen) == len(results)  # every result was reported as it came

    assert results["Mixed.test_a_pass"].status == "passed"
    assert results["Mixed.test_b_fail"].status == "failed"
    assert "one is not two" in results["Mixed.test_b_fail"].reason
    assert results["Mixed.test_c_skip"].status == "skipped"
    assert results["Mixed.test_c_skip"].reason == "not here"
    hang = results["Mixed.test_d_hang"]
    assert hang.status == "failed" and hang.timeout and hang.reason.startswith("timeout"), hang
    # the class went on in a fresh worker after the kill
    assert results["Mixed.test_e_after_hang"].status == "passed"
    assert results["Mixed.test_f_error"].reason == "RuntimeError: boom"  # first line of the exception

    for name in ("SetupSkips.test_one", "SetupSkips.test_two"):
        assert results[name].status == "skipped" and "no VPC here" in results[name].reason
    assert results["SetupFails.test_one"].status == "failed"
    assert results["SetupFails.test_one"].reason.startswith("setUpClass: RuntimeError: CreateVpc is Unsupported")
    assert results["TeardownFails.test_one"].status == "passed"
    teardown = results["TeardownFails.(tearDownClass)"]
    assert teardown.status == "failed" and "cleanUp operation failed" in teardown.reason
    assert results["Crashes.test_exit"].status == "failed"
    assert "worker exited with status 3" in results["Crashes.test_exit"].reason
    assert results["Crashes.test_after_exit"].status == "failed"  # not run: reported, never dropped


def test_runner_overall_bound_fails_everything_unfinished(tmp_path: Path) -> None:
    runner, _ = fake_runner(tmp_path, test_timeout=60, grace=60, overall=3)
    ids = ["fake_suite.Mixed.test_a_pass", "fake_suite.Mixed.test_d_hang", "fake_suite.Mixed.test_e_after_hang"]
    started = time.monotonic()
    results = by_id(runner.run(ids))
    assert time.monotonic() - started < 20
    assert results["Mixed.test_d_hang"].status == "failed" and results["Mixed.test_d_hang"].timeout
    assert "overall time bound" in results["Mixed.test_d_hang"].reason
    assert results["Mixed.test_e_after_hang"].status == "failed"
    assert results["Mixed.test_e_after_hang"].reason.startswith("not run")
    # a test that ran before the hang keeps its real result
    assert results["Mixed.test_a_pass"].status == "passed"


# ---- moto ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        pytest.skip("moto_server not installed next to this Python")
    port = free_port()
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_ec2_scenario_suite_runs_against_moto(tmp_path: Path) -> None:
    summary_path = tmp_path / "ec2.json"
    started = time.monotonic()
    with moto_server() as endpoint:
        done = subprocess.run(
            [sys.executable, str(RUN_PY), "--endpoint", endpoint, "--access-key", "AKIDMOTO", "--secret-key",
             "moto-secret", "--suite", "ec2", "--json", str(summary_path)],
            capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    took = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{done.stderr}"
    match = SUMMARY.match(lines[-1])
    assert match, f"last line is not the summary: {lines[-1]!r}\n{done.stderr[-2000:]}"
    passed, failed, skipped = map(int, match.groups())
    total = passed + failed + skipped
    print(f"\nec2 scenarios vs moto: {passed} passed, {failed} failed, {skipped} skipped in {took:.0f}s")
    assert total >= 10, f"only {total} ec2 scenarios ran"
    assert skipped < total, "every scenario skipped: the suite found nothing to run against moto"
    assert took < 300, f"the ec2 suite took {took:.0f}s against moto"
    assert done.returncode == (0 if failed == 0 else 1), done.stderr
    results = [line for line in lines[:-1] if line.split(" ", 1)[0] in ("PASS", "FAIL", "SKIP")]
    assert len(results) == total
    summary = json.loads(summary_path.read_text())
    assert (summary["passed"], summary["failed"], summary["skipped"]) == (passed, failed, skipped)
    assert summary["suites"] == ["ec2"]
    assert all(r["name"].startswith("ec2_") for r in summary["results"])


@needs_suite_venv
def test_run_ec2_suite_list_offline(tmp_path: Path) -> None:
    done = subprocess.run([str(RUNNER), "--list", "--no-install", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    ids = done.stdout.split()
    assert len(ids) >= 170, f"{len(ids)} tests listed"
    assert all(i.startswith("ec2api_tempest_plugin.") for i in ids)
    assert not any(i.endswith(".test_create_max_network_interface") for i in ids)
    assert "excluded by default: test_create_max_network_interface" in done.stderr
    more = subprocess.run([str(RUNNER), "--list", "--no-install", "--include-max-network-interface",
                           "--regex", r"test_network_interfaces\.", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert more.returncode == 0, more.stderr
    listed = more.stdout.split()
    assert any(i.endswith(".test_create_max_network_interface") for i in listed)
    assert all(".api.test_network_interfaces." in i for i in listed)


@needs_suite_venv
def test_run_ec2_suite_against_moto(tmp_path: Path) -> None:
    """A small slice of the plugin (regions, key pairs) end to end: config, workers, report, JSON."""
    out = tmp_path / "suite.json"
    with moto_server() as endpoint:
        done = subprocess.run(
            [str(RUNNER), "--endpoint", endpoint + "/", "--access", "AKIDMOTO", "--secret", "moto$secret",
             "--no-install", "--regex", r"\.test_(regions|key_pairs)\.", "--concurrency", "2",
             "--timeout-per-test", "120", "--overall-timeout", "300", "--json", str(out),
             "--workdir", str(tmp_path / "work")],
            capture_output=True, text=True, timeout=400, cwd=ROOT, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    match = SUMMARY.match(lines[-1])
    assert match, f"last line: {lines[-1]!r}\n{done.stderr[-2000:]}"
    passed, failed, skipped = map(int, match.groups())
    print(f"\nrun-ec2-suite (regions, key pairs) vs moto: {passed} passed, {failed} failed, {skipped} skipped")
    modules = {m.group(1): tuple(map(int, m.groups()[1:])) for m in map(MODULE_LINE.match, lines) if m}
    assert set(modules) == {"api.test_regions", "api.test_key_pairs"}, lines
    assert tuple(map(sum, zip(*modules.values(), strict=True))) == (passed, failed, skipped)
    assert passed + failed + skipped == 8
    assert modules["api.test_regions"][0] == 2, "DescribeRegions/Zones tests fail against moto"
    assert done.returncode == (0 if failed == 0 else 1)
    report = json.loads(out.read_text())
    assert (report["passed"], report["failed"], report["skipped"]) == (passed, failed, skipped)
    assert {t["status"] for t in report["tests"]} <= {"passed", "failed", "skipped"}
    assert all({"id", "status", "duration", "reason"} <= set(t) for t in report["tests"])
    assert report["zone"], "the zone was not discovered"
    conf = (tmp_path / "work" / "functional_tests.conf").read_text()
    assert "aws_secret = moto$$secret" in conf and "run_ssh = false" in conf
