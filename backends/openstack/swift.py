"""A thin async client for Swift's native API, on one shared aiohttp session.

What it does and no more: authenticate (a pluggable `TokenSource`; tempauth v1 here, Keystone later),
send one request with the right timeouts, map transport failures and Swift's statuses onto the neutral
errors of `backends.base`, stream bodies both ways. S3 semantics live in the gateway; the mapping of the
neutral ObjectStore onto these calls lives in `swift_backend.py`.

Failure rules: connect errors, timeouts and 5xx raise `Unavailable`; a call is retried only when it is
idempotent and its body is replayable (bytes or none), and only after a failure to connect or a pooled
connection the server had already dropped — never once a streamed body started flowing. A 401 re-authenticates
once. A streamed body can't be sent twice, so it goes with `Expect: 100-continue` (Swift refuses before
the first byte) unless its token is vouched for: fetched or accepted by Swift within `VOUCH_SECONDS`.
The handshake costs a round trip per PUT; skipping it for a vouched token means that a token revoked in
that window fails the one upload in flight with `Unavailable` (a retryable 503) and is replaced.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from backends import base

CHUNK = 1 << 16  # bytes per chunk when streaming out; aiohttp keeps at most ~2 chunks buffered
RETRY_ERRORS = (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError)
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
VOUCH_SECONDS = 60.0  # a token fetched or accepted this recently streams without Expect: 100-continue


# ---- tokens ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    token: str
    storage_url: str        # the account URL: http://host:port/v1/AUTH_test
    expires: float | None   # monotonic deadline, None when the server didn't say


class TokenSource(abc.ABC):
    """Where a caller's Swift token and storage URL come from (tempauth now; Keystone can plug in)."""

    def __init__(self) -> None:
        self._cached: Token | None = None
        self._lock = asyncio.Lock()
        self._vouched: tuple[Token, float] | None = None  # the last token known good, and when

    def vouch(self, token: Token) -> None:
        """Swift just accepted `token` (or issued it)."""
        self._vouched = (token, time.monotonic())

    def vouched(self, token: Token) -> bool:
        v = self._vouched
        return v is not None and v[0] is token and time.monotonic() - v[1] < VOUCH_SECONDS

    @abc.abstractmethod
    async def _fetch(self, client: SwiftClient) -> Token: ...

    async def get(self, client: SwiftClient, *, stale: Token | None = None) -> Token:
        """The cached token; a new one when there is none, it expires within a minute, or it is `stale`
        (the one a 401 just rejected: a concurrent caller may already have replaced it)."""
        async with self._lock:
            tok = self._cached
            if tok is None or tok is stale or (tok.expires is not None and tok.expires - time.monotonic() < 60):
                tok = self._cached = await self._fetch(client)
                self.vouch(tok)
            return tok


class TempAuth(TokenSource):
    """Swift tempauth / swauth v1: `GET auth_url` with X-Storage-User/X-Storage-Pass."""

    def __init__(self, auth_url: str, user: str, key: str) -> None:
        super().__init__()
        self.auth_url, self.user, self._key = auth_url, user, key

    async def _fetch(self, client: SwiftClient) -> Token:
        headers = {"X-Storage-User": self.user, "X-Storage-Pass": self._key}
        async with client.raw("GET", self.auth_url, headers=headers, idempotent=True) as resp:
            await resp.read()
            if resp.status in (401, 403):
                raise base.Forbidden(f"Swift refused the credentials of {self.user}")
            if resp.status // 100 != 2:
                raise base.Unavailable(f"Swift auth answered {resp.status}")
            token, url = resp.headers.get("X-Auth-Token"), resp.headers.get("X-Storage-Url")
            if not token or not url:
                raise base.Unavailable("Swift auth answered without a token or storage URL")
            ttl = resp.headers.get("X-Auth-Token-Expires")
            expires = time.monotonic() + float(ttl) if ttl and ttl.isdigit() else None
            return Token(token, url.rstrip("/"), expires)


