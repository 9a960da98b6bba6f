"""What the OpenStack adapter's parts share, below them all: `Shared` (one per configured cloud: the HTTP
client, the service token, the Keystone validator, settings and small caches) and `Caller` (one per request:
the caller's project-scoped Nova, Neutron, Glance and Cinder clients).

`backend.py` builds them; `compute.py` and `network.py` take a `Caller`; none of them imports another
upward, so the adapter has no import loop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from backends import base

from . import vpc_mapping as vm
from .catalog import Catalog
from .cinder import Cinder
from .glance import Glance
from .http import HttpClient
from .keystone import KeystoneValidator, ServiceAuth
from .neutron import Neutron
from .nova import Nova

T = TypeVar("T")
_CACHE_TTL = 300.0  # flavors and external networks change rarely


class Shared:
    def __init__(self, http: HttpClient, service_auth: ServiceAuth, validator: KeystoneValidator | None, *,
                 region: str | None = None, interface: str = "public", public_network: str | None = None,
                 encrypted_volume_type: str | None = None,
                 endpoint_override: Mapping[str, str] | None = None) -> None:
        self.http = http
        self.endpoint_override = dict(endpoint_override or {})
        self.service_auth = service_auth
        self.validator = validator
        self.region = region
        self.interface = interface
        self.public_network = public_network
        self.encrypted_volume_type = encrypted_volume_type
        self._cache: dict[Any, tuple[float, Any]] = {}

    def caller(self, principal: Any) -> Caller:
        """`principal`: what the validator returned, or the gateway's identity built from it (anything with
        `account_id` and the `attributes` holding the caller's token and catalog)."""
        return Caller(self, principal)

    async def cached(self, key: Any, load: Callable[[], Awaitable[T]], ttl: float = _CACHE_TTL) -> T:
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        self._cache[key] = (now + ttl, value)
        return value

    async def external_networks(self, neutron: Neutron) -> dict[str, str]:
        """name → id of the external networks (floating IP pools); the same for every project."""
        async def load() -> dict[str, str]:
            nets = await neutron.networks(**{"router:external": True})
            return {n.get("name") or n["id"]: n["id"] for n in nets}
        return await self.cached(("external-networks",), load)

    async def public_network_id(self, neutron: Neutron, what: str = "external network") -> str:
        """The external network public addresses and router gateways come from: the configured one, else
        the only one (Unavailable when it is not visible, or there are several and none is configured)."""
        pools = await self.external_networks(neutron)
        wanted = self.public_network
        if wanted:
            if wanted not in pools and wanted not in pools.values():
                raise base.Unavailable(f"the {what} {wanted!r} is not visible")
            return pools.get(wanted, wanted)
        if len(pools) == 1:
            return next(iter(pools.values()))
        raise base.Unavailable(f"set the backend option public_network: the cloud has {len(pools)} external networks")


class Caller:
    """One request's view of the cloud: its project and service clients (made on first use), each call
    carrying the caller's own project-scoped token."""

    def __init__(self, shared: Shared, principal: Any) -> None:
        attrs = getattr(principal, "attributes", None)
        if not isinstance(attrs, Mapping):
            raise base.Forbidden("the OpenStack backend needs a caller validated by Keystone")
        token, catalog = attrs.get("token"), attrs.get("catalog")
        if not token or not isinstance(catalog, Catalog):
            raise base.Forbidden("this caller has no OpenStack token (authenticate with a Keystone EC2 key)")
        self.shared = shared
        self.project_id = str(attrs.get("project_id") or principal.account_id)
        access_key = attrs.get("access_key")

        def forget() -> None:  # the token was refused: revalidate the key next time
            if access_key and shared.validator is not None:
                shared.validator.forget(str(access_key))

        def url(service: str) -> str:
            return catalog.url(service, interface=shared.interface, region=shared.region,
                               override=shared.endpoint_override)

        http = shared.http
        self.clients: dict[str, Any] = {}
        self._factory: dict[str, Callable[[], Any]] = {
            "compute": lambda: Nova(http, url("compute"), token, forget),
            "network": lambda: Neutron(http, url("network"), token, forget),
            "image": lambda: Glance(http, url("image"), token, forget),
            "block-storage": lambda: Cinder(http, url("block-storage"), token, forget),
        }

    def _client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self._factory[service]()
        return self.clients[service]

    @property
    def nova(self) -> Nova:
        return self._client("compute")

    @property
    def neutron(self) -> Neutron:
        return self._client("network")

    @property
    def glance(self) -> Glance:
        return self._client("image")

    @property
    def cinder(self) -> Cinder:
        return self._client("block-storage")

    async def classic_network(self) -> str | None:
        """The network an instance outside any VPC boots on: Nova's "auto" refuses to choose once VPC subnets
        (networks of the project too) exist, so the one network that is not a VPC's is named; None lets Nova
        decide (no network yet: auto-allocation; several: its own error). A subnet being created is a
        network named as ours but not tagged yet (Neutron tags in a second call): not a candidate either,
        or a launch racing a CreateSubnet got Nova's "Multiple possible networks found"."""
        nets = await self.neutron.all_networks(fields=["id", "name", "tags", "router:external"])
        candidates = [n["id"] for n in nets
                      if not n.get("router:external") and vm.SUBNET_TAG not in (n.get("tags") or ())
                      and n.get("name") != vm.SUBNET_NAME]
        return candidates[0] if len(candidates) == 1 else None
