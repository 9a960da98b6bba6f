"""cloudgate in front of the real devcloud OpenStack, for the EC2-over-HTTP tests and the bench.

`devcloud_gateway(env)` runs the gateway in-process (its own event loop on a thread) with
`backend: openstack` built from `.devcloud/openstack.json`, an in-memory state store and no static keys:
Keystone validates each tenant's own EC2 key. It yields a `Gateway` handle with the endpoint, boto3
clients per tenant, and the backend's HTTP observers (to count backend calls).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from tests.server import serve_app


def gateway_config(env: dict[str, Any], *, retention: int = 3600, encrypt: bool = True,
                   default_vpc: bool = False) -> dict[str, Any]:
    """default_vpc pinned: the EC2 tests here launch EC2-Classic-style (the tenant's network) unless they ask."""
    svc = env["service"]
    return {
        "region": env["region"], "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
        "auth": {"static": []}, "ec2": {"terminated_retention_seconds": retention, "default_vpc": default_vpc},
        # new buckets encrypted by default, as on AWS since 2023 (a test-only master key)
        "s3": {"encrypt_new_buckets": encrypt, "sse_write_key_id": "test",
               "sse_master_keys": {"test": base64.b64encode(b"devcloud-test-master-key-32bytes").decode()}},
        "backend": {"type": "openstack", "options": {
            "auth_url": env["auth_url"], "region": env["region"], "service_user": svc["user_name"],
            "service_password": svc["password"], "service_project": svc["project_name"],
            "user_domain": env["user_domain_name"], "project_domain": env["project_domain_name"],
            "public_network": env["networks"]["floating_ip_pool"], "timeout": 60, "connect_timeout": 5,
            "encrypted_volume_type": env.get("volume_types", {}).get("encrypted")}},
    }


@dataclass
class Gateway:
    endpoint: str
    env: dict[str, Any]
    app: Any
    loop: asyncio.AbstractEventLoop
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def backend(self) -> Any:
        return self.app[GATEWAY_KEY].backend

    def client(self, tenant: str, service: str = "ec2") -> Any:
        t = self.env["tenants"][tenant]
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.env["region"],
                            aws_access_key_id=t["ec2_access"], aws_secret_access_key=t["ec2_secret"],
                            config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=120))

    def cli_env(self, tenant: str) -> dict[str, str]:
        t = self.env["tenants"][tenant]
        return {"AWS_ACCESS_KEY_ID": t["ec2_access"], "AWS_SECRET_ACCESS_KEY": t["ec2_secret"],
                "AWS_DEFAULT_REGION": self.env["region"], "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "", "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def run(self, coro: Any, timeout: float = 120) -> Any:
        """Run a coroutine on the gateway's loop (e.g. a backend call with its shared session)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)


@contextlib.contextmanager
def devcloud_gateway(env: dict[str, Any], *, retention: int = 3600, encrypt: bool = True) -> Iterator[Gateway]:

    config = parse_config(gateway_config(env, retention=retention, encrypt=encrypt), "ec2-openstack-tests")
    app = create_app(config)
    with serve_app(app) as (endpoint, loop):
        gw = Gateway(endpoint, env, app, loop)
        gw.backend.http.observers.append(lambda method, url, status: gw.calls.append((method, url, status)))
        yield gw


def poll(probe: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float = 120, interval: float = 1.0,
         what: str = "condition") -> Any:
    """Gentle bounded polling (the devcloud is shared)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        time.sleep(interval)


def quietly(step: Callable[[], Any]) -> None:
    """A cleanup step: errors are ignored (the resource may be gone already)."""
    with contextlib.suppress(Exception):
        step()


# ---- pytest fixtures shared by tests/test_ec2_openstack.py and tests/test_ec2_os_*.py -------------------------
RETENTION = 12  # ec2.terminated_retention_seconds in the test gateway: small, so expiry is observable
WAIT = {"Delay": 2, "MaxAttempts": 60}  # boto3 waiters: every 2 s, at most 2 minutes


@pytest.fixture(scope="module", name="gw")
def gw_fixture(openstack_env: dict[str, Any]) -> Iterator[Gateway]:
    with devcloud_gateway(openstack_env, retention=RETENTION) as gw:
        yield gw


@pytest.fixture(scope="module", name="ec2a")
def ec2a_fixture(gw: Gateway) -> Any:
    return gw.client("a")


@pytest.fixture(scope="module", name="ec2b")
def ec2b_fixture(gw: Gateway) -> Any:
    return gw.client("b")


@pytest.fixture(scope="module", name="ami")
def ami_fixture(ec2a: Any, openstack_env: dict[str, Any]) -> str:
    """The devcloud's public image, by its EC2 id."""
    images = ec2a.describe_images(Filters=[{"Name": "name", "Values": [openstack_env["image"]["name"]]}])["Images"]
    assert images, "the devcloud image is not visible through the gateway"
    return images[0]["ImageId"]


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, int]:
    """(AWS error code, HTTP status) of a call that must fail."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded; expected an error")


def outcome(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, int] | None:
    """(AWS error code, HTTP status) of a call, or None when it succeeds (for polling)."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None


def instances_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for r in response["Reservations"] for i in r["Instances"]]


def aws_cli(gw: Gateway, tenant: str, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("aws")
    return subprocess.run([str(exe), "--output", "json", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **gw.cli_env(tenant)})


def terminate_and_wait(client: Any, ids: list[str]) -> None:
    """Cleanup: terminate (lifting termination protection), wait bounded; never raises."""
    if not ids:
        return
    for iid in ids:
        quietly(lambda iid=iid: client.modify_instance_attribute(InstanceId=iid,
                                                                DisableApiTermination={"Value": False}))
    quietly(lambda: client.terminate_instances(InstanceIds=ids))
    quietly(lambda: client.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=WAIT))
