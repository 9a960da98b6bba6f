"""`OpenStackBackend`: one configured OpenStack cloud (Keystone + Nova, Glance, Cinder, Neutron, Swift).

Object storage is the caller's project account in the catalog's `object-store` (Swift with keystoneauth),
reached with the caller's own token (object_store.py); a cloud without Swift answers Unavailable there.

Options (`backend.options` in the gateway's YAML):

    auth_url          Keystone, e.g. https://keystone.example.com:5000/v3              (required)
    service_user      the gateway's service user: validates EC2 signatures at
                      /v3/ec2tokens (needs the service or admin role); with the admin role it also
                      reads EC2 secrets so warm keys validate locally (see keystone.py)    (required)
    service_password                                                                    (required)
    service_project   the project the service user's token is scoped to                (default "service")
    user_domain       domain of service_user                                          (default "Default")
    project_domain    domain of service_project                                       (default "Default")
    region            region of the endpoints to use; none = the first of each type   (default none)
    interface         public | internal | admin endpoints                              (default "public")
    timeout           seconds a backend call may take, all retries included           (default 30)
    connect_timeout   seconds to open a connection                                      (default 5)
    public_network    external network (floating IP pool) for allocate_address; needed
                      when the cloud has several                                       (default none)
    encrypted_volume_type  Cinder volume type (public, with an encryption spec) of volumes
                      created encrypted; it wins over a volume type asked for alongside
                      (a Cinder volume has one type). None: encrypted volumes are refused
                      (NotSupported)                                                   (default none)
    key_cache_ttl     seconds an EC2 secret read from Keystone is trusted              (default 300)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from backends import base
from backends.compute import Compute
from backends.network import Network

from .compute import OpenStackCompute
from .http import HttpClient
from .keystone import KeystoneValidator, ServiceAuth
from .network import OpenStackNetwork
from .neutron import Neutron
from .object_store import KeystoneObjectStores
from .swift import SwiftClient
from .swift_backend import open_client

T = TypeVar("T")

_REQUIRED = ("auth_url", "service_user", "service_password")
_DEFAULTS: dict[str, Any] = {
    "service_project": "service", "user_domain": "Default", "project_domain": "Default", "region": None,
    "interface": "public", "timeout": 30.0, "connect_timeout": 5.0, "public_network": None,
    "key_cache_ttl": 300.0, "encrypted_volume_type": None,
}
_INTERFACES = ("public", "internal", "admin")
_CACHE_TTL = 300.0  # flavors and external networks change rarely


class OpenStackBackend(base.Backend):
    name = "openstack"

    def __init__(self, *, auth_url: str, service_user: str, service_password: str,
                 service_project: str = "service", user_domain: str = "Default", project_domain: str = "Default",
                 region: str | None = None, interface: str = "public", timeout: float = 30.0,
                 connect_timeout: float = 5.0, public_network: str | None = None,
                 key_cache_ttl: float = 300.0, encrypted_volume_type: str | None = None) -> None:
        self.region = region
        self.encrypted_volume_type = encrypted_volume_type
        self.interface = interface
        self.public_network = public_network
        self.http = HttpClient(timeout=timeout, connect_timeout=connect_timeout)
        self.service_auth = ServiceAuth(self.http, auth_url, user=service_user, password=service_password,
                                        project=service_project, user_domain=user_domain,
                                        project_domain=project_domain)
        self.validator: KeystoneValidator | None = KeystoneValidator(self.http, self.service_auth,
                                                                     secret_ttl=key_cache_ttl)
        self._cache: dict[Any, tuple[float, Any]] = {}
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self._swift: tuple[aiohttp.ClientSession, SwiftClient] | None = None
        self.object_stores = KeystoneObjectStores(interface=interface, region=region, forget=self._forget)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> OpenStackBackend:
        """Validate the free-form options of the config file; ValueError names the offending option."""
        unknown = sorted(set(options) - set(_REQUIRED) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown option {unknown[0]}")
        values = {**_DEFAULTS, **options}
        for name in _REQUIRED:
            if not isinstance(values.get(name), str) or not values[name]:
                raise ValueError(f"option {name} is required (a non-empty string)")
        if not str(values["auth_url"]).startswith(("http://", "https://")):
            raise ValueError("option auth_url must be an http(s) URL")
        for name in ("service_project", "user_domain", "project_domain"):
            if not isinstance(values[name], str) or not values[name]:
                raise ValueError(f"option {name} must be a non-empty string")
        for name in ("region", "public_network", "encrypted_volume_type"):
            if values[name] is not None and not isinstance(values[name], str):
                raise ValueError(f"option {name} must be a string")
        if values["interface"] not in _INTERFACES:
            raise ValueError(f"option interface must be one of {', '.join(_INTERFACES)}")
        for name in ("timeout", "connect_timeout", "key_cache_ttl"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"option {name} must be a positive number of seconds")
            values[name] = float(value)
        return cls(**values)

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()
        if self._swift is not None:
            await self._swift[0].close()
            self._swift = None

    def _forget(self, access_key: str) -> None:
        if self.validator is not None:
            self.validator.forget(access_key)

    async def object_store(self, principal: Any) -> base.ObjectStore:
        """The caller's project account in Swift, with the caller's own token (object_store.py)."""
        if self._swift is None:
            self._swift = open_client(self.timeout, self.connect_timeout)
        return self.object_stores.store(self._swift[1], principal)

    def signature_validator(self) -> base.SignatureValidator | None:
        return self.validator

    async def compute(self, principal: Any) -> Compute:
        """`principal`: what our validator returned, or the gateway's identity built from it (anything with
        `account_id` and the `attributes` holding the caller's token and catalog)."""
        attributes = getattr(principal, "attributes", None)
        if not isinstance(attributes, Mapping):
            raise base.Forbidden("the OpenStack backend needs a caller validated by Keystone")
        return OpenStackCompute(self, principal)

    async def network(self, principal: Any) -> Network:
        """VPC networking on Neutron as the caller (backends/openstack/network.py)."""
        compute = await self.compute(principal)
        assert isinstance(compute, OpenStackCompute)
        return OpenStackNetwork(compute)

    # -- small shared caches (per backend, keyed by what they depend on) -------------------------------------
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
