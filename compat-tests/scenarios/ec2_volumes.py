"""Suite "ec2", volumes and snapshots: create, attach to a running instance, VolumeInUse, detach, delete;
snapshot a volume, restore a volume from it; boto3's volume and snapshot waiters."""

from __future__ import annotations

from harness import Ctx, check

from . import scenario
from .ec2_common import (
    SUITE,
    call,
    check_id,
    cleanup,
    ec2_env,
    expect,
    instance,
    patient,
    poll,
    tags_of,
    unique,
    wait,
)

DEVICE = "/dev/sdf"


def _volume(c, volume_id: str) -> dict:
    return c.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]


@scenario(SUITE)
def ec2_volume_attach_detach(ctx: Ctx) -> None:
    """CreateVolume (creating/available, tags), AttachVolume to a running instance (waiter volume_in_use,
    attachment `attached`, shown in the instance's block devices), DeleteVolume while attached is
    VolumeInUse 400, DetachVolume (waiter volume_available), DeleteVolume, then InvalidVolume.NotFound."""
    ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        iid = res.launch()["Instances"][0]["InstanceId"]
        wait(ctx, "instance_running", "the instance", InstanceIds=[iid])
        zone = instance(c, iid)["Placement"]["AvailabilityZone"]
        name = unique("vol")
        vol = res.volume(zone=zone, size=1, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}])
        vid = vol["VolumeId"]
        check_id("volume", vid, "VolumeId")
        check(vol.get("State") in ("creating", "available"), f"CreateVolume answered state {vol.get('State')!r}")
        check(vol.get("Size") == 1 and vol.get("AvailabilityZone") == zone,
              f"CreateVolume answered Size={vol.get('Size')!r} AvailabilityZone={vol.get('AvailabilityZone')!r}")
        wait(ctx, "volume_available", "the new volume", VolumeIds=[vid])
        now = _volume(c, vid)
        check(tags_of(now).get("Name") == name, f"volume tags are {tags_of(now)}")
        check(not now.get("Attachments"), f"a new volume has attachments {now.get('Attachments')}")

        att = call("AttachVolume", lambda: c.attach_volume(VolumeId=vid, InstanceId=iid, Device=DEVICE))
        check(att.get("State") in ("attaching", "attached"), f"AttachVolume answered state {att.get('State')!r}")
        check(att.get("InstanceId") == iid and att.get("VolumeId") == vid, f"AttachVolume answered {att}")
        wait(ctx, "volume_in_use", "the attached volume", VolumeIds=[vid])
        attachment = poll("the attachment to reach `attached`",
                          lambda: next((a for a in _volume(patient(ctx), vid).get("Attachments", [])
                                        if a.get("State") == "attached"), None))
        check(attachment.get("InstanceId") == iid, f"attachment names instance {attachment.get('InstanceId')}")
        check(attachment.get("Device"), "attachment has no Device")
        mapped = [m for m in instance(c, iid).get("BlockDeviceMappings", [])
                  if m.get("Ebs", {}).get("VolumeId") == vid]
        check(mapped, "the instance's BlockDeviceMappings do not show the attached volume")

        expect("VolumeInUse", 400, "DeleteVolume of an attached volume", lambda: c.delete_volume(VolumeId=vid))

        det = call("DetachVolume", lambda: c.detach_volume(VolumeId=vid))
        check(det.get("State") in ("detaching", "detached"), f"DetachVolume answered state {det.get('State')!r}")
        wait(ctx, "volume_available", "the detached volume", VolumeIds=[vid])
        call("DeleteVolume", lambda: c.delete_volume(VolumeId=vid))
        wait(ctx, "volume_deleted", "the deleted volume", VolumeIds=[vid])
        expect("InvalidVolume.NotFound", 400, "DescribeVolumes of the deleted volume",
               lambda: c.describe_volumes(VolumeIds=[vid]))


@scenario(SUITE)
def ec2_snapshot_lifecycle(ctx: Ctx) -> None:
    """CreateSnapshot (pending, tags), waiter snapshot_completed, DescribeSnapshots by id and by volume-id
    filter (OwnerIds=self), a volume restored from it, DeleteSnapshot, then InvalidSnapshot.NotFound."""
    env = ec2_env(ctx, image=False)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        vid = res.volume(zone=env.zone, size=1)["VolumeId"]
        wait(ctx, "volume_available", "the volume", VolumeIds=[vid])
        name = unique("snap")
        snap = res.snapshot(vid, Description="cloudgate compat-tests", TagSpecifications=[
            {"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": name}]}])
        sid = snap["SnapshotId"]
        check_id("snapshot", sid, "SnapshotId")
        check(snap.get("State") in ("pending", "completed"), f"CreateSnapshot answered state {snap.get('State')!r}")
        check(snap.get("VolumeId") == vid and snap.get("VolumeSize") == 1,
              f"CreateSnapshot answered VolumeId={snap.get('VolumeId')!r} VolumeSize={snap.get('VolumeSize')!r}")
        wait(ctx, "snapshot_completed", "the snapshot", SnapshotIds=[sid])
        now = c.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        check(now.get("State") == "completed" and now.get("Progress") == "100%",
              f"completed snapshot: State={now.get('State')!r} Progress={now.get('Progress')!r}")
        check(now.get("Description") == "cloudgate compat-tests", f"Description is {now.get('Description')!r}")
        check(tags_of(now).get("Name") == name, f"snapshot tags are {tags_of(now)}")
        mine = c.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [vid]}])
        check([s["SnapshotId"] for s in mine.get("Snapshots", [])] == [sid],
              f"OwnerIds=self + volume-id lists {[s['SnapshotId'] for s in mine.get('Snapshots', [])]}")

        restored = res.volume(zone=env.zone, size=None, SnapshotId=sid)
        check(restored.get("SnapshotId") == sid, f"restored volume has SnapshotId {restored.get('SnapshotId')!r}")
        check(restored.get("Size") == 1, f"restored volume has Size {restored.get('Size')!r}, not the snapshot's 1")
        wait(ctx, "volume_available", "the restored volume", VolumeIds=[restored["VolumeId"]])
        call("DeleteVolume (restored)", lambda: c.delete_volume(VolumeId=restored["VolumeId"]))

        call("DeleteSnapshot", lambda: c.delete_snapshot(SnapshotId=sid))
        poll("the deleted snapshot to disappear", lambda: not [
            s for s in patient(ctx).describe_snapshots(Filters=[{"Name": "snapshot-id", "Values": [sid]}])
            .get("Snapshots", []) if s.get("State") != "deleted"])
        expect("InvalidSnapshot.NotFound", 400, "DescribeSnapshots of the deleted snapshot",
               lambda: c.describe_snapshots(SnapshotIds=[sid]))


@scenario(SUITE)
def ec2_snapshot_outlives_volume(ctx: Ctx) -> None:
    """On AWS a snapshot is independent of its volume: DeleteVolume succeeds while a snapshot exists,
    and the snapshot stays completed."""
    env = ec2_env(ctx, image=False)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        vid = res.volume(zone=env.zone, size=1)["VolumeId"]
        wait(ctx, "volume_available", "the volume", VolumeIds=[vid])
        sid = res.snapshot(vid)["SnapshotId"]
        wait(ctx, "snapshot_completed", "the snapshot", SnapshotIds=[sid])
        call("DeleteVolume of a volume with a snapshot", lambda: c.delete_volume(VolumeId=vid))
        wait(ctx, "volume_deleted", "the volume", VolumeIds=[vid])
        snap = c.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        check(snap.get("State") == "completed", f"the snapshot is {snap.get('State')!r} after its volume went")
