"""The real OpenStack (devcloud) for backend tests: fixtures and helpers, imported explicitly.

Import the fixtures by their function names (`openstack_env_fixture`, `backend_fixture`); tests use them
as `openstack_env` and `backend`. `openstack_env` reads `.devcloud/openstack.json` when the cloud it describes answers; otherwise, in CI
(`CI` set), it runs `bash devcloud/openstack.sh up` (at most 20 minutes) and fails with its output if
that fails; elsewhere it skips with the command to run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import pytest_asyncio
from botocore.auth import SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from backends import base
from backends.openstack.backend import OpenStackBackend
from gateway.auth import authenticate_ec2
from gateway.auth.backend_provider import BackendCredentialProvider
from gateway.auth.request import AuthRequest

ROOT = Path(__file__).resolve().parent.parent
DEVCLOUD_JSON = Path(os.environ.get("OPENSTACK_JSON", ROOT / ".devcloud" / "openstack.json"))
UP_TIMEOUT = 20 * 60
GATEWAY_HOST = "127.0.0.1:8787"  # the Host a client signs for (any value works: it is all signed)
T = TypeVar("T")


def _keystone_answers(auth_url: str) -> bool:
    try:
        with urllib.request.urlopen(auth_url, timeout=3) as resp:  # noqa: S310 - loopback test cloud
            return resp.status == 200
    except OSError:
        return False


def _load() -> dict[str, Any] | None:
    if not DEVCLOUD_JSON.exists():
        return None
    doc = json.loads(DEVCLOUD_JSON.read_text())
    return doc if _keystone_answers(doc["auth_url"]) else None


@pytest.fixture(scope="session", name="openstack_env")
def openstack_env_fixture() -> dict[str, Any]:
    doc = _load()
    if doc is not None:
        return doc
    if not os.environ.get("CI"):
        pytest.skip("no running devcloud OpenStack (run `bash devcloud/openstack.sh up`, or set CI=1 to "
                    "let the tests bring it up)")
    try:
        proc = subprocess.run(["bash", str(ROOT / "devcloud" / "openstack.sh"), "up"], cwd=ROOT,
                              capture_output=True, text=True, timeout=UP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"")[-4000:]
        pytest.fail(f"devcloud/openstack.sh up took over {UP_TIMEOUT}s:\n{out!r}")
    if proc.returncode != 0:
        pytest.fail(f"devcloud/openstack.sh up failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                    f"{proc.stderr[-4000:]}")
    doc = _load()
    if doc is None:
        pytest.fail("devcloud/openstack.sh up succeeded but Keystone does not answer")
    return doc


def backend_options(env: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    svc = env["service"]
    options = {"auth_url": env["auth_url"], "region": env["region"], "service_user": svc["user_name"],
               "service_password": svc["password"], "service_project": svc["project_name"],
               "user_domain": env["user_domain_name"], "project_domain": env["project_domain_name"],
               "public_network": env["networks"]["floating_ip_pool"], "timeout": 60, "connect_timeout": 5,
               "encrypted_volume_type": env.get("volume_types", {}).get("encrypted")}
    options.update(overrides)
    return options


@pytest_asyncio.fixture(name="backend")
async def backend_fixture(openstack_env: dict[str, Any]) -> AsyncIterator[OpenStackBackend]:
    be = OpenStackBackend.from_options(backend_options(openstack_env))
    await be.start()
    try:
        yield be
    finally:
        await be.close()


class CallCounter:
    """Counts the HTTP exchanges of a backend's shared client, by service port."""

    def __init__(self, backend: OpenStackBackend) -> None:
        self.calls: list[tuple[str, str, int]] = []
        backend.http.observers.append(lambda method, url, status: self.calls.append((method, url, status)))

    def reset(self) -> None:
        self.calls.clear()

    def to(self, fragment: str) -> int:
        return sum(1 for _, url, _ in self.calls if fragment in url)

    def __len__(self) -> int:
        return len(self.calls)


# ---- signed requests, as a client sends them and the gateway front end hands them to auth -------------------
def _auth_request(req: AWSRequest) -> AuthRequest:
    prepared = req.prepare()
    split = urlsplit(prepared.url)
    body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
    headers = CIMultiDict(prepared.headers.items())
    headers.setdefault("Host", split.netloc)
    return AuthRequest(method=prepared.method, raw_path=split.path or "/", query_string=split.query,
                       headers=headers, host=split.netloc, body=body,
                       form=parse_qsl(body.decode() or split.query, keep_blank_values=True))


def signed_ec2(access: str, secret: str, *, version: str = "v4", region: str = "us-east-1",
               action: str = "DescribeInstances") -> AuthRequest:
    body = {"Action": action, "Version": "2016-11-15"}
    req = AWSRequest("POST", f"http://{GATEWAY_HOST}/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if version == "v4":
        SigV4Auth(Credentials(access, secret), "ec2", region).add_auth(req)
    else:
        SigV2Auth(Credentials(access, secret)).add_auth(req)
    return _auth_request(req)


async def principal(backend: OpenStackBackend, tenant: dict[str, Any], *, version: str = "v4") -> base.Principal:
    """Authenticate as a tenant through the gateway's EC2 auth and the backend's Keystone validator."""
    validator = backend.signature_validator()
    assert validator is not None
    result = await authenticate_ec2(signed_ec2(tenant["ec2_access"], tenant["ec2_secret"], version=version),
                                    BackendCredentialProvider(validator), region=None)
    ident = result.identity
    assert ident is not None
    return base.Principal(ident.account_id, ident.display_name, ident.attributes)


# ---- waiting on a cloud that works asynchronously ------------------------------------------------------------
async def wait_for(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 90,
                   interval: float = 0.5, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        await asyncio.sleep(interval)


def unique(prefix: str = "cgtest") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
