"""Abuse matrix without a cloud: a gateway on static credentials and no backend (an authenticated request
answers EC2 `Unsupported` / S3 `NotImplemented`, so whatever answers before that is authentication's or the
HTTP layer's doing). Wrong secret, region, service; expired and future dates; presigned URLs replayed after
expiry; SigV2 switched off; request smuggling; oversized heads; slow clients; and regression tests for the
bugs the fuzzer found. Exact AWS codes and statuses throughout."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.config import parse_config
from tests.fuzz.wire import Answer, RawRequest, exchange
from tests.server import AK, BASE_CONFIG, SK, in_process, subprocess_server

REGION = "us-east-1"
NOW = dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def gateway(**sections: Any) -> Iterator[tuple[str, int]]:
    cfg = dict(BASE_CONFIG)
    for name, values in sections.items():
        cfg[name] = {**cfg.get(name, {}), **values}
    with in_process(parse_config(cfg, "tests/test_abuse.py")) as endpoint:
        host, port = endpoint.split("//", 1)[1].split(":")
        yield host, int(port)


@pytest.fixture(scope="module")
def gw() -> Iterator[tuple[str, int]]:
    with gateway(limits={"body_idle_timeout_seconds": 1}) as hp:
        yield hp


def sign(gw: tuple[str, int], service: str, method: str, path: str, *, query: str = "", body: bytes = b"",
         headers: dict[str, str] | None = None, secret: str = SK, region: str = REGION, scope_service: str = "",
         when: dt.datetime | None = None, scheme: str = "v4", expires: int = 300) -> RawRequest:
    """A request signed by botocore (at `when`, for `scope_service`/`region`), as raw bytes to send."""
    host, port = gw
    url = f"http://{host}:{port}{path}" + (f"?{query}" if query else "")
    data: Any = dict(urllib.parse.parse_qsl(body.decode())) if scheme == "v2" else body
    req = AWSRequest(method=method, url=url, data=data, headers=dict(headers or {}))
    creds = Credentials(AK, secret)
    svc = scope_service or service
    signer: Any = {
        ("s3", "v4"): lambda: S3SigV4Auth(creds, svc, region),
        ("ec2", "v4"): lambda: SigV4Auth(creds, svc, region),
        ("s3", "v4q"): lambda: S3SigV4QueryAuth(creds, svc, region, expires=expires),
        ("ec2", "v4q"): lambda: SigV4QueryAuth(creds, svc, region, expires=expires),
        ("s3", "v2q"): lambda: HmacV1QueryAuth(creds, expires=expires),
        ("ec2", "v2"): lambda: SigV2Auth(creds),
    }[(service, scheme)]()
    with mock.patch("botocore.auth.get_current_datetime", return_value=(when or dt.datetime.now(dt.UTC)
                                                                          ).replace(tzinfo=None)):
        signer.add_auth(req)
    if scheme == "v2":
        body = "&".join(f"{k}={urllib.parse.quote(str(v), safe='-_.~')}" for k, v in req.data.items()).encode()
    target = req.url.split(f"{host}:{port}", 1)[1]
    out = [("Host", f"{host}:{port}")] + [(k, v) for k, v in req.headers.items() if k.lower() != "host"]
    return RawRequest(method, target, out, body)


def send(gw: tuple[str, int], req: RawRequest, timeout: float = 15) -> Answer:
    return asyncio.run(exchange(gw[0], gw[1], req, timeout))


def ec2_form(action: str = "DescribeInstances", **params: str) -> bytes:
    from urllib.parse import urlencode
    return urlencode({"Action": action, "Version": "2016-11-15", **params}).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def s3(gw, **kw) -> RawRequest:
    return sign(gw, "s3", "GET", "/some-bucket", query="list-type=2", **kw)


def ec2(gw, **kw) -> RawRequest:
    return sign(gw, "ec2", "POST", "/", body=ec2_form(), headers=FORM, **kw)


# ---- the baseline: a correct signature gets through authentication --------------------------------------

def test_correctly_signed_requests_pass_authentication(gw) -> None:
    assert (send(gw, s3(gw)).code, send(gw, s3(gw)).status) == ("NotImplemented", 501)
    assert (send(gw, ec2(gw)).code, send(gw, ec2(gw)).status) == ("Unsupported", 400)


# ---- authentication matrix ------------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "kwargs", "s3_expected", "ec2_expected"), [
    ("wrong secret", {"secret": "not-the-secret"}, ("SignatureDoesNotMatch", 403), ("AuthFailure", 401)),
    ("wrong region", {"region": "eu-west-1"}, ("AuthorizationHeaderMalformed", 400), ("AuthFailure", 401)),
    ("wrong service", {"scope_service": "sqs"}, ("AuthorizationHeaderMalformed", 400), ("AuthFailure", 401)),
    ("expired date", {"when": NOW - dt.timedelta(minutes=20)}, ("RequestTimeTooSkewed", 403),
     ("RequestExpired", 400)),
    ("future date", {"when": NOW + dt.timedelta(minutes=20)}, ("RequestTimeTooSkewed", 403),
     ("RequestExpired", 400)),
])
def test_authentication_matrix(gw, case: str, kwargs: dict, s3_expected, ec2_expected) -> None:
    a = send(gw, s3(gw, **kwargs))
    assert (a.code, a.status) == s3_expected, (case, a.body[:300])
    e = send(gw, ec2(gw, **kwargs))
    assert (e.code, e.status) == ec2_expected, (case, e.body[:300])


def test_unknown_access_key(gw) -> None:
    req = s3(gw)
    req.headers = [(k, v.replace(AK, "AKIDNOSUCHKEY") if k == "Authorization" else v) for k, v in req.headers]
    assert (send(gw, req).code, send(gw, req).status) == ("InvalidAccessKeyId", 403)


def test_presigned_url_replayed_after_expiry_is_refused(gw) -> None:
    fresh = sign(gw, "s3", "GET", "/some-bucket", query="list-type=2", scheme="v4q", expires=60)
    assert (send(gw, fresh).code, send(gw, fresh).status) == ("NotImplemented", 501)  # valid, twice
    stale = sign(gw, "s3", "GET", "/some-bucket", query="list-type=2", scheme="v4q", expires=60,
                 when=NOW - dt.timedelta(seconds=61))
    a = send(gw, stale)
    assert (a.code, a.status) == ("AccessDenied", 403)
    assert b"Request has expired" in a.body
    ec2_stale = sign(gw, "ec2", "GET", "/", query=ec2_form().decode(), scheme="v4q", expires=60,
                     when=NOW - dt.timedelta(seconds=61))
    e = send(gw, ec2_stale)
    assert (e.code, e.status) == ("RequestExpired", 400)


def test_sigv2_works_when_enabled_and_is_refused_when_disabled(gw) -> None:
    v2_s3 = sign(gw, "s3", "GET", "/some-bucket", query="list-type=2", scheme="v2q")
    v2_ec2 = sign(gw, "ec2", "POST", "/", body=ec2_form(), headers=FORM, scheme="v2")
    assert (send(gw, v2_s3).code, send(gw, v2_ec2).code) == ("NotImplemented", "Unsupported")
    with gateway(auth={"signature_v2": False}) as off:
        a = send(off, sign(off, "s3", "GET", "/some-bucket", query="list-type=2", scheme="v2q"))
        assert (a.code, a.status) == ("InvalidRequest", 400)
        e = send(off, sign(off, "ec2", "POST", "/", body=ec2_form(), headers=FORM, scheme="v2"))
        assert (e.code, e.status) == ("AuthFailure", 401)
        v4 = send(off, s3(off))
        assert (v4.code, v4.status) == ("NotImplemented", 501)  # SigV4 unaffected


# ---- regression tests for what the fuzzer found ------------------------------------------------------------

@pytest.mark.parametrize("value", ["100%", "a%2Fb", "%25", "50%+off"])
def test_query_values_with_percent_signs_verify(gw, value: str) -> None:
    """aiohttp's `query_string` decodes `%25` once already: signing, routing and parsing now read the raw
    query, so a value holding an encoded '%' is not decoded twice (was SignatureDoesNotMatch / AuthFailure)."""
    from urllib.parse import quote

    a = send(gw, sign(gw, "s3", "GET", "/some-bucket", query=f"list-type=2&prefix={quote(value, safe='')}"))
    assert (a.code, a.status) == ("NotImplemented", 501), a.body[:300]
    e = send(gw, sign(gw, "ec2", "GET", "/", query=ec2_form(**{"Filter.1.Name": "tag:x", "Filter.1.Value.1": value}
                                                              ).decode().replace("+", "%20")))
    assert (e.code, e.status) == ("Unsupported", 400), e.body[:300]


def test_error_echoing_control_characters_is_still_well_formed_xml(gw) -> None:
    """A bucket name with control characters is echoed in the error (BucketName): XML 1.0 cannot carry them,
    so they become U+FFFD instead of making the whole answer unparseable."""
    import xml.etree.ElementTree as ET

    req = sign(gw, "s3", "GET", "/bad%01%1bname", query="list-type=2")
    a = send(gw, req)
    assert (a.code, a.status) == ("InvalidBucketName", 400)
    assert ET.fromstring(a.body).findtext("BucketName") == "bad\ufffd\ufffdname"


def test_escape_replaces_what_xml_cannot_carry() -> None:
    from gateway.protocol.scalars import esc

    assert esc("a\x00b\x1fc\ud800d\uffffe") == "a\ufffdb\ufffdc\ufffdd\ufffde"
    assert esc("tab\tnew\nline é ☃") == "tab\tnew\nline é ☃"
    assert esc("<&>\r") == "&lt;&amp;&gt;&#xD;"


def test_xml_declaring_an_unknown_encoding_is_malformed_xml() -> None:
    from gateway.protocol import errors
    from gateway.protocol.rest_xml_parse import parse_xml

    with pytest.raises(errors.MalformedXML):
        parse_xml(b'<?xml version="1.0" encoding="EBCDIC"?><Tagging/>')


def test_sigv2_query_expires_beyond_year_9999_is_access_denied(gw) -> None:
    req = sign(gw, "s3", "GET", "/some-bucket", query="list-type=2", scheme="v2q")
    req.target = re.sub(r"Expires=\d+", "Expires=99999999999999999999", req.target)
    a = send(gw, req)
    assert (a.code, a.status) == ("AccessDenied", 403), a.body[:300]


# ---- HTTP framing: smuggling, oversized heads ------------------------------------------------------------------

def _raw(gw, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(gw, timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionError):
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _code(answer: bytes) -> tuple[int, str | None, str]:
    """(status, AWS error code, Content-Type) of one raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    ctype = re.search(rb"(?im)^content-type: *([^\r;]*)", head)
    code = re.search(rb"<Code>([^<]+)</Code>", body)
    return status, code and code.group(1).decode(), ctype.group(1).decode() if ctype else ""


