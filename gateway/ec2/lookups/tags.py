"""The caller's EC2 tags as output shapes show them, and tagging new resources."""

from __future__ import annotations

from collections.abc import Iterable

from ...context import RequestContext
from .. import tags as tags_mod
from ..services import tags_of


async def apply_tags(ctx: RequestContext, ec2_ids: Iterable[str], tag_list: list[dict[str, str]] | None
                     ) -> list[dict[str, str]] | None:
    """Tag new resources from their TagSpecifications; the tags as the output shape shows them."""
    if not tag_list:
        return None
    await tags_of(ctx).add(list(ec2_ids), tag_list)
    return tags_mod.as_list({t["Key"]: t.get("Value") or "" for t in tag_list})


async def tag_map(ctx: RequestContext) -> dict[str, list[dict[str, str]]]:
    """Every tag of the caller's account in one store scan: {ec2 id: [{"Key", "Value"}]}."""
    return {rid: tags_mod.as_list(t) for rid, t in await tags_of(ctx).all()}
