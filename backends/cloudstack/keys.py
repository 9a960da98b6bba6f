"""AWS access keys on CloudStack: the access key IS the user's CloudStack apiKey, the secret their secretKey.

The gateway's admin keys look the user up (`getUser userapikey=`) and read the secret (`getUserKeys id=`);
the result is cached for `ttl` seconds, at most `max_keys` keys (one lookup per key at a time, concurrent
first requests wait for it). `CloudStackKeys` is a neutral `SecretSource`: it reveals the secret and the
gateway verifies SigV2/SigV4 itself (gateway/auth holds the only AWS signing code); every backend call for
the request is then signed with the caller's own keys (CloudStack's signing, signing.py), so CloudStack
enforces isolation.

Trade-off, stated: a cached secret stays valid up to `ttl` seconds after the user's keys are regenerated or
the user is disabled. Secrets are never logged, printed or put in exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from backends import base

from .client import CloudStackClient


@dataclass
class _Entry:
    principal: base.Principal | None  # None = the key is unknown (remembered briefly)
    secret: str | None = field(default=None, repr=False)
    until: float = 0.0


class CloudStackKeys(base.SecretSource):
    def __init__(self, admin: CloudStackClient, *, ttl: float = 300.0, negative_ttl: float = 10.0,
                 max_keys: int = 10_000) -> None:
        self.admin = admin
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self.lookups = 0  # admin lookups made (tests prove warm keys cost none)

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
