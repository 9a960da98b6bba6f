"""The CloudStack API client: one aiohttp session per backend, signed calls per caller, paging, async jobs.

* `Transport` owns the session and the per-call deadline. A parameter string longer than
  `post_threshold` (userdata, long key material) goes as a POST form, as CloudStack allows, never in a URL.
* `CloudStackClient` is one caller's keys over a transport: `call` (one command), `list` (every page via
  `page`/`pagesize` until `count` items are read), `submit` (start an async command, return its answer with
  `jobid` at once), `wait` (poll `queryAsyncJobResult` with back-off until the job ends or the job
  deadline passes: then `Unavailable`), `run` = submit + wait, for mutations that must finish before the
  gateway answers.
* Errors become neutral backend errors through `errors.error_for` (the one table).

Secrets and signatures are never logged or put in exceptions; observers see (command, HTTP status).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from backends import base

from . import signing
from .errors import error_for

Params = Mapping[str, Any]


def flatten(params: Params) -> dict[str, str]:
    """Python values as CloudStack parameters: bools as true/false, lists comma-joined, lists of dicts as
    `name[i].key=value` (tags, usersecuritygrouplist, details); None and empty values dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        key = key.lower()
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            out[key] = str(value)
        elif isinstance(value, Mapping):
            for name, v in value.items():
                out[f"{key}[0].{name}"] = str(v)
        elif isinstance(value, list | tuple):
            if not value:
                continue
            if isinstance(value[0], Mapping):
                for i, item in enumerate(value):
                    for name, v in item.items():
                        out[f"{key}[{i}].{name}"] = str(v)
            else:
                out[key] = ",".join(str(v) for v in value)
        else:
            raise TypeError(f"cannot send {type(value).__name__} as parameter {key}")
    return out


def unwrap(data: Any) -> dict[str, Any]:
    """`{"<command>response": {...}}` → the inner object (empty lists arrive as `{}`)."""
    if isinstance(data, dict) and len(data) == 1:
        inner = next(iter(data.values()))
        if isinstance(inner, dict):
            return inner
    if isinstance(data, dict):
        return data
    raise base.Unavailable("CloudStack answered something that is not a JSON object")


class Transport:
    def __init__(self, endpoint: str, *, timeout: float = 30.0, connect_timeout: float = 5.0,
                 post_threshold: int = 2048) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.post_threshold = post_threshold
        self.observers: list[Callable[[str, int], None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.connect_timeout),
                connector=aiohttp.TCPConnector(limit=100))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, params: dict[str, str]) -> tuple[int, Any]:
        """Send signed parameters; (HTTP status, parsed JSON). Unavailable when the cloud is unreachable,
        slow past the deadline, or answers something that is not JSON."""
        if self._session is None or self._session.closed:
            await self.start()
        assert self._session is not None
        command = params.get("command", "")
        body = urlencode(params, quote_via=lambda s, *_: signing.encode(s))
        try:
            if len(body) > self.post_threshold:
                ctx = self._session.post(self.endpoint, data=body.encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            else:
                ctx = self._session.get(f"{self.endpoint}?{body}")
            async with ctx as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise base.Unavailable(f"CloudStack did not answer {command} ({type(e).__name__})") from None
        for observe in self.observers:
            observe(command, status)
        try:
            return status, json.loads(text) if text else {}
        except ValueError:
            raise base.Unavailable(f"CloudStack answered {command} with HTTP {status} and no JSON") from None


class CloudStackClient:
    """One caller's CloudStack keys on a shared transport."""

    def __init__(self, transport: Transport, api_key: str, secret: str, *, job_deadline: float = 60.0,
                 page_size: int = 500, poll_min: float = 0.05, poll_max: float = 1.0,
                 expires_in: float = 600.0) -> None:
        self.transport = transport
        self.api_key = api_key
        self._secret = secret
        self.job_deadline = job_deadline
        self.page_size = page_size
        self.poll_min, self.poll_max = poll_min, poll_max
        self.expires_in = expires_in

    def __repr__(self) -> str:  # never the secret
        return f"CloudStackClient({self.transport.endpoint}, {self.api_key[:6]}…)"

    async def call(self, command: str, params: Params | None = None, *, kind: str = "") -> dict[str, Any]:
        """One command; its inner response object. `kind` names the resource acted on (NotFound's kind)."""
        flat = flatten({**(params or {}), "command": command})
        status, data = await self.transport.send(signing.signed(flat, self.api_key, self._secret,
                                                                expires_in=self.expires_in))
        inner = unwrap(data)
        if status != 200 or "errorcode" in inner:
            raise error_for(inner.get("errorcode") or status, inner.get("cserrorcode"),
                            str(inner.get("errortext") or ""), kind)
        return inner

    async def list(self, command: str, item: str, params: Params | None = None, *,
                   kind: str = "") -> list[dict[str, Any]]:
        """Every item of a list command, page by page until `count` are read (or a short page)."""
        items: list[dict[str, Any]] = []
        for page in range(1, 10_000):
            inner = await self.call(command, {**(params or {}), "page": page, "pagesize": self.page_size},
                                    kind=kind)
            got = inner.get(item) or []
            items.extend(got)
            count = int(inner.get("count") or 0)
            if not got or len(items) >= count or len(got) < self.page_size:
                break
        return items

    async def submit(self, command: str, params: Params | None = None, *, kind: str = "") -> dict[str, Any]:
        """Start an async command: its immediate answer (`jobid`, often the new resource's `id`)."""
        inner = await self.call(command, params, kind=kind)
        if not inner.get("jobid"):
            raise base.Unavailable(f"CloudStack answered {command} without a job id")
        return inner

    async def wait(self, jobid: str, *, kind: str = "", deadline: float | None = None) -> dict[str, Any]:
        """The result of a job, polled with back-off; the job's error mapped; Unavailable at the deadline
        (the job may still finish later: the next Describe shows it)."""
        end = time.monotonic() + (self.job_deadline if deadline is None else deadline)
        delay = self.poll_min
        while True:
            inner = await self.call("queryAsyncJobResult", {"jobid": jobid})
            status = int(inner.get("jobstatus") or 0)
            result = inner.get("jobresult") or {}
            if status == 1:
                return result if isinstance(result, dict) else {}
            if status == 2:
                result = result if isinstance(result, dict) else {}
                raise error_for(result.get("errorcode") or inner.get("jobresultcode") or 530,
                                result.get("cserrorcode"), str(result.get("errortext") or ""), kind)
            left = end - time.monotonic()
            if left <= 0:
                raise base.Unavailable(f"CloudStack job {jobid} did not finish in time")
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, self.poll_max)

    async def run(self, command: str, params: Params | None = None, *, kind: str = "") -> dict[str, Any]:
        """An async command that must finish before we answer: its job result."""
        started = await self.submit(command, params, kind=kind)
        return await self.wait(str(started["jobid"]), kind=kind)
