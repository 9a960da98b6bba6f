"""EC2 id <-> backend id resolution: Malformed for a bad id, the kind's NotFound for an unknown one.

EC2 id <-> backend id mappings never change once recorded, so they are cached for the process: a warm
DescribeInstances costs no store round trip per item."""

from __future__ import annotations

from ...context import RequestContext
from ...session import session
from .. import ids as ids_mod
from ..error_map import malformed, not_found
from ..records import NS_VOLUME_DELETED
from ..services import account, id_map

_FORWARD: dict[tuple[str, str], str] = {}
_REVERSE: dict[str, tuple[str, str]] = {}
_CACHE_MAX = 200_000


def _remember(kind: str, backend_id: str, ec2_id: str) -> None:
    if len(_FORWARD) > _CACHE_MAX:
        _FORWARD.clear()
        _REVERSE.clear()
    _FORWARD[(kind, backend_id)] = ec2_id
    _REVERSE[ec2_id] = (kind, backend_id)


async def ec2_id(ctx: RequestContext, kind: str, backend_id: str | None) -> str | None:
    if backend_id is None:
        return None
    known = _FORWARD.get((kind, backend_id))
    if known is None:
        known = await id_map(ctx).ec2_id(kind, backend_id)
        _remember(kind, backend_id, known)
    return known


async def backend_id(ctx: RequestContext, kind: str, ec2_id_: str) -> str | None:
    """The backend id behind a syntactically valid EC2 id, or None."""
    known = _REVERSE.get(ec2_id_)
    if known is not None:
        return known[1] if known[0] == kind else None
    found = await id_map(ctx).backend_id(kind, ec2_id_)
    if found is not None:
        _remember(kind, found, ec2_id_)
    return found


def check_id(kind: str, ident: str) -> None:
    if not ids_mod.is_valid(ident, kind):
        raise malformed(kind, ident)


async def resolve(ctx: RequestContext, kind: str, ident: str) -> str:
    """EC2 id -> backend id: Malformed for a bad id, the kind's NotFound for an unknown one."""
    check_id(kind, ident)
    found = await backend_id(ctx, kind, ident)
    if found is None or await _deleted(ctx, kind, [ident]):
        raise not_found(kind, ident)
    return found


async def resolve_many(ctx: RequestContext, kind: str, idents: list[str]) -> dict[str, str]:
    """Several EC2 ids -> {ec2 id: backend id}; every unknown one is named in one NotFound."""
    for ident in idents:
        check_id(kind, ident)
    out, missing = {}, []
    deleted = await _deleted(ctx, kind, idents)
    for ident in dict.fromkeys(idents):
        found = await backend_id(ctx, kind, ident)
        if found is None or ident in deleted:
            missing.append(ident)
        else:
            out[ident] = found
    if missing:
        raise not_found(kind, missing)
    return out


async def _deleted(ctx: RequestContext, kind: str, idents: list[str]) -> set[str]:
    """Those of the volume ids `idents` that DeleteVolume deleted while the cloud keeps them: unknown to EC2.
    The one lookup every volume action goes through, so none of them can see such a volume."""
    if kind != "volume" or not idents:
        return set()
    store, prefix = session(ctx).store, f"{account(ctx)}/"
    if len(idents) == 1:
        return set(idents) if await store.get(NS_VOLUME_DELETED, prefix + idents[0]) is not None else set()
    return {k[len(prefix):] for k, _ in await store.scan(NS_VOLUME_DELETED, prefix)} & set(idents)
