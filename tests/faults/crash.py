"""Integrity under crashes: concurrent S3 PUT/GET/multipart with checksums while the gateway is SIGKILLed
and restarted and Swift's proxy is restarted. Used by tests/test_crash_integrity.py (a bounded sample)
and bench/crash_integrity.py (≥10,000 operations).

The arrangement is private: a `cloudgate serve` subprocess (its state in an SQLite file that outlives
each kill) on a private Swift proxy process (the devcloud Swift's own configuration on another port,
sharing its account/container/object servers), so restarting that proxy disturbs no one else.

Each worker owns its keys, so the writes to one key are sequential and the ledger knows, per key, every
body ever attempted (by SHA-256) and which were acknowledged. Verdicts:
  - a GET answering 200 must return exactly one attempted body of that key (never partial or mixed), and
    never one older than the last acknowledged write (an acknowledged write is readable);
  - at the end every key reads back as its last acknowledged body or a later attempt (else its bytes are
    counted lost);
  - an interrupted multipart upload is resumed (ListParts, then the missing parts) or aborted; after the
    clean-up (objects deleted, open uploads aborted) the bucket's segments container holds nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from gateway.s3.multipart_state import LEASE_SECONDS
from tests.server import ROOT, free_port, wait_healthy
from tests.swift_direct import SwiftDirect

TENANT = {"access_key": "AKIDTENANTA", "secret_key": "tenantAsecretKEY/0000000000000000000000",
          "account_id": "111111111111", "display_name": "tenant-a"}
SWIFT_USER = ("test:tester", "testing")
MIN_PART = 5 * 1024 * 1024
SEGMENTS_SUFFIX = "+segments"


def body_for(key: str, attempt: int, size: int) -> bytes:
    """Deterministic, unique per (key, attempt): a mixed or cut body can never hash like a real one."""
    seed = hashlib.sha256(f"{key}/{attempt}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the private Swift proxy and the gateway subprocess ------------------------------------------------------
class SwiftProxy:
    """The devcloud Swift's proxy configuration on a private port, as a process of our own."""

    def __init__(self, state_dir: Path, venv: Path, workdir: Path) -> None:
        conf = (state_dir / "etc" / "proxy-server.conf").read_text()
        self.port = free_port()
        lines = []
        for line in conf.splitlines():
            if line.startswith("bind_port"):
                line = f"bind_port = {self.port}"
            elif line.startswith("workers"):
                line = "workers = 1"
            lines.append(line)
        self.conf = workdir / "proxy-server.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.exe = venv / "bin" / "swift-proxy-server"
        self.log = workdir / "swift-proxy.log"
        self.proc: subprocess.Popen | None = None

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/v1.0"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(self.exe), str(self.conf)], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                SwiftDirect(self.auth_url, *SWIFT_USER)._authenticate()
                return
            except OSError:
                time.sleep(0.2)
            except Exception:  # noqa: BLE001 - not answering yet
                time.sleep(0.2)
        raise TimeoutError(f"private swift proxy not up in 30 s; log {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class GatewayProcess:
    """`cloudgate serve` on a fixed port; SIGKILL and restart keep the port and the state file."""

    def __init__(self, workdir: Path, swift_auth_url: str) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        cfg = {"region": "us-east-1", "logging": {"level": "warning"},
               "server": {"drain_notice_seconds": 0, "drain_seconds": 2},
               "auth": {"static": [dict(TENANT, backend={"swift_user": SWIFT_USER[0], "swift_key": SWIFT_USER[1]})]},
               "state": {"url": f"sqlite:///{workdir}/state.db"},
               "backend": {"type": "swift", "options": {"auth_url": swift_auth_url, "timeout": 20}}}
        self.config = workdir / "cloudgate.yaml"
        self.config.write_text(yaml.safe_dump(cfg))
        self.log = workdir / "gateway.log"
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        exe = Path(sys.executable).with_name("cloudgate")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gateway.cli"]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([*cmd, "serve", "--config", str(self.config), "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=ROOT)
        wait_healthy(self.endpoint, timeout=60)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


# ---- the ledger and the workers -------------------------------------------------------------------------------
@dataclass
class KeyLog:
    attempts: list[tuple[str, int]] = field(default_factory=list)  # (sha256, size) in order
    last_acked: int = -1                                            # index into attempts

    def allowed(self) -> set[str]:
        """What a read may return: the last acknowledged body or any later attempt."""
        return {h for h, _ in self.attempts[max(self.last_acked, 0):]}


@dataclass
class Tally:
    ops: Counter = field(default_factory=Counter)        # "put ok", "put failed", "get ok", ...
    violations: list[str] = field(default_factory=list)
    bytes_lost: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.ops[what] += 1

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=TENANT["access_key"], aws_secret_access_key=TENANT["secret_key"],
                        config=BotoConfig(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=30,
                                          s3={"addressing_style": "path"}, max_pool_connections=4))


