"""Instance metadata options (the rules): MetadataOptions at RunInstances, shown by DescribeInstances, changed by
ModifyInstanceMetadataOptions (metadata_options.py) — held in the instance's record (the cloud has no such setting), so the
metadata service (IMDSv2 tokens, endpoint on/off, tags in metadata) reads the same values every replica sees.

The account's own defaults (ModifyInstanceMetadataDefaults, metadata_defaults.py) sit between AWS's and
what RunInstances names: `validated(given, await account_defaults(ctx))`.

AWS's defaults for an account with no metadata defaults: tokens optional, hop limit 1, endpoint enabled,
IPv6 endpoint disabled, instance tags not in metadata. A modify answers `pending`, as AWS does; the options
take effect at once here, so DescribeInstances shows them `applied`.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from ..session import session
from .services import account

DEFAULTS = {"HttpTokens": "optional", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"}
_CHOICES = {"HttpTokens": ("optional", "required"), "HttpEndpoint": ("enabled", "disabled"),
            "HttpProtocolIpv6": ("enabled", "disabled"), "InstanceMetadataTags": ("enabled", "disabled")}


def validated(given: dict[str, Any] | None, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The options after applying `given` over `current` (or the defaults), each checked as EC2 does."""
    out = {**DEFAULTS, **(current or {})}
    for name, value in (given or {}).items():
        if value is None:
            continue
        if name in _CHOICES and value not in _CHOICES[name]:
            raise errors.InvalidParameterValue(f"The value '{value}' is not valid for the '{name}' parameter.")
        if name == "HttpPutResponseHopLimit" and not 1 <= int(value) <= 64:
            raise errors.InvalidParameterValue(f"The HttpPutResponseHopLimit '{value}' must be between 1 and 64.")
        if name in DEFAULTS:
            out[name] = value
    return out


def shown(record: dict[str, Any], state: str = "applied") -> dict[str, Any]:
    """The InstanceMetadataOptionsResponse shape of an instance record."""
    return {"State": state, **validated(None, record.get("metadata_options"))}


NS_ACCOUNT_DEFAULTS = "ec2:metadata-defaults"  # per account: the options ModifyInstanceMetadataDefaults set


async def account_defaults(ctx: RequestContext) -> dict[str, Any]:
    """The options the caller's account set as its default (only those it set; {} when none)."""
    return await session(ctx).store.get(NS_ACCOUNT_DEFAULTS, account(ctx)) or {}


async def launch_options(ctx: RequestContext, given: dict[str, Any] | None) -> dict[str, Any]:
    """A new instance's options: RunInstances' MetadataOptions over the account's defaults over AWS's."""
    defaults = {k: v for k, v in (await account_defaults(ctx)).items() if k in DEFAULTS}
    return validated(given, defaults)


async def save_account_defaults(ctx: RequestContext, values: dict[str, Any]) -> None:
    await session(ctx).store.put(NS_ACCOUNT_DEFAULTS, account(ctx), values)