def test_content_length_with_transfer_encoding_is_refused_and_smuggles_nothing(gw) -> None:
    host = f"{gw[0]}:{gw[1]}".encode()
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
    data = (b"POST / HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\n\r\n" + smuggled)
    answer = _raw(gw, data)
    assert _code(answer) == (400, "InvalidRequest", "text/xml")  # POST / is the EC2 query front end
    assert b"<Response><Errors><Error>" in answer
    assert len(re.findall(rb"HTTP/1\.[01] \d{3} ", answer)) == 1  # the smuggled request got no answer


@pytest.mark.parametrize(("what", "code"), [("header", "RequestHeaderSectionTooLarge"), ("uri", "InvalidURI"),
                                            ("header-count", "RequestHeaderSectionTooLarge")])
def test_oversized_heads_are_s3_errors(gw, what: str, code: str) -> None:
    host = f"{gw[0]}:{gw[1]}".encode()
    target, extra = b"/b", b""
    if what == "header":
        extra = b"X-Big: " + b"v" * 70000 + b"\r\n"
    elif what == "uri":
        target = b"/b?x=" + b"A" * 70000
    else:
        extra = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    answer = _raw(gw, b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra + b"Connection: close\r\n\r\n")
    assert _code(answer) == (400, code, "application/xml")  # aiohttp's parser refused it, in S3's envelope