# ---- responses ---------------------------------------------------------------------------------------
@dataclass
class Reply:
    """A finished (fully read) response: status, headers (case-insensitive) and the small body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def quote_container(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def quote_object(key: str) -> str:
    # Keep '/' readable; escape '.' and '..' segments so nothing on the way normalizes them away.
    parts = urllib.parse.quote(key, safe="/").split("/")
    return "/".join(p.replace(".", "%2E") if p in (".", "..") else p for p in parts)


def error_for(status: int, body: bytes, kind: str, what: str) -> base.BackendError:
    """The neutral error for a Swift status (kind = "container" | "object" | "version" | "account")."""
    detail = body[:300].decode("utf-8", "replace").strip()
    msg = f"{what}: Swift {status}" + (f": {detail}" if detail else "")
    if status == 404 or (status == 400 and kind == "version"):
        # Swift answers 400 to a version id in a never-versioned container, or to a malformed one.
        return base.NotFound(msg, kind=kind)
    if status in (401, 403):
        return base.Forbidden(msg)
    if status == 409:
        return base.Conflict(msg)
    if status == 412:
        return base.PreconditionFailed(msg)
    if status == 422:
        return base.ChecksumMismatch(msg)
    if status == 413:
        return base.QuotaExceeded(msg) if b"quota" in body.lower() else base.InvalidInput(msg)
    if status == 507:
        return base.QuotaExceeded(msg)
    if status >= 500 or status == 499:
        return base.Unavailable(msg)
    return base.InvalidInput(msg)


# ---- the client -----------------------------------------------------------------------------------------
class SwiftClient:
    """Requests to Swift on one shared session; the caller supplies the token source per call."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout: float = 30.0,
                 connect_timeout: float = 5.0, retries: int = 1) -> None:
        self.session = session
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self._timeout_cache: dict[tuple[float, float, bool, bool], aiohttp.ClientTimeout] = {}

    def _timeouts(self, streaming: bool, uploading: bool = False) -> aiohttp.ClientTimeout:
        # A streamed body has no total deadline (5 GiB takes a while); every socket read still does.
        # aiohttp starts the read timer when the request starts, so an upload longer than the read
        # timeout would fail: uploads are guarded by a stall deadline on body progress instead.
        # Made once per (timeouts, kind): every request used to build its own (an attrs object).
        key = (self.timeout, self.connect_timeout, streaming, uploading)
        made = self._timeout_cache.get(key)
        if made is None:
            made = self._timeout_cache[key] = aiohttp.ClientTimeout(
                total=None if streaming or uploading else self.timeout + self.connect_timeout,
                connect=None, sock_connect=self.connect_timeout, sock_read=None if uploading else self.timeout)
        return made

    async def _send(self, method: str, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        """session.request, with a streamed request body watched for stalls: the exchange fails when
        no body chunk moved (and, after the last one, no answer came) for `timeout` seconds."""
        data = kwargs.get("data")
        if data is None or isinstance(data, bytes | bytearray):
            return await self.session.request(method, url, **kwargs)
        last = [time.monotonic()]

        async def tracked() -> AsyncIterator[bytes]:
            async for chunk in data:
                last[0] = time.monotonic()
                yield chunk
            last[0] = time.monotonic()

        task = asyncio.ensure_future(self.session.request(method, url, **{**kwargs, "data": tracked()}))
        try:
            while True:
                remaining = last[0] + self.timeout - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                done, _ = await asyncio.wait({task}, timeout=remaining)
                if done:
                    return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    @contextlib.asynccontextmanager
    async def raw(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                  data: Any = None, idempotent: bool = False, streaming: bool = False,
                  expect100: bool = False) -> AsyncIterator[aiohttp.ClientResponse]:
        """One HTTP exchange with transport errors mapped to Unavailable and safe retries."""
        replayable = data is None or isinstance(data, bytes | bytearray)
        attempts = 1 + (self.retries if idempotent and replayable else 0)
        for attempt in range(attempts):
            try:
                uploading = data is not None and not isinstance(data, bytes | bytearray)
                resp = await self._send(
                    method, aiohttp.client.URL(url, encoded=True), headers=headers, data=data,
                    timeout=self._timeouts(streaming, uploading), allow_redirects=False,
                    expect100=expect100, auto_decompress=False)
            except RETRY_ERRORS as e:
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.05 * (attempt + 1))
                    continue
                raise base.Unavailable(f"Swift unreachable: {type(e).__name__}: {e}") from None
            except TRANSPORT_ERRORS as e:
                raise base.Unavailable(f"Swift did not answer: {type(e).__name__}: {e}") from None
            try:
                yield resp
            except TRANSPORT_ERRORS as e:  # reading the body failed half way
                resp.close()
                raise base.Unavailable(f"Swift connection failed: {type(e).__name__}: {e}") from None
            finally:
                resp.release()
            return

    async def call(self, auth: TokenSource, method: str, container: str | None = None, obj: str | None = None,
                   *, query: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None, data: Any = None, kind: str = "",
                   ok: Iterable[int] = (), idempotent: bool | None = None) -> Reply:
        """A request whose answer is small: read whole. Non-2xx statuses not in `ok` raise neutral errors."""
        async with self.open(auth, method, container, obj, query=query, headers=headers, data=data,
                             kind=kind, ok=ok, idempotent=idempotent) as resp:
            body = await resp.read()
            return Reply(resp.status, resp.headers, body)

    @contextlib.asynccontextmanager
    async def open(self, auth: TokenSource, method: str, container: str | None = None, obj: str | None = None,
                   *, query: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None, data: Any = None, kind: str = "",
                   ok: Iterable[int] = (), idempotent: bool | None = None,
                   streaming: bool = False) -> AsyncIterator[aiohttp.ClientResponse]:
        """A request whose response body the caller reads (or streams) itself; errors raised as for call."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "DELETE", "PUT", "POST") and not (
                method == "PUT" and obj is not None and not isinstance(data, bytes | bytearray | None))
        path = ""
        if container is not None:
            path += "/" + quote_container(container)
        if obj is not None:
            path += "/" + quote_object(obj)
        qs = urllib.parse.urlencode(list(query.items()) if isinstance(query, Mapping) else list(query),
                                    quote_via=urllib.parse.quote) if query else ""
        streamed = data is not None and not isinstance(data, bytes | bytearray)
        token = await auth.get(self)
        what = f"{method} {container or ''}{'/' + obj if obj is not None else ''}"
        ok = tuple(ok)
        for attempt in (0, 1):
            hdrs = {**(headers or {}), "X-Auth-Token": token.token}
            url = token.storage_url + path + ("?" + qs if qs else "")
            # A streamed body can't be replayed: unless the token is known good, ask Swift to refuse
            # (401, 412...) before we send any of it.
            expect100 = streamed and not auth.vouched(token)
            async with self.raw(method, url, headers=hdrs, data=data, idempotent=idempotent,
                                streaming=streaming, expect100=expect100) as resp:
                if resp.status == 401 and attempt == 0:
                    token = await auth.get(self, stale=token)
                    if streamed and not expect100:  # part of the body may be gone: the client retries
                        raise base.Unavailable(f"{what}: Swift refused a token during an upload; renewed")
                    continue
                if resp.status != 401:
                    auth.vouch(token)
                if resp.status // 100 != 2 and resp.status not in ok:
                    body = b"" if method == "HEAD" else await resp.content.read(4096)
                    raise error_for(resp.status, body, kind or _kind(container, obj), what)
                yield resp
                return
        raise base.Forbidden(f"{what}: Swift refused a fresh token")  # pragma: no cover - 401 twice


def _kind(container: str | None, obj: str | None) -> str:
    return "object" if obj is not None else "container" if container is not None else "account"


async def iter_body(cm: contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse],
                    resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Yield a response body as it arrives. Closing the generator early drops the connection."""
    done = False
    try:
        async for chunk in resp.content.iter_chunked(CHUNK):
            yield chunk
        done = True
    except TRANSPORT_ERRORS as e:
        raise base.Unavailable(f"Swift connection failed while streaming: {type(e).__name__}: {e}") from None
    finally:
        if not done:
            resp.close()  # unread bytes left: the connection can't be reused
        await cm.__aexit__(None, None, None)


