"""AWS access keys on CloudStack: the access key IS the user's CloudStack apiKey, the secret their secretKey.

The gateway's admin keys look the user up (`getUser userapikey=`) and read the secret (`getUserKeys id=`);
the result is cached for `ttl` seconds (one lookup per key at a time, concurrent first requests wait for
it). The gateway then verifies SigV2/SigV4 itself against the secret (`secret()` reveals it to the
credential provider; `validate()` does the same check for callers that go through it), and every backend
call for the request is signed with the caller's own keys, so CloudStack enforces isolation.

Trade-off, stated: a cached secret stays valid up to `ttl` seconds after the user's keys are regenerated or
the user is disabled. Secrets are never logged, printed or put in exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from backends import base

from .client import CloudStackClient

_V2 = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


@dataclass
class _Entry:
    principal: base.Principal | None  # None = the key is unknown (remembered briefly)
    secret: str | None = field(default=None, repr=False)
    until: float = 0.0


def expected_signature(check: base.SignatureCheck, secret: str) -> str | None:
    """The AWS signature `secret` gives `check.string_to_sign` (None when it cannot be computed)."""
    if not check.string_to_sign:
        return None
    if check.version == "v4" and check.scope is not None:
        key = ("AWS4" + secret).encode()
        for part in (*check.scope, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return hmac.new(key, check.string_to_sign.encode(), hashlib.sha256).hexdigest()
    if check.version == "v2":
        digest = _V2.get(dict(check.params).get("SignatureMethod", "HmacSHA256"))
        if digest is None:
            return None
        mac = hmac.new(secret.encode(), check.string_to_sign.encode("utf-8", "surrogateescape"), digest)
        return base64.b64encode(mac.digest()).decode()
    return None


class CloudStackValidator(base.SignatureValidator):
    def __init__(self, admin: CloudStackClient, *, ttl: float = 300.0, negative_ttl: float = 10.0,
                 max_keys: int = 10_000) -> None:
        self.admin = admin
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self.lookups = 0  # admin lookups made (tests prove warm keys cost none)

    async def validate(self, check: base.SignatureCheck) -> base.Principal:
        entry = await self._entry(check.access_key)
        if entry.principal is None or entry.secret is None:
            raise base.UnknownKey(check.access_key)
        expected = expected_signature(check, entry.secret)
        if expected is None or not hmac.compare_digest(expected.encode(), check.signature.encode()):
            raise base.BadSignature(check.access_key)
        return entry.principal

    async def secret(self, access_key: str) -> tuple[str, base.Principal] | None:
        entry = await self._entry(access_key)
        if entry.principal is None or entry.secret is None:
            return None
        return entry.secret, entry.principal

    async def keys_for(self, access_key: str) -> tuple[str, str]:
        """(api key, secret) to sign a caller's CloudStack calls with (Forbidden when no longer valid)."""
        entry = await self._entry(access_key)
        if entry.secret is None:
            raise base.Forbidden("the caller's CloudStack keys are no longer valid")
        return access_key, entry.secret

    def forget(self, access_key: str) -> None:
        self._keys.pop(access_key, None)

    async def _entry(self, ak: str) -> _Entry:
        hit = self._keys.get(ak)
        if hit is not None and hit.until > time.monotonic():
            return hit
        inflight = self._inflight.get(ak)
        if inflight is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(inflight)
            hit = self._keys.get(ak)
            if hit is not None and hit.until > time.monotonic():
                return hit
        done = asyncio.get_running_loop().create_future()
        self._inflight[ak] = done
        try:
            entry = await self._lookup(ak)
        finally:
            if self._inflight.get(ak) is done:
                del self._inflight[ak]
            done.set_result(None)
        self._keys[ak] = entry
        self._keys.move_to_end(ak)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return entry

    async def _lookup(self, ak: str) -> _Entry:
        self.lookups += 1
        now = time.monotonic()
        unknown = _Entry(None, None, now + self.negative_ttl)
        try:
            user: Any = (await self.admin.call("getUser", {"userapikey": ak}, kind="user")).get("user")
        except (base.NotFound, base.InvalidInput):
            return unknown
        except (base.Forbidden, base.NotSupported):
            raise base.Unavailable("the gateway's CloudStack admin keys were refused or lack admin rights "
                                   "(check api_key/secret_key)") from None
        if not isinstance(user, dict) or not user.get("id") or str(user.get("state", "enabled")).lower() != "enabled":
            return unknown
        keys = (await self.admin.call("getUserKeys", {"id": user["id"]}, kind="user")).get("userkeys") or {}
        secret = keys.get("secretkey")
        if not secret or keys.get("apikey", ak) != ak:
            return unknown
        principal = base.Principal(
            account_id=str(user.get("accountid") or ""), display_name=str(user.get("account") or ""),
            attributes={"api_key": ak, "user_id": str(user["id"]), "account": str(user.get("account") or ""),
                        "domain_id": str(user.get("domainid") or "")})
        return _Entry(principal, str(secret), now + self.ttl)
