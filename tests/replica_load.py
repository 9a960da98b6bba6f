"""A rolling restart under a steady client load, shared by the replica tests (EC2 on the CloudStack simulator,
mixed EC2 + S3 on the devcloud OpenStack)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def require_haproxy() -> None:
    """The replica tests run real HAProxy: skip without it here, fail without it in CI (.ci/run installs it)."""
    if not shutil.which("haproxy") and not os.path.exists("/usr/sbin/haproxy"):
        message = "haproxy is not installed (Debian: apt-get install haproxy)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def roll_under_load(replicas: Any, step: Callable[[int, int], Any], clients: int) -> Counter:
    """Each replica SIGTERMed (it drains and exits 0) and started again in turn, while `clients` threads call
    `step(client, i)` in a loop (nothing retried); the outcomes: "ok" or the error code / exception name."""
    outcomes: list[str] = []
    stop = threading.Event()

    def load(n: int) -> None:
        for i in range(100_000):
            if stop.is_set():
                return
            try:
                step(n, i)
                outcomes.append("ok")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
            except Exception as e:  # a connection error counts as a failure too
                outcomes.append(type(e).__name__)
            time.sleep(0.02)

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(clients)]
    try:
        for t in threads:
            t.start()
        time.sleep(1)
        for i in range(3):
            assert replicas.terminate(i) == 0
            replicas.start_replica(i)
            time.sleep(0.6)  # back in rotation (rise 2 × 200 ms)
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    return Counter(outcomes)
