"""Send generated requests concurrently and collect (request, answer, verdict); capture what the gateway
logs at error level or with a traceback while they run."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import build
from .wire import Answer, RawRequest, exchange, label, verdict  # noqa: F401


@dataclass
class Outcome:
    histogram: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    failures: list[tuple[RawRequest, Answer, str]] = field(default_factory=list)
    sent: int = 0

    def add(self, req: RawRequest, ans: Answer) -> None:
        self.sent += 1
        key = label(req, ans)
        self.histogram[key] += 1
        self.by_kind[(req.kind, key)] += 1
        why = verdict(req, ans)
        if why is not None and len(self.failures) < 200:
            self.failures.append((req, ans, why))
        elif why is not None:
            self.failures.append(self.failures[-1])  # count, without keeping every request

    def report(self, limit: int = 10) -> str:
        lines = [f"{len(self.failures)} failing of {self.sent}:"]
        for req, _ans, why in self.failures[:limit]:
            lines.append(f"  [{req.kind}] {req.method} {req.target[:100]} ({req.note[:100]}): {why}")
        return "\n".join(lines)


async def fire(host: str, port: int, requests: Iterable[RawRequest], *, concurrency: int = 8,
               timeout: float = 20.0, outcome: Outcome | None = None,
               on_answer: Callable[[RawRequest, Answer], None] | None = None) -> Outcome:
    outcome = outcome or Outcome()
    queue = iter(requests)

    async def worker() -> None:
        for req in queue:
            ans = await exchange(host, port, req, timeout)
            outcome.add(req, ans)
            if on_answer is not None:
                on_answer(req, ans)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcome


def stream(service: str, target: build.Target, seed: int, count: int, kind: str | None = None
           ) -> Iterable[RawRequest]:
    rng = random.Random(seed)
    ops = build.operations(service)
    for i in range(count):
        yield build.generate(service, rng, target, kind, ops[i % len(ops)] if kind != "framing" else None)


class LogCapture(logging.Handler):
    """Records at error level or carrying a traceback, from any logger (gateway, aiohttp, asyncio)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def __enter__(self) -> LogCapture:
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        if root.level > logging.WARNING or root.level == logging.NOTSET:
            root.setLevel(logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def unexpected(self) -> list[logging.LogRecord]:
        """What the gateway must never log. aiohttp's own error-level report of a request its HTTP parser
        refused (HttpProcessingError) is left out: branch i10-frontends turns those into info lines."""
        from aiohttp.http_exceptions import HttpProcessingError

        return [r for r in self.records
                if not (r.name == "aiohttp.server" and r.exc_info and isinstance(r.exc_info[1], HttpProcessingError))]

    def summary(self, limit: int = 5) -> str:
        out = []
        for r in self.unexpected()[:limit]:
            text = r.getMessage()
            if r.exc_info and r.exc_info[1] is not None:
                text += f" -- {type(r.exc_info[1]).__name__}: {r.exc_info[1]}"
            out.append(f"{r.name} {r.levelname}: {text[:300]}")
        return "\n".join(out)
