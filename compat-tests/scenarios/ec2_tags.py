"""Suite "ec2", tags: CreateTags / DescribeTags / DeleteTags on a security group and an instance,
TagSpecifications on create, DescribeTags filters, and DeleteTags's value matching."""

from __future__ import annotations

from harness import Ctx, check

from . import scenario
from .ec2_common import SUITE, call, cleanup, ec2_env, expect, instance, tags_of, unique


def _described(c, resource_id: str) -> dict[str, str]:
    tags = c.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource_id]}]).get("Tags", [])
    return {t["Key"]: t.get("Value", "") for t in tags}


@scenario(SUITE)
def ec2_tags_roundtrip(ctx: Ctx) -> None:
    """Tags given at create, added, overwritten, listed by DescribeTags (resource-id, resource-type, key,
    value wildcard) and on the resource; DeleteTags by key, and by key+value only when the value matches."""
    c = ctx.client("ec2")
    name = unique("tags")
    with cleanup(ctx) as res:
        gid = res.security_group(name, TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "born", "Value": "at-create"}]}])
        check(_described(c, gid) == {"born": "at-create"}, f"TagSpecifications gave {_described(c, gid)}")
        call("CreateTags", lambda: c.create_tags(Resources=[gid], Tags=[
            {"Key": "env", "Value": "compat"}, {"Key": "empty", "Value": ""}, {"Key": "Name", "Value": name}]))
        call("CreateTags (overwrite)", lambda: c.create_tags(Resources=[gid], Tags=[{"Key": "env", "Value": "test"}]))
        want = {"born": "at-create", "env": "test", "empty": "", "Name": name}
        check(_described(c, gid) == want, f"DescribeTags lists {_described(c, gid)}, expected {want}")
        group = c.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
        check(tags_of(group) == want, f"the group's Tags are {tags_of(group)}")

        row = [t for t in c.describe_tags(Filters=[{"Name": "resource-id", "Values": [gid]},
                                                   {"Name": "key", "Values": ["env"]}])["Tags"]]
        check(len(row) == 1 and row[0].get("ResourceType") == "security-group" and row[0].get("ResourceId") == gid,
              f"DescribeTags key=env row is {row}")
        typed = c.describe_tags(Filters=[{"Name": "resource-type", "Values": ["security-group"]},
                                         {"Name": "value", "Values": [name[:-4] + "*"]}])["Tags"]
        check([(t["ResourceId"], t["Key"]) for t in typed] == [(gid, "Name")],
              f"resource-type + value wildcard lists {typed}")

        call("DeleteTags (wrong value)", lambda: c.delete_tags(Resources=[gid], Tags=[{"Key": "env", "Value": "nope"}]))
        check("env" in _described(c, gid), "DeleteTags with a non-matching value deleted the tag")
        call("DeleteTags (matching value)", lambda: c.delete_tags(Resources=[gid], Tags=[{"Key": "env", "Value": "test"}]))
        call("DeleteTags (key only)", lambda: c.delete_tags(Resources=[gid], Tags=[{"Key": "born"}]))
        check(_described(c, gid) == {"empty": "", "Name": name}, f"after DeleteTags: {_described(c, gid)}")


@scenario(SUITE)
def ec2_tags_on_instance(ctx: Ctx) -> None:
    """CreateTags on an instance shows in DescribeInstances and DescribeTags (resource-type instance);
    CreateTags on a missing instance is InvalidInstanceID.NotFound 400."""
    ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        iid = res.launch()["Instances"][0]["InstanceId"]
        call("CreateTags", lambda: c.create_tags(Resources=[iid], Tags=[{"Key": "role", "Value": "web"}]))
        check(tags_of(instance(c, iid)).get("role") == "web", f"instance tags are {tags_of(instance(c, iid))}")
        rows = c.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]},
                                        {"Name": "resource-type", "Values": ["instance"]}])["Tags"]
        check({t["Key"] for t in rows} >= {"role"}, f"DescribeTags for the instance lists {rows}")
        expect("InvalidInstanceID.NotFound", 400, "CreateTags on a missing instance",
               lambda: c.create_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "k", "Value": "v"}]))
