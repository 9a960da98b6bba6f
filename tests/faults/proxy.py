"""A fault-injecting TCP proxy (127.0.0.1) to put between the gateway and one backend service.

It pipes bytes both ways and, per request (each burst the client sends after an answer), applies the
current mode, which the test may change at any time (also on connections already open and pooled):

    pass        bytes through untouched
    latency     every answer is held `delay` seconds before its first byte is passed on
    stall       the request reaches the backend (which acts on it), the answer never comes back
    blackhole   the request is swallowed: the backend never sees it, nothing ever comes back
    reset       the client's connection is reset (RST) as soon as it sends
    error       a canned HTTP 503 (or `status`) with a JSON body, then close; the backend never sees it
    garbage     random bytes that are no HTTP, then close
    truncated   the request reaches the backend; its answer is cut: the head and half the first body
                bytes (half the head when no body bytes came with it), then a reset

For a database protocol, `error` and `garbage` both answer bytes the client cannot parse, and
`truncated` cuts the server's answer. Where the server speaks first (MySQL's greeting: `server_first`),
the proxy connects upstream on accept, so `stall` and `truncated` also hit the handshake. The upstream may
be a unix socket (a private MariaDB listens on one only). Nothing here knows HTTP beyond finding the end
of a head.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

MODES = ("pass", "latency", "stall", "blackhole", "reset", "error", "garbage", "truncated")


@dataclass
class Fault:
    mode: str = "pass"
    delay: float = 1.0      # latency: seconds each answer is held
    status: int = 503       # error: the status sent

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}")


@dataclass
class FaultProxy:
    """One listener (TCP, 127.0.0.1) in front of one upstream: (host, port), or the path of a unix socket
    (a private MariaDB listens on one only). `fault` is read at every request: assign a new one to switch."""

    upstream: tuple[str, int] | str
    name: str = ""
    fault: Fault = field(default_factory=Fault)
    port: int = 0
    server_first: bool = False  # the server speaks first (MySQL's greeting): connect upstream on accept
    counts: Counter = field(default_factory=Counter)
    _server: asyncio.AbstractServer | None = None
    _conns: set[asyncio.Task] = field(default_factory=set)
    _clients: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_connections()
        if self._conns:
            _, pending = await asyncio.wait(list(self._conns), timeout=2)
            for task in pending:  # a handler still waiting on its upstream
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def drop_connections(self) -> None:
        """Reset every client connection, as a database restart or a NAT timeout would: pooled connections
        die while idle. (The handlers end by themselves: cancelling one makes asyncio log an error.)"""
        for writer in list(self._clients):
            _reset(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._clients.add(writer)
        self.counts["connections"] += 1
        up_writer: asyncio.StreamWriter | None = None
        pump: asyncio.Task | None = None
        state = {"answering": False}  # a request was forwarded and its answer is awaited
        try:
            if self.server_first:
                up_writer, pump = await self._upstream(writer, state)
            while data := await reader.read(65536):
                fault = self.fault
                self.counts[fault.mode] += 1
                if fault.mode == "blackhole":
                    continue
                if fault.mode == "reset":
                    _reset(writer)
                    return
                if fault.mode in ("error", "garbage"):
                    writer.write(_canned(fault))
                    await writer.drain()
                    return
                if up_writer is None:
                    up_writer, pump = await self._upstream(writer, state)
                state["answering"] = True
                up_writer.write(data)
                await up_writer.drain()
            if up_writer is not None and up_writer.can_write_eof():
                up_writer.write_eof()
            if pump is not None:
                await pump
        except (ConnectionError, OSError):
            pass
        finally:
            if pump is not None:
                pump.cancel()
            for w in (writer, up_writer):
                if w is not None:
                    w.close()
            self._conns.discard(task)
            self._clients.discard(writer)

    async def _upstream(self, writer: asyncio.StreamWriter, state: dict) -> tuple[asyncio.StreamWriter, asyncio.Task]:
        """Connect to the backend and start passing its answers to the client."""
        up_reader, up_writer = await (
            asyncio.open_unix_connection(self.upstream) if isinstance(self.upstream, str)
            else asyncio.open_connection(*self.upstream))
        return up_writer, asyncio.create_task(self._answers(up_reader, writer, state))

    async def _answers(self, up: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict) -> None:
        """Backend → client, under the fault current when each answer starts."""
        with contextlib.suppress(ConnectionError, OSError):
            while data := await up.read(65536):
                fault = self.fault
                if fault.mode != "pass":
                    self.counts[f"{fault.mode} answer"] += 1  # e.g. a server's greeting lost to a stall
                fresh, state["answering"] = state["answering"], False
                if fault.mode == "stall":
                    continue  # the backend answered; the answer is lost
                if fault.mode == "latency" and fresh:
                    await asyncio.sleep(fault.delay)
                if fault.mode == "truncated":
                    head, sep, body = data.partition(b"\r\n\r\n")
                    # half the body bytes after the head; an answer with no body bytes loses half its head
                    writer.write(head + sep + body[: len(body) // 2] if sep and body else data[: len(data) // 2])
                    await writer.drain()
                    _reset(writer)
                    return
                writer.write(data)
                await writer.drain()
            while self.fault.mode == "stall":  # a backend closing after its answer must not end the stall
                await asyncio.sleep(0.1)
            writer.close()


def _canned(fault: Fault) -> bytes:
    if fault.mode == "garbage":
        return b"\x16\x03\x01\xff" + os.urandom(512) + b"\r\n\r\n"
    body = b'{"error": {"code": %d, "message": "injected fault", "title": "Service Unavailable"}}' % fault.status
    return (b"HTTP/1.1 %d Injected\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (fault.status, len(body))) + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Proxies:
    """Several FaultProxy on one event loop in a background thread (the gateway under test has its own)."""

    def __init__(self, upstreams: dict[str, tuple[str, int] | str], server_first: frozenset[str] = frozenset()) -> None:
        self.loop = asyncio.new_event_loop()
        self.by_name = {name: FaultProxy(addr, name, server_first=name in server_first)
                        for name, addr in upstreams.items()}
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __getitem__(self, name: str) -> FaultProxy:
        return self.by_name[name]

    def _call(self, coro) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> None:
        self._thread.start()
        for proxy in self.by_name.values():
            self._call(proxy.start())

    def stop(self) -> None:
        for proxy in self.by_name.values():
            self._call(proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def set(self, name: str, mode: str, **kw: float) -> None:
        """Switch one proxy's fault (stalled connections are left to the client's own deadline)."""
        self.by_name[name].fault = Fault(mode, **kw)  # type: ignore[arg-type]

    def clear(self) -> None:
        for name in self.by_name:
            self.set(name, "pass")


@contextlib.contextmanager
def proxies(upstreams: dict[str, tuple[str, int] | str], server_first: frozenset[str] = frozenset()) -> Iterator[Proxies]:
    p = Proxies(upstreams, server_first)
    p.start()
    try:
        yield p
    finally:
        p.stop()
