"""Timestamps on the wire: ISO 8601 with milliseconds (XML bodies) and RFC 822 (headers), as AWS writes
them; built from the fields, they must read exactly as strftime and email.utils.formatdate write them."""

from __future__ import annotations

import datetime as dt
import random
from email.utils import formatdate

import pytest

from gateway.protocol.scalars import format_timestamp

UTC = dt.UTC


def _reference(d: dt.datetime, fmt: str) -> str:
    d = d.astimezone(UTC)
    if fmt == "iso8601":
        return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{d.microsecond // 1000:03d}Z"
    return formatdate(d.timestamp(), usegmt=True)


def test_known_values():
    d = dt.datetime(2015, 8, 30, 12, 36, 0, 123999, tzinfo=UTC)
    assert format_timestamp(d, "iso8601") == "2015-08-30T12:36:00.123Z"  # truncated, as AWS does
    assert format_timestamp(d, "rfc822") == "Sun, 30 Aug 2015 12:36:00 GMT"
    assert format_timestamp("2024-02-29T23:59:59", "rfc822") == "Thu, 29 Feb 2024 23:59:59 GMT"  # naive = UTC
    plus5 = dt.datetime(2020, 5, 5, 5, 5, 5, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert format_timestamp(plus5, "iso8601") == "2020-05-05T00:05:05.000Z"


@pytest.mark.parametrize("fmt", ["iso8601", "rfc822"])
def test_random_moments_match_strftime_and_formatdate(fmt):
    rnd = random.Random(18)
    for _ in range(2000):
        d = dt.datetime.fromtimestamp(rnd.uniform(0, 4102444800), UTC).replace(microsecond=rnd.randrange(10**6))
        assert format_timestamp(d, fmt) == _reference(d, fmt)
