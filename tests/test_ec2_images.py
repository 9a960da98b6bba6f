"""EC2 images: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

import pytest

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    B,
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
    launch,
)


# ---- images -----------------------------------------------------------------------------------------------------
def test_images(ec2, ec2_b, ami):
    assert error(ec2.describe_images, ImageIds=["ami-00000000000000000"]) == ("InvalidAMIID.NotFound", 400)
    (store_iid,) = launch(ec2, ami)
    ebs_ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros-ebs"]}])["Images"][0]["ImageId"]
    (iid,) = launch(ec2, ebs_ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid, store_iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    # only an EBS-backed instance can be imaged
    assert error(ec2.create_image, InstanceId=store_iid, Name="store") == ("InvalidParameterValue", 400)
    assert error(ec2.create_image, InstanceId=iid, Name="bad name!") == ("InvalidAMIName.Malformed", 400)
    new = ec2.create_image(InstanceId=iid, Name="my-image", Description="d")["ImageId"]
    assert error(ec2.create_image, InstanceId=iid, Name="my-image") == ("InvalidAMIName.Duplicate", 400)
    mine = ec2.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in mine] == [new] and mine[0]["Public"] is False
    assert ami in [i["ImageId"] for i in ec2.describe_images(ExecutableUsers=["all"])["Images"]]
    assert error(ec2_b.describe_images, ImageIds=[new]) == ("InvalidAMIID.NotFound", 400)
    ec2.modify_image_attribute(ImageId=new, LaunchPermission={"Add": [{"UserId": B[2]}]})
    perms = ec2.describe_image_attribute(ImageId=new, Attribute="launchPermission")["LaunchPermissions"]
    assert perms == [{"UserId": B[2]}]
    assert [i["ImageId"] for i in ec2_b.describe_images(ExecutableUsers=["self"])["Images"]] == [new]
    assert error(ec2_b.deregister_image, ImageId=new) == ("AuthFailure", 401)
    ec2.modify_image_attribute(ImageId=new, Attribute="description", Value="changed")
    assert ec2.describe_image_attribute(ImageId=new, Attribute="description")["Description"] == {"Value": "changed"}
    assert "KernelId" not in ec2.describe_image_attribute(ImageId=new, Attribute="kernel")  # none: member left out
    ec2.reset_image_attribute(ImageId=new, Attribute="launchPermission")
    assert error(ec2_b.describe_images, ImageIds=[new]) == ("InvalidAMIID.NotFound", 400)
    reg = ec2.register_image(Name="registered", ImageLocation="bucket/manifest.xml")["ImageId"]
    ec2.deregister_image(ImageId=reg)
    ec2.deregister_image(ImageId=new)
    assert error(ec2.describe_images, ImageIds=[new]) == ("InvalidAMIID.NotFound", 400)
    ec2.terminate_instances(InstanceIds=[iid, store_iid])


@pytest.mark.parametrize(("call", "kwargs", "expected"), [
    ("describe_image_attribute", {"Attribute": "unsupported"}, ("InvalidRequest", 400)),
    ("describe_image_attribute", {"Attribute": "description"}, ("AuthFailure", 401)),  # a public image, not mine
    ("modify_image_attribute", {"Attribute": "unsupported"}, ("InvalidParameterCombination", 400)),
    ("modify_image_attribute", {"Attribute": "blockDeviceMapping"}, ("InvalidParameter", 400)),
    ("modify_image_attribute", {}, ("InvalidParameterCombination", 400)),
    ("modify_image_attribute", {"Description": {"Value": "x"}}, ("AuthFailure", 401)),
    ("modify_image_attribute", {"LaunchPermission": {"Add": [{"Group": "all"}]}}, ("AuthFailure", 401)),
    ("modify_image_attribute", {"Attribute": "description"}, ("MissingParameter", 400)),
    ("modify_image_attribute", {"Attribute": "launchPermission"}, ("InvalidParameterCombination", 400)),
    ("reset_image_attribute", {"Attribute": "fake"}, ("InvalidRequest", 400)),
    ("reset_image_attribute", {"Attribute": "launchPermission"}, ("AuthFailure", 401)),
    ("deregister_image", {}, ("AuthFailure", 401)),
])
def test_image_attribute_errors_on_someone_elses_public_image(ec2, ami, call, kwargs, expected):
    assert error(getattr(ec2, call), ImageId=ami, **kwargs) == expected
