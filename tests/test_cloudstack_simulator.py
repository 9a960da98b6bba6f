"""The simulator agrees with real CloudStack: every command the adapter sends exists in the recorded
listApis dump (and the simulator implements it, sync or async as listApis says), and the simulator's answers
use the recorded responses' field names and JSON types for the same commands."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from backends.cloudstack import signing
from backends.cloudstack.client import CloudStackClient, Transport
from devcloud.cloudstack_sim import SimConfig, Simulator
from devcloud.cloudstack_sim.server import COMMANDS
from tests.cloudstack_support import need_contracts
from tests.cs_fixtures import field_types, items, json_type, recorded

ADAPTER = Path(__file__).resolve().parents[1] / "backends" / "cloudstack"


def _apis() -> dict[str, dict]:
    return {a["name"]: a for a in json.loads((need_contracts() / "listApis.json").read_text())["api"]}


def adapter_commands(apis: dict[str, dict]) -> set[str]:
    """Every CloudStack command named in the adapter's source (string literals that are command names)."""
    found = set()
    for path in ADAPTER.glob("*.py"):
        for literal in re.findall(r'"([a-zA-Z]+)"', path.read_text()):
            if literal in apis and literal[0].islower() and any(c.isupper() for c in literal):
                found.add(literal)
    return found


def test_every_adapter_command_is_in_listapis_and_simulated() -> None:
    apis = _apis()
    used = adapter_commands(apis)
    assert len(used) >= 40
    assert sorted(used - COMMANDS.keys()) == []


def test_every_simulated_command_is_a_real_one() -> None:
    apis = _apis()
    assert sorted(set(COMMANDS) - apis.keys()) == []


# ---- one scenario on the simulator, its answers collected ------------------------------------------------------
@pytest.fixture(scope="module")
def answers() -> dict[str, list[dict[str, Any]]]:
    import asyncio
    need_contracts()
    return asyncio.run(_scenario())


