"""Launch templates end to end over HTTP with boto3, against the in-memory cloud of tests/ec2_fake_cloud.py
(the templates themselves are the gateway's; RunInstances from one reaches the cloud). The same lifecycle runs
on the devcloud OpenStack in compat-tests' terraform suite (tests/test_compat_terraform.py)."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
)


def _data(ami: str, **extra) -> dict:
    return {"ImageId": ami, "InstanceType": "t2.micro", **extra}


def test_create_describe_and_delete_by_id_and_name(ec2, ec2_b, ami):
    made = ec2.create_launch_template(LaunchTemplateName="web-lt", VersionDescription="first",
                                      LaunchTemplateData=_data(ami),
                                      TagSpecifications=[{"ResourceType": "launch-template",
                                                          "Tags": [{"Key": "team", "Value": "a"}]}])["LaunchTemplate"]
    lt_id = made["LaunchTemplateId"]
    assert lt_id.startswith("lt-") and len(lt_id) == 20
    assert (made["DefaultVersionNumber"], made["LatestVersionNumber"]) == (1, 1)
    assert made["CreatedBy"].startswith("arn:aws:iam::111111111111:")
    assert error(ec2.create_launch_template, LaunchTemplateName="web-lt", LaunchTemplateData=_data(ami)) == (
        "InvalidLaunchTemplateName.AlreadyExistsException", 400)
    assert error(ec2.create_launch_template, LaunchTemplateName="x", LaunchTemplateData=_data(ami)) == (
        "InvalidLaunchTemplateName.MalformedException", 400)
    by_name = ec2.describe_launch_templates(LaunchTemplateNames=["web-lt"])["LaunchTemplates"]
    assert [t["LaunchTemplateId"] for t in by_name] == [lt_id]
    assert by_name[0]["Tags"] == [{"Key": "team", "Value": "a"}]
    tagged = ec2.describe_launch_templates(Filters=[{"Name": "tag:team", "Values": ["a"]}])["LaunchTemplates"]
    assert lt_id in [t["LaunchTemplateId"] for t in tagged]
    ec2.create_tags(Resources=[lt_id], Tags=[{"Key": "env", "Value": "prod"}])
    assert {"Key": "env", "Value": "prod"} in ec2.describe_launch_templates(
        LaunchTemplateIds=[lt_id])["LaunchTemplates"][0]["Tags"]
    # another account sees nothing of it and may use the same name
    assert error(ec2_b.describe_launch_templates, LaunchTemplateIds=[lt_id]) == ("InvalidLaunchTemplateId.NotFound", 400)
    assert error(ec2_b.delete_launch_template, LaunchTemplateName="web-lt") == (
        "InvalidLaunchTemplateName.NotFoundException", 400)
    other = ec2_b.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData=_data(ami))["LaunchTemplate"]
    ec2_b.delete_launch_template(LaunchTemplateId=other["LaunchTemplateId"])
    deleted = ec2.delete_launch_template(LaunchTemplateName="web-lt")["LaunchTemplate"]
    assert deleted["LaunchTemplateId"] == lt_id
    assert error(ec2.describe_launch_templates, LaunchTemplateIds=[lt_id]) == ("InvalidLaunchTemplateId.NotFound", 400)
    assert error(ec2.describe_launch_templates, LaunchTemplateIds=["lt-nope"]) == (
        "InvalidLaunchTemplateId.Malformed", 400)
    # the name is free again
    again = ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData=_data(ami))["LaunchTemplate"]
    ec2.delete_launch_template(LaunchTemplateId=again["LaunchTemplateId"])


def test_versions_default_latest_and_source_version(ec2, ami):
    lt_id = ec2.create_launch_template(LaunchTemplateName="versions-lt", LaunchTemplateData=_data(
        ami, KeyName="k1"))["LaunchTemplate"]["LaunchTemplateId"]
    try:
        v2 = ec2.create_launch_template_version(LaunchTemplateId=lt_id, SourceVersion="1",
                                                LaunchTemplateData={"InstanceType": "t2.small"},
                                                VersionDescription="bigger")["LaunchTemplateVersion"]
        assert v2["VersionNumber"] == 2 and v2["DefaultVersion"] is False
        assert v2["LaunchTemplateData"] == {"ImageId": ami, "InstanceType": "t2.small", "KeyName": "k1"}
        listed = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Versions=["$Latest", "$Default"])
        assert sorted(v["VersionNumber"] for v in listed["LaunchTemplateVersions"]) == [1, 2]
        ec2.modify_launch_template(LaunchTemplateId=lt_id, DefaultVersion="2")
        default = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Versions=["$Default"])
        assert [v["VersionNumber"] for v in default["LaunchTemplateVersions"]] == [2]
        assert error(ec2.describe_launch_template_versions, LaunchTemplateId=lt_id, Versions=["9"]) == (
            "InvalidLaunchTemplateId.VersionNotFound", 400)
        gone = ec2.delete_launch_template_versions(LaunchTemplateId=lt_id, Versions=["1", "2", "7"])
        assert [v["VersionNumber"] for v in gone["SuccessfullyDeletedLaunchTemplateVersions"]] == [1]
        assert sorted((v["VersionNumber"], v["ResponseError"]["Code"])
                      for v in gone["UnsuccessfullyDeletedLaunchTemplateVersions"]) == [
            (2, "launchTemplateVersionIsDefault"), (7, "launchTemplateVersionDoesNotExist")]
    finally:
        ec2.delete_launch_template(LaunchTemplateId=lt_id)


def test_concurrent_new_versions_each_get_their_own_number(ec2, ami):
    lt_id = ec2.create_launch_template(LaunchTemplateName="race-lt", LaunchTemplateData=_data(ami))[
        "LaunchTemplate"]["LaunchTemplateId"]
    try:
        with ThreadPoolExecutor(8) as pool:
            numbers = list(pool.map(lambda i: ec2.create_launch_template_version(
                LaunchTemplateId=lt_id, LaunchTemplateData=_data(ami, KeyName=f"k{i}"))[
                "LaunchTemplateVersion"]["VersionNumber"], range(8)))
        assert sorted(numbers) == list(range(2, 10))
        latest = ec2.describe_launch_templates(LaunchTemplateIds=[lt_id])["LaunchTemplates"][0]
        assert latest["LatestVersionNumber"] == 9
    finally:
        ec2.delete_launch_template(LaunchTemplateId=lt_id)


def test_run_instances_takes_the_templates_data_under_its_own(ec2, ami):
    user_data = base64.b64encode(b"#!/bin/sh\necho from the template\n").decode()
    lt_id = ec2.create_launch_template(LaunchTemplateName="run-lt", LaunchTemplateData=_data(
        ami, UserData=user_data, TagSpecifications=[{"ResourceType": "instance",
                                                     "Tags": [{"Key": "from", "Value": "template"}]}]))[
        "LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=lt_id, SourceVersion="1",
                                       LaunchTemplateData={"InstanceType": "m1.small"})
    try:
        first = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": lt_id})["Instances"][0]
        assert first["InstanceType"] == "t2.micro" and first["ImageId"] == ami  # $Default = version 1
        latest = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={
            "LaunchTemplateName": "run-lt", "Version": "$Latest"})["Instances"][0]
        assert latest["InstanceType"] == "m1.small"
        own = ec2.run_instances(MinCount=1, MaxCount=1, InstanceType="t2.micro", LaunchTemplate={
            "LaunchTemplateName": "run-lt", "Version": "$Latest"})["Instances"][0]
        assert own["InstanceType"] == "t2.micro"  # the request's own value wins
        tags = {t["Key"]: t["Value"] for t in ec2.describe_instances(InstanceIds=[first["InstanceId"]])[
            "Reservations"][0]["Instances"][0].get("Tags", [])}
        assert tags == {"from": "template", "aws:ec2launchtemplate:id": lt_id, "aws:ec2launchtemplate:version": "1"}
        assert error(ec2.create_tags, Resources=[first["InstanceId"]], Tags=[
            {"Key": "aws:ec2launchtemplate:id", "Value": "forged"}]) == ("InvalidParameterValue", 400)
        attr = ec2.describe_instance_attribute(InstanceId=first["InstanceId"], Attribute="userData")
        assert base64.b64decode(attr["UserData"]["Value"]) == b"#!/bin/sh\necho from the template\n"
        assert error(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={
            "LaunchTemplateId": lt_id, "Version": "42"}) == ("InvalidLaunchTemplateId.VersionNotFound", 400)
        ec2.terminate_instances(InstanceIds=[first["InstanceId"], latest["InstanceId"], own["InstanceId"]])
    finally:
        ec2.delete_launch_template(LaunchTemplateId=lt_id)
