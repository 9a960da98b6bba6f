"""Suite `terraform`: `aws_launch_template` create / read / new version / delete, and an `aws_instance`
launched from it.

Followed sources in hashicorp/terraform-provider-aws (read, not copied):
- `internal/service/ec2/ec2_launch_template.go`
  - resourceLaunchTemplateCreate: CreateLaunchTemplate with a fresh ClientToken, LaunchTemplateName,
    VersionDescription, LaunchTemplateData (expandRequestLaunchTemplateData: ImageId, InstanceType,
    MetadataOptions, TagSpecifications for the instances it launches, UserData) and TagSpecifications
    of ResourceType `launch-template`; the id comes from `LaunchTemplate.LaunchTemplateId`.
  - resourceLaunchTemplateRead: findLaunchTemplateByID (DescribeLaunchTemplates by id; the
    DefaultVersionNumber and LatestVersionNumber), then findLaunchTemplateVersionByTwoPartKey for the
    latest version (DescribeLaunchTemplateVersions by id + version number) and reads its
    LaunchTemplateData.
  - resourceLaunchTemplateUpdate: CreateLaunchTemplateVersion (ClientToken, LaunchTemplateId,
    LaunchTemplateData), then, with `update_default_version`, ModifyLaunchTemplate(DefaultVersion).
  - resourceLaunchTemplateDelete: DeleteLaunchTemplate by id; InvalidLaunchTemplateId.NotFound means
    already gone, and findLaunchTemplateByID treats it (and .Malformed) as not found afterwards.
- `internal/service/ec2/ec2_instance.go` (buildInstanceOpts with `launch_template`): RunInstances with
  LaunchTemplate {LaunchTemplateId, Version} and no ImageId / InstanceType of its own; resourceInstanceRead
  (flattenInstanceLaunchTemplate) finds the template again from the instance's
  `aws:ec2launchtemplate:id` / `aws:ec2launchtemplate:version` tags, which AWS adds at launch.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from harness import Ctx, check

from . import scenario
from .ec2_common import MARKER_KEY, cleanup, ec2_env, patient, poll, tags_of
from .terraform_common import SUITE, answer
from .terraform_instance import METADATA_OPTIONS, running, terminated

LT_ID_TAG, LT_VERSION_TAG = "aws:ec2launchtemplate:id", "aws:ec2launchtemplate:version"


def _describe_template(ec2: Any, lt_id: str) -> dict:
    out, _ = answer("DescribeLaunchTemplates", lambda: ec2.describe_launch_templates(LaunchTemplateIds=[lt_id]))
    found = out.get("LaunchTemplates", [])
    check(len(found) == 1 and found[0].get("LaunchTemplateId") == lt_id,
          f"DescribeLaunchTemplates {lt_id} returned {[t.get('LaunchTemplateId') for t in found]}")
    return found[0]


def _version_data(ec2: Any, lt_id: str, version: int) -> dict:
    out, _ = answer(f"DescribeLaunchTemplateVersions {version}", lambda: ec2.describe_launch_template_versions(
        LaunchTemplateId=lt_id, Versions=[str(version)]))
    found = out.get("LaunchTemplateVersions", [])
    check(len(found) == 1 and found[0].get("VersionNumber") == version,
          f"DescribeLaunchTemplateVersions {lt_id} v{version} returned {[v.get('VersionNumber') for v in found]}")
    return found[0].get("LaunchTemplateData") or {}


def _delete_template(ctx: Ctx, lt_id: str | None) -> None:
    if lt_id:
        with contextlib.suppress(ClientError, BotoCoreError):
            patient(ctx).delete_launch_template(LaunchTemplateId=lt_id)


@scenario(SUITE)
def terraform_launch_template_lifecycle(ctx: Ctx) -> None:
    """aws_launch_template: create, read latest version, new version + default, RunInstances from it, delete."""
    env = ec2_env(ctx)
    ec2 = ctx.client("ec2")
    name = f"cgc-tf-lt-{uuid.uuid4().hex[:8]}"
    holder: dict[str, str] = {}
    with cleanup(ctx) as res:
        res.on_exit("launch template", lambda: _delete_template(ctx, holder.get("id")))
        data = {"ImageId": env.image_id, "InstanceType": env.instance_type, "MetadataOptions": METADATA_OPTIONS,
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                    {"Key": "Name", "Value": name}, {"Key": MARKER_KEY, "Value": res.marker}]}]}
        out, _ = answer("CreateLaunchTemplate", lambda: ec2.create_launch_template(
            ClientToken=f"terraform-{uuid.uuid4().hex}", LaunchTemplateName=name, VersionDescription="v1",
            LaunchTemplateData=data,
            TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "Name", "Value": name}]}]))
        lt = out.get("LaunchTemplate") or {}
        lt_id = lt.get("LaunchTemplateId") or ""
        check(lt_id.startswith("lt-"), f"LaunchTemplateId is {lt_id!r}")
        holder["id"] = lt_id

        # Read: the template, then its latest version's data.
        desc = _describe_template(ec2, lt_id)
        check(desc.get("LaunchTemplateName") == name, f"LaunchTemplateName is {desc.get('LaunchTemplateName')!r}")
        check((desc.get("DefaultVersionNumber"), desc.get("LatestVersionNumber")) == (1, 1),
              f"a new template's default/latest versions are {desc.get('DefaultVersionNumber')}/"
              f"{desc.get('LatestVersionNumber')}, not 1/1")
        check(tags_of(desc).get("Name") == name, f"the launch-template TagSpecification was not applied: {tags_of(desc)}")
        v1 = _version_data(ec2, lt_id, 1)
        check(v1.get("ImageId") == env.image_id and v1.get("InstanceType") == env.instance_type,
              f"version 1 data is {v1}")
        check((v1.get("MetadataOptions") or {}).get("HttpTokens") == "required", f"version 1 MetadataOptions {v1}")

        # Update: a new version, made the default.
        out, _ = answer("CreateLaunchTemplateVersion", lambda: ec2.create_launch_template_version(
            ClientToken=f"terraform-{uuid.uuid4().hex}", LaunchTemplateId=lt_id, VersionDescription="v2",
            LaunchTemplateData={**data, "MetadataOptions": {**METADATA_OPTIONS, "HttpTokens": "optional"}}))
        check((out.get("LaunchTemplateVersion") or {}).get("VersionNumber") == 2,
              f"the new version is {(out.get('LaunchTemplateVersion') or {}).get('VersionNumber')!r}, not 2")
        answer("ModifyLaunchTemplate DefaultVersion=2",
               lambda: ec2.modify_launch_template(LaunchTemplateId=lt_id, DefaultVersion="2"))
        desc = _describe_template(ec2, lt_id)
        check((desc.get("DefaultVersionNumber"), desc.get("LatestVersionNumber")) == (2, 2),
              f"after the update default/latest are {desc.get('DefaultVersionNumber')}/{desc.get('LatestVersionNumber')}")
        check((_version_data(ec2, lt_id, 2).get("MetadataOptions") or {}).get("HttpTokens") == "optional",
              "version 2 lost its MetadataOptions")

        # aws_instance { launch_template { id, version = "$Default" } }
        resp = res.run_instances(MinCount=1, MaxCount=1, ClientToken=f"terraform-{uuid.uuid4().hex}",
                                 LaunchTemplate={"LaunchTemplateId": lt_id, "Version": "$Default"})
        iid = resp["Instances"][0]["InstanceId"]
        inst = poll(f"instance {iid} running", lambda: running(ctx, iid))
        check(inst.get("ImageId") == env.image_id and inst.get("InstanceType") == env.instance_type,
              f"the instance has {inst.get('ImageId')}/{inst.get('InstanceType')}, not the template's")
        check((inst.get("MetadataOptions") or {}).get("HttpTokens") == "optional",
              "the instance did not get version 2's MetadataOptions")
        tags = tags_of(inst)
        check(tags.get("Name") == name, f"the template's instance TagSpecification was not applied: {tags}")
        check(tags.get(LT_ID_TAG) == lt_id and tags.get(LT_VERSION_TAG) == "2",
              f"the instance's {LT_ID_TAG}/{LT_VERSION_TAG} tags are {tags.get(LT_ID_TAG)!r}/"
              f"{tags.get(LT_VERSION_TAG)!r}; the provider finds its launch template by them")

        answer("TerminateInstances", lambda: ec2.terminate_instances(InstanceIds=[iid]))
        poll(f"instance {iid} terminated", lambda: terminated(ctx, iid))

        # Delete, then the template is gone as the provider's finder expects.
        answer("DeleteLaunchTemplate", lambda: ec2.delete_launch_template(LaunchTemplateId=lt_id))
        answer("DescribeLaunchTemplates after delete",
               lambda: ec2.describe_launch_templates(LaunchTemplateIds=[lt_id]),
               expected=("InvalidLaunchTemplateId.NotFound", 400))
        holder.pop("id")

