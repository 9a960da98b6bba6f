"""The event loop `cloudgate serve` runs on (`server.event_loop`): uvloop where it is installed, since its
transports, timers and callbacks are C and every CPU microsecond the gateway spends on a shared machine is
taken from the backend it fronts; the standard asyncio loop otherwise, or when configured."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHOICES = ("auto", "uvloop", "asyncio")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: str) -> tuple[str, LoopFactory | None]:
    """(the loop's name, its factory; None = asyncio's default). `uvloop` fails when it is not installed;
    `auto` falls back to asyncio then."""
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError("server.event_loop is uvloop, but uvloop is not installed") from None
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def run(coro: Coroutine[Any, Any, T], factory: LoopFactory | None) -> T:
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)
