"""DeleteVolume of a volume with snapshots on the real devcloud OpenStack: it succeeds as on AWS (Cinder would
refuse), the volume is gone for every EC2 action and for tenant B, its snapshot stays usable, and the Cinder
volume really goes once the snapshot is deleted (gateway/ec2/deferred_volumes.py).

Same ground rules as tests/test_ec2_os_resources.py: exact AWS codes and statuses, cleanup in `finally`,
bounded gentle waits, nothing touched that this module did not create.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from backends import base
from tests.ec2_os_support import (  # noqa: F401 - fixtures
    WAIT,
    Gateway,
    ec2a_fixture,
    ec2b_fixture,
    error_of,
    gw_fixture,
    outcome,
    poll,
    quietly,
)
from tests.openstack_env import openstack_env_fixture, principal  # noqa: F401 - fixture

NF = ("InvalidVolume.NotFound", 400)
SNAP_NF = ("InvalidSnapshot.NotFound", 400)


def _backend_id(ec2_id: str) -> str:
    from gateway.ec2.lookups.ids import _REVERSE

    return _REVERSE[ec2_id][1]


async def _cinder_volume(gw: Gateway, env: dict[str, Any], volume_id: str) -> dict[str, Any] | None:
    """Tenant A's Cinder volume as Cinder shows it, or None once it is gone."""
    c = await gw.backend.compute(await principal(gw.backend, env["tenants"]["a"]))
    try:
        return await c.cinder.volume(volume_id)
    except base.NotFound:
        return None


async def _cinder_delete(gw: Gateway, env: dict[str, Any], volume_id: str) -> None:
    c = await gw.backend.compute(await principal(gw.backend, env["tenants"]["a"]))
    with contextlib.suppress(base.NotFound, base.Conflict):  # Conflict: a snapshot still going; polled again
        await c.cinder.delete_volume(volume_id)


def test_delete_volume_with_snapshots_succeeds_and_the_snapshot_outlives_it(
        gw: Gateway, ec2a: Any, ec2b: Any, openstack_env: dict[str, Any]) -> None:
    vid = sid = restored = bid = None
    try:
        vid = ec2a.create_volume(AvailabilityZone="nova", Size=1, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": f"cgt-{uuid.uuid4().hex[:10]}"}]}])["VolumeId"]
        bid = _backend_id(vid)
        ec2a.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        sid = ec2a.create_snapshot(VolumeId=vid, Description="outlives its volume")["SnapshotId"]
        ec2a.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)

        assert ec2a.delete_volume(VolumeId=vid)["ResponseMetadata"]["HTTPStatusCode"] == 200
        ec2a.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=WAIT)
        assert error_of(ec2a.describe_volumes, VolumeIds=[vid]) == NF
        assert vid not in {v["VolumeId"] for v in ec2a.describe_volumes()["Volumes"]}
        assert ec2a.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid]}])["Volumes"] == []
        assert error_of(ec2a.attach_volume, VolumeId=vid, InstanceId="i-0123456789abcdef0", Device="/dev/vdb") == NF
        assert error_of(ec2a.create_snapshot, VolumeId=vid) == NF
        assert error_of(ec2a.delete_volume, VolumeId=vid) == NF
        assert error_of(ec2a.describe_volume_status, VolumeIds=[vid]) == NF
        assert ec2a.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"] == []
        assert error_of(ec2b.describe_volumes, VolumeIds=[vid]) == NF
        assert error_of(ec2b.delete_volume, VolumeId=vid) == NF
        assert error_of(ec2b.describe_snapshots, SnapshotIds=[sid]) == SNAP_NF
        kept = gw.run(_cinder_volume(gw, openstack_env, bid))
        assert kept is not None and kept["name"] == f"cloudgate-deleted-{vid}"  # Cinder keeps it, labelled

        snap = ec2a.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        assert (snap["VolumeId"], snap["State"], snap["VolumeSize"]) == (vid, "completed", 1)
        restored = ec2a.create_volume(AvailabilityZone="nova", SnapshotId=sid)["VolumeId"]
        ec2a.get_waiter("volume_available").wait(VolumeIds=[restored], WaiterConfig=WAIT)
        assert ec2a.describe_volumes(VolumeIds=[restored])["Volumes"][0]["SnapshotId"] == sid
        ec2a.delete_volume(VolumeId=restored)
        ec2a.get_waiter("volume_deleted").wait(VolumeIds=[restored], WaiterConfig=WAIT)
        restored = None

        ec2a.delete_snapshot(SnapshotId=sid)
        poll(lambda: outcome(ec2a.describe_snapshots, SnapshotIds=[sid]), lambda c: c == SNAP_NF, timeout=120,
             interval=2, what="the snapshot to go")
        sid = None
        poll(lambda: gw.run(_cinder_volume(gw, openstack_env, bid)), lambda v: v is None, timeout=180, interval=3,
             what="the gateway to delete the Cinder volume after its last snapshot")
        bid = None
        assert error_of(ec2a.describe_volumes, VolumeIds=[vid]) == NF
    finally:
        if restored:
            quietly(lambda: ec2a.delete_volume(VolumeId=restored))
        if sid:
            quietly(lambda: ec2a.delete_snapshot(SnapshotId=sid))
            quietly(lambda: poll(lambda: outcome(ec2a.describe_snapshots, SnapshotIds=[sid]),
                                 lambda c: c == SNAP_NF, timeout=120, interval=2))
        if vid:
            quietly(lambda: ec2a.delete_volume(VolumeId=vid))
        if bid:  # hidden by the gateway, or left by a failure: straight to Cinder, bounded
            quietly(lambda: poll(lambda: (gw.run(_cinder_delete(gw, openstack_env, bid)),
                                          gw.run(_cinder_volume(gw, openstack_env, bid)))[1],
                                 lambda v: v is None, timeout=120, interval=5))
