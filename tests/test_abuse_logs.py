"""The logs of a whole run of hostile and ordinary traffic carry no secret key, no signature and no session
token: every record of every logger (gateway, access log, aiohttp) at DEBUG level, formatted as the
gateway formats them, is grepped for each value that was sent."""

from __future__ import annotations

import asyncio
import io
import logging
import random
import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest

from gateway.config import parse_config
from gateway.logs import JsonFormatter
from tests.fuzz import build, runner
from tests.server import AK, BASE_CONFIG, SK, in_process

TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-0123456789abcdef"
_SIGNATURE = re.compile(rb"(?:X-Amz-Signature=|Signature=|signature=)([^&,\s\"]+)")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    # The test's own client signs with botocore in this process and logs its signatures at DEBUG.
    handler.addFilter(lambda record: not record.name.startswith(("botocore", "urllib3")))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _traffic(target: build.Target, seed: int) -> list[build.RawRequest]:
    rng = random.Random(seed)
    out = []
    for service in ("s3", "ec2"):
        for kind in build.KINDS:
            out += [build.generate(service, rng, target, kind) for _ in range(25)]
        for scheme in ("v4", "v4q", "v2") + (("v2q",) if service == "s3" else ()):
            for op in ("ListObjectsV2", "PutObject", "GetObject") if service == "s3" else ("DescribeInstances",):
                out.append(build.valid(service, op, rng, target, scheme=scheme))
    return out


def test_logs_carry_no_secret_signature_or_token(captured: io.StringIO) -> None:
    config = parse_config({**BASE_CONFIG, "logging": {"level": "debug"},
                           "auth": {"static": [{"access_key": AK, "secret_key": SK, "account_id": "123456789012"}]},
                           "limits": {"body_idle_timeout_seconds": 1}}, "tests/test_abuse_logs.py")
    with in_process(config) as endpoint:
        host, port = endpoint.split("//", 1)[1].split(":")
        target = build.Target(host, int(port), AK, SK, bucket="some-bucket")
        requests = _traffic(target, seed=3)
        for r in requests[::3]:  # a session token on a third of them, as temporary credentials send it
            r.headers.append(("X-Amz-Security-Token", TOKEN))
        wrong = build.Target(host, int(port), AK, "not-the-secret-" + SK[:10])
        requests += _traffic(wrong, seed=4)[:60]
        outcome = asyncio.run(runner.fire(host, int(port), requests, concurrency=4))
    assert outcome.sent == len(requests)
    logs = captured.getvalue()
    assert logs.count('"msg": "request"') >= len(requests) // 2  # the access log did run
    signatures = {unquote(m.group(1).decode("latin-1")) for r in requests
                  for m in _SIGNATURE.finditer(r.encode()) if len(m.group(1)) >= 20}
    assert len(signatures) > 100
    assert SK not in logs
    assert SK[:20] not in logs
    assert TOKEN not in logs
    leaked = [s for s in signatures if s in logs]
    assert not leaked, leaked[:3]
