"""Swift's HTTP dates (backends/openstack/swift_meta.from_http_date): the exact form Swift sends is read by
slicing, and agrees with strptime on every input, the malformed and out-of-range ones included."""

from __future__ import annotations

import datetime as dt

import pytest

from backends.openstack.swift_meta import from_http_date


def _strptime(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


@pytest.mark.parametrize("value", [
    "Sun, 06 Dec 2026 09:40:45 GMT", "Sat, 01 Jan 2000 23:59:59 GMT", "Thu, 29 Feb 2024 12:00:00 GMT",
    "Mon, 29 Feb 2027 00:00:00 GMT", "Sun, 06 Xyz 2026 09:40:45 GMT", "Sun, 06 Dec 2026 24:00:00 GMT",
    "Sun, 06 Dec 2026 09:40:45 UTC", "Sun, 6 Dec 2026 09:40:45 GMT", "Sun, 0a Dec 2026 09:40:45 GMT",
    "Sun, 06 Dec 2026 09:40:4\u0665 GMT", "junk",
])
def test_the_fast_path_agrees_with_strptime(value):
    assert from_http_date(value) == _strptime(value)


def test_the_common_form_is_read_exactly():
    assert from_http_date("Sun, 06 Dec 2026 09:40:45 GMT") == dt.datetime(2026, 12, 6, 9, 40, 45, tzinfo=dt.UTC)
    assert from_http_date("") is None and from_http_date(None) is None
