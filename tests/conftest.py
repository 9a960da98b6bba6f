"""Shared fixtures: a real Swift on loopback and a cloudgate in front of it.

- `swift_endpoint` (session): runs `bash devcloud/swift.sh up` once (it reuses a running Swift) and yields a
  `SwiftEndpoint` (`.url`, `.auth_url`, `.users`, `.direct("a"|"b")` → a sync `SwiftDirect` client).
  When Swift can't start: FAIL with the script's output if `CI` is set, else skip with the reason.
- `s3_gateway` (session): cloudgate in-process on that Swift, two tenants → `S3Gateway`
  (`.endpoint`, `.creds_a`/`.creds_b`, `.client_a()`/`.client_b()` boto3 clients, `.swift_a`/`.swift_b`).
  Tenant A = `AKIDTENANTA` → Swift `test:tester`, tenant B = `AKIDTENANTB` → Swift `test2:tester2`.
- `bucket` (function): a factory `bucket(tenant="a", versioned=False) -> name` creating a uniquely named
  bucket; after the test every object version, multipart segment and the bucket itself are deleted
  straight through Swift (works even when the S3 handlers are broken).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.server import BASE_CONFIG, ROOT, in_process
from tests.swift_direct import SwiftDirect

SWIFT_USERS = {"a": ("test:tester", "testing"), "b": ("test2:tester2", "testing2")}
TENANTS = {
    "a": {"access_key": "AKIDTENANTA", "secret_key": "tenantAsecretKEY/0000000000000000000000",
          "account_id": "111111111111", "display_name": "tenant-a"},
    "b": {"access_key": "AKIDTENANTB", "secret_key": "tenantBsecretKEY/0000000000000000000000",
          "account_id": "222222222222", "display_name": "tenant-b"},
}


@dataclass(frozen=True)
class SwiftEndpoint:
    url: str       # http://127.0.0.1:18080
    auth_url: str  # tempauth v1: <url>/auth/v1.0
    users: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(SWIFT_USERS))

    def direct(self, tenant: str = "a") -> SwiftDirect:
        user, key = self.users[tenant]
        return SwiftDirect(self.auth_url, user, key)


@dataclass(frozen=True)
class Creds:
    access_key: str
    secret_key: str
    account_id: str
    display_name: str


@dataclass
class S3Gateway:
    endpoint: str
    swift: SwiftEndpoint
    creds_a: Creds
    creds_b: Creds
    swift_a: SwiftDirect
    swift_b: SwiftDirect

    def client(self, creds: Creds, **config: Any) -> Any:
        """A boto3 S3 client for `creds`: path-style, one attempt (a retry would hide an error)."""
        import boto3
        from botocore.config import Config

        cfg = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}, **config)
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                            config=cfg)

    def client_a(self, **config: Any) -> Any:
        return self.client(self.creds_a, **config)

    def client_b(self, **config: Any) -> Any:
        return self.client(self.creds_b, **config)

    def swift_for(self, tenant: str) -> SwiftDirect:
        return {"a": self.swift_a, "b": self.swift_b}[tenant]


@pytest.fixture(scope="session")
def swift_endpoint() -> SwiftEndpoint:
    port = int(os.environ.get("SWIFT_PROXY_PORT", "18080"))
    try:
        proc = subprocess.run(["bash", str(ROOT / "devcloud" / "swift.sh"), "up"], cwd=ROOT,
                              capture_output=True, text=True, timeout=900)
        ok, output = proc.returncode == 0, proc.stdout + proc.stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, output = False, f"{type(e).__name__}: {e}"
    if not ok:
        message = f"devcloud/swift.sh up failed:\n{output}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    url = f"http://127.0.0.1:{port}"
    return SwiftEndpoint(url=url, auth_url=f"{url}/auth/v1.0")


def gateway_config(swift: SwiftEndpoint) -> dict[str, Any]:
    """BASE_CONFIG on the Swift backend with the two tenants (also used by tests that build their own)."""
    static = [dict(TENANTS[t], backend={"swift_user": SWIFT_USERS[t][0], "swift_key": SWIFT_USERS[t][1]})
              for t in ("a", "b")]
    return {**BASE_CONFIG, "auth": {"static": static},
            "backend": {"type": "swift", "options": {"auth_url": swift.auth_url}},
            "state": {"url": "sqlite://:memory:"},
            # SSE-S3 master keys (a retired "k0" still reads) and SSE-C over the tests' plain HTTP.
            "s3": {**BASE_CONFIG["s3"], "sse_master_keys": SSE_TEST_KEYS, "sse_write_key_id": "k1",
                   "sse_c_allow_http": True}}


SSE_TEST_KEYS = {"k0": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                 "k1": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}


@pytest.fixture(scope="session")
def s3_gateway(swift_endpoint: SwiftEndpoint) -> Iterator[S3Gateway]:
    from gateway.config import parse_config

    config = parse_config(gateway_config(swift_endpoint), "tests/conftest.py")
    with in_process(config) as endpoint:
        yield S3Gateway(endpoint=endpoint, swift=swift_endpoint,
                        creds_a=Creds(**TENANTS["a"]), creds_b=Creds(**TENANTS["b"]),
                        swift_a=swift_endpoint.direct("a"), swift_b=swift_endpoint.direct("b"))


def _unique_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"cg-{slug}-{secrets.token_hex(4)}"


@pytest.fixture
def bucket(request: pytest.FixtureRequest, s3_gateway: S3Gateway) -> Iterator[Callable[..., str]]:
    """`bucket(tenant="a", versioned=False) -> name`: a fresh bucket, removed with all its data afterwards."""
    made: list[tuple[str, str]] = []

    def make(tenant: str = "a", versioned: bool = False) -> str:
        name = _unique_name(request.node.name)
        client = s3_gateway.client(s3_gateway.creds_a if tenant == "a" else s3_gateway.creds_b)
        made.append((tenant, name))
        if not _create_via_s3(client, name):
            s3_gateway.swift_for(tenant).create_container(name)  # CreateBucket not implemented yet
        if versioned:
            s3_gateway.swift_for(tenant).request("POST", name, headers={"X-Versions-Enabled": "true"})
        return name

    yield make
    for tenant, name in made:
        swift = s3_gateway.swift_for(tenant)
        # The bucket and what cloudgate keeps beside it (multipart segments: "<bucket>+segments", ...).
        for container in [name, *[c for c in swift.containers(prefix=name + "+")]]:
            swift.purge_container(container)
        try:  # let the gateway drop its own records (bucket ownership) when DeleteBucket exists
            s3_gateway.client(s3_gateway.creds_a if tenant == "a" else s3_gateway.creds_b).delete_bucket(
                Bucket=name)
        except Exception:
            pass


def _create_via_s3(client: Any, name: str) -> bool:
    """True when the gateway's CreateBucket made it; False when the handler doesn't exist yet."""
    from botocore.exceptions import ClientError

    try:
        client.create_bucket(Bucket=name)
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] == "NotImplemented":
            return False
        raise
