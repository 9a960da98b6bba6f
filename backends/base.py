"""The neutral contract between the gateway and a cloud: errors, dataclass models, interfaces.

Nothing here knows AWS wire formats or any particular cloud. The gateway (AWS semantics) calls these
interfaces; `backends.openstack` / `backends.cloudstack` implement them. Every method is async and must
answer within the backend's deadline: a slow or dead cloud raises `Unavailable`, never hangs a request.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compute import Compute
    from .network import Network


# ---- errors ---------------------------------------------------------------------------------------------
class BackendError(Exception):
    """Base of the neutral errors; the gateway maps each to the exact AWS error for the action."""


class NotFound(BackendError):
    """`kind` says what is missing: "container", "object", "version", ... (the AWS code depends on it)."""

    def __init__(self, message: str = "", kind: str = "") -> None:
        super().__init__(message or f"{kind or 'resource'} not found")
        self.kind = kind


class AlreadyExists(BackendError):
    pass


class Conflict(BackendError):
    """The resource is in a state that forbids the change (a non-empty container, a volume in use...)."""


class PreconditionFailed(BackendError):
    pass


class ChecksumMismatch(BackendError):
    """The data stored does not match the digest the caller declared."""


class RangeNotSatisfiable(BackendError):
    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for size {size}")
        self.size = size


class Forbidden(BackendError):
    pass


class InvalidInput(BackendError):
    """The cloud refused a value the gateway could not check itself (the message says which)."""


class QuotaExceeded(BackendError):
    pass


class Unavailable(BackendError):
    """The cloud did not answer in time, refused connections, or answered 5xx."""


class NotSupported(BackendError):
    """This backend has no such concept (e.g. a cloud without object storage)."""


class UnknownKey(BackendError):
    """The identity service does not know this access key."""


class BadSignature(BackendError):
    """The identity service knows the key but the signature does not verify."""


# ---- identity ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """A caller as the cloud knows them: the account (project) and what the backend needs to act for
    them (e.g. a project-scoped token and its catalog), opaque to the gateway."""

    account_id: str
    display_name: str
    attributes: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SignatureCheck:
    """An AWS signature for a cloud's identity service to validate (Keystone /v3/ec2tokens recomputes it
    from the request parts; others compare against `string_to_sign`)."""

    version: str  # "v2" | "v4"
    access_key: str
    signature: str = field(repr=False)
    string_to_sign: str = ""
    method: str = ""
    host: str = ""
    path: str = ""
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body_hash: str | None = None
    scope: tuple[str, str, str] | None = None  # v4: (date, region, service)
    # The gateway's check of this signature against a secret (its SigV4/SigV2 code: backends hold no AWS
    # signing code): True/False, or None when it cannot be checked locally; None = no local check offered.
    matches: Callable[[str], bool | None] | None = field(default=None, repr=False, compare=False)


class SecretSource(abc.ABC):
    """A cloud-side authority for AWS access keys that reveals the caller's secret (CloudStack user keys):
    the gateway verifies the signature itself with it (backends hold no AWS signing code)."""

    @abc.abstractmethod
    async def secret(self, access_key: str) -> tuple[str, Principal] | None:
        """(secret, principal) for a known key, None for an unknown one; Unavailable when the authority
        cannot be asked."""

    async def principal_for_account(self, account_id: str) -> Principal | None:
        """A principal whose object store is cloud account `account_id`'s, acting with the gateway's own
        service rights (the gateway asks only once the account's ACL or policy allowed a request), or None
        when the authority cannot act for it (no such rights, unknown account)."""
        return None


class SignatureValidator(SecretSource):
    """An authority that validates signatures itself (Keystone /v3/ec2tokens), revealing a secret only
    when it can (then the gateway verifies locally)."""

    @abc.abstractmethod
    async def validate(self, check: SignatureCheck) -> Principal:
        """The caller, or UnknownKey / BadSignature / Unavailable."""

    async def secret(self, access_key: str) -> tuple[str, Principal] | None:
        """(secret, principal) when the authority can reveal it (needed for signed aws-chunked
        uploads), else None."""
        return None

    async def stored_secret(self, access_key: str) -> str | None:
        """The key's secret read with the gateway's service rights, without a caller's signature, or None
        (unknown key, or no such rights). Lets the gateway act for a key that proved itself earlier
        (temporary credentials made from it)."""
        return None


# ---- object storage models ----------------------------------------------------------------------------------
@dataclass
class ContainerInfo:
    name: str
    object_count: int = 0
    bytes_used: int = 0
    created: dt.datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # user metadata, lower-case names
    versioning: bool | None = None  # True enabled, False suspended, None never enabled


@dataclass
class ObjectInfo:
    key: str
    size: int
    etag: str  # hex MD5 of the content (no quotes); for a manifest, the backend's manifest etag
    last_modified: dt.datetime
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)  # user metadata, lower-case names
    # Gateway-private metadata (e.g. the S3 multipart ETag), stored with the object, never shown as
    # user metadata. Small values only (the backend may cap name and value lengths).
    private: dict[str, str] = field(default_factory=dict)
    # Standard content headers stored with the object: content-encoding, content-disposition,
    # content-language, cache-control, expires (lower-case names).
    headers: dict[str, str] = field(default_factory=dict)
    version_id: str | None = None
    is_latest: bool = True
    delete_marker: bool = False
    manifest: bool = False  # a segmented (multipart) object


@dataclass
class Listing:
    objects: list[ObjectInfo]
    prefixes: list[str]  # common prefixes when a delimiter was given
    truncated: bool
    next_marker: str | None = None  # the last key (or key + version) returned, to continue from


@dataclass
class ByteRange:
    """A resolved byte range of an object: first and last byte (inclusive) and the object's size."""

    first: int
    last: int
    size: int


@dataclass
class Segment:
    """One part of a segmented object, by location: what an S3 multipart completion stitches."""

    container: str
    key: str
    etag: str
    size: int


ObjectBody = AsyncIterator[bytes]


class ObjectStore(abc.ABC):
    """Object storage as seen by one caller (already authenticated and scoped to their account)."""

    # containers
    @abc.abstractmethod
    async def list_containers(self) -> list[ContainerInfo]: ...

    @abc.abstractmethod
    async def create_container(self, name: str, metadata: Mapping[str, str] | None = None) -> bool:
        """Create; False when the caller already owns it. AlreadyExists when someone else does."""

    @abc.abstractmethod
    async def head_container(self, name: str) -> ContainerInfo:
        """NotFound when absent (or not visible to the caller)."""

    @abc.abstractmethod
    async def set_container_metadata(self, name: str, metadata: Mapping[str, str],
                                     remove: tuple[str, ...] = ()) -> None: ...

    @abc.abstractmethod
    async def set_versioning(self, name: str, enabled: bool) -> None: ...

    @abc.abstractmethod
    async def delete_container(self, name: str) -> None:
        """NotFound; Conflict when it still holds objects."""

    # objects
    @abc.abstractmethod
    async def put_object(self, container: str, key: str, body: ObjectBody, *, size: int | None,
                         content_type: str | None = None, metadata: Mapping[str, str] | None = None,
                         private: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                         md5: str | None = None, if_none_match: bool = False) -> ObjectInfo:
        """Stream `body` in. `md5` (hex), when given, is verified by the backend (ChecksumMismatch, and
        nothing is stored); if_none_match=True fails with PreconditionFailed when the key exists.
        Returns at least etag, size, last_modified and version_id."""

    @abc.abstractmethod
    async def get_object(self, container: str, key: str, *, version_id: str | None = None,
                         byte_range: tuple[int | None, int | None] | None = None
                         ) -> tuple[ObjectInfo, ByteRange | None, ObjectBody]:
        """Stream an object out. byte_range=(first, last) as in HTTP Range (either may be None: (None, n)
        is the last n bytes); the resolved range comes back. The body must be fully consumed or
        closed (`aclose()`); it yields chunks as they arrive (backpressure, bounded memory)."""

    @abc.abstractmethod
    async def head_object(self, container: str, key: str, *, version_id: str | None = None) -> ObjectInfo: ...

    @abc.abstractmethod
    async def delete_object(self, container: str, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        """Delete (or, in a versioned container without version_id, add a delete marker: returned with
        delete_marker=True). NotFound only for an explicit version_id that does not exist."""

    @abc.abstractmethod
    async def copy_object(self, src_container: str, src_key: str, dst_container: str, dst_key: str, *,
                          src_version_id: str | None = None, content_type: str | None = None,
                          metadata: Mapping[str, str] | None = None, private: Mapping[str, str] | None = None,
                          headers: Mapping[str, str] | None = None) -> ObjectInfo:
        """Server-side copy. metadata/headers None = keep the source's; given = replace them."""

    async def expect_manifests(self, container: str) -> None:
        """A multipart upload into `container` started: `put_manifest` may follow. Backends whose
        deletes must know ahead which containers can hold manifests prepare here; others do nothing."""
        return None

    async def may_hold_delete_markers(self, container: str) -> bool:
        """False when `container` can hold no delete marker (versioning never enabled), so a missing key
        needs no look for one. Backends that can't tell cheaply answer True. NotFound when absent."""
        return True

    @abc.abstractmethod
    async def list_objects(self, container: str, *, prefix: str = "", delimiter: str | None = None,
                           marker: str | None = None, version_marker: str | None = None, limit: int = 1000,
                           versions: bool = False) -> Listing:
        """Keys in byte order after `marker`. versions=True lists every version and delete marker."""

    @abc.abstractmethod
    async def put_manifest(self, container: str, key: str, segments: list[Segment], *,
                           content_type: str | None = None, metadata: Mapping[str, str] | None = None,
                           private: Mapping[str, str] | None = None,
                           headers: Mapping[str, str] | None = None) -> ObjectInfo:
        """Create `key` as the concatenation of `segments` without copying data (InvalidInput when a
        segment's etag or size doesn't match what is stored)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release per-caller resources (most stores hold none)."""
        return


class Backend:
    """One configured cloud. Built once from config; `start` before serving, `close` at shutdown."""

    name: str = "backend"

    async def start(self) -> None:
        """Connect, discover endpoints, warm caches (optional)."""
        return

    async def close(self) -> None:
        """Release sessions and connections (optional)."""
        return

    async def object_store(self, principal: Any) -> ObjectStore:
        """The object store as `principal` (the gateway's authenticated identity) sees it."""
        raise NotSupported(f"{self.name} has no object storage")

    async def compute(self, principal: Any) -> Compute:
        """Compute, images, volumes and addresses as `principal` sees them (see backends/compute.py)."""
        raise NotSupported(f"{self.name} has no compute service")

    async def network(self, principal: Any) -> Network:
        """VPC networking (private networks, subnets, routers, ports) as `principal` sees it
        (see backends/network.py)."""
        raise NotSupported(f"{self.name} has no VPC networking")

    def signature_validator(self) -> SecretSource | None:
        """The cloud's authority for AWS keys (a `SignatureValidator`: Keystone /v3/ec2tokens; a
        `SecretSource`: CloudStack getUserKeys), or None when the gateway's configured static keys are used."""
        return None
