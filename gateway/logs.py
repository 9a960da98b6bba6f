"""Structured logging. One JSON line per request; secrets, signatures and query strings never logged."""

from __future__ import annotations

import json
import logging
import sys
import time

from .config import Logging

ACCESS = logging.getLogger("cloudgate.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
                 "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
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
