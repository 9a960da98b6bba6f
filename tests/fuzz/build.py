"""Requests for every EC2 and S3 operation, built by botocore's own serializers from generated parameters
and signed with botocore's signers (valid credentials: the request reaches the codec, the handlers and the
backend), then corrupted one family at a time (`KINDS`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from botocore.auth import (
    HmacV1Auth,
    HmacV1QueryAuth,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV2Auth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ParamValidationError
from botocore.serialize import create_serializer

from gateway.protocol.models import service_model

from . import chunked, values
from .wire import RawRequest

SERIALIZERS = {"ec2": create_serializer("ec2", include_validation=False),
               "s3": create_serializer("rest-xml", include_validation=False)}
# Operations the fuzzer never sends with the shared bucket: they would end the run's own fixtures.
S3_SPARE_BUCKET_OPS = frozenset({"DeleteBucket", "CreateBucket"})


@dataclass
class Target:
    host: str
    port: int
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    bucket: str = ""        # S3: an existing bucket of this tenant, where most requests point

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key)


def operations(service: str) -> list[str]:
    return sorted(service_model(service).operation_names)


# ---- valid requests from the model -----------------------------------------------------------------

def params_for(service: str, op: str, rng: random.Random, target: Target, hostility: float) -> dict[str, Any]:
    shape = service_model(service).operation_model(op).input_shape
    if shape is None:
        return {}
    overrides: dict[str, Any] = {}
    if service == "s3" and "Bucket" in shape.members and rng.random() >= hostility:
        overrides["Bucket"] = (f"cg-fuzz-{rng.randrange(10**6)}" if op in S3_SPARE_BUCKET_OPS else target.bucket)
    if service == "s3" and "Key" in shape.members and rng.random() < 0.7:
        overrides["Key"] = rng.choice(("k", "dir/k", "a/../b", "a//b", "%2F", "..", "./x", "k" * 1024, "é/😀",
                                       "sp ace", "q?x=1", "#frag"))
    return values.structure(shape, rng, hostility, 0, overrides)


def serialize(service: str, op: str, params: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]], Any]:
    """(method, path, query pairs, body) as botocore would send them; EC2 bodies as form pairs."""
    model = service_model(service).operation_model(op)
    rd = SERIALIZERS[service].serialize_to_request(params, model)
    if service == "ec2":
        return rd["method"], "/", [], list(rd["body"].items())
    query = rd["query_string"]
    path, _, static = rd["url_path"].partition("?")  # the model's fixed sub-resource (`?tagging`, ...)
    pairs = [(k, v) for k, _, v in (p.partition("=") for p in static.split("&") if p)]
    pairs += list(query.items()) if isinstance(query, dict) else []
    headers = [(k, v) for k, v in rd["headers"].items() if k.lower() != "content-length"]
    return rd["method"], path, pairs, (headers, rd["body"] or b"")


def _encode_query(pairs: list[tuple[str, Any]]) -> str:
    """`k=v&...`; a sub-resource without a value (`?tagging`) stays bare, as botocore sends it."""
    return "&".join(quote(k, safe="-_.~") + ("" if v == "" and k.isalpha() and k.islower() else
                                            "=" + quote(v if isinstance(v, str | bytes) else str(v), safe="-_.~"))
                    for k, v in pairs)


def _to_bytes(body: Any) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    if body is None:
        return b""
    return body.read() if hasattr(body, "read") else bytes(body)


def sign(target: Target, service: str, method: str, path: str, query: str, headers: list[tuple[str, Any]],
         body: bytes, scheme: str = "v4", expires: int = 300) -> RawRequest:
    """A signed request; `scheme` v4 (header), v4q (presigned), v2 (S3 header / EC2 form), v2q, none."""
    if service == "ec2" and scheme in ("v4q", "v2"):  # the form travels in the query / as a dict
        query, body = body.decode("ascii", "replace"), b""
    url = f"http://{target.netloc}{quote(path, safe='/~%') if path else '/'}" + (f"?{query}" if query else "")
    data: Any = b"" if scheme == "v4q" else body
    if service == "ec2" and scheme == "v2":
        data, url = dict(parse_qsl(query, keep_blank_values=True)), url.split("?")[0]
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=data)
    creds = target.credentials
    if scheme == "v4":
        (S3SigV4Auth if service == "s3" else SigV4Auth)(creds, service, target.region).add_auth(req)
    elif scheme == "v4q":
        (S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth)(
            creds, service, target.region, expires=expires).add_auth(req)
    elif scheme == "v2":
        if service == "s3":
            HmacV1Auth(creds).add_auth(req)
        else:
            SigV2Auth(creds).add_auth(req)
            body = urlencode(list(req.data.items()), quote_via=quote).encode()
    elif scheme == "v2q":
        HmacV1QueryAuth(creds, expires=expires).add_auth(req)
    split = urlsplit(req.url)
    target_path = split.path + (f"?{split.query}" if split.query else "")
    out = [("Host", target.netloc)] + [(k, v) for k, v in req.headers.items() if k.lower() != "host"]
    if scheme == "v4" or (scheme == "v2" and service == "s3") or scheme == "v2q":
        body = _to_bytes(req.body)
    r = RawRequest(method, target_path or "/", out, body)
    # A request line or header past aiohttp's 8190-byte line limit is refused by the HTTP layer.
    r.framing = len(r.target) > 8000 or any(len(str(v)) > 8000 for _, v in out)
    return r


def valid(service: str, op: str, rng: random.Random, target: Target, hostility: float = 0.0,
          scheme: str = "v4") -> RawRequest:
    """A correctly signed request for `op`; falls back to tamer parameters when botocore can't serialize."""
    for h in (hostility, 0.0):
        try:
            params = params_for(service, op, rng, target, h)
            return _signed_params(service, op, params, target, scheme)
        except (TypeError, ValueError, AttributeError, KeyError, UnicodeError, ParamValidationError):
            if h == 0.0:
                raise
    raise AssertionError("unreachable")


