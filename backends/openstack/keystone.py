"""Keystone: the gateway's service token, and AWS signature validation against EC2 credentials.

How a signature is validated (the gateway holds no user secrets in its configuration):

* Cold key: `POST /v3/ec2tokens` with the service token (Keystone 29+ refuses unauthenticated callers)
  validates the signature and returns a project-scoped token for the caller, with its catalog. In the
  same round trip (concurrently) the EC2 credential itself is read with the service token —
  `GET /v3/credentials/{sha256(access)}`, the id Keystone gives every EC2 credential — as Swift's
  s3token does for aws-chunked uploads. Both are cached per access key.
* Warm key: the signature of every request is still verified, locally, with the cached secret by the
  gateway's own SigV4/SigV2 code (`SignatureCheck.matches`: backends hold no AWS signing code), and
  the cached project token is reused while it has more than `token_margin` seconds to live:
  0 Keystone calls. A signature that does not verify against a fresh secret is rejected locally, so
  forgeries cannot be used to hammer Keystone either.
* When the service user may not read credentials (no admin role: Keystone answers 403), every request
  goes to `/v3/ec2tokens` (fallback), memoised only per exact (access key, signature, string to sign)
  for a few seconds — client retries of one request, nothing more.

Security trade-off, stated: a cached secret stays valid for up to `secret_ttl` seconds (default 300)
after its EC2 credential is deleted or changed in Keystone. Disabling the user or project revokes
their tokens at once, and the services then answer 401: the compute layer calls `forget()` and the
next request revalidates through Keystone. Tokens and secrets are never logged or put in exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from backends import base

from .catalog import Catalog
from .http import Fault, HttpClient

LOG = logging.getLogger("cloudgate.backend.openstack.keystone")



@dataclass(frozen=True)
class Token:
    id: str = field(repr=False)
    expires: dt.datetime
    user_id: str
    project_id: str
    user_name: str
    project_name: str
    catalog: Catalog = field(repr=False)
    roles: tuple[str, ...] = ()  # role names on the token's project

    @classmethod
    def from_response(cls, headers: Any, body: dict) -> Token:
        tok = body.get("token") or {}
        project = tok.get("project") or {}
        return cls(id=headers.get("X-Subject-Token", ""), expires=parse_time(tok.get("expires_at")),
                   user_id=(tok.get("user") or {}).get("id", ""), project_id=project.get("id", ""),
                   user_name=(tok.get("user") or {}).get("name", ""),
                   project_name=project.get("name", ""), catalog=Catalog.from_token(tok.get("catalog")),
                   roles=tuple(str(r.get("name") or "") for r in tok.get("roles") or () if isinstance(r, dict)))

    def seconds_left(self) -> float:
        return (self.expires - dt.datetime.now(dt.UTC)).total_seconds()

    def principal(self, access_key: str) -> base.Principal:
        return base.Principal(
            account_id=self.project_id, display_name=self.project_name,
            attributes={"token": self.id, "catalog": self.catalog, "expires": self.expires,
                        "user_id": self.user_id, "user_name": self.user_name, "project_id": self.project_id,
                        "access_key": access_key})


def parse_time(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def v3_url(auth_url: str) -> str:
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


class ServiceAuth:
    """The gateway's own project-scoped token (password auth), cached and refreshed single-flight."""

    def __init__(self, http: HttpClient, auth_url: str, *, user: str, password: str, project: str,
                 user_domain: str = "Default", project_domain: str = "Default", margin: float = 300) -> None:
        self.http = http
        self.url = v3_url(auth_url)
        self._body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": user_domain}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": project_domain}}}}}
        self.margin = margin
        self._token: Token | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # the body holds the password
        return f"ServiceAuth({self.url})"

    async def token(self) -> str:
        return (await self.current()).id

    async def current(self) -> Token:
        """The service token (its project and roles too), fetched when missing or about to expire."""
        tok = self._token
        if tok is not None and tok.seconds_left() > self.margin:
            return tok
        async with self._lock:
            tok = self._token
            if tok is None or tok.seconds_left() <= self.margin:
                resp = await self.http.request("POST", self.url + "/auth/tokens", json_body=self._body,
                                               params={"nocatalog": "1"}, ok=(201,), errors={
                                                   401: _service_rejected, 403: _service_rejected})
                tok = self._token = Token.from_response(resp.headers, resp.data or {})
            return tok

    def invalidate(self) -> None:
        self._token = None


def _service_rejected(fault: Fault) -> base.BackendError:
    return base.Unavailable("Keystone rejected the gateway's service credentials (check service_user, "
                            "service_password, service_project)")


