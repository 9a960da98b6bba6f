"""CloudStack client units: signing (the documented vector), the error table, parameter flattening, paging,
async jobs (success, failure, deadline) and that waiting on a job never blocks the event loop — against the
simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from backends import base
from backends.cloudstack import signing
from backends.cloudstack.client import CloudStackClient, Transport, flatten
from backends.cloudstack.errors import error_for, not_found_kind
from devcloud.cloudstack_sim import SimConfig, Simulator

# ---- signing ---------------------------------------------------------------------------------------------------
# The worked example of CloudStack's developer guide ("Signing API calls with Python"): listUsers as JSON.
DOC_API_KEY = "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg"
DOC_SECRET = "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ"


def test_signature_matches_the_documented_example() -> None:
    params = {"command": "listUsers", "response": "json", "apikey": DOC_API_KEY}
    assert signing.string_to_sign(params) == ("apikey=" + DOC_API_KEY.lower() + "&command=listusers&response=json")
    assert signing.sign(params, DOC_SECRET) == "TTpdDq/7j/J58XCRHomKoQXEQds="


def test_values_are_encoded_as_javas_urlencoder() -> None:
    assert signing.encode("a b") == "a%20b"   # never '+'
    assert signing.encode("x*y") == "x*y"     # '*' kept
    assert signing.encode("a~b") == "a%7Eb"   # '~' encoded
    assert signing.encode("a/b+c=") == "a%2Fb%2Bc%3D"


def test_signed_adds_version_3_expiry_and_a_verifiable_signature() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out = signing.signed({"command": "listZones", "Name": "x"}, "AK", "SK", expires_in=60, now=now)
    assert out["signatureversion"] == "3" and out["expires"] == "2026-01-01T00:01:00+0000"
    assert out["name"] == "x" and out["apikey"] == "AK" and out["response"] == "json"
    assert signing.verify(out, "SK") and not signing.verify(out, "other")
    assert not signing.verify({**out, "name": "y"}, "SK")  # any changed parameter breaks it


# ---- the error table -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "cs", "text", "expected", "kind"), [
    (401, None, "unable to verify user credentials", base.Forbidden, None),
    (432, 9999, "The given command does not exist", base.NotSupported, None),
    (431, 4365, "Account does not have permission", base.Forbidden, None),
    (431, 4370, "anything", base.QuotaExceeded, None),
    (530, 4360, "anything", base.AlreadyExists, None),
    (530, 4375, "anything", base.Conflict, None),
    (530, 4380, "anything", base.Unavailable, None),
    (533, None, "Insufficient capacity", base.Unavailable, None),
    (535, 4370, "Maximum number of resources of type 'volume' exceeded", base.QuotaExceeded, None),
    (536, 4375, "in use", base.Conflict, None),
    (537, 4360, "rule conflict", base.AlreadyExists, None),
    # the vague families: the text decides
    (431, 4350, "A key pair with name 'k' already exists.", base.AlreadyExists, None),
    (431, 9999, "Unable to execute API command createsnapshot due to invalid value. Invalid parameter volumeid "
                "value=1 due to incorrect long value format, or entity does not exist", base.NotFound, "volume"),
    (431, 4350, "Unable to execute API command deployvirtualmachine due to invalid value. Object vm_template(uuid: x) "
                "does not exist.", base.NotFound, "image"),
    (530, 4250, "Invalid parameter id.", base.NotFound, "volume"),   # the call's own kind
    (530, None, "Please specify a volume that is not attached to any VM.", base.Conflict, None),
    (530, 4250, "Invalid port numbers 1000:99999", base.InvalidInput, None),
    (431, 4350, "Invalid CIDR specified 192.168.0.2/33", base.InvalidInput, None),
    (530, 4250, "Failed to authorize security group ingress rule(s)", base.AlreadyExists, None),
    (530, 4250, "Internal error executing command", base.Unavailable, None),
])
def test_error_table(code: int, cs: int | None, text: str, expected: type, kind: str | None) -> None:
    err = error_for(code, cs, text, kind="volume")
    assert type(err) is expected
    if kind is not None:
        assert err.kind == kind


def test_not_found_kind_ignores_the_commands_own_name() -> None:
    assert not_found_kind("Unable to execute API command deletesnapshot due to invalid value. Invalid parameter "
                          "id value=x", "snapshot") == "snapshot"
    assert not_found_kind("A key pair with name 'k' was not found.") == "keypair"


def test_flatten() -> None:
    assert flatten({"A": True, "b": 3, "c": ["x", "y"], "d": None, "e": [],
                    "tags": [{"key": "k", "value": "v"}, {"key": "k2", "value": ""}]}) == {
        "a": "true", "b": "3", "c": "x,y", "tags[0].key": "k", "tags[0].value": "v", "tags[1].key": "k2",
        "tags[1].value": ""}


# ---- against the simulator -------------------------------------------------------------------------------------
@pytest.fixture
async def sim():
    s = Simulator(SimConfig(job_delay=0.05))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def transport(sim: Simulator):
    t = Transport(sim.endpoint, timeout=5)
    await t.start()
    yield t
    await t.close()


def _client(transport: Transport, sim: Simulator, account: str = "a", **kw) -> CloudStackClient:
    return CloudStackClient(transport, *sim.keys(account), **kw)


async def test_wrong_secret_is_refused_with_401(sim: Simulator, transport: Transport) -> None:
    bad = CloudStackClient(transport, sim.keys("a")[0], "wrong")
    with pytest.raises(base.Forbidden):
        await bad.call("listZones")


async def test_expired_request_is_refused(sim: Simulator, transport: Transport) -> None:
    late = _client(transport, sim, expires_in=-60)
    with pytest.raises(base.Forbidden):
        await late.call("listZones")


async def test_paging_reads_every_page(sim: Simulator, transport: Transport) -> None:
    client = _client(transport, sim, page_size=2)
    for i in range(5):
        await client.call("createSecurityGroup", {"name": f"g{i}"})
    pages: list[str] = []
    transport.observers.append(lambda command, status: pages.append(command))
    groups = await client.list("listSecurityGroups", "securitygroup")
    assert len(groups) == 6 and len({g["id"] for g in groups}) == 6  # default + 5
    assert pages.count("listSecurityGroups") == 3  # 2 + 2 + 2, stopped at count
    page_params = [p for c, p in sim.calls if c == "listSecurityGroups"]
    assert [p["page"] for p in page_params[-3:]] == ["1", "2", "3"] and page_params[-1]["pagesize"] == "2"


async def test_empty_list_is_an_empty_object(sim: Simulator, transport: Transport) -> None:
    assert await _client(transport, sim).list("listVolumes", "volume") == []


async def test_long_parameters_go_as_a_post_form(sim: Simulator, transport: Transport) -> None:
    import base64
    key = "ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x07ssh-rsa" + b"k" * 3000).decode()
    answer = await _client(transport, sim).call("registerSSHKeyPair", {"name": "big", "publickey": key})
    assert answer["keypair"]["name"] == "big"
    assert len(signing.string_to_sign({"publickey": key})) > transport.post_threshold


async def test_job_result_and_failure_are_mapped(sim: Simulator, transport: Transport) -> None:
    client = _client(transport, sim)
    group = (await client.call("createSecurityGroup", {"name": "web"}))["securitygroup"]
    rule = {"securitygroupid": group["id"], "protocol": "tcp", "startport": 22, "endport": 22, "cidrlist": "0.0.0.0/0"}
    result = await client.run("authorizeSecurityGroupIngress", rule)
    assert result["securitygroup"]["ingressrule"][0]["startport"] == 22
    with pytest.raises(base.AlreadyExists):  # CloudStack's duplicate: a failed job, 530
        await client.run("authorizeSecurityGroupIngress", rule)
    sim.fail_next("authorizeSecurityGroupIngress", 530, "Invalid port numbers 1000:99999")
    with pytest.raises(base.InvalidInput):
        await client.run("authorizeSecurityGroupIngress", {**rule, "startport": 80, "endport": 80})


async def test_a_job_that_never_finishes_is_unavailable_at_the_deadline(sim: Simulator, transport: Transport) -> None:
    client = _client(transport, sim, job_deadline=0.6)
    group = (await client.call("createSecurityGroup", {"name": "slow"}))["securitygroup"]
    sim.hang_next("authorizeSecurityGroupIngress")
    started = time.monotonic()
    with pytest.raises(base.Unavailable):
        await client.run("authorizeSecurityGroupIngress", {"securitygroupid": group["id"], "protocol": "tcp",
                                                           "startport": 1, "endport": 2})
    assert 0.5 <= time.monotonic() - started < 3


async def test_waiting_for_a_job_does_not_block_other_calls(sim: Simulator, transport: Transport) -> None:
    client = _client(transport, sim, job_deadline=1.5)
    group = (await client.call("createSecurityGroup", {"name": "slow2"}))["securitygroup"]
    sim.hang_next("authorizeSecurityGroupIngress")
    waiting = asyncio.create_task(client.run("authorizeSecurityGroupIngress", {
        "securitygroupid": group["id"], "protocol": "tcp", "startport": 1, "endport": 2}))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    zones = await client.list("listZones", "zone")
    took = time.monotonic() - started
    assert zones and took < 0.5 and not waiting.done()
    with pytest.raises(base.Unavailable):
        await waiting


async def test_unreachable_cloud_is_unavailable() -> None:
    from tests.server import free_port
    t = Transport(f"http://127.0.0.1:{free_port()}/client/api", timeout=2, connect_timeout=1)
    try:
        with pytest.raises(base.Unavailable):
            await CloudStackClient(t, "k", "s").call("listZones")
    finally:
        await t.close()
