"""POST Object: browser-based uploads (`POST /bucket`, multipart/form-data, what HTML forms and boto3's
`generate_presigned_post` send). Not in botocore's model: the S3 front end hands the steps here.

  authenticate  read the form fields up to the `file` part (at most 20 KiB, S3's limit), then check the
                form's own signature over its policy (gateway/auth/post_form.py); no credentials = anonymous;
  parse         decode the policy, check its expiration and conditions (post_policy.py), substitute
                `${filename}`, and turn the fields into PutObject's input through the model's own parser;
  handler       stream the file part into PutObject's handler (objects.put_object), unchanged: the same
                checksums, encryption, ACL, tagging, Object Lock and ACL/policy checks as a PUT. The part
                is never buffered; content-length-range is enforced while it flows, and a too-small or
                doubled file fails before the last byte is released, so nothing is stored;
  respond       204 (default), 200, or 201 with a PostResponse document; 303 to success_action_redirect.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from botocore.model import ShapeResolver
from multidict import CIMultiDict

from ..auth.body import open_body
from ..auth.payload import UnsignedPayload
from ..auth.post_form import authenticate_post
from ..context import RequestContext
from ..protocol import errors
from ..protocol.formdata import FieldTooLarge, FormDataError, FormDataReader, Part, boundary_of
from ..protocol.models import service_model
from ..protocol.rest_xml import RestXmlRequestParser, RestXmlResponseSerializer
from ..protocol.xmlgen import XmlEmitter
from . import objects, post_policy
from .checksums import MAX_OBJECT_SIZE
from .common import s3_handler
from .post_policy import PostPolicy

POST_OBJECT = "PostObject"
MAX_PRE_DATA = 20 * 1024  # S3's cap on the form before the file (MaxPostPreDataLengthExceeded)
# A body that cannot hold a file S3 would take: 5 GiB, the fields before it and some framing after it.
MAX_POST_BYTES = MAX_OBJECT_SIZE + MAX_PRE_DATA + 64 * 1024
_FIELD_NAMES = frozenset({"content-type", "cache-control", "content-disposition", "content-encoding",
                          "content-language", "expires", "content-md5", "x-amz-storage-class",
                          "x-amz-website-redirect-location"})
_FIELD_PREFIXES = ("x-amz-meta-", "x-amz-server-side-encryption", "x-amz-checksum-", "x-amz-object-lock-")
# Fields whose value is never a template for ${filename}: the signed ones.
_SIGNED = frozenset({"policy", "signature", "x-amz-signature", "awsaccesskeyid", "x-amz-credential",
                     "x-amz-algorithm", "x-amz-date", "x-amz-security-token"})


@dataclass
class PostForm:
    """The form as read before the file: fields (lower-case names → values) and the reader, positioned
    at the start of the file part's data."""

    reader: FormDataReader
    fields: dict[str, str] = field(default_factory=dict)
    file: Part | None = None
    policy: PostPolicy | None = None
    key: str = ""


@contextlib.contextmanager
def _framing() -> Iterator[None]:
    try:
        yield
    except FieldTooLarge:
        raise errors.MaxPostPreDataLengthExceeded(MaxPostPreDataLengthBytes=MAX_PRE_DATA) from None
    except FormDataError:
        raise errors.MalformedPOSTRequest() from None


# ---- authenticate ----------------------------------------------------------------------------------------
async def read_form(request: web.Request, idle_timeout: float | None) -> PostForm:
    boundary = boundary_of(request.headers.get("Content-Type"))
    if boundary is None:
        raise errors.MalformedPOSTRequest()
    declared = request.content_length
    if declared is not None and declared > MAX_POST_BYTES:  # refused before a byte is read
        raise errors.EntityTooLarge(ProposedSize=declared, MaxSizeAllowed=MAX_OBJECT_SIZE)
    stream = open_body(request.content, UnsignedPayload(), idle_timeout=idle_timeout)
    form = PostForm(FormDataReader(stream, boundary))
    used = 0
    with _framing():
        while (part := await form.reader.next_part()) is not None:
            used += part.header_bytes
            if part.name.lower() == "file":
                form.file = part
                break
            if used > MAX_PRE_DATA:
                raise FieldTooLarge()
            value = await form.reader.read_value(MAX_PRE_DATA - used)
            used += len(value)
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                raise errors.MalformedPOSTRequest() from None
            form.fields.setdefault(part.name.lower(), text)  # a repeated field: the first one counts
    return form


