"""DeleteVolume of a volume with snapshots on a cloud that keeps such volumes (Cinder), against an in-memory
Cinder-like fake: the volume is gone for EC2 at once, its snapshots stay usable, and the cloud's volume is
deleted once its last snapshot is gone (gateway/ec2/deferred_volumes.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from backends import base
from gateway.app import GATEWAY_KEY, create_app
from gateway.config import parse_config
from gateway.ec2 import deferred_volumes
from gateway.ec2.ids import derive
from gateway.ec2.records import NS_VOLUME_DELETED
from tests.ec2_fake_cloud import A, B, FakeBackend, FakeCompute, World, error
from tests.ec2_fake_cloud import client_for as _client
from tests.ec2_fake_cloud import launch as _launch
from tests.server import serve_app

NF = ("InvalidVolume.NotFound", 400)
QUICK = {"Delay": 1, "MaxAttempts": 10}


@dataclass
class Cinder:
    going: dict[str, float] = field(default_factory=dict)  # snapshot id -> when Cinder has deleted it
    busy: set[str] = field(default_factory=set)  # volumes in another operation: delete refused
    labels: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


class CinderLikeCompute(FakeCompute):
    keeps_volumes_with_snapshots = True

    def __init__(self, world: World, project: str, cinder: Cinder) -> None:
        super().__init__(world, project)
        self.cinder = cinder

    def _purge(self) -> None:
        now = time.monotonic()
        for sid, at in list(self.cinder.going.items()):
            if at <= now:
                self.w.snapshots.pop(sid, None)
                del self.cinder.going[sid]

    async def list_snapshots(self, ids=None):
        self._purge()
        return await super().list_snapshots(ids)

    async def delete_snapshot(self, snapshot_id):
        proj, snap = self.w.snapshots.get(snapshot_id, (None, None))
        if proj != self.p:
            raise base.NotFound(kind="snapshot")
        snap.state = "deleting"  # Cinder deletes snapshots asynchronously
        self.cinder.going[snapshot_id] = time.monotonic() + 0.5

    async def delete_volume(self, volume_id):
        self._purge()
        self._vol(volume_id)
        if volume_id in self.cinder.busy:
            raise base.Conflict("Invalid volume: Volume status must be available or error")
        n = sum(1 for _, s in self.w.snapshots.values() if s.volume_id == volume_id)
        if n:
            raise base.Conflict(f"Invalid volume: Volume {volume_id} still has {n} dependent snapshots.")
        await super().delete_volume(volume_id)

    async def update_volume(self, volume_id, *, name=None, description=None):
        self._vol(volume_id)
        self.cinder.labels[volume_id] = (name, description)


class CinderLikeBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.cinder = Cinder()

    async def compute(self, principal):
        return CinderLikeCompute(self.world, principal.account_id, self.cinder)


@dataclass
class Cloud:
    endpoint: str
    backend: CinderLikeBackend
    app: web.Application
    loop: asyncio.AbstractEventLoop

    def records(self) -> list[str]:
        """The gateway's pending-deletion records ("<account>/<vol id>")."""
        store = self.app[GATEWAY_KEY].store
        scan = asyncio.run_coroutine_threadsafe(store.scan(NS_VOLUME_DELETED, ""), self.loop)
        return [k for k, _ in scan.result(timeout=5)]


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    backend = CinderLikeBackend()
    config = parse_config({
        "region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
        "ec2": {"default_vpc": False},  # the fake has no VPC networking
        "auth": {"static": [{"access_key": ak, "secret_key": sk, "account_id": acct}
                            for ak, sk, acct in (A, B)]}}, "tests")
    app = create_app(config, backend=backend)
    with serve_app(app) as (endpoint, loop):
        yield Cloud(endpoint, backend, app, loop)


def _bid(world: World, vid: str) -> str:
    return next(b for b in world.volumes if derive("volume", b) == vid)


