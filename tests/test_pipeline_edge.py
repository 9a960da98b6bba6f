"""The pipeline at the HTTP edge, over real sockets (issue 16): a client that hangs up mid-body is no
server error, broken HTTP framing is one log line without a traceback, a bad Expect header gets an
AWS-shaped 400 instead of aiohttp's plain-text 500."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from aiohttp.http_exceptions import TransferEncodingError

from gateway.registry import Registry

from .server import in_process

CHUNK = 64 * 1024
CHUNKS = 4096  # 256 MiB at most: far more than the socket buffers hold, bounded all the same
closed_sources: list[int] = []  # stream bodies whose aclose ran (the source is released)


async def _big_body():
    sent = 0
    try:
        for _ in range(CHUNKS):
            yield b"x" * CHUNK
            sent += CHUNK
            await asyncio.sleep(0)
    finally:
        closed_sources.append(sent)


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry()

    @reg.register("s3", "GetObject", anonymous=True)
    async def get_object(ctx):
        return {"Body": _big_body(), "ContentLength": CHUNK * CHUNKS}

    @reg.register("s3", "HeadObject", anonymous=True)
    async def head_object(ctx):
        await asyncio.sleep(0.5)  # the client is gone by now
        return {"ContentLength": 1}

    @reg.register("s3", "PutObject", anonymous=True)
    async def put_object(ctx):
        if ctx.params["Key"] == "broken-framing":
            raise TransferEncodingError("Not enough data to satisfy transfer length header.")
        size = 0
        async for chunk in ctx.body:
            size += len(chunk)
        return {"ETag": f'"{size}"'}

    return reg


@pytest.fixture(scope="module")
def endpoint(registry) -> Iterator[str]:
    with in_process(registry=registry) as ep:
        yield ep


def _raw(endpoint: str, data: bytes, *, read: int = 65536, timeout: float = 10.0) -> bytes:
    """Send raw bytes, return what the server answers (until it closes or `read` bytes arrived)."""
    url = urlsplit(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while len(out) < read:
            part = s.recv(65536)
            if not part:
                break
            out += part
            if b"\r\n\r\n" in out and _complete(out):
                break
        return out


def _complete(resp: bytes) -> bool:
    head, _, body = resp.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length: *(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def _wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _access(caplog, path: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "cloudgate.access" and getattr(r, "fields", {}).get("path") == path]


def _metrics(endpoint: str) -> str:
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
        return r.read().decode()


# ---- issue 16: a client that hangs up mid-body -------------------------------------------------------
def test_client_closing_mid_body_is_logged_as_client_closed_and_counted_499(endpoint, caplog):
    caplog.set_level(logging.INFO)
    closed_sources.clear()
    url = urlsplit(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(b"GET /bucket/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = 0
        while received < 1 << 20:  # read 1 MiB of the 256 MiB, then hang up with more unread
            part = s.recv(65536)
            assert part, "server closed first"
            received += len(part)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a RST
    _wait_for(lambda: _access(caplog, "/bucket/big"))
    access = _access(caplog, "/bucket/big")[-1].fields
    assert access["status"] == 499
    assert 0 < access["bytes_sent"] < CHUNK * CHUNKS
    closed = [r for r in caplog.records if r.getMessage() == "client closed"]
    assert len(closed) == 1 and closed[0].levelno == logging.INFO and closed[0].exc_info is None
    assert closed[0].fields["bytes_sent"] == access["bytes_sent"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert closed_sources and closed_sources[-1] < CHUNK * CHUNKS  # the source was released early
    metrics = _metrics(endpoint)
    assert 'service="s3",operation="GetObject",status="499"} 1' in metrics
    assert 'status="500"' not in metrics


def test_client_gone_before_the_answer_is_499_not_200(endpoint, caplog):
    caplog.set_level(logging.INFO)
    url = urlsplit(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(b"HEAD /bucket/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.1)
    _wait_for(lambda: _access(caplog, "/bucket/slow"))
    assert _access(caplog, "/bucket/slow")[-1].fields["status"] == 499
    assert [r.levelno for r in caplog.records if r.getMessage() == "client closed"] == [logging.INFO]


def test_a_complete_streamed_get_still_counts_200_with_its_bytes(endpoint, caplog):
    caplog.set_level(logging.INFO)
    with urllib.request.urlopen(endpoint + "/bucket/whole", timeout=60) as r:
        assert r.status == 200
        size = sum(len(b) for b in iter(lambda: r.read(1 << 20), b""))
    assert size == CHUNK * CHUNKS
    _wait_for(lambda: _access(caplog, "/bucket/whole"))
    access = _access(caplog, "/bucket/whole")[-1].fields
    assert (access["status"], access["bytes_sent"]) == (200, CHUNK * CHUNKS)


# ---- issue 16: malformed framing ---------------------------------------------------------------------
def test_malformed_request_head_is_one_warning_line_without_traceback(endpoint, caplog):
    caplog.set_level(logging.INFO)
    answer = _raw(endpoint, b"GET /bucket HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon in this line\r\n\r\n")
    assert answer.split(b" ", 2)[1] == b"400"  # aiohttp's own answer: the request never reached us
    _wait_for(lambda: any(r.getMessage() == "bad http framing" for r in caplog.records))
    framing = [r for r in caplog.records if r.getMessage() == "bad http framing"]
    assert framing[0].levelno == logging.WARNING and framing[0].exc_info is None
    assert "\n" not in framing[0].fields["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_malformed_chunked_body_is_refused_without_traceback(endpoint, caplog):
    caplog.set_level(logging.INFO)
    answer = _raw(endpoint, b"PUT /bucket/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\nzz-not-a-size\r\n")
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    _wait_for(lambda: any(r.getMessage() == "bad http framing" for r in caplog.records))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_framing_error_met_while_reading_the_body_is_an_aws_400(endpoint, caplog):
    """aiohttp's pure-Python parser fails the body stream with TransferEncodingError mid-read: the
    handler sees it, the pipeline answers the front end's 400 with one info line."""
    caplog.set_level(logging.INFO)
    answer = _raw(endpoint, b"PUT /bucket/broken-framing HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"<Code>InvalidRequest</Code>" in body
    framing = [r for r in caplog.records if r.getMessage() == "bad http framing"]
    assert framing and framing[0].levelno == logging.INFO and framing[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# ---- issue 16: Expect with non-ASCII bytes -----------------------------------------------------------
@pytest.mark.parametrize("expect", [b"\xff\xfe-continue", b"100-continu\xc3\xa9", b"something-else"])
def test_unsupported_expect_is_an_aws_shaped_400(endpoint, caplog, expect):
    caplog.set_level(logging.INFO)
    answer = _raw(endpoint, b"PUT /bucket/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: " + expect +
                  b"\r\nContent-Length: 0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"x-amz-request-id:" in head.lower()
    assert b"<Code>InvalidRequest</Code>" in body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_expect_100_continue_still_gets_the_interim_response(endpoint):
    answer = _raw(endpoint, b"PUT /bucket/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                            b"Content-Length: 5\r\n\r\n", read=25)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")




def test_server_log_keeps_the_traceback_of_anything_but_framing(caplog):
    from aiohttp.http_exceptions import BadHttpMessage

    from gateway.logs import HTTP_SERVER_LOG

    caplog.set_level(logging.INFO)
    try:
        raise RuntimeError("a real bug")
    except RuntimeError as exc:
        HTTP_SERVER_LOG.exception("Error handling request from %s", "unit-test", exc_info=exc)
    HTTP_SERVER_LOG.exception("Error handling request from %s", "unit-test",
                              exc_info=BadHttpMessage("Invalid header value char:\n\n  b'Authorization: AWS4-...'"))
    bug, framing = [r for r in caplog.records if "unit-test" in (*r.args, *getattr(r, "fields", {}).values())]
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
    assert framing.levelno == logging.WARNING and framing.exc_info is None
    assert framing.fields == {"remote": "unit-test", "status": 400,
                              "error": "BadHttpMessage: Invalid header value char"}
