"""Elastic IP addresses of the caller, loaded as model records (an instance's public address, public_ips.py,
is not one)."""

from __future__ import annotations

from typing import Any

from backends.compute import FloatingAddress

from ...context import RequestContext
from ..error_map import backend_errors
from ..model import Address
from ..records import NS_ADDRESS, scan
from ..services import compute
from .ids import ec2_id
from .tags import tag_map


async def address_of(ctx: RequestContext, addr: FloatingAddress, domain: str,
                     tags: dict[str, list] | None = None) -> Address:
    alloc = await ec2_id(ctx, "elastic-ip", addr.id)
    assert alloc is not None
    associated = bool(addr.server_id or addr.port_id)
    out = Address(allocation_id=alloc, backend_id=addr.id, public_ip=addr.ip, domain=domain, pool=addr.pool,
                  instance_id=await ec2_id(ctx, "instance", addr.server_id) if addr.server_id else None,
                  private_ip=addr.fixed_ip if associated else None, port_id=addr.port_id)
    if domain == "vpc":
        if associated:
            # by port: an association to a network interface outlives the interface's instance
            out.association_id = await ec2_id(ctx, "association", f"{addr.id}:{addr.port_id or addr.server_id}")
            if addr.port_id:
                out.interface_id = await ec2_id(ctx, "network-interface", addr.port_id)
        out.tags = (tags or {}).get(alloc)
    return out


async def records(ctx: RequestContext) -> dict[str, dict[str, Any]]:
    """Allocation id -> what the gateway holds of the address: its domain, the instance of a public address."""
    return await scan(ctx, NS_ADDRESS)


async def all_addresses(ctx: RequestContext, *, with_tags: bool = True) -> list[Address]:
    """The caller's elastic IPs (without their tags when the caller needs only where they point)."""
    c = await compute(ctx)
    with backend_errors("elastic-ip"):
        addresses = await c.list_addresses()
    recs, tags = await records(ctx), await tag_map(ctx) if with_tags else {}
    out = []
    for addr in addresses:
        alloc = await ec2_id(ctx, "elastic-ip", addr.id)
        rec = recs.get(alloc or "", {})
        if rec.get("launch"):
            continue  # an instance's public address (public_ips.py), not an elastic IP
        out.append(await address_of(ctx, addr, rec.get("domain", "standard"), tags))
    return out