async def authenticate(ctx: RequestContext) -> None:
    """Read the form up to its file and authenticate it by its own signature (the pipeline's auth step)."""
    gw = ctx.gateway
    form = await read_form(ctx.request, gw.config.limits.body_idle_timeout_seconds)
    ctx.body = form
    if not gw.config.auth.signature_v2 and ("awsaccesskeyid" in form.fields or "signature" in form.fields):
        raise errors.InvalidRequest("The authorization mechanism you have provided is not supported. Please use "
                                    "AWS4-HMAC-SHA256.")
    ctx.auth = await authenticate_post(form.fields, gw.credentials, region=gw.config.region)


# ---- parse -----------------------------------------------------------------------------------------------
@functools.cache
def _parser() -> RestXmlRequestParser:
    return RestXmlRequestParser(service_model("s3"))


def _basename(filename: str | None) -> str:
    """What S3 substitutes for ${filename}: the text after the last slash or backslash."""
    return (filename or "").replace("\\", "/").rpartition("/")[2]


def parse(ctx: RequestContext) -> None:
    """Policy and fields → ctx.params in PutObject's shape (the model parser does the typing)."""
    form: PostForm = ctx.body
    assert ctx.route is not None and ctx.route.bucket is not None
    bucket, fields = ctx.route.bucket, form.fields
    if "policy" in fields:
        form.policy = post_policy.decode(fields["policy"])
        post_policy.check_expiry(form.policy, dt.datetime.now(dt.UTC))
    if form.file is None:
        raise errors.IncorrectNumberOfFilesInPostRequest()
    if "key" not in fields:
        raise errors.InvalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please "
                                     "check the order of the fields.", ArgumentName="key", ArgumentValue="")
    filename = _basename(form.file.filename)
    values = {k: v if k in _SIGNED else v.replace("${filename}", filename) for k, v in fields.items()}
    form.fields = values
    form.key = values["key"]
    if not form.key:
        raise errors.InvalidArgument("User key must have a length greater than 0.", ArgumentName="key",
                                     ArgumentValue="")
    if form.policy is not None:
        post_policy.check_fields(form.policy, values, bucket)
    headers = _put_headers(values)
    ctx.params = _parser().parse("PutObject", "PUT", "/", "", headers, None,
                                 labels={"Bucket": bucket, "Key": form.key})


