"""The JSON log line: its UTC timestamp (cached per second) and its fields."""

from __future__ import annotations

import json
import logging

from gateway.logs import JsonFormatter


def _line(fmt: JsonFormatter, created: float, **fields: object) -> dict:
    record = logging.LogRecord("cloudgate.access", logging.INFO, "", 0, "request", None, None)
    record.created = created
    record.fields = fields
    return json.loads(fmt.format(record))


def test_timestamps_follow_each_records_own_second_and_fields_are_kept():
    fmt = JsonFormatter()
    first = _line(fmt, 1440938160.2, status=200, path="/b/k")
    assert first == {"ts": "2015-08-30T12:36:00Z", "level": "info", "logger": "cloudgate.access",
                     "msg": "request", "status": 200, "path": "/b/k"}
    assert _line(fmt, 1440938160.9)["ts"] == "2015-08-30T12:36:00Z"
    assert _line(fmt, 1440938161.0)["ts"] == "2015-08-30T12:36:01Z"
    assert _line(fmt, 1440938160.5)["ts"] == "2015-08-30T12:36:00Z"  # an older record, after a newer one
