"""S3 request routing, derived from the model: (method, path, query, host, headers) → operation.

Every S3 operation's `http.method` + `requestUri` (`/{Bucket}/{Key+}?tagging`, `/{Bucket}?list-type=2`)
gives its level (service, bucket, object), its static query keys (with a value where the URI says
`k=v`) and, with the input shape, the querystring members it understands and the members it requires.
The table is built once; a request only looks at the entries for its (level, method).

Choice among matching operations, most specific first:
  1. x-id=<Operation>, the hint newer SDKs add, when it names a match;
  2. operations whose required headers are all present (PutObject vs CopyObject's
     x-amz-copy-source). Required querystring members are part of the match itself, like static
     keys: DeleteObject vs AbortMultipartUpload?uploadId, ListBucketAnalyticsConfigurations vs
     GetBucketAnalyticsConfiguration?id;
  3. more static query keys, then more required members present
     (UploadPartCopy needs the copy-source header *and* partNumber/uploadId: it beats UploadPart);
  4. non-deprecated over deprecated twins with the same wire form (GetBucketLifecycleConfiguration
     over GetBucketLifecycle, *NotificationConfiguration over *Notification);
  5. _SHADOWED below, the one pair the model cannot separate.

Every query parameter must be explained by the chosen operation (a static key or one of its
querystring members) unless it is an authentication parameter. Anything else is an unknown
sub-resource: S3NotImplemented (501), never a fall-through to a plain object or bucket operation.
A known sub-resource with a method it does not support: MethodNotAllowed (405).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_to_bytes

from botocore.model import ServiceModel

from . import errors
from .models import service_model as load_model

SERVICE, BUCKET, OBJECT = "SERVICE", "BUCKET", "OBJECT"
POST_OBJECT = "PostObject"  # browser-based form upload: S3 has it, botocore's model does not

# Same wire form as another operation, and the model has no trait to say which is the default:
# ListDirectoryBuckets is S3 Express's listing (its own endpoint); a plain `GET /` is ListBuckets.
# It is still chosen when the request carries its own parameter (max-directory-buckets) or x-id.
_SHADOWED = frozenset({"ListDirectoryBuckets"})

# Query parameters of authentication (SigV4 presign, SigV2 query auth) and the SDKs' x-id hint;
# `X-Amz-*` is matched case-insensitively (presigning also hoists x-amz-* headers into the query).
# SigV2 query URLs from botocore also carry the signed Content-Type/Content-MD5 as query parameters.
_AUTH_PARAMS = frozenset({"awsaccesskeyid", "signature", "expires", "x-id", "content-type", "content-md5"})


def _is_auth_param(name: str) -> bool:
    low = name.lower()
    return low.startswith("x-amz-") or low in _AUTH_PARAMS


@dataclass
class S3Route:
    operation: str
    bucket: str | None
    key: str | None
    virtual_host: bool

    def labels(self) -> dict[str, str]:
        """URI labels for RestXmlRequestParser.parse(labels=...)."""
        out = {}
        if self.bucket is not None:
            out["Bucket"] = self.bucket
        if self.key is not None:
            out["Key"] = self.key
        return out


@dataclass(frozen=True)
class _Entry:
    op: str
    static: tuple[tuple[str, str | None], ...]  # (key, required value or None)
    static_keys: frozenset[str]
    members: frozenset[str]       # querystring member names
    any_query: bool               # a querystring map member takes any parameter
    required_query: frozenset[str]
    required_headers: frozenset[str]  # lower-case
    rank: int                     # 0 = preferred twin, 1 = deprecated, 2 = shadowed

    def explains(self, params: Mapping[str, str]) -> bool:
        """The static keys (and values) and required querystring members are all present, and every
        parameter is one of ours. Required query members identify a sub-resource as much as static
        keys do (uploadId, partNumber, id): without them the operation does not match."""
        for k, v in self.static:
            if k not in params or (v is not None and params[k] != v):
                return False
        if not self.required_query.issubset(params):
            return False
        return self.any_query or all(k in self.static_keys or k in self.members for k in params)


def _level(path: str) -> str | None:
    if path == "/":
        return SERVICE
    if path == "/{Bucket}":
        return BUCKET
    if path == "/{Bucket}/{Key+}":
        return OBJECT
    return None  # a literal path such as /WriteGetObjectResponse


class S3Router:
    def __init__(self, service_model: ServiceModel | None = None,
                 virtual_host_domains: Sequence[str] = ()) -> None:
        sm = service_model or load_model("s3")
        self._domains = tuple("." + d.lower().strip(".") for d in virtual_host_domains)
        self._table: dict[tuple[str, str], list[_Entry]] = {}
        # (level, method) → {first static key or "": entries}: a request only tries the operations
        # keyed by one of its own parameters, plus those without static keys.
        self._index: dict[tuple[str, str], dict[str, list[_Entry]]] = {}
        self._literal: dict[tuple[str, str], str] = {}  # (method, path) → op
        self._subresources: dict[str, set[str]] = {SERVICE: set(), BUCKET: set(), OBJECT: set()}
        self._level_members: dict[str, set[str]] = {SERVICE: set(), BUCKET: set(), OBJECT: set()}
        for name in sm.operation_names:
            op = sm.operation_model(name)
            method = op.http["method"].upper()
            path, _, static_q = op.http["requestUri"].partition("?")
            level = _level(path)
            if level is None:
                self._literal[(method, path)] = name
                continue
            static = tuple((k, v if "=" in part else None) for part in static_q.split("&") if part
                           for k, _, v in [part.partition("=")])
            shape = op.input_shape
            members, required_q, required_h, any_query = set(), set(), set(), False
            for mname, ms in (shape.members.items() if shape is not None else ()):
                s = ms.serialization
                if s.get("location") == "querystring":
                    if ms.type_name == "map":
                        any_query = True
                    else:
                        members.add(s.get("name", mname))
                        if mname in shape.required_members:
                            required_q.add(s.get("name", mname))
                elif s.get("location") == "header" and mname in shape.required_members:
                    required_h.add(s.get("name", mname).lower())
            rank = 2 if name in _SHADOWED else 1 if op.deprecated else 0
            entry = _Entry(name, static, frozenset(k for k, _ in static), frozenset(members), any_query,
                           frozenset(required_q), frozenset(required_h), rank)
            self._table.setdefault((level, method), []).append(entry)
            first = static[0][0] if static else ""
            self._index.setdefault((level, method), {}).setdefault(first, []).append(entry)
            self._subresources[level].update(entry.static_keys)
            self._level_members[level].update(members)
        self._static_keys = set().union(*self._subresources.values())

    # ---- routing ------------------------------------------------------------------------------------

    def route(self, method: str, raw_path: str, query: list[tuple[str, str]], host: str | None,
              headers: Mapping[str, str]) -> S3Route:
        """The operation for a request. raw_path is still percent-encoded (it is decoded here, once);
        query is the decoded parameter list. Raises S3NotImplemented / MethodNotAllowed / InvalidURI."""
        method = method.upper()
        path = raw_path.partition("?")[0] or "/"
        literal = self._literal.get((method, path))
        if literal is not None:  # e.g. POST /WriteGetObjectResponse (not a valid bucket name)
            return S3Route(literal, None, None, False)
        bucket = self._bucket_from_host(host)
        virtual = bucket is not None
        if virtual:
            key_raw = path[1:] if path.startswith("/") else path
        else:
            if path.startswith("//"):
                raise errors.InvalidURI()  # an empty bucket name with something after it
            bucket_raw, _, key_raw = path[1:].partition("/") if path.startswith("/") else path.partition("/")
            bucket = _decode(bucket_raw) or None
        key = _decode(key_raw) if key_raw else None
        level = SERVICE if bucket is None else BUCKET if key is None else OBJECT

        params = {k: v for k, v in query if not _is_auth_param(k)}
        if level == BUCKET and method == "POST" and not set(params) & self._subresources[BUCKET] \
                and (not params or _is_form(headers)):
            return S3Route(self._post_on_bucket(params, headers), bucket, None, virtual)
        hint = next((v for k, v in query if k == "x-id"), None)
        op = self._choose(level, method, params, headers, hint)
        return S3Route(op, bucket, key, virtual)

    @staticmethod
    def _post_on_bucket(params: dict[str, str], headers: Mapping[str, str]) -> str:
        """POST on a bucket without a sub-resource is a browser-based form upload (PostObject, not in the
        model): it must be multipart/form-data and carry no query parameters, as S3 answers."""
        if not _is_form(headers):
            raise errors.PreconditionFailed(Condition="Bucket POST must be of the enclosure-type multipart/form-data")
        if params:
            raise errors.InvalidArgument("Query String Parameters not allowed on POST requests.",
                                         ArgumentName=next(iter(params)), ArgumentValue=next(iter(params.values())))
        return POST_OBJECT

    def _bucket_from_host(self, host: str | None) -> str | None:
        if not host or not self._domains:
            return None
        if host.startswith("["):
            return None  # an IPv6 literal: path style
        name = host.rsplit(":", 1)[0].lower()
        for d in self._domains:
            if name.endswith(d) and len(name) > len(d):
                return name[: -len(d)]
        return None

    def _choose(self, level: str, method: str, params: dict[str, str], headers: Mapping[str, str],
                hint: str | None) -> str:
        index = self._index.get((level, method), {})
        fits = [e for e in index.get("", ()) if e.explains(params)]
        for k in params:
            fits.extend(e for e in index.get(k, ()) if e.explains(params))
        if fits:
            if hint is not None:
                for e in fits:
                    if e.op == hint:
                        return e.op
            lower = {k.lower() for k in headers}
            return max(fits, key=lambda e: _score(e, lower)).op
        # Nothing at this level and method explains the request: say why.
        unknown = [k for k in params if k not in self._static_keys
                   and k not in self._level_members[level]]
        if unknown or any(k in self._static_keys and k not in self._subresources[level]
                          for k in params):
            raise errors.S3NotImplemented()
        for (lvl, _m), entries in self._table.items():
            if lvl == level and any(e.explains(params) for e in entries):
                sub = next((k for k in params if k in self._subresources[level]), None)
                raise errors.MethodNotAllowed(Method=method, ResourceType=(sub or level).upper())
        raise errors.S3NotImplemented()


def _is_form(headers: Mapping[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return content_type.partition(";")[0].strip().lower() == "multipart/form-data"


def _score(e: _Entry, header_names: set[str]) -> tuple:
    req_h = sum(1 for k in e.required_headers if k in header_names)
    return req_h == len(e.required_headers), len(e.static), len(e.required_query) + req_h, -e.rank


def _decode(raw: str) -> str:
    """Percent-decode a path segment once ('+' stays '+': it is literal in paths)."""
    if "%" not in raw:
        return raw
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidURI() from None


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """The query list route() expects, from a raw query string."""
    return parse_qsl(raw_query, keep_blank_values=True)
