"""Temporary credentials (STS GetSessionToken): minted and checked by any replica, stored nowhere.

A session token is `cg1.<payload>.<mac>`: payload = base64url(JSON {"ak", "parent", "exp"}), mac =
HMAC-SHA256(key, payload). The session's secret is HMAC-SHA256(key, "secret\\0" + payload): derived, never
stored or sent again — a replica holding the same key recomputes it from the token the client sends with
every request (`X-Amz-Security-Token` / `SecurityToken`) and checks the request's signature with it. The
key is the gateway's own (shared by the replicas through the state store, see `session_key`); rotating it
invalidates every outstanding session, as revoking a role's sessions does on AWS.

A request with a session key is the parent key's caller: same account, same backend identity (for a
Keystone key, the parent's project token, obtained again through the parent's credential when needed).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .credentials import CredentialProvider, Identity, SignatureClaim
from .exceptions import SecretUnavailable, SignatureMismatch, TokenExpired, TokenInvalid
from .signing import Scope, signing_key

PREFIX = "cg1"
SESSION_KEY_PREFIX = "ASIA"  # AWS's prefix for temporary access keys
MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 900, 129_600, 43_200  # GetSessionToken's DurationSeconds
KEY_NS, KEY_NAME = "gateway", "sts-session-key"  # shared by the replicas, like the paging-token key
_CACHE = 10_000  # session secrets remembered for aws-chunked signing keys (same process, same request)


@dataclass(frozen=True)
class SessionCredentials:
    access_key: str
    secret_key: str = dataclasses.field(repr=False)
    token: str = dataclasses.field(repr=False)
    expires: float  # epoch seconds


@dataclass(frozen=True)
class SessionClaims:
    access_key: str
    parent: str   # the long-term access key the session was made with
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionKeys:
    """Mints and opens session tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a session key needs at least 32 bytes")
        self._key = key

    def _mac(self, label: bytes, payload: str) -> bytes:
        return hmac.new(self._key, label + payload.encode(), hashlib.sha256).digest()

    def mint(self, parent: str, seconds: int, now: float | None = None) -> SessionCredentials:
        ak = SESSION_KEY_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode()
        expires = int((time.time() if now is None else now) + seconds)
        payload = _b64(json.dumps({"ak": ak, "parent": parent, "exp": expires}, separators=(",", ":")).encode())
        mac = _b64(self._mac(b"token\0", payload))
        token = f"{PREFIX}.{payload}.{mac}"
        return SessionCredentials(ak, self._secret(payload), token, float(expires))

    def _secret(self, payload: str) -> str:
        return base64.b64encode(self._mac(b"secret\0", payload)).decode()[:40]

    def open(self, token: str) -> tuple[SessionClaims, str]:
        """(claims, secret) of a token this key minted; TokenInvalid for anything else."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise TokenInvalid()
        _, payload, mac = parts
        try:
            given = _unb64(mac)
            doc: Any = json.loads(_unb64(payload))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise TokenInvalid() from None
        if not hmac.compare_digest(given, self._mac(b"token\0", payload)):
            raise TokenInvalid()
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), t) for k, t in
                                                (("ak", str), ("parent", str), ("exp", int))):
            raise TokenInvalid()
        return SessionClaims(doc["ak"], doc["parent"], float(doc["exp"])), self._secret(payload)


class SessionProvider(CredentialProvider):
    """The configured provider, plus session keys: a claim carrying a session token is checked against
    the token (same access key, not expired, signature made with the session's secret) and answered with
    the parent key's identity. Claims without a token go to the configured provider unchanged."""

    def __init__(self, inner: CredentialProvider, keys: SessionKeys) -> None:
        self.inner = inner
        self.keys = keys
        self._secrets: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def lookup(self, access_key: str) -> tuple[str, Identity] | None:
        return await self.inner.lookup(access_key)

    async def verify(self, claim: SignatureClaim) -> Identity:
        if not claim.security_token:
            if claim.access_key.startswith(SESSION_KEY_PREFIX) and claim.access_key in self._secrets:
                raise TokenInvalid()  # a session key without its token
            return await self.inner.verify(claim)
        claims, secret = self.keys.open(claim.security_token)
        if claims.access_key != claim.access_key:
            raise TokenInvalid()
        if claims.expires <= time.time():
            raise TokenExpired()
        if not claim.matches(secret):
            raise SignatureMismatch(claim.access_key)
        self._remember(claims.access_key, secret, claims.expires)
        parent = await self.parent_identity(claims.parent)
        attributes = {**parent.attributes, "session": {"parent_access_key": claims.parent,
                                                       "expires": claims.expires}}
        return dataclasses.replace(parent, access_key=claim.access_key, attributes=attributes)

    async def parent_identity(self, parent: str) -> Identity:
        found = await self.inner.lookup(parent)
        if found is not None:
            return found[1]
        identity = await self.inner.identity_for_key(parent)
        if identity is None:
            raise TokenInvalid()  # the parent key is gone (deleted or disabled): so is its session
        return identity

    async def identity_for_key(self, access_key: str) -> Identity | None:
        return await self.inner.identity_for_key(access_key)

    async def identity_for_account(self, account_id: str) -> Identity | None:
        return await self.inner.identity_for_account(account_id)

    async def signing_key(self, access_key: str, scope: Scope) -> bytes:
        hit = self._secrets.get(access_key)
        if hit is not None and hit[1] > time.time():
            return signing_key(hit[0], scope)
        if access_key.startswith(SESSION_KEY_PREFIX):
            raise SecretUnavailable(access_key)
        return await self.inner.signing_key(access_key, scope)

    def _remember(self, access_key: str, secret: str, expires: float) -> None:
        self._secrets[access_key] = (secret, expires)
        self._secrets.move_to_end(access_key)
        while len(self._secrets) > _CACHE:
            self._secrets.popitem(last=False)


__all__ = ["DEFAULT_SECONDS", "KEY_NAME", "KEY_NS", "MAX_SECONDS", "MIN_SECONDS", "SessionClaims",
           "SessionCredentials", "SessionKeys", "SessionProvider"]
