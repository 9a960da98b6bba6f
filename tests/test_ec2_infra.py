"""Backend-neutral EC2 machinery: filters, ids, paging, tags, ClientToken idempotency."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.ec2 import filters, idempotency, ids, paging
from gateway.ec2.tags import Tags, resource_type
from gateway.protocol import errors
from gateway.store import open_store


@pytest.fixture
async def store():
    s = open_store("sqlite://:memory:")
    yield s
    await s.close()


# ---- filters -------------------------------------------------------------------------------------------
ITEMS = [
    {"InstanceId": "i-1", "State": {"Name": "running"}, "Tags": [{"Key": "Name", "Value": "web-1"}],
     "SecurityGroups": [{"GroupName": "default"}, {"GroupName": "web"}], "EbsOptimized": False},
    {"InstanceId": "i-2", "State": {"Name": "stopped"}, "Tags": [{"Key": "Name", "Value": "db*"}],
     "SecurityGroups": [{"GroupName": "db"}], "EbsOptimized": True},
    {"InstanceId": "i-3", "State": {"Name": "running"}},
]
SPEC = {"instance-state-name": filters.field("State", "Name"),
        "group-name": filters.field("SecurityGroups", "GroupName"),
        "ebs-optimized": filters.field("EbsOptimized")}


def _ids(items):
    return [i["InstanceId"] for i in items]


@pytest.mark.parametrize(("flt", "expected"), [
    ([{"Name": "instance-state-name", "Values": ["running"]}], ["i-1", "i-3"]),
    ([{"Name": "instance-state-name", "Values": ["stopped", "running"]}], ["i-1", "i-2", "i-3"]),
    ([{"Name": "instance-state-name", "Values": ["run*"]}], ["i-1", "i-3"]),
    ([{"Name": "instance-state-name", "Values": ["RUNNING"]}], []),  # case-sensitive
    ([{"Name": "instance-state-name", "Values": ["r?nning"]}], ["i-1", "i-3"]),
    ([{"Name": "group-name", "Values": ["web"]}], ["i-1"]),  # list members fan out
    ([{"Name": "ebs-optimized", "Values": ["true"]}], ["i-2"]),
    ([{"Name": "tag:Name", "Values": ["web-*"]}], ["i-1"]),
    ([{"Name": "tag:Name", "Values": ["db\\*"]}], ["i-2"]),  # escaped wildcard is literal
    ([{"Name": "tag-key", "Values": ["Name"]}], ["i-1", "i-2"]),
    ([{"Name": "tag-value", "Values": ["*1"]}], ["i-1"]),
    ([{"Name": "instance-state-name", "Values": ["running"]}, {"Name": "tag-key", "Values": ["*"]}], ["i-1"]),
    (None, ["i-1", "i-2", "i-3"]),
])
def test_filter_semantics(flt, expected):
    assert _ids(filters.apply(ITEMS, flt, SPEC)) == expected


def test_unknown_filter_is_invalid_parameter_value_even_on_empty_results():
    with pytest.raises(errors.InvalidParameterValue, match="The filter 'instance-stat' is invalid"):
        filters.apply([], [{"Name": "instance-stat", "Values": ["x"]}], SPEC)


# ---- ids -------------------------------------------------------------------------------------------------
async def test_ids_are_aws_shaped_stable_and_resolve_back(store):
    idmap = ids.IdMap(store)
    a = await idmap.ec2_id("instance", "uuid-a")
    assert a.startswith("i-") and len(a) == 19 and ids.is_valid(a, "instance")
    assert await idmap.ec2_id("instance", "uuid-a") == a
    assert a == ids.derive("instance", "uuid-a")  # same on every replica
    assert await idmap.backend_id("instance", a) == "uuid-a"
    assert await idmap.backend_id("volume", a) is None  # right id, wrong kind
    vol = await idmap.ec2_id("volume", "uuid-a")
    assert vol.startswith("vol-") and vol != a


async def test_id_collision_is_resolved_by_rederiving(store):
    idmap = ids.IdMap(store)
    taken = ids.derive("instance", "uuid-b")
    await store.put(ids.NS_BY_EC2, taken, {"kind": "instance", "backend_id": "someone-else"})
    got = await idmap.ec2_id("instance", "uuid-b")
    assert got != taken and got == ids.derive("instance", "uuid-b", 1)


def test_id_syntax():
    assert ids.is_valid("i-0123456789abcdef0", "instance") and ids.is_valid("i-12345678", "instance")
    assert not ids.is_valid("i-0123456789ABCDEF0", "instance")
    assert not ids.is_valid("vol-12345678", "instance") and not ids.is_valid("i-0123456789abcdef01", "instance")
    # a short hex body is well-formed (an unknown id, NotFound), as the EC2 suite expects of `i-0`
    assert ids.is_valid("i-0", "instance") and not ids.is_valid("i-", "instance") and not ids.is_valid("i-xyz", "instance")


# ---- paging ----------------------------------------------------------------------------------------------
def test_paging_is_stable_when_items_change_between_pages():
    items = [f"i-{n:02d}" for n in range(10)]
    first, token = paging.page("DescribeInstances", items, str, 4, None)
    assert first == items[:4] and token
    changed = [i for i in items if i != "i-05"] + ["i-00a", "i-99"]  # one vanished, one before, one after
    second, token2 = paging.page("DescribeInstances", changed, str, 4, token)
    assert second == ["i-04", "i-06", "i-07", "i-08"]
    third, token3 = paging.page("DescribeInstances", changed, str, 4, token2)
    assert third == ["i-09", "i-99"] and token3 is None


@pytest.mark.parametrize("token", ["garbage", "", "x" * 200])
def test_bad_next_token_is_invalid_parameter_value(token):
    if not token:
        assert paging.page("A", ["a"], str, 1, token) == (["a"], None)
        return
    with pytest.raises(errors.InvalidParameterValue):
        paging.page("A", ["a", "b"], str, 1, token)


def test_token_from_another_action_or_edited_is_refused():
    _, token = paging.page("DescribeVolumes", ["a", "b"], str, 1, None)
    with pytest.raises(errors.InvalidParameterValue):
        paging.page("DescribeInstances", ["a", "b"], str, 1, token)
    edited = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(errors.InvalidParameterValue):
        paging.page("DescribeVolumes", ["a", "b"], str, 1, edited)


def test_max_results_bounds_and_combination():
    assert paging.check_max_results({"MaxResults": 5}) == 5
    with pytest.raises(errors.InvalidParameterValue):
        paging.check_max_results({"MaxResults": 4})
    with pytest.raises(errors.InvalidParameterCombination):
        paging.check_max_results({"MaxResults": 5, "InstanceIds": ["i-1"]}, ids_param="InstanceIds")
    assert paging.check_max_results({"MaxResults": 1000}, maximum=500, clamp=True) == 500
    with pytest.raises(errors.InvalidParameterValue):
        paging.check_max_results({"MaxResults": 1000}, maximum=500)


# ---- tags ------------------------------------------------------------------------------------------------
async def test_tags_add_remove_and_limits(store):
    tags = Tags(store, "acct")
    await tags.add(["i-1", "vol-2"], [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": ""}])
    assert await tags.get("i-1") == {"Name": "web", "env": ""}
    await tags.remove(["i-1"], [{"Key": "Name", "Value": "other"}])  # value mismatch: kept
    assert await tags.get("i-1") == {"Name": "web", "env": ""}
    await tags.remove(["i-1"], [{"Key": "Name"}])
    assert await tags.get("i-1") == {"env": ""}
    assert sorted(k for k, _ in await tags.all()) == ["i-1", "vol-2"]
    assert await Tags(store, "other-acct").all() == []  # per account
    with pytest.raises(errors.InvalidParameterValue, match="reserved"):
        await tags.add(["i-1"], [{"Key": "aws:x", "Value": "v"}])
    with pytest.raises(errors.TagLimitExceeded):
        await tags.add(["i-1"], [{"Key": f"k{n}", "Value": "v"} for n in range(50)])
    assert resource_type("vol-0123") == "volume" and resource_type("i-0123") == "instance"


# ---- idempotency -------------------------------------------------------------------------------------------
async def test_client_token_runs_once_and_replays(store):
    calls = []

    async def run():
        calls.append(1)
        await asyncio.sleep(0.05)
        return {"InstanceId": f"i-{len(calls)}"}

    params = {"ImageId": "ami-1", "ClientToken": "tok"}
    results = await asyncio.gather(*(idempotency.once(store, "acct", "RunInstances", params, run)
                                     for _ in range(5)))
    assert len(calls) == 1 and all(r == {"InstanceId": "i-1"} for r in results)
    with pytest.raises(errors.IdempotentParameterMismatch):
        await idempotency.once(store, "acct", "RunInstances", {**params, "ImageId": "ami-2"}, run)
    other = await idempotency.once(store, "acct2", "RunInstances", params, run)  # tokens are per account
    assert other == {"InstanceId": "i-2"}


async def test_failed_call_releases_its_token(store):
    async def boom():
        raise errors.InvalidParameterValue("no")

    async def ok():
        return {"ok": True}

    params = {"ClientToken": "t"}
    with pytest.raises(errors.InvalidParameterValue):
        await idempotency.once(store, "a", "X", params, boom)
    assert await idempotency.once(store, "a", "X", params, ok) == {"ok": True}


async def test_a_dead_replicas_claim_is_taken_over_once(store, monkeypatch):
    """A claim whose holder stopped renewing it (a replica killed mid-launch) is taken over by the retries:
    exactly one of them runs the call, the others get its result. A claim without an expiry (written before
    claims had one) and a live claim are never taken over: those retries still wait and then answer 503."""
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.6)
    params = {"ImageId": "ami-1", "ClientToken": "tok"}
    fp, key = idempotency.fingerprint(params), "acct/RunInstances/tok"
    calls = []

    async def run():
        calls.append(1)
        await asyncio.sleep(0.05)
        return {"InstanceId": "i-new"}

    for stuck in ({"fp": fp, "state": "pending"},
                  {"fp": fp, "state": "pending", "holder": "alive", "until": time.time() + 60}):
        await store.put(idempotency.NS_TOKENS, key, stuck)
        with pytest.raises(errors.ServiceUnavailable):
            await idempotency.once(store, "acct", "RunInstances", params, run)
        assert calls == []
    await store.put(idempotency.NS_TOKENS, key, {"fp": fp, "state": "pending", "holder": "dead",
                                                 "until": time.time() - 1})
    results = await asyncio.gather(*(idempotency.once(store, "acct", "RunInstances", params, run)
                                     for _ in range(6)))
    assert len(calls) == 1 and results == [{"InstanceId": "i-new"}] * 6
    assert (await store.get(idempotency.NS_TOKENS, key))["state"] == "done"


async def test_a_long_call_renews_its_claim(store, monkeypatch):
    """A call running longer than a claim lives keeps it by renewing: a retry meanwhile waits for its result
    instead of launching a second time."""
    monkeypatch.setattr(idempotency, "CLAIM_SECONDS", 0.3)
    calls = []

    async def slow():
        calls.append(1)
        await asyncio.sleep(1.2)
        return {"InstanceId": "i-slow"}

    params = {"ClientToken": "long"}
    first = asyncio.create_task(idempotency.once(store, "acct", "RunInstances", params, slow))
    await asyncio.sleep(0.7)  # the claim would have expired twice over without renewal
    second = await idempotency.once(store, "acct", "RunInstances", params, slow)
    assert second == await first == {"InstanceId": "i-slow"} and len(calls) == 1


def test_client_token_echo_follows_the_output_model():
    from gateway.ec2.idempotency import _echoes_token

    assert _echoes_token("CreateRouteTable") and _echoes_token("CreateNatGateway")
    assert not _echoes_token("RunInstances") and not _echoes_token("CreateVolume")