async def _scenario() -> dict[str, list[dict[str, Any]]]:
    sim = Simulator(SimConfig(job_delay=0.01))
    await sim.start()
    transport = Transport(sim.endpoint, timeout=5)
    a = CloudStackClient(transport, *sim.keys("a"), job_deadline=5)
    admin = CloudStackClient(transport, *sim.keys("admin"), job_deadline=5)
    out: dict[str, list[dict[str, Any]]] = {}

    def add(key: str, value: Any) -> None:
        out.setdefault(key, []).extend(value if isinstance(value, list) else [value])

    try:
        zone = (await a.list("listZones", "zone"))[0]
        offering = (await a.list("listServiceOfferings", "serviceoffering"))[0]
        template = (await a.list("listTemplates", "template", {"templatefilter": "executable"}))[0]
        disk = next(d for d in await a.list("listDiskOfferings", "diskoffering") if d["iscustomized"])
        add("zone", zone), add("serviceoffering", offering), add("template", template), add("diskoffering", disk)
        key = await a.call("createSSHKeyPair", {"name": "k"})
        add("keypair", key["keypair"])
        group = (await a.call("createSecurityGroup", {"name": "g", "description": "d"}))["securitygroup"]
        add("securitygroup", group)
        rule = await a.run("authorizeSecurityGroupIngress", {"securitygroupid": group["id"], "protocol": "tcp",
                                                             "startport": 22, "endport": 22, "cidrlist": "0.0.0.0/0"})
        add("securitygroup", rule["securitygroup"])
        deploy = await a.submit("deployVirtualMachine", {"zoneid": zone["id"], "serviceofferingid": offering["id"],
                                                         "templateid": template["id"], "keypair": "k",
                                                         "securitygroupids": group["id"]})
        add("deployanswer", deploy)
        vm = (await a.wait(deploy["jobid"]))["virtualmachine"]
        add("virtualmachine", vm)
        job = await a.call("queryAsyncJobResult", {"jobid": deploy["jobid"]})
        add("job", {k: v for k, v in job.items()})
        vol = await a.submit("createVolume", {"zoneid": zone["id"], "diskofferingid": disk["id"], "size": 1,
                                              "name": "v"})
        await a.wait(vol["jobid"])
        add("volume", (await a.run("attachVolume", {"id": vol["id"], "virtualmachineid": vm["id"]}))["volume"])
        snap = await a.submit("createSnapshot", {"volumeid": vol["id"]})
        add("snapshot", (await a.wait(snap["jobid"]))["snapshot"])
        ip = (await a.run("associateIpAddress", {"zoneid": zone["id"]}))["ipaddress"]
        add("publicipaddress", ip)
        await a.call("enableStaticNat", {"ipaddressid": ip["id"], "virtualmachineid": vm["id"]})
        add("virtualmachine", await a.list("listVirtualMachines", "virtualmachine"))
        add("volume", await a.list("listVolumes", "volume"))
        add("snapshot", await a.list("listSnapshots", "snapshot"))
        add("publicipaddress", await a.list("listPublicIpAddresses", "publicipaddress"))
        add("securitygroup", await a.list("listSecurityGroups", "securitygroup"))
        add("sshkeypair", await a.list("listSSHKeyPairs", "sshkeypair"))
        add("network", await a.list("listNetworks", "network"))
        vpc_offering = (await a.list("listVPCOfferings", "vpcoffering"))[0]
        vpc = await a.run("createVPC", {"zoneid": zone["id"], "name": "v", "displaytext": "v", "cidr": "10.9.0.0/16",
                                        "vpcofferingid": vpc_offering["id"]})
        add("vpc", vpc["vpc"])
        tier_offering = (await a.list("listNetworkOfferings", "networkoffering", {"forvpc": True}))[0]
        tier = (await a.call("createNetwork", {"name": "t", "displaytext": "t", "zoneid": zone["id"],
                                               "networkofferingid": tier_offering["id"], "vpcid": vpc["vpc"]["id"],
                                               "gateway": "10.9.1.1", "netmask": "255.255.255.0"}))["network"]
        add("network", tier)
        add("virtualmachine", (await a.run("addNicToVirtualMachine", {"virtualmachineid": vm["id"],
                                                                      "networkid": tier["id"]}))["virtualmachine"])
        nics = await a.list("listNics", "nic", {"virtualmachineid": vm["id"]})
        await a.run("addIpToNic", {"nicid": next(n["id"] for n in nics if n["networkid"] == tier["id"])})
        add("nic", await a.list("listNics", "nic", {"virtualmachineid": vm["id"]}))
        add("network", await a.list("listNetworks", "network", {"vpcid": vpc["vpc"]["id"]}))
        add("vpc", await a.list("listVPCs", "vpc"))
        await a.run("createTags", {"resourceids": vm["id"], "resourcetype": "UserVm",
                                   "tags": [{"key": "k", "value": "v"}]})
        add("tag", await a.list("listTags", "tag"))
        user = (await admin.call("getUser", {"userapikey": a.api_key}))["user"]
        add("user", user)
        add("userkeys", (await admin.call("getUserKeys", {"id": user["id"]}))["userkeys"])
        add("user", await admin.list("listUsers", "user", {"listall": True}))
        add("success", await a.call("deleteSSHKeyPair", {"name": "k"}))
        try:
            await a.call("registerSSHKeyPair", {"name": "x", "publickey": "nonsense"})
        except Exception:  # noqa: BLE001 - the raw error body is read below
            pass
        status, body = await transport.send(signing.signed(
            {"command": "registerSSHKeyPair", "name": "x", "publickey": "bad"}, *sim.keys("a")))
        add("error", next(iter(body.values())))
        assert status == 431
        assert sim.violations == [], sim.violations
    finally:
        await transport.close()
        await sim.stop()
    return out


