"""The one HTTP layer of the OpenStack backend: a shared aiohttp session, JSON requests with per-call
timeouts, one retry for idempotent reads, and the mapping of OpenStack faults to neutral errors.

Every service client (keystone, nova, neutron, glance, cinder) goes through `HttpClient.request`, so
connection pooling, deadlines, error mapping and request counting live here and nowhere else.
Tokens travel in `X-Auth-Token` and are never logged: only method, path, status and duration are.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from backends import base

LOG = logging.getLogger("cloudgate.backend.openstack")

# Statuses worth one more try for an idempotent request: the service (or its proxy) was briefly away.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD"})
# Pooled backend connections: at most `pool_size` (100) to the OpenStack APIs and SWIFT_POOL_SIZE to Swift
# per gateway process; one idle this long is closed (aiohttp checks every as many seconds), so after a load
# the process's sockets fall back within 2 × KEEPALIVE_SECONDS (bench/soak.py measures it).
KEEPALIVE_SECONDS = 15.0
SWIFT_POOL_SIZE = 256

# Neutron fault types whose meaning is clearer than their HTTP status.
_NEUTRON_TYPES: dict[str, type[base.BackendError]] = {
    "OverQuota": base.QuotaExceeded,
    "IpAddressGenerationFailure": base.QuotaExceeded,
    "SecurityGroupRuleExists": base.AlreadyExists,
    "DuplicateSecurityGroupRuleInPost": base.AlreadyExists,
    "SecurityGroupInUse": base.Conflict,
    "FloatingIPPortAlreadyAssociated": base.Conflict,
    "ExternalGatewayForFloatingIPNotFound": base.Conflict,
    "PortInUse": base.Conflict,
    "SecurityGroupCannotRemoveDefault": base.Conflict,
}


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any  # parsed JSON body, or None


@dataclass(frozen=True)
class Fault:
    """An OpenStack error answer, parsed: status, the service's fault type (Neutron's `type`, Nova's
    fault key such as `itemNotFound`) and its message."""

    status: int
    type: str
    message: str


def parse_fault(status: int, body: bytes | str) -> Fault:
    """Read the error formats of Nova/Cinder (`{"itemNotFound": {"message":...}}`), Neutron
    (`{"NeutronError": {"type", "message"}}`), Keystone (`{"error": {"message", "title"}}`) and
    Glance/webob (plain text or HTML)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data:
        if isinstance(data.get("NeutronError"), dict):
            err = data["NeutronError"]
            return Fault(status, str(err.get("type") or ""), str(err.get("message") or ""))
        if isinstance(data.get("error"), dict):  # keystone, glance's JSON errors
            err = data["error"]
            return Fault(status, str(err.get("title") or err.get("type") or ""), str(err.get("message") or ""))
        if len(data) == 1:  # nova / cinder: {"<faultName>": {"code": N, "message": "..."}}
            (name, err), = data.items()
            if isinstance(err, dict):
                return Fault(status, name, str(err.get("message") or err.get("explanation") or ""))
        if "message" in data:
            return Fault(status, str(data.get("type") or data.get("title") or ""), str(data["message"]))
    # webob text: "404 Not Found\n\nNo image found with ID x\n\n   " (HTML tags possible)
    lines = [ln.strip() for ln in text.replace("<br />", "\n").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("<") and not ln[:3].isdigit()]
    return Fault(status, "", " ".join(lines)[:500])


