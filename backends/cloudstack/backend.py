"""`CloudStackBackend`: one configured CloudStack cloud (and `SimulatedCloudStackBackend`: the same, in front
of the in-process simulator).

Options (`backend.options` in the gateway's YAML):

    endpoint        the API URL, e.g. https://cloud.example.com/client/api                (required)
    api_key         the gateway's admin apiKey: looks up callers' secrets (getUser, getUserKeys)
                    and account names for launch permissions (root or domain admin)        (required)
    secret_key      its secretKey                                                          (required)
    timeout         seconds one API call may take                                          (default 30)
    connect_timeout seconds to open a connection                                           (default 5)
    job_deadline    seconds a request waits for an async job it must see finish; past it
                    the request fails with ServiceUnavailable (the job may still finish)  (default 60)
    key_cache_ttl   seconds a secret read with getUserKeys is trusted                     (default 300)
    zone            zone name or id for creations without one                              (default the first)
    instance_types  EC2 instance type → service offering name or id, e.g.
                    {t2.micro: "Small Instance"}; offerings not named keep their own name  (default {})
    network_id      guest network for new VMs and public addresses                         (default the account's)
    expunge         destroy VMs with expunge=true (CloudStack needs
                    allow.user.expunge.recover.vm for non-admins)                          (default false)
    hypervisor      hypervisor of registered templates                                     (default KVM)
    template_format format of registered templates                                         (default QCOW2)
    ostype_id       OS type id of registered templates                                     (default none)
    page_size       items per page when listing                                           (default 500)
    vpc_offering    VPC offering name or id for new VPCs                          (default the cloud's default)
    vpc_network_offering  network offering name or id for VPC tiers (subnets)
                    (default DefaultIsolatedNetworkOfferingForVpcNetworks, else the first VPC-tier offering)

`cloudstack-sim` takes the same options (endpoint and keys come from the simulator) plus
`job_delay` (seconds a simulated job takes, default 0.2) and `port` (default a free one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from backends import base
from backends.compute import Compute
from backends.network import Network

from .client import CloudStackClient, Transport
from .compute import CloudStackCompute
from .keys import CloudStackValidator

T = TypeVar("T")
_REQUIRED = ("endpoint", "api_key", "secret_key")
_DEFAULTS: dict[str, Any] = {
    "timeout": 30.0, "connect_timeout": 5.0, "job_deadline": 60.0, "key_cache_ttl": 300.0, "zone": None,
    "instance_types": {}, "network_id": None, "expunge": False, "hypervisor": "KVM", "template_format": "QCOW2",
    "ostype_id": None, "page_size": 500, "vpc_offering": None, "vpc_network_offering": None,
}
_SECONDS = ("timeout", "connect_timeout", "job_deadline", "key_cache_ttl")
_CACHE_TTL = 300.0


def check_options(options: Mapping[str, Any], required: tuple[str, ...] = _REQUIRED,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate free-form options; ValueError names the offending option."""
    allowed = set(required) | set(_DEFAULTS) | set(extra or {})
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]}")
    values = {**_DEFAULTS, **(extra or {}), **options}
    for name in required:
        if not isinstance(values.get(name), str) or not values[name]:
            raise ValueError(f"option {name} is required (a non-empty string)")
    if "endpoint" in required and not str(values["endpoint"]).startswith(("http://", "https://")):
        raise ValueError("option endpoint must be an http(s) URL")
    for name in _SECONDS:
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"option {name} must be a positive number of seconds")
        values[name] = float(value)
    types = values["instance_types"]
    if not isinstance(types, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                                 for k, v in types.items()):
        raise ValueError("option instance_types must map instance type names to offering names or ids")
    for name in ("zone", "network_id", "ostype_id", "vpc_offering", "vpc_network_offering"):
        if values[name] is not None and not isinstance(values[name], str):
            raise ValueError(f"option {name} must be a string")
    for name in ("hypervisor", "template_format"):
        if not isinstance(values[name], str) or not values[name]:
            raise ValueError(f"option {name} must be a non-empty string")
    if not isinstance(values["expunge"], bool):
        raise ValueError("option expunge must be true or false")
    if isinstance(values["page_size"], bool) or not isinstance(values["page_size"], int) \
            or not 1 <= values["page_size"] <= 500:
        raise ValueError("option page_size must be an integer from 1 to 500")
    return values


