"""Block device mappings: RunInstances' BlockDeviceMappings as the cloud's launch volumes, and the device
names an attachment shows (AWS echoes the name the caller gave; clouds such as Nova pick or normalise their own).
"""

from __future__ import annotations

from typing import Any

from backends.compute import Image

from ..context import RequestContext
from ..protocol import errors
from .lookups.ids import resolve


def attached_device(record: dict[str, Any] | None, volume_id: str, cloud_device: str | None) -> str | None:
    """The device name an attachment shows: the one AttachVolume asked for (AWS echoes it; clouds such as
    Nova pick their own), while the cloud still reports the attachment it made then."""
    asked = ((record or {}).get("devices") or {}).get(volume_id)
    # (while attaching, the cloud may not name a device yet)
    if asked and (asked.get("cloud") is None or cloud_device is None or asked.get("cloud") == cloud_device):
        return asked["device"]
    # a device RunInstances named, perhaps without /dev/ (AWS echoes `xvdh` as given; clouds say /dev/xvdh)
    short = (cloud_device or "").removeprefix("/dev/")
    for named in (record or {}).get("launch_devices") or ():
        if short and named.removeprefix("/dev/") == short:
            return named
    return cloud_device


async def block_devices(ctx: RequestContext, mappings: list[dict[str, Any]], image: Image | None = None
                        ) -> tuple[list[tuple[str, int | None, str | None, bool]], dict[str, bool]]:
    """BlockDeviceMappings (Ebs) -> ServerSpec.volumes, and DeleteOnTermination per device. A mapping for a
    device the image defines overrides it: its snapshot and size stay unless the mapping names others."""
    volumes, flags = [], {}
    defined = {d: (snap, size) for d, snap, size in (image.block_devices if image else [])}
    for m in mappings:
        device = m.get("DeviceName")
        if not device:
            raise errors.MissingParameter("The request must contain the parameter BlockDeviceMapping.DeviceName")
        if m.get("NoDevice") is not None or m.get("VirtualName"):
            continue  # suppressing an image's device / ephemeral stores: nothing to create
        ebs = m.get("Ebs")
        if not ebs:
            raise errors.InvalidBlockDeviceMapping(f"The block device mapping for {device} has no Ebs member.")
        snapshot = ebs.get("SnapshotId")
        snap_bid = await resolve(ctx, "snapshot", snapshot) if snapshot else None
        size = ebs.get("VolumeSize")
        if device in defined and snap_bid is None:
            snap_bid = defined[device][0]
            size = size if size is not None else defined[device][1]
        if size is not None and not 1 <= size <= 16384:
            raise errors.InvalidParameterValue(f"Volume of size {size}GB is not valid. Expected 1-16384GB.")
        if size is None and snap_bid is None:
            raise errors.MissingParameter(
                f"The request must contain the parameter size or snapshotId for device {device}")
        delete = ebs.get("DeleteOnTermination", True)
        volumes.append((device, size, snap_bid, delete))
        flags[device] = delete
    return volumes, flags
