"""The service catalog of a Keystone token: where each service answers for this caller.

Endpoints come from the caller's own token (a cloud may give projects different endpoints); the
interface (public/internal/admin) and region are the gateway's configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from backends import base

# Service types per the OpenStack service-types authority, with the historical aliases clouds still use.
SERVICE_TYPES: dict[str, tuple[str, ...]] = {
    "identity": ("identity",),
    "compute": ("compute",),
    "image": ("image",),
    "network": ("network",),
    "block-storage": ("block-storage", "volumev3", "volume"),
}

# The API version each client speaks, appended when the catalog URL is the service root.
VERSION_SUFFIX: dict[str, str] = {"network": "/v2.0", "image": "/v2"}


@dataclass(frozen=True)
class Endpoint:
    service_type: str
    interface: str
    region: str | None
    url: str


class Catalog:
    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints = tuple(endpoints)

    @classmethod
    def from_token(cls, catalog: Iterable[Mapping[str, Any]] | None) -> Catalog:
        """From a v3 token's `catalog`: [{type, name, endpoints: [{interface, region_id, url}]}]."""
        found = []
        for service in catalog or ():
            stype = str(service.get("type") or "")
            for ep in service.get("endpoints") or ():
                found.append(Endpoint(stype, str(ep.get("interface") or "public"),
                                      ep.get("region_id") or ep.get("region"), str(ep.get("url") or "")))
        return cls(found)

    def url(self, service: str, *, interface: str = "public", region: str | None = None,
            override: Mapping[str, str] | None = None) -> str:
        """The base URL of `service` (a key of SERVICE_TYPES), versioned for our clients, without a
        trailing slash. Unavailable when the caller's catalog has no such endpoint. `override` maps a
        service to the scheme://host:port that replaces the catalog's (the path, which may name the
        project, stays): for a catalog advertising hosts the gateway reaches by another address."""
        for stype in SERVICE_TYPES.get(service, (service,)):
            for ep in self.endpoints:
                if ep.service_type == stype and ep.interface == interface and \
                        (region is None or ep.region == region) and ep.url:
                    return with_host(versioned(service, ep.url), (override or {}).get(service))
        where = f" in region {region}" if region else ""
        raise base.Unavailable(f"no {interface} {service} endpoint{where} in the service catalog")


def with_host(url: str, base_url: str | None) -> str:
    """`url` with the scheme and host:port of `base_url` (unchanged when None)."""
    if not base_url:
        return url
    ours = urlsplit(base_url)
    return urlsplit(url)._replace(scheme=ours.scheme, netloc=ours.netloc).geturl()


def versioned(service: str, url: str) -> str:
    url = url.rstrip("/")
    suffix = VERSION_SUFFIX.get(service)
    if suffix and not url.endswith(suffix):
        url += suffix
    return url
