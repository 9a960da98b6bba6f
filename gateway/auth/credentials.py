"""Who may call the gateway: identities, signature claims and the providers that check them.

A provider answers one question — does this claim prove possession of the secret for this access key? —
either locally (it knows the secret: `StaticProvider`, CloudStack's `getUserKeys`) or remotely by
overriding `verify()` (Keystone's `/v3/ec2tokens`, `/v3/s3tokens`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from backends.base import Principal

from .exceptions import SecretUnavailable, SignatureMismatch, UnknownAccessKey
from .signing import V2_METHODS, V4_ALGORITHM, Scope, same, signing_key, v2_sign, v4_sign


@dataclass(frozen=True)
class Identity:
    """Who the caller is, as the gateway sees it."""

    access_key: str
    account_id: str  # the 12-digit AWS account number (OwnerId, STS Account, S3 owner; see accounts.py)
    display_name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)  # opaque backend data (e.g. a project token)
    cloud_account: str = ""  # the cloud's own account id (Keystone project, CloudStack account); "" = account_id

    @property
    def cloud_id(self) -> str:
        """The account as the cloud knows it: what backends and the gateway's per-account state use."""
        return self.cloud_account or self.account_id

    def principal(self) -> Principal:
        """The caller as backends take it (cloud account id, never the AWS number)."""
        return Principal(self.cloud_id, self.display_name, self.attributes)


@dataclass(frozen=True)
class SignedRequest:
    """The signed parts of the request, for remote validators that recompute the signature themselves
    (Keystone's ec2tokens wants host, verb, path, params, headers and body hash rather than a string)."""

    method: str
    host: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body_hash: str | None = None


@dataclass(frozen=True)
class SignatureClaim:
    """A caller's claim: this signature over this string was made with the secret of this access key."""

    version: Literal["v2", "v4"]
    access_key: str
    string_to_sign: str
    signature: str = field(repr=False)
    algorithm: str = V4_ALGORITHM  # v4: AWS4-HMAC-SHA256; v2: HmacSHA256 or HmacSHA1
    scope: Scope | None = None     # v4 only
    security_token: str | None = field(default=None, repr=False)
    request: SignedRequest | None = None

    def expected_signature(self, secret: str) -> str:
        if self.version == "v4":
            if self.scope is None:
                raise ValueError("a SigV4 claim needs its credential scope")
            return v4_sign(signing_key(secret, self.scope), self.string_to_sign)
        if self.algorithm not in V2_METHODS:
            raise ValueError(f"unsupported SigV2 method {self.algorithm!r}")
        return v2_sign(secret, self.string_to_sign, self.algorithm)

    def matches(self, secret: str) -> bool:
        return same(self.expected_signature(secret), self.signature)


class CredentialProvider(abc.ABC):
    """Source of truth for access keys. Subclasses implement `lookup`, or override `verify` when the
    secret never leaves the identity service."""

    @abc.abstractmethod
    async def lookup(self, access_key: str) -> tuple[str, Identity] | None:
        """(secret, identity) for a known key, None for an unknown one."""

    async def verify(self, claim: SignatureClaim) -> Identity:
        """The caller's identity, or UnknownAccessKey / SignatureMismatch."""
        found = await self.lookup(claim.access_key)
        if found is None:
            raise UnknownAccessKey(claim.access_key)
        secret, identity = found
        if not claim.matches(secret):
            raise SignatureMismatch(claim.access_key)
        return identity

    async def identity_for_key(self, access_key: str) -> Identity | None:
        """The identity of a long-term key's holder without a signature of theirs (the key already proved
        itself when it made a session, see sessions.py), or None when unknown or this provider cannot tell."""
        found = await self.lookup(access_key)
        return found[1] if found is not None else None

    async def identity_for_account(self, account_id: str) -> Identity | None:
        """An identity that acts for `account_id` (its owner's), or None when unknown or this provider
        cannot tell. The gateway uses it to reach an owner's storage on another caller's behalf once
        the owner's ACL allowed it (anonymous reads of a public bucket, cross-account grants, the
        lifecycle sweeper): the backend store is per principal."""
        return None

    async def signing_key(self, access_key: str, scope: Scope) -> bytes:
        """SigV4 signing key for aws-chunked chunk signatures; SecretUnavailable when it cannot be derived."""
        found = await self.lookup(access_key)
        if found is None:
            raise SecretUnavailable(access_key)
        return signing_key(found[0], scope)


class StaticProvider(CredentialProvider):
    """Keys from configuration: `[{access_key, secret_key, account_id, display_name, ...extra}]`."""

    def __init__(self, credentials: Mapping[str, tuple[str, Identity]]) -> None:
        self._credentials = dict(credentials)
        # account id -> the first configured identity of that account (configuration order)
        self._by_account: dict[str, Identity] = {}
        for _secret, identity in self._credentials.values():
            self._by_account.setdefault(identity.account_id, identity)

    @classmethod
    def from_config(cls, entries: list[dict[str, Any]]) -> StaticProvider:
        credentials: dict[str, tuple[str, Identity]] = {}
        for index, entry in enumerate(entries):
            extra = dict(entry)
            try:
                access_key = str(extra.pop("access_key"))
                secret_key = str(extra.pop("secret_key"))
                account_id = str(extra.pop("account_id"))
            except KeyError as missing:
                raise ValueError(f"credentials[{index}]: missing {missing.args[0]}") from None
            if not access_key or not secret_key:
                raise ValueError(f"credentials[{index}]: access_key and secret_key must not be empty")
            if access_key in credentials:
                raise ValueError(f"credentials[{index}]: duplicate access key {access_key}")
            display_name = str(extra.pop("display_name", access_key))
            identity = Identity(access_key, account_id, display_name, extra)
            credentials[access_key] = (secret_key, identity)
        return cls(credentials)

    async def lookup(self, access_key: str) -> tuple[str, Identity] | None:
        return self._credentials.get(access_key)

    async def identity_for_account(self, account_id: str) -> Identity | None:
        return self._by_account.get(account_id)
