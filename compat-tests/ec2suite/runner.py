"""Parallel, watchdogged execution of the plugin's tests in worker processes of the suite venv.

Scheduling unit: one test class (its setUpClass/tearDownClass run once, as under stestr/tempest, whose
`group_regex` keeps a class on one worker). Each class runs in a fresh worker process (`worker.py run`),
`concurrency` of them at a time. The worker streams one JSON event per test start/end over a pipe.

No test can hang:
  * soft: OS_TEST_TIMEOUT makes tempest's base class fail a test that runs longer than the per-test
    timeout (fixtures.Timeout), so its tearDown and resource cleanups still run;
  * hard: when a worker shows no progress (no event) for timeout + grace seconds — a test stuck past its
    soft timeout, in a loop that swallows the timeout, or in setUpClass/tearDownClass — its whole process
    group is killed, the test is reported failed ("timeout"), and the class's remaining tests go on in a
    new worker;
  * overall: past the run's time bound every worker is killed and every unfinished test is failed.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "worker.py"


@dataclass
class Result:
    id: str
    status: str  # passed | failed | skipped
    duration: float = 0.0
    reason: str = ""
    details: str = ""
    timeout: bool = False

    @property
    def module(self) -> str:
        return self.id.rsplit(".", 2)[0]


@dataclass
class RunConfig:
    python: Path
    workdir: Path
    env: dict[str, str]
    concurrency: int
    test_timeout: float
    kill_grace: float
    overall_timeout: float


@dataclass
class Batch:
    cls: str  # module.Class
    tests: list[str]


@dataclass
class _State:
    results: dict[str, Result] = field(default_factory=dict)
    procs: set[subprocess.Popen] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def batches_of(test_ids: list[str]) -> list[Batch]:
    """Tests grouped by class, biggest classes first (they dominate the wall time)."""
    by_class: dict[str, list[str]] = {}
    for tid in test_ids:
        by_class.setdefault(tid.rsplit(".", 1)[0], []).append(tid)
    return sorted((Batch(c, t) for c, t in by_class.items()), key=lambda b: (-len(b.tests), b.cls))


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker leads its own session: its children go too
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class Runner:
    def __init__(self, cfg: RunConfig, on_result: Callable[[Result], None]) -> None:
        self.cfg = cfg
        self.on_result = on_result
        self.state = _State()
        self.deadline = time.monotonic() + cfg.overall_timeout
        self.queue: queue.Queue[Batch] = queue.Queue()
        self.worker_seq = 0

    # ---- public ----------------------------------------------------------------------------------
    def run(self, test_ids: list[str]) -> list[Result]:
        for batch in batches_of(test_ids):
            self.queue.put(batch)
        threads = [threading.Thread(target=self._slot, name=f"slot-{i}", daemon=True)
                   for i in range(max(1, self.cfg.concurrency))]
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(timeout=0.5)
        finally:
            self.kill_all()
        # Anything never reported (cannot happen unless a slot crashed) is a failure, not a silent gap.
        for tid in test_ids:
            if tid not in self.state.results:
                self._record(Result(tid, "failed", reason="not run (runner error)"))
        return list(self.state.results.values())

    def kill_all(self) -> None:
        with self.state.lock:
            procs = list(self.state.procs)
        for proc in procs:
            _kill(proc)

    # ---- internals -------------------------------------------------------------------------------
    def _record(self, result: Result) -> None:
        with self.state.lock:
            if result.id in self.state.results:  # first word wins (a retried class never re-reports)
                return
            self.state.results[result.id] = result
        self.on_result(result)

    def _slot(self) -> None:
        while True:
            try:
                batch = self.queue.get_nowait()
            except queue.Empty:
                return
            try:
                self._run_batch(batch)
            except Exception as exc:  # a runner bug must not lose the class's tests
                for tid in batch.tests:
                    self._record(Result(tid, "failed", reason=f"runner error: {type(exc).__name__}: {exc}"))

    def _spawn(self, tests: list[str]) -> tuple[subprocess.Popen, int]:
        read_fd, write_fd = os.pipe()
        with self.state.lock:
            self.worker_seq += 1
            seq = self.worker_seq
        env = {**self.cfg.env, "EC2SUITE_EVENT_FD": str(write_fd)}
        try:
            with open(self.cfg.workdir / f"worker-{seq:03d}.log", "wb") as log:
                proc = subprocess.Popen([str(self.cfg.python), str(WORKER), "run"], stdin=subprocess.PIPE,
                                        stdout=log, stderr=subprocess.STDOUT, cwd=self.cfg.workdir, env=env,
                                        pass_fds=(write_fd,), start_new_session=True)
        finally:
            os.close(write_fd)
        with self.state.lock:
            self.state.procs.add(proc)
        assert proc.stdin is not None
        proc.stdin.write((json.dumps({"tests": tests}) + "\n").encode())
        proc.stdin.close()
        return proc, read_fd

    def _run_batch(self, batch: Batch) -> None:
        remaining = list(batch.tests)
        while remaining:
            if time.monotonic() >= self.deadline:
                for tid in remaining:
                    self._record(Result(tid, "failed", reason="not run: the run's overall time bound "
                                        f"({self.cfg.overall_timeout:.0f}s) was exceeded", timeout=True))
                return
            remaining = self._run_worker(batch, remaining)

    def _run_worker(self, batch: Batch, tests: list[str]) -> list[str]:
        """Run `tests` in one worker; return the tests to retry in a new worker (after a kill)."""
        cfg = self.cfg
        hard = cfg.test_timeout + cfg.kill_grace
        proc, fd = self._spawn(tests)
        reported: set[str] = set()
        current: str | None = None
        current_started = 0.0
        fixture_outcome: Result | None = None  # a failed/skipped setUpClass: applies to unrun tests
        killed_reason: str | None = None
        overall = False
        buf = b""
        last_progress = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                wait_until = min(last_progress + hard, self.deadline)
                if now >= wait_until:
                    overall = now >= self.deadline
                    killed_reason = (f"overall time bound ({cfg.overall_timeout:.0f}s) exceeded" if overall
                                     else f"timeout: no progress for {hard:.0f}s (per-test timeout "
                                          f"{cfg.test_timeout:.0f}s + {cfg.kill_grace:.0f}s grace); "
                                          "worker killed")
                    _kill(proc)
                    break
                ready, _, _ = select.select([fd], [], [], min(1.0, wait_until - now))
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break  # worker exited (or closed the pipe)
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    last_progress = time.monotonic()
                    event = json.loads(line)
                    kind = event.get("event")
                    if kind == "start":
                        current, current_started = event["id"], time.monotonic()
                    elif kind == "end":
                        tid = event["id"]
                        reported.add(tid)
                        if tid == current:
                            current = None
                        reason = event.get("reason", "")
                        timed_out = "TimeoutException" in reason
                        if timed_out:
                            reason = f"timeout: exceeded the per-test timeout ({cfg.test_timeout:.0f}s): {reason}"
                        self._record(Result(tid, event["status"], event.get("duration", 0.0), reason,
                                            event.get("details", ""), timed_out))
                    elif kind == "fixture":
                        self._fixture(batch, event, reported)
                        if event.get("phase") == "setUpClass":
                            fixture_outcome = Result("", event["status"],
                                                     reason=f"{event['phase']}: {event.get('reason', '')}",
                                                     details=event.get("details", ""))
        finally:
            os.close(fd)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _kill(proc)
            with self.state.lock:
                self.state.procs.discard(proc)

        if killed_reason is not None:
            stuck_in_test = current is not None
            if stuck_in_test:
                reported.add(current)
                self._record(Result(current, "failed", round(time.monotonic() - current_started, 3),
                                    killed_reason, timeout=True))
            left = [t for t in tests if t not in reported]
            if stuck_in_test and not overall:
                return left  # the rest of the class gets a fresh worker (setUpClass again)
            if not left and not overall:  # every test reported: stuck in tearDownClass
                self._record(Result(f"{batch.cls}.(tearDownClass)", "failed", 0.0,
                                    f"tearDownClass: {killed_reason}", timeout=True))
            for tid in left:  # stuck in setUpClass (retrying would hang again), or out of time
                where = "not run" if overall else "setUpClass"
                self._record(Result(tid, "failed", reason=f"{where}: {killed_reason}", timeout=True))
            return []

        if current is not None:  # the worker died inside a test
            reported.add(current)
            self._record(Result(current, "failed", round(time.monotonic() - current_started, 3),
                                f"worker exited with status {proc.returncode} during the test "
                                f"(see {cfg.workdir}/worker-*.log)"))
        for tid in tests:
            if tid in reported:
                continue
            if fixture_outcome is not None:
                self._record(Result(tid, fixture_outcome.status, 0.0, fixture_outcome.reason,
                                    fixture_outcome.details))
            else:
                self._record(Result(tid, "failed", 0.0, f"not run: worker exited with status "
                                    f"{proc.returncode} (see {cfg.workdir}/worker-*.log)"))
        return []

    def _fixture(self, batch: Batch, event: dict, reported: set[str]) -> None:
        """tearDownClass failures (leaked resources) are reported as a failed pseudo-test of the class,
        as tempest does; setUpClass outcomes are applied to the class's tests by the caller."""
        if event.get("phase") == "setUpClass":
            return
        if event.get("status") == "skipped":
            return
        cls = event.get("cls") or batch.cls
        self._record(Result(f"{cls}.({event.get('phase')})", "failed", 0.0,
                            f"{event.get('phase')}: {event.get('reason', '')}", event.get("details", "")))
