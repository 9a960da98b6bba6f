"""Request authentication for the gateway: SigV4 and SigV2 for EC2 and S3, verified aws-chunked bodies,
and the credential providers that know who holds which key.

Entry points: `authenticate_ec2()` and `authenticate_s3()` take an `AuthRequest` and a
`CredentialProvider` and return an `AuthResult` (identity plus a body reader for S3 streaming bodies),
or raise the service's AWS error from `gateway.protocol.errors`.
"""

from .body import BodyReader
from .credentials import CredentialProvider, Identity, SignatureClaim, SignedRequest, StaticProvider
from .ec2 import authenticate_ec2
from .exceptions import AuthError, SecretUnavailable, SignatureMismatch, UnknownAccessKey
from .payload import ChunkedSignedPayload, ChunkedUnsignedPayload, Payload, SignedPayload, UnsignedPayload
from .request import AuthRequest, AuthResult
from .s3 import authenticate_s3
from .signing import Scope

__all__ = [
    "AuthError", "AuthRequest", "AuthResult", "BodyReader", "ChunkedSignedPayload", "ChunkedUnsignedPayload",
    "CredentialProvider", "Identity", "Payload", "Scope", "SecretUnavailable", "SignatureClaim",
    "SignatureMismatch", "SignedPayload", "SignedRequest", "StaticProvider", "UnknownAccessKey",
    "UnsignedPayload", "authenticate_ec2", "authenticate_s3",
]
