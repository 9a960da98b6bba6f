"""Run a gateway for tests: in-process on a background thread (custom registries), or as the real
`cloudgate serve` subprocess. Both bind 127.0.0.1 on a free port and are always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gateway.app import create_app
from gateway.config import Config, parse_config
from gateway.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
BASE_CONFIG = {"region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
               "s3": {"virtual_host_domains": ["s3.localhost"]},
               "auth": {"static": [{"access_key": AK, "secret_key": SK, "account_id": "123456789012",
                                    "display_name": "example"}]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(endpoint: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"gateway at {endpoint} not healthy within {timeout}s")


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """An aiohttp app on 127.0.0.1 (a free port) on its own event loop in a thread; yields (endpoint, loop)
    and always stops it."""
    from aiohttp import web

    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", loop
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)  # slow under load
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@contextlib.contextmanager
def in_process(config: Config | None = None, registry: Registry | None = None) -> Iterator[str]:
    """The app on its own event loop in a thread; yields the endpoint URL."""
    with serve_app(create_app(config or parse_config(BASE_CONFIG, "tests"), registry=registry)) as (endpoint, _):
        yield endpoint


@contextlib.contextmanager
def subprocess_server(tmp_path: Path, extra: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """The real `cloudgate serve` command; stopped with SIGTERM (graceful), killed if it hangs."""
    cfg = dict(BASE_CONFIG, **(extra or {}))
    path = tmp_path / "cloudgate.yaml"
    path.write_text(yaml.safe_dump(cfg))
    port = free_port()
    exe = Path(sys.executable).with_name("cloudgate")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gateway.cli"]
    proc = subprocess.Popen([*cmd, "serve", "--config", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(endpoint)
        yield endpoint, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
