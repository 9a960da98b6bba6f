"""Raw HTTP/1.1 on a socket (framing errors need bytes no client library will send) and the verdict on
each answer: an AWS-shaped 4xx (or 503), never a 5xx, never a hang."""

from __future__ import annotations

import asyncio
import contextlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from gateway.protocol import errors

# Every code the gateway may answer (one class per code in gateway/protocol/errors.py).
KNOWN_CODES = frozenset(c.code for c in vars(errors).values()
                        if isinstance(c, type) and issubclass(c, errors.AwsError))
MAX_RESPONSE = 8 << 20


@dataclass
class RawRequest:
    method: str
    target: str                              # path?query, already encoded
    headers: list[tuple[str, str | bytes]]   # in order, duplicates allowed
    body: bytes = b""
    kind: str = ""                           # the corruption family, for the histogram
    note: str = ""                           # what was done, for a failure message
    framing: bool = False                    # True: Content-Length/Transfer-Encoding are the test's own
    tail: bytes = b""                        # raw bytes sent after the head and body (framing tests)

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1".encode("latin-1", "replace")]
        names = {n.lower() for n, _ in self.headers}
        headers = list(self.headers)
        if not self.framing and "content-length" not in names and "transfer-encoding" not in names:
            headers.append(("Content-Length", str(len(self.body))))
        if "connection" not in names:
            headers.append(("Connection", "close"))
        for name, value in headers:
            raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
            lines.append(name.encode("latin-1", "replace") + b": " + raw)
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body + self.tail


@dataclass
class Answer:
    status: int                 # 0: no answer (connection closed / timed out)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""             # why there is no answer

    @property
    def code(self) -> str | None:
        return error_code(self.body)


def error_code(body: bytes) -> str | None:
    """The AWS error code of an EC2 (`Response/Errors/Error/Code`), S3 (`Error/Code`) or query-protocol
    (`ErrorResponse/Error/Code`, namespaced) error document."""
    if not body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    tag = re.sub(r"^\{.*\}", "", root.tag)
    if tag == "Error":
        node = root.find("Code")
    elif tag == "Response":
        node = root.find("Errors/Error/Code")
    elif tag == "ErrorResponse":  # the query protocol's (STS, IAM: a request whose credential names them)
        node = next((e for e in root.iter() if re.sub(r"^\{.*\}", "", e.tag) == "Code"), None)
    else:
        return None
    return node.text if node is not None else None


async def exchange(host: str, port: int, request: RawRequest, timeout: float = 20.0,
                   *, sink: bool = False) -> Answer:
    """Send the request, read one response (by its Content-Length / chunking, or to EOF)."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            try:
                with contextlib.suppress(ConnectionError):  # the server may answer before it all arrives
                    writer.write(request.encode())
                    await writer.drain()
                return await _read_answer(reader, request.method)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
    except TimeoutError:
        return Answer(0, error="timeout")
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
        return Answer(0, error=f"{type(e).__name__}: {e}")


async def _read_answer(reader: asyncio.StreamReader, method: str) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 1"):  # interim (100 Continue): the answer follows
        head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Answer(status, headers)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                break
            parts.append(await reader.readexactly(size + 2))
            if sum(map(len, parts)) > MAX_RESPONSE:
                break
        return Answer(status, headers, b"".join(p[:-2] for p in parts))
    if "content-length" in headers:
        n = int(headers["content-length"])
        return Answer(status, headers, await reader.readexactly(min(n, MAX_RESPONSE)))
    return Answer(status, headers, await reader.read(MAX_RESPONSE))


def verdict(req: RawRequest, ans: Answer) -> str | None:
    """None when the answer passes; else why not. Pass = AWS-shaped error with a known code (or a
    success), no 5xx but 503 ServiceUnavailable/SlowDown, an answer at all."""
    if ans.status == 0:
        return f"no answer ({ans.error})"
    if ans.status >= 500 and not (ans.status == 503 and ans.code in ("ServiceUnavailable", "SlowDown")) \
            and not (ans.status == 501 and (ans.code == "NotImplemented" or req.method == "HEAD")):
        # 501 NotImplemented is S3's own answer for a feature the endpoint lacks (a HEAD has no body)
        return f"HTTP {ans.status} {ans.code or ans.body[:120]!r}"
    if ans.status >= 400 and req.method != "HEAD" and ans.body:
        code = ans.code
        if code is None:  # framing errors aiohttp refuses are answered in the AWS envelope too (gateway/framing.py)
            return f"HTTP {ans.status} body is no AWS error document: {ans.body[:120]!r}"
        if code not in KNOWN_CODES:
            return f"HTTP {ans.status} unknown error code {code!r}"
    return None


def label(req: RawRequest, ans: Answer) -> str:
    """Histogram key: status and code."""
    if ans.status == 0:
        return f"none:{ans.error.split(':')[0]}"
    if ans.status < 400:
        return str(ans.status)
    return f"{ans.status} {ans.code or ('-' if req.method == 'HEAD' or not ans.body else '(not AWS)')}"
