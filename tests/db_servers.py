"""Private database servers for tests: a PostgreSQL and a MariaDB of their own, in a temporary directory,
on 127.0.0.1 at a free port (PostgreSQL) or a unix socket (MariaDB), never the system's or the devcloud's.

Each starts in a second or two (no fsync, small buffers) and stops with the test session. A missing
server binary skips the tests that need it, with the reason, except in CI (`CI` set), where it fails:
.ci/run installs both.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

START_SECONDS = 30.0
PASSWORD = "cloudgate-test"


def missing(what: str) -> None:
    message = f"{what} is not installed (Debian: apt-get install postgresql mariadb-server)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(proc: subprocess.Popen, ready, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start ({proc.returncode}):\n{log.read_text()[-2000:]}")
        if ready():
            return
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} not ready in {START_SECONDS:.0f}s:\n{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen | None, sig: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Postgres:
    """initdb + postgres from the Debian package. As root, the server runs as the `postgres` user
    (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            missing("PostgreSQL (/usr/lib/postgresql/*/bin/initdb)")
        self.bin = Path(bins[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="cg-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        (self.dir / "pw").write_text(PASSWORD)
        if self.user:
            os.chown(self.dir / "pw", pwd.getpwnam(self.user).pw_uid, -1)
        subprocess.run([self.bin / "initdb", "-D", self.dir / "data", "-U", "cloudgate", "--pwfile",
                        self.dir / "pw", "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                       user=self.user, check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://cloudgate:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = self.dir / "log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [self.bin / "postgres", "-D", self.dir / "data", "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB"],
                user=self.user, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self.proc, lambda: subprocess.run(
            [self.bin / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0,
            log, "postgres")

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # fast shutdown: disconnects clients, no waiting for them

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Mariadb:
    """mariadb-install-db + mariadbd, listening on a unix socket only (skip-networking)."""

    def __init__(self) -> None:
        self.mariadbd = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/libexec")
        install = shutil.which("mariadb-install-db")
        if not self.mariadbd or not install:
            missing("MariaDB (mariadbd, mariadb-install-db)")
        self.dir = Path(tempfile.mkdtemp(prefix="cg-my-"))
        self.sock = self.dir / "sock"
        self.proc: subprocess.Popen | None = None
        self.user = pwd.getpwuid(os.geteuid()).pw_name  # mariadbd refuses root unless told
        subprocess.run([install, "--no-defaults", f"--datadir={self.dir / 'data'}", f"--user={self.user}",
                        "--auth-root-authentication-method=normal", "--skip-test-db",
                        "--skip-name-resolve"], check=True, capture_output=True, timeout=120)

    def url(self, database: str = "") -> str:
        return f"mysql://root@localhost/{database}?unix_socket={self.sock}"

    def start(self) -> None:
        log = self.dir / "log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [self.mariadbd, "--no-defaults", f"--datadir={self.dir / 'data'}", f"--socket={self.sock}",
                 f"--pid-file={self.dir / 'pid'}", f"--user={self.user}", "--skip-networking",
                 "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
                 "--innodb-flush-log-at-trx-commit=0", "--performance-schema=OFF", "--skip-log-bin",
                 "--max-connections=300", "--max-allowed-packet=64M", "--character-set-server=utf8mb4"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self.proc, self._answers, log, "mariadbd")

    def _answers(self) -> bool:
        if not self.sock.exists():
            return False
        with contextlib.closing(socket.socket(socket.AF_UNIX)) as s:
            try:
                s.connect(str(self.sock))
                return bool(s.recv(1))  # the server's greeting
            except OSError:
                return False

    def stop(self) -> None:
        _stop(self.proc, signal.SIGTERM)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
