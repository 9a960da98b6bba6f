"""The metadata listener's checks without a cloud: a real listener (its own port) on a gateway with an in-memory
store and no backend, an instance's launch record written into the store as RunInstances writes it. What needs
the instance's view (the layout) is covered on devcloud (tests/test_metadata_openstack.py)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
from collections.abc import Iterator
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from gateway.ec2.records import NS_INSTANCE
from gateway.metadata import neutron, tokens
from gateway.metadata.owners import NS_OWNERS
from tests.server import BASE_CONFIG, free_port, serve_app

SECRET = "unit-secret"
ACCOUNT = "123456789012"
SERVERS = {"i-0aaaaaaaaaaaaaaaa": "5d7f0c2e-0000-4000-8000-00000000000a",
           "i-0bbbbbbbbbbbbbbbb": "5d7f0c2e-0000-4000-8000-00000000000b"}
TTL, TOKEN = "X-aws-ec2-metadata-token-ttl-seconds", "X-aws-ec2-metadata-token"


class Listener:
    def __init__(self, port: int, gw: Any, run: Any) -> None:
        self.port, self.gw, self.run = port, gw, run

    def options(self, iid: str, **options: str) -> None:
        self.run(self.gw.store.put(NS_INSTANCE, f"{ACCOUNT}/{iid}", {"metadata_options": options}))

    def call(self, iid: str, path: str, *extra: tuple[str, str], method: str = "GET",
             headers: list[tuple[str, str]] | None = None) -> tuple[int, Any, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (signed(iid) if headers is None else headers) + list(extra):
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def token(self, iid: str, ttl: str = "60") -> str:
        status, headers, body = self.call(iid, "/latest/api/token", (TTL, ttl), method="PUT")
        assert (status, headers[TTL]) == (200, ttl)
        return body.decode()


def signed(iid: str, secret: str = SECRET) -> list[tuple[str, str]]:
    sid = SERVERS[iid]
    return [("X-Forwarded-For", "10.0.0.5"), ("X-Instance-ID", sid), ("X-Tenant-ID", "project-x"),
            ("X-Instance-ID-Signature", hmac.new(secret.encode(), sid.encode(), hashlib.sha256).hexdigest())]


def _listener(guest_headers: bool = True) -> Iterator[Listener]:
    port = free_port()
    doc = {**BASE_CONFIG, "metadata": {"enabled": True, "port": port, "shared_secret": SECRET,
                                       "guest_headers": guest_headers}}
    app = create_app(parse_config(doc, "metadata-units"))
    with serve_app(app) as (_endpoint, loop):
        gw = app[GATEWAY_KEY]

        def run(coro: Any) -> Any:
            import asyncio

            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)

        for iid, sid in SERVERS.items():  # as RunInstances records a launch (gateway/metadata/owners.py)
            run(gw.store.put(NS_OWNERS, sid, {"account": ACCOUNT, "instance": iid, "key": "AKIDEXAMPLE"}))
        yield Listener(port, gw, run)


@pytest.fixture(name="md")
def md_fixture() -> Iterator[Listener]:
    yield from _listener()


A, B = list(SERVERS)


def test_only_the_proxys_signature_opens_the_listener(md: Listener) -> None:
    good = signed(A)
    for headers in ([], signed(A, "wrong"), good[:3], [*good, ("X-Instance-ID", SERVERS[B])],
                    [h for h in good if h[0] != "X-Tenant-ID"],
                    [*good[:3], ("X-Instance-ID-Signature", signed(B)[3][1])]):
        for method, path in (("GET", "/latest/meta-data/"), ("PUT", "/latest/api/token")):
            status, headers_out, body = md.call(A, path, (TTL, "60"), method=method, headers=headers)
            assert status == 403 and b"403 - Forbidden" in body and A.encode() not in body
            assert SERVERS[A].encode() not in body
    assert md.call(A, "/")[0] == 200
    # an instance the gateway did not launch: 404
    other = "5d7f0c2e-0000-4000-8000-00000000000c"
    sig = hmac.new(SECRET.encode(), other.encode(), hashlib.sha256).hexdigest()
    assert md.call(A, "/", headers=[("X-Instance-ID", other), ("X-Tenant-ID", "p"),
                                    ("X-Instance-ID-Signature", sig)])[0] == 404


def test_token_flow_status_codes(md: Listener) -> None:
    token = md.token(A, "21600")
    assert md.call(A, "/", (TOKEN, token))[0] == 200
    assert md.call(B, "/", (TOKEN, token))[0] == 401  # A's token on B
    assert md.call(A, "/", (TOKEN, "garbage"))[0] == 401
    for ttl in ("0", "21601", "1.5", "-1", "", "\u00b2"):
        assert md.call(A, "/latest/api/token", (TTL, ttl), method="PUT")[0] == 400, ttl
    assert md.call(A, "/latest/api/token", method="PUT")[0] == 400
    relayed = [h if h[0] != "X-Forwarded-For" else (h[0], "192.0.2.1, 10.0.0.5") for h in signed(A)]
    assert md.call(A, "/latest/api/token", (TTL, "60"), method="PUT", headers=relayed)[0] == 403
    twice = [*signed(A), ("X-Forwarded-For", "192.0.2.1")]
    assert md.call(A, "/latest/api/token", (TTL, "60"), method="PUT", headers=twice)[0] == 403
    assert md.call(A, "/latest/api/token")[0] == 405
    assert md.call(A, "/latest/meta-data/", method="PUT")[0] == 405
    assert md.call(A, "/latest/meta-data/", method="DELETE")[0] == 405


def test_http_tokens_and_endpoint_options_are_read_per_request(md: Listener) -> None:
    assert md.call(A, "/")[0] == 200
    md.options(A, HttpTokens="required")
    assert md.call(A, "/")[0] == 401
    assert md.call(A, "/", (TOKEN, md.token(A)))[0] == 200
    md.options(A, HttpEndpoint="disabled")
    for method, path, extra in (("GET", "/", ()), ("GET", "/latest/meta-data/", ()),
                                ("PUT", "/latest/api/token", ((TTL, "60"),))):
        assert md.call(A, path, *extra, method=method)[0] == 404
    md.options(A)
    assert md.call(A, "/")[0] == 200


def test_stock_neutron_agents_get_v1_only() -> None:
    for md in _listener(guest_headers=False):
        assert md.call(A, "/latest/api/token", (TTL, "60"), method="PUT")[0] == 404  # SDKs fall back to v1
        assert md.call(A, "/")[0] == 200


def test_tokens_expire_and_are_bound() -> None:
    key, other = b"k" * 32, b"o" * 32
    now = 1_800_000_000.0
    token = tokens.mint(key, A, 10, now=now)
    assert tokens.valid(key, token, A, now=now + 9.5)
    assert not tokens.valid(key, token, A, now=now + 10)
    assert not tokens.valid(key, token, B, now=now)
    assert not tokens.valid(other, token, A, now=now)
    assert tokens.ttl_of("21600") == 21600 and tokens.ttl_of("1") == 1
    assert tokens.ttl_of(None) is tokens.ttl_of("0") is tokens.ttl_of("abc") is None


def test_neutron_signature() -> None:
    sid = SERVERS[A]
    headers = CIMultiDictProxy(CIMultiDict(signed(A)))
    assert neutron.caller(headers, SECRET) == neutron.Caller(sid, "project-x", ("10.0.0.5",))
    with pytest.raises(neutron.Refused):
        neutron.caller(headers, "")
    with pytest.raises(neutron.Refused):
        neutron.caller(headers, "other")


def test_cloudgate_serve_starts_and_stops_the_listener(tmp_path: Any) -> None:
    """The real `cloudgate serve` (what `make run` becomes): the listener answers on its port, and is gone
    once the gateway stopped."""
    from tests.server import subprocess_server

    port = free_port()
    with subprocess_server(tmp_path, {"metadata": {"enabled": True, "port": port, "shared_secret": SECRET}}) as (
            _endpoint, proc):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/latest/meta-data/")
        assert conn.getresponse().status == 403  # unsigned
        conn.close()
    assert proc.returncode == 0
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()


def test_make_run_config_has_the_listener(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """devcloud/run.py's `metadata:` section: a secret and a signing key made once (0600), kept across runs."""
    import devcloud.run as run

    monkeypatch.setattr(run, "ROOT", tmp_path)
    first, second = run.metadata_section(), run.metadata_section()
    assert first == second and first["enabled"] and first["port"] == 8775 and len(first["shared_secret"]) >= 32
    for name in ("metadata-proxy.secret", "metadata-identity.pem"):
        assert (tmp_path / ".devcloud" / name).stat().st_mode & 0o777 == 0o600
    assert parse_config({"metadata": first}, "t").metadata.enabled


