"""AWS's subnet addressing rule, THE one place it lives: a subnet's first four addresses (network, VPC router,
DNS, future use) and its broadcast address are reserved; the rest is the allocation pool. Backends get the
pool as data (create_subnet(allocation_pool=...))."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network

AWS_RESERVED = 5  # network, router, DNS, future use, broadcast


def reserved(cidr: str | IPv4Network) -> set[IPv4Address]:
    """The five addresses AWS reserves in a subnet."""
    net = ipaddress.IPv4Network(cidr, strict=False)
    first = int(net.network_address)
    return {IPv4Address(first + i) for i in range(4)} | {net.broadcast_address}


def allocation_pool(cidr: str | IPv4Network) -> tuple[str, str]:
    """The first and last address instances may get: after the four reserved ones, before broadcast."""
    net = ipaddress.IPv4Network(cidr, strict=False)
    return str(net.network_address + 4), str(net.broadcast_address - 1)
