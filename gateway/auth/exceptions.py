"""Neutral authentication outcomes, raised by credential providers and the signature code.

They carry no AWS code: the same failure is `AuthFailure` for EC2 and `SignatureDoesNotMatch` for S3, so
the service glue (`ec2.py`, `s3.py`) maps them. Messages never contain secrets or signatures.
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of the neutral authentication failures."""


class UnknownAccessKey(AuthError):
    """The access key is not known to the provider."""


class SignatureMismatch(AuthError):
    """The key exists but the signature does not match."""


class TokenInvalid(AuthError):
    """A security token that is not one of ours, belongs to another key, or outlived its parent key."""


class TokenExpired(AuthError):
    """A session token past its expiry."""


class SecretUnavailable(AuthError):
    """The provider cannot reveal the secret (remote validator), so signed aws-chunked bodies cannot be checked."""


class MalformedAuth(AuthError):
    """The signature material (header, query parameters, dates) cannot be parsed."""


class ExpiresOutOfRange(MalformedAuth):
    """A presigned URL's X-Amz-Expires is a number outside 1..604800 (S3 answers 403, not 400)."""


class InvalidDate(MalformedAuth):
    """The request time (X-Amz-Date or Date header) is missing or unparseable."""


class ScopeMismatch(AuthError):
    """A well-formed SigV4 credential scope names the wrong date, region, service or terminator."""

    def __init__(self, message: str, *, expected_region: str | None = None) -> None:
        super().__init__(message)
        self.expected_region = expected_region