async def test_views_are_built_once_for_requests_arriving_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """A booting guest reads many paths at once: one build of its view (the cloud calls), reused `ttl` seconds."""
    import asyncio

    from gateway.metadata import view as view_mod
    from gateway.metadata.owners import Owner

    builds: list[str] = []

    async def build(_gw: Any, _request: Any, owner: Owner) -> Any:
        builds.append(owner.instance_id)
        await asyncio.sleep(0.05)
        return f"view of {owner.instance_id}"

    monkeypatch.setattr(view_mod, "build", build)
    views = view_mod.Views(gw=None, ttl=0.3)  # type: ignore[arg-type]
    owner_a, owner_b = (Owner(ACCOUNT, iid, "AKIDEXAMPLE") for iid in (A, B))
    got = await asyncio.gather(*(views.get(None, owner_a) for _ in range(5)), views.get(None, owner_b))  # type: ignore[arg-type]
    assert got == [f"view of {A}"] * 5 + [f"view of {B}"] and builds == [A, B]
    assert await views.get(None, owner_a) == f"view of {A}" and builds == [A, B]  # type: ignore[arg-type]
    await asyncio.sleep(0.35)
    assert await views.get(None, owner_a) == f"view of {A}" and builds == [A, B, A]  # type: ignore[arg-type]
