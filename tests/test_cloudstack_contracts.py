"""Contract tests: every recorded real CloudStack response the client consumes (../shared/contracts/cloudstack)
goes through the client over HTTP and through the mapping to neutral dataclasses. Skipped, saying why,
when the contracts are absent."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from backends import base
from backends.cloudstack import mapping as m
from backends.cloudstack.client import CloudStackClient, Transport
from backends.compute import ServerState, VolumeState
from tests.cs_fixtures import items, recorded
from tests.server import free_port


# ---- mapping -----------------------------------------------------------------------------------------------------
def test_every_recorded_vm_maps_to_a_server() -> None:
    vms = items("virtualmachine")
    assert len(vms) >= 20
    for name, vm in vms:
        if "state" in vm:
            assert vm["state"] in m.VM_STATES, f"{name}: unknown VM state {vm['state']}"
        server = m.server_from(vm)
        assert server.id == str(vm.get("id", "")), name
        assert isinstance(server.state, ServerState)
        nic_ips = [n["ipaddress"] for n in vm.get("nic") or () if n.get("ipaddress")]
        assert [a.ip for a in server.addresses if not a.floating and a.version == 4] == nic_ips, name
        if vm.get("serviceofferingname"):
            assert server.flavor_name == vm["serviceofferingname"]
        if vm.get("publicip"):
            assert any(a.floating and a.ip == vm["publicip"] for a in server.addresses)


def test_server_state_mapping() -> None:
    assert m.server_state("Running") is ServerState.ACTIVE
    assert m.server_state("Starting", ever_ran=False) is ServerState.BUILDING
    assert m.server_state("Starting") is ServerState.STARTING
    assert m.server_state("Stopping") is ServerState.STOPPING
    assert m.server_state("Stopped") is ServerState.STOPPED
    assert m.server_state("Destroyed") is ServerState.DELETED
    assert m.server_state("Expunging") is ServerState.DELETED
    assert m.server_state("Error") is ServerState.ERROR


def test_every_recorded_template_maps_to_an_image() -> None:
    templates = items("template")
    assert len(templates) >= 5
    for name, t in templates:
        image = m.image_from(t)
        assert image.id == str(t.get("id", "")) and image.name == t.get("name", ""), name
        assert image.state == ("available" if t.get("isready") else image.state)
        assert image.public is bool(t.get("ispublic"))
        assert image.owner == str(t.get("accountid") or t.get("account") or ""), name


def test_every_recorded_volume_maps() -> None:
    vols = items("volume")
    assert len(vols) >= 5
    for name, v in vols:
        if "state" in v:
            assert v["state"] in m.VOLUME_STATES, f"{name}: unknown volume state {v['state']}"
        vol = m.volume_from(v)
        assert vol.size_gib == -(-int(v.get("size") or 0) // (1 << 30)), name
        attached = bool(v.get("virtualmachineid")) and v.get("vmstate") not in ("Destroyed", "Expunging")
        assert bool(vol.attachments) is attached
        if attached and vol.state is not VolumeState.ATTACHING:
            assert vol.state in (VolumeState.IN_USE, VolumeState.DELETING, VolumeState.CREATING), name


def test_every_recorded_volume_snapshot_maps() -> None:
    snaps = items("snapshot", ("listsnapshotsresponse", "createsnapshotresponse", "queryasyncjobresultresponse"))
    snaps = [(n, s) for n, s in snaps if "volumeid" in s]  # VM snapshots are another concept
    assert snaps
    for name, s in snaps:
        assert s["state"] in m.SNAPSHOT_STATES, f"{name}: unknown snapshot state {s['state']}"
        snap = m.snapshot_from(s)
        assert snap.volume_id == str(s["volumeid"]) and snap.state in ("completed", "pending", "error", "deleting")


def test_every_recorded_public_address_maps() -> None:
    ips = items("publicipaddress") + items("ipaddress")
    assert len(ips) >= 5
    for name, a in ips:
        addr = m.address_from(a)
        assert addr.ip == a["ipaddress"] and addr.id == str(a["id"]), name
        assert (addr.server_id is not None) == bool(a.get("isstaticnat") and a.get("virtualmachineid"))


def test_every_recorded_security_group_maps_with_its_rules() -> None:
    groups = items("securitygroup")
    assert len(groups) >= 5
    for name, g in groups:
        group = m.group_from(g)
        assert len(group.rules) == len(g.get("ingressrule") or ()) + len(g.get("egressrule") or ()), name
        for rule, raw in zip(group.rules, [*(g.get("ingressrule") or ()), *(g.get("egressrule") or ())], strict=True):
            assert rule.id == str(raw.get("ruleid", ""))
            if raw.get("protocol") in ("tcp", "udp"):
                assert (rule.port_min, rule.port_max) == (raw.get("startport"), raw.get("endport"))
            if raw.get("protocol") == "icmp":  # -1 = any: no value
                assert (rule.port_min, rule.port_max) == tuple(
                    None if raw.get(k) == -1 else raw.get(k) for k in ("icmptype", "icmpcode"))


def test_recorded_keypairs_zones_and_offerings_map() -> None:
    keys = items("sshkeypair") + items("keypair")
    assert keys and all(m.keypair_from(k).fingerprint == k.get("fingerprint", "") for _, k in keys)
    zones = items("zone")
    assert zones and all(m.zone_from(z).name == z.get("name", "") for _, z in zones)
    offerings = items("serviceoffering")
    assert offerings
    for name, o in offerings:
        f = m.flavor_from(o)
        assert f.vcpus == int(o.get("cpunumber") or 0) and f.ram_mib == int(o.get("memory") or 0), name


# ---- the client over HTTP, replaying recorded answers ----------------------------------------------------------
@pytest.fixture
async def replay():
    """A server answering each request with the next recorded body (HTTP status = its errorcode)."""
    queue: list[dict] = []

    async def handle(request: web.Request) -> web.Response:
        body = queue.pop(0)
        inner = next(iter(body.values()))
        status = int(inner.get("errorcode", 200)) if isinstance(inner, dict) else 200
        return web.Response(text=json.dumps(body), status=status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/client/api", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    transport = Transport(f"http://127.0.0.1:{port}/client/api", timeout=5)
    client = CloudStackClient(transport, "key", "secret", job_deadline=0.2, poll_min=0.05)
    yield queue, client
    await transport.close()
    await runner.cleanup()


# What each recorded error must become (file → (neutral error, NotFound kind given the call's kind "volume")).
EXPECTED_ERRORS = {
    "invalid_attach_volume_instance_not_found.json": (base.NotFound, "server"),
    "invalid_attach_volume_volume_attached.json": (base.Conflict, None),
    "invalid_attach_volume_volume_not_found.json": (base.NotFound, "volume"),
    "invalid_authorize_security_group_egress.json": (base.InvalidInput, None),
    "invalid_authorize_security_group_egress_duplicate.json": (base.AlreadyExists, None),
    "invalid_authorize_security_group_ingress.json": (base.InvalidInput, None),
    "invalid_authorize_security_group_ingress_duplicate.json": (base.AlreadyExists, None),
    "invalid_create_keypair_duplicate.json": (base.AlreadyExists, None),
    "invalid_create_security_group_duplicate.json": (base.AlreadyExists, None),
    "invalid_create_snapshot_volume_not_found.json": (base.NotFound, "volume"),
    "invalid_create_tag_not_found.json": (base.NotFound, "volume"),
    "invalid_create_volume_invalid_snapshot_response.json": (base.NotFound, "snapshot"),
    "invalid_create_vpc_invalid_cidr.json": (base.InvalidInput, None),
    "invalid_delete_security_group.json": (base.NotFound, "security_group"),
    "invalid_delete_snapshot_snapshot_not_found.json": (base.NotFound, "volume"),
    "invalid_delete_tag_tag_not_found.json": (base.NotFound, "volume"),
    "invalid_delete_volume_invalid_volume_id.json": (base.NotFound, "volume"),
    "invalid_describe_image_image_not_found.json": (base.NotFound, "image"),
    "invalid_detach_volume_instance_not_found.json": (base.NotFound, "server"),
    "invalid_detach_volume_volume_detached.json": (base.Conflict, None),
    "invalid_detach_volume_volume_not_found.json": (base.NotFound, "volume"),
    "invalid_import_keypair_duplicate.json": (base.AlreadyExists, None),
    "invalid_instance_get_password.json": (base.NotFound, "server"),
    "invalid_run_instance_image_not_found.json": (base.NotFound, "image"),
    "invalid_run_instance_keypair_not_found.json": (base.NotFound, "keypair"),
    "invalid_run_instance_security_group_not_found.json": (base.NotFound, "security_group"),
    "invalid_run_instance_unknown_issue.json": (base.InvalidInput, None),
    "invalid_security_group_authorize_security_group.json": (base.NotFound, "security_group"),
    "deployVirtualMachine_deployfail.json": (base.NotFound, "flavor"),
    "registerSSHKeyPair_error.json": (base.InvalidInput, None),
    "queryAsyncJobResult_17177.json": (base.Unavailable, None),
}


async def test_every_recorded_error_is_mapped_by_the_client(replay) -> None:
    queue, client = replay
    seen = set()
    for name, key, inner in recorded():
        failed_job = key == "queryasyncjobresultresponse" and inner.get("jobstatus") == 2
        if "errorcode" not in inner and not failed_job:
            continue
        file = name.split("/")[-1]
        assert file in EXPECTED_ERRORS, f"{name}: recorded error without an expectation"
        cls, kind = EXPECTED_ERRORS[file]
        queue.append({key: inner})
        with pytest.raises(cls) as caught:
            if failed_job:
                await client.wait(str(inner.get("jobid")), kind="volume")
            else:
                await client.call("someCommand", kind="volume")
        if kind is not None:
            assert caught.value.kind == kind, name
        seen.add(file)
    assert seen == set(EXPECTED_ERRORS)


async def test_every_recorded_job_result_is_read(replay) -> None:
    queue, client = replay
    done = pending = 0
    for name, key, inner in recorded():
        if key != "queryasyncjobresultresponse" or inner.get("jobstatus") == 2:
            continue
        if inner.get("jobstatus") == 1:
            queue.append({key: inner})
            result = await client.wait(str(inner.get("jobid")))
            assert result == (inner.get("jobresult") if isinstance(inner.get("jobresult"), dict) else {}), name
            done += 1
        else:  # still running: polled until the deadline
            queue.extend([{key: inner}] * 20)
            with pytest.raises(base.Unavailable):
                await client.wait(str(inner.get("jobid")))
            queue.clear()
            pending += 1
    assert done >= 30


async def test_every_recorded_list_answer_is_read_whole(replay) -> None:
    queue, client = replay
    checked = 0
    for name, key, inner in recorded():
        if not key.startswith("list") or "errorcode" in inner:
            continue
        lists = [k for k, v in inner.items() if isinstance(v, list)]
        if len(lists) != 1:
            continue
        queue.append({key: inner})
        got = await client.list("listSomething", lists[0])
        assert got == inner[lists[0]], name
        assert not queue, f"{name}: the client asked for another page of a complete answer"
        checked += 1
    assert checked >= 40
