"""A gateway whose every backend connection goes through a fault proxy (tests/faults/proxy.py).

OpenStack: Keystone through `auth_url`, the catalog's services through the backend's `endpoint_override`
(the catalog's host replaced, its path kept), the state database (PostgreSQL or MariaDB, the latter on its
unix socket) through `state.url`, on TCP to the proxy. The tempauth Swift: its auth URL (tempauth answers a storage URL on the host it was asked on, so the proxy
stays in the path). The CloudStack simulator: its API URL. Each proxy starts in `pass`; a case switches
one to a fault, runs one operation, and records how it ended. Used by tests/test_faults.py (a bounded
matrix) and bench/faults.py (the full one).
"""

from __future__ import annotations

import base64
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from tests.faults.proxy import Proxies, proxies
from tests.server import serve_app

OPENSTACK_SERVICES = ("compute", "network", "image", "block-storage", "object-store")
CATALOG_KEYS = {"compute": "compute", "network": "network", "image": "image", "block-storage": "volumev3",
                "object-store": "object-store"}
BACKEND_TIMEOUT = 8.0   # backend.options.timeout: the deadline of one backend call, its retry included
STATE_TIMEOUT = 2.0     # state.timeout_seconds
CLIENT_TIMEOUT = 60.0   # the client gives up here: an answer later than this is a hung request


def hostport(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def state_upstream(url: str) -> tuple[str, int] | str:
    """Where a postgresql:// or mysql:// state URL points: (host, port) or a unix socket's path."""
    parts = urlsplit(url)
    sock = parse_qs(parts.query).get("unix_socket")
    if sock:
        return sock[0]
    return parts.hostname or "127.0.0.1", parts.port or (3306 if parts.scheme == "mysql" else 5432)


def server_first(state_url: str | None) -> frozenset[str]:
    """The proxies whose server speaks first (a MySQL server greets the client before any request)."""
    return frozenset({"state"}) if state_url and state_url.startswith("mysql:") else frozenset()


def state_config(state_url: str | None, px: Proxies) -> dict[str, Any]:
    """The gateway's `state` section: the database URL turned to the proxy (no store cache, short deadlines)."""
    state = "sqlite://:memory:"
    if state_url:
        parts = urlsplit(state_url)
        cred = parts.username + (f":{parts.password}" if parts.password else "")
        state = parts._replace(netloc=f"{cred}@127.0.0.1:{px['state'].port}", query="").geturl()
    return {"url": state, "timeout_seconds": STATE_TIMEOUT, "connect_timeout_seconds": STATE_TIMEOUT,
            "cache_seconds": 0}


@dataclass
class Outcome:
    status: int           # HTTP status; 0 = no answer (hung or connection lost)
    code: str             # AWS error code, "" on success; no answer: "hung", "closed", "cut" (short body)
    seconds: float
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.code or 'ok'} {self.seconds:.1f}s"


def outcome(call: Callable[[], Any]) -> tuple[Outcome, Any]:
    started = time.monotonic()
    try:
        result = call()
        return Outcome(200, "", time.monotonic() - started), result
    except ClientError as e:
        err = e.response.get("Error", {})
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return Outcome(status, str(err.get("Code") or ""), time.monotonic() - started,
                       str(err.get("Message") or "")[:120]), None
    except ReadTimeoutError as e:
        return Outcome(0, "hung", time.monotonic() - started, str(e)[:120]), None
    except (ConnectionClosedError, EndpointConnectionError) as e:
        return Outcome(0, "closed", time.monotonic() - started, str(e)[:120]), None
    except (IncompleteReadError, ResponseStreamingError) as e:  # the answer began, then the connection was cut
        return Outcome(0, "cut", time.monotonic() - started, str(e)[:120]), None


@dataclass
class Rig:
    endpoint: str
    app: Any
    loop: Any
    proxies: Proxies
    keys: dict[str, tuple[str, str]]          # tenant -> (access key, secret)
    region: str
    timeout: float = BACKEND_TIMEOUT          # the backend deadline this rig's gateway was given

    @property
    def gateway(self) -> Any:
        return self.app[GATEWAY_KEY]

    def client(self, service: str, tenant: str = "a") -> Any:
        ak, sk = self.keys[tenant]
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=ak, aws_secret_access_key=sk,
                            config=BotoConfig(retries={"total_max_attempts": 1}, connect_timeout=5,
                                              read_timeout=CLIENT_TIMEOUT, s3={"addressing_style": "path"}))

    def run(self, coro: Any, timeout: float = 60) -> Any:
        import asyncio
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def forget_keys(self) -> None:
        """Drop the validator's cached keys and tokens: the next request goes to Keystone again."""
        validator = getattr(self.gateway.backend, "validator", None)
        if validator is not None:
            for ak, _ in self.keys.values():
                validator.forget(ak)


