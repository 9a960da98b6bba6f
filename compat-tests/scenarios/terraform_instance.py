"""Suite `terraform`: `aws_instance` create / read / update / delete, and the instance-type lookup its read
needs.

Followed sources in hashicorp/terraform-provider-aws (read, not copied):
- `internal/service/ec2/ec2_instance.go`
  - resourceInstanceCreate / buildInstanceOpts: RunInstances with a fresh ClientToken, ImageId,
    InstanceType, MinCount = MaxCount = 1, UserData (base64), DisableApiTermination, EbsOptimized and
    Monitoring always sent, MetadataOptions from `metadata_options`, TagSpecifications for `instance`
    (tags) and `volume` (volume_tags); with `root_block_device` set it first reads the AMI's root device
    name with DescribeImages. Then waitInstanceCreated: DescribeInstances until `running` (from
    `pending`; any other state is an error).
  - resourceInstanceRead: findInstanceByID (DescribeInstances by id), findInstanceTypeByName
    (DescribeInstanceTypes for the instance's type; an error or no result aborts the read), the
    instance's Placement / MetadataOptions / tags, readInstanceShutdownBehavior and the attributes
    disableApiStop, disableApiTermination and userData (DescribeInstanceAttribute each; an error aborts
    the read, UnsupportedOperation is ignored for disableApiStop only outside the `aws` partition),
    readBlockDevices (DescribeVolumes of the instance's EBS volumes; the root one is the mapping whose
    DeviceName is RootDeviceName), and when the type is BurstablePerformanceSupported
    DescribeInstanceCreditSpecifications (UnsupportedOperation ignored; the answer must name the
    instance).
  - resourceInstanceUpdate: CreateTags for a tag change, ModifyInstanceAttribute for
    disable_api_termination, ModifyInstanceMetadataOptions for metadata_options (then waits until the
    instance's MetadataOptions.State is `applied`).
  - resourceInstanceDelete: TerminateInstances (which AWS refuses with OperationNotPermitted while
    disableApiTermination is on, hence the provider turns it off first), then waitInstanceDeleted:
    DescribeInstances until `terminated` (a terminated or vanished instance counts as deleted).
- `internal/service/ec2/find.go`: findInstanceByID, findInstanceTypeByName,
  findInstanceCreditSpecificationByID (InvalidInstanceID.NotFound is "gone").
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from botocore.exceptions import ClientError
from harness import Ctx, Fail, check

from . import scenario
from .ec2_common import MARKER_KEY, cleanup, ec2_env, instance, patient, poll, tags_of
from .terraform_common import SUITE, answer, caller_account

USER_DATA = "#!/bin/sh\necho cloudgate-terraform-compat\n"
METADATA_OPTIONS = {"HttpEndpoint": "enabled", "HttpTokens": "required", "HttpPutResponseHopLimit": 1,
                    "InstanceMetadataTags": "disabled"}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def describe_instance_type(ec2: Any, instance_type: str) -> dict:
    """findInstanceTypeByName: exactly one InstanceTypeInfo for the type."""
    out, _ = answer(f"DescribeInstanceTypes {instance_type}",
                    lambda: ec2.describe_instance_types(InstanceTypes=[instance_type]))
    infos = out.get("InstanceTypes", [])
    check(len(infos) == 1 and infos[0].get("InstanceType") == instance_type,
          f"DescribeInstanceTypes {instance_type} returned {[i.get('InstanceType') for i in infos]}")
    return infos[0]


def check_type_figures(info: dict, architecture: str | None = None) -> None:
    name = info.get("InstanceType")
    vcpus = (info.get("VCpuInfo") or {}).get("DefaultVCpus")
    mib = (info.get("MemoryInfo") or {}).get("SizeInMiB")
    archs = (info.get("ProcessorInfo") or {}).get("SupportedArchitectures") or []
    check(isinstance(vcpus, int) and 1 <= vcpus <= 1024, f"{name}: VCpuInfo.DefaultVCpus is {vcpus!r}")
    check(isinstance(mib, int) and 64 <= mib <= 64 * 1024 * 1024, f"{name}: MemoryInfo.SizeInMiB is {mib!r}")
    check(archs, f"{name}: ProcessorInfo.SupportedArchitectures is empty")
    if architecture:
        check(architecture in archs, f"{name}: supports {archs}, but the image is {architecture}")
    check(isinstance(info.get("BurstablePerformanceSupported"), bool),
          f"{name}: BurstablePerformanceSupported missing (the provider branches on it)")


# t2/t3-style sizes, smallest first: within one family a bigger size never has less memory or fewer vCPUs.
SIZES = ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge"]


@scenario(SUITE)
def terraform_instance_types(ctx: Ctx) -> None:
    """DescribeInstanceTypes: real vCPU/memory figures, one answer per type, sizes ordered; unknown type 400."""
    env = ec2_env(ctx, image=False)
    ec2 = ctx.client("ec2")
    listed: list[dict] = []
    kwargs: dict[str, Any] = {"MaxResults": 100}
    for _ in range(20):  # bounded paging; AWS has ~900 types, cloudgate a few
        page, _ = answer("DescribeInstanceTypes", lambda: ec2.describe_instance_types(**kwargs))
        listed += page.get("InstanceTypes", [])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    by_name = {i.get("InstanceType"): i for i in listed}
    check(env.instance_type in by_name, f"DescribeInstanceTypes does not list {env.instance_type}")
    one = describe_instance_type(ec2, env.instance_type)
    check_type_figures(one)
    for key in ("VCpuInfo", "MemoryInfo", "BurstablePerformanceSupported"):
        check(one.get(key) == by_name[env.instance_type].get(key),
              f"{env.instance_type}: {key} differs between the full listing and the by-name answer")
    families: dict[str, list[tuple[int, dict]]] = {}
    for name, info in by_name.items():
        family, _, size = (name or "").partition(".")
        if size in SIZES:
            families.setdefault(family, []).append((SIZES.index(size), info))
    for family, members in families.items():
        members.sort(key=lambda m: m[0])
        for (_, small), (_, big) in zip(members, members[1:], strict=False):
            for key, field in (("MemoryInfo", "SizeInMiB"), ("VCpuInfo", "DefaultVCpus")):
                a, b = (small.get(key) or {}).get(field, 0), (big.get(key) or {}).get(field, 0)
                check(a <= b, f"{family}: {small['InstanceType']} has {field} {a} > {big['InstanceType']}'s {b}")
    answer("DescribeInstanceTypes zz9.plural", lambda: ec2.describe_instance_types(InstanceTypes=["zz9.plural"]),
           expected=("InvalidInstanceType", 400))


@scenario(SUITE)
def terraform_aws_instance_lifecycle(ctx: Ctx) -> None:
    """aws_instance: RunInstances (ClientToken, tags, volume tags, MetadataOptions), read, update, destroy."""
    env = ec2_env(ctx)
    ec2 = ctx.client("ec2")
    with cleanup(ctx) as res:
        # buildInstanceOpts with root_block_device: the AMI's root device name first.
        images, _ = answer("DescribeImages (root device name)", lambda: ec2.describe_images(ImageIds=[env.image_id]))
        check(len(images.get("Images", [])) == 1, f"DescribeImages {env.image_id} returned {images.get('Images')}")
        image = images["Images"][0]
        check(image.get("RootDeviceName"), f"image {env.image_id} has no RootDeviceName")
        name = f"cgc-tf-{uuid.uuid4().hex[:8]}"
        token = f"terraform-{uuid.uuid4().hex}"
        resp = res.run_instances(
            ImageId=env.image_id, InstanceType=env.instance_type, MinCount=1, MaxCount=1, ClientToken=token,
            UserData=USER_DATA, DisableApiTermination=False, EbsOptimized=False, Monitoring={"Enabled": False},
            MetadataOptions=METADATA_OPTIONS,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": _tag_list({"Name": name, MARKER_KEY: res.marker})},
                {"ResourceType": "volume", "Tags": _tag_list({"Name": f"{name}-vol"})}])
        check(len(resp.get("Instances", [])) == 1, f"RunInstances started {len(resp.get('Instances', []))} instances")
        iid = resp["Instances"][0]["InstanceId"]

        poll(f"instance {iid} running", lambda: running(ctx, iid))
        _read_instance(ctx, ec2, iid, env, image, name)
        _update_instance(ctx, ec2, iid)

        # resourceInstanceDelete
        answer("TerminateInstances", lambda: ec2.terminate_instances(InstanceIds=[iid]))

        poll(f"instance {iid} terminated", lambda: terminated(ctx, iid))
        # The provider builds the instance ARN from the account id: OwnerId must be the caller's account.
        check(resp.get("OwnerId") == caller_account(ctx),
              f"reservation OwnerId is {resp.get('OwnerId')!r}, not the caller's account")


def running(ctx: Ctx, iid: str) -> dict | None:
    """waitInstanceCreated's test: the instance once `running`; `pending` waits, any other state aborts."""
    inst = instance(patient(ctx), iid)
    state = inst["State"]["Name"]
    if state not in ("pending", "running"):
        raise Fail(f"waiting for running, the instance went {state} ({inst.get('StateReason')})")
    return inst if state == "running" else None


