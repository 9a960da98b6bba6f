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
