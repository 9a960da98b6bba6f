"""`CloudStackBackend`: one configured CloudStack cloud.

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

The development simulator (devcloud/cloudstack_sim, not shipped) is reached like any CloudStack, through
this backend pointed at its endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backends import base
from backends.compute import Compute
from backends.network import Network

from .client import Transport
from .compute import CloudStackCompute
from .network import CloudStackNetwork
from .session import Settings, Shared

_REQUIRED = ("endpoint", "api_key", "secret_key")
_DEFAULTS: dict[str, Any] = {
    "timeout": 30.0, "connect_timeout": 5.0, "job_deadline": 60.0, "key_cache_ttl": 300.0, "zone": None,
    "instance_types": {}, "network_id": None, "expunge": False, "hypervisor": "KVM", "template_format": "QCOW2",
    "ostype_id": None, "page_size": 500, "vpc_offering": None, "vpc_network_offering": None,
}
_SECONDS = ("timeout", "connect_timeout", "job_deadline", "key_cache_ttl")


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
        settings = Settings(zone=zone, network_id=network_id, expunge=expunge, hypervisor=hypervisor,
                            template_format=template_format, ostype_id=ostype_id, vpc_offering=vpc_offering,
                            vpc_network_offering=vpc_network_offering)
        self.shared = Shared(Transport(endpoint, timeout=timeout, connect_timeout=connect_timeout), api_key,
                             secret_key, settings, instance_types=instance_types, job_deadline=job_deadline,
                             page_size=page_size, key_cache_ttl=key_cache_ttl)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CloudStackBackend:
        return cls(**check_options(options))

    async def start(self) -> None:
        await self.shared.transport.start()

    async def close(self) -> None:
        await self.shared.transport.close()

    def signature_validator(self) -> base.SecretSource | None:
        return self.shared.keys

    async def compute(self, principal: Any) -> Compute:
        return CloudStackCompute(await self.shared.caller(principal))

    async def network(self, principal: Any) -> Network:
        """VPCs, tiers and NICs as the caller sees them (backends/cloudstack/network.py)."""
        return CloudStackNetwork(await self.shared.caller(principal))
