"""The instance metadata listener on the real devcloud OpenStack, for instances launched through cloudgate.

Requests reach the listener as Neutron's metadata agent forwards a guest's: X-Instance-ID (the Nova server's
UUID), X-Tenant-ID, X-Instance-ID-Signature (hex HMAC-SHA256 of the instance id with the shared secret) and
X-Forwarded-For (the guest's address). For the IMDSv2 flow the guest's own X-aws-ec2-metadata-token(-ttl-seconds)
headers travel along, as a header-passing proxy forwards them (docs/metadata.md: a stock agent drops them).

The listener keeps an instance's view for `metadata.cache_seconds` (300 here: the devcloud is slow and shared);
what decides whether a request is served (metadata options, termination) is read on every request, which is
what the tests change.

Two instances, shared by every test: A (tenant a, classic network, a key pair, binary user data, tags in
metadata) and B (tenant b, in a VPC subnet, launched after tenant b's account default made tokens required).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from gateway.ec2.ids import IdMap
from tests.ec2_os_support import (
    Gateway,
    gateway_config,
    instances_of,
    poll,
    quietly,
)
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture
from tests.server import free_port, serve_app
from tests.test_ec2_vpc_openstack import remove_vpc

SECRET = "devcloud-metadata-proxy-secret"
USER_DATA = b"#!/bin/sh\necho hi\n\x00\x01\xfe\xff binary tail \x80"
TOKEN, TTL = "X-aws-ec2-metadata-token", "X-aws-ec2-metadata-token-ttl-seconds"


@dataclass
class Guest:
    iid: str
    server_id: str     # the Nova UUID the agent names in X-Instance-ID
    tenant: str        # the project id the agent names in X-Tenant-ID
    address: str       # the guest's address (X-Forwarded-For)


@dataclass
class Cloud:
    gw: Gateway
    port: int
    a: Guest
    b: Guest
    public_key: str
    key_name: str
    identity_key: rsa.RSAPrivateKey
    vpc_id: str
    subnet_id: str
    described: dict[str, dict[str, Any]]  # DescribeInstances' answer per instance ("a", "b"), read at set-up

    def item(self, name: str) -> dict[str, Any]:
        return instances_of(self.described[name])[0]


def signed(guest: Guest, *extra: tuple[str, str], secret: str = SECRET) -> list[tuple[str, str]]:
    """The headers Neutron's metadata agent adds to a guest's request."""
    sig = hmac.new(secret.encode(), guest.server_id.encode(), hashlib.sha256).hexdigest()
    return [("X-Forwarded-For", guest.address), ("X-Instance-ID", guest.server_id), ("X-Tenant-ID", guest.tenant),
            ("X-Instance-ID-Signature", sig), *extra]


def call(port: int, path: str, headers: list[tuple[str, str]], method: str = "GET") -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def get(cloud: Cloud, guest: Guest, path: str, *extra: tuple[str, str]) -> tuple[int, str]:
    status, _, body = call(cloud.port, path, signed(guest, *extra))
    return status, body.decode("utf-8", "replace")


def token_for(cloud: Cloud, guest: Guest, ttl: str = "21600") -> str:
    status, headers, body = call(cloud.port, "/latest/api/token", signed(guest, (TTL, ttl)), "PUT")
    assert status == 200 and headers[TTL] == ttl
    return body.decode()


def described_when(client: Any, iid: str, ready: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """DescribeInstances' answer once the instance runs and `ready` holds (bounded; a shared devcloud under
    load answers ServiceUnavailable now and then: polled through, as a waiter would not)."""
    def probe() -> dict[str, Any] | None:
        try:
            return client.describe_instances(InstanceIds=[iid])
        except ClientError as e:
            if e.response["Error"]["Code"] != "ServiceUnavailable":
                raise
            return None

    def done(r: dict[str, Any] | None) -> bool:
        return r is not None and instances_of(r)[0]["State"]["Name"] == "running" and ready(instances_of(r)[0])

    return poll(probe, done, timeout=240, interval=2, what=what)


@pytest.fixture(scope="module", name="cloud")
def cloud_fixture(openstack_env: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    key_file = tmp_path_factory.mktemp("metadata") / "identity.pem"
    identity_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(identity_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    port = free_port()
    doc = gateway_config(openstack_env)
    doc["metadata"] = {"enabled": True, "host": "127.0.0.1", "port": port, "shared_secret": SECRET,
                       "identity_key_file": str(key_file), "cache_seconds": 300}
    app = create_app(parse_config(doc, "metadata-tests"))
    with serve_app(app) as (endpoint, loop):
        gw = Gateway(endpoint, openstack_env, app, loop)
        ec2a, ec2b = gw.client("a"), gw.client("b")
        ami = ec2a.describe_images(Filters=[{"Name": "name", "Values": [openstack_env["image"]["name"]]}])[
            "Images"][0]["ImageId"]
        public_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " md-test"
        key_name = f"md-{uuid.uuid4().hex[:12]}"
        ids: dict[str, str] = {}
        net: dict[str, str] = {}

        def launch_a() -> dict[str, Any]:
            ec2a.import_key_pair(KeyName=key_name, PublicKeyMaterial=public_key.encode())
            ids["a"] = ec2a.run_instances(
                ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro", KeyName=key_name, UserData=USER_DATA,
                MetadataOptions={"InstanceMetadataTags": "enabled"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [
                    {"Key": "Name", "Value": "md-a"}, {"Key": "role", "Value": "web"}]}])["Instances"][0]["InstanceId"]
            return described_when(ec2a, ids["a"], lambda i: bool(i.get("PublicIpAddress")), "A running, public")

        def launch_b() -> dict[str, Any]:
            net["vpc"] = ec2b.create_vpc(CidrBlock="10.178.0.0/16")["Vpc"]["VpcId"]
            net["subnet"] = ec2b.create_subnet(VpcId=net["vpc"], CidrBlock="10.178.1.0/24")["Subnet"]["SubnetId"]
            ec2b.modify_instance_metadata_defaults(HttpTokens="required")  # tenant b's account: IMDSv2 only
            ids["b"] = ec2b.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                                          SubnetId=net["subnet"])["Instances"][0]["InstanceId"]
            return described_when(ec2b, ids["b"], lambda i: True, "B running")

        def clean_a() -> None:  # nothing waits for A to go (its public address is released at once)
            if "a" in ids:
                quietly(lambda: ec2a.terminate_instances(InstanceIds=[ids["a"]]))
            quietly(lambda: ec2a.delete_key_pair(KeyName=key_name))

        def clean_b() -> None:
            if "vpc" in net:
                remove_vpc(ec2b, net["vpc"])

        pool = ThreadPoolExecutor(2)  # the two tenants' set-ups (and clean-ups) side by side
        try:
            future_a, future_b = pool.submit(launch_a), pool.submit(launch_b)
            described = {"a": future_a.result(timeout=300), "b": future_b.result(timeout=300)}
            store = app[GATEWAY_KEY].store

            def guest(tenant: str, item: dict[str, Any]) -> Guest:
                sid = gw.run(IdMap(store).backend_id("instance", item["InstanceId"]))
                return Guest(item["InstanceId"], sid, openstack_env["tenants"][tenant]["project_id"],
                             item["PrivateIpAddress"])

            yield Cloud(gw, port, guest("a", instances_of(described["a"])[0]),
                        guest("b", instances_of(described["b"])[0]), public_key, key_name, identity_key,
                        net["vpc"], net["subnet"], described)
        finally:
            for done in [pool.submit(clean_a), pool.submit(clean_b)]:
                quietly(lambda done=done: done.result(timeout=300))
            pool.shutdown()


# ---- the proxy's signature ------------------------------------------------------------------------------------
def test_requests_without_the_proxys_valid_signature_are_refused_and_say_nothing(cloud: Cloud) -> None:
    a = cloud.a
    good = signed(a)
    cases = {
        "no headers": [],
        "wrong secret": signed(a, secret="not-the-secret"),
        "another instance's signature": [h if h[0] != "X-Instance-ID-Signature" else signed(cloud.b)[3]
                                         for h in good],
        "no signature": [h for h in good if h[0] != "X-Instance-ID-Signature"],
        "no instance id": [h for h in good if h[0] != "X-Instance-ID"],
        "no tenant": [h for h in good if h[0] != "X-Tenant-ID"],
        "two instance ids": [*good, ("X-Instance-ID", cloud.b.server_id)],
    }
    for name, headers in cases.items():
        for method, path in (("GET", "/latest/meta-data/instance-id"), ("PUT", "/latest/api/token")):
            status, _, body = call(cloud.port, path, [*headers, (TTL, "60")], method)
            assert status == 403, (name, method)
            assert a.iid.encode() not in body and a.server_id.encode() not in body and b"Forbidden" in body
    assert get(cloud, a, "/latest/meta-data/instance-id") == (200, a.iid)


# ---- the layout -----------------------------------------------------------------------------------------------
def test_version_directories(cloud: Cloud) -> None:
    a, b = cloud.a, cloud.b
    status, text = get(cloud, a, "/")
    assert status == 200 and text.splitlines()[0] == "1.0" and text.splitlines()[-1] == "latest"
    assert "2009-04-04" in text.splitlines()
    assert get(cloud, a, "/latest") == (200, "dynamic/\nmeta-data/\nuser-data")
    assert get(cloud, a, "/latest/") == (200, "dynamic/\nmeta-data/\nuser-data")
    # dated versions serve the same tree; an unknown one is 404
    assert get(cloud, a, "/2009-04-04/meta-data/instance-id") == (200, a.iid)
    assert get(cloud, a, "/2099-01-01/meta-data/instance-id")[0] == 404
    token = token_for(cloud, b)
    assert get(cloud, b, "/latest/", (TOKEN, token)) == (200, "dynamic/\nmeta-data/")  # no user data: not listed
    assert get(cloud, a, "/latest/meta-data/no-such-thing")[0] == 404
    assert get(cloud, a, "/latest/meta-data/instance-id/more")[0] == 404
    assert get(cloud, a, "/latest/dynamic/") == (200, "instance-identity/")
    assert get(cloud, a, "/latest/dynamic/instance-identity/") == (200, "document\nsignature")


def test_meta_data_is_the_describe_instances_view(cloud: Cloud) -> None:
    a = cloud.a
    item = cloud.item("a")
    status, listing = get(cloud, a, "/latest/meta-data/")
    assert status == 200
    for entry in ("ami-id", "ami-launch-index", "block-device-mapping/", "hostname", "instance-id", "instance-type",
                  "local-hostname", "local-ipv4", "mac", "network/", "placement/", "public-hostname",
                  "public-ipv4", "public-keys/", "reservation-id", "security-groups", "tags/"):
        assert entry in listing.splitlines(), entry
    expected = {
        "ami-id": item["ImageId"], "instance-id": a.iid, "instance-type": "t2.micro",
        "local-ipv4": item["PrivateIpAddress"], "public-ipv4": item["PublicIpAddress"],
        "hostname": item["PrivateDnsName"], "local-hostname": item["PrivateDnsName"],
        "public-hostname": item["PublicDnsName"], "ami-launch-index": "0",
        "placement/availability-zone": item["Placement"]["AvailabilityZone"],
        "placement/region": cloud.gw.env["region"],
        "security-groups": "\n".join(g["GroupName"] for g in item["SecurityGroups"]),
        "block-device-mapping/root": item["RootDeviceName"], "block-device-mapping/ami": item["RootDeviceName"],
        "public-keys/": f"0={cloud.key_name}", "public-keys/0/": "openssh-key",
        # the key as the cloud keeps it (cloudgate's import keeps type and body)
        "public-keys/0/openssh-key": " ".join(cloud.public_key.split()[:2]) + "\n",
    }
    for path, value in expected.items():
        assert get(cloud, a, "/latest/meta-data/" + path) == (200, value), path
    assert item["InstanceId"].startswith("i-") and a.server_id not in listing
    status, reservation = get(cloud, a, "/latest/meta-data/reservation-id")
    reservations = cloud.described["a"]["Reservations"]
    assert (status, reservation) == (200, reservations[0]["ReservationId"])
    # the interface: its MAC is the cloud port's, named only as EC2 shows it
    status, mac = get(cloud, a, "/latest/meta-data/mac")
    assert status == 200 and len(mac.split(":")) == 6
    assert get(cloud, a, "/latest/meta-data/network/interfaces/macs/") == (200, mac + "/")
    nic = f"/latest/meta-data/network/interfaces/macs/{mac}/"
    assert get(cloud, a, nic + "device-number") == (200, "0")
    assert get(cloud, a, nic + "local-ipv4s") == (200, item["PrivateIpAddress"])
    assert get(cloud, a, nic + "public-ipv4s") == (200, item["PublicIpAddress"])
    assert get(cloud, a, nic + "owner-id") == (200, reservations[0]["OwnerId"])
    assert get(cloud, a, nic + "security-group-ids") == (200, "\n".join(g["GroupId"] for g in item["SecurityGroups"]))


def test_a_vpc_instance_shows_its_interface_subnet_and_vpc(cloud: Cloud) -> None:
    b = cloud.b
    item = cloud.item("b")
    assert item["MetadataOptions"]["HttpTokens"] == "required"  # the account default, applied at launch
    (eni,) = item["NetworkInterfaces"]
    token = (TOKEN, token_for(cloud, b))
    assert get(cloud, b, "/latest/meta-data/mac", token) == (200, eni["MacAddress"])
    nic = f"/latest/meta-data/network/interfaces/macs/{eni['MacAddress']}/"
    for path, value in {"interface-id": eni["NetworkInterfaceId"], "subnet-id": cloud.subnet_id,
                        "vpc-id": cloud.vpc_id, "subnet-ipv4-cidr-block": "10.178.1.0/24",
                        "vpc-ipv4-cidr-block": "10.178.0.0/16", "device-number": "0",
                        "local-ipv4s": item["PrivateIpAddress"],
                        "security-group-ids": "\n".join(g["GroupId"] for g in item["SecurityGroups"])}.items():
        assert get(cloud, b, nic + path, token) == (200, value), path
    # no key pair, no user data, tags not enabled: absent, 404
    for path in ("/latest/meta-data/public-keys/", "/latest/user-data", "/latest/meta-data/tags/instance",
                 "/latest/meta-data/public-ipv4"):
        assert get(cloud, b, path, token)[0] == 404, path


def test_instance_tags_only_when_the_instance_allows_them(cloud: Cloud) -> None:
    a, b = cloud.a, cloud.b
    assert cloud.item("a")["MetadataOptions"]["InstanceMetadataTags"] == "enabled"
    assert get(cloud, a, "/latest/meta-data/tags/instance") == (200, "Name\nrole")
    assert get(cloud, a, "/latest/meta-data/tags/instance/role") == (200, "web")
    assert "tags/" in get(cloud, a, "/latest/meta-data/")[1].splitlines()
    token = (TOKEN, token_for(cloud, b))  # B: tags not enabled (the default)
    assert get(cloud, b, "/latest/meta-data/tags/instance", token)[0] == 404
    assert "tags/" not in get(cloud, b, "/latest/meta-data/", token)[1].splitlines()


def test_user_data_round_trip_is_byte_exact(cloud: Cloud) -> None:
    status, headers, body = call(cloud.port, "/latest/user-data", signed(cloud.a))
    assert (status, body) == (200, USER_DATA)
    assert headers["Content-Type"] == "application/octet-stream"
    # DescribeInstanceAttribute shows the same bytes (base64)
    attr = cloud.gw.client("a").describe_instance_attribute(InstanceId=cloud.a.iid, Attribute="userData")
    assert base64.b64decode(attr["UserData"]["Value"]) == USER_DATA


def test_identity_document_matches_describe_instances_and_is_signed(cloud: Cloud) -> None:
    a = cloud.a
    response = cloud.described["a"]
    item = cloud.item("a")
    status, text = get(cloud, a, "/latest/dynamic/instance-identity/document")
    assert status == 200
    doc = json.loads(text)
    assert doc["accountId"] == response["Reservations"][0]["OwnerId"]
    assert {k: doc[k] for k in ("instanceId", "imageId", "instanceType", "availabilityZone", "privateIp",
                                "region", "architecture")} == {
        "instanceId": a.iid, "imageId": item["ImageId"], "instanceType": item["InstanceType"],
        "availabilityZone": item["Placement"]["AvailabilityZone"], "privateIp": item["PrivateIpAddress"],
        "region": cloud.gw.env["region"], "architecture": item["Architecture"]}
    assert doc["pendingTime"] == item["LaunchTime"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert doc["kernelId"] is None and doc["version"] == "2017-09-30"
    status, signature = get(cloud, a, "/latest/dynamic/instance-identity/signature")
    assert status == 200
    # the operator's key signed exactly these bytes (raises InvalidSignature otherwise)
    cloud.identity_key.public_key().verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(),
                                           hashes.SHA256())


# ---- IMDSv2 ---------------------------------------------------------------------------------------------------
def test_v2_tokens_are_bound_to_their_instance_and_checked(cloud: Cloud) -> None:
    a, b = cloud.a, cloud.b
    token_a, token_b, minted = token_for(cloud, a, "21600"), token_for(cloud, b, "4"), time.monotonic()
    assert get(cloud, b, "/latest/meta-data/instance-id", (TOKEN, token_b)) == (200, b.iid)
    assert get(cloud, a, "/latest/meta-data/instance-id", (TOKEN, token_a)) == (200, a.iid)
    assert get(cloud, b, "/latest/meta-data/instance-id", (TOKEN, token_a))[0] == 401  # A's token, B asking
    assert get(cloud, a, "/latest/meta-data/instance-id", (TOKEN, token_b))[0] == 401
    assert get(cloud, a, "/latest/meta-data/instance-id", (TOKEN, "not-a-token"))[0] == 401
    assert get(cloud, a, "/latest/meta-data/instance-id", (TOKEN, token_a[:-2] + "AA"))[0] == 401
    time.sleep(max(0.0, minted + 5 - time.monotonic()))  # token_b lived 4 s
    assert get(cloud, b, "/latest/meta-data/instance-id", (TOKEN, token_b))[0] == 401
    # the token PUT: TTL from 1 to 21600, else 400; a request relayed by another proxy first: 403
    for ttl in ("0", "21601", "-5", "abc", ""):
        assert call(cloud.port, "/latest/api/token", signed(a, (TTL, ttl)), "PUT")[0] == 400, ttl
    assert call(cloud.port, "/latest/api/token", signed(a), "PUT")[0] == 400
    relayed = [h if h[0] != "X-Forwarded-For" else (h[0], f"198.51.100.7, {a.address}") for h in signed(a)]
    assert call(cloud.port, "/latest/api/token", [*relayed, (TTL, "60")], "PUT")[0] == 403
    # methods: GET on the token path, PUT elsewhere, anything else
    assert call(cloud.port, "/latest/api/token", signed(a))[0] == 405
    assert call(cloud.port, "/latest/meta-data/", signed(a, (TTL, "60")), "PUT")[0] == 405
    assert call(cloud.port, "/latest/meta-data/", signed(a), "POST")[0] == 405


def test_http_tokens_required_refuses_v1(cloud: Cloud) -> None:
    a, b = cloud.a, cloud.b
    assert cloud.item("b")["MetadataOptions"]["HttpTokens"] == "required"  # tenant b's default at launch
    for path in ("/latest/meta-data/instance-id", "/latest/", "/latest/dynamic/instance-identity/document"):
        assert get(cloud, b, path)[0] == 401, path  # IMDSv1 refused
    assert get(cloud, b, "/latest/meta-data/instance-id", (TOKEN, token_for(cloud, b))) == (200, b.iid)
    assert cloud.item("a")["MetadataOptions"]["HttpTokens"] == "optional"
    assert get(cloud, a, "/latest/meta-data/instance-id") == (200, a.iid)  # A: IMDSv1 served


def test_account_metadata_defaults(cloud: Cloud) -> None:
    ec2a, ec2b = cloud.gw.client("a"), cloud.gw.client("b")
    assert ec2a.get_instance_metadata_defaults()["AccountLevel"] == {}
    assert ec2b.get_instance_metadata_defaults()["AccountLevel"] == {"HttpTokens": "required", "ManagedBy": "account"}
    ec2b.modify_instance_metadata_defaults(HttpPutResponseHopLimit=2, InstanceMetadataTags="enabled")
    assert ec2b.get_instance_metadata_defaults()["AccountLevel"] == {
        "HttpTokens": "required", "HttpPutResponseHopLimit": 2, "InstanceMetadataTags": "enabled",
        "ManagedBy": "account"}
    ec2b.modify_instance_metadata_defaults(HttpTokens="no-preference", HttpPutResponseHopLimit=-1,
                                           InstanceMetadataTags="no-preference")
    assert ec2b.get_instance_metadata_defaults()["AccountLevel"] == {}
    from tests.ec2_os_support import error_of

    assert error_of(ec2a.modify_instance_metadata_defaults, HttpPutResponseHopLimit=65) == (
        "InvalidParameterValue", 400)
    assert error_of(ec2a.modify_instance_metadata_defaults, HttpTokens="sometimes") == ("InvalidParameterValue", 400)
    assert error_of(ec2a.modify_instance_metadata_defaults) == ("MissingParameter", 400)
    assert ec2a.get_instance_metadata_defaults()["AccountLevel"] == {}


# ---- botocore's own IMDS client, through a shim that adds the agent's headers ---------------------------------
def test_botocore_imds_client_gets_region_and_identity(cloud: Cloud) -> None:
    from aiohttp import ClientSession, web
    from botocore.utils import InstanceMetadataFetcher, InstanceMetadataRegionFetcher

    a, seen = cloud.a, []

    async def shim(request: web.Request) -> web.Response:
        """A guest-side view of the listener: what a header-passing metadata proxy forwards."""
        seen.append((request.method, request.path))
        passed = [(k, v) for k, v in request.headers.items() if k.lower().startswith("x-aws-ec2-metadata-token")]
        async with ClientSession() as s, s.request(
                request.method, f"http://127.0.0.1:{cloud.port}{request.path_qs}",
                headers=dict([*signed(a), *passed]), data=await request.read()) as r:
            return web.Response(status=r.status, body=await r.read(), headers={
                k: v for k, v in r.headers.items() if k in ("Content-Type", TTL)})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", shim)
    with serve_app(app) as (base_url, _):
        fetcher = InstanceMetadataFetcher(timeout=30, num_attempts=1, base_url=base_url)
        token = fetcher._fetch_metadata_token()
        assert token, "no IMDSv2 token"
        doc = json.loads(fetcher._get_request("latest/dynamic/instance-identity/document", None, token).text)
        assert doc["instanceId"] == a.iid and doc["region"] == cloud.gw.env["region"]
        assert fetcher._get_request("latest/meta-data/instance-id", None, token).text == a.iid
        assert fetcher.retrieve_iam_role_credentials() == {}  # no instance profile: 404, no credentials
        region = InstanceMetadataRegionFetcher(timeout=30, num_attempts=1, base_url=base_url).retrieve_region()
    item = cloud.item("a")
    # botocore takes the region to be the zone's name minus its last letter (AWS's zone naming)
    assert region == item["Placement"]["AvailabilityZone"][:-1]
    assert ("PUT", "/latest/api/token") in seen


# ---- last: the instances' metadata goes away --------------------------------------------------------------
def test_modified_options_apply_at_once_and_a_disabled_endpoint_is_404_everywhere(cloud: Cloud) -> None:
    a, ec2a = cloud.a, cloud.gw.client("a")
    token = token_for(cloud, a)
    assert get(cloud, a, "/latest/meta-data/instance-id") == (200, a.iid)
    answer = ec2a.modify_instance_metadata_options(InstanceId=a.iid, HttpTokens="required")
    assert answer["InstanceMetadataOptions"]["HttpTokens"] == "required"
    assert get(cloud, a, "/latest/meta-data/instance-id")[0] == 401  # at once: options are read per request
    assert get(cloud, a, "/latest/user-data")[0] == 401
    assert get(cloud, a, "/latest/meta-data/instance-id", (TOKEN, token)) == (200, a.iid)
    answer = ec2a.modify_instance_metadata_options(InstanceId=a.iid, HttpEndpoint="disabled")
    assert answer["InstanceMetadataOptions"]["HttpEndpoint"] == "disabled"
    for path in ("/", "/latest/meta-data/instance-id", "/latest/user-data",
                 "/latest/dynamic/instance-identity/document"):
        assert get(cloud, a, path)[0] == 404, path
        assert get(cloud, a, path, (TOKEN, token))[0] == 404, path
    assert call(cloud.port, "/latest/api/token", signed(a, (TTL, "60")), "PUT")[0] == 404


def test_a_terminated_instance_is_404(cloud: Cloud) -> None:
    b, ec2b = cloud.b, cloud.gw.client("b")
    token = token_for(cloud, b)
    ec2b.terminate_instances(InstanceIds=[b.iid])
    assert get(cloud, b, "/latest/meta-data/instance-id", (TOKEN, token))[0] == 404
    assert call(cloud.port, "/latest/api/token", signed(b, (TTL, "60")), "PUT")[0] == 404


def test_config_refuses_an_enabled_listener_without_a_secret(tmp_path: Path) -> None:
    from gateway.config import ConfigError

    with pytest.raises(ConfigError, match="metadata.shared_secret"):
        parse_config({"metadata": {"enabled": True}}, "t")
    with pytest.raises(ConfigError, match="metadata.port"):
        parse_config({"metadata": {"port": 0}}, "t")
    with pytest.raises(ConfigError, match="metadata.identity_key_file"):
        parse_config({"metadata": {"identity_key_file": str(tmp_path / "missing.pem")}}, "t")
