"""Authentication of S3 browser-based POST uploads: the form signs its own base64 policy document.

SigV4: `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature` = hex HMAC-SHA256 of the
policy with the scope's signing key. SigV2: `AWSAccessKeyId`, `signature` = base64 HMAC-SHA1 of the policy.
A form with none of these (and no policy) is anonymous. The claim goes to the same credential provider as
every other request, so unknown keys and bad signatures answer exactly as they do for headers.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.protocol import errors

from . import sigv4
from .clock import parse_amz_date
from .credentials import CredentialProvider, SignatureClaim
from .exceptions import MalformedAuth, ScopeMismatch
from .payload import UnsignedPayload
from .request import AuthResult
from .s3 import SERVICE, _verify
from .signing import V4_ALGORITHM

_V4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
_V2_FIELDS = ("awsaccesskeyid", "signature")
# How S3 names the fields in its "must contain a field named ..." messages.
_SPELLING = {"awsaccesskeyid": "AWSAccessKeyId", "signature": "Signature", "policy": "Policy"}


def _missing(name: str) -> errors.AwsError:
    shown = _SPELLING.get(name, name)
    return errors.InvalidArgument(f"Bucket POST must contain a field named '{shown}'.  If it is specified, "
                                  "please check the order of the fields.", ArgumentName=shown, ArgumentValue="")


async def authenticate_post(fields: Mapping[str, str], provider: CredentialProvider, *,
                            region: str | None) -> AuthResult:
    """`fields`: the form fields before the file, lower-case names. The caller's identity, or None when
    the form carries no credentials at all."""
    v4 = any(name in fields for name in _V4_FIELDS)
    v2 = any(name in fields for name in _V2_FIELDS)
    if not v4 and not v2 and "policy" not in fields:
        return AuthResult(None, UnsignedPayload())
    if v4 and v2:
        raise errors.InvalidArgument("Only one auth mechanism allowed; only the X-Amz-Algorithm or the "
                                     "AWSAccessKeyId form field should be specified",
                                     ArgumentName="AWSAccessKeyId")
    names = _V4_FIELDS if v4 else _V2_FIELDS
    for name in (*names, "policy") if (v4 or v2) else ("awsaccesskeyid",):
        if not fields.get(name):
            raise _missing(name)
    policy = fields["policy"]
    token = fields.get("x-amz-security-token")
    if v2:
        claim = SignatureClaim("v2", fields["awsaccesskeyid"], policy, fields["signature"], "HmacSHA1",
                               security_token=token)
        return AuthResult(await _verify(provider, claim), UnsignedPayload(), "v2")
    if fields["x-amz-algorithm"] != V4_ALGORITHM:
        raise errors.InvalidArgument(f"X-Amz-Algorithm only supports \"{V4_ALGORITHM}\"",
                                     ArgumentName="x-amz-algorithm", ArgumentValue=fields["x-amz-algorithm"])
    timestamp = fields["x-amz-date"]
    try:
        moment = parse_amz_date(timestamp.strip())
    except MalformedAuth as exc:
        raise errors.InvalidArgument(str(exc), ArgumentName="x-amz-date", ArgumentValue=timestamp) from None
    try:
        access_key, scope = sigv4.parse_credential(fields["x-amz-credential"])
        auth = sigv4.V4Auth(access_key, scope, ("host",), fields["x-amz-signature"], timestamp.strip(), moment)
        sigv4.check_scope(auth, service=SERVICE, region=region)
    except ScopeMismatch as exc:
        raise errors.InvalidArgument(f"Error parsing the X-Amz-Credential parameter; {exc}",
                                     ArgumentName="x-amz-credential",
                                     ArgumentValue=fields["x-amz-credential"]) from None
    except MalformedAuth as exc:
        raise errors.InvalidArgument(str(exc), ArgumentName="x-amz-credential",
                                     ArgumentValue=fields["x-amz-credential"]) from None
    claim = SignatureClaim("v4", access_key, policy, fields["x-amz-signature"], V4_ALGORITHM, scope,
                           security_token=token)
    return AuthResult(await _verify(provider, claim), UnsignedPayload(), "v4")