def error_for(fault: Fault, kind: str = "") -> base.BackendError:
    """The neutral error for an OpenStack fault. `kind` names what a 404 is missing."""
    msg = fault.message or f"HTTP {fault.status}"
    if fault.type in _NEUTRON_TYPES:
        return _NEUTRON_TYPES[fault.type](msg)
    lowered = msg.lower()
    status = fault.status
    if status == 404:
        return base.NotFound(msg, kind=kind)
    if status == 413 or "quota exceeded" in lowered or "exceeds available quota" in lowered \
            or "limitexceeded" in fault.type.lower() or "overquota" in fault.type.lower():
        return base.QuotaExceeded(msg)
    if status == 400:
        return base.InvalidInput(msg)
    if status in (401, 403):
        return base.Forbidden(msg)
    if status == 409:
        if "already exists" in lowered or "duplicate" in lowered:
            return base.AlreadyExists(msg)
        return base.Conflict(msg)
    if status == 501:
        return base.NotSupported(msg)
    if status == 429:
        return base.Unavailable(f"rate limited: {msg}")
    if status >= 500:
        return base.Unavailable(msg)
    return base.InvalidInput(msg)


def raise_for(status: int, body: bytes | str, kind: str = "") -> None:
    raise error_for(parse_fault(status, body), kind)


Observer = Callable[[str, str, int], None]  # (method, url, status or 0 for a transport failure)