class CloudStackBackend(base.Backend):
    name = "cloudstack"

    def __init__(self, *, endpoint: str, api_key: str, secret_key: str, timeout: float = 30.0,
                 connect_timeout: float = 5.0, job_deadline: float = 60.0, key_cache_ttl: float = 300.0,
                 zone: str | None = None, instance_types: Mapping[str, str] | None = None,
                 network_id: str | None = None, expunge: bool = False, hypervisor: str = "KVM",
                 template_format: str = "QCOW2", ostype_id: str | None = None, page_size: int = 500,
                 vpc_offering: str | None = None, vpc_network_offering: str | None = None) -> None:
        self.transport = Transport(endpoint, timeout=timeout, connect_timeout=connect_timeout)
        self.job_deadline = job_deadline
        self.page_size = page_size
        self.zone, self.network_id, self.expunge = zone, network_id, expunge
        self.instance_types = dict(instance_types or {})
        self.hypervisor, self.template_format, self.ostype_id = hypervisor, template_format, ostype_id
        self.vpc_offering, self.vpc_network_offering = vpc_offering, vpc_network_offering
        self.admin = self.client(api_key, secret_key)
        self.validator = CloudStackValidator(self.admin, ttl=key_cache_ttl)
        # What CloudStack does not list back, remembered by this process: base64 user data by VM id.
        self.user_data: dict[str, str] = {}
        self._cache: dict[Any, tuple[float, Any]] = {}
        self._locks: dict[Any, asyncio.Lock] = {}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CloudStackBackend:
        return cls(**check_options(options))

    def client(self, api_key: str, secret: str) -> CloudStackClient:
        return CloudStackClient(self.transport, api_key, secret, job_deadline=self.job_deadline,
                                page_size=self.page_size)

    async def start(self) -> None:
        await self.transport.start()

    async def close(self) -> None:
        await self.transport.close()

    def signature_validator(self) -> base.SignatureValidator | None:
        return self.validator

    async def compute(self, principal: Any) -> Compute:
        return await self._compute(principal)

    async def _compute(self, principal: Any) -> CloudStackCompute:
        attributes = getattr(principal, "attributes", None)
        api_key = attributes.get("api_key") if isinstance(attributes, Mapping) else None
        if not api_key:
            raise base.Forbidden("the CloudStack backend needs a caller identified by their CloudStack apiKey")
        return CloudStackCompute(self, self.client(*await self.validator.keys_for(str(api_key))), principal)

    async def network(self, principal: Any) -> Network:
        """VPCs, tiers and NICs as the caller sees them (backends/cloudstack/network.py)."""
        from .network import CloudStackNetwork

        return CloudStackNetwork(await self._compute(principal))

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


# The simulator's offerings under the instance types clients ask for by default.
SIM_INSTANCE_TYPES = {"t2.micro": "Tiny", "m1.small": "Small Instance", "m1.medium": "Medium Instance",
                      "m1.large": "Large Instance"}


class SimulatedCloudStackBackend(CloudStackBackend):
    """`backend: cloudstack-sim`: starts the in-process simulator on 127.0.0.1 and talks to it."""

    name = "cloudstack-sim"

    def __init__(self, *, job_delay: float = 0.2, port: int = 0, **options: Any) -> None:
        from .simulator import SimConfig, Simulator

        self.simulator = Simulator(SimConfig(job_delay=job_delay, port=port))
        admin = self.simulator.config.admin
        options.setdefault("expunge", True)
        super().__init__(endpoint="http://127.0.0.1/client/api", api_key=admin[0], secret_key=admin[1], **options)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatedCloudStackBackend:
        extra = {"job_delay": 0.2, "port": 0}
        values = check_options(options, required=(), extra=extra)
        if isinstance(values["job_delay"], bool) or not isinstance(values["job_delay"], int | float) \
                or values["job_delay"] < 0:
            raise ValueError("option job_delay must be a number of seconds (0 or more)")
        if isinstance(values["port"], bool) or not isinstance(values["port"], int) or not 0 <= values["port"] < 65536:
            raise ValueError("option port must be a TCP port (0 = a free one)")
        if "expunge" not in options:
            values["expunge"] = True
        if "instance_types" not in options:
            values["instance_types"] = dict(SIM_INSTANCE_TYPES)
        return cls(**values)

    async def start(self) -> None:
        self.transport.endpoint = await self.simulator.start()
        await super().start()

    async def close(self) -> None:
        await super().close()
        await self.simulator.stop()
