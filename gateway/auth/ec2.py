"""Authentication of EC2 query API requests (SigV4 header or presigned query, SigV2 query parameters)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from gateway.protocol import errors

from . import sigv4
from .canonical import canonical_uri, parse_query
from .clock import current, parse_timestamp, skewed, too_early
from .credentials import CredentialProvider, Identity, SignatureClaim, SignedRequest
from .exceptions import (
    MalformedAuth,
    ScopeMismatch,
    SignatureMismatch,
    TokenExpired,
    TokenInvalid,
    UnknownAccessKey,
)
from .payload import SignedPayload, UnsignedPayload
from .request import AuthRequest, AuthResult
from .signing import V2_METHODS, V4_ALGORITHM, sha256_hex
from .sigv2 import ec2_string_to_sign

SERVICE = "ec2"
_V2_MARKERS = frozenset({"AWSAccessKeyId", "Signature", "SignatureVersion"})


async def authenticate_ec2(req: AuthRequest, provider: CredentialProvider, *, region: str | None,
                           now: datetime | None = None) -> AuthResult:
    """The caller's identity, or the EC2 error: AuthFailure, MissingAuthenticationToken, RequestExpired,
    IncompleteSignature."""
    moment = current(now)
    headers = req.signing_headers()
    authorization = headers.get("Authorization")
    if authorization is not None:
        if authorization.strip().partition(" ")[0] != V4_ALGORITHM:
            raise errors.IncompleteSignature(f"Authorization header must use {V4_ALGORITHM}.")
        return await _v4(req, provider, region, moment, presigned=False)
    if any(name == "X-Amz-Algorithm" for name, _ in parse_query(req.query_string)):
        return await _v4(req, provider, region, moment, presigned=True)
    params = _params(req)
    if any(name in _V2_MARKERS for name, _ in params):
        return await _v2(req, params, provider, moment)
    raise errors.MissingAuthenticationToken()


def _params(req: AuthRequest) -> list[tuple[str, str]]:
    if req.form is not None:
        return list(req.form)
    source = req.body.decode("utf-8", "replace") if req.body else req.query_string
    return parse_qsl(source, keep_blank_values=True)


async def _verify(provider: CredentialProvider, claim: SignatureClaim) -> Identity:
    try:
        return await provider.verify(claim)
    except TokenExpired:
        raise errors.RequestExpired() from None  # what EC2 answers for expired temporary credentials
    except (UnknownAccessKey, SignatureMismatch, TokenInvalid):
        raise errors.AuthFailure() from None


async def _v4(req: AuthRequest, provider: CredentialProvider, region: str | None, moment: datetime, *,
              presigned: bool) -> AuthResult:
    headers = req.signing_headers()
    try:
        if presigned:
            auth = sigv4.parse_presigned(dict(reversed(parse_query(req.query_string))))
        else:
            auth = sigv4.parse_header(headers["Authorization"], headers)
        sigv4.check_scope(auth, service=SERVICE, region=region)
    except ScopeMismatch as exc:
        raise errors.AuthFailure(f"Credential should be scoped correctly: {exc}") from None
    except MalformedAuth as exc:
        raise errors.IncompleteSignature(str(exc)) from None
    if auth.expires is not None:
        if moment > auth.request_time + timedelta(seconds=auth.expires) or too_early(auth.request_time, moment):
            raise errors.RequestExpired()
    elif skewed(auth.request_time, moment):
        raise errors.RequestExpired(f"Request has expired. Timestamp date is {auth.timestamp}.")
    payload_hash = sha256_hex(req.body or b"")
    claim, _ = sigv4.build_claim(auth, method=req.method, uri=canonical_uri(req.raw_path, s3=False),
                                 raw_query=req.query_string, host=req.host, headers=headers,
                                 payload_hash=payload_hash, presigned=presigned)
    identity = await _verify(provider, claim)
    return AuthResult(identity, SignedPayload(payload_hash), "v4")


async def _v2(req: AuthRequest, params: list[tuple[str, str]], provider: CredentialProvider,
              moment: datetime) -> AuthResult:
    first: dict[str, str] = dict(reversed(params))
    access_key, signature = first.get("AWSAccessKeyId"), first.get("Signature")
    if not access_key and not signature:
        raise errors.MissingAuthenticationToken()
    if not access_key or not signature:
        raise errors.IncompleteSignature("Request must contain both AWSAccessKeyId and Signature.")
    if first.get("SignatureVersion") != "2":
        raise errors.AuthFailure("Only SignatureVersion 2 and AWS Signature Version 4 are supported.")
    method = first.get("SignatureMethod", "")
    if method not in V2_METHODS:
        raise errors.IncompleteSignature("SignatureMethod must be HmacSHA256 or HmacSHA1.")
    _check_v2_time(first.get("Timestamp"), first.get("Expires"), moment)
    string_to_sign = ec2_string_to_sign(req.method, req.host, req.raw_path, params)
    claim = SignatureClaim("v2", access_key, string_to_sign, signature, method,
                           security_token=first.get("SecurityToken"),
                           request=SignedRequest(req.method, req.host, req.raw_path or "/", tuple(params)))
    identity = await _verify(provider, claim)
    return AuthResult(identity, UnsignedPayload(), "v2")  # the signature covers the parameters, i.e. the body


def _check_v2_time(timestamp: str | None, expires: str | None, moment: datetime) -> None:
    if timestamp is None and expires is None:
        raise errors.MissingParameter("Request must contain either a valid (unexpired) Timestamp or "
                                      "Expires parameter.")
    for name, value in (("Timestamp", timestamp), ("Expires", expires)):
        if value is None:
            continue
        try:
            when = parse_timestamp(value)
        except MalformedAuth:
            raise errors.InvalidParameterValue(f"Value ({value}) for parameter {name} is invalid.") from None
        if (name == "Timestamp" and skewed(when, moment)) or (name == "Expires" and moment > when):
            raise errors.RequestExpired(f"Request has expired. {name} date is {value}.")
