"""Request-time parsing and the 15-minute skew window both signature versions enforce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from .exceptions import MalformedAuth

MAX_SKEW = timedelta(minutes=15)
MAX_SKEW_MS = 900_000
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def current(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def parse_amz_date(value: str) -> datetime:
    """`20150830T123600Z` (SigV4's ISO 8601 basic format). Every signed request has one: the exact
    16-character form is read by slicing (strptime costs ~10 us a call); anything else goes to strptime."""
    if len(value) == 16 and value[8] == "T" and value[15] == "Z" and value.isascii() \
            and value[:8].isdigit() and value[9:15].isdigit():
        try:
            return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                            int(value[11:13]), int(value[13:15]), tzinfo=UTC)
        except ValueError:
            pass  # out of range (month 13, second 61...): strptime decides
    try:
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedAuth("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"") from None


def parse_http_date(value: str) -> datetime:
    """RFC 1123 (`Sun, 30 Aug 2015 12:36:00 GMT`), as in Date and SigV2's x-amz-date."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise MalformedAuth("invalid date") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_any_date(value: str) -> datetime:
    """A date header may carry either format; SigV2's Timestamp parameter is ISO 8601 extended."""
    for parser in (parse_amz_date, parse_http_date, _parse_iso8601):
        try:
            return parser(value)
        except MalformedAuth:
            continue
    raise MalformedAuth("invalid date")


def _parse_iso8601(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedAuth("invalid date") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_timestamp(value: str) -> datetime:
    """SigV2's `Timestamp` (`2015-08-30T12:36:00Z`, fractions and offsets allowed)."""
    return _parse_iso8601(value)


def skewed(request_time: datetime, now: datetime) -> bool:
    return abs(now - request_time) > MAX_SKEW


def iso(moment: datetime) -> str:
    """The ISO 8601 form AWS puts in error details (ServerTime, Expires)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def too_early(request_time: datetime, now: datetime) -> bool:
    """A presigned URL dated further ahead than the allowed skew is not valid yet."""
    return request_time - now > MAX_SKEW
