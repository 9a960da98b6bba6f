"""An in-memory cloud behind the gateway, for the EC2 handler tests (tests/test_ec2_<family>.py): it implements the
neutral Compute contract (backends/compute.py) the way a real one behaves: per-project visibility, async state
changes (a server is BUILDING until the next look), 409s for in-use resources. The fixtures (`cloud`, `ec2`,
`ec2_b`, `ami`) are imported by each test module, so each family runs against its own fake cloud.
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
@pytest.fixture(scope="module", name="cloud")
def cloud_fixture():
    backend = FakeBackend()
    config = parse_config({
        "region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
        "ec2": {"terminated_retention_seconds": 3600, "default_vpc": False},  # the fake has no VPC networking
        "auth": {"static": [{"access_key": ak, "secret_key": sk, "account_id": acct, "display_name": ak}
                            for ak, sk, acct in (A, B)]}}, "tests")
    with serve_app(create_app(config, backend=backend)) as (endpoint, loop):
        yield endpoint, backend.world


def client_for(endpoint: str, creds: tuple[str, str, str]):
    return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=creds[0],
                        aws_secret_access_key=creds[1],
                        config=botocore.config.Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module", name="ec2")
def ec2_fixture(cloud):
    return client_for(cloud[0], A)


@pytest.fixture(scope="module", name="ec2_b")
def ec2_b_fixture(cloud):
    return client_for(cloud[0], B)


@pytest.fixture(scope="module", name="ami")
def ami_fixture(ec2):
    return ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]


def error(call, *args, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def launch(ec2, ami, **kw) -> list[str]:
    kw.setdefault("InstanceType", "t2.micro")
    res = ec2.run_instances(ImageId=ami, MinCount=kw.pop("MinCount", 1), MaxCount=kw.pop("MaxCount", 1), **kw)
    return [i["InstanceId"] for i in res["Instances"]]
