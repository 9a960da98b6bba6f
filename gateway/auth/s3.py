"""Authentication of S3 REST requests: SigV4 (header, presigned query, aws-chunked) and SigV2 (header,
query). A request without any credentials is anonymous; whether that is allowed is the pipeline's call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from multidict import CIMultiDict, CIMultiDictProxy

from gateway.protocol import errors

from . import sigv4
from .canonical import canonical_uri, parse_query
from .clock import MAX_SKEW_MS, current, iso, parse_any_date, skewed, too_early
from .credentials import CredentialProvider, Identity, SignatureClaim
from .exceptions import (
    ExpiresOutOfRange,
    InvalidDate,
    MalformedAuth,
    ScopeMismatch,
    SecretUnavailable,
    SignatureMismatch,
    TokenExpired,
    TokenInvalid,
    UnknownAccessKey,
)
from .payload import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_SIGV4A,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED,
    ChunkedSignedPayload,
    ChunkedUnsignedPayload,
    Payload,
    SignedPayload,
    UnsignedPayload,
    is_sha256_hex,
    trailer_names,
)
from .request import AuthRequest, AuthResult
from .signing import V4_ALGORITHM
from .sigv2 import parse_s3_header, s3_resource, s3_string_to_sign

SERVICE = "s3"
Headers = CIMultiDictProxy[str] | CIMultiDict[str]
Query = list[tuple[str, str]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEEDS_DATE = "AWS authentication requires a valid Date or x-amz-date header"
_V2_QUERY_PARAMS = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"


async def authenticate_s3(req: AuthRequest, provider: CredentialProvider, *, region: str | None,
                          now: datetime | None = None, sigv2: bool = True) -> AuthResult:
    """The caller's identity (None when anonymous) and what the signature says about the body."""
    moment = current(now)
    headers = req.signing_headers()
    query = parse_query(req.query_string)
    names = {name for name, _ in query}
    authorization = headers.get("Authorization")
    if authorization is not None and (not authorization.strip() or not authorization.isprintable()):
        raise errors.AccessDenied()  # an empty or unreadable Authorization: S3 denies, it does not parse
    query_v4 = bool(names & {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"})
    query_v2 = bool(names & {"AWSAccessKeyId", "Signature"})
    if (authorization is not None) + query_v4 + query_v2 > 1:
        raise errors.InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified", ArgumentName="Authorization")
    if not sigv2 and ((authorization is not None and authorization.strip().partition(" ")[0] == "AWS")
                      or query_v2):
        raise errors.InvalidRequest("The authorization mechanism you have provided is not supported. Please use "
                                    "AWS4-HMAC-SHA256.")
    if authorization is not None:
        scheme = authorization.strip().partition(" ")[0]
        if scheme == V4_ALGORITHM:
            return await _v4(req, provider, region, moment, headers, query, presigned=False)
        if scheme == "AWS":
            return await _v2_header(req, provider, moment, headers, authorization)
        raise errors.InvalidArgument("Unsupported Authorization Type", ArgumentName="Authorization",
                                     ArgumentValue=scheme)
    if query_v4:
        return await _v4(req, provider, region, moment, headers, query, presigned=True)
    if query_v2:
        return await _v2_query(req, provider, moment, headers, query)
    return AuthResult(None, _payload_without_v4(headers))


async def _verify(provider: CredentialProvider, claim: SignatureClaim) -> Identity:
    try:
        return await provider.verify(claim)
    except UnknownAccessKey:
        raise errors.InvalidAccessKeyId(AWSAccessKeyId=claim.access_key) from None
    except TokenExpired:
        raise errors.ExpiredToken() from None
    except TokenInvalid:
        raise errors.InvalidToken() from None
    except SignatureMismatch:
        # The string to sign helps clients debug. The signature is never echoed, nor a session token (SigV2
        # signs it inline); the canonical request is left out because it would carry that token too.
        string_to_sign = claim.string_to_sign
        if claim.security_token:
            string_to_sign = string_to_sign.replace(claim.security_token, "<redacted>")
        raise errors.SignatureDoesNotMatch(AWSAccessKeyId=claim.access_key, StringToSign=string_to_sign) from None


# ---- SigV4 ----------------------------------------------------------------------------------------

async def _v4(req: AuthRequest, provider: CredentialProvider, region: str | None, moment: datetime,
              headers: Headers, query: Query, *, presigned: bool) -> AuthResult:
    malformed = errors.AuthorizationQueryParametersError if presigned else errors.AuthorizationHeaderMalformed
    prefix = "Error parsing the X-Amz-Credential parameter; " if presigned else \
        "The authorization header is malformed; "
    try:
        if presigned:
            auth = sigv4.parse_presigned(dict(reversed(query)))
        else:
            auth = sigv4.parse_header(headers["Authorization"], headers)
        sigv4.check_scope(auth, service=SERVICE, region=region)
    except ScopeMismatch as exc:
        raise malformed(prefix + str(exc), Region=exc.expected_region) from None
    except InvalidDate as exc:
        raise errors.AccessDenied(str(exc)) from None
    except ExpiresOutOfRange as exc:  # S3's status for these is 403, with the query-parameters code
        raise errors.PresignExpiresOutOfRange(str(exc)) from None
    except MalformedAuth as exc:
        message = str(exc) if presigned else prefix + str(exc)
        raise malformed(message) from None
    _check_v4_time(auth, moment)
    # A presigned URL cannot know its body.
    payload_hash = UNSIGNED if presigned else _content_sha256(headers)
    claim, _ = sigv4.build_claim(auth, method=req.method, uri=canonical_uri(req.raw_path, s3=True),
                                 raw_query=req.query_string, host=req.host, headers=headers,
                                 payload_hash=payload_hash, presigned=presigned)
    identity = await _verify(provider, claim)
    if presigned:
        return AuthResult(identity, _payload_without_v4(headers), "v4")
    return AuthResult(identity, await _v4_payload(payload_hash, headers, auth, provider), "v4")


def _check_v4_time(auth: sigv4.V4Auth, moment: datetime) -> None:
    if auth.expires is None:
        if skewed(auth.request_time, moment):
            raise errors.RequestTimeTooSkewed(RequestTime=auth.timestamp, ServerTime=iso(moment),
                                              MaxAllowedSkewMilliseconds=MAX_SKEW_MS)
        return
    expiry = auth.request_time + timedelta(seconds=auth.expires)
    if moment > expiry:
        raise errors.AccessDenied("Request has expired", XAmzExpires=auth.expires, Expires=iso(expiry),
                                  ServerTime=iso(moment))
    if too_early(auth.request_time, moment):
        raise errors.AccessDenied("Request is not valid yet")


def _content_sha256(headers: Headers) -> str:
    value = headers.get("x-amz-content-sha256")
    if value is None:
        raise errors.InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    if value in STREAMING_SIGV4A:
        raise errors.S3NotImplemented("SigV4a streaming payloads are not supported.")
    if value not in (UNSIGNED, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER) \
            and not is_sha256_hex(value):
        raise errors.InvalidArgument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid "
            "sha256 value.", ArgumentName="x-amz-content-sha256", ArgumentValue=value)
    return value


def _decoded_length(headers: Headers) -> int:
    value = headers.get("x-amz-decoded-content-length")
    if value is None:
        raise errors.MissingContentLength()
    if not value.strip().isdigit():
        raise errors.InvalidArgument("x-amz-decoded-content-length must be a non-negative integer.",
                                     ArgumentName="x-amz-decoded-content-length", ArgumentValue=value)
    return int(value)


async def _v4_payload(content_sha256: str, headers: Headers, auth: sigv4.V4Auth,
                      provider: CredentialProvider) -> Payload:
    if content_sha256 in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        decoded = _decoded_length(headers)
        trailer = content_sha256 == STREAMING_SIGNED_TRAILER
        try:
            key = await provider.signing_key(auth.access_key, auth.scope)
        except SecretUnavailable:
            raise errors.S3NotImplemented(
                "Signed aws-chunked uploads are not supported with this credential backend; use "
                "UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER.") from None
        names = trailer_names(headers.get("x-amz-trailer")) if trailer else ()
        return ChunkedSignedPayload(key, auth.signature, auth.scope, auth.timestamp, decoded, names, trailer)
    return _payload_without_v4(headers)


def _payload_without_v4(headers: Headers) -> Payload:
    """Body handling when no SigV4 seed signature is available (SigV2, presigned, anonymous), or the
    payload is not chunk-signed: honour a declared hash and decode unsigned aws-chunked."""
    value = headers.get("x-amz-content-sha256")
    if value is None or value == UNSIGNED:
        return UnsignedPayload()
    if is_sha256_hex(value):
        return SignedPayload(value)
    if value == STREAMING_UNSIGNED_TRAILER:
        return ChunkedUnsignedPayload(_decoded_length(headers), trailer_names(headers.get("x-amz-trailer")))
    if value in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        raise errors.InvalidRequest(f"{value} requires AWS Signature Version 4 in the Authorization header.")
    raise errors.InvalidArgument("Invalid x-amz-content-sha256 value.", ArgumentName="x-amz-content-sha256",
                                 ArgumentValue=value)


# ---- SigV2 ----------------------------------------------------------------------------------------

async def _v2_header(req: AuthRequest, provider: CredentialProvider, moment: datetime, headers: Headers,
                     authorization: str) -> AuthResult:
    parsed = parse_s3_header(authorization)
    if parsed is None:
        raise errors.InvalidArgument("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                                     ArgumentName="Authorization", ArgumentValue="AWS")
    access_key, signature = parsed
    amz_date, date = headers.get("x-amz-date"), headers.get("date")
    raw_time = amz_date if amz_date is not None else date
    if not raw_time:
        raise errors.AccessDenied(_NEEDS_DATE)
    try:
        request_time = parse_any_date(raw_time.strip())
    except MalformedAuth:
        raise errors.AccessDenied(_NEEDS_DATE) from None
    if request_time < _EPOCH:  # S3 takes a date before 1970 for no date at all, not for a skewed one
        raise errors.AccessDenied(_NEEDS_DATE)
    if skewed(request_time, moment):
        raise errors.RequestTimeTooSkewed(RequestTime=raw_time, ServerTime=iso(moment),
                                          MaxAllowedSkewMilliseconds=MAX_SKEW_MS)
    # With x-amz-date present the Date line is empty (x-amz-date is signed among the x-amz- headers).
    date_line = "" if amz_date is not None else (date or "").strip()
    resource = s3_resource(req.raw_path, req.query_string, bucket=req.bucket, virtual_host=req.virtual_host)
    string_to_sign = s3_string_to_sign(req.method, headers, resource, date=date_line)
    claim = SignatureClaim("v2", access_key, string_to_sign, signature, "HmacSHA1",
                           security_token=headers.get("x-amz-security-token"))
    identity = await _verify(provider, claim)
    return AuthResult(identity, _payload_without_v4(headers), "v2")


async def _v2_query(req: AuthRequest, provider: CredentialProvider, moment: datetime, headers: Headers,
                    query: Query) -> AuthResult:
    first = dict(reversed(query))
    access_key, signature, expires = first.get("AWSAccessKeyId"), first.get("Signature"), first.get("Expires")
    if not access_key or not signature or not expires or not expires.isdigit():
        raise errors.AccessDenied(_V2_QUERY_PARAMS)
    try:
        expiry = datetime.fromtimestamp(int(expires), UTC)
    except (OverflowError, OSError, ValueError):  # past year 9999: no date at all
        raise errors.AccessDenied(f"Invalid date (should be seconds since epoch): {expires}") from None
    if moment > expiry:
        raise errors.AccessDenied("Request has expired", Expires=iso(expiry), ServerTime=iso(moment))
    resource = s3_resource(req.raw_path, req.query_string, bucket=req.bucket, virtual_host=req.virtual_host)
    string_to_sign = s3_string_to_sign(req.method, headers, resource, date=expires, query_params=query)
    claim = SignatureClaim("v2", access_key, string_to_sign, signature, "HmacSHA1",
                           security_token=first.get("x-amz-security-token"))
    identity = await _verify(provider, claim)
    return AuthResult(identity, _payload_without_v4(headers), "v2")