FAILURES = (ClientError, BotoCoreError, OSError)


class Worker:
    def __init__(self, n: int, endpoint: str, bucket: str, tally: Tally, rng: random.Random, *,
                 keys: int, max_size: int, multipart_share: float, big_part_share: float) -> None:
        self.n, self.bucket, self.tally, self.rng = n, bucket, tally, rng
        self.s3 = s3_client(endpoint)
        self.keys = {f"w{n:03d}/k{j}": KeyLog() for j in range(keys)}
        self.max_size, self.multipart_share, self.big_part_share = max_size, multipart_share, big_part_share
        self.pending: dict[str, tuple[str, list[bytes], int]] = {}  # key -> (upload id, parts, attempt)

    def step(self) -> None:
        """One operation; after a failed one, a short pause (a gateway being restarted refuses at once:
        without it the budget would go to refused connections)."""
        before = sum(n for what, n in self.tally.ops.items() if not what.endswith((" ok", " missing")))
        self._step()
        if sum(n for what, n in self.tally.ops.items() if not what.endswith((" ok", " missing"))) > before:
            time.sleep(0.3)

    def _step(self) -> None:
        key = self.rng.choice(list(self.keys))
        if key in self.pending:
            self.resume(key)
        elif self.rng.random() < self.multipart_share:
            self.multipart(key)
        elif self.rng.random() < 0.5:
            self.put(key)
        else:
            self.get(key)

    def _attempt(self, key: str, data: bytes) -> int:
        log = self.keys[key]
        log.attempts.append((digest(data), len(data)))
        return len(log.attempts) - 1

    def put(self, key: str) -> None:
        log = self.keys[key]
        data = body_for(key, len(log.attempts), self.rng.randint(1, self.max_size))
        index = self._attempt(key, data)
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256")
        except FAILURES:
            self.tally.count("put failed")
            return
        log.last_acked = index
        self.tally.count("put ok")

    def get(self, key: str) -> None:
        log = self.keys[key]
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response["Error"]["Code"] == "NoSuchKey":
                self.tally.count("get missing")
                if log.last_acked >= 0:
                    self.tally.violation(f"GET {key}: NoSuchKey after an acknowledged write")
                return
            self.tally.count("get failed")
            return
        except FAILURES:
            self.tally.count("get failed")  # cut mid-body by a kill: the client saw a short read
            return
        self.tally.count("get ok")
        h = digest(data)
        if h not in {a for a, _ in log.attempts}:
            self.tally.violation(f"GET {key}: {len(data)} bytes that no PUT of this key sent (partial or mixed)")
        elif h not in log.allowed():
            self.tally.violation(f"GET {key}: an older body than the last acknowledged write")

    def multipart(self, key: str) -> None:
        log = self.keys[key]
        attempt = len(log.attempts)
        tail = body_for(key + "#tail", attempt, self.rng.randint(1, self.max_size))
        parts = [body_for(key + "#big", attempt, MIN_PART), tail] if self.rng.random() < self.big_part_share else [tail]
        try:
            upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        except FAILURES:
            self.tally.count("mpu create failed")
            return
        self._attempt(key, b"".join(parts))
        self.pending[key] = (upload, parts, len(log.attempts) - 1)
        self.resume(key)

    def resume(self, key: str) -> None:
        """Upload the parts the upload lacks, then complete it; an upload the gateway no longer knows is
        given up (nothing was acknowledged)."""
        upload, parts, index = self.pending[key]
        try:
            have = {p["PartNumber"]: p["ETag"] for p in self.s3.list_parts(
                Bucket=self.bucket, Key=key, UploadId=upload).get("Parts", [])}
            if have:
                self.tally.count("mpu resumed")
            etags = {}
            for number, data in enumerate(parts, 1):
                expected = '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - the S3 part ETag
                if have.get(number) == expected:
                    etags[number] = expected
                    continue
                etags[number] = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload,
                                                    PartNumber=number, Body=data)["ETag"]
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in sorted(etags.items())]})
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code == "NoSuchUpload":
                self.pending.pop(key)  # completed by a call whose answer was lost, or gone: nothing acked
                self.tally.count("mpu gone")
                return
            # OperationAborted: a Complete cut by a kill still holds the upload's lease (until it expires)
            self.tally.count("mpu busy" if code == "OperationAborted" else "mpu interrupted")
            return
        except FAILURES:
            self.tally.count("mpu interrupted")
            return
        self.pending.pop(key)
        self.keys[key].last_acked = index
        self.tally.count("mpu ok")


# ---- the run ---------------------------------------------------------------------------------------------------
@dataclass
class Settings:
    operations: int = 10000
    workers: int = 32
    keys_per_worker: int = 6
    max_size: int = 96 * 1024
    multipart_share: float = 0.05
    big_part_share: float = 0.1
    kill_every: float = 6.0          # seconds between gateway SIGKILLs (0: never)
    swift_restart_every: float = 0.0  # seconds between Swift proxy restarts (0: never)
    min_gateway_kills: int = 0        # the workload goes on past `operations` until this many kills happened
    seed: int = 16


