"""ModifyInstanceMetadataOptions (the rules and defaults: instance_options.py)."""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from .instance_options import DEFAULTS, shown, validated
from .lookups import instances as lookup
from .registration import ec2_handler


@ec2_handler("ModifyInstanceMetadataOptions")
async def modify_instance_metadata_options(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    iid = p["InstanceId"]
    inst = (await lookup.find(ctx, [iid], detail=False))[iid]
    given = {k: p.get(k) for k in DEFAULTS}
    record = await lookup.record(ctx, iid) or {"server": inst.server_id}
    record["metadata_options"] = validated(given, record.get("metadata_options"))
    await lookup.save_record(ctx, iid, record)
    return {"InstanceId": iid, "InstanceMetadataOptions": shown(record, "pending")}
