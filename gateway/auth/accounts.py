"""AWS account numbers for cloud accounts: each cloud account (a Keystone project id, a CloudStack account
id) is shown to AWS clients as a stable 12-digit account number.

The number is derived from the cloud id (SHA-256, 12 decimal digits, never starting with 0), so every
replica computes the same one without coordination, and is recorded both ways in the shared state store,
so a number a client names (a LaunchPermission UserId, an ACL grantee, a policy Principal) turns back
into the cloud id. `ns account:by-number` is the arbiter: the first cloud id to claim a number
(`put_if_absent`) owns it; another cloud id hashing to the same number (a collision) takes the next
candidate of its own sequence (`sha256("<attempt>:<cloud id>")`), the same walk on every replica.

Ids that already are 12-digit numbers (configured static accounts, records written by this code) map to
themselves. Mappings never change once recorded, so each process keeps them in memory.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store

NS_BY_NUMBER = "account:by-number"  # 12-digit number -> cloud account id (the arbiter)
NS_BY_CLOUD = "account:by-cloud"    # cloud account id -> 12-digit number (what the walk settled on)
MAX_ATTEMPTS = 64  # collisions needing more candidates than this: 10^12 numbers make it impossible in practice

_NUMBER = re.compile(r"\d{12}")


def is_number(value: str) -> bool:
    """A 12-digit AWS account number (as clients and configuration write them)."""
    return bool(_NUMBER.fullmatch(value))


def looks_like_cloud_id(value: str) -> bool:
    """A cloud account id rather than a number or an AWS-side owner word ("amazon", "self", "anonymous"):
    Keystone project ids are hex, CloudStack's are UUIDs, so they hold a digit."""
    return bool(value) and not is_number(value) and any(c.isdigit() for c in value)


def candidate(cloud_id: str, attempt: int = 0) -> str:
    """The `attempt`-th candidate number for a cloud id: 12 decimal digits, the first in 1-9."""
    seed = cloud_id if attempt == 0 else f"{attempt}:{cloud_id}"
    value = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")
    return str(10**11 + value % (9 * 10**11))


class AccountNumbers:
    """Cloud account id ↔ AWS account number, recorded in the state store and cached in memory."""

    def __init__(self, store: Store, *, cloud_accounts: bool = False) -> None:
        self.store = store
        # True when callers are the cloud's accounts (a backend's identity service): state written before
        # account numbers existed then holds cloud ids, which readers map (gateway/s3/common.stored_account).
        # With configured static keys the configured account ids are the ids, whatever their form.
        self.cloud_accounts = cloud_accounts
        self._number: dict[str, str] = {}  # cloud id -> number
        self._cloud: dict[str, str] = {}   # number -> cloud id

    def _remember(self, cloud_id: str, number: str) -> str:
        self._number[cloud_id] = number
        self._cloud[number] = cloud_id
        return number

    async def number(self, cloud_id: str) -> str:
        """The account number shown for `cloud_id` (recorded on first use)."""
        if not cloud_id or is_number(cloud_id):
            return cloud_id
        known = self._number.get(cloud_id)
        if known is not None:
            return known
        recorded = await self.store.get(NS_BY_CLOUD, cloud_id)
        if isinstance(recorded, str):
            return self._remember(cloud_id, recorded)
        for attempt in range(MAX_ATTEMPTS):
            number = candidate(cloud_id, attempt)
            owner = await self.store.put_if_absent(NS_BY_NUMBER, number, cloud_id)
            if owner is None or owner == cloud_id:
                # Every replica walks the same candidates against the same arbiter: they settle on one number.
                await self.store.put_if_absent(NS_BY_CLOUD, cloud_id, number)
                return self._remember(cloud_id, number)
        raise RuntimeError(f"no free account number for a cloud account after {MAX_ATTEMPTS} candidates")

    async def cloud(self, number: str) -> str | None:
        """The cloud account a number stands for; None when no cloud account has it (then a client's
        number names no account here, or a configured static account that maps to itself)."""
        known = self._cloud.get(number)
        if known is not None:
            return known
        if not is_number(number):
            return None
        cloud_id = await self.store.get(NS_BY_NUMBER, number)
        if not isinstance(cloud_id, str):
            return None
        self._remember(cloud_id, number)
        return cloud_id

    async def cloud_or_self(self, value: str) -> str:
        """A client-named account as the cloud id when a cloud account has that number, else unchanged
        (a static account's number, "self", "all", an alias)."""
        return (await self.cloud(value) or value) if is_number(value) else value
