"""Non-ASCII user metadata on the wire, as S3 handles it (RFC 2047 "encoded words").

S3 decodes x-amz-meta-* values written as RFC 2047 encoded words (`=?UTF-8?B?w6k=?=`, `=?UTF-8?Q?=C3=A9?=`)
before storing them, keeps raw UTF-8 as it is, and answers GET/HEAD with every non-ASCII value encoded as
one `=?UTF-8?B?...?=` word, so that the header stays ASCII. Header bytes that are not UTF-8 reach the
gateway surrogate-escaped: they are read as ISO-8859-1, HTTP's historical header charset.
"""

from __future__ import annotations

import base64
import binascii
import email.errors
import email.header
import re

_PREFIX, _SUFFIX = "=?UTF-8?B?", "?="
_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")


def _text(value: str) -> str:
    """Undo surrogate escapes (bytes that were not UTF-8): ISO-8859-1."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("latin-1")


def decode(value: str) -> str:
    """A stored value from what the client sent: encoded words decoded, anything else kept as sent."""
    value = _text(value)
    if "=?" not in value or "?=" not in value:
        return value
    for _charset, kind, payload in _WORD.findall(value):  # Python's decoder forgives bad base64: check first
        if kind in "bB":
            try:
                base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, binascii.Error, email.errors.HeaderParseError):
        return value  # not a well-formed encoded word: S3 keeps such text as it is


def encode(value: str) -> str:
    """What a GET/HEAD answers for a stored value: ASCII as it is, anything else one base64 word."""
    if value.isascii():
        return value
    return _PREFIX + base64.b64encode(value.encode("utf-8", "surrogateescape")).decode("ascii") + _SUFFIX
