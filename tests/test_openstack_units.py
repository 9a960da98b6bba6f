"""The OpenStack backend's pure parts, without a cloud: state and resource mapping, fault mapping, options,
the catalog, local signature checks and Keystone's ec2tokens document, and the HTTP layer's deadlines and
retries against a local aiohttp server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web

from backends import base
from backends.compute import SecurityRule, ServerSpec, ServerState, VolumeState
from backends.openstack import mapping as m
from backends.openstack.backend import OpenStackBackend
from backends.openstack.catalog import Catalog
from backends.openstack.http import HttpClient, error_for, parse_fault
from backends.openstack.keystone import credential_id, ec2_credentials
from gateway.auth import authenticate_ec2
from gateway.auth.backend_provider import BackendCredentialProvider
from tests.openstack_env import signed_ec2

OPTIONS = {"auth_url": "http://keystone.test:5000/v3", "service_user": "cloudgate", "service_password": "pw"}


# ---- states -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "task", "expected"), [
    ("BUILD", None, ServerState.BUILDING), ("BUILD", "spawning", ServerState.BUILDING),
    ("ACTIVE", None, ServerState.ACTIVE), ("ACTIVE", "powering-off", ServerState.STOPPING),
    ("SHUTOFF", None, ServerState.STOPPED), ("SHUTOFF", "powering-on", ServerState.STARTING),
    ("REBOOT", "reboot_started", ServerState.REBOOTING), ("HARD_REBOOT", None, ServerState.REBOOTING),
    ("ACTIVE", "rebooting", ServerState.REBOOTING), ("ACTIVE", "deleting", ServerState.DELETING),
    ("ERROR", "deleting", ServerState.DELETING), ("ERROR", None, ServerState.ERROR),
    ("ERROR", "powering-on", ServerState.ERROR), ("DELETED", None, ServerState.DELETED),
    ("SOFT_DELETED", None, ServerState.DELETED), ("PAUSED", None, ServerState.STOPPED),
    ("SHELVED_OFFLOADED", None, ServerState.STOPPED), ("VERIFY_RESIZE", None, ServerState.ACTIVE),
    ("UNKNOWN", None, ServerState.ERROR), ("SOMETHING_NEW", None, ServerState.ERROR),
])
def test_nova_status_and_task_map_to_neutral_server_states(status, task, expected):
    assert m.server_state(status, task) is expected


@pytest.mark.parametrize(("status", "attached", "expected"), [
    ("creating", False, VolumeState.CREATING), ("available", False, VolumeState.AVAILABLE),
    ("reserved", False, VolumeState.ATTACHING), ("attaching", False, VolumeState.ATTACHING),
    ("in-use", True, VolumeState.IN_USE), ("detaching", True, VolumeState.DETACHING),
    ("deleting", False, VolumeState.DELETING), ("error", False, VolumeState.ERROR),
    ("error_deleting", False, VolumeState.ERROR), ("extending", True, VolumeState.IN_USE),
    ("extending", False, VolumeState.AVAILABLE), ("downloading", False, VolumeState.CREATING),
])
def test_cinder_status_maps_to_neutral_volume_states(status, attached, expected):
    assert m.volume_state(status, attached) is expected


def test_image_and_snapshot_states():
    assert [m.image_state(s) for s in ("queued", "saving", "importing", "active", "killed", "deleted")] == \
        ["pending", "pending", "pending", "available", "failed", "deregistered"]
    assert [m.snapshot_state(s) for s in ("creating", "available", "error", "error_deleting", "deleting")] == \
        ["pending", "completed", "error", "error", "deleting"]


# ---- servers ---------------------------------------------------------------------------------------------------
NOVA_SERVER = {
    "id": "srv-1", "name": "web-2", "status": "ACTIVE", "OS-EXT-STS:task_state": None,
    "OS-EXT-STS:vm_state": "active", "created": "2026-01-02T03:04:05Z",
    "OS-SRV-USG:launched_at": "2026-01-02T03:04:09.000000", "key_name": "k1",
    "OS-EXT-AZ:availability_zone": "nova", "image": {"id": "img-1"},
    "flavor": {"original_name": "t2.nano", "vcpus": 1, "ram": 512, "disk": 8},
    "metadata": {"a": "b"}, "security_groups": [{"name": "default"}],
    "addresses": {"private": [
        {"addr": "10.1.0.5", "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02"},
        {"addr": "10.9.0.7", "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
    ]},
    "os-extended-volumes:volumes_attached": [{"id": "vol-1", "delete_on_termination": True}],
}
PORTS = [  # listed in another order than Nova's: the primary NIC is Nova's first
    {"id": "port-b", "device_id": "srv-1", "device_owner": "compute:nova", "network_id": "net-b",
     "mac_address": "fa:16:3e:00:00:01", "fixed_ips": [{"ip_address": "10.9.0.7"}], "security_groups": ["sg-2"]},
    {"id": "port-a", "device_id": "srv-1", "device_owner": "compute:nova", "network_id": "net-a",
     "mac_address": "fa:16:3e:00:00:02", "fixed_ips": [{"ip_address": "10.1.0.5"}],
     "security_groups": ["sg-1", "sg-2"]},
]
VOLUMES = {"vol-1": {"id": "vol-1", "attachments": [
    {"server_id": "srv-1", "device": "/dev/vdb", "attached_at": "2026-01-02T03:05:00.000000"}]}}


def test_a_server_joins_nova_neutron_and_cinder_views():
    fips = {"port-a": [{"floating_ip_address": "203.0.113.20"}]}
    s = m.server_from(NOVA_SERVER, PORTS, fips, VOLUMES)
    assert (s.id, s.name, s.state, s.flavor_name, s.image_id, s.key_name, s.zone) == \
        ("srv-1", "web-2", ServerState.ACTIVE, "t2.nano", "img-1", "k1", "nova")
    assert s.created.isoformat() == "2026-01-02T03:04:05+00:00" and s.launched_at.tzinfo is not None
    assert [(a.ip, a.floating, a.port_id, a.network_id) for a in s.addresses] == [
        ("10.1.0.5", False, "port-a", "net-a"), ("203.0.113.20", True, "port-a", "net-a"),
        ("10.9.0.7", False, "port-b", "net-b")]
    assert s.security_groups == ["sg-1", "sg-2"]
    (att,) = s.attachments
    assert (att.volume_id, att.device, att.delete_on_termination) == ("vol-1", "/dev/vdb", True)
    assert not s.boot_from_volume and s.metadata == {"a": "b"}


def test_a_building_server_without_ports_uses_novas_addresses_and_boot_from_volume_has_no_image():
    raw = {**NOVA_SERVER, "status": "BUILD", "image": "", "os-extended-volumes:volumes_attached": []}
    s = m.server_from(raw)
    assert s.state is ServerState.BUILDING and s.image_id is None and s.boot_from_volume
    # no port yet: Nova's view of the addresses and of the groups (by name)
    assert [a.ip for a in s.addresses] == ["10.1.0.5", "10.9.0.7"] and s.security_groups == ["default"]


def test_server_body_for_a_spec_with_block_devices_groups_and_network():
    spec = ServerSpec(name="web", image_id="img-1", flavor_name="t2.nano", count_min=2, count_max=3,
                      key_name="k1", security_groups=["sg-1"], user_data="aGk=", zone="nova",
                      metadata={"a": "b"}, volumes=[("/dev/vdb", None, "snap-1", True), ("/dev/vdc", 5, None, False)],
                      network_id="net-1")
    body = m.server_body(spec, "flavor-1")
    assert (body["min_count"], body["max_count"], body["flavorRef"], body["networks"]) == \
        (2, 3, "flavor-1", [{"uuid": "net-1"}])
    assert body["security_groups"] == [{"name": "sg-1"}] and body["user_data"] == "aGk="
    assert body["availability_zone"] == "nova" and body["key_name"] == "k1"
    root, from_snap, blank = body["block_device_mapping_v2"]
    assert (root["source_type"], root["destination_type"], root["boot_index"]) == ("image", "local", 0)
    assert (from_snap["source_type"], from_snap["uuid"], from_snap["device_name"]) == ("snapshot", "snap-1", "/dev/vdb")
    assert "volume_size" not in from_snap
    assert (blank["source_type"], blank["volume_size"], blank["delete_on_termination"]) == ("blank", 5, False)
    plain = m.server_body(ServerSpec(name="x", image_id="i", flavor_name="f"), "f")
    assert plain["networks"] == "auto" and "block_device_mapping_v2" not in plain


def test_server_body_overriding_the_root_volume_of_a_volume_backed_image():
    spec = ServerSpec(name="x", image_id="img-ebs", flavor_name="f", root_device="/dev/vda",
                      volumes=[("/dev/vda", 9, "snap-root", False), ("/dev/vdb", 1, None, True)])
    root, data = m.server_body(spec, "f")["block_device_mapping_v2"]  # no local image disk: it boots from vda
    assert (root["device_name"], root["boot_index"], root["uuid"], root["volume_size"], root["delete_on_termination"]) \
        == ("/dev/vda", 0, "snap-root", 9, False)
    assert (data["boot_index"], data["source_type"]) == (-1, "blank")


def test_launch_order_follows_novas_name_suffix():
    servers = [{"id": "z", "name": "web-2"}, {"id": "y", "name": "web-10"}, {"id": "x", "name": "web-1"}]
    assert [s["id"] for s in sorted(servers, key=m.launch_order)] == ["x", "z", "y"]


# ---- security rules -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "expected"), [
    (SecurityRule("", "g", False, "tcp", 22, 22, "0.0.0.0/0"),
     {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
      "ethertype": "IPv4", "direction": "ingress"}),
    (SecurityRule("", "g", True, "-1", None, None, "::/0"), {"ethertype": "IPv6", "direction": "egress",
                                                            "remote_ip_prefix": "::/0"}),
    (SecurityRule("", "g", False, "icmp", -1, -1, "10.0.0.0/8"), {"protocol": "icmp"}),
    (SecurityRule("", "g", False, "icmp", 8, 0, None), {"protocol": "icmp", "port_range_min": 8, "port_range_max": 0}),
    (SecurityRule("", "g", False, "6", 0, 65535, None, "g2"), {"protocol": "tcp", "remote_group_id": "g2"}),
    (SecurityRule("", "g", False, "udp", 1, 65535, None), {"protocol": "udp"}),
])
def test_rule_bodies_for_neutron(rule, expected):
    body = m.rule_body(rule)
    for key, value in expected.items():
        assert body[key] == value, key
    if "port_range_min" not in expected:
        assert "port_range_min" not in body and "port_range_max" not in body


def test_rules_from_neutron_name_anywhere_and_protocol_numbers():
    r = m.rule_from({"id": "r", "security_group_id": "g", "direction": "ingress", "ethertype": "IPv6",
                     "protocol": "ipv6-icmp", "remote_ip_prefix": None, "remote_group_id": None})
    assert (r.protocol, r.cidr, r.egress) == ("58", "::/0", False)
    r = m.rule_from({"id": "r", "security_group_id": "g", "direction": "egress", "ethertype": "IPv4",
                     "protocol": "6", "remote_group_id": "g"})
    assert (r.protocol, r.cidr, r.remote_group_id, r.egress) == ("tcp", None, "g", True)
    # Neutron keeps a tcp/udp 1-65535 range as no range at all: it reads back as asked
    assert (r.port_min, r.port_max) == (1, 65535)
    r = m.rule_from({"id": "r", "security_group_id": "g", "direction": "ingress", "protocol": "udp",
                     "port_range_min": 0, "port_range_max": 65535})
    assert (r.port_min, r.port_max) == (0, 65535)


# ---- images, volumes, addresses --------------------------------------------------------------------------------------
def test_a_glance_image_with_block_device_mapping_and_properties():
    props = m.image_bdm_properties([("/dev/vda", "snap-1", 8), ("/dev/vdb", None, 2)], None)
    img = {"id": "i", "name": "ebs", "status": "active", "owner": "p", "visibility": "community",
           "created_at": "2026-01-01T00:00:00Z", "disk_format": "raw", "size": 0, "description": "d",
           "hw_disk_bus": "virtio", "min_ram": 0, **props}
    image = m.image_from(img, ["p2"])
    assert image.public and image.state == "available" and image.root_device == "/dev/vda"
    assert image.block_devices == [("/dev/vda", "snap-1", 8), ("/dev/vdb", None, 2)]
    assert image.properties == {"hw_disk_bus": "virtio"} and image.shared_with == ["p2"]
    mappings = json.loads(props["block_device_mapping"])
    assert [x["boot_index"] for x in mappings] == [0, -1] and mappings[1]["source_type"] == "blank"


def test_a_cinder_volume_snapshot_and_a_floating_ip():
    v = m.volume_from({"id": "v", "size": 3, "status": "in-use", "availability_zone": "nova",
                       "created_at": "2026-01-01T00:00:00.000000", "volume_type": "__DEFAULT__",
                       "attachments": [{"server_id": "s", "device": "/dev/vdb", "attached_at": None}]})
    assert (v.state, v.size_gib, v.attachments[0].server_id, v.attachments[0].device) == \
        (VolumeState.IN_USE, 3, "s", "/dev/vdb")
    assert v.created.tzinfo is not None
    s = m.snapshot_from({"id": "s", "volume_id": "v", "size": 3, "status": "available",
                         "created_at": "2026-01-01T00:00:00.000000",
                         "os-extended-snapshot-attributes:project_id": "p",
                         "os-extended-snapshot-attributes:progress": "100%"})
    assert (s.state, s.owner, s.progress) == ("completed", "p", "100%")
    a = m.address_from({"id": "f", "floating_ip_address": "203.0.113.9", "floating_network_id": "n",
                        "port_id": "port", "fixed_ip_address": "10.0.0.3"}, {"port": "srv"}, {"n": "public"})
    assert (a.pool, a.server_id, a.fixed_ip) == ("public", "srv", "10.0.0.3")


# ---- faults ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "body", "error", "kind"), [
    (404, {"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}, base.NotFound, "server"),
    (409, {"NeutronError": {"type": "SecurityGroupRuleExists", "message": "dup", "detail": ""}},
     base.AlreadyExists, ""),
    (409, {"NeutronError": {"type": "OverQuota", "message": "Quota exceeded for resources: ['floatingip']."}},
     base.QuotaExceeded, ""),
    (409, {"NeutronError": {"type": "SecurityGroupInUse", "message": "in use"}}, base.Conflict, ""),
    (403, {"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used "
                                                 "10 of 10 instances"}}, base.QuotaExceeded, ""),
    (413, {"overLimit": {"code": 413, "message": "VolumeSizeExceedsAvailableQuota: ..."}}, base.QuotaExceeded, ""),
    (409, {"conflictingRequest": {"code": 409, "message": "Cannot 'stop' instance while it is in vm_state stopped"}},
     base.Conflict, ""),
    (409, {"conflictingRequest": {"code": 409, "message": "Key pair 'k' already exists."}}, base.AlreadyExists, ""),
    (400, {"badRequest": {"code": 400, "message": "Invalid input"}}, base.InvalidInput, ""),
    (403, {"error": {"code": 403, "message": "You are not authorized", "title": "Forbidden"}}, base.Forbidden, ""),
    (503, "503 Service Unavailable\n\nThe server is currently unavailable.", base.Unavailable, ""),
    (404, "<html><body><h1>404 Not Found</h1>No image found with ID x<br /><br /></body></html>",
     base.NotFound, "image"),
])
def test_openstack_faults_map_to_neutral_errors(status, body, error, kind):
    raw = json.dumps(body) if isinstance(body, dict) else body
    err = error_for(parse_fault(status, raw.encode()), kind)
    assert type(err) is error
    if isinstance(err, base.NotFound):
        assert err.kind == kind
    assert str(err)


def test_webob_text_faults_keep_only_the_message():
    fault = parse_fault(404, b"404 Not Found\n\nNo image found with ID abc\n\n   ")
    assert fault.message == "No image found with ID abc"


# ---- options and catalog --------------------------------------------------------------------------------------------
def test_options_are_validated_and_defaulted():
    be = OpenStackBackend.from_options(OPTIONS)
    assert (be.shared.interface, be.shared.region, be.http.timeout, be.http.connect_timeout) == ("public", None, 30.0, 5.0)
    assert be.signature_validator() is be.validator
    with pytest.raises(ValueError, match="unknown option colour"):
        OpenStackBackend.from_options({**OPTIONS, "colour": "red"})
    with pytest.raises(ValueError, match="service_password"):
        OpenStackBackend.from_options({k: v for k, v in OPTIONS.items() if k != "service_password"})
    for bad in ({"interface": "private"}, {"timeout": 0}, {"timeout": "5"}, {"auth_url": "keystone:5000"},
                {"region": 3}, {"connect_timeout": True}):
        with pytest.raises(ValueError):
            OpenStackBackend.from_options({**OPTIONS, **bad})


def test_the_factory_builds_the_openstack_backend_and_names_bad_options():
    from gateway.backend_factory import build_backend
    from gateway.config import ConfigError, parse_config
    cfg = parse_config({"backend": {"type": "openstack", "options": OPTIONS}}, "t.yaml")
    assert isinstance(build_backend(cfg), OpenStackBackend)
    with pytest.raises(ConfigError, match="t.yaml: backend.options: unknown option nope"):
        build_backend(parse_config({"backend": {"type": "openstack", "options": {**OPTIONS, "nope": 1}}}, "t.yaml"))


def test_catalog_picks_interface_and_region_and_versions_urls():
    cat = Catalog.from_token([
        {"type": "network", "endpoints": [
            {"interface": "public", "region_id": "R1", "url": "http://n1:9696/"},
            {"interface": "internal", "region_id": "R1", "url": "http://n1-int:9696"},
            {"interface": "public", "region_id": "R2", "url": "http://n2:9696/v2.0"}]},
        {"type": "volumev3", "endpoints": [{"interface": "public", "region_id": "R1", "url": "http://c:8776/v3/p"}]},
        {"type": "image", "endpoints": [{"interface": "public", "region_id": "R1", "url": "http://g:9292/image"}]},
    ])
    assert cat.url("network", region="R1") == "http://n1:9696/v2.0"
    assert cat.url("network", interface="internal") == "http://n1-int:9696/v2.0"
    assert cat.url("network", region="R2") == "http://n2:9696/v2.0"
    assert cat.url("block-storage") == "http://c:8776/v3/p"
    assert cat.url("image") == "http://g:9292/image/v2"
    with pytest.raises(base.Unavailable, match="compute"):
        cat.url("compute")


# ---- signatures -----------------------------------------------------------------------------------------------------
class Capture(base.SignatureValidator):
    def __init__(self) -> None:
        self.check: base.SignatureCheck | None = None

    async def validate(self, check: base.SignatureCheck) -> base.Principal:
        self.check = check
        return base.Principal("p", "p")


async def _check(version: str, secret: str = "s3cr3t") -> base.SignatureCheck:
    cap = Capture()
    await authenticate_ec2(signed_ec2("AKID", secret, version=version), BackendCredentialProvider(cap), region=None)
    assert cap.check is not None
    return cap.check


@pytest.mark.parametrize("version", ["v4", "v2"])
async def test_local_verification_matches_what_clients_sign(version):
    """The gateway hands validators its own check (SigV4/SigV2 of gateway/auth) for cached secrets."""
    check = await _check(version)
    assert check.matches is not None
    assert check.matches("s3cr3t") is True
    assert check.matches("other") is False


async def test_ec2tokens_documents_carry_what_keystone_recomputes():
    v4 = ec2_credentials(await _check("v4"))
    assert v4["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
    assert "SignedHeaders=" in v4["headers"]["Authorization"] and v4["headers"]["X-Amz-Date"]
    assert (v4["verb"], v4["path"], v4["params"]) == ("POST", "/", {}) and len(v4["body_hash"]) == 64
    v2 = ec2_credentials(await _check("v2"))
    assert "Signature" not in v2["params"] and v2["params"]["SignatureVersion"] == "2"
    assert v2["params"]["Action"] == "DescribeInstances" and v2["host"] == "127.0.0.1:8787"
    assert credential_id("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# ---- the HTTP layer -------------------------------------------------------------------------------------------------
@pytest.fixture
async def flaky_server():
    hits: dict[str, int] = {}

    async def handler(request: web.Request) -> web.Response:
        key = f"{request.method} {request.path}"
        hits[key] = hits.get(key, 0) + 1
        if request.path == "/flaky" and hits[key] == 1:
            return web.Response(status=503, text="busy")
        if request.path == "/slow":
            await asyncio.sleep(5)
        if request.path == "/missing":
            return web.json_response({"itemNotFound": {"code": 404, "message": "gone"}}, status=404)
        return web.json_response({"ok": True, "token": request.headers.get("X-Auth-Token")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", hits
    await runner.cleanup()


async def test_gets_are_retried_once_on_5xx_and_writes_are_not(flaky_server):
    url, hits = flaky_server
    http = HttpClient(timeout=2)
    try:
        assert (await http.get(url + "/flaky", token="t"))["token"] == "t"
        assert hits["GET /flaky"] == 2
        with pytest.raises(base.Unavailable):
            await http.request("POST", url + "/flaky", json_body={})
        assert hits["POST /flaky"] == 1
        with pytest.raises(base.NotFound) as e:
            await http.get(url + "/missing", kind="volume")
        assert e.value.kind == "volume" and hits["GET /missing"] == 1
    finally:
        await http.close()


async def test_a_silent_service_is_unavailable_within_one_deadline_retry_included(flaky_server):
    url, hits = flaky_server
    http = HttpClient(timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(base.Unavailable, match="timed out"):
            await http.get(url + "/slow")
        assert time.monotonic() - started < 1.0
    finally:
        await http.close()


async def test_compute_is_built_for_the_gateways_identity_and_refuses_callers_without_a_token():
    from gateway.auth.credentials import Identity
    be = OpenStackBackend.from_options(OPTIONS)
    cat = Catalog.from_token([{"type": "compute", "endpoints": [{"interface": "public", "url": "http://n/v2.1"}]}])
    compute = await be.compute(Identity("AK", "proj", "tenant", {"token": "t", "catalog": cat,
                                                                 "project_id": "proj"}))
    assert compute.nova.url == "http://n/v2.1" and compute.project_id == "proj"
    with pytest.raises(base.Unavailable, match="network"):
        _ = compute.neutron  # not in this caller's catalog
    with pytest.raises(base.Forbidden):
        await be.compute(Identity("AK", "proj", "tenant", {}))
    with pytest.raises(base.Forbidden):
        await be.compute(object())
    await be.close()
