"""Regression test for a bug the crash bench found (issue 16), on the real SQLite store: a multipart
Complete cut by a crash held its upload's lease for 15 minutes, so the upload could be neither resumed nor
aborted; the lease is now short and renewed by its live holder. (The other fix, a body cut mid-stream, is
tests/test_faults.py::test_swift_faults, truncated GetObject.)"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from gateway.protocol import errors
from gateway.s3 import multipart_state
from gateway.store import open_store


# ---- upload leases --------------------------------------------------------------------------------------------
@pytest.fixture
async def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    yield s
    await s.close()


async def test_a_live_complete_keeps_its_lease_and_a_dead_ones_expires(store, monkeypatch) -> None:
    monkeypatch.setattr(multipart_state, "LEASE_SECONDS", 0.6)
    upload = multipart_state.Upload("111111111111", "bkt", "key", "upl", {})
    ctx = SimpleNamespace(gateway=SimpleNamespace(store=store))

    async def contend() -> str:
        try:
            async with multipart_state.finishing(ctx, upload, "abort"):
                return "entered"
        except errors.OperationAborted:
            return "aborted"

    async with multipart_state.finishing(ctx, upload, "complete"):
        await asyncio.sleep(1.5)  # 2.5 lease lengths: only renewal keeps it
        assert await contend() == "aborted"
    assert await contend() == "entered"  # released on the way out
    # a holder that died (no renewal) blocks only until its lease runs out, not for 15 minutes
    await store.put(multipart_state.NS_UPLOAD_LEASE, upload.store_key,
                    {"op": "complete", "at": time.time(), "holder": "killed"})
    assert await contend() == "aborted"
    await asyncio.sleep(0.7)
    assert await contend() == "entered"


# ---- a launch whose answer was lost ----------------------------------------------------------------------------
class FakeNova:
    """Nova whose POST /servers creates the server and then loses the answer (a deadline passed)."""

    def __init__(self) -> None:
        self.servers_held: dict[str, dict] = {}
        self.listings = 0

    async def create_servers(self, body: dict) -> str:
        sid = f"srv-{len(self.servers_held)}"
        self.servers_held[sid] = {"id": sid, "status": "BUILD", "metadata": dict(body.get("metadata") or {})}
        from backends import base

        raise base.Unavailable("POST compute timed out")

    async def servers(self, **filters: str) -> list[dict]:
        self.listings += 1
        assert filters == {"name": "^web$"}
        return list(self.servers_held.values())

    async def delete_server(self, server_id: str) -> None:
        self.servers_held.pop(server_id)


async def test_a_launch_whose_answer_was_lost_is_cleaned_up(monkeypatch) -> None:
    """RunInstances whose Nova call timed out answers 503; the server Nova made anyway is deleted (found by
    the launch's mark), so no ghost is left and a retry with the same ClientToken launches one server."""
    from backends import base
    from backends.compute import ServerSpec
    from backends.openstack import compute as oscompute

    monkeypatch.setattr(oscompute, "UNDO_SETTLE", 0.2)
    nova = FakeNova()
    nova.servers_held["other"] = {"id": "other", "status": "ACTIVE", "metadata": {}}  # not this launch's
    c = oscompute.OpenStackCompute(SimpleNamespace(nova=nova, shared=None, project_id="p"))

    async def flavor_id(name: str) -> str:
        return "f1"

    monkeypatch.setattr(c, "_flavor_id", flavor_id)
    with pytest.raises(base.Unavailable):
        await c.create_servers(ServerSpec(name="web", image_id="img", flavor_name="t2.micro", network_id="net"))
    assert len(oscompute._undoing) == 1
    await asyncio.wait_for(asyncio.gather(*oscompute._undoing), 5)
    assert list(nova.servers_held) == ["other"]  # the lost launch's server is gone, nothing else touched
    assert nova.listings == 2  # at once, and again once the launch had time to settle


def test_the_launch_mark_stays_inside_the_backend() -> None:
    from backends.openstack import mapping as m
    from tests.test_openstack_units import NOVA_SERVER

    raw = {**NOVA_SERVER, "metadata": {"a": "b", m.LAUNCH_MARK: "0123abcd"}}
    assert m.server_from(raw).metadata == {"a": "b"}