def terminated(ctx: Ctx, iid: str) -> bool:
    """waitInstanceDeleted's test: terminated, or no longer described at all (InvalidInstanceID.NotFound)."""
    try:
        return instance(patient(ctx), iid)["State"]["Name"] == "terminated"
    except Fail:
        return True  # described no more
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "InvalidInstanceID.NotFound":
            return True
        raise


def _read_instance(ctx: Ctx, ec2: Any, iid: str, env: Any, image: dict, name: str) -> None:
    """resourceInstanceRead, call by call."""
    inst = instance(ec2, iid)
    check(inst.get("InstanceType") == env.instance_type, f"InstanceType is {inst.get('InstanceType')!r}")
    check(inst.get("ImageId") == env.image_id, f"ImageId is {inst.get('ImageId')!r}")
    check((inst.get("Placement") or {}).get("AvailabilityZone"), "Placement.AvailabilityZone is empty")
    check(tags_of(inst).get("Name") == name, f"instance tags are {tags_of(inst)}")
    md = inst.get("MetadataOptions") or {}
    for key, value in METADATA_OPTIONS.items():
        check(md.get(key) == value, f"MetadataOptions.{key} is {md.get(key)!r}, RunInstances asked {value!r}")

    info = describe_instance_type(ec2, env.instance_type)
    check_type_figures(info, image.get("Architecture"))

    attrs = {}
    for attr, key in (("instanceInitiatedShutdownBehavior", "InstanceInitiatedShutdownBehavior"),
                      ("disableApiStop", "DisableApiStop"), ("disableApiTermination", "DisableApiTermination"),
                      ("userData", "UserData")):
        out, _ = answer(f"DescribeInstanceAttribute {attr}",
                        lambda attr=attr: ec2.describe_instance_attribute(InstanceId=iid, Attribute=attr))
        check(out.get("InstanceId") == iid, f"DescribeInstanceAttribute {attr} names {out.get('InstanceId')!r}")
        attrs[attr] = (out.get(key) or {}).get("Value")
    check(attrs["instanceInitiatedShutdownBehavior"] == "stop",
          f"instanceInitiatedShutdownBehavior is {attrs['instanceInitiatedShutdownBehavior']!r}, AWS's default is 'stop'")
    check(attrs["disableApiStop"] is False, f"disableApiStop is {attrs['disableApiStop']!r}, not false")
    check(attrs["disableApiTermination"] is False, f"disableApiTermination is {attrs['disableApiTermination']!r}")
    try:
        user_data = base64.b64decode(attrs["userData"] or "").decode()
    except ValueError as exc:
        raise Fail(f"userData {attrs['userData']!r} is not base64: {exc}") from None
    check(user_data == USER_DATA, f"userData decodes to {user_data!r}, RunInstances sent {USER_DATA!r}")

    # readBlockDevices: DescribeVolumes of the instance's EBS volumes, root found by RootDeviceName.
    ebs = {m.get("DeviceName"): m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", []) if m.get("Ebs")}
    if inst.get("RootDeviceType") == "ebs":
        check(inst.get("RootDeviceName") in ebs,
              f"RootDeviceName {inst.get('RootDeviceName')!r} is not among the EBS mappings {sorted(ebs)}: "
              "the provider's root_block_device reads empty (a perpetual diff)")
    if ebs:
        vols, _ = answer("DescribeVolumes (block devices)", lambda: ec2.describe_volumes(VolumeIds=sorted(ebs.values())))
        found = {v["VolumeId"]: v for v in vols.get("Volumes", [])}
        check(set(found) == set(ebs.values()), f"DescribeVolumes returned {sorted(found)} for {sorted(ebs.values())}")
        for vol in found.values():
            check(vol.get("Size", 0) >= 1 and vol.get("VolumeType"), f"volume {vol['VolumeId']}: size/type {vol}")
            check(tags_of(vol).get("Name") == f"{name}-vol",
                  f"volume {vol['VolumeId']} tags {tags_of(vol)}: the `volume` TagSpecification was not applied")

    # DescribeInstanceCreditSpecifications, for burstable types only.
    if info.get("BurstablePerformanceSupported"):
        out, ignored = answer("DescribeInstanceCreditSpecifications",
                              lambda: ec2.describe_instance_credit_specifications(InstanceIds=[iid]),
                              tolerated={"UnsupportedOperation": 400})
        if ignored is None:
            specs = out.get("InstanceCreditSpecifications", [])
            check(len(specs) == 1 and specs[0].get("InstanceId") == iid,
                  f"credit specifications {specs} do not name exactly {iid}")
            check(specs[0].get("CpuCredits") in ("standard", "unlimited"), f"CpuCredits is {specs[0].get('CpuCredits')!r}")


def _update_instance(ctx: Ctx, ec2: Any, iid: str) -> None:
    """resourceInstanceUpdate: tags, termination protection (and what it protects), metadata options."""
    answer("CreateTags (tag change)", lambda: ec2.create_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "tf"}]))
    check(tags_of(instance(ec2, iid)).get("env") == "tf", "the new tag is not on the instance")
    answer("ModifyInstanceAttribute DisableApiTermination=true",
           lambda: ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True}))
    out, _ = answer("DescribeInstanceAttribute disableApiTermination",
                    lambda: ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination"))
    check((out.get("DisableApiTermination") or {}).get("Value") is True, "disableApiTermination did not turn on")
    answer("TerminateInstances while protected", lambda: ec2.terminate_instances(InstanceIds=[iid]),
           expected=("OperationNotPermitted", 400))
    check(instance(ec2, iid)["State"]["Name"] == "running", "a protected instance was terminated anyway")
    answer("ModifyInstanceAttribute DisableApiTermination=false",
           lambda: ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False}))

    answer("ModifyInstanceMetadataOptions HttpTokens=optional",
           lambda: ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional", HttpEndpoint="enabled"))

    def applied() -> bool:
        md = instance(ec2, iid).get("MetadataOptions") or {}
        return md.get("HttpTokens") == "optional" and md.get("State") == "applied"

    poll("MetadataOptions HttpTokens=optional applied", applied)
