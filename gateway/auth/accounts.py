"""AWS account numbers for a cloud's own accounts (Keystone project ids, CloudStack account ids).

AWS clients expect a 12-digit account id — in OwnerId, in ARNs, in bucket-policy principals, from STS — and
some validate it. A cloud's account ids are UUIDs, so the gateway gives each one a number, once, the same
on every replica: the first candidate derived from the cloud id that no other cloud account holds, claimed
atomically in the shared state (two records, number → cloud id and cloud id → number, each put-if-absent).
A number never changes or moves to another account, so tags, ids and bucket owners recorded under it stay
with it. Numbers are cached in-process for good (they never change).
"""

from __future__ import annotations

import hashlib

from ..store import Store

NS_ACCOUNTS = "gateway:accounts"  # "cloud/<cloud id>" -> number, "number/<number>" -> cloud id
_ATTEMPTS = 64  # candidates tried: the chance a 65th is needed is nil below billions of accounts
_MAX_CACHE = 100_000


def candidate(cloud_id: str, attempt: int) -> str:
    digest = hashlib.sha256(f"{cloud_id}\0{attempt}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**12:012d}"


def is_number(value: str) -> bool:
    return len(value) == 12 and value.isdigit() and value.isascii()


class AccountNumbers:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._numbers: dict[str, str] = {}
        self._clouds: dict[str, str] = {}

    def _remember(self, cloud_id: str, number: str) -> str:
        if len(self._numbers) > _MAX_CACHE:
            self._numbers.clear()
            self._clouds.clear()
        self._numbers[cloud_id] = number
        self._clouds[number] = cloud_id
        return number

    async def number(self, cloud_id: str) -> str:
        """The account number of a cloud account, allocated on first sight."""
        known = self._numbers.get(cloud_id)
        if known is not None:
            return known
        recorded = await self.store.get(NS_ACCOUNTS, f"cloud/{cloud_id}")
        if recorded is not None:
            return self._remember(cloud_id, str(recorded))
        for attempt in range(_ATTEMPTS):
            number = candidate(cloud_id, attempt)
            holder = await self.store.put_if_absent(NS_ACCOUNTS, f"number/{number}", cloud_id)
            if holder is not None and holder != cloud_id:
                continue  # another cloud account has it
            claimed = await self.store.put_if_absent(NS_ACCOUNTS, f"cloud/{cloud_id}", number)
            if claimed is not None and claimed != number:
                # a concurrent first sight on another replica won with another number: keep theirs
                await self.store.delete(NS_ACCOUNTS, f"number/{number}")
                return self._remember(cloud_id, str(claimed))
            return self._remember(cloud_id, number)
        raise RuntimeError(f"no free account number for {cloud_id!r} after {_ATTEMPTS} candidates")

    async def cloud_id(self, number: str) -> str | None:
        """The cloud account behind a number, or None when the number was never given out."""
        known = self._clouds.get(number)
        if known is not None:
            return known
        if not is_number(number):
            return None
        recorded = await self.store.get(NS_ACCOUNTS, f"number/{number}")
        if recorded is None:
            return None
        self._remember(str(recorded), number)
        return str(recorded)
