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

    def change(record: dict[str, Any]) -> None:  # over the options as stored now: another change is kept
        record["metadata_options"] = validated(given, record.get("metadata_options"))

    record = await lookup.change_record(ctx, iid, inst.server_id, change)
    return {"InstanceId": iid, "InstanceMetadataOptions": shown(record, "pending")}