@dataclass
class Report:
    tally: Tally
    seconds: float
    gateway_kills: int
    swift_restarts: int
    segments_before: int
    segments_after: int
    leftover_uploads: int
    final_lost_keys: list[str]


@contextlib.contextmanager
def arrangement() -> Iterator[tuple[SwiftProxy, GatewayProcess]]:
    state = Path(os.environ.get("SWIFT_STATE_DIR", ROOT / ".devcloud" / "swift"))
    venv = Path(os.environ.get("SWIFT_VENV", ROOT / ".devcloud" / "swift-venv"))
    work = Path(tempfile.mkdtemp(prefix="cg-crash-"))
    swift = SwiftProxy(state, venv, work)
    gw = None
    try:
        swift.start()
        gw = GatewayProcess(work, swift.auth_url)
        gw.start()
        yield swift, gw
    finally:
        if gw is not None:
            gw.stop()
        swift.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(swift: SwiftProxy, gw: GatewayProcess, settings: Settings, progress: Any = None) -> Report:
    rng = random.Random(settings.seed)
    bucket = f"cg-crash-{os.urandom(5).hex()}"  # never a leftover of an earlier run
    direct = SwiftDirect(swift.auth_url, *SWIFT_USER)
    s3_client(gw.endpoint).create_bucket(Bucket=bucket)
    segments_before = len(direct.listing(bucket + SEGMENTS_SUFFIX))
    tally = Tally()
    workers = [Worker(n, gw.endpoint, bucket, tally, random.Random(rng.random()), keys=settings.keys_per_worker,
                      max_size=settings.max_size, multipart_share=settings.multipart_share,
                      big_part_share=settings.big_part_share) for n in range(settings.workers)]
    budget = {"left": settings.operations}
    budget_lock = threading.Lock()
    stop = threading.Event()

    def work(w: Worker) -> None:
        while not stop.is_set():
            with budget_lock:
                if budget["left"] <= 0 and gw.kills >= settings.min_gateway_kills:
                    return
                budget["left"] -= 1
            w.step()

    restarts = {"swift": 0}

    def chaos() -> None:
        next_kill = time.monotonic() + settings.kill_every if settings.kill_every else float("inf")
        next_swift = time.monotonic() + settings.swift_restart_every if settings.swift_restart_every else float("inf")
        while not stop.wait(0.2):
            now = time.monotonic()
            if now >= next_kill:
                gw.kill()
                time.sleep(rng.uniform(0.1, 1.0))
                gw.start()
                next_kill = time.monotonic() + settings.kill_every
            if now >= next_swift:
                swift.restart()
                restarts["swift"] += 1
                next_swift = time.monotonic() + settings.swift_restart_every
            if progress:
                progress(tally, settings.operations - budget["left"])

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    chaos_thread = threading.Thread(target=chaos, daemon=True)
    chaos_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    chaos_thread.join(timeout=120)
    seconds = time.monotonic() - started
    if gw.proc is None or gw.proc.poll() is not None:
        gw.start()
    # calm now: finish (resume) every interrupted upload, then verify every key. An upload whose Complete
    # a kill cut is leased to that dead request until the lease expires (multipart_state.LEASE_SECONDS)
    settle = time.monotonic() + LEASE_SECONDS + 10
    while any(w.pending for w in workers) and time.monotonic() < settle:
        for w in workers:
            for key in list(w.pending):
                w.resume(key)
        if any(w.pending for w in workers):
            time.sleep(1)
    stuck = sum(len(w.pending) for w in workers)
    if stuck:
        tally.violation(f"{stuck} interrupted multipart uploads could not be resumed")
    lost = verify(workers, tally)
    leftover = cleanup(gw.endpoint, bucket)
    segments_after = len(direct.listing(bucket + SEGMENTS_SUFFIX))
    with contextlib.suppress(Exception):
        direct.purge_container(bucket + SEGMENTS_SUFFIX)
    return Report(tally, seconds, gw.kills, restarts["swift"], segments_before, segments_after, leftover, lost)


def verify(workers: list[Worker], tally: Tally) -> list[str]:
    lost = []
    for w in workers:
        for key, log in w.keys.items():
            if log.last_acked < 0:
                continue
            try:
                data = w.s3.get_object(Bucket=w.bucket, Key=key)["Body"].read()
                ok = digest(data) in log.allowed()
            except FAILURES:
                ok = False
            if not ok:
                lost.append(key)
                tally.bytes_lost += log.attempts[log.last_acked][1]
    return lost


def cleanup(endpoint: str, bucket: str) -> int:
    """Abort what is still open, delete every object and the bucket; returns how many uploads were open."""
    s3 = s3_client(endpoint)
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    for u in uploads:
        s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)
    return len(uploads)
