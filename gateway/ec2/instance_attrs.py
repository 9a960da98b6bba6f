"""Instance attributes and read-only instance views: Describe/Modify/ResetInstanceAttribute,
GetConsoleOutput, GetPasswordData, DescribeInstanceStatus, DescribeInstanceTypes.

Attributes the cloud has no notion of (DisableApiTermination, DisableApiStop, shutdown behaviour,
SourceDestCheck, a modified UserData, DeleteOnTermination per device) are held by the gateway in the
instance's record and enforced by the gateway (TerminateInstances, StopInstances).
"""

from __future__ import annotations

import base64
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import filters, paging, shapes
from .error_map import backend_errors
from .lookups import instances as lookup
from .lookups.ids import resolve
from .model import RUNNING, STOPPED, TERMINATED, Instance
from .output import bool_value, compact, now_iso
from .registration import ec2_handler
from .services import compute

# Attribute name (as DescribeInstanceAttribute takes it) -> output member.
ATTRIBUTES = {
    "instanceType": "InstanceType", "kernel": "KernelId", "ramdisk": "RamdiskId", "userData": "UserData",
    "disableApiTermination": "DisableApiTermination", "disableApiStop": "DisableApiStop",
    "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior",
    "rootDeviceName": "RootDeviceName", "blockDeviceMapping": "BlockDeviceMappings",
    "productCodes": "ProductCodes", "sourceDestCheck": "SourceDestCheck", "groupSet": "Groups",
    "ebsOptimized": "EbsOptimized", "sriovNetSupport": "SriovNetSupport", "enaSupport": "EnaSupport",
}
_BOOL_ATTRS = ("disableApiTermination", "disableApiStop", "sourceDestCheck")


def attribute_value(inst: Instance, item: dict[str, Any], attribute: str) -> Any:
    """The output member value of one attribute of an instance (`item`: its Instance shape)."""
    attrs = inst.attrs
    if attribute in _BOOL_ATTRS:
        return {"Value": bool(attrs.get(attribute, attribute == "sourceDestCheck"))}
    if attribute == "instanceType":
        return {"Value": item.get("InstanceType")}
    if attribute == "userData":
        return {"Value": inst.user_data} if inst.user_data else {}
    if attribute == "instanceInitiatedShutdownBehavior":
        return {"Value": attrs.get("instanceInitiatedShutdownBehavior", "stop")}
    if attribute == "rootDeviceName":
        return {"Value": item.get("RootDeviceName")}
    if attribute == "blockDeviceMapping":
        return item.get("BlockDeviceMappings", [])
    if attribute == "productCodes":
        return []
    if attribute == "groupSet":
        return item.get("SecurityGroups", [])
    if attribute in ("ebsOptimized", "enaSupport"):
        return {"Value": False}
    return {}  # kernel, ramdisk, sriovNetSupport: none


