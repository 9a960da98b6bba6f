"""Simulated commands: volumes (create/attach/detach/resize/delete) and volume snapshots."""

from __future__ import annotations

from .core import (
    Account,
    CsError,
    Job,
    Record,
    World,
    command,
    job_error,
    listing,
    new_id,
    now,
    owned,
    param_error,
    visible,
)

GIB = 1 << 30


def _invalid_param(cmd: str, name: str, value: str) -> CsError:
    return param_error(f"Unable to execute API command {cmd.lower()} due to invalid value. Invalid parameter "
                       f"{name} value={value} due to incorrect long value format, or entity does not exist or due "
                       "to incorrect parameter annotation for the field in api cmd class.", 9999)


def _size(value: str | None) -> int:
    try:
        n = int(value or 0)
    except ValueError:
        raise param_error(f"Invalid size {value}", 4350) from None
    if not 1 <= n <= 16384:
        raise param_error(f"Invalid size for custom volume creation: {n}, max volume size is 16384GB", 4350)
    return n


@command("createVolume")
def create_volume(world: World, account: Account, p: Record) -> Job:
    cmd = "createVolume"
    if p.get("zoneid") and p["zoneid"] != world.zone["id"]:
        raise _invalid_param(cmd, "zoneid", p["zoneid"])
    snap = None
    offering = None
    if p.get("snapshotid"):
        snap = owned(world.snapshots, p["snapshotid"], account)
        if snap is None:
            raise param_error(f"unable to find a snapshot with id {p['snapshotid']}", 4350)
        if snap["state"] != "BackedUp":
            raise param_error(f"Snapshot id={snap['id']} is not in BackedUp state yet and can't be used for "
                              "volume creation", 4350)
        size = snap["virtualsize"]
    else:
        offering = next((o for o in world.disk_offerings if o["id"] == p.get("diskofferingid")), None)
        if offering is None:
            raise param_error("Either disk Offering Id or snapshot Id must be passed whilst creating volume", 4350)
        if offering["iscustomized"]:
            size = _size(p.get("size")) * GIB
        else:
            if p.get("size"):
                raise param_error("Disk offering is not custom; size cannot be given", 4350)
            size = offering["disksize"] * GIB
    if sum(1 for v in world.volumes.values() if v["_owner"] == account.name and v["type"] == "DATADISK") >= 20:
        raise CsError(535, f"Maximum number of resources of type 'volume' for account name={account.name} "
                           "has been exceeded.", 4370)
    vid = new_id()
    vol: Record = {"id": vid, "name": p.get("name") or f"vol-{vid[:8]}", "zoneid": world.zone["id"],
                   "zonename": world.zone["name"], "type": "DATADISK", "size": size, "created": now(),
                   "state": "Allocated", **world.owner_fields(account), "storagetype": "shared",
                   "hypervisor": "None", "destroyed": False, "isextractable": True, "displayvolume": True,
                   "tags": [], "provisioningtype": "thin", "_owner": account.name}
    if offering is not None:
        vol.update(diskofferingid=offering["id"], diskofferingname=offering["name"],
                   diskofferingdisplaytext=offering["displaytext"])
    if snap is not None:
        vol["snapshotid"] = snap["id"]
    world.volumes[vid] = vol
    return Job(lambda: {"volume": vol}, "Volume", vid, {"id": vid}, on_fail=lambda: world.volumes.pop(vid, None))


@command("listVolumes")
def list_volumes(world: World, account: Account, p: Record) -> Record:
    found = visible(world.volumes.values(), account, p)
    for key in ("id", "virtualmachineid", "type"):
        if p.get(key):
            found = [v for v in found if str(v.get(key)) == p[key]]
    return listing("volume", found, p)


def _volume(world: World, account: Account, cmd: str, vid: str, in_job: bool = False) -> Record:
    vol = owned(world.volumes, vid, account)
    if vol is None:
        if in_job:
            raise job_error("Invalid parameter id.")
        raise _invalid_param(cmd, "id", vid)
    return vol