class CountedBody:
    """The body as an async iterator that counts bytes and refuses to send more or fewer than declared."""

    def __init__(self, body: AsyncIterable[bytes], size: int | None) -> None:
        self.body, self.size, self.count = body, size, 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def small_or_stream(self, stall: float) -> bytes | CountedBody:
        """What to send: the whole body as bytes when it is no bigger than one streamed chunk (held
        whole, it costs no more memory, and bytes can be replayed after a dropped keep-alive connection
        or a renewed token, without Expect: 100-continue), else this stream. `stall`: the deadline for
        reading a small body, as a stream has between chunks."""
        if self.size == 0:
            return b""
        if self.size is None or self.size > CHUNK:
            return self
        try:
            async with asyncio.timeout(stall):
                return b"".join([chunk async for chunk in self])
        except TimeoutError:
            raise base.Unavailable(f"the request body stalled for {stall} s") from None

    async def _gen(self) -> AsyncIterator[bytes]:
        async for chunk in self.body:
            if not chunk:
                continue
            self.count += len(chunk)
            if self.size is not None and self.count > self.size:
                raise base.InvalidInput(f"body longer than its declared size {self.size}")
            yield bytes(chunk)
        if self.size is not None and self.count != self.size:
            raise base.InvalidInput(f"body shorter than its declared size {self.size}")