def _check_attribute(attribute: str) -> None:
    if attribute not in ATTRIBUTES:
        raise errors.InvalidParameterValue(
            f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")


# An instance outside any VPC is an EC2-Classic instance: AWS gave it no source/dest check and fixed its
# security groups at launch (both are network-interface properties in a VPC).
_VPC_ONLY = {"sourceDestCheck": "The attribute 'sourceDestCheck' is only valid for VPC instances.",
             "groupSet": "Security groups of an instance outside a VPC are set at launch and cannot be changed."}


def _check_vpc_only(attribute: str, inst: Instance) -> None:
    if attribute in _VPC_ONLY and inst.vpc is None:
        raise errors.InvalidParameterCombination(_VPC_ONLY[attribute])
    _check_interfaces(attribute, inst)


def _check_interfaces(attribute: str, inst: Instance) -> None:
    """Groups and source/dest check belong to network interfaces: with several, AWS wants the interface."""
    if attribute in _VPC_ONLY and inst.vpc is not None and len(inst.vpc.enis) > 1:
        raise errors.InvalidInstanceIDPlain(
            f"There are multiple interfaces attached to instance '{inst.id}'. Please specify an "
            "interface ID for the operation instead.")


@ec2_handler("DescribeInstanceAttribute")
async def describe_instance_attribute(ctx: RequestContext) -> dict[str, Any]:
    iid, attribute = ctx.params["InstanceId"], ctx.params["Attribute"]
    _check_attribute(attribute)
    inst = (await lookup.find(ctx, [iid]))[iid]
    _check_interfaces(attribute, inst)
    if attribute == "sourceDestCheck":
        _check_vpc_only(attribute, inst)
    item = shapes.instance(inst, ctx.gateway.config.region)
    return {"InstanceId": iid, ATTRIBUTES[attribute]: attribute_value(inst, item, attribute)}


def _requested_change(p: dict[str, Any]) -> tuple[str, Any]:
    """ModifyInstanceAttribute names one attribute: Attribute+Value, or one structured member."""
    changes = []
    if p.get("Attribute"):
        _check_attribute(p["Attribute"])
        if p["Attribute"] == "groupSet":
            changes.append(("groupSet", p.get("Groups") or ([p["Value"]] if p.get("Value") else [])))
        elif p["Attribute"] == "blockDeviceMapping":
            changes.append(("blockDeviceMapping", p.get("BlockDeviceMappings") or []))
        else:
            if p.get("Value") is None:
                raise errors.MissingParameter("The request must contain the parameter value")
            changes.append((p["Attribute"], p["Value"]))
    structured = {"DisableApiTermination": "disableApiTermination", "DisableApiStop": "disableApiStop",
                  "InstanceType": "instanceType", "UserData": "userData", "SourceDestCheck": "sourceDestCheck",
                  "InstanceInitiatedShutdownBehavior": "instanceInitiatedShutdownBehavior",
                  "Kernel": "kernel", "Ramdisk": "ramdisk", "EbsOptimized": "ebsOptimized",
                  "SriovNetSupport": "sriovNetSupport", "EnaSupport": "enaSupport"}
    for member, name in structured.items():
        if p.get(member) is not None:
            changes.append((name, p[member].get("Value")))
    if p.get("Groups") and not p.get("Attribute"):
        changes.append(("groupSet", p["Groups"]))
    if p.get("BlockDeviceMappings") and not p.get("Attribute"):
        changes.append(("blockDeviceMapping", p["BlockDeviceMappings"]))
    if not changes:
        raise errors.InvalidParameterCombination("No attributes specified.")
    if len(changes) > 1:
        raise errors.InvalidParameterCombination("Only one attribute can be modified at a time.")
    return changes[0]


async def _save_attrs(ctx: RequestContext, inst: Instance, **values: Any) -> None:
    await lookup.change_record(ctx, inst.id, inst.server_id, lambda r: r.setdefault("attrs", {}).update(values))


def _require_stopped(iid: str, inst: Instance) -> None:
    if inst.state != STOPPED:
        raise errors.IncorrectInstanceState(f"The instance '{iid}' is not in the 'stopped' state.")


@ec2_handler("ModifyInstanceAttribute")
async def modify_instance_attribute(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    iid = p["InstanceId"]
    attribute, value = _requested_change(p)
    inst = (await lookup.find(ctx, [iid]))[iid]
    if inst.state == TERMINATED:
        raise errors.IncorrectInstanceState(f"The instance '{iid}' is not in a state from which it can be modified.")
    _check_vpc_only(attribute, inst)
    c = await compute(ctx)
    if attribute in _BOOL_ATTRS:
        await _save_attrs(ctx, inst, **{attribute: bool_value(value)})
    elif attribute == "instanceInitiatedShutdownBehavior":
        if value not in ("stop", "terminate"):
            raise errors.InvalidParameterValue(f"Invalid value '{value}' for instanceInitiatedShutdownBehavior.")
        await _save_attrs(ctx, inst, instanceInitiatedShutdownBehavior=value)
    elif attribute == "userData":
        _require_stopped(iid, inst)
        if isinstance(value, (bytes, bytearray)):
            text = base64.b64encode(value).decode("ascii")
        else:
            text = str(value or "")
        await _save_attrs(ctx, inst, userData=text)
    elif attribute == "instanceType":
        _require_stopped(iid, inst)
        flavors = {f.name for f in await c.list_flavors()}
        if value not in flavors:
            raise errors.InvalidParameterValue(f"Invalid value '{value}' for InstanceType.")
        if value != inst.instance_type:
            with backend_errors("instance", iid):
                await c.resize_server(inst.server_id or "", value)
    elif attribute == "groupSet":
        if not value:
            raise errors.MissingParameter("The request must contain the parameter groupId")
        bids = [await resolve(ctx, "security-group", g) for g in value]
        with backend_errors("instance", iid, security_group=value[0] if len(value) == 1 else None):
            await c.update_server(inst.server_id or "", security_groups=bids)
    elif attribute == "blockDeviceMapping":
        await _modify_bdm(ctx, inst, value)
    else:
        raise errors.Unsupported(f"Modifying the attribute {attribute} is not supported.")
    return {}


async def _modify_bdm(ctx: RequestContext, inst: Instance, mappings: list[dict[str, Any]]) -> None:
    iid = inst.id
    devices = {v.device: v for v in inst.volumes}
    changes = []
    for m in mappings:
        device = m.get("DeviceName")
        if device not in devices:
            raise errors.InvalidInstanceAttributeValue(f"No device is currently mapped at {device}")
        ebs = m.get("Ebs") or {}
        if ebs.get("DeleteOnTermination") is not None:
            changes.append((device, devices[device].volume_id, bool(ebs["DeleteOnTermination"])))
    # the cloud deletes the volume with the server (or not): tell it, then show it
    c = await compute(ctx)
    for _device, vid, delete in changes:
        with backend_errors("volume", vid, instance=iid):
            await c.set_delete_on_termination(inst.server_id or "", await resolve(ctx, "volume", vid), delete)
    flags = {device: delete for device, _vid, delete in changes}
    await lookup.change_record(ctx, iid, inst.server_id,
                               lambda r: r.setdefault("delete_on_termination", {}).update(flags))


@ec2_handler("ResetInstanceAttribute")
async def reset_instance_attribute(ctx: RequestContext) -> dict[str, Any]:
    iid, attribute = ctx.params["InstanceId"], ctx.params["Attribute"]
    if attribute not in ("kernel", "ramdisk", "sourceDestCheck"):
        raise errors.InvalidParameterValue(
            f"Value ({attribute}) for parameter attribute is invalid. Only kernel, ramdisk and sourceDestCheck "
            "can be reset.")
    inst = (await lookup.find(ctx, [iid]))[iid]
    if attribute == "sourceDestCheck":
        _check_vpc_only(attribute, inst)
        await _save_attrs(ctx, inst, sourceDestCheck=True)
    return {}


@ec2_handler("GetConsoleOutput")
async def get_console_output(ctx: RequestContext) -> dict[str, Any]:
    iid = ctx.params["InstanceId"]
    bid = await resolve(ctx, "instance", iid)
    c = await compute(ctx)
    with backend_errors("instance", iid):
        text = await c.console_output(bid)
    return {"InstanceId": iid, "Timestamp": now_iso(),
            "Output": base64.b64encode((text or "").encode("utf-8")).decode("ascii")}


@ec2_handler("GetPasswordData")
async def get_password_data(ctx: RequestContext) -> dict[str, Any]:
    """The encrypted password a (Windows) guest posted, as the cloud holds it; empty for the others, as AWS
    answers."""
    iid = ctx.params["InstanceId"]
    inst = (await lookup.find(ctx, [iid], detail=False))[iid]
    c = await compute(ctx)
    with backend_errors("instance", iid):
        data = await c.password_data(inst.server_id or "")
    return {"InstanceId": iid, "Timestamp": now_iso(), "PasswordData": data}


# ---- DescribeInstanceStatus ----------------------------------------------------------------------------------
def status_item(item: dict[str, Any]) -> dict[str, Any]:
    name = item["State"]["Name"]
    if name == RUNNING[0]:
        summary, detail = "ok", "passed"
    elif name == "pending":
        summary, detail = "initializing", "initializing"
    else:
        summary, detail = "not-applicable", None
    details = [{"Name": "reachability", "Status": detail}] if detail else []
    return {"InstanceId": item["InstanceId"], "AvailabilityZone": item["Placement"]["AvailabilityZone"],
            "InstanceState": item["State"], "Events": [],
            "InstanceStatus": compact({"Status": summary, "Details": details}),
            "SystemStatus": compact({"Status": summary, "Details": details})}


STATUS_FILTERS = {
    "availability-zone": filters.field("AvailabilityZone"),
    "instance-id": filters.field("InstanceId"),
    "instance-state-code": filters.field("InstanceState", "Code"),
    "instance-state-name": filters.field("InstanceState", "Name"),
    "instance-status.status": filters.field("InstanceStatus", "Status"),
    "instance-status.reachability": filters.field("InstanceStatus", "Details", "Status"),
    "system-status.status": filters.field("SystemStatus", "Status"),
    "system-status.reachability": filters.field("SystemStatus", "Details", "Status"),
    "event.code": filters.field("Events", "Code"),
    "event.description": filters.field("Events", "Description"),
}


@ec2_handler("DescribeInstanceStatus")
async def describe_instance_status(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=1000, ids_param="InstanceIds")
    filters.validate(p.get("Filters"), STATUS_FILTERS)
    wanted = p.get("InstanceIds") or []
    insts = list((await lookup.find(ctx, wanted)).values()) if wanted else await lookup.all_instances(ctx)
    region = ctx.gateway.config.region
    items = [shapes.instance(i, region) for i in insts]
    if not p.get("IncludeAllInstances"):
        items = [i for i in items if i["State"]["Name"] == RUNNING[0]]
    statuses = filters.apply([status_item(i) for i in items], p.get("Filters"), STATUS_FILTERS)
    chunk, token = paging.page("DescribeInstanceStatus", statuses, lambda s: s["InstanceId"], max_results,
                               p.get("NextToken"))
    return compact({"InstanceStatuses": chunk, "NextToken": token})


# ---- DescribeInstanceTypes ------------------------------------------------------------------------------------
def instance_type_item(flavor: Any) -> dict[str, Any]:
    return {
        "InstanceType": flavor.name, "CurrentGeneration": True, "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand"], "SupportedRootDeviceTypes": ["ebs", "instance-store"],
        "SupportedVirtualizationTypes": ["hvm"], "BareMetal": False, "Hypervisor": "xen",
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": {"DefaultVCpus": flavor.vcpus, "DefaultCores": flavor.vcpus, "DefaultThreadsPerCore": 1},
        "MemoryInfo": {"SizeInMiB": flavor.ram_mib},
        "InstanceStorageSupported": flavor.disk_gib > 0,
        **({"InstanceStorageInfo": {"TotalSizeInGB": flavor.disk_gib,
                                    "Disks": [{"SizeInGB": flavor.disk_gib, "Count": 1, "Type": "ssd"}]}}
           if flavor.disk_gib > 0 else {}),
        "EbsInfo": {"EbsOptimizedSupport": "unsupported", "EncryptionSupport": "unsupported"},
        "NetworkInfo": {"NetworkPerformance": "Moderate", "MaximumNetworkInterfaces": 1,
                        "Ipv4AddressesPerInterface": 1, "Ipv6Supported": False},
        "HibernationSupported": False, "BurstablePerformanceSupported": False, "DedicatedHostsSupported": False,
        "AutoRecoverySupported": False, "SupportedBootModes": ["legacy-bios"],
    }


TYPE_FILTERS = {
    "instance-type": filters.field("InstanceType"),
    "current-generation": filters.field("CurrentGeneration"),
    "free-tier-eligible": filters.field("FreeTierEligible"),
    "bare-metal": filters.field("BareMetal"),
    "hypervisor": filters.field("Hypervisor"),
    "instance-storage-supported": filters.field("InstanceStorageSupported"),
    "instance-storage-info.total-size-in-gb": filters.field("InstanceStorageInfo", "TotalSizeInGB"),
    "memory-info.size-in-mib": filters.field("MemoryInfo", "SizeInMiB"),
    "processor-info.supported-architecture": filters.field("ProcessorInfo", "SupportedArchitectures"),
    "supported-root-device-type": filters.field("SupportedRootDeviceTypes"),
    "supported-usage-class": filters.field("SupportedUsageClasses"),
    "supported-virtualization-type": filters.field("SupportedVirtualizationTypes"),
    "vcpu-info.default-vcpus": filters.field("VCpuInfo", "DefaultVCpus"),
    "vcpu-info.default-cores": filters.field("VCpuInfo", "DefaultCores"),
}


@ec2_handler("DescribeInstanceTypes")
async def describe_instance_types(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    max_results = paging.check_max_results(p, minimum=5, maximum=100, ids_param="InstanceTypes")
    filters.validate(p.get("Filters"), TYPE_FILTERS)
    c = await compute(ctx)
    with backend_errors("flavor"):
        flavors = await c.list_flavors()
    items = [instance_type_item(f) for f in flavors]
    wanted = p.get("InstanceTypes") or []
    if wanted:
        known = {i["InstanceType"] for i in items}
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise errors.InvalidInstanceType(f"The following supplied instance types do not exist: "
                                             f"[{', '.join(unknown)}]")
        items = [i for i in items if i["InstanceType"] in wanted]
    items = filters.apply(items, p.get("Filters"), TYPE_FILTERS)
    chunk, token = paging.page("DescribeInstanceTypes", items, lambda i: i["InstanceType"], max_results,
                               p.get("NextToken"))
    return compact({"InstanceTypes": chunk, "NextToken": token})