def _signed_params(service: str, op: str, params: dict[str, Any], target: Target, scheme: str,
                   edit: Callable[[list[tuple[str, Any]]], list[tuple[str, Any]]] | None = None) -> RawRequest:
    method, path, query, body = serialize(service, op, params)
    if service == "ec2":
        pairs = edit(body) if edit else body
        form = _encode_query(pairs).encode()
        headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        return sign(target, service, method, "/", "", headers, form, scheme)
    headers, raw = body
    headers = [(k, _header_safe(v)) for k, v in headers]
    if edit:
        query = edit(query)
    return sign(target, service, method, path, _encode_query(query), headers, _to_bytes(raw), scheme)


def _header_safe(value: Any) -> str:
    """Values botocore put in headers, minus the control characters and lengths the HTTP parser refuses
    before any AWS handling (those belong to the framing family)."""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return "".join(c for c in text if c == "\t" or " " <= c != "\x7f")[:4000]


# ---- the corruption families --------------------------------------------------------------------------

def k_values(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    r = valid(service, op, rng, t, hostility=rng.choice((0.0, 0.2, 0.5)))
    r.kind, r.note = "values", f"{op} with generated values"
    return r


def k_query(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    """Duplicated keys, deep and sparse lists, unknown and invalid-UTF-8 parameters, floods."""
    trick = rng.choice(("dup", "sparse", "deep", "unknown", "utf8", "flood", "empty-name", "dup-action"))

    def edit(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        pairs = list(pairs)
        if trick == "dup" and pairs:
            pairs.append(rng.choice(pairs))
            pairs.append((pairs[-1][0], "other"))
        elif trick == "sparse":
            pairs.append((rng.choice(("InstanceId", "Filter", "TagSpecification", "x")) + ".99999", "v"))
            pairs.append(("Filter.1.Value.2147483648", "v"))
            pairs.append(("Filter.-1.Name", "v"))
        elif trick == "deep":
            pairs.append((".".join(["Filter", "1"] * 200), "v"))
        elif trick == "unknown":
            pairs.append(("NoSuchParam" + str(rng.randrange(99)), "v"))
        elif trick == "utf8":
            pairs.append((rng.choice([k for k, _ in pairs] or ["x"]), b"\xff\xfe"))
            pairs.append((b"\xc3\x28", "v"))
        elif trick == "flood":
            pairs.extend((f"Filter.{i}.Name", "instance-id") for i in range(1, 3000))
        elif trick == "empty-name":
            pairs.append(("", "v"))
            pairs.append(("=", "=="))
        elif trick == "dup-action":
            pairs.append(("Action", "TerminateInstances"))
        return pairs

    params = params_for(service, op, rng, t, 0.0)
    r = _signed_params(service, op, params, t, "v4", edit)
    r.kind, r.note = "query", f"{op} {trick}"
    return r


def k_sigv4(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    presigned = rng.random() < 0.4
    r = valid(service, op, rng, t, scheme="v4q" if presigned else "v4")
    field = (_corrupt_presigned if presigned else _corrupt_v4_header)(r, rng)
    r.kind, r.note = "sigv4", f"{op} {'presigned' if presigned else 'header'} {field}"
    return r


_V4_FIELD_VALUES = {
    "Credential": ("", "AKID", "AKID/20260101/us-east-1/s3", "/20260101/us-east-1/{svc}/aws4_request",
                   "{ak}/2026/us-east-1/{svc}/aws4_request", "{ak}/{date}/mars-1/{svc}/aws4_request",
                   "{ak}/{date}/us-east-1/iam/aws4_request", "{ak}/{date}/us-east-1/{svc}/aws5_request",
                   "{ak}/19700101/us-east-1/{svc}/aws4_request", "NOSUCHKEY/{date}/us-east-1/{svc}/aws4_request",
                   "{ak}/{date}/us-east-1/{svc}/aws4_request/extra", "\xff\xfe/{date}", values.BIG),
    "SignedHeaders": ("", ";", "host;;x-amz-date", "x-amz-date", "HOST;X-AMZ-DATE", "host;nosuch",
                      "host;host;host", "host;" + ";".join(f"h{i}" for i in range(500))),
    "Signature": ("", "00", "zz" * 32, "0" * 64, "A" * 64, "0" * 6400, "%00", "\x01"),
}


def _corrupt_v4_header(r: RawRequest, rng: random.Random) -> str:
    auth_i = next(i for i, (k, _) in enumerate(r.headers) if k.lower() == "authorization")
    value = str(r.headers[auth_i][1])
    choice = rng.choice(("Credential", "SignedHeaders", "Signature", "scheme", "shape", "date", "sha",
                         "dup-auth", "no-date", "sha-mismatch"))
    date = next((str(v) for k, v in r.headers if k.lower() == "x-amz-date"), "20260101T000000Z")
    svc = "s3" if any(k.lower() == "x-amz-content-sha256" for k, _ in r.headers) else "ec2"
    ak = value.partition("Credential=")[2].partition("/")[0]
    if choice in _V4_FIELD_VALUES:
        new = rng.choice(_V4_FIELD_VALUES[choice]).replace("{ak}", ak).replace("{date}", date[:8]) \
            .replace("{svc}", svc)
        parts = []
        for item in value.split(" ", 1)[1].split(", "):
            name, _, old = item.partition("=")
            parts.append(f"{name}={new}" if name == choice else item)
        r.headers[auth_i] = ("Authorization", "AWS4-HMAC-SHA256 " + ", ".join(parts))
    elif choice == "scheme":
        r.headers[auth_i] = ("Authorization", rng.choice(("AWS4-HMAC-SHA1", "aws4-hmac-sha256", "Bearer x",
                                                          "AWS4-ECDSA-P256-SHA256", "", " ", "AWS"))
                             + " " + value.split(" ", 1)[1])
    elif choice == "shape":
        r.headers[auth_i] = ("Authorization", rng.choice((
            "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential", "AWS4-HMAC-SHA256 ,,,,",
            value + ", Signature=00", value.replace(", ", ","), value.replace("=", "=="), value + "\t",
            "AWS4-HMAC-SHA256 " + ", ".join(["Credential=x"] * 500))))
    elif choice == "date":
        _set(r, "X-Amz-Date", rng.choice(("", "20260101", "2026-01-01T00:00:00Z", "99999999T999999Z",
                                          "19700101T000000Z", "29991231T235959Z", values.BIG, "\xff")))
    elif choice == "no-date":
        r.headers = [(k, v) for k, v in r.headers if k.lower() != "x-amz-date"]
    elif choice == "sha":
        _set(r, "x-amz-content-sha256", rng.choice(("", "abc", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                                    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                                                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Z" * 64)))
    elif choice == "sha-mismatch":
        r.body += b"tampered"
    elif choice == "dup-auth":
        r.headers.append(("Authorization", value))
    return choice


def _set(r: RawRequest, name: str, value: str) -> None:
    r.headers = [(k, v) for k, v in r.headers if k.lower() != name.lower()] + [(name, value)]


_PRESIGN_VALUES = {
    "X-Amz-Algorithm": ("", "AWS4-HMAC-SHA1", "x"),
    "X-Amz-Expires": ("", "-1", "0", "abc", "604801", "99999999999999999999", "1.5", " 60", "\u0661"),
    "X-Amz-Date": ("", "20260101", "19700101T000000Z", "29991231T235959Z", "garbage"),
    "X-Amz-Credential": ("", "a/b", "x/20260101/us-east-1/s3/aws4_request"),
    "X-Amz-SignedHeaders": ("", "x-amz-date", ";"),
    "X-Amz-Signature": ("", "0" * 64, "zz"),
}


def _corrupt_presigned(r: RawRequest, rng: random.Random) -> str:
    path, _, query = r.target.partition("?")
    pairs = [tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&") if p]
    name = rng.choice([*_PRESIGN_VALUES, "drop", "dup", "with-header"])
    if name == "drop":
        victim = rng.choice(list(_PRESIGN_VALUES))
        pairs = [p for p in pairs if p[0] != victim]
    elif name == "dup":
        pairs += [p for p in pairs if p[0].startswith("X-Amz-")][:2]
    elif name == "with-header":
        r.headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, "
                                           "SignedHeaders=host, Signature=00"))
    else:
        new = quote(rng.choice(_PRESIGN_VALUES[name]), safe="")
        pairs = [(k, new if k == name else v) for k, v in pairs]
    r.target = path + "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return name


def k_sigv2(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    if service == "s3":
        query = rng.random() < 0.4
        r = valid(service, op, rng, t, scheme="v2q" if query else "v2")
        if query:
            path, _, q = r.target.partition("?")
            pick = rng.choice(("Expires=-1", "Expires=abc", "Expires=99999999999999999999", "Signature=",
                               "AWSAccessKeyId=", "Expires=0", "Signature=%FF%FE"))
            name = pick.split("=")[0]
            q = "&".join(p for p in q.split("&") if not p.startswith(name + "=")) + "&" + pick
            r.target, what = path + "?" + q, pick
        else:
            what = rng.choice(("AWS", "AWS :", "AWS key", "AWS :sig", "AWS a:b:c", "AWS  ak:sig", "AWS \xff:x",
                               "date", "no-date", "bad-sig"))
            if what == "date":
                _set(r, "Date", rng.choice(("", "yesterday", "Thu, 01 Jan 1970 00:00:00 GMT", values.BIG)))
            elif what == "no-date":
                r.headers = [(k, v) for k, v in r.headers if k.lower() not in ("date", "x-amz-date")]
            elif what == "bad-sig":
                _set(r, "Authorization", f"AWS {t.access_key}:AAAA")
            else:
                _set(r, "Authorization", what)
    else:
        r = valid(service, op, rng, t, scheme="v2")
        what = rng.choice(("SignatureVersion=1", "SignatureVersion=x", "SignatureMethod=HmacMD5",
                           "Timestamp=garbage", "Timestamp=1970-01-01T00:00:00Z", "Expires=1970-01-01T00:00:00Z",
                           "Signature=", "AWSAccessKeyId=", "Signature=AAAA", "Timestamp=" + "9" * 300))
        name = what.split("=")[0]
        pairs = [p for p in r.body.split(b"&") if not p.startswith(name.encode() + b"=")]
        r.body = b"&".join([*pairs, quote(what, safe="=").encode()])
    r.kind, r.note = "sigv2", f"{op} {what}"
    return r


_ENTITY_BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                           for i in range(1, 10)) + b"]><Delete><Object><Key>&lol9;</Key></Object></Delete>")
_XXE = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<Tagging><TagSet><Tag><Key>&xxe;</Key><Value>v</Value></Tag></TagSet></Tagging>")


def xml_bodies(rng: random.Random, valid_body: bytes) -> tuple[str, bytes]:
    choice = rng.choice(("truncated", "wrong-root", "bomb", "xxe", "deep", "not-xml", "empty", "bad-utf8",
                         "huge-attr", "many-children", "pi", "cdata", "ns"))
    body = {
        "truncated": valid_body[: max(1, len(valid_body) // 2)] or b"<Tag",
        "wrong-root": b"<Nope><Child>x</Child></Nope>",
        "bomb": _ENTITY_BOMB,
        "xxe": _XXE,
        "deep": b"<a>" * 50000 + b"</a>" * 50000,
        "not-xml": b"\x00\x01\x02 {json: true}",
        "empty": b"",
        "bad-utf8": b"<Tagging><TagSet><Tag><Key>\xff\xfe</Key><Value>\xc0\x80</Value></Tag></TagSet></Tagging>",
        "huge-attr": b'<Tagging a="' + b"x" * 300000 + b'"/>',
        "many-children": b"<Delete>" + b"<Object><Key>k</Key></Object>" * 5000 + b"</Delete>",
        "pi": b'<?xml version="1.0" encoding="EBCDIC"?><Tagging/>',
        "cdata": b"<Tagging><TagSet><Tag><Key><![CDATA[k]]></Key><Value>v</Value></Tag></TagSet></Tagging>",
        "ns": b'<x:Tagging xmlns:x="urn:evil"><x:TagSet/></x:Tagging>',
    }[choice]
    return choice, body


def xml_operations() -> list[str]:
    """S3 operations whose request body is an XML document."""
    out = []
    for op in operations("s3"):
        shape = service_model("s3").operation_model(op).input_shape
        payload = shape.serialization.get("payload") if shape is not None else None
        if payload and shape.members[payload].type_name == "structure":
            out.append(op)
    return out


def k_xml(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    if service != "s3":
        return k_values(service, op, rng, t)
    ops = xml_operations()
    op = op if op in ops else rng.choice(ops)
    method, path, query, (headers, raw) = serialize("s3", op, params_for("s3", op, rng, t, 0.0))
    what, body = xml_bodies(rng, _to_bytes(raw))
    headers = [(k, _header_safe(v)) for k, v in headers if k.lower() not in ("content-md5",)
               and not k.lower().startswith("x-amz-checksum") and k.lower() != "x-amz-sdk-checksum-algorithm"]
    r = sign(t, "s3", method, path, _encode_query(query), headers, body)
    if rng.random() < 0.15:  # a 100 MB declared length with a small body: refused before reading it
        what += "+100MB"
        r.framing = True
        r.headers.append(("Content-Length", str(100 << 20)))
    r.kind, r.note = "xml", f"{op} {what}"
    return r


def k_chunked(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    if service != "s3":
        return k_query(service, op, rng, t)
    op = rng.choice(("PutObject", "UploadPart"))
    params = params_for("s3", op, rng, t, 0.0)
    params.pop("ContentLength", None)
    params.pop("ContentMD5", None)
    method, path, query, (headers, _) = serialize("s3", op, params)
    headers = [(k, _header_safe(v)) for k, v in headers
               if not k.lower().startswith(("x-amz-checksum", "x-amz-sdk-checksum", "content-md5", "x-amz-trailer"))]
    what, r = chunked.corrupt(rng, t, method, path, _encode_query(query), headers)
    r.kind, r.note = "chunked", f"{op} {what}"
    return r


def k_framing(service: str, op: str, rng: random.Random, t: Target) -> RawRequest:
    """Content-Length / Transfer-Encoding combinations, smuggling attempts, header floods, broken heads."""
    base = valid(service, op, rng, t)
    base.framing = True
    heads = [(k, v) for k, v in base.headers if k.lower() not in ("content-length", "transfer-encoding")]
    n = len(base.body)
    what = rng.choice(("cl+te", "te+cl", "dup-cl", "neg-cl", "nan-cl", "short-cl", "te-gzip", "te-double",
                       "te-bad-chunk", "te-huge-chunk", "cl-space", "flood-headers", "huge-header",
                       "obs-fold", "no-colon", "expect-nonascii", "expect-weird", "bare-lf",
                       "absolute-uri", "amz-meta-flood", "dup-host", "huge-uri"))
    body = base.body
    if what == "cl+te":
        heads += [("Content-Length", str(n)), ("Transfer-Encoding", "chunked")]
        body = b"%x\r\n" % n + body + b"\r\n0\r\n\r\n" if n else b"0\r\n\r\nGET / HTTP/1.1\r\n\r\n"
    elif what == "te+cl":
        heads += [("Transfer-Encoding", "chunked"), ("Content-Length", "4")]
        body = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    elif what == "dup-cl":
        heads += [("Content-Length", str(n)), ("Content-Length", str(n + 5))]
    elif what == "neg-cl":
        heads += [("Content-Length", "-1")]
    elif what == "nan-cl":
        heads += [("Content-Length", rng.choice(("abc", "1e3", "0x10", "+5", "99999999999999999999999")))]
    elif what == "short-cl":
        heads += [("Content-Length", str(max(0, n - 3)))]
    elif what == "cl-space":
        heads += [("Content-Length", f" {n} ")]
    elif what == "te-gzip":
        heads += [("Transfer-Encoding", "gzip")]
    elif what == "te-double":
        heads += [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]
        body = b"0\r\n\r\n"
    elif what == "te-bad-chunk":
        heads += [("Transfer-Encoding", "chunked")]
        body = rng.choice((b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab\r\n0\r\n\r\n", b"3\r\nabc", b"-1\r\n\r\n"))
    elif what == "te-huge-chunk":
        heads += [("Transfer-Encoding", "chunked")]
        body = b"ffffffffffffffff\r\nabc\r\n0\r\n\r\n"
    elif what == "flood-headers":
        heads += [(f"X-Flood-{i}", "v") for i in range(rng.choice((100, 200, 2000)))]
    elif what == "huge-header":
        heads += [("X-Big", "v" * rng.choice((8000, 9000, 70000)))]
    elif what == "obs-fold":
        heads += [("X-Folded", "a\r\n continued")]
    elif what == "no-colon":
        heads += [("X-No-Colon-Here", "v")]
        heads[-1] = ("X-No-Colon-Here v", b"")
    elif what == "expect-nonascii":
        heads += [("Expect", b"100-continu\xe9")]
    elif what == "expect-weird":
        heads += [("Expect", rng.choice(("100-continue", "200-ok", "")))]
    elif what == "bare-lf":
        heads += [("X-Lf", "a\nb")]
    elif what == "absolute-uri":
        base.target = f"http://{t.netloc}{base.target}"
    elif what == "amz-meta-flood":
        heads += [(f"x-amz-meta-k{i}", "v" * 50) for i in range(100)]
    elif what == "dup-host":
        heads += [("Host", "evil.example")]
    elif what == "huge-uri":
        base.target = base.target + ("&" if "?" in base.target else "?") + "x=" + "A" * rng.choice((9000, 70000))
    if what not in ("cl+te", "te+cl", "te-double", "te-bad-chunk", "te-huge-chunk", "te-gzip", "dup-cl",
                    "neg-cl", "nan-cl", "short-cl", "cl-space"):
        heads += [("Content-Length", str(len(body)))]
    return RawRequest(base.method, base.target, heads, body, kind="framing", note=f"{op} {what}", framing=True)


KINDS: dict[str, Callable[[str, str, random.Random, Target], RawRequest]] = {
    "values": k_values, "query": k_query, "sigv4": k_sigv4, "sigv2": k_sigv2, "xml": k_xml,
    "chunked": k_chunked, "framing": k_framing,
}
# Relative weights in a mixed run: most requests should reach the handlers.
WEIGHTS = {"values": 5, "query": 2, "sigv4": 2, "sigv2": 1, "xml": 2, "chunked": 1, "framing": 1}


def generate(service: str, rng: random.Random, target: Target, kind: str | None = None,
             op: str | None = None) -> RawRequest:
    kind = kind or rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    op = op or rng.choice(operations(service))
    r = KINDS[kind](service, op, rng, target)
    r.framing = r.framing or http_level(r)
    return r


def http_level(r: RawRequest) -> bool:
    """True when aiohttp's HTTP parser refuses the head before any AWS handling: a line over 8190 bytes,
    a control character in a header value, more than 128 headers."""
    if len(r.target) > 8000 or len(r.headers) > 120:
        return True
    for _, v in r.headers:
        text = v.decode("latin-1") if isinstance(v, bytes) else str(v)
        if len(text) > 8000 or any(c != "\t" and (c < " " or c == "\x7f") for c in text):
            return True
    return False