# simulator item key → the recorded items to compare with
RECORDED = {
    "virtualmachine": lambda: items("virtualmachine"),
    "template": lambda: items("template"),
    "volume": lambda: items("volume"),
    "snapshot": lambda: [x for x in items("snapshot") if "volumeid" in x[1]],
    "publicipaddress": lambda: items("publicipaddress") + items("ipaddress"),
    "securitygroup": lambda: items("securitygroup"),
    "sshkeypair": lambda: items("sshkeypair"),
    "keypair": lambda: items("keypair"),
    "zone": lambda: items("zone"),
    "serviceoffering": lambda: items("serviceoffering"),
    "diskoffering": lambda: items("diskoffering"),
    "network": lambda: items("network"),
    "vpc": lambda: items("vpc"),
    "nic": lambda: items("nic", ("listnicsresponse",)),
    "tag": lambda: items("tag"),
    "user": lambda: items("user"),
    "userkeys": lambda: items("userkeys"),
    "job": lambda: [(n, i) for n, k, i in recorded() if k == "queryasyncjobresultresponse"],
    "deployanswer": lambda: [(n, i) for n, k, i in recorded() if k == "deployvirtualmachineresponse"
                             and "errorcode" not in i and "jobid" in i],
    "error": lambda: [(n, i) for n, k, i in recorded() if "errorcode" in i],
    "success": lambda: [(n, i) for n, k, i in recorded() if set(i) == {"success"}],
}
# listApis names of the commands whose answers carry these items (extra field names allowed from there)
API_OF = {"virtualmachine": "listVirtualMachines", "template": "listTemplates", "volume": "listVolumes",
          "snapshot": "listSnapshots", "publicipaddress": "listPublicIpAddresses",
          "securitygroup": "listSecurityGroups", "sshkeypair": "listSSHKeyPairs", "keypair": "createSSHKeyPair",
          "zone": "listZones", "serviceoffering": "listServiceOfferings", "diskoffering": "listDiskOfferings",
          "network": "listNetworks", "vpc": "listVPCs", "nic": "listNics", "tag": "listTags", "user": "listUsers",
          "userkeys": "getUserKeys", "job": "queryAsyncJobResult"}


def _same_type(name: str, value: Any, recorded_types: set[str]) -> bool:
    """CloudStack 4.0 replaced numeric ids by UUID strings; recordings of both eras are real."""
    if json_type(value) in recorded_types:
        return True
    return (name == "id" or name.endswith("id")) and json_type(value) == "string" and "number" in recorded_types


def _compare(kind: str, sim_items: list[dict], recorded_items: list[dict], apis: dict[str, dict]) -> list[str]:
    types = field_types(recorded_items)
    declared = {r["name"] for r in apis[API_OF[kind]]["response"] if r.get("name")} if kind in API_OF else set()
    problems = []
    for item in sim_items:
        for name, value in item.items():
            if name not in types and name not in declared:
                problems.append(f"{kind}.{name}: neither recorded nor declared by listApis")
            elif name in types and not _same_type(name, value, types[name]):
                problems.append(f"{kind}.{name}: {json_type(value)}, recorded as {sorted(types[name])}")
            if isinstance(value, list) and value and isinstance(value[0], dict) and name in types:
                nested = [x for r in recorded_items for x in r.get(name) or () if isinstance(x, dict)]
                if nested:
                    problems += _compare_nested(f"{kind}.{name}", value, nested)
    return problems


def _compare_nested(path: str, sim_items: list[dict], recorded_items: list[dict]) -> list[str]:
    types = field_types(recorded_items)
    return [f"{path}.{n}: {json_type(v)}, recorded as {sorted(types.get(n, ()))}"
            for item in sim_items for n, v in item.items() if n in types and not _same_type(n, v, types[n])]


@pytest.mark.parametrize("kind", sorted(RECORDED))
def test_simulator_answers_look_like_recorded_ones(kind: str, answers: dict[str, list[dict]]) -> None:
    recorded_items = [i for _, i in RECORDED[kind]()]
    assert recorded_items, f"no recorded {kind}"
    assert answers.get(kind), f"the scenario produced no {kind}"
    assert _compare(kind, answers[kind], recorded_items, _apis()) == []
