"""Object storage for OpenStack callers: Swift behind Keystone (authtoken + keystoneauth), reached with
the caller's own project-scoped token.

The token is the one Keystone gave for the caller's EC2 key (`/v3/ec2tokens`, or the cached one the
validator keeps while it has time left); the storage URL is the `object-store` endpoint of that token's
catalog, i.e. the project's account `AUTH_<project_id>`. The gateway holds no Swift credentials: isolation
between projects is Swift's and Keystone's job, exactly as for Nova or Cinder.

One `ProjectToken` per (project, token): Swift's client vouches for a token it has seen accepted and then
streams uploads without `Expect: 100-continue`; a token refused with 401 is dropped from the validator's
cache (the next request revalidates at Keystone) and the call fails `Forbidden`, as the compute side does.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from backends import base

from .catalog import Catalog
from .swift import SwiftClient, Token, TokenSource
from .swift_backend import CACHE_SECONDS, SwiftObjectStore
from .swift_state import ContainerStates

MAX_PROJECTS = 10_000  # token sources and container-state caches kept, least recently used dropped


class ProjectToken(TokenSource):
    """A caller's project token as a Swift token source: it is never fetched here, only handed over."""

    def __init__(self, token: Token, on_refused: Callable[[], None]) -> None:
        super().__init__()
        self._token = token
        self._on_refused = on_refused

    async def _fetch(self, client: SwiftClient) -> Token:  # pragma: no cover - get() never calls it
        return self._token

    async def get(self, client: SwiftClient, *, stale: Token | None = None) -> Token:
        if stale is not None:
            self._on_refused()
            raise base.Forbidden("Swift refused the caller's project token (revoked or expired)")
        return self._token


class KeystoneObjectStores:
    """Builds the caller's `SwiftObjectStore`; keeps per-project token sources and container states."""

    def __init__(self, *, interface: str, region: str | None, forget: Callable[[str], None],
                 endpoint_override: Mapping[str, str] | None = None) -> None:
        self.interface, self.region, self._forget = interface, region, forget
        self.endpoint_override = dict(endpoint_override or {})
        self._projects: OrderedDict[str, tuple[str, ProjectToken, ContainerStates]] = OrderedDict()

    def store(self, client: SwiftClient, principal: Any) -> SwiftObjectStore:
        attrs = getattr(principal, "attributes", None) or {}
        token_id, catalog = attrs.get("token"), attrs.get("catalog")
        if not token_id or not isinstance(catalog, Catalog):
            raise base.Forbidden("this caller has no OpenStack token (authenticate with a Keystone EC2 key)")
        project = str(attrs.get("project_id") or principal.account_id)
        storage_url = catalog.url("object-store", interface=self.interface, region=self.region,
                                  override=self.endpoint_override)
        hit = self._projects.get(project)
        if hit is not None and hit[0] == token_id:
            self._projects.move_to_end(project)
            return SwiftObjectStore(client, hit[1], hit[2])
        expires = attrs.get("expires")
        deadline = time.monotonic() + expires.timestamp() - time.time() if expires is not None else None
        access_key = str(attrs.get("access_key") or "")
        # a refused token: the caller's key revalidates next time; the service token (owners.py) is renewed
        on_refused = attrs.get("on_refused")
        if not callable(on_refused):
            on_refused = (lambda: self._forget(access_key)) if access_key else (lambda: None)
        source = ProjectToken(Token(str(token_id), storage_url, deadline), on_refused)
        states = hit[2] if hit is not None else ContainerStates(CACHE_SECONDS)
        self._projects[project] = (str(token_id), source, states)
        self._projects.move_to_end(project)
        while len(self._projects) > MAX_PROJECTS:
            self._projects.popitem(last=False)
        return SwiftObjectStore(client, source, states)
