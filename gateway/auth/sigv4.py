"""AWS Signature Version 4: reading the client's claim (header or presigned query) and rebuilding what
it signed. Service-neutral: the EC2 and S3 glue decide which AWS error each failure becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from multidict import CIMultiDict, CIMultiDictProxy

from .canonical import canonical_query, header_value, parse_query
from .clock import AMZ_DATE_FORMAT, MAX_PRESIGN_SECONDS, parse_amz_date, parse_any_date
from .credentials import SignatureClaim, SignedRequest
from .exceptions import ExpiresOutOfRange, InvalidDate, MalformedAuth, ScopeMismatch
from .signing import V4_ALGORITHM, V4_TERMINATOR, Scope, v4_canonical_request, v4_string_to_sign

Headers = CIMultiDictProxy[str] | CIMultiDict[str]

PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                  "X-Amz-SignedHeaders", "X-Amz-Expires")


@dataclass(frozen=True)
class V4Auth:
    """What a SigV4 request claims, before any check against a secret."""

    access_key: str
    scope: Scope
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)
    timestamp: str            # the request time exactly as it enters the string to sign
    request_time: datetime
    expires: int | None = None  # presigned URLs: seconds of validity from request_time
    security_token: str | None = field(default=None, repr=False)


def parse_credential(value: str) -> tuple[str, Scope]:
    """`<access key>/<yyyymmdd>/<region>/<service>/aws4_request` (split from the right: keys are opaque)."""
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or not all(parts):
        raise MalformedAuth('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
                            'aws4_request".')
    access_key, date, region, service, terminator = parts
    if terminator != V4_TERMINATOR:
        raise ScopeMismatch(f"incorrect terminal '{terminator}'. This endpoint uses '{V4_TERMINATOR}'.")
    return access_key, Scope(date, region, service)


def _signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(";"))
    if not value or not all(names):
        raise MalformedAuth("the SignedHeaders list is empty or has an empty name.")
    if "host" not in names:
        raise MalformedAuth("the host header must be signed.")
    return names


def header_timestamp(headers: Headers) -> tuple[str, datetime]:
    """X-Amz-Date wins over Date; a Date header is signed in SigV4's basic ISO 8601 form."""
    amz_date, date = headers.get("x-amz-date"), headers.get("date")
    try:
        if amz_date is not None:
            return amz_date, parse_amz_date(amz_date.strip())
        if date:
            moment = parse_any_date(date.strip())
            return moment.strftime(AMZ_DATE_FORMAT), moment
    except MalformedAuth:
        pass
    raise InvalidDate("AWS authentication requires a valid Date or x-amz-date header")


def parse_header(authorization: str, headers: Headers) -> V4Auth:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != V4_ALGORITHM:
        raise MalformedAuth(f"the authorization scheme must be {V4_ALGORITHM}.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or name in fields:
            raise MalformedAuth("the authorization header requires three components: Credential, "
                                "SignedHeaders, and Signature.")
        fields[name] = value.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys() or not fields["Signature"]:
        raise MalformedAuth("the authorization header requires three components: Credential, SignedHeaders, "
                            "and Signature.")
    access_key, scope = parse_credential(fields["Credential"])
    signed = _signed_headers(fields["SignedHeaders"])
    timestamp, moment = header_timestamp(headers)
    return V4Auth(access_key, scope, signed, fields["Signature"], timestamp, moment,
                  security_token=headers.get("x-amz-security-token"))


def parse_presigned(params: Mapping[str, str]) -> V4Auth:
    """The X-Amz-* query parameters of a presigned URL."""
    if any(not params.get(name) for name in PRESIGN_PARAMS):
        raise MalformedAuth("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                            "X-Amz-Expires parameters.")
    if params["X-Amz-Algorithm"] != V4_ALGORITHM:
        raise MalformedAuth(f'X-Amz-Algorithm only supports "{V4_ALGORITHM}"')
    timestamp = params["X-Amz-Date"]
    moment = parse_amz_date(timestamp)
    raw_expires = params["X-Amz-Expires"]
    if not raw_expires.lstrip("-").isdigit():
        raise MalformedAuth("X-Amz-Expires should be a number")
    expires = int(raw_expires)
    if expires < 1:
        raise ExpiresOutOfRange("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_SECONDS:
        raise ExpiresOutOfRange("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                                f"X-Amz-Expires must be less than {MAX_PRESIGN_SECONDS} seconds")
    access_key, scope = parse_credential(params["X-Amz-Credential"])
    signed = _signed_headers(params["X-Amz-SignedHeaders"])
    return V4Auth(access_key, scope, signed, params["X-Amz-Signature"], timestamp, moment, expires,
                  params.get("X-Amz-Security-Token"))


def check_scope(auth: V4Auth, *, service: str, region: str | None) -> None:
    """The scope must name the request's own day, this endpoint's service and (if configured) region."""
    scope = auth.scope
    if region is not None and scope.region != region:
        raise ScopeMismatch(f"the region '{scope.region}' is wrong; expecting '{region}'", expected_region=region)
    if scope.service != service:
        raise ScopeMismatch(f"incorrect service '{scope.service}'. This endpoint belongs to '{service}'.")
    if scope.date != auth.timestamp[:8]:
        raise ScopeMismatch("Invalid credential date. Date is not the same as X-Amz-Date.")


def build_claim(auth: V4Auth, *, method: str, uri: str, raw_query: str, host: str, headers: Headers,
                payload_hash: str, presigned: bool) -> tuple[SignatureClaim, str]:
    """The claim to verify and the canonical request it was derived from (for error details)."""
    query = canonical_query(raw_query, exclude=("X-Amz-Signature",) if presigned else ())
    signed = ";".join(auth.signed_headers)
    # each signed header's canonical value (absent: empty), worked out once for the canonical request and the claim
    values = tuple((name, header_value(headers.getall(name, ()))) for name in auth.signed_headers)
    creq = v4_canonical_request(method, uri, query, "".join(f"{name}:{value}\n" for name, value in values),
                                signed, payload_hash)
    string_to_sign = v4_string_to_sign(auth.timestamp, auth.scope, creq)
    request = SignedRequest(  # a remote validator (Keystone's ec2tokens) signs the query too: pass it
        method=method, host=host, path=uri,
        params=tuple((k, v) for k, v in parse_query(raw_query) if not (presigned and k == "X-Amz-Signature"))
        if raw_query else (),
        headers=values, body_hash=payload_hash)
    claim = SignatureClaim("v4", auth.access_key, string_to_sign, auth.signature, V4_ALGORITHM, auth.scope,
                           auth.security_token, request)
    return claim, creq
