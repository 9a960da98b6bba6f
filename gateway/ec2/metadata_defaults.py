"""ModifyInstanceMetadataDefaults / GetInstanceMetadataDefaults: the account's default metadata options for
instances launched later (RunInstances without MetadataOptions takes them; instance_options.py holds the rules).

Only the options the account set are kept and shown (GetInstanceMetadataDefaults answers an empty AccountLevel
for an account that set none, as AWS does); `no-preference` (and a hop limit of -1) forgets one.
HttpTokensEnforced is kept and shown; launches are not refused by it here.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from .instance_options import account_defaults, save_account_defaults, validated
from .registration import ec2_handler

_NAMES = ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags", "HttpTokensEnforced")
_NO_PREFERENCE = "no-preference"


@ec2_handler("ModifyInstanceMetadataDefaults")
async def modify_instance_metadata_defaults(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    given = {k: p[k] for k in _NAMES if p.get(k) is not None}
    if not given:
        raise errors.MissingParameter("The request must contain at least one of the metadata option parameters.")
    if given.get("HttpTokensEnforced") not in (None, "enabled", "disabled", _NO_PREFERENCE):
        raise errors.InvalidParameterValue(
            f"The value '{given['HttpTokensEnforced']}' is not valid for the 'HttpTokensEnforced' parameter.")
    hop = given.get("HttpPutResponseHopLimit")
    if hop is not None and hop != -1 and not 1 <= hop <= 64:
        raise errors.InvalidParameterValue(
            f"The HttpPutResponseHopLimit '{hop}' must be between 1 and 64, or -1 for no preference.")
    values = dict(await account_defaults(ctx))
    for name, value in given.items():
        if value == _NO_PREFERENCE or (name == "HttpPutResponseHopLimit" and value == -1):
            values.pop(name, None)
            continue
        if name != "HttpTokensEnforced":
            validated({name: value})  # the same rules as an instance's options (InvalidParameterValue)
        values[name] = value
    await save_account_defaults(ctx, values)
    return {"Return": True}


@ec2_handler("GetInstanceMetadataDefaults")
async def get_instance_metadata_defaults(ctx: RequestContext) -> dict[str, Any]:
    values = await account_defaults(ctx)
    level = {k: values[k] for k in _NAMES if k in values}
    if level:
        level["ManagedBy"] = "account"
    return {"AccountLevel": level}
