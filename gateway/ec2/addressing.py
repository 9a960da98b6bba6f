"""AWS's rule for a subnet's addresses, in one place: the first four (network, VPC router, DNS, future use)
and the last (broadcast) are reserved, never allocatable. The rule reaches the cloud as data — the pool a
backend's `create_subnet` gets — so backends know nothing of it."""

from __future__ import annotations

import ipaddress

AWS_RESERVED = 5  # network, router, DNS, future use, broadcast
_LOW, _HIGH = 4, 1  # how many of them sit at the start and at the end of the block


def reserved(cidr: str) -> set[str]:
    """The subnet's five reserved addresses."""
    net = ipaddress.ip_network(cidr)
    return {str(net[i]) for i in range(_LOW)} | {str(net[-1 - i]) for i in range(_HIGH)}


def allocation_pool(cidr: str) -> tuple[str, str]:
    """(first, last) allocatable address of the subnet: its block without the reserved addresses."""
    net = ipaddress.ip_network(cidr)
    return str(net[_LOW]), str(net[-1 - _HIGH])
