"""What the CloudStack adapter's parts share, below them all: `Shared` (one per configured cloud: the HTTP
transport, the admin client, the caller-key lookup, settings and small caches) and `Caller` (one per request:
the caller's own signed client and account).

`backend.py` builds them; `compute.py` and `network.py` take a `Caller`; none of them imports another
upward, so the adapter has no import loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from backends import base

from .client import CloudStackClient, Transport
from .keys import CloudStackKeys

T = TypeVar("T")
_CACHE_TTL = 300.0  # zones and offerings change rarely


@dataclass(frozen=True)
class Settings:
    """The backend options compute and network act on (backend.py documents each)."""

    zone: str | None = None
    network_id: str | None = None
    expunge: bool = False
    hypervisor: str = "KVM"
    template_format: str = "QCOW2"
    ostype_id: str | None = None
    vpc_offering: str | None = None
    vpc_network_offering: str | None = None


class Shared:
    def __init__(self, transport: Transport, api_key: str, secret_key: str, settings: Settings, *,
                 instance_types: Mapping[str, str] | None = None, job_deadline: float = 60.0, page_size: int = 500,
                 key_cache_ttl: float = 300.0) -> None:
        self.transport = transport
        self.job_deadline = job_deadline
        self.page_size = page_size
        self.settings = settings
        self.instance_types = dict(instance_types or {})  # EC2 instance type -> service offering name or id
        self.admin = self.client(api_key, secret_key)
        self.keys = CloudStackKeys(self.admin, ttl=key_cache_ttl)
        # What CloudStack does not list back, remembered by this process: base64 user data by VM id.
        self.user_data: dict[str, str] = {}
        self._cache: dict[Any, tuple[float, Any]] = {}
        self._locks: dict[Any, asyncio.Lock] = {}

    def client(self, api_key: str, secret: str) -> CloudStackClient:
        return CloudStackClient(self.transport, api_key, secret, job_deadline=self.job_deadline,
                                page_size=self.page_size)

    async def caller(self, principal: Any) -> Caller:
        """The request's caller, signing with their own keys (Forbidden when they are not a CloudStack user)."""
        attributes = getattr(principal, "attributes", None)
        api_key = attributes.get("api_key") if isinstance(attributes, Mapping) else None
        if not api_key:
            raise base.Forbidden("the CloudStack backend needs a caller identified by their CloudStack apiKey")
        cs = self.client(*await self.keys.keys_for(str(api_key)))
        return Caller(self, cs, str(principal.account_id),
                      str(principal.attributes.get("account") or principal.display_name))

    # -- shared caches -------------------------------------------------------------------------------------------
    async def cached(self, key: Any, load: Callable[[], Awaitable[T]], ttl: float = _CACHE_TTL) -> T:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one load at a time per key
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
            value = await load()
            self._cache[key] = (time.monotonic() + ttl, value)
            return value

    async def zones(self, cs: CloudStackClient) -> list[dict]:
        return await self.cached(("zones", cs.api_key), lambda: cs.list("listZones", "zone", {"available": True}))

    async def offerings(self, cs: CloudStackClient) -> list[dict]:
        return await self.cached(("offerings", cs.api_key),
                                 lambda: cs.list("listServiceOfferings", "serviceoffering"))

    async def disk_offerings(self, cs: CloudStackClient) -> list[dict]:
        return await self.cached(("disk-offerings", cs.api_key), lambda: cs.list("listDiskOfferings", "diskoffering"))

    def flavor_names(self) -> dict[str, str]:
        """Service offering name (and id) → the instance type it is shown as."""
        names: dict[str, str] = {}
        known = [v for k, (_, v) in self._cache.items() if isinstance(k, tuple) and k[0] == "offerings"]
        for ec2_type, offering in self.instance_types.items():
            names.setdefault(offering, ec2_type)
            for offerings in known:
                for o in offerings:
                    if offering == str(o.get("id")):
                        names.setdefault(o.get("name", ""), ec2_type)
        return names

    async def disk_offering(self, cs: CloudStackClient, name: str | None, size_gib: int | None) -> str:
        """The disk offering for a new volume: the named one (EC2 VolumeType), else one of exactly that size,
        else the custom-size one."""
        offerings = await self.disk_offerings(cs)
        if name and name not in ("standard", "gp2", "gp3"):
            for o in offerings:
                if name in (o.get("name"), str(o.get("id"))):
                    return str(o["id"])
            raise base.InvalidInput(f"no disk offering named {name!r} (the volume type)")
        for o in offerings:
            if o.get("iscustomized"):
                return str(o["id"])
        for o in offerings:
            if size_gib and int(o.get("disksize") or 0) == size_gib:
                return str(o["id"])
        raise base.InvalidInput(f"no disk offering of {size_gib} GiB and no custom-size offering")

    async def offering_is_custom(self, cs: CloudStackClient, offering_id: str) -> bool:
        return any(str(o.get("id")) == offering_id and o.get("iscustomized") for o in await self.disk_offerings(cs))

    async def default_network(self, cs: CloudStackClient) -> str | None:
        async def load() -> str | None:
            nets = await cs.list("listNetworks", "network", {"canusefordeploy": True})
            nets = [n for n in nets if not n.get("vpcid")]
            chosen = next((n for n in nets if n.get("isdefault")), nets[0] if nets else None)
            return str(chosen["id"]) if chosen else None
        return await self.cached(("network", cs.api_key), load)

    async def _accounts(self) -> list[dict]:
        return await self.cached(("accounts",), lambda: self.admin.list("listAccounts", "account",
                                                                        {"listall": True}), ttl=60)

    async def account_ids(self, names: list[str]) -> list[str]:
        by_name = {a.get("name"): str(a.get("id")) for a in await self._accounts()}
        return [by_name[n] for n in names if n in by_name]

    async def account_names(self, ids: list[str]) -> list[str]:
        by_id = {str(a.get("id")): a.get("name") for a in await self._accounts()}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise base.InvalidInput(f"unknown account {missing[0]}")
        return [str(by_id[i]) for i in ids]


@dataclass
class Caller:
    """One request's view of the cloud: the shared parts and the caller's own client and account."""

    shared: Shared
    cs: CloudStackClient
    account_id: str
    account: str

    async def zone_id(self, name: str | None = None) -> str:
        """The zone named (or the configured one, else the first) as CloudStack's id."""
        zones = await self.shared.zones(self.cs)
        wanted = name or self.shared.settings.zone
        for z in zones:
            if not wanted or wanted in (z.get("name"), str(z.get("id"))):
                return str(z["id"])
        raise base.NotFound(f"zone {wanted} not found", kind="zone")
