"""A CredentialProvider backed by the cloud's own identity service: the gateway holds no user secrets.

Through the backend's neutral authority: a `SecretSource` (CloudStack) reveals the caller's secret and the
gateway verifies the signature here (gateway/auth's SigV4/SigV2 are the only AWS signing code); a
`SignatureValidator` (Keystone) checks the signature itself."""

from __future__ import annotations

from collections.abc import Callable

from backends import base

from .accounts import AccountNumbers, is_number
from .clock import current
from .credentials import CredentialProvider, Identity, SignatureClaim, SignedRequest
from .exceptions import SignatureMismatch, UnknownAccessKey
from .signing import v2_sign
from .sigv2 import ec2_string_to_sign

_SELF_HOST = "cloudgate.internal"  # the Host of the requests the gateway signs for a key it acts for


async def _identity(access_key: str, principal: base.Principal, accounts: AccountNumbers | None) -> Identity:
    """The gateway's identity for a cloud principal: its account shown as an AWS account number (accounts.py),
    the cloud's id kept for the backends. Without `accounts` (unit tests of the provider) the cloud id shows."""
    cloud = principal.account_id
    number = await accounts.number(cloud) if accounts is not None else cloud
    return Identity(access_key, number, principal.display_name, principal.attributes, cloud_account=cloud)


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
    def __init__(self, validator: base.SecretSource, accounts: AccountNumbers | None = None) -> None:
        self.validator = validator
        self.accounts = accounts

    async def lookup(self, access_key: str) -> tuple[str, Identity] | None:
        found = await self.validator.secret(access_key)
        if found is None:
            return None
        secret, principal = found
        return secret, await _identity(access_key, principal, self.accounts)

    async def identity_for_key(self, access_key: str) -> Identity | None:
        """The key's holder: from the authority's cache, else by a request the gateway signs with the secret
        it reads with its service rights and has the authority validate (a Keystone key's project token)."""
        found = await self.lookup(access_key)
        if found is not None:
            return found[1]
        if not isinstance(self.validator, base.SignatureValidator):
            return None
        secret = await self.validator.stored_secret(access_key)
        if not secret:
            return None
        params = [("AWSAccessKeyId", access_key), ("Action", "GetCallerIdentity"), ("SignatureMethod", "HmacSHA256"),
                  ("SignatureVersion", "2"), ("Timestamp", current(None).strftime("%Y-%m-%dT%H:%M:%SZ"))]
        string_to_sign = ec2_string_to_sign("POST", _SELF_HOST, "/", params)
        claim = SignatureClaim("v2", access_key, string_to_sign, v2_sign(secret, string_to_sign), "HmacSHA256",
                               request=SignedRequest("POST", _SELF_HOST, "/", tuple(params)))
        try:
            return await self.verify(claim)
        except (UnknownAccessKey, SignatureMismatch):
            return None

    async def identity_for_account(self, account_id: str) -> Identity | None:
        """The account's storage as the cloud's authority reaches it with the gateway's service rights
        (`SecretSource.principal_for_account`), for requests the account's ACL or policy allowed. `account_id`
        is an AWS account number as the gateway shows it (a cloud id recorded before numbers existed works too)."""
        cloud = account_id
        if self.accounts is not None and is_number(account_id):
            cloud = await self.accounts.cloud(account_id) or ""
        elif is_number(account_id) or not account_id:
            return None
        principal = await self.validator.principal_for_account(cloud) if cloud else None
        return await _identity("", principal, self.accounts) if principal is not None else None

    async def verify(self, claim: SignatureClaim) -> Identity:
        if not isinstance(self.validator, base.SignatureValidator):
            return await super().verify(claim)  # the secret, then the local check
        req = claim.request
        if req is None and claim.string_to_sign:
            return await self._verify_document(claim)
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
        return await _identity(claim.access_key, principal, self.accounts)

    async def _verify_document(self, claim: SignatureClaim) -> Identity:
        """A signature over a document rather than a request (a browser POST form's policy): the authority
        rebuilds request signatures only, so the secret (cached, else read with the gateway's service
        rights) checks it here, and the key's holder comes from a request the gateway signs for it."""
        assert isinstance(self.validator, base.SignatureValidator)
        found = await self.lookup(claim.access_key)
        secret = found[0] if found is not None else await self.validator.stored_secret(claim.access_key)
        if not secret:
            raise UnknownAccessKey(claim.access_key)
        if not claim.matches(secret):
            raise SignatureMismatch(claim.access_key)
        identity = found[1] if found is not None else await self.identity_for_key(claim.access_key)
        if identity is None:
            raise UnknownAccessKey(claim.access_key)
        return identity
