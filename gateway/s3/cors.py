"""Bucket CORS: Put/Get/DeleteBucketCors, and its enforcement — OPTIONS preflights and the
`Access-Control-*` headers of actual requests (called from the pipeline: OPTIONS is no operation in
botocore's model, and the headers belong on every S3 response, errors included).

Stored form (bucket config kind "cors"): {"rules": [<botocore CORSRule shape>, ...]}, i.e. each rule
{"ID"?, "AllowedOrigins": [...], "AllowedMethods": [...], "AllowedHeaders"?: [...],
 "ExposeHeaders"?: [...], "MaxAgeSeconds"?: int}, in the order given.

Evaluation as S3 does it: the first rule whose AllowedOrigin matches the Origin (at most one `*`, which
matches any run of characters, the empty one included; `*` alone matches every origin) and whose
AllowedMethod holds the method (the Access-Control-Request-Method of a preflight) wins. A preflight
also needs every Access-Control-Request-Headers name to match an AllowedHeader (case-insensitive, one
`*` allowed). Actual requests are never refused for CORS: they just carry no CORS headers when no
rule matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..context import RequestContext
from ..protocol import errors
from . import acl
from .common import get_bucket_config, s3_handler, set_bucket_config

if TYPE_CHECKING:
    from ..app import Gateway

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
MAX_ID = 255
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
               "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
               "are not whitelisted by the resource's CORS spec.")  # sic: S3's own spelling


# ---- configuration -----------------------------------------------------------------------------------
def validate_rules(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    rules = (config or {}).get("CORSRules") or []
    if not rules or len(rules) > MAX_RULES:
        raise errors.MalformedXML()
    out = []
    for rule in rules:
        origins, methods = rule.get("AllowedOrigins"), rule.get("AllowedMethods")
        if not origins or not methods:
            raise errors.MalformedXML()
        for method in methods:
            if method not in METHODS:
                raise errors.InvalidRequest("Found unsupported HTTP method in CORS config. "
                                            f"Unsupported method is {method}")
        for origin in origins:
            if origin.count("*") > 1:
                raise errors.InvalidRequest(f'AllowedOrigin "{origin}" can not have more than one wildcard.')
        for header in rule.get("AllowedHeaders") or ():
            if header.count("*") > 1:
                raise errors.InvalidRequest(f'AllowedHeader "{header}" can not have more than one wildcard.')
        for header in rule.get("ExposeHeaders") or ():
            if "*" in header:
                raise errors.InvalidRequest(f'ExposeHeader "{header}" contains wildcard. We currently do not '
                                            "support wildcard for ExposeHeader.")
        if len(rule.get("ID") or "") > MAX_ID:
            raise errors.InvalidArgument(f"ID length should not exceed allowed limit of {MAX_ID}")
        if rule.get("MaxAgeSeconds") is not None and rule["MaxAgeSeconds"] < 0:
            raise errors.InvalidArgument("MaxAgeSeconds must not be negative",
                                         ArgumentName="MaxAgeSeconds", ArgumentValue=rule["MaxAgeSeconds"])
        out.append({k: rule[k] for k in ("ID", "AllowedHeaders", "AllowedMethods", "AllowedOrigins",
                                         "ExposeHeaders", "MaxAgeSeconds") if rule.get(k) is not None})
    return out


@s3_handler("PutBucketCors")
async def put_bucket_cors(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    await set_bucket_config(ctx, bucket, "cors", {"rules": validate_rules(ctx.params.get("CORSConfiguration"))})
    return {}


@s3_handler("GetBucketCors")
async def get_bucket_cors(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    config = await get_bucket_config(ctx, bucket, "cors")
    if not config:
        raise errors.NoSuchCORSConfiguration(BucketName=bucket)
    return {"CORSRules": config["rules"]}


@s3_handler("DeleteBucketCors")
async def delete_bucket_cors(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    await set_bucket_config(ctx, bucket, "cors", None)
    return {}


# ---- matching ------------------------------------------------------------------------------------------
def wildcard_match(pattern: str, value: str, *, fold: bool = False) -> bool:
    """`pattern` with at most one `*` (any run of characters, possibly empty), anchored at both ends."""
    if fold:
        pattern, value = pattern.lower(), value.lower()
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def find_rule(rules: list[dict[str, Any]], origin: str, method: str,
              request_headers: Sequence[str] = ()) -> tuple[dict[str, Any], str] | None:
    """(first matching rule, the AllowedOrigin that matched) or None."""
    for rule in rules:
        if method not in rule["AllowedMethods"]:
            continue
        matched = next((o for o in rule["AllowedOrigins"] if wildcard_match(o, origin)), None)
        if matched is None:
            continue
        allowed = rule.get("AllowedHeaders") or ()
        if all(any(wildcard_match(a, h, fold=True) for a in allowed) for h in request_headers):
            return rule, matched
    return None


def response_headers(rule: dict[str, Any], matched_origin: str, origin: str) -> dict[str, str]:
    """The Access-Control-* headers a matching rule gives (as S3 writes them)."""
    headers = {"Access-Control-Allow-Origin": "*" if matched_origin == "*" else origin,
               "Access-Control-Allow-Methods": ", ".join(rule["AllowedMethods"])}
    if rule.get("ExposeHeaders"):
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["ExposeHeaders"])
    if rule.get("MaxAgeSeconds") is not None:
        headers["Access-Control-Max-Age"] = str(rule["MaxAgeSeconds"])
    if matched_origin != "*":
        headers["Access-Control-Allow-Credentials"] = "true"
    headers["Vary"] = VARY
    return headers


async def _rules(ctx: RequestContext, bucket: str) -> list[dict[str, Any]] | None:
    config = await get_bucket_config(ctx, bucket, "cors")
    return config["rules"] if config else None


# ---- enforcement (called by the pipeline) ----------------------------------------------------------------
async def preflight(gw: Gateway, ctx: RequestContext) -> dict[str, str]:
    """Answer `OPTIONS /bucket[/key]`: the headers of a 200, or the AWS error S3 gives."""
    req = ctx.request
    origin = req.headers.get("Origin")
    if origin is None:
        raise errors.BadRequest("Insufficient information. Origin request header needed.")
    method = req.headers.get("Access-Control-Request-Method")
    route = gw.s3_router.route("GET", req.raw_path.split("?", 1)[0], [], req.host, {})
    forbidden_method = method or "OPTIONS"
    rules = await _rules(ctx, route.bucket) if route.bucket else None
    if rules is None:
        exists = route.bucket is not None and await acl.bucket_owner(ctx, route.bucket) is not None
        raise errors.AccessForbidden("CORSResponse: CORS is not enabled for this bucket." if exists
                                     else "CORSResponse: Bucket not found",
                                     Method=forbidden_method, ResourceType="BUCKET")
    if method not in METHODS:
        raise errors.BadRequest(f"Invalid Access-Control-Request-Method: {method or 'null'}")
    requested = [h.strip().lower() for h in req.headers.get("Access-Control-Request-Headers", "").split(",")
                 if h.strip()]
    found = find_rule(rules, origin, method, requested)
    if found is None:
        raise errors.AccessForbidden(NOT_ALLOWED, Method=method,
                                     ResourceType="OBJECT" if route.key is not None else "BUCKET")
    headers = response_headers(found[0], found[1], origin)
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    return headers


async def actual_headers(ctx: RequestContext) -> Mapping[str, str]:
    """CORS headers for a routed S3 request with an Origin header: those of the first matching rule of
    the bucket (method: Access-Control-Request-Method if sent, else the request's), or none."""
    origin = ctx.request.headers.get("Origin")
    bucket = ctx.route.bucket if ctx.route is not None else None
    if origin is None or bucket is None:
        return {}
    rules = await _rules(ctx, bucket)
    if not rules:
        return {}
    method = ctx.request.headers.get("Access-Control-Request-Method") or ctx.request.method
    found = find_rule(rules, origin, method.upper())
    return response_headers(found[0], found[1], origin) if found else {}