def credential_id(access_key: str) -> str:
    """Keystone stores an EC2 credential under sha256(access) (keystone.common.utils.hash_access_key)."""
    return hashlib.sha256(access_key.encode()).hexdigest()


def ec2_credentials(check: base.SignatureCheck) -> dict[str, Any]:
    """The `credentials` document `/v3/ec2tokens` recomputes the signature from (keystoneclient's
    Ec2Signer): SigV2 from verb/host/path/params (without Signature); SigV4 from the signed headers,
    an `Authorization` header naming the scope and signed headers, `X-Amz-Date` and the body hash.
    Header names `Authorization` and `X-Amz-Date` are looked up case-sensitively by Keystone."""
    creds: dict[str, Any] = {"access": check.access_key, "signature": check.signature, "host": check.host,
                             "verb": check.method or "POST", "path": check.path or "/"}
    if check.version == "v2":
        creds["params"] = {k: v for k, v in check.params if k != "Signature"}
        creds["headers"] = {}
        creds["body_hash"] = check.body_hash or ""
        return creds
    headers = {name: value for name, value in check.headers}
    signed = ";".join(name.lower() for name, _ in check.headers)
    scope = "/".join(check.scope or ()) + "/aws4_request"
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={check.access_key}/{scope}, "
                                f"SignedHeaders={signed}, Signature={check.signature}")
    lowered = {k.lower(): v for k, v in headers.items()}
    if "x-amz-date" in lowered:
        headers["X-Amz-Date"] = lowered["x-amz-date"]
    creds["params"] = dict(check.params)
    creds["headers"] = headers
    creds["body_hash"] = check.body_hash or hashlib.sha256(b"").hexdigest()
    return creds


class OwnerSource(Protocol):
    async def principal(self, project_id: str) -> base.Principal | None: ...


@dataclass
class _Key:
    """What we know of one access key. The secret is never printed."""

    secret: str | None = field(default=None, repr=False)
    secret_at: float = 0.0  # monotonic time the secret was read
    token: Token | None = None


