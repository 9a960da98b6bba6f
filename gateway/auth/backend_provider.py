"""A CredentialProvider backed by the cloud's own identity service: the gateway holds no user secrets.

Through the backend's neutral authority: a `SecretSource` (CloudStack) reveals the caller's secret and the
gateway verifies the signature here (gateway/auth's SigV4/SigV2 are the only AWS signing code); a
`SignatureValidator` (Keystone) checks the signature itself."""

from __future__ import annotations

from collections.abc import Callable

from backends import base

from .credentials import CredentialProvider, Identity, SignatureClaim
from .exceptions import SignatureMismatch, UnknownAccessKey


def _identity(access_key: str, principal: base.Principal) -> Identity:
    return Identity(access_key, principal.account_id, principal.display_name, principal.attributes)


def _matcher(claim: SignatureClaim) -> Callable[[str], bool | None]:
    """The claim's local check for a validator holding the secret (Keystone's warm keys)."""
    def matches(secret: str) -> bool | None:
        if not claim.string_to_sign:
            return None
        try:
            return claim.matches(secret)
        except ValueError:  # a claim this code cannot recompute (no SigV4 scope, unknown SigV2 method)
            return None
    return matches


class BackendCredentialProvider(CredentialProvider):
    def __init__(self, validator: base.SecretSource) -> None:
        self.validator = validator

    async def lookup(self, access_key: str) -> tuple[str, Identity] | None:
        found = await self.validator.secret(access_key)
        if found is None:
            return None
        secret, principal = found
        return secret, _identity(access_key, principal)

    async def verify(self, claim: SignatureClaim) -> Identity:
        if not isinstance(self.validator, base.SignatureValidator):
            return await super().verify(claim)  # the secret, then the local check
        req = claim.request
        check = base.SignatureCheck(
            version=claim.version, access_key=claim.access_key, signature=claim.signature,
            string_to_sign=claim.string_to_sign,
            method=req.method if req else "", host=req.host if req else "", path=req.path if req else "",
            params=req.params if req else (), headers=req.headers if req else (),
            body_hash=req.body_hash if req else None,
            scope=(claim.scope.date, claim.scope.region, claim.scope.service) if claim.scope else None,
            matches=_matcher(claim))
        try:
            principal = await self.validator.validate(check)
        except base.UnknownKey:
            raise UnknownAccessKey(claim.access_key) from None
        except base.BadSignature:
            raise SignatureMismatch(claim.access_key) from None
        return _identity(claim.access_key, principal)
