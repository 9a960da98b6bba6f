"""AWS-style resource ids (`i-` + 17 hex digits) mapped durably to backend ids.

The EC2 id is derived from the backend id (a keyed hash), so the same backend resource always gets the
same EC2 id on every gateway replica, even before the mapping is stored; the mapping is then recorded
in the state store (both directions) so EC2 ids resolve back without listing the cloud. A collision
(two backend ids, one EC2 id: 2^-68 per pair) is detected by the atomic insert and resolved by
re-deriving with a counter.
"""

from __future__ import annotations

import hashlib
import re

from ..store import Store

NS_BY_EC2 = "ec2:id"       # ec2 id -> {"kind": ..., "backend_id": ...}
NS_BY_BACKEND = "ec2:bid"  # "<kind>:<backend id>" -> ec2 id

# EC2 id prefixes per resource kind (the kind names are cloudgate's, the prefixes AWS's).
PREFIXES = {
    "instance": "i", "image": "ami", "volume": "vol", "snapshot": "snap", "security-group": "sg",
    "security-group-rule": "sgr", "reservation": "r", "elastic-ip": "eipalloc", "association": "eipassoc",
    "key-pair": "key", "vpc": "vpc", "subnet": "subnet", "route-table": "rtb", "internet-gateway": "igw",
    "nat-gateway": "nat", "network-interface": "eni", "dhcp-options": "dopt", "attachment": "eni-attach",
    "route-table-association": "rtbassoc", "vpc-cidr-association": "vpc-cidr-assoc", "customer-gateway": "cgw",
    "launch-template": "lt",
}
# A hex body of 1 to 17 digits is well-formed (AWS has issued 8 and 17; a shorter one such as `i-0` is
# merely unknown, `InvalidInstanceID.NotFound`, which the EC2 suite expects); anything else is Malformed.
_ID = re.compile(r"^([a-z]+(?:-[a-z]+)?)-([0-9a-f]{1,17})$")


def derive(kind: str, backend_id: str, attempt: int = 0) -> str:
    digest = hashlib.sha256(f"{kind}\0{backend_id}\0{attempt}".encode()).hexdigest()
    return f"{PREFIXES[kind]}-{digest[:17]}"


def is_valid(ec2_id: str, kind: str) -> bool:
    """Syntactically an id of this kind (its prefix, then 1-17 hex digits)."""
    m = _ID.match(ec2_id or "")
    return bool(m) and m.group(1) == PREFIXES[kind]


class IdMap:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def ec2_id(self, kind: str, backend_id: str) -> str:
        """The EC2 id for a backend resource, allocating and recording it on first sight."""
        key = f"{kind}:{backend_id}"
        known = await self.store.get(NS_BY_BACKEND, key)
        if known is not None:
            return known
        for attempt in range(8):
            candidate = derive(kind, backend_id, attempt)
            existing = await self.store.put_if_absent(NS_BY_EC2, candidate,
                                                      {"kind": kind, "backend_id": backend_id})
            if existing is None or existing == {"kind": kind, "backend_id": backend_id}:
                # A concurrent request may have recorded the reverse mapping already: same value.
                await self.store.put(NS_BY_BACKEND, key, candidate)
                return candidate
        raise RuntimeError(f"could not allocate an id for {kind} {backend_id}")  # 8 collisions: impossible

    async def ec2_ids(self, kind: str, backend_ids: list[str]) -> dict[str, str]:
        return {bid: await self.ec2_id(kind, bid) for bid in backend_ids}

    async def backend_id(self, kind: str, ec2_id: str) -> str | None:
        """The backend id behind an EC2 id of this kind, or None (unknown, or another kind)."""
        entry = await self.store.get(NS_BY_EC2, ec2_id)
        if entry is None or entry.get("kind") != kind:
            return None
        return entry["backend_id"]