def _volume_with_snapshots(ec2: Any, n: int = 1) -> tuple[str, list[str]]:
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "doomed"}]}])["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=QUICK)
    sids = [ec2.create_snapshot(VolumeId=vid)["SnapshotId"] for _ in range(n)]
    return vid, sids


def _until(done: Callable[[], Any], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_volume_with_snapshots_is_gone_for_ec2_and_deleted_after_its_last_snapshot(cloud):
    endpoint, backend = cloud.endpoint, cloud.backend
    ec2, ec2b = _client(endpoint, A), _client(endpoint, B)
    world = backend.world
    vid, (sid,) = _volume_with_snapshots(ec2)
    bid = _bid(world, vid)
    assert ec2.delete_volume(VolumeId=vid)["ResponseMetadata"]["HTTPStatusCode"] == 200
    ec2.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=QUICK)
    assert bid in world.volumes  # the cloud keeps it, labelled for operators
    assert backend.cinder.labels[bid][0] == f"cloudgate-deleted-{vid}"

    # gone for every EC2 action, listing and filters included
    (iid,) = _launch(ec2, ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"])
    assert error(ec2.describe_volumes, VolumeIds=[vid]) == NF
    assert vid not in {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    assert ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid]}])["Volumes"] == []
    assert vid not in {v["VolumeId"] for v in ec2.describe_volumes(MaxResults=5)["Volumes"]}
    assert error(ec2.describe_volume_status, VolumeIds=[vid]) == NF
    assert vid not in {v["VolumeId"] for v in ec2.describe_volume_status()["VolumeStatuses"]}
    assert error(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/vdb") == NF
    assert error(ec2.detach_volume, VolumeId=vid) == NF
    assert error(ec2.delete_volume, VolumeId=vid) == NF
    assert error(ec2.modify_volume, VolumeId=vid, Size=2) == NF
    assert error(ec2.create_snapshot, VolumeId=vid) == NF
    assert error(ec2.create_tags, Resources=[vid], Tags=[{"Key": "k", "Value": "v"}]) == NF
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"] == []
    assert error(ec2b.describe_volumes, VolumeIds=[vid]) == NF
    assert error(ec2b.delete_volume, VolumeId=vid) == NF

    # its snapshot stays usable, showing the volume it was taken from
    snap = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert snap["VolumeId"] == vid
    restored = ec2.create_volume(AvailabilityZone="nova", SnapshotId=sid)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[restored], WaiterConfig=QUICK)
    ec2.delete_volume(VolumeId=restored)  # no snapshots: deleted at once, as before
    assert error(ec2.describe_volumes, VolumeIds=[restored]) == NF

    ec2.delete_snapshot(SnapshotId=sid)
    _until(lambda: bid not in world.volumes)  # Cinder let it go once the snapshot was gone
    _until(lambda: not deferred_volumes._retrying)
    assert error(ec2.describe_volumes, VolumeIds=[vid]) == NF
    ec2.terminate_instances(InstanceIds=[iid])


def test_the_volume_stays_until_its_last_snapshot_goes(cloud):
    endpoint, backend = cloud.endpoint, cloud.backend
    ec2, world = _client(endpoint, A), backend.world
    vid, (s1, s2) = _volume_with_snapshots(ec2, 2)
    bid = _bid(world, vid)
    ec2.delete_volume(VolumeId=vid)
    ec2.delete_snapshot(SnapshotId=s1)
    _until(lambda: s1 not in world.snapshots and not deferred_volumes._retrying)
    assert bid in world.volumes  # s2 still holds it
    assert error(ec2.describe_volumes, VolumeIds=[vid]) == NF
    ec2.delete_snapshot(SnapshotId=s2)
    _until(lambda: bid not in world.volumes)


def test_a_later_call_sweeps_volumes_whose_snapshots_went_meanwhile(cloud):
    """The last snapshot deleted while no task watched (the gateway was down, or in the cloud directly)."""
    endpoint, backend = cloud.endpoint, cloud.backend
    ec2, world = _client(endpoint, A), backend.world
    vid, _ = _volume_with_snapshots(ec2)
    bid = _bid(world, vid)
    ec2.delete_volume(VolumeId=vid)
    _until(lambda: not deferred_volumes._retrying)
    for snap_bid in [k for k, (_, s) in world.snapshots.items() if s.volume_id == bid]:
        del world.snapshots[snap_bid]  # behind the gateway's back
    deferred_volumes._last_sweep.clear()
    assert vid not in {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    _until(lambda: bid not in world.volumes)
    # a pending volume the cloud deleted itself is forgotten, and breaks no listing
    vid2, (sid2,) = _volume_with_snapshots(ec2)
    ec2.delete_volume(VolumeId=vid2)
    _until(lambda: not deferred_volumes._retrying)
    world.volumes.pop(_bid(world, vid2))
    deferred_volumes._last_sweep.clear()
    assert vid2 not in {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    _until(lambda: not any(k.endswith(vid2) for k in cloud.records()))
    assert ec2.describe_snapshots(SnapshotIds=[sid2])["Snapshots"][0]["VolumeId"] == vid2
    ec2.delete_snapshot(SnapshotId=sid2)



def test_other_conflicts_and_attachments_still_answer_volume_in_use(cloud):
    endpoint, backend = cloud.endpoint, cloud.backend
    ec2, world = _client(endpoint, A), backend.world
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=QUICK)
    bid = _bid(world, vid)
    backend.cinder.busy.add(bid)
    assert error(ec2.delete_volume, VolumeId=vid) == ("VolumeInUse", 400)
    backend.cinder.busy.discard(bid)
    ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]
    (iid,) = _launch(ec2, ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=QUICK)
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    assert error(ec2.delete_volume, VolumeId=vid) == ("VolumeInUse", 400)  # attached, snapshots or not
    ec2.detach_volume(VolumeId=vid)
    ec2.delete_snapshot(SnapshotId=sid)
    ec2.delete_volume(VolumeId=vid)  # its last snapshot still being deleted: hidden, deleted once it is gone
    assert error(ec2.describe_volumes, VolumeIds=[vid]) == NF
    _until(lambda: bid not in world.volumes)
    ec2.terminate_instances(InstanceIds=[iid])
