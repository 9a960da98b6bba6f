"""Account numbers for cloud accounts: 12 digits, stable, unique, the same on every replica sharing the state."""

from __future__ import annotations

import asyncio

from gateway.auth.accounts import NS_ACCOUNTS, AccountNumbers, candidate, is_number
from gateway.store.sqlite import SqliteStore


async def test_a_cloud_account_gets_one_twelve_digit_number_that_maps_back(tmp_path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    try:
        numbers = AccountNumbers(store)
        project = "aeb4e8fbc44c40ccb13ce25378004211"
        first = await numbers.number(project)
        assert is_number(first) and first == candidate(project, 0)
        assert await numbers.number(project) == first
        # another replica (no cache) on the same state agrees, both ways
        other = AccountNumbers(store)
        assert await other.number(project) == first and await other.cloud_id(first) == project
        assert await other.cloud_id("000000000000") is None and await other.cloud_id("not-a-number") is None
    finally:
        await store.close()


async def test_a_taken_number_is_never_shared_and_replicas_racing_agree(tmp_path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    try:
        squatter = "someone-else"
        await store.put(NS_ACCOUNTS, f"number/{candidate('p1', 0)}", squatter)  # p1's first candidate is taken
        replicas = [AccountNumbers(store) for _ in range(8)]
        got = await asyncio.gather(*(r.number("p1") for r in replicas))
        assert len(set(got)) == 1 and got[0] == candidate("p1", 1)
        assert await AccountNumbers(store).cloud_id(got[0]) == "p1"
        many = await asyncio.gather(*(AccountNumbers(store).number(f"project-{i}") for i in range(200)))
        assert len(set(many)) == 200 and all(is_number(n) for n in many)
    finally:
        await store.close()
