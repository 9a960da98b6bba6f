"""Scalar conversions shared by every codec: XML escaping, timestamps, floats, base64."""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from email.utils import formatdate
from typing import Any

from botocore.utils import parse_timestamp

UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


# Characters XML 1.0 cannot carry at all, not even as references: one in a document makes every client's
# parser reject the whole answer (an error echoing a hostile bucket name, a key with control characters).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class CharRefText(str):
    """Text whose control characters are written as character references (`&#x1;`), as S3 writes object
    keys in listings without encoding-type (strict parsers refuse them: that is what encoding-type=url is
    for). Surrogates (bytes that were not UTF-8) still become U+FFFD."""


def _char_ref(m: re.Match[str]) -> str:
    c = m.group()
    return f"&#x{ord(c):x};" if c < "\ud800" else "\ufffd"


def esc(s: str) -> str:
    """Escape XML text; characters XML cannot carry become U+FFFD. Fast path: most values need nothing."""
    if not (s.isascii() and s.isprintable()) and _NOT_XML.search(s):
        if isinstance(s, CharRefText):
            text = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")
            return _NOT_XML.sub(_char_ref, text)
        s = _NOT_XML.sub("\ufffd", s)
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if "\r" in s:  # a literal CR would be normalised away by any XML parser
        s = s.replace("\r", "&#xD;")
    return s


def esc_attr(s: str) -> str:
    return esc(s).replace('"', "&quot;")


def to_datetime(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, (int, float)):
        return _EPOCH + dt.timedelta(seconds=v)
    if isinstance(v, str):
        try:  # ISO 8601, what handlers hand over: ~50x cheaper than the general parser (a row per instance)
            d = dt.datetime.fromisoformat(v)
        except ValueError:
            return parse_timestamp(v)
        return d if d.tzinfo else d.replace(tzinfo=UTC)
    return parse_timestamp(v)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_timestamp(v: Any, fmt: str) -> str:
    """Render a timestamp in one of the model's formats (iso8601 with milliseconds, as AWS does). One per
    listed key and per object response (LastModified): built from the fields, not strftime/formatdate."""
    d = to_datetime(v).astimezone(UTC)
    if fmt == "iso8601":
        if d.year >= 1000:  # isoformat truncates to milliseconds as AWS does: 2015-08-30T12:36:00.123
            return d.isoformat(timespec="milliseconds")[:23] + "Z"
        return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{d.microsecond // 1000:03d}Z"
    if fmt == "unixTimestamp":
        secs = (d - _EPOCH).total_seconds()
        return str(int(secs)) if secs == int(secs) else f"{secs:.3f}".rstrip("0")
    if fmt == "rfc822":
        if d.year >= 1970:  # formatdate's own range; before it, formatdate decides
            return (f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year:04d} "
                    f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} GMT")
        return formatdate((d - _EPOCH).total_seconds(), usegmt=True)
    raise ValueError(f"unknown timestamp format {fmt!r}")


def format_float(v: Any) -> str:
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def format_bool(v: Any) -> str:
    return "true" if v is True or v == "true" else "false"


def b64encode(v: bytes | str) -> str:
    if isinstance(v, str):
        v = v.encode("utf-8")
    return base64.b64encode(v).decode("ascii")