@contextlib.contextmanager
def openstack_rig(env: dict[str, Any], state_url: str | None, timeout: float = BACKEND_TIMEOUT) -> Iterator[Rig]:
    """A gateway on the devcloud OpenStack, every service and the state database behind a fault proxy."""
    upstreams = {"keystone": hostport(env["auth_url"])}
    for svc in OPENSTACK_SERVICES:
        upstreams[svc] = hostport(env["endpoints"][CATALOG_KEYS[svc]])
    if state_url:
        upstreams["state"] = state_upstream(state_url)
    with proxies(upstreams, server_first(state_url)) as px:
        svc_user = env["service"]
        auth = urlsplit(env["auth_url"])
        cfg = {
            "region": env["region"], "logging": {"level": "warning"}, "auth": {"static": []},
            "state": state_config(state_url, px),
            "s3": {"encrypt_new_buckets": False, "sse_write_key_id": "t",
                   "sse_master_keys": {"t": base64.b64encode(b"faults-test-master-key-32-bytes!").decode()}},
            "backend": {"type": "openstack", "options": {
                "auth_url": auth._replace(netloc=f"127.0.0.1:{px['keystone'].port}").geturl(),
                "region": env["region"], "service_user": svc_user["user_name"],
                "service_password": svc_user["password"], "service_project": svc_user["project_name"],
                "user_domain": env["user_domain_name"], "project_domain": env["project_domain_name"],
                "public_network": env["networks"]["floating_ip_pool"], "timeout": timeout,
                "connect_timeout": 2, "endpoint_override": {svc: px[svc].url for svc in OPENSTACK_SERVICES}}},
        }
        app = create_app(parse_config(cfg, "tests/faults/rig.py"))
        keys = {t: (v["ec2_access"], v["ec2_secret"]) for t, v in env["tenants"].items()}
        with serve_app(app) as (endpoint, loop):
            yield Rig(endpoint, app, loop, px, keys, env["region"], timeout)


@contextlib.contextmanager
def swift_rig(auth_url: str, users: dict[str, tuple[str, str]], timeout: float = BACKEND_TIMEOUT,
              state_url: str | None = None, sections: dict[str, dict] | None = None) -> Iterator[Rig]:
    """A gateway on the devcloud tempauth Swift behind a fault proxy (tests/conftest.py's tenants); with
    `state_url`, its state database behind another (proxy `state`). `sections`: config sections to add."""
    from tests.conftest import TENANTS

    upstreams: dict[str, tuple[str, int] | str] = {"swift": hostport(auth_url)}
    if state_url:
        upstreams["state"] = state_upstream(state_url)
    with proxies(upstreams, server_first(state_url)) as px:
        static = [dict(TENANTS[t], backend={"swift_user": users[t][0], "swift_key": users[t][1]}) for t in ("a", "b")]
        proxied = urlsplit(auth_url)._replace(netloc=f"127.0.0.1:{px['swift'].port}").geturl()
        cfg = {"region": "us-east-1", "logging": {"level": "warning"}, "auth": {"static": static},
               "state": state_config(state_url, px) if state_url else {"url": "sqlite://:memory:"},
               "backend": {"type": "swift", "options": {"auth_url": proxied, "timeout": timeout,
                                                         "connect_timeout": 2}}}
        for name, values in (sections or {}).items():
            cfg[name] = {**cfg.get(name, {}), **values}
        app = create_app(parse_config(cfg, "tests/faults/rig.py"))
        keys = {t: (TENANTS[t]["access_key"], TENANTS[t]["secret_key"]) for t in ("a", "b")}
        with serve_app(app) as (endpoint, loop):
            yield Rig(endpoint, app, loop, px, keys, "us-east-1", timeout)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def cloudstack_rig(timeout: float = BACKEND_TIMEOUT) -> Iterator[Rig]:
    """A gateway on the CloudStack simulator (devcloud/cloudstack_sim) behind a fault proxy."""
    from devcloud.cloudstack_sim import SimConfig, running
    from tests.cloudstack_support import sim_options

    with running(SimConfig(job_delay=0.05)) as sim, proxies({"cloudstack": hostport(sim.endpoint)}) as px:
        options = sim_options(sim, job_deadline=timeout * 2, timeout=timeout)
        options["endpoint"] = urlsplit(sim.endpoint)._replace(netloc=f"127.0.0.1:{px['cloudstack'].port}").geturl()
        cfg = {"region": "us-east-1", "logging": {"level": "warning"}, "auth": {"static": []},
               "state": {"url": "sqlite://:memory:"}, "backend": {"type": "cloudstack", "options": options}}
        app = create_app(parse_config(cfg, "tests/faults/rig.py"))
        keys = {t: sim.keys(t) for t in ("a", "b")}
        with serve_app(app) as (endpoint, loop):
            yield Rig(endpoint, app, loop, px, keys, "us-east-1", timeout)
