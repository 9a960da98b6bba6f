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
    reseller_admin_role  Swift keystoneauth's reseller_admin_role: held by service_user on
                      service_project, it lets the gateway reach a bucket owner's account
                      for requests the owner's ACL/policy allowed (anonymous reads, grants
                      to other projects, lifecycle expiry); without it those are refused
                      (docs/openstack-object-storage.md)                       (default "ResellerAdmin")
    endpoint_override {service: "scheme://host:port"} replacing the catalog's host for compute,
                      network, image, block-storage, object-store (the catalog's path stays):
                      a catalog naming hosts the gateway reaches by another address    (default none)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from backends import base
from backends.compute import Compute
from backends.network import Network

from .compute import OpenStackCompute
from .http import HttpClient
from .keystone import KeystoneValidator, ServiceAuth
from .network import OpenStackNetwork
from .object_store import KeystoneObjectStores
from .owners import OwnerAccess
from .session import Shared
from .swift import SwiftClient
from .swift_backend import open_client

_REQUIRED = ("auth_url", "service_user", "service_password")
_DEFAULTS: dict[str, Any] = {
    "service_project": "service", "user_domain": "Default", "project_domain": "Default", "region": None,
    "interface": "public", "timeout": 30.0, "connect_timeout": 5.0, "public_network": None,
    "key_cache_ttl": 300.0, "encrypted_volume_type": None, "endpoint_override": None,
    "reseller_admin_role": "ResellerAdmin",
}
_OVERRIDABLE = ("compute", "network", "image", "block-storage", "object-store")
_INTERFACES = ("public", "internal", "admin")


class OpenStackBackend(base.Backend):
    name = "openstack"

    def __init__(self, *, auth_url: str, service_user: str, service_password: str,
                 service_project: str = "service", user_domain: str = "Default", project_domain: str = "Default",
                 region: str | None = None, interface: str = "public", timeout: float = 30.0,
                 connect_timeout: float = 5.0, public_network: str | None = None,
                 key_cache_ttl: float = 300.0, encrypted_volume_type: str | None = None,
                 endpoint_override: Mapping[str, str] | None = None,
                 reseller_admin_role: str = "ResellerAdmin") -> None:
        http = HttpClient(timeout=timeout, connect_timeout=connect_timeout)
        service_auth = ServiceAuth(http, auth_url, user=service_user, password=service_password,
                                   project=service_project, user_domain=user_domain, project_domain=project_domain)
        owners = OwnerAccess(http, service_auth, interface=interface, region=region, role=reseller_admin_role,
                             ttl=key_cache_ttl)
        validator = KeystoneValidator(http, service_auth, secret_ttl=key_cache_ttl, owners=owners)
        self.shared = Shared(http, service_auth, validator,
                             region=region, interface=interface, public_network=public_network,
                             encrypted_volume_type=encrypted_volume_type, endpoint_override=endpoint_override)
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self._swift: tuple[aiohttp.ClientSession, SwiftClient] | None = None
        self.object_stores = KeystoneObjectStores(interface=interface, region=region, forget=self._forget,
                                                  endpoint_override=endpoint_override)

    # The shared parts, as other code (tests, benches) reaches them through the backend.
    @property
    def http(self) -> HttpClient:
        return self.shared.http

    @property
    def service_auth(self) -> ServiceAuth:
        return self.shared.service_auth

    @property
    def validator(self) -> KeystoneValidator | None:
        return self.shared.validator

    @validator.setter
    def validator(self, validator: KeystoneValidator | None) -> None:
        self.shared.validator = validator

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
        for name in ("service_project", "user_domain", "project_domain", "reseller_admin_role"):
            if not isinstance(values[name], str) or not values[name]:
                raise ValueError(f"option {name} must be a non-empty string")
        for name in ("region", "public_network", "encrypted_volume_type"):
            if values[name] is not None and not isinstance(values[name], str):
                raise ValueError(f"option {name} must be a string")
        if values["interface"] not in _INTERFACES:
            raise ValueError(f"option interface must be one of {', '.join(_INTERFACES)}")
        override = values["endpoint_override"]
        if override is not None and (not isinstance(override, Mapping) or any(
                k not in _OVERRIDABLE or not isinstance(v, str) or not v.startswith(("http://", "https://"))
                for k, v in override.items())):
            raise ValueError(f"option endpoint_override maps {', '.join(_OVERRIDABLE)} to http(s) URLs")
        for name in ("timeout", "connect_timeout", "key_cache_ttl"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"option {name} must be a positive number of seconds")
            values[name] = float(value)
        return cls(**values)

    async def start(self) -> None:
        await self.shared.http.start()

    async def close(self) -> None:
        await self.shared.http.close()
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
        return self.shared.validator

    async def compute(self, principal: Any) -> Compute:
        """`principal`: what our validator returned, or the gateway's identity built from it (anything with
        `account_id` and the `attributes` holding the caller's token and catalog)."""
        return OpenStackCompute(self.shared.caller(principal))

    async def network(self, principal: Any) -> Network:
        """VPC networking on Neutron as the caller (backends/openstack/network.py)."""
        return OpenStackNetwork(self.shared.caller(principal))