def _put_headers(values: dict[str, str]) -> CIMultiDict[str]:
    """The form fields PutObject takes as headers (Content-Type, x-amz-meta-*, checksums, encryption...),
    plus `acl` and `tagging` in their header forms."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in values.items():
        if name in _FIELD_NAMES or name.startswith(_FIELD_PREFIXES):
            headers[name] = value
    if "x-amz-checksum-algorithm" in values:  # the form's name for PutObject's SDK header
        headers["x-amz-sdk-checksum-algorithm"] = values["x-amz-checksum-algorithm"]
    if "acl" in values:
        headers["x-amz-acl"] = values["acl"]
    if "tagging" in values:
        headers["x-amz-tagging"] = _tagging_query(values["tagging"])
    return headers


def _tagging_query(document: str) -> str:
    """A `<Tagging>` document (the form's field) as x-amz-tagging's query form, validated by PutObject."""
    params = _parser().parse("PutObjectTagging", "PUT", "/", "tagging", {}, document.encode("utf-8"),
                             labels={"Bucket": "b", "Key": "k"})
    tags = (params.get("Tagging") or {}).get("TagSet")
    if tags is None:
        raise errors.MalformedXML()
    return "&".join(f"{quote(t.get('Key', ''), safe='')}={quote(t.get('Value', ''), safe='')}" for t in tags)


# ---- the handler -----------------------------------------------------------------------------------------
async def _file_body(form: PostForm) -> AsyncIterator[bytes]:
    """The file part, checked against content-length-range while it flows. Fields after it are ignored
    (as S3 does), but a second file is refused; both checks raise before the end, so nothing is stored."""
    policy = form.policy
    low = policy.min_size if policy is not None else None
    high = policy.max_size if policy is not None else None
    size = 0
    with _framing():
        async for piece in form.reader.data():
            size += len(piece)
            if high is not None and size > high:
                raise errors.EntityTooLarge(ProposedSize=size, MaxSizeAllowed=high)
            yield piece
        while (part := await form.reader.next_part()) is not None:
            if part.name.lower() == "file":
                raise errors.IncorrectNumberOfFilesInPostRequest()
    if low is not None and size < low:
        raise errors.EntityTooSmall(ProposedSize=size, MinSizeAllowed=low)


@s3_handler(POST_OBJECT, anonymous=True)
async def post_object(ctx: RequestContext) -> dict:
    """PutObject's handler on the file part: the request it sees carries the form's fields as headers and
    no length (the part's size is known at its end only)."""
    form: PostForm = ctx.body
    headers = _put_headers(form.fields)
    headers["Host"] = ctx.request.host
    headers["Transfer-Encoding"] = "chunked"
    original = ctx.request
    ctx.request = original.clone(headers=headers)
    ctx.body = _file_body(form)
    try:
        out = await objects.put_object(ctx)
    finally:
        with contextlib.suppress(Exception):
            await ctx.body.aclose()
        ctx.request, ctx.body = original, form
    return {"put": out, "form": form}


# ---- respond ---------------------------------------------------------------------------------------------
_POST_RESPONSE = ShapeResolver({
    "PostResponse": {"type": "structure", "members": {
        "Location": {"shape": "Text"}, "Bucket": {"shape": "Text"}, "Key": {"shape": "Text"},
        "ETag": {"shape": "Text"}}},
    "Text": {"type": "string"},
}).get_shape_by_name("PostResponse")


@functools.cache
def _emit_post_response() -> Any:
    return XmlEmitter().emitter(_POST_RESPONSE)


def post_response_xml(location: str, bucket: str, key: str, etag: str) -> bytes:
    """S3's PostResponse document (201), rendered from its own small shape."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _emit_post_response()(out, "PostResponse", {"Location": location, "Bucket": bucket, "Key": key, "ETag": etag})
    return "".join(out).encode("utf-8")


def _redirect_target(values: dict[str, str]) -> str | None:
    url = values.get("success_action_redirect") or values.get("redirect")
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None  # S3 ignores what it can't use


def respond(ctx: RequestContext, result: dict[str, Any], base: dict[str, str],
            serializer: RestXmlResponseSerializer) -> web.Response:
    """204 by default; success_action_status 200 (empty) or 201 (PostResponse); 303 to a redirect URL with
    bucket, key and etag appended. PutObject's output headers (ETag, version, encryption, checksums) ride
    along in every case."""
    form: PostForm = result["form"]
    _, put_headers, _ = serializer.serialize("PutObject", result["put"], ctx.request_id)
    route = ctx.route
    assert route is not None and route.bucket is not None
    bucket, key, etag = route.bucket, form.key, result["put"]["ETag"]
    path = f"/{quote(key, safe='/~')}" if route.virtual_host else f"/{bucket}/{quote(key, safe='/~')}"
    location = f"{ctx.request.scheme}://{ctx.request.host}{path}"
    headers = {**base, **put_headers, **ctx.response_headers, "Location": location}
    target = _redirect_target(form.fields)
    if target is not None:
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in (("bucket", bucket), ("key", key), ("etag", etag)))
        headers["Location"] = target + ("&" if "?" in target else "?") + query
        return web.Response(status=303, headers=headers)
    status = form.fields.get("success_action_status", "").strip()
    if status == "201":
        headers["Content-Type"] = "application/xml"
        return web.Response(status=201, headers=headers, body=post_response_xml(location, bucket, key, etag))
    return web.Response(status=200 if status == "200" else 204, headers=headers)
