"""Images visible to the caller, by EC2 id or all, as model records (gateway/ec2/model.py Ami)."""

from __future__ import annotations

from backends.compute import Image

from ...context import RequestContext
from ..error_map import backend_errors, not_found
from ..model import Ami
from ..services import compute
from .ids import ec2_id, resolve_many
from .tags import tag_map


async def ami_of(ctx: RequestContext, image: Image, tags: dict[str, list] | None = None) -> Ami:
    ami = await ec2_id(ctx, "image", image.id)
    assert ami is not None
    bdm = [(device, await ec2_id(ctx, "snapshot", snapshot) if snapshot else None, size)
           for device, snapshot, size in image.block_devices]
    return Ami(id=ami, image=image, block_devices=bdm, tags=(tags or {}).get(ami))


async def find_images(ctx: RequestContext, wanted: list[str] | None = None) -> list[Ami]:
    """The images these EC2 ids name (each one required: one NotFound naming the missing), or all."""
    bids = list((await resolve_many(ctx, "image", wanted)).values()) if wanted else None
    c = await compute(ctx)
    with backend_errors("image"):
        images = await c.list_images(bids)
    tags = await tag_map(ctx)
    found = [await ami_of(ctx, i, tags) for i in images]
    if wanted:
        missing = [i for i in dict.fromkeys(wanted) if i not in {a.id for a in found}]
        if missing:
            raise not_found("image", missing)
    return found
