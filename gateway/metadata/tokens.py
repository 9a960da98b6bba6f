"""IMDSv2 session tokens: `PUT /latest/api/token` mints one, later requests carry it.

A token is `<expiry>.<instance id>.<mac>` in URL-safe base64: the HMAC-SHA256 (truncated to 128 bits) of the
expiry and the instance's EC2 id under a key every replica shares (kept in the state store, made once by the
first replica that needs it). So any replica verifies any replica's token, a token opens one instance's data
only, and an expired one is refused; nothing is stored per token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

from ..store import Store

KEY_NS, KEY_NAME = "gateway", "metadata-token-key"
MIN_TTL, MAX_TTL = 1, 21600  # seconds, as AWS bounds X-aws-ec2-metadata-token-ttl-seconds
_DIGITS = re.compile(r"^[0-9]{1,9}$")


class TokenKey:
    """The shared HMAC key, read from the state store once per process."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._key: bytes | None = None

    async def key(self) -> bytes:
        if self._key is None:
            fresh = os.urandom(32).hex()
            stored = await self._store.put_if_absent(KEY_NS, KEY_NAME, fresh) or fresh
            self._key = bytes.fromhex(stored)
        return self._key


def _mac(key: bytes, expires: int, instance_id: str) -> bytes:
    return hmac.new(key, f"{expires}\0{instance_id}".encode(), hashlib.sha256).digest()[:16]


def mint(key: bytes, instance_id: str, ttl: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl)
    raw = f"{expires}.{instance_id}.".encode() + base64.urlsafe_b64encode(_mac(key, expires, instance_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def valid(key: bytes, token: str, instance_id: str, now: float | None = None) -> bool:
    """The token was minted here for this instance and has not expired."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        expires_text, bound, mac = raw.decode("ascii").split(".", 2)
        expires = int(expires_text)
        given = base64.urlsafe_b64decode(mac)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    if not hmac.compare_digest(given, _mac(key, expires, bound)) or bound != instance_id:
        return False
    return expires > (time.time() if now is None else now)


def ttl_of(value: str | None) -> int | None:
    """The requested lifetime, or None when missing or outside 1-21600 (400)."""
    if value is None or not _DIGITS.match(value.strip()):
        return None
    ttl = int(value.strip())
    return ttl if MIN_TTL <= ttl <= MAX_TTL else None
