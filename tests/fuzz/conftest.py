"""Gateways for the fuzz tests: S3 in-process on the devcloud Swift (tenant A's keys, a bucket of its own),
EC2 in-process on the CloudStack simulator. Short body deadlines so a request whose body never ends
answers RequestTimeout within the test's patience."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator

import boto3
import pytest

from gateway.app import create_app
from gateway.config import parse_config
from tests.conftest import TENANTS, SwiftEndpoint, gateway_config
from tests.fuzz.build import Target
from tests.server import in_process, serve_app

FUZZ_LIMITS = {"body_idle_timeout_seconds": 2}


@pytest.fixture(scope="session")
def fuzz_s3(swift_endpoint: SwiftEndpoint) -> Iterator[Target]:
    config = parse_config({**gateway_config(swift_endpoint), "limits": FUZZ_LIMITS}, "tests/fuzz")
    a = TENANTS["a"]
    with in_process(config) as endpoint:
        bucket = f"cg-fuzz-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=a["access_key"],
                     aws_secret_access_key=a["secret_key"]).create_bucket(Bucket=bucket)
        port = int(endpoint.rsplit(":", 1)[1])
        try:
            yield Target("127.0.0.1", port, a["access_key"], a["secret_key"], bucket=bucket)
        finally:
            swift = swift_endpoint.direct("a")
            for container in swift.containers(prefix="cg-fuzz-"):  # the bucket and any the fuzzer made
                with contextlib.suppress(Exception):
                    swift.purge_container(container)


@pytest.fixture(scope="session")
def fuzz_ec2() -> Iterator[Target]:
    from devcloud.cloudstack_sim import SimConfig, running
    from tests.cloudstack_support import sim_options

    with running(SimConfig(job_delay=0.0)) as sim:
        config = parse_config({
            "region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
            "auth": {"static": []}, "limits": FUZZ_LIMITS, "ec2": {"default_vpc": False},
            "backend": {"type": "cloudstack", "options": sim_options(sim, job_deadline=5.0, timeout=10)}},
            "tests/fuzz")
        app = create_app(config)
        with serve_app(app) as (endpoint, _loop):
            ak, sk = sim.keys("a")
            yield Target("127.0.0.1", int(endpoint.rsplit(":", 1)[1]), ak, sk)


def send(target: Target, request, timeout: float = 20.0):
    from tests.fuzz.wire import exchange

    return asyncio.run(exchange(target.host, target.port, request, timeout))
