"""Several gateway replicas on one PostgreSQL behind HAProxy, on this machine (`make run REPLICAS=N`).

- PostgreSQL from the Debian package, private: its data in `.devcloud/postgres`, its socket there too, TCP on
  127.0.0.1 only (a free port), no system service involved. As root it runs as the `postgres` user.
- N `cloudgate serve` processes on 127.0.0.1 ports, each with the same configuration but `state.url`.
- HAProxy (Debian package) on the public port: health checks on `/healthz` (a draining replica answers 503
  and leaves the rotation before it stops listening), `option redispatch`, and retries for connection
  failures only (refused, or a reused keep-alive connection closed before any answer byte).

tests/test_replicas.py drives the same classes with a temporary directory and free ports.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60.0
PG_USER, PG_PASSWORD, PG_DATABASE = "cloudgate", "cloudgate-devcloud", "cloudgate"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(ready, proc: subprocess.Popen, what: str, log: Path, timeout: float = START_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start ({proc.returncode}): {log.read_text()[-1500:]}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready in {timeout:.0f}s: {log.read_text()[-1500:]}")


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int | None:
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


class Postgres:
    """initdb once into `<dir>/data`; `start` runs postgres on 127.0.0.1:<port> and a socket in `dir`."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bin = Path(bins[-1]).parent
        self.dir = directory
        self.port = port or free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # postgres refuses to run as root
        self.proc: subprocess.Popen | None = None
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        if not (self.dir / "data" / "PG_VERSION").exists():
            pwfile = self.dir / "pw"
            pwfile.write_text(PG_PASSWORD)
            if self.user:
                os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
            subprocess.run([self.bin / "initdb", "-D", self.dir / "data", "-U", PG_USER, "--pwfile", pwfile,
                            "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                           user=self.user, check=True, capture_output=True, timeout=120)
            pwfile.unlink()

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = self.dir / "log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [self.bin / "postgres", "-D", self.dir / "data", "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=32MB",
                 "-c", "synchronous_commit=off"],
                user=self.user, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: subprocess.run([self.bin / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                                     check=False).returncode == 0, self.proc, "postgres", log)

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # fast shutdown: clients are disconnected at once


def haproxy_config(port: int, backends: list[int], check_ms: int = 500) -> str:
    servers = "\n".join(f"    server g{i} 127.0.0.1:{p} check" for i, p in enumerate(backends))
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 30s
    # Connection failures only: refused (a replica stopped or restarting), or a reused keep-alive connection
    # that closed before a single answer byte (the request never ran). Never a timeout or a 5xx: the
    # request may have run. L7 retries only re-send requests that fit HAProxy's buffer.
    retries 3
    retry-on conn-failure empty-response
    option redispatch

frontend public
    bind 127.0.0.1:{port}
    default_backend gateways

backend gateways
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter {check_ms}ms fastinter {check_ms}ms fall 1 rise 2
{servers}
"""


class Replicas:
    """N `cloudgate serve` processes on one configuration and HAProxy in front; everything stops in `stop`."""

    def __init__(self, config: dict[str, Any], n: int, directory: Path, public_port: int | None = None,
                 check_ms: int = 500) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "cloudgate-replicas.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.config_path.chmod(0o600)
        self.ports = [free_port() for _ in range(n)]
        self.procs: list[subprocess.Popen | None] = [None] * n
        self.public_port = public_port or free_port()
        self.check_ms = check_ms
        self.haproxy: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def replica_endpoint(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start_replica(self, i: int, wait: bool = True) -> None:
        _stop(self.procs[i], signal.SIGKILL)  # one process per slot: never leak a still-running one
        exe = Path(sys.executable).with_name("cloudgate")
        log = self.dir / f"replica-{i}.log"
        with open(log, "ab") as out:
            self.procs[i] = subprocess.Popen(
                [str(exe), "serve", "--config", str(self.config_path), "--host", "127.0.0.1",
                 "--port", str(self.ports[i])], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                start_new_session=True)
        if wait:
            self.wait_replica(i)

    def wait_replica(self, i: int) -> None:
        proc = self.procs[i]
        assert proc is not None
        _wait(lambda: healthy(self.replica_endpoint(i)), proc, f"replica {i}", self.dir / f"replica-{i}.log")

    def start(self) -> None:
        for i in range(len(self.ports)):  # started together: the schema is migrated once, under its lock
            self.start_replica(i, wait=False)
        for i in range(len(self.ports)):
            self.wait_replica(i)
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(self.public_port, self.ports, self.check_ms))
        log = self.dir / "haproxy.log"
        with open(log, "ab") as out:
            self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: healthy(self.endpoint), self.haproxy, "haproxy", log)
        # every server passed its first checks (rise 2): otherwise early requests all land on one
        time.sleep(3 * self.check_ms / 1000)

    def terminate(self, i: int, timeout: float = 60.0) -> int | None:
        """SIGTERM: the replica drains and exits; its exit status."""
        return _stop(self.procs[i], signal.SIGTERM, timeout)

    def kill(self, i: int) -> None:
        _stop(self.procs[i], signal.SIGKILL)

    def stop(self) -> None:
        _stop(self.haproxy, signal.SIGTERM, 10)
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            _stop(proc, signal.SIGKILL, 45)


@contextlib.contextmanager
def running(config: dict[str, Any], n: int, directory: Path, public_port: int | None = None,
            check_ms: int = 500) -> Iterator[Replicas]:
    replicas = Replicas(config, n, directory, public_port, check_ms)
    try:
        replicas.start()
        yield replicas
    finally:
        replicas.stop()


def main(config_path: str, n: int) -> int:
    """`make run REPLICAS=N`: PostgreSQL in .devcloud/postgres, N replicas of `config_path` on it, HAProxy on
    the configuration's listen port (8787). Ctrl-C or SIGTERM stops them all (the replicas drain)."""
    out = ROOT / ".devcloud"
    config = yaml.safe_load(Path(config_path).read_text())
    pg = Postgres(out / "postgres")
    pg.start()
    listen = config.get("listen", {})
    config["state"] = {**config.get("state", {}), "url": pg.url}
    config.setdefault("server", {}).setdefault("drain_notice_seconds", 1.5)  # > HAProxy's check interval
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        with running(config, n, out / "replicas", public_port=int(listen.get("port", 8787))) as replicas:
            print(f"cloudgate: {n} replicas on ports {replicas.ports} (logs in .devcloud/replicas/), "
                  f"state on PostgreSQL 127.0.0.1:{pg.port} (.devcloud/postgres), HAProxy at {replicas.endpoint}",
                  flush=True)
            while not stop and all(p is not None and p.poll() is None for p in replicas.procs):
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        pg.stop()
    return 0
