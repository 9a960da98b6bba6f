"""Images (AMIs): DescribeImages, CreateImage, RegisterImage, DeregisterImage,
Describe/Modify/ResetImageAttribute (launchPermission and description).

Ownership: an image is the caller's when its owner is the caller's account; only the owner may change
or deregister it (others get AuthFailure, as on AWS); an image the caller can't see is NotFound.
"""

from __future__ import annotations

import re
from typing import Any

from backends.compute import Image

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, shapes
from .error_map import backend_errors
from .lookups import instances as instance_lookup
from .lookups.ids import ec2_id, resolve
from .lookups.images import find_images
from .lookups.tags import apply_tags
from .model import RUNNING, STOPPED, Ami
from .output import compact, tag_specs
from .registration import ec2_handler
from .services import account, compute, tags_of

_NAME = re.compile(r"^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$")
ARCHITECTURES = ("i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac")


async def _owned(ctx: RequestContext, ami: str) -> Ami:
    """The caller's own image (NotFound when invisible, AuthFailure when someone else's)."""
    item = (await find_images(ctx, [ami]))[0]
    if item.image.owner != account(ctx):
        raise errors.AuthFailure(f"Not authorized for image:{ami}")
    return item


def _f(*path: str) -> filters.Extractor:
    return filters.field(*path)


FILTERS = {
    "architecture": _f("Architecture"),
    "block-device-mapping.delete-on-termination": _f("BlockDeviceMappings", "Ebs", "DeleteOnTermination"),
    "block-device-mapping.device-name": _f("BlockDeviceMappings", "DeviceName"),
    "block-device-mapping.snapshot-id": _f("BlockDeviceMappings", "Ebs", "SnapshotId"),
    "block-device-mapping.volume-size": _f("BlockDeviceMappings", "Ebs", "VolumeSize"),
    "block-device-mapping.volume-type": _f("BlockDeviceMappings", "Ebs", "VolumeType"),
    "block-device-mapping.encrypted": _f("BlockDeviceMappings", "Ebs", "Encrypted"),
    "creation-date": _f("CreationDate"), "description": _f("Description"), "hypervisor": _f("Hypervisor"),
    "image-id": _f("ImageId"), "image-type": _f("ImageType"), "is-public": _f("Public"),
    "kernel-id": _f("KernelId"), "manifest-location": _f("ImageLocation"), "name": _f("Name"),
    "owner-alias": _f("ImageOwnerAlias"), "owner-id": _f("OwnerId"), "platform": _f("Platform"),
    "platform-details": _f("PlatformDetails"), "product-code": _f("ProductCodes", "ProductCodeId"),
    "ramdisk-id": _f("RamdiskId"), "root-device-name": _f("RootDeviceName"),
    "root-device-type": _f("RootDeviceType"), "state": _f("State"), "state-reason-code": _f("StateReason", "Code"),
    "virtualization-type": _f("VirtualizationType"), "usage-operation": _f("UsageOperation"),
}


def _owner_match(image: Image, owners: list[str], me: str) -> bool:
    for owner in owners:
        if owner == "self" and image.owner == me:
            return True
        if owner == "amazon" and image.public and image.owner != me:
            return True  # the cloud's own public images play Amazon's part
        if owner == image.owner:
            return True
    return False


def _executable_by(image: Image, users: list[str], me: str) -> bool:
    for user in users:
        if user == "all" and image.public:
            return True
        who = me if user == "self" else user
        if who in image.shared_with or (who == me and image.owner == me):
            return True
        # someone else's private image the caller can see at all is one shared with the caller (the cloud
        # lists an image's members to its owner only)
        if who == me and image.owner != me and not image.public:
            return True
    return False


@ec2_handler("DescribeImages")
async def describe_images(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="ImageIds")
    filters.validate(p.get("Filters"), FILTERS)
    amis = await find_images(ctx, p.get("ImageIds"))
    me = account(ctx)
    if p.get("Owners"):
        amis = [a for a in amis if _owner_match(a.image, p["Owners"], me)]
    if p.get("ExecutableUsers"):
        amis = [a for a in amis if _executable_by(a.image, p["ExecutableUsers"], me)]
    items = [shapes.image(a) for a in amis]
    if not p.get("IncludeDeprecated", True) or not p.get("IncludeDisabled", True):
        items = [i for i in items if i["State"] != "disabled"]
    items = filters.apply(items, p.get("Filters"), FILTERS)
    chunk, token = paging.page("DescribeImages", items, lambda i: i["ImageId"], max_results, p.get("NextToken"))
    return compact({"Images": chunk, "NextToken": token})