@pytest.mark.parametrize("length", [b"abc", b"-1", b"5\r\nContent-Length: 7"])
def test_bad_content_length_is_an_aws_error_in_either_envelope(gw, length: bytes) -> None:
    host = f"{gw[0]}:{gw[1]}".encode()
    s3 = _raw(gw, b"PUT /b/k HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: " + length + b"\r\n\r\nhello")
    assert _code(s3) == (400, "BadRequest", "application/xml")
    ec2 = _raw(gw, b"POST /?Action=DescribeRegions HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: " + length
               + b"\r\n\r\nhello")
    assert _code(ec2) == (400, "InvalidRequest", "text/xml")
    assert b"<Response><Errors><Error>" in ec2


# ---- slow clients -----------------------------------------------------------------------------------------------

def test_a_body_that_stops_arriving_is_request_timeout(gw) -> None:
    """limits.body_idle_timeout_seconds (1 s here): S3 XML bodies and EC2 forms alike."""
    tagging = sign(gw, "s3", "PUT", "/some-bucket", query="tagging", body=b"<Tagging><TagSet/></Tagging>")
    tagging.framing = True
    tagging.headers.append(("Content-Length", "1000"))  # promises more than it sends
    a = send(gw, tagging)
    assert (a.code, a.status) == ("RequestTimeout", 400)
    form = ec2(gw)
    form.framing = True
    form.headers.append(("Content-Length", str(len(form.body) + 100)))
    e = send(gw, form)
    assert (e.code, e.status) == ("RequestTimeout", 400)


def test_slowloris_heads_are_cut_and_do_not_hold_the_gateway(tmp_path) -> None:
    """limits.header_timeout_seconds on the real `cloudgate serve`: 50 connections trickling a request head
    are closed by the deadline, and a normal request meanwhile answers at once."""
    with subprocess_server(tmp_path, {"limits": {"header_timeout_seconds": 2}}) as (endpoint, _proc):
        host, port = endpoint.split("//", 1)[1].split(":")
        socks = []
        for _ in range(50):
            s = socket.create_connection((host, int(port)), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        with urllib.request.urlopen(endpoint + "/healthz", timeout=5) as r:  # not starved
            assert r.status == 200
        started = time.monotonic()
        closed = 0
        for s in socks:
            with contextlib.suppress(OSError):  # trickle on; the server must hang up
                while time.monotonic() - started < 8:
                    s.sendall(b"X")
                    s.settimeout(0.3)
                    with contextlib.suppress(TimeoutError):
                        if s.recv(1024) == b"":
                            break
            closed += 1
            s.close()
        assert closed == 50
        assert time.monotonic() - started < 8