class KeystoneValidator(base.SignatureValidator):
    def __init__(self, http: HttpClient, service: ServiceAuth, *, secret_ttl: float = 300,
                 token_margin: float = 300, memo_ttl: float = 10, max_keys: int = 10000,
                 read_secrets: bool = True, owners: OwnerSource | None = None) -> None:
        self.http = http
        self.owners = owners  # acting for another project's storage (owners.py); None: never
        self.service = service
        self.url = service.url
        self.secret_ttl = secret_ttl
        self.token_margin = token_margin
        self.memo_ttl = memo_ttl
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Key] = OrderedDict()
        self._memo: OrderedDict[tuple[str, str, str], tuple[float, Token]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        # the service user may not read credentials (403, or read_secrets=False): ec2tokens until then
        self._secrets_denied_until = 0.0 if read_secrets else float("inf")

    # -- the SignatureValidator interface --------------------------------------------------------------
    async def validate(self, check: base.SignatureCheck) -> base.Principal:
        ak = check.access_key
        known = self._fresh(ak)
        if known is not None:
            return (await self._warm(known, check)).principal(ak)
        memo_key = (ak, check.signature, check.string_to_sign)
        hit = self._memo.get(memo_key)
        if hit is not None and hit[0] > time.monotonic() and hit[1].seconds_left() > self.token_margin:
            return hit[1].principal(ak)
        # One cold validation per key at a time: concurrent first requests wait for it, then verify
        # their own signature locally with the secret it cached.
        inflight = self._inflight.get(ak)
        if inflight is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(inflight)
            known = self._fresh(ak)
            if known is not None:
                return (await self._warm(known, check)).principal(ak)
        done = asyncio.get_running_loop().create_future()
        self._inflight[ak] = done
        try:
            token = await self._cold(check)
        finally:
            if self._inflight.get(ak) is done:
                del self._inflight[ak]
            done.set_result(None)
        return token.principal(ak)

    async def secret(self, access_key: str) -> tuple[str, base.Principal] | None:
        known = self._fresh(access_key)
        if known is None or known.secret is None or known.token is None:
            return None
        return known.secret, known.token.principal(access_key)

    async def stored_secret(self, access_key: str) -> str | None:
        return await self._read_secret(access_key)

    async def principal_for_account(self, account_id: str) -> base.Principal | None:
        """Project `account_id`'s storage as the service user reaches it (owners.py), or None when it may not."""
        if self.owners is None:
            return None
        try:
            return await self.owners.principal(account_id)
        except base.BackendError as e:  # Keystone down or refusing: the gateway refuses the request
            LOG.warning("cannot act for project %s: %s", account_id, e)
            return None

    def forget(self, access_key: str) -> None:
        """Drop what is cached for a key (its token was refused by a service): revalidate next time."""
        self._keys.pop(access_key, None)
        for key in [k for k in self._memo if k[0] == access_key]:
            self._memo.pop(key, None)

    # -- internals ---------------------------------------------------------------------------------------
    def _fresh(self, ak: str) -> _Key | None:
        entry = self._keys.get(ak)
        if entry is None or entry.secret is None:
            return None
        if time.monotonic() - entry.secret_at >= self.secret_ttl:
            self._keys.pop(ak, None)
            return None
        self._keys.move_to_end(ak)
        return entry

    async def _warm(self, entry: _Key, check: base.SignatureCheck) -> Token:
        assert entry.secret is not None
        verdict = check.matches(entry.secret) if check.matches is not None else None  # the gateway's SigV4/V2
        if verdict is False:
            raise base.BadSignature(check.access_key)
        if verdict and entry.token is not None and entry.token.seconds_left() > self.token_margin:
            return entry.token
        # A verified signature but no (fresh) token yet, or a claim we cannot check locally: Keystone.
        entry.token = await self._ec2tokens(check)
        return entry.token

    async def _cold(self, check: base.SignatureCheck) -> Token:
        want_secret = time.monotonic() >= self._secrets_denied_until
        results = await asyncio.gather(
            self._ec2tokens(check), self._read_secret(check.access_key) if want_secret else _none(),
            return_exceptions=True)
        token, secret = results
        if isinstance(secret, BaseException) and not isinstance(secret, base.BackendError):
            raise secret
        if isinstance(secret, str):
            self._store(check.access_key, secret, token if isinstance(token, Token) else None)
        if isinstance(token, BaseException):
            raise token
        if not isinstance(secret, str):  # fallback mode: memoise this exact request briefly
            self._memo[(check.access_key, check.signature, check.string_to_sign)] = (
                time.monotonic() + self.memo_ttl, token)
            while len(self._memo) > self.max_keys:
                self._memo.popitem(last=False)
        return token

    def _store(self, ak: str, secret: str, token: Token | None) -> None:
        self._keys[ak] = _Key(secret, time.monotonic(), token)
        self._keys.move_to_end(ak)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    async def _ec2tokens(self, check: base.SignatureCheck) -> Token:
        body = {"credentials": ec2_credentials(check)}
        for attempt in (0, 1):
            token = await self.service.token()
            try:
                resp = await self.http.request("POST", self.url + "/ec2tokens", token=token, json_body=body,
                                               ok=(200,), errors=_EC2TOKENS_ERRORS)
            except _ServiceTokenRefused:
                self.service.invalidate()
                if attempt:
                    raise base.BadSignature(check.access_key) from None
                continue
            return Token.from_response(resp.headers, resp.data or {})
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_secret(self, ak: str) -> str | None:
        token = await self.service.token()
        try:
            data = await self.http.get(f"{self.url}/credentials/{credential_id(ak)}", token=token,
                                       kind="credential")
        except base.NotFound:
            return None
        except base.Forbidden:
            LOG.warning("the service user may not read EC2 credentials: every request is validated by "
                        "/v3/ec2tokens (grant it the admin role for 0-call warm validation)")
            self._secrets_denied_until = time.monotonic() + self.secret_ttl
            return None
        cred = (data or {}).get("credential") or {}
        if cred.get("type") != "ec2":
            return None
        blob = cred.get("blob")
        try:
            blob = json.loads(blob) if isinstance(blob, str) else (blob or {})
        except ValueError:
            return None
        if blob.get("access") != ak or not blob.get("secret"):
            return None
        return str(blob["secret"])


async def _none() -> None:
    return None


class _ServiceTokenRefused(base.BackendError):
    pass


def _ec2tokens_401(fault: Fault) -> base.BackendError:
    text = fault.message.lower()
    # Keystone's own verdicts name the credential or signature; a bare "requires authentication" is about
    # our X-Auth-Token (expired or revoked service token).
    if any(word in text for word in ("ec2", "signature", "credential", "not valid for project", "disabled")):
        return base.BadSignature("signature rejected by Keystone")
    return _ServiceTokenRefused(fault.message)


_EC2TOKENS_ERRORS = {
    400: lambda f: base.BadSignature("malformed signature"),
    401: _ec2tokens_401,
    403: lambda f: base.Unavailable("the gateway's service user may not call /v3/ec2tokens "
                                    "(it needs the admin or service role)"),
    404: lambda f: base.UnknownKey("unknown access key"),
}