class HttpClient:
    """One pooled session per backend; every request carries its own deadline."""

    def __init__(self, *, timeout: float = 30.0, connect_timeout: float = 5.0, pool_size: int = 100,
                 user_agent: str = "cloudgate") -> None:
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.pool_size = pool_size
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        # Test and metrics hooks: called once per HTTP exchange (retries included).
        self.observers: list[Observer] = []

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.pool_size, ttl_dns_cache=300,
                                             keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                # The deadline is per call (below); json is decoded by us, so any content type is accepted.
                timeout=aiohttp.ClientTimeout(total=None))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _timeout(self, total: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=total, sock_connect=min(self.connect_timeout, total))

    def _notify(self, method: str, url: str, status: int, params: Any = None) -> None:
        if params and self.observers:  # observers see the query too (what a filtered listing asked for)
            url = f"{url}?{urlencode(params)}"
        for observer in self.observers:
            observer(method, url, status)

    async def request(self, method: str, url: str, *, token: str | None = None, json_body: Any = None,
                      data: bytes | None = None, params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
                      headers: Mapping[str, str] | None = None, ok: tuple[int, ...] = (200, 201, 202, 204),
                      kind: str = "", timeout: float | None = None,
                      errors: Mapping[int, Callable[[Fault], base.BackendError]] | None = None) -> Response:
        """Send one request; return the response for a status in `ok`, else raise the neutral error.

        `errors` overrides the mapping per status for this call (Cinder answers 400 for "volume in use",
        which is a Conflict for the caller). Connect errors, timeouts and 5xx raise `Unavailable`; GET and
        HEAD are retried once on those."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        hdrs: dict[str, str] = dict(headers or {})
        if token is not None:
            hdrs["X-Auth-Token"] = token
        payload = data
        if json_body is not None:
            payload = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        attempts = 2 if method in IDEMPOTENT else 1
        path = urlsplit(url).path
        # One deadline for the call, retry included: a retry only gets the time that is left.
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for attempt in range(attempts):
            started = time.monotonic()
            remaining = deadline - started
            last = attempt == attempts - 1 or remaining < 0.05
            if remaining <= 0:
                raise base.Unavailable(f"{method} {_service(url)} timed out")
            try:
                async with self._session.request(method, url, data=payload, params=params, headers=hdrs,
                                                 timeout=self._timeout(remaining), allow_redirects=False) as resp:
                    body = await resp.read()
                    status = resp.status
                    resp_headers = resp.headers
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self._notify(method, url, 0, params)
                last = last or deadline - time.monotonic() < 0.05
                LOG.warning("openstack request failed", extra={"fields": {
                    "method": method, "path": path, "error": type(exc).__name__,
                    "ms": round((time.monotonic() - started) * 1000, 1)}})
                if last:
                    what = "timed out" if isinstance(exc, TimeoutError) else f"unreachable ({type(exc).__name__})"
                    raise base.Unavailable(f"{method} {_service(url)} {what}") from None
                continue
            self._notify(method, url, status, params)
            LOG.debug("openstack request", extra={"fields": {
                "method": method, "path": path, "status": status,
                "ms": round((time.monotonic() - started) * 1000, 1)}})
            if status in RETRY_STATUSES and not last and deadline - time.monotonic() > 0.05:
                continue
            if status in ok:
                return Response(status, resp_headers, _decode(body))
            fault = parse_fault(status, body)
            if errors and status in errors:
                raise errors[status](fault)
            raise error_for(fault, kind)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, url: str, **kw: Any) -> Any:
        return (await self.request("GET", url, **kw)).data

    async def get_all(self, url: str, key: str, *, links_key: str | None = None, **kw: Any) -> list[dict]:
        """A collection, following the service's `next` links (Nova `<key>_links`, Neutron
        `<key>_links`, Cinder `<key>_links`, Glance `next`). Few pages: services cap pages at ~1000."""
        items: list[dict] = []
        next_url: str | None = url
        params = kw.pop("params", None)
        seen = set()
        while next_url and next_url not in seen:
            seen.add(next_url)
            data = await self.get(next_url, params=params, **kw) or {}
            params = None  # the next link carries the query
            items.extend(data.get(key) or [])
            next_url = _next_link(url, data, links_key or f"{key}_links")
        return items


def _next_link(base_url: str, data: dict, links_key: str) -> str | None:
    for link in data.get(links_key) or ():
        if link.get("rel") == "next" and link.get("href"):
            return _absolute(base_url, link["href"])
    nxt = data.get("next")  # glance: "/v2/images?marker=..."
    if isinstance(nxt, str) and nxt:
        return _absolute(base_url, nxt)
    return None


def _absolute(base_url: str, href: str) -> str:
    if href.startswith(("http://", "https://")):
        # Services behind a proxy often advertise their internal host in links: keep ours.
        ours, theirs = urlsplit(base_url), urlsplit(href)
        return theirs._replace(scheme=ours.scheme, netloc=ours.netloc).geturl()
    parts = urlsplit(base_url)
    # glance's next link is absolute-path and includes the version prefix (/v2/images?...)
    prefix = parts.path.split("/v2", 1)[0] if "/v2" in parts.path else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}{href}"


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _service(url: str) -> str:
    return urlsplit(url).netloc


class Service:
    """A service endpoint as one caller reaches it: base URL, their token, pinned version headers.

    A 401 means the caller's token was revoked or expired under us: `on_unauthorized` (the validator's
    `forget`) drops the cached token so the next request revalidates, and the call fails Forbidden."""

    headers: Mapping[str, str] = {}

    def __init__(self, http: HttpClient, url: str, token: str,
                 on_unauthorized: Callable[[], None] | None = None) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.token = token
        self._on_unauthorized = on_unauthorized

    def _unauthorized(self, fault: Fault) -> base.BackendError:
        if self._on_unauthorized is not None:
            self._on_unauthorized()
        return base.Forbidden("the cloud no longer accepts this caller's token; retry the request")

    async def call(self, method: str, path: str, *, kind: str = "", ok: tuple[int, ...] = (200, 201, 202, 204),
                   headers: Mapping[str, str] | None = None,
                   errors: Mapping[int, Callable[[Fault], base.BackendError]] | None = None,
                   **kw: Any) -> Response:
        hdrs = {**self.headers, **(headers or {})}
        errs = {401: self._unauthorized, **(errors or {})}
        return await self.http.request(method, self.url + path, token=self.token, headers=hdrs, ok=ok,
                                       kind=kind, errors=errs, **kw)

    async def get(self, path: str, *, kind: str = "", **kw: Any) -> Any:
        return (await self.call("GET", path, kind=kind, **kw)).data or {}

    async def get_all(self, path: str, key: str, **kw: Any) -> list[dict]:
        return await self.http.get_all(self.url + path, key, token=self.token, headers=dict(self.headers),
                                       errors={401: self._unauthorized}, **kw)
