"""EC2 handlers end to end over HTTP with boto3, against an in-memory cloud that implements the neutral
Compute contract (backends/compute.py) the way a real one behaves: per-project visibility, async state
changes (a server is BUILDING until the next look), 409s for in-use resources.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters,
paging, idempotency, tenant isolation); the same scenarios run against the real OpenStack in the
devcloud suite.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field, replace

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

import gateway.ec2  # noqa: F401 - registers the EC2 handlers
from backends import base
from backends.compute import (
    Attachment,
    Compute,
    Flavor,
    FloatingAddress,
    Image,
    KeyPair,
    SecurityGroup,
    SecurityRule,
    Server,
    ServerAddress,
    ServerSpec,
    ServerState,
    Snapshot,
    Volume,
    VolumeState,
    Zone,
)
from gateway.app import create_app
from gateway.config import parse_config
from tests.server import serve_app

A = ("AKIDTENANTA", "secret-a", "111111111111")
B = ("AKIDTENANTB", "secret-b", "222222222222")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


# ---- an in-memory cloud ----------------------------------------------------------------------------------------
@dataclass
class World:
    servers: dict[str, tuple[str, Server]] = field(default_factory=dict)  # id -> (project, server)
    images: dict[str, Image] = field(default_factory=dict)
    keypairs: dict[tuple[str, str], KeyPair] = field(default_factory=dict)
    groups: dict[str, SecurityGroup] = field(default_factory=dict)
    volumes: dict[str, tuple[str, Volume]] = field(default_factory=dict)
    snapshots: dict[str, tuple[str, Snapshot]] = field(default_factory=dict)
    addresses: dict[str, tuple[str, FloatingAddress]] = field(default_factory=dict)
    ips: itertools.count = field(default_factory=lambda: itertools.count(10))
    calls: list[str] = field(default_factory=list)
    server_quota: int = 100

    def __post_init__(self) -> None:
        self.images["img-ebs"] = Image(id="img-ebs", name="cirros-ebs", state="available", owner="cloud", public=True,
                                       created=NOW, root_device="/dev/vda", block_devices=[("/dev/vda", "snap-0", 1)])
        self.images["img-public"] = Image(id="img-public", name="cirros", state="available", owner="cloud",
                                          public=True, created=NOW)


class FakeCompute(Compute):
    def __init__(self, world: World, project: str) -> None:
        self.w, self.p = world, project
        if not any(g.owner == project and g.name == "default" for g in world.groups.values()):
            gid = str(uuid.uuid4())
            world.groups[gid] = SecurityGroup(gid, "default", "Default security group", project, rules=[
                SecurityRule(str(uuid.uuid4()), gid, True, None, cidr="0.0.0.0/0"),
                SecurityRule(str(uuid.uuid4()), gid, False, None, remote_group_id=gid)])

    def _log(self, name: str) -> None:
        self.w.calls.append(name)

    async def list_zones(self):
        return [Zone("nova")]

    async def list_flavors(self):
        return [Flavor("f1", "t2.micro", 1, 512, 1), Flavor("f2", "m1.small", 1, 2048, 20)]

    def _tick(self, server: Server) -> None:
        """Time passes between looks: transitional states settle."""
        settle = {ServerState.BUILDING: ServerState.ACTIVE, ServerState.STARTING: ServerState.ACTIVE,
                  ServerState.STOPPING: ServerState.STOPPED, ServerState.REBOOTING: ServerState.ACTIVE}
        if server.state in settle:
            server.state = settle[server.state]
            server.launched_at = server.launched_at or NOW
        if server.state == ServerState.DELETING:
            del self.w.servers[server.id]

    async def list_servers(self, ids=None):
        self._log("list_servers")
        out = []
        for sid, (proj, server) in list(self.w.servers.items()):
            if proj != self.p or (ids is not None and sid not in ids):
                continue
            snapshot = replace(server, addresses=list(server.addresses), attachments=list(server.attachments))
            out.append(snapshot)
            self._tick(server)
        return out

    async def create_servers(self, spec: ServerSpec):
        if spec.image_id not in self.w.images:
            raise base.NotFound(kind="image")
        mine = sum(1 for p, _ in self.w.servers.values() if p == self.p)
        if mine + spec.count_min > self.w.server_quota:
            raise base.QuotaExceeded()
        count = min(spec.count_max, self.w.server_quota - mine)
        out = []
        for i in range(count):
            sid = str(uuid.uuid4())
            server = Server(id=sid, name=spec.name, state=ServerState.BUILDING, flavor_name=spec.flavor_name,
                            image_id=spec.image_id, created=NOW, key_name=spec.key_name, zone=spec.zone or "nova",
                            addresses=[ServerAddress(f"10.0.0.{next(self.w.ips)}")],
                            security_groups=list(spec.security_groups) or [
                                g.id for g in self.w.groups.values() if g.owner == self.p and g.name == "default"],
                            user_data=spec.user_data, launch_index=i, root_device="/dev/vda",
                            boot_from_volume=bool(self.w.images[spec.image_id].block_devices))
            self.w.servers[sid] = (self.p, server)
            out.append(replace(server))
        return out

    def _server(self, sid: str) -> Server:
        proj, server = self.w.servers.get(sid, (None, None))
        if proj != self.p:
            raise base.NotFound(kind="server")
        return server

    async def start_server(self, server_id):
        self._server(server_id).state = ServerState.STARTING

    async def stop_server(self, server_id, force=False):
        self._server(server_id).state = ServerState.STOPPING

    async def reboot_server(self, server_id):
        self._server(server_id).state = ServerState.REBOOTING

    async def delete_server(self, server_id):
        server = self._server(server_id)
        server.state = ServerState.DELETING
        for _proj, vol in self.w.volumes.values():
            vol.attachments = [a for a in vol.attachments if a.server_id != server_id]
            if not vol.attachments and vol.state == VolumeState.IN_USE:
                vol.state = VolumeState.AVAILABLE

    async def update_server(self, server_id, *, name=None, metadata=None, security_groups=None):
        if security_groups is not None:
            self._server(server_id).security_groups = list(security_groups)

    async def console_output(self, server_id):
        self._server(server_id)
        return "boot ok\n"

    async def list_images(self, ids=None):
        return [replace(i) for i in self.w.images.values()
                if (ids is None or i.id in ids) and (i.public or i.owner == self.p or self.p in i.shared_with)]

    async def create_image(self, server_id, name, description=None):
        server = self._server(server_id)
        iid = str(uuid.uuid4())
        self.w.images[iid] = Image(iid, name, "pending", self.p, False, NOW, description,
                                   root_device=server.root_device)
        return replace(self.w.images[iid])

    async def register_image(self, name, *, location=None, block_devices=None, root_device=None,
                             architecture=None, description=None):
        iid = str(uuid.uuid4())
        self.w.images[iid] = Image(iid, name, "available", self.p, False, NOW, description,
                                   architecture=architecture or "x86_64", root_device=root_device,
                                   block_devices=list(block_devices or []))
        return replace(self.w.images[iid])

    def _image(self, image_id: str) -> Image:
        image = self.w.images.get(image_id)
        if image is None or not (image.public or image.owner == self.p or self.p in image.shared_with):
            raise base.NotFound(kind="image")
        if image.owner != self.p:
            raise base.Forbidden()
        return image

    async def delete_image(self, image_id):
        self._image(image_id)
        del self.w.images[image_id]

    async def update_image(self, image_id, *, description=None, public=None, add_members=None,
                           remove_members=None):
        image = self._image(image_id)
        if description is not None:
            image.description = description
        if public is not None:
            image.public = public
        image.shared_with = [m for m in image.shared_with if m not in (remove_members or [])]
        image.shared_with += [m for m in add_members or [] if m not in image.shared_with]

    async def list_keypairs(self):
        return [k for (p, _), k in self.w.keypairs.items() if p == self.p]

    async def import_keypair(self, name, public_key):
        if (self.p, name) in self.w.keypairs:
            raise base.AlreadyExists()
        self.w.keypairs[(self.p, name)] = KeyPair(name, "nova-fp", public_key, NOW)
        return self.w.keypairs[(self.p, name)]

    async def delete_keypair(self, name):
        if self.w.keypairs.pop((self.p, name), None) is None:
            raise base.NotFound(kind="keypair")

    async def list_security_groups(self, ids=None):
        self._log("list_security_groups")
        return [replace(g, rules=list(g.rules)) for g in self.w.groups.values()
                if g.owner == self.p and (ids is None or g.id in ids)]

    async def create_security_group(self, name, description, network_id=None):
        gid = str(uuid.uuid4())
        self.w.groups[gid] = SecurityGroup(gid, name, description, self.p, network_id=network_id, rules=[
            SecurityRule(str(uuid.uuid4()), gid, True, None, cidr="0.0.0.0/0")])
        return replace(self.w.groups[gid])

    def _group(self, gid: str) -> SecurityGroup:
        group = self.w.groups.get(gid)
        if group is None or group.owner != self.p:
            raise base.NotFound(kind="group")
        return group

    async def delete_security_group(self, group_id):
        self._group(group_id)
        if any(group_id in s.security_groups for _, s in self.w.servers.values()):
            raise base.Conflict("in use")
        del self.w.groups[group_id]

    async def add_security_rule(self, rule):
        group = self._group(rule.group_id)
        new = replace(rule, id=str(uuid.uuid4()))
        group.rules.append(new)
        return new

    async def delete_security_rule(self, rule_id):
        for g in self.w.groups.values():
            if g.owner == self.p and any(r.id == rule_id for r in g.rules):
                g.rules = [r for r in g.rules if r.id != rule_id]
                return
        raise base.NotFound(kind="rule")

    def _vol(self, vid: str) -> Volume:
        proj, vol = self.w.volumes.get(vid, (None, None))
        if proj != self.p:
            raise base.NotFound(kind="volume")
        return vol

    async def list_volumes(self, ids=None):
        out = []
        for vid, (proj, vol) in self.w.volumes.items():
            if proj == self.p and (ids is None or vid in ids):
                out.append(replace(vol, attachments=list(vol.attachments)))
                if vol.state == VolumeState.CREATING:
                    vol.state = VolumeState.AVAILABLE
        return out

    async def create_volume(self, size_gib, zone, *, snapshot_id=None, volume_type=None, name=None,
                            encrypted=False):
        if encrypted:  # a cloud without encryption
            raise base.NotSupported("Encrypted volumes are not supported.")
        if snapshot_id:
            proj, snap = self.w.snapshots.get(snapshot_id, (None, None))
            if proj != self.p:
                raise base.NotFound(kind="snapshot")
            size_gib = size_gib or snap.size_gib
        vid = str(uuid.uuid4())
        self.w.volumes[vid] = (self.p, Volume(vid, size_gib, VolumeState.CREATING, zone or "nova", NOW,
                                              snapshot_id=snapshot_id, volume_type=volume_type, name=name))
        return replace(self.w.volumes[vid][1])

    async def delete_volume(self, volume_id):
        if self._vol(volume_id).attachments:
            raise base.Conflict("attached")
        del self.w.volumes[volume_id]

    async def attach_volume(self, volume_id, server_id, device):
        vol, server = self._vol(volume_id), self._server(server_id)
        att = Attachment(volume_id, server_id, device, NOW)
        vol.attachments.append(att)
        vol.state = VolumeState.IN_USE
        server.attachments.append(att)
        return att

    async def detach_volume(self, volume_id, server_id=None, force=False):
        vol = self._vol(volume_id)
        vol.attachments, vol.state = [], VolumeState.AVAILABLE
        for _, s in self.w.servers.values():
            s.attachments = [a for a in s.attachments if a.volume_id != volume_id]

    async def extend_volume(self, volume_id, size_gib):
        self._vol(volume_id).size_gib = size_gib

    async def list_snapshots(self, ids=None):
        return [replace(s) for sid, (p, s) in self.w.snapshots.items() if p == self.p and (ids is None or sid in ids)]

    async def create_snapshot(self, volume_id, description=None):
        vol = self._vol(volume_id)
        sid = str(uuid.uuid4())
        self.w.snapshots[sid] = (self.p, Snapshot(sid, volume_id, vol.size_gib, "pending", NOW, description,
                                                  owner=self.p))
        return replace(self.w.snapshots[sid][1])

    async def delete_snapshot(self, snapshot_id):
        proj, _ = self.w.snapshots.get(snapshot_id, (None, None))
        if proj != self.p:
            raise base.NotFound(kind="snapshot")
        del self.w.snapshots[snapshot_id]

    async def list_addresses(self):
        return [replace(a) for p, a in self.w.addresses.values() if p == self.p]

    async def allocate_address(self):
        aid = str(uuid.uuid4())
        self.w.addresses[aid] = (self.p, FloatingAddress(aid, f"172.24.4.{next(self.w.ips)}", pool="public"))
        return replace(self.w.addresses[aid][1])

    def _addr(self, aid: str) -> FloatingAddress:
        proj, addr = self.w.addresses.get(aid, (None, None))
        if proj != self.p:
            raise base.NotFound(kind="address")
        return addr

    async def release_address(self, address_id):
        self._addr(address_id)
        del self.w.addresses[address_id]

    async def associate_address(self, address_id, server_id, fixed_ip=None):
        addr, server = self._addr(address_id), self._server(server_id)
        addr.server_id, addr.port_id, addr.fixed_ip = server_id, f"port-{server_id}", server.addresses[0].ip
        server.addresses.append(ServerAddress(addr.ip, floating=True))

    async def disassociate_address(self, address_id):
        addr = self._addr(address_id)
        if addr.server_id:
            _, server = self.w.servers[addr.server_id]
            server.addresses = [a for a in server.addresses if a.ip != addr.ip]
        addr.server_id = addr.port_id = addr.fixed_ip = None


class FakeBackend(base.Backend):
    name = "fake"

    def __init__(self) -> None:
        self.world = World()

    async def compute(self, principal):
        return FakeCompute(self.world, principal.account_id)


# ---- the gateway in front of it ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cloud():
    backend = FakeBackend()
    config = parse_config({
        "region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
        "ec2": {"terminated_retention_seconds": 3600},
        "auth": {"static": [{"access_key": ak, "secret_key": sk, "account_id": acct, "display_name": ak}
                            for ak, sk, acct in (A, B)]}}, "tests")
    with serve_app(create_app(config, backend=backend)) as (endpoint, loop):
        yield endpoint, backend.world


def _client(endpoint: str, creds: tuple[str, str, str]):
    return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=creds[0],
                        aws_secret_access_key=creds[1],
                        config=botocore.config.Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def ec2(cloud):
    return _client(cloud[0], A)


@pytest.fixture(scope="module")
def ec2_b(cloud):
    return _client(cloud[0], B)


@pytest.fixture(scope="module")
def ami(ec2):
    return ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]


def error(call, *args, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _launch(ec2, ami, **kw) -> list[str]:
    kw.setdefault("InstanceType", "t2.micro")
    res = ec2.run_instances(ImageId=ami, MinCount=kw.pop("MinCount", 1), MaxCount=kw.pop("MaxCount", 1), **kw)
    return [i["InstanceId"] for i in res["Instances"]]


# ---- instances ----------------------------------------------------------------------------------------------------
def test_run_instances_answers_pending_and_the_waiter_sees_running(ec2, ami):
    res = ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2, InstanceType="t2.micro", UserData="hello",
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": [{"Key": "Name", "Value": "web"}]}])
    assert res["ReservationId"].startswith("r-") and res["OwnerId"] == A[2]
    assert [i["State"] for i in res["Instances"]] == [{"Code": 0, "Name": "pending"}] * 2
    assert [i["AmiLaunchIndex"] for i in res["Instances"]] == [0, 1]
    ids = [i["InstanceId"] for i in res["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    desc = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    assert len(desc) == 1 and desc[0]["ReservationId"] == res["ReservationId"]
    inst = desc[0]["Instances"][0]
    assert inst["Tags"] == [{"Key": "Name", "Value": "web"}]
    assert inst["PrivateIpAddress"].startswith("10.0.0.") and inst["InstanceType"] == "t2.micro"
    assert inst["SecurityGroups"][0]["GroupName"] == "default"
    # outside a VPC a reservation names its instances' groups (EC2-Classic), in RunInstances and Describe
    assert res["Groups"] == desc[0]["Groups"] == inst["SecurityGroups"]
    attr = ec2.describe_instance_attribute(InstanceId=ids[0], Attribute="userData")
    assert attr["UserData"]["Value"] == "aGVsbG8="


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"MinCount": 3, "MaxCount": 2}, "InvalidParameterValue"),
    ({"InstanceType": "x9.huge"}, "InvalidParameterValue"),
    ({"KeyName": "nope"}, "InvalidKeyPair.NotFound"),
    ({"SecurityGroups": ["nope"]}, "InvalidGroup.NotFound"),
    ({"SecurityGroupIds": ["sg-12345678901234567"]}, "InvalidGroup.NotFound"),
    ({"Placement": {"AvailabilityZone": "mars-1a"}}, "InvalidParameterValue"),
    ({"ImageId": "ami-12345678901234567"}, "InvalidAMIID.NotFound"),
    ({"ImageId": "bogus"}, "InvalidAMIID.Malformed"),
])
def test_run_instances_errors(ec2, ami, kwargs, code):
    args = {"ImageId": ami, "MinCount": 1, "MaxCount": 1, "InstanceType": "t2.micro", **kwargs}
    assert error(ec2.run_instances, **args) == (code, 400)


def test_run_instances_quota_is_instance_limit_exceeded(ec2, ami, cloud):
    assert error(ec2.run_instances, ImageId=ami, MinCount=500, MaxCount=500) == ("InstanceLimitExceeded", 400)


def test_client_token_is_idempotent(ec2, ami):
    first = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-1")
    again = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-1")
    assert again["Instances"][0]["InstanceId"] == first["Instances"][0]["InstanceId"]
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m1.small",
                 ClientToken="tok-1") == ("IdempotentParameterMismatch", 400)
    ec2.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])


def test_dry_run(ec2, ami):
    assert error(ec2.run_instances, ImageId=ami, MinCount=1, MaxCount=1, DryRun=True) == ("DryRunOperation", 412)
    assert error(ec2.describe_instances, DryRun=True) == ("DryRunOperation", 412)


def test_stop_start_terminate_and_terminated_stays_visible(ec2, ami):
    (iid,) = _launch(ec2, ami)
    assert error(ec2.stop_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)  # still pending
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    noop = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (noop["PreviousState"]["Name"], noop["CurrentState"]["Name"]) == ("running", "running")
    change = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (change["PreviousState"]["Code"], change["CurrentState"]["Code"]) == (16, 64)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error(ec2.reboot_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    change = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (change["PreviousState"]["Name"], change["CurrentState"]["Name"]) == ("stopped", "pending")
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    change = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert (change["PreviousState"]["Code"], change["CurrentState"]["Code"]) == (16, 32)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["State"] == {"Code": 48, "Name": "terminated"}
    states = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["terminated"]}])
    assert iid in [i["InstanceId"] for r in states["Reservations"] for i in r["Instances"]]
    assert error(ec2.start_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert again["CurrentState"]["Name"] == "terminated"


def test_disable_api_termination(ec2, ami):
    (iid,) = _launch(ec2, ami, DisableApiTermination=True)
    assert error(ec2.terminate_instances, InstanceIds=[iid]) == ("OperationNotPermitted", 400)
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
    assert attr["DisableApiTermination"] == {"Value": True}
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[iid])


def test_instance_attributes(ec2, ami):
    (iid,) = _launch(ec2, ami)
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"] == \
        {"Value": "t2.micro"}
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="rootDeviceName")["RootDeviceName"] == \
        {"Value": "/dev/vda"}
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")["Groups"][0]["GroupName"] == \
        "default"
    ec2.modify_instance_attribute(InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior",
                                  Value="terminate")
    out = ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior")
    assert out["InstanceInitiatedShutdownBehavior"] == {"Value": "terminate"}
    # outside a VPC (EC2-Classic rules): no source/dest check, security groups fixed at launch
    classic = ("InvalidParameterCombination", 400)
    assert error(ec2.modify_instance_attribute, InstanceId=iid, SourceDestCheck={"Value": False}) == classic
    assert error(ec2.reset_instance_attribute, InstanceId=iid, Attribute="sourceDestCheck") == classic
    assert error(ec2.describe_instance_attribute, InstanceId=iid, Attribute="sourceDestCheck") == classic
    assert error(ec2.modify_instance_attribute, InstanceId=iid, Groups=["sg-0"]) == classic
    assert error(ec2.modify_instance_attribute, InstanceId=iid) == classic
    assert error(ec2.modify_instance_attribute, InstanceId=iid, Attribute="disableApiTermination") == \
        ("MissingParameter", 400)
    assert error(ec2.describe_instance_attribute, InstanceId="i-0", Attribute="disableApiTermination") == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.modify_instance_attribute, InstanceId=iid, UserData={"Value": b"x"}) == \
        ("IncorrectInstanceState", 400)
    assert error(ec2.describe_instance_attribute, InstanceId=iid, Attribute="bogus") == \
        ("InvalidParameterValue", 400)
    out = ec2.get_console_output(InstanceId=iid)
    assert out["Output"] == "boot ok\n"  # boto3 decodes the base64
    assert ec2.get_password_data(InstanceId=iid)["PasswordData"] == ""
    ec2.terminate_instances(InstanceIds=[iid])


def test_describe_instances_filters_paging_and_errors(ec2, ami):
    ids = _launch(ec2, ami, MinCount=3, MaxCount=3, InstanceType="m1.small")
    out = ec2.describe_instances(Filters=[{"Name": "instance-type", "Values": ["m1.small"]},
                                          {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    found = {i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]}
    assert set(ids) <= found
    res_id = out["Reservations"][0]["ReservationId"]
    by_res = ec2.describe_instances(Filters=[{"Name": "reservation-id", "Values": [res_id]}])
    assert by_res["Reservations"][0]["ReservationId"] == res_id
    seen, pages = [], ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5})
    for page in pages:
        seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    assert error(ec2.describe_instances, InstanceIds=["i-00000000000000000"]) == ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.describe_instances, InstanceIds=["i-xyz"]) == ("InvalidInstanceID.Malformed", 400)
    assert error(ec2.describe_instances, InstanceIds=["i-0"]) == ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.describe_instances, Filters=[{"Name": "bogus", "Values": ["x"]}]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.describe_instances, MaxResults=5, NextToken="forged") == ("InvalidParameterValue", 400)
    assert error(ec2.describe_instances, MaxResults=3) == ("InvalidParameterValue", 400)
    ec2.terminate_instances(InstanceIds=ids)


def test_describe_instances_costs_constant_backend_calls(ec2, ami, cloud):
    world = cloud[1]
    ids = _launch(ec2, ami, MinCount=5, MaxCount=5)
    world.calls.clear()
    ec2.describe_instances()
    assert world.calls.count("list_servers") == 1 and len(world.calls) <= 2
    ec2.terminate_instances(InstanceIds=ids)


def test_instance_status_and_types(ec2, ami):
    (iid,) = _launch(ec2, ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    st = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"][0]
    assert st["InstanceState"]["Name"] == "running" and st["InstanceStatus"]["Status"] == "ok"
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    types = ec2.describe_instance_types(InstanceTypes=["t2.micro"])["InstanceTypes"]
    assert types[0]["MemoryInfo"]["SizeInMiB"] == 512
    assert error(ec2.describe_instance_types, InstanceTypes=["x9.huge"]) == ("InvalidInstanceType", 400)
    ec2.terminate_instances(InstanceIds=[iid])


# ---- key pairs --------------------------------------------------------------------------------------------------
def test_key_pairs(ec2):
    created = ec2.create_key_pair(KeyName="Test key")
    assert created["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert len(created["KeyFingerprint"].split(":")) == 20 and created["KeyPairId"].startswith("key-")
    assert error(ec2.create_key_pair, KeyName="Test key") == ("InvalidKeyPair.Duplicate", 400)
    desc = ec2.describe_key_pairs(Filters=[{"Name": "fingerprint", "Values": [created["KeyFingerprint"]]}])
    assert [k["KeyName"] for k in desc["KeyPairs"]] == ["Test key"]
    assert "KeyMaterial" not in desc["KeyPairs"][0]
    assert error(ec2.describe_key_pairs, KeyNames=["fake key"]) == ("InvalidKeyPair.NotFound", 400)
    ec2.delete_key_pair(KeyName="Test key")
    ec2.delete_key_pair(KeyName="Test key")  # idempotent, as on AWS
    assert error(ec2.import_key_pair, KeyName="k", PublicKeyMaterial=b"") == ("MissingParameter", 400)
    assert error(ec2.import_key_pair, KeyName="k", PublicKeyMaterial=b"ssh-rsa JUNK x") == \
        ("InvalidKey.Format", 400)


# ---- security groups ---------------------------------------------------------------------------------------------
def test_security_groups_classic_rules(ec2):
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    gid = ec2.create_security_group(GroupName="web", Description="web servers")["GroupId"]
    assert error(ec2.create_security_group, GroupName="web", Description="x") == ("InvalidGroup.Duplicate", 400)
    assert error(ec2.create_security_group, GroupName="default", Description="x") == ("InvalidGroup.Reserved", 400)
    perms = [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
             {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 65535,
              "UserIdGroupPairs": [{"GroupId": default["GroupId"]}]}]
    out = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    assert out["Return"] is True and len(out["SecurityGroupRules"]) == 2
    assert error(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=perms[:1]) == \
        ("InvalidPermission.Duplicate", 400)
    got = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert got["IpPermissionsEgress"] == []
    icmp = [p for p in got["IpPermissions"] if p["IpProtocol"] == "icmp"][0]
    assert (icmp["FromPort"], icmp["ToPort"], icmp["IpRanges"]) == (-1, -1, [{"CidrIp": "10.0.0.0/8"}])
    tcp = [p for p in got["IpPermissions"] if p["IpProtocol"] == "tcp"][0]
    assert tcp["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]
    # the legacy top-level form
    ec2.authorize_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=22, ToPort=22,
                                         CidrIp="0.0.0.0/0")
    by_port = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["22"]}])
    assert [g["GroupId"] for g in by_port["SecurityGroups"]] == [gid]
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=perms)
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=perms)  # EC2-Classic: absent rule is fine
    assert error(ec2.authorize_security_group_egress, GroupId=gid, IpPermissions=perms[:1]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[{"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}]) == \
        ("InvalidParameterValue", 400)
    assert error(ec2.delete_security_group, GroupName="default") == ("CannotDelete", 400)
    ec2.delete_security_group(GroupName="web")
    assert error(ec2.describe_security_groups, GroupIds=[gid]) == ("InvalidGroup.NotFound", 400)
    assert error(ec2.delete_security_group, GroupId=gid) == ("InvalidGroup.NotFound", 400)


def test_security_group_in_use_is_dependency_violation(ec2, ami):
    gid = ec2.create_security_group(GroupName="used", Description="d")["GroupId"]
    (iid,) = _launch(ec2, ami, SecurityGroupIds=[gid])
    assert error(ec2.delete_security_group, GroupId=gid) == ("DependencyViolation", 400)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.describe_instances()  # the cloud finishes deleting
    ec2.delete_security_group(GroupId=gid)


# ---- volumes and snapshots ------------------------------------------------------------------------------------------
def test_volume_lifecycle(ec2, ami):
    assert error(ec2.create_volume, Size=1) == ("MissingParameter", 400)
    assert error(ec2.create_volume, AvailabilityZone="nova") == ("MissingParameter", 400)
    assert error(ec2.create_volume, AvailabilityZone="mars", Size=1) == ("InvalidZone.NotFound", 400)
    vol = ec2.create_volume(AvailabilityZone="nova", Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "k", "Value": "v"}]}])
    vid = vol["VolumeId"]
    assert vol["State"] == "creating" and vol["Tags"] == [{"Key": "k", "Value": "v"}]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    (iid,) = _launch(ec2, ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="bogus") == ("InvalidParameterValue", 400)
    att = ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
    assert att["State"] == "attaching"
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert error(ec2.delete_volume, VolumeId=vid) == ("VolumeInUse", 400)
    desc = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    assert [v["VolumeId"] for v in desc] == [vid] and desc[0]["Attachments"][0]["Device"] == "/dev/vdb"
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"] == vid
    ec2.detach_volume(VolumeId=vid)
    assert error(ec2.detach_volume, VolumeId=vid) == ("IncorrectState", 400)
    ec2.modify_volume(VolumeId=vid, Size=2)
    assert error(ec2.modify_volume, VolumeId=vid, Size=1) == ("InvalidParameterValue", 400)
    status = ec2.describe_volume_status(VolumeIds=[vid])["VolumeStatuses"][0]
    assert status["VolumeStatus"]["Status"] == "ok"
    snap = ec2.create_snapshot(VolumeId=vid, Description="s")
    assert snap["State"] == "pending" and snap["VolumeId"] == vid
    snaps = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert snap["SnapshotId"] in [s["SnapshotId"] for s in snaps]
    restored = ec2.create_volume(AvailabilityZone="nova", SnapshotId=snap["SnapshotId"])
    assert restored["SnapshotId"] == snap["SnapshotId"]
    ec2.delete_volume(VolumeId=restored["VolumeId"])
    ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])
    assert error(ec2.describe_snapshots, SnapshotIds=[snap["SnapshotId"]]) == ("InvalidSnapshot.NotFound", 400)
    ec2.delete_volume(VolumeId=vid)
    assert error(ec2.describe_volumes, VolumeIds=[vid]) == ("InvalidVolume.NotFound", 400)
    assert error(ec2.describe_volumes, VolumeIds=["vol-1x"]) == ("InvalidVolumeID.Malformed", 400)
    assert error(ec2.describe_volumes, VolumeIds=["vol-0"]) == ("InvalidVolume.NotFound", 400)
    ec2.terminate_instances(InstanceIds=[iid])


# ---- addresses ---------------------------------------------------------------------------------------------------
def test_standard_address_associate_and_release(ec2, ami):
    (iid,) = _launch(ec2, ami)
    ip = ec2.allocate_address()["PublicIp"]
    ec2.associate_address(InstanceId=iid, PublicIp=ip)
    addr = ec2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert (addr["InstanceId"], addr["Domain"]) == (iid, "standard") and "AllocationId" not in addr
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["PublicIpAddress"] == ip
    ec2.disassociate_address(PublicIp=ip)
    ec2.disassociate_address(PublicIp=ip)  # not associated: fine for a standard address
    ec2.release_address(PublicIp=ip)
    assert error(ec2.describe_addresses, PublicIps=[ip]) == ("InvalidAddress.NotFound", 400)
    assert error(ec2.release_address, PublicIp=ip) == ("AuthFailure", 401)  # no longer the caller's
    assert error(ec2.describe_addresses, PublicIps=["invalidIp"]) == ("InvalidParameterValue", 400)
    ec2.terminate_instances(InstanceIds=[iid])


def test_vpc_address_forms(ec2, ami):
    alloc = ec2.allocate_address(Domain="vpc")
    aid, ip = alloc["AllocationId"], alloc["PublicIp"]
    assert error(ec2.release_address, PublicIp=ip, AllocationId=aid) == ("InvalidParameterCombination", 400)
    assert error(ec2.release_address, PublicIp=ip) == ("InvalidParameterValue", 400)
    assert error(ec2.disassociate_address, AssociationId="eipassoc-00000001") == \
        ("InvalidAssociationID.NotFound", 400)
    assert error(ec2.disassociate_address, PublicIp=ip) == ("InvalidParameterValue", 400)
    (iid,) = _launch(ec2, ami)
    assoc = ec2.associate_address(InstanceId=iid, AllocationId=aid)["AssociationId"]
    assert error(ec2.release_address, AllocationId=aid) == ("InvalidIPAddress.InUse", 400)
    ec2.disassociate_address(AssociationId=assoc)
    ec2.release_address(AllocationId=aid)
    assert error(ec2.release_address, AllocationId=aid) == ("InvalidAllocationID.NotFound", 400)
    assert error(ec2.allocate_address, Domain="invalid") == ("InvalidParameterValue", 400)
    ec2.terminate_instances(InstanceIds=[iid])


# ---- images -----------------------------------------------------------------------------------------------------
def test_images(ec2, ec2_b, ami):
    assert error(ec2.describe_images, ImageIds=["ami-00000000000000000"]) == ("InvalidAMIID.NotFound", 400)
    (store_iid,) = _launch(ec2, ami)
    ebs_ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros-ebs"]}])["Images"][0]["ImageId"]
    (iid,) = _launch(ec2, ebs_ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid, store_iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    # only an EBS-backed instance can be imaged
    assert error(ec2.create_image, InstanceId=store_iid, Name="store") == ("InvalidParameterValue", 400)
    assert error(ec2.create_image, InstanceId=iid, Name="bad name!") == ("InvalidAMIName.Malformed", 400)
    new = ec2.create_image(InstanceId=iid, Name="my-image", Description="d")["ImageId"]
    assert error(ec2.create_image, InstanceId=iid, Name="my-image") == ("InvalidAMIName.Duplicate", 400)
    mine = ec2.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in mine] == [new] and mine[0]["Public"] is False
    assert ami in [i["ImageId"] for i in ec2.describe_images(ExecutableUsers=["all"])["Images"]]
    assert error(ec2_b.describe_images, ImageIds=[new]) == ("InvalidAMIID.NotFound", 400)
    ec2.modify_image_attribute(ImageId=new, LaunchPermission={"Add": [{"UserId": B[2]}]})
    perms = ec2.describe_image_attribute(ImageId=new, Attribute="launchPermission")["LaunchPermissions"]
    assert perms == [{"UserId": B[2]}]
    assert [i["ImageId"] for i in ec2_b.describe_images(ExecutableUsers=["self"])["Images"]] == [new]
    assert error(ec2_b.deregister_image, ImageId=new) == ("AuthFailure", 401)
    ec2.modify_image_attribute(ImageId=new, Attribute="description", Value="changed")
    assert ec2.describe_image_attribute(ImageId=new, Attribute="description")["Description"] == {"Value": "changed"}
    assert "KernelId" not in ec2.describe_image_attribute(ImageId=new, Attribute="kernel")  # none: member left out
    ec2.reset_image_attribute(ImageId=new, Attribute="launchPermission")
    assert error(ec2_b.describe_images, ImageIds=[new]) == ("InvalidAMIID.NotFound", 400)
    reg = ec2.register_image(Name="registered", ImageLocation="bucket/manifest.xml")["ImageId"]
    ec2.deregister_image(ImageId=reg)
    ec2.deregister_image(ImageId=new)
    assert error(ec2.describe_images, ImageIds=[new]) == ("InvalidAMIID.NotFound", 400)
    ec2.terminate_instances(InstanceIds=[iid, store_iid])


@pytest.mark.parametrize(("call", "kwargs", "expected"), [
    ("describe_image_attribute", {"Attribute": "unsupported"}, ("InvalidRequest", 400)),
    ("describe_image_attribute", {"Attribute": "description"}, ("AuthFailure", 401)),  # a public image, not mine
    ("modify_image_attribute", {"Attribute": "unsupported"}, ("InvalidParameterCombination", 400)),
    ("modify_image_attribute", {"Attribute": "blockDeviceMapping"}, ("InvalidParameter", 400)),
    ("modify_image_attribute", {}, ("InvalidParameterCombination", 400)),
    ("modify_image_attribute", {"Description": {"Value": "x"}}, ("AuthFailure", 401)),
    ("modify_image_attribute", {"LaunchPermission": {"Add": [{"Group": "all"}]}}, ("AuthFailure", 401)),
    ("modify_image_attribute", {"Attribute": "description"}, ("MissingParameter", 400)),
    ("modify_image_attribute", {"Attribute": "launchPermission"}, ("InvalidParameterCombination", 400)),
    ("reset_image_attribute", {"Attribute": "fake"}, ("InvalidRequest", 400)),
    ("reset_image_attribute", {"Attribute": "launchPermission"}, ("AuthFailure", 401)),
    ("deregister_image", {}, ("AuthFailure", 401)),
])
def test_image_attribute_errors_on_someone_elses_public_image(ec2, ami, call, kwargs, expected):
    assert error(getattr(ec2, call), ImageId=ami, **kwargs) == expected


# ---- zones, regions, account --------------------------------------------------------------------------------------
def test_regions_zones_account(ec2, cloud):
    regions = ec2.describe_regions()["Regions"]
    assert regions == [{"RegionName": "us-east-1", "Endpoint": cloud[0].removeprefix("http://"),
                        "OptInStatus": "opt-in-not-required"}]
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["State"]) for z in zones] == [("nova", "available")]
    assert error(ec2.describe_availability_zones, ZoneNames=["mars"]) == ("InvalidParameterValue", 400)
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert "VPC" in attrs["supported-platforms"] and attrs["default-vpc"] == ["none"]


# ---- tags ------------------------------------------------------------------------------------------------------------
def test_tags(ec2, ami):
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]
    assert tags == [{"Key": "a", "ResourceId": vid, "ResourceType": "volume", "Value": "1"},
                    {"Key": "b", "ResourceId": vid, "ResourceType": "volume", "Value": "2"}]
    assert [v["VolumeId"] for v in ec2.describe_volumes(Filters=[{"Name": "tag:a", "Values": ["1"]}])["Volumes"]] == \
        [vid]
    ec2.delete_tags(Resources=[vid], Tags=[{"Key": "a"}])
    assert [t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]] == ["b"]
    assert error(ec2.create_tags, Resources=["i-00000000000000000"], Tags=[{"Key": "k", "Value": "v"}]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.create_tags, Resources=["bogus-1"], Tags=[{"Key": "k", "Value": "v"}]) == ("InvalidID", 400)
    assert error(ec2.create_tags, Resources=[vid], Tags=[{"Key": "aws:x", "Value": "v"}]) == \
        ("InvalidParameterValue", 400)
    ec2.delete_volume(VolumeId=vid)


def test_describe_tags_pages_after_filtering_by_tag_value(ec2):
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    for n in range(10):
        ec2.create_tags(Resources=[vid], Tags=[{"Key": f"k{n}", "Value": "aaa" if n < 6 else "bbb"}])
    flt = [{"Name": "resource-id", "Values": [vid]}, {"Name": "tag-value", "Values": ["aaa"]}]
    first = ec2.describe_tags(MaxResults=5, Filters=flt)
    assert len(first["Tags"]) == 5 and first["NextToken"]
    rest = ec2.describe_tags(NextToken=first["NextToken"], Filters=flt)
    assert [t["Key"] for t in first["Tags"] + rest["Tags"]] == [f"k{n}" for n in range(6)] and "NextToken" not in rest
    assert {t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "tag-key", "Values": ["k7"]}])["Tags"]} == {"k7"}
    assert len(ec2.describe_tags(Filters=[{"Name": "tag:k8", "Values": ["bbb"]}])["Tags"]) == 1
    assert len(ec2.describe_tags(MaxResults=1100, Filters=flt)["Tags"]) == 6  # above 1000 means 1000
    assert error(ec2.describe_tags, MaxResults=4) == ("InvalidParameterValue", 400)
    ec2.delete_volume(VolumeId=vid)


# ---- tenant isolation -------------------------------------------------------------------------------------------------
def test_tenant_b_can_neither_see_nor_change_tenant_a_resources(ec2, ec2_b, ami):
    (iid,) = _launch(ec2, ami)
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    gid = ec2.create_security_group(GroupName="private", Description="d")["GroupId"]
    aid = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_key_pair(KeyName="a-key")
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    seen = [i["InstanceId"] for r in ec2_b.describe_instances()["Reservations"] for i in r["Instances"]]
    assert iid not in seen
    assert vid not in [v["VolumeId"] for v in ec2_b.describe_volumes()["Volumes"]]
    assert "a-key" not in [k["KeyName"] for k in ec2_b.describe_key_pairs()["KeyPairs"]]
    nf = ("InvalidInstanceID.NotFound", 400)
    assert error(ec2_b.describe_instances, InstanceIds=[iid]) == nf
    assert error(ec2_b.terminate_instances, InstanceIds=[iid]) == nf
    assert error(ec2_b.stop_instances, InstanceIds=[iid]) == nf
    assert error(ec2_b.modify_instance_attribute, InstanceId=iid, DisableApiTermination={"Value": True}) == nf
    assert error(ec2_b.create_tags, Resources=[iid], Tags=[{"Key": "k", "Value": "v"}]) == nf
    assert error(ec2_b.get_console_output, InstanceId=iid) == nf
    assert error(ec2_b.delete_volume, VolumeId=vid) == ("InvalidVolume.NotFound", 400)
    assert error(ec2_b.create_snapshot, VolumeId=vid) == ("InvalidVolume.NotFound", 400)
    assert error(ec2_b.delete_snapshot, SnapshotId=sid) == ("InvalidSnapshot.NotFound", 400)
    assert error(ec2_b.delete_security_group, GroupId=gid) == ("InvalidGroup.NotFound", 400)
    assert error(ec2_b.authorize_security_group_ingress, GroupId=gid, IpProtocol="tcp", FromPort=1, ToPort=2,
                 CidrIp="0.0.0.0/0") == ("InvalidGroup.NotFound", 400)
    assert error(ec2_b.release_address, AllocationId=aid) == ("InvalidAllocationID.NotFound", 400)
    assert error(ec2_b.associate_address, AllocationId=aid, InstanceId=iid)[0] in (
        "InvalidAllocationID.NotFound", "InvalidInstanceID.NotFound")
    b_iid = _launch(ec2_b, ami)[0]
    assert error(ec2_b.attach_volume, VolumeId=vid, InstanceId=b_iid, Device="/dev/vdc") == \
        ("InvalidVolume.NotFound", 400)
    ec2_b.delete_key_pair(KeyName="a-key")  # idempotent no-op for B: A's key survives
    assert "a-key" in [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    ec2.delete_key_pair(KeyName="a-key")
    ec2_b.terminate_instances(InstanceIds=[b_iid])
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_snapshot(SnapshotId=sid)
    ec2.delete_volume(VolumeId=vid)
    ec2.release_address(AllocationId=aid)


def test_without_a_compute_backend_every_action_is_unsupported():
    from tests.server import AK, SK, in_process

    with in_process() as endpoint:
        client = _client(endpoint, (AK, SK, ""))
        assert error(client.describe_instances) == ("Unsupported", 400)
