"""Structured logging. One JSON line per request; secrets, signatures and query strings never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from .config import Logging

ACCESS = logging.getLogger("cloudgate.access")


class HttpServerLog(logging.LoggerAdapter):
    """The logger aiohttp's connection handler uses (`handler_args={"logger": ...}`). A request whose
    HTTP framing is malformed (bad request line, header, chunk size, length) is the client's fault: one
    warning line naming the error, no traceback, and none of the request bytes aiohttp quotes in its
    message (a header line could hold a signature). Anything else keeps aiohttp's full report."""

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(exc, HttpProcessingError):
            remote = args[0] if args else None
            self.logger.warning("bad http framing", extra={"fields": {"remote": remote, "status": exc.code,
                                                               "error": describe(exc)}})
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


HTTP_SERVER_LOG = HttpServerLog(logging.getLogger("cloudgate.http"), {})


def describe(exc: BaseException) -> str:
    """An exception's class and the plain description of its message, cut before any echoed request
    data (`:`, quotes or brackets start the quoted bytes in aiohttp's and the parsers' messages)."""
    raw = exc.message if isinstance(getattr(exc, "message", None), str) else str(exc)  # aiohttp: .message
    text = raw.splitlines()[0] if raw else ""
    text = re.split(r"""[:'"\[(]""", text, maxsplit=1)[0].strip()[:100]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JsonFormatter(logging.Formatter):
    _second = -1
    _ts = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # one line per request: the timestamp text changes once a second
            self._second, self._ts = second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        entry = {"ts": self._ts, "level": record.levelname.lower(), "logger": record.name,
                 "msg": record.getMessage()}
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        base = f"{record.levelname.lower()} {record.name}: {record.getMessage()} {tail}".rstrip()
        return base + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def setup_logging(cfg: Logging) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if cfg.format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.level.upper())
    logging.getLogger("aiohttp.access").disabled = True  # ours is richer and redacted
    # Neither format shows the caller's file and line, thread or process: not looking them up makes every
    # record (one access line per request at info) a third cheaper.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
