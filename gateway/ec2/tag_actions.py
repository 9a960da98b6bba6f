"""CreateTags, DeleteTags, DescribeTags on every taggable resource kind.

Tags live in the gateway (per account, by EC2 id). A tagged resource must exist and be the caller's: each
kind named in a request is checked with one backend list call, so tenant B can't tag tenant A's resource
(the kind's NotFound, as if it did not exist).
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, ids, paging
from .error_map import backend_errors, not_found
from .lookups import instances as instance_lookup
from .lookups import launch_templates as launch_template_lookup
from .lookups.addresses import all_addresses
from .lookups.ids import backend_id, resolve_many
from .lookups.keypairs import key_items
from .registration import ec2_handler
from .services import compute, tags_of
from .tags import as_list, resource_type

MAX_RESOURCES = 1000
_CHECKED_HERE = ("instance", "volume", "snapshot", "image", "security-group", "elastic-ip", "key-pair")


async def _existing(ctx: RequestContext, kind: str, wanted: list[str]) -> set[str]:
    """The EC2 ids among `wanted` (all of one kind) that exist and are the caller's."""
    if kind == "instance":
        return set(await instance_lookup.find(ctx, wanted, detail=False))
    if kind == "volume":
        c = await compute(ctx)
        bids = await resolve_many(ctx, "volume", wanted)
        found = {v.id for v in await c.list_volumes(list(bids.values()))}
        return {e for e, b in bids.items() if b in found}
    if kind == "snapshot":
        c = await compute(ctx)
        bids = await resolve_many(ctx, "snapshot", wanted)
        found = {s.id for s in await c.list_snapshots(list(bids.values()))}
        return {e for e, b in bids.items() if b in found}
    if kind == "image":
        c = await compute(ctx)
        bids = await resolve_many(ctx, "image", wanted)
        found = {i.id for i in await c.list_images(list(bids.values()))}
        return {e for e, b in bids.items() if b in found}
    if kind == "security-group":
        c = await compute(ctx)
        bids = await resolve_many(ctx, "security-group", wanted)
        found = {g.id for g in await c.list_security_groups()}
        return {e for e, b in bids.items() if b in found}
    if kind == "elastic-ip":
        return {a.allocation_id for a in await all_addresses(ctx)}
    if kind == "key-pair":
        return {i["KeyPairId"] for i in await key_items(ctx)}
    if kind == "launch-template":
        return await launch_template_lookup.existing(ctx, wanted)
    # Kinds whose families live elsewhere (VPC resources, rules): known to the id map.
    return {w for w in wanted if await backend_id(ctx, kind, w) is not None}


async def check_resources(ctx: RequestContext, resources: list[str]) -> None:
    if len(resources) > MAX_RESOURCES:
        raise errors.InvalidParameterValue(f"Too many resources: at most {MAX_RESOURCES} per request.")
    by_kind: dict[str, list[str]] = {}
    for rid in resources:
        kind = resource_type(rid)
        if kind == "unknown" or not ids.is_valid(rid, kind):
            raise errors.InvalidID(f"The ID '{rid}' is not valid")
        by_kind.setdefault(kind, []).append(rid)
    for kind, wanted in by_kind.items():
        with backend_errors(kind):
            found = await _existing(ctx, kind, wanted)
        missing = [w for w in dict.fromkeys(wanted) if w not in found]
        if missing:
            raise not_found(kind, missing if kind in _CHECKED_HERE else missing[0])


@ec2_handler("CreateTags")
async def create_tags(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    resources, tag_list = p["Resources"], p["Tags"]
    if not resources:
        raise errors.MissingParameter("The request must contain the parameter ResourceId")
    if not tag_list:
        raise errors.MissingParameter("The request must contain the parameter Tag")
    await check_resources(ctx, resources)
    await tags_of(ctx).add(resources, tag_list)
    return {}


@ec2_handler("DeleteTags")
async def delete_tags(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    resources = p["Resources"]
    if not resources:
        raise errors.MissingParameter("The request must contain the parameter ResourceId")
    for t in p.get("Tags") or []:
        if not t.get("Key"):
            raise errors.MissingParameter("The request must contain the parameter Tag.Key")
    await check_resources(ctx, resources)
    await tags_of(ctx).remove(resources, p.get("Tags"))
    return {}


FILTERS = {"key": filters.field("Key"), "value": filters.field("Value"),
           "resource-id": filters.field("ResourceId"), "resource-type": filters.field("ResourceType")}


@ec2_handler("DescribeTags")
async def describe_tags(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    # above 1000 means 1000, as AWS answers (the EC2 suite relies on it)
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, clamp=True)
    filters.validate(p.get("Filters"), FILTERS)
    items = [{"ResourceId": rid, "ResourceType": resource_type(rid), **tag}
             for rid, tags in await tags_of(ctx).all() for tag in as_list(tags)]
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeTags", items, lambda t: f"{t['ResourceId']}\0{t['Key']}", max_results,
                               p.get("NextToken"))
    return {"Tags": chunk, **({"NextToken": token} if token else {})}