@command("attachVolume")
def attach_volume(world: World, account: Account, p: Record) -> Job:
    vol = _volume(world, account, "attachVolume", p["id"])

    def work() -> Record:
        vm = owned(world.vms, p["virtualmachineid"], account)
        if vm is None or vm["state"] in ("Destroyed", "Expunging", "Error"):
            raise job_error("Invalid parameter virtualmachineid.")
        if vol.get("virtualmachineid"):
            raise job_error("Please specify a volume that is not attached to any VM.")
        if vm["state"] not in ("Running", "Stopped"):
            raise job_error(f"Please specify a VM that is either running or stopped (it is {vm['state']}).")
        used = {v.get("deviceid") for v in world.volumes.values() if v.get("virtualmachineid") == vm["id"]}
        wanted = int(p["deviceid"]) if p.get("deviceid") else None
        if wanted is not None and (wanted in used or wanted == 3):
            raise job_error(f"deviceId {wanted} is used by VM {vm['name']}")
        device = wanted if wanted is not None else next(n for n in range(1, 26) if n not in used and n != 3)
        vol.update(virtualmachineid=vm["id"], vmname=vm["name"], vmdisplayname=vm["displayname"],
                   vmstate=vm["state"], deviceid=device, attached=now(), state="Ready")
        return {"volume": vol}

    return Job(work, "Volume", vol["id"])


@command("detachVolume")
def detach_volume(world: World, account: Account, p: Record) -> Job:
    if not p.get("id"):
        raise param_error("Please provide either a volume id, or a tuple(device id, instance id)", 4350)
    vol = _volume(world, account, "detachVolume", p["id"])
    if vol["type"] == "ROOT":
        raise param_error("Please specify a data volume: a root volume cannot be detached", 4350)

    def work() -> Record:
        if not vol.get("virtualmachineid"):
            raise job_error("The specified volume is not attached to a VM.")
        for k in ("virtualmachineid", "vmname", "vmdisplayname", "vmstate", "deviceid", "attached"):
            vol.pop(k, None)
        return {"volume": vol}

    return Job(work, "Volume", vol["id"])


@command("resizeVolume")
def resize_volume(world: World, account: Account, p: Record) -> Job:
    vol = _volume(world, account, "resizeVolume", p["id"])
    size = _size(p.get("size")) * GIB
    if size < vol["size"]:
        raise param_error("Going from existing size to new size is shrinking the volume, set shrinkok", 4350)

    def work() -> Record:
        vol["size"] = size
        return {"volume": vol}

    return Job(work, "Volume", vol["id"])


@command("deleteVolume")
def delete_volume(world: World, account: Account, p: Record) -> Record:
    vol = owned(world.volumes, p["id"], account)
    if vol is None:
        raise param_error(f"Unable to aquire volume with ID: {p['id']}", 4350)
    if vol.get("virtualmachineid"):
        raise param_error("Please specify a volume that is not attached to any VM.", 4350)
    del world.volumes[vol["id"]]
    return {"success": "true"}


@command("createSnapshot")
def create_snapshot(world: World, account: Account, p: Record) -> Job:
    vol = owned(world.volumes, p["volumeid"], account)
    if vol is None:
        raise _invalid_param("createSnapshot", "volumeid", p["volumeid"])
    sid = new_id()
    snap: Record = {"id": sid, "name": p.get("name") or f"{vol['name']}_{sid[:8]}", "volumeid": vol["id"],
                    "volumename": vol["name"], "volumetype": vol["type"], "snapshottype": "MANUAL",
                    "intervaltype": "MANUAL", "state": "Allocated", "created": now(), "zoneid": world.zone["id"],
                    "virtualsize": vol["size"], "physicalsize": vol["size"], "revertable": False,
                    "locationtype": "PRIMARY", "tags": [], **world.owner_fields(account), "_owner": account.name}
    world.snapshots[sid] = snap

    def work() -> Record:
        snap["state"] = "BackedUp"
        return {"snapshot": snap}

    return Job(work, "Snapshot", sid, {"id": sid}, on_fail=lambda: snap.update(state="Error"))


@command("listSnapshots")
def list_snapshots(world: World, account: Account, p: Record) -> Record:
    found = visible(world.snapshots.values(), account, p)
    for key in ("id", "volumeid"):
        if p.get(key):
            found = [s for s in found if s.get(key) == p[key]]
    return listing("snapshot", found, p)


@command("deleteSnapshot")
def delete_snapshot(world: World, account: Account, p: Record) -> Job:
    snap = owned(world.snapshots, p["id"], account)
    if snap is None:
        raise _invalid_param("deleteSnapshot", "id", p["id"])
    if snap["state"] not in ("BackedUp", "Error"):
        raise param_error(f"Can't delete snapshot {snap['id']} in {snap['state']} state", 4350)
    snap["state"] = "Destroying"

    def work() -> Record:
        world.snapshots.pop(snap["id"], None)
        return {"success": True}

    return Job(work, "Snapshot", snap["id"], on_fail=lambda: snap.update(state="BackedUp"))
