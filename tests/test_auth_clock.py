"""X-Amz-Date parsing: the exact basic form by slicing, anything else as strptime reads it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.auth.clock import AMZ_DATE_FORMAT, parse_amz_date
from gateway.auth.exceptions import MalformedAuth


@pytest.mark.parametrize("value", ["20150830T123600Z", "20240229T235959Z", "19991231T000000Z",
                                   "2015083T123600Z", "20150830T12360Z"])  # the last two: strptime's leniency
def test_dates_parse_as_strptime_reads_them(value):
    assert parse_amz_date(value) == datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    assert parse_amz_date(value).tzinfo is UTC


@pytest.mark.parametrize("value", ["20150830T123660Z", "20151330T123600Z", "20230229T120000Z",
                                   "20150830 123600Z", "20150830T123600", "2015-08-30T12:36:00Z", ""])
def test_impossible_or_malformed_dates_are_malformed_auth(value):
    with pytest.raises(MalformedAuth, match="ISO8601 Long Format"):
        parse_amz_date(value)
