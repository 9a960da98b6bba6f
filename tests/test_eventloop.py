"""server.event_loop: uvloop where installed (auto), asyncio's own loop as the fallback or when configured."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from gateway import eventloop


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_auto_runs_on_uvloop_when_it_is_installed():
    name, factory = eventloop.loop_factory("auto")
    assert name == "uvloop"
    assert eventloop.run(_loop_type(), factory) is uvloop.Loop


def test_asyncio_is_asyncios_own_loop_even_with_uvloop_installed():
    name, factory = eventloop.loop_factory("asyncio")
    assert (name, factory) == ("asyncio", None)
    assert not issubclass(eventloop.run(_loop_type(), factory), uvloop.Loop)


def test_without_uvloop_auto_falls_back_and_uvloop_refuses(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` now raises ImportError
    assert eventloop.loop_factory("auto") == ("asyncio", None)
    with pytest.raises(RuntimeError, match="uvloop is not installed"):
        eventloop.loop_factory("uvloop")