def _check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise errors.InvalidAMINameMalformed(
            "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, "
            "'(', ')', '.', '-', '/' and '_'")


async def _check_unique(ctx: RequestContext, name: str) -> None:
    me = account(ctx)
    for ami in await find_images(ctx):
        if ami.image.owner == me and ami.image.name == name:
            raise errors.InvalidAMINameDuplicate(f"AMI name {name} is already in use by AMI {ami.id}")


@ec2_handler("CreateImage")
async def create_image(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    iid, name = p["InstanceId"], p["Name"]
    _check_name(name)
    tagging = tag_specs(p, "image", "snapshot")
    instance = (await instance_lookup.find(ctx, [iid]))[iid]
    if instance.state not in (RUNNING, STOPPED):
        raise errors.IncorrectInstanceState(f"Instance '{iid}' is not in a state from which an image can be "
                                            "created.")
    if shapes.instance(instance, ctx.gateway.config.region).get("RootDeviceType") != "ebs":
        # AWS images only EBS-backed instances; an instance-store one needs bundling, which no cloud here has
        raise errors.InvalidParameterValue(f"The instance '{iid}' is not an EBS-backed instance; CreateImage "
                                           "needs one.")
    await _check_unique(ctx, name)
    c = await compute(ctx)
    with backend_errors("image", name, instance=iid):
        image = await c.create_image(instance.server_id or "", name, p.get("Description"))
    ami = await ec2_id(ctx, "image", image.id)
    await apply_tags(ctx, [ami], tagging.get("image"))  # type: ignore[list-item]
    return {"ImageId": ami}


@ec2_handler("RegisterImage")
async def register_image(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    name = p["Name"]
    _check_name(name)
    if p.get("Architecture") and p["Architecture"] not in ARCHITECTURES:
        raise errors.InvalidParameterValue(f"Value ({p['Architecture']}) for parameter architecture is invalid.")
    mappings = p.get("BlockDeviceMappings") or []
    if not p.get("ImageLocation") and not mappings:
        raise errors.MissingParameter("The request must contain the parameter ImageLocation or "
                                      "BlockDeviceMappings")
    devices: list[tuple[str, str | None, int | None]] = []
    for m in mappings:
        ebs = m.get("Ebs") or {}
        if not m.get("DeviceName"):
            raise errors.MissingParameter("The request must contain the parameter BlockDeviceMapping.DeviceName")
        snap = await resolve(ctx, "snapshot", ebs["SnapshotId"]) if ebs.get("SnapshotId") else None
        devices.append((m["DeviceName"], snap, ebs.get("VolumeSize")))
    root = p.get("RootDeviceName")
    if devices and root and root not in {d for d, _, _ in devices}:
        raise errors.InvalidBlockDeviceMapping(f"The root device {root} has no block device mapping.")
    tagging = tag_specs(p, "image")
    await _check_unique(ctx, name)
    c = await compute(ctx)
    with backend_errors("image", name):
        image = await c.register_image(name, location=p.get("ImageLocation"), block_devices=devices or None,
                                       root_device=root or (devices[0][0] if devices else None),
                                       architecture=p.get("Architecture"), description=p.get("Description"))
    ami = await ec2_id(ctx, "image", image.id)
    await apply_tags(ctx, [ami], tagging.get("image"))  # type: ignore[list-item]
    return {"ImageId": ami}


@ec2_handler("DeregisterImage")
async def deregister_image(ctx: RequestContext) -> dict[str, Any]:
    ami = ctx.params["ImageId"]
    item = await _owned(ctx, ami)
    c = await compute(ctx)
    with backend_errors("image", ami):
        await c.delete_image(item.backend_id)
    await tags_of(ctx).remove([ami], None)
    return {"Return": True}


# ---- attributes -----------------------------------------------------------------------------------------------
_ATTRIBUTES = {"description": "Description", "kernel": "KernelId", "ramdisk": "RamdiskId",
               "launchPermission": "LaunchPermissions", "productCodes": "ProductCodes",
               "blockDeviceMapping": "BlockDeviceMappings", "sriovNetSupport": "SriovNetSupport",
               "bootMode": "BootMode", "imdsSupport": "ImdsSupport", "tpmSupport": "TpmSupport",
               "deregistrationProtection": "DeregistrationProtection", "lastLaunchedTime": "LastLaunchedTime",
               "uefiData": "UefiData"}


@ec2_handler("DescribeImageAttribute")
async def describe_image_attribute(ctx: RequestContext) -> dict[str, Any]:
    ami, attribute = ctx.params["ImageId"], ctx.params["Attribute"]
    if attribute not in _ATTRIBUTES:
        raise errors.InvalidRequest(f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")
    # AWS describes attributes of the caller's own images only (AuthFailure for a public or shared one)
    item = await _owned(ctx, ami)
    if attribute == "launchPermission":
        perms = ([{"Group": "all"}] if item.image.public else []) + [{"UserId": u} for u in item.image.shared_with]
        return {"ImageId": ami, "LaunchPermissions": perms}
    if attribute == "description":
        value: Any = {"Value": item.image.description} if item.image.description else {}
    elif attribute == "blockDeviceMapping":
        value = shapes.image(item).get("BlockDeviceMappings", [])
    elif attribute == "productCodes":
        value = []
    else:
        return {"ImageId": ami}  # no kernel, ramdisk, ...: AWS leaves the member out
    return {"ImageId": ami, _ATTRIBUTES[attribute]: value}


def _permission_changes(p: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    add = list((p.get("LaunchPermission") or {}).get("Add") or [])
    remove = list((p.get("LaunchPermission") or {}).get("Remove") or [])
    users = [{"UserId": u} for u in p.get("UserIds") or []] + [{"Group": g} for g in p.get("UserGroups") or []]
    if users:
        op = p.get("OperationType")
        if op not in ("add", "remove"):
            raise errors.MissingParameter("The request must contain the parameter OperationType (add or remove)")
        (add if op == "add" else remove).extend(users)
    return add, remove


@ec2_handler("ModifyImageAttribute")
async def modify_image_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    ami = p["ImageId"]
    attribute = p.get("Attribute")
    if attribute in _ATTRIBUTES and attribute not in ("launchPermission", "description"):
        raise errors.InvalidParameter(f"The attribute {attribute} cannot be modified.")
    description = (p.get("Description") or {}).get("Value")
    if attribute == "description" and description is None:
        description = p.get("Value")
        if description is None:
            raise errors.MissingParameter("The request must contain the parameter value")
    add, remove = _permission_changes(p)
    if attribute not in (None, "launchPermission", "description") or (description is None and not add and not remove):
        raise errors.InvalidParameterCombination(
            "No attributes specified: give Description, LaunchPermission, or Attribute with its value.")
    item = await _owned(ctx, ami)
    public: bool | None = None
    for perm in add + remove:
        group, user = perm.get("Group"), perm.get("UserId")
        if group is not None and group != "all":
            raise errors.InvalidAMIAttributeItemValue(
                f"Invalid attribute item value \"{group}\" for userGroup item type.")
        if group is None and not user:
            raise errors.InvalidAMIAttributeItemValue("A launch permission needs a Group or a UserId.")
    if any(x.get("Group") == "all" for x in add):
        public = True
    if any(x.get("Group") == "all" for x in remove):
        public = False
    add_users = [x["UserId"] for x in add if x.get("UserId")]
    remove_users = [x["UserId"] for x in remove if x.get("UserId")]
    c = await compute(ctx)
    with backend_errors("image", ami):
        await c.update_image(item.backend_id, description=description, public=public,
                             add_members=add_users or None, remove_members=remove_users or None)
    return {}


@ec2_handler("ResetImageAttribute")
async def reset_image_attribute(ctx: RequestContext) -> dict[str, Any]:
    ami, attribute = ctx.params["ImageId"], ctx.params["Attribute"]
    if attribute != "launchPermission":
        raise errors.InvalidRequest(f"Value ({attribute}) for parameter attribute is invalid. "
                                    "Only launchPermission can be reset.")
    item = await _owned(ctx, ami)
    c = await compute(ctx)
    with backend_errors("image", ami):
        await c.update_image(item.backend_id, public=False, remove_members=item.image.shared_with or None)
    return {}
