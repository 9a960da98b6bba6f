"""cloudgate in front of the CloudStack simulator, for the CloudStack tests.

`cs_gateway()` starts the simulator (devcloud/cloudstack_sim, on 127.0.0.1 on its own loop and thread) and
runs the gateway in-process (its own event loop on a thread) with `backend: cloudstack` pointed at it, as at
any CloudStack, and an in-memory state store. Tenants a
and b use their CloudStack apiKey/secretKey as AWS keys. `CONTRACTS` is the shared contract folder; tests
that read it skip with a clear message when it is absent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from backends.cloudstack.backend import CloudStackBackend
from devcloud.cloudstack_sim import INSTANCE_TYPES, SimConfig, Simulator, running
from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from tests.server import serve_app

CONTRACTS = Path(__file__).resolve().parents[2] / "shared" / "contracts" / "cloudstack"
REGION = "us-east-1"


def need_contracts() -> Path:
    if not (CONTRACTS / "listApis.json").is_file():
        pytest.skip(f"the CloudStack contracts are not at {CONTRACTS} (../shared/contracts/cloudstack)")
    return CONTRACTS


@dataclass
class CsGateway:
    endpoint: str
    app: Any
    loop: asyncio.AbstractEventLoop
    sim: Simulator

    @property
    def backend(self) -> CloudStackBackend:
        return self.app[GATEWAY_KEY].backend

    def client(self, tenant: str, service: str = "ec2", read_timeout: float = 30) -> Any:
        ak, sk = self.sim.keys(tenant)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ak,
                            aws_secret_access_key=sk,
                            config=BotoConfig(retries={"total_max_attempts": 1}, connect_timeout=5,
                                              read_timeout=read_timeout))

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)


@contextlib.contextmanager
def cs_gateway(*, job_delay: float = 0.05, job_deadline: float = 5.0, retention: int = 3600,
               default_vpc: bool | None = False) -> Iterator[CsGateway]:
    """default_vpc: pinned off (the tests here launch EC2-Classic-style) unless asked; None = the config default."""
    ec2: dict[str, Any] = {"terminated_retention_seconds": retention}
    if default_vpc is not None:
        ec2["default_vpc"] = default_vpc
    with running(SimConfig(job_delay=job_delay)) as sim:
        config = parse_config({
            "region": REGION, "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
            "auth": {"static": []}, "ec2": ec2,
            "backend": {"type": "cloudstack", "options": sim_options(sim, job_deadline=job_deadline, timeout=10)}},
            "cloudstack-tests")
        app = create_app(config)
        with serve_app(app) as (endpoint, loop):
            yield CsGateway(endpoint, app, loop, sim)


def sim_options(sim: Simulator, **options: Any) -> dict[str, Any]:
    """`cloudstack` backend options for a running simulator: its endpoint and admin keys, its offerings."""
    admin = sim.config.admin
    return {"endpoint": sim.endpoint, "api_key": admin[0], "secret_key": admin[1], "expunge": True,
            "instance_types": dict(INSTANCE_TYPES), **options}


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, int]:
    """(AWS error code, HTTP status) of a call that must fail."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded; expected an error")


def instances_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for r in response["Reservations"] for i in r["Instances"]]


WAIT = {"Delay": 0.2, "MaxAttempts": 50}
