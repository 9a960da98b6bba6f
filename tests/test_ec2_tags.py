"""EC2 tags: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
)


# ---- tags ------------------------------------------------------------------------------------------------------------
def test_tags(ec2, ami):
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    ec2.create_tags(Resources=[vid], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]
    assert tags == [{"Key": "a", "ResourceId": vid, "ResourceType": "volume", "Value": "1"},
                    {"Key": "b", "ResourceId": vid, "ResourceType": "volume", "Value": "2"}]
    assert [v["VolumeId"] for v in ec2.describe_volumes(Filters=[{"Name": "tag:a", "Values": ["1"]}])["Volumes"]] == \
        [vid]
    ec2.delete_tags(Resources=[vid], Tags=[{"Key": "a"}])
    assert [t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]] == ["b"]
    assert error(ec2.create_tags, Resources=["i-00000000000000000"], Tags=[{"Key": "k", "Value": "v"}]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert error(ec2.create_tags, Resources=["bogus-1"], Tags=[{"Key": "k", "Value": "v"}]) == ("InvalidID", 400)
    assert error(ec2.create_tags, Resources=[vid], Tags=[{"Key": "aws:x", "Value": "v"}]) == \
        ("InvalidParameterValue", 400)
    ec2.delete_volume(VolumeId=vid)


def test_describe_tags_pages_after_filtering_by_tag_value(ec2):
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    for n in range(10):
        ec2.create_tags(Resources=[vid], Tags=[{"Key": f"k{n}", "Value": "aaa" if n < 6 else "bbb"}])
    flt = [{"Name": "resource-id", "Values": [vid]}, {"Name": "tag-value", "Values": ["aaa"]}]
    first = ec2.describe_tags(MaxResults=5, Filters=flt)
    assert len(first["Tags"]) == 5 and first["NextToken"]
    rest = ec2.describe_tags(NextToken=first["NextToken"], Filters=flt)
    assert [t["Key"] for t in first["Tags"] + rest["Tags"]] == [f"k{n}" for n in range(6)] and "NextToken" not in rest
    assert {t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "tag-key", "Values": ["k7"]}])["Tags"]} == {"k7"}
    assert len(ec2.describe_tags(Filters=[{"Name": "tag:k8", "Values": ["bbb"]}])["Tags"]) == 1
    assert len(ec2.describe_tags(MaxResults=1100, Filters=flt)["Tags"]) == 6  # above 1000 means 1000
    assert error(ec2.describe_tags, MaxResults=4) == ("InvalidParameterValue", 400)
    ec2.delete_volume(VolumeId=vid)
