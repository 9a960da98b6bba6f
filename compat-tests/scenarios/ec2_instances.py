"""Suite "ec2", instances: launch (pending at once, with tags), boto3 waiters, describe filters, stop/start,
terminate (terminated instances stay visible), ClientToken idempotency, DryRun and instance states."""

from __future__ import annotations

import time

from harness import Ctx, check

from . import scenario
from .ec2_common import (
    MARKER_KEY,
    SUITE,
    call,
    check_id,
    cleanup,
    describe_instances,
    ec2_env,
    expect,
    instance,
    patient,
    tags_of,
    unique,
    wait,
)

# RunInstances must not block on the backend; a generous bound that no "wait for ACTIVE" fits in.
RUN_INSTANCES_BOUND = 10.0


@scenario(SUITE)
def ec2_describe_regions_zones_account(ctx: Ctx) -> None:
    """DescribeRegions lists the region, DescribeAvailabilityZones an available zone, and the account
    attribute supported-platforms includes VPC."""
    c = ctx.client("ec2")
    regions = [r["RegionName"] for r in call("DescribeRegions", c.describe_regions).get("Regions", [])]
    check(ctx.target.region in regions, f"DescribeRegions does not list {ctx.target.region!r}: {regions}")
    zones = call("DescribeAvailabilityZones", c.describe_availability_zones).get("AvailabilityZones", [])
    check(any(z.get("State") == "available" for z in zones), f"no available zone in {zones}")
    for z in zones:
        check(z.get("RegionName") == ctx.target.region,
              f"zone {z.get('ZoneName')} has RegionName {z.get('RegionName')!r}, not {ctx.target.region!r}")
    attrs = call("DescribeAccountAttributes", lambda: c.describe_account_attributes(
        AttributeNames=["supported-platforms"])).get("AccountAttributes", [])
    values = [v["AttributeValue"] for a in attrs if a["AttributeName"] == "supported-platforms"
              for v in a.get("AttributeValues", [])]
    check("VPC" in values, f"supported-platforms is {values}, without VPC")


@scenario(SUITE)
def ec2_instance_lifecycle(ctx: Ctx) -> None:
    """RunInstances answers `pending` at once with the requested tags; then running (waiter), stop →
    stopped, start → running, terminate → terminated, and the terminated instance is still described."""
    env = ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        name = unique("life")
        started = time.monotonic()
        resp = res.launch(tags={"Name": name})
        took = time.monotonic() - started
        check(took < RUN_INSTANCES_BOUND, f"RunInstances took {took:.1f}s: it must not wait for the backend")
        check_id("reservation", resp.get("ReservationId"), "ReservationId")
        check(len(resp.get("Instances", [])) == 1, f"RunInstances returned {len(resp.get('Instances', []))} "
                                                     "instances for MinCount=MaxCount=1")
        inst = resp["Instances"][0]
        iid = inst["InstanceId"]
        check_id("instance", iid, "InstanceId")
        check(inst["State"] == {"Code": 0, "Name": "pending"},
              f"RunInstances answered state {inst['State']}, AWS answers {{'Code': 0, 'Name': 'pending'}}")
        check(inst.get("ImageId") == env.image_id, f"ImageId is {inst.get('ImageId')!r}")
        check(inst.get("InstanceType") == env.instance_type, f"InstanceType is {inst.get('InstanceType')!r}")
        check(inst.get("AmiLaunchIndex") == 0, f"AmiLaunchIndex is {inst.get('AmiLaunchIndex')!r}")

        wait(ctx, "instance_running", "the new instance", InstanceIds=[iid])
        now = instance(c, iid)
        check(now["State"] == {"Code": 16, "Name": "running"}, f"running instance has state {now['State']}")
        tags = tags_of(now)
        check(tags.get("Name") == name and tags.get(MARKER_KEY) == res.marker,
              f"TagSpecifications not applied: tags are {tags}")
        check(now.get("LaunchTime") is not None, "no LaunchTime")
        check(now.get("Placement", {}).get("AvailabilityZone"), "no Placement.AvailabilityZone")
        check(now.get("PrivateIpAddress"), "running instance has no PrivateIpAddress")

        stopping = call("StopInstances", lambda: c.stop_instances(InstanceIds=[iid]))["StoppingInstances"][0]
        check(stopping["InstanceId"] == iid, f"StopInstances answered for {stopping['InstanceId']}")
        check(stopping["PreviousState"]["Name"] == "running", f"PreviousState {stopping['PreviousState']}")
        check(stopping["CurrentState"]["Name"] in ("stopping", "stopped"),
              f"StopInstances CurrentState {stopping['CurrentState']}")
        wait(ctx, "instance_stopped", "the stopped instance", InstanceIds=[iid])
        check(instance(c, iid)["State"] == {"Code": 80, "Name": "stopped"}, "stopped instance's state")

        starting = call("StartInstances", lambda: c.start_instances(InstanceIds=[iid]))["StartingInstances"][0]
        check(starting["PreviousState"]["Name"] == "stopped", f"PreviousState {starting['PreviousState']}")
        check(starting["CurrentState"]["Name"] in ("pending", "running"),
              f"StartInstances CurrentState {starting['CurrentState']}")
        wait(ctx, "instance_running", "the restarted instance", InstanceIds=[iid])

        gone = call("TerminateInstances",
                    lambda: c.terminate_instances(InstanceIds=[iid]))["TerminatingInstances"][0]
        check(gone["PreviousState"]["Name"] == "running", f"PreviousState {gone['PreviousState']}")
        check(gone["CurrentState"]["Name"] in ("shutting-down", "terminated"),
              f"TerminateInstances CurrentState {gone['CurrentState']}")
        wait(ctx, "instance_terminated", "the terminated instance", InstanceIds=[iid])
        # AWS keeps terminated instances visible for about an hour.
        check(instance(c, iid)["State"] == {"Code": 48, "Name": "terminated"}, "terminated instance's state")
        listed = describe_instances(c, filters=[{"Name": f"tag:{MARKER_KEY}", "Values": [res.marker]},
                                                {"Name": "instance-state-name", "Values": ["terminated"]}])
        check([i["InstanceId"] for i in listed] == [iid],
              "instance-state-name=terminated does not list the terminated instance")


@scenario(SUITE)
def ec2_instance_incorrect_state(ctx: Ctx) -> None:
    """Start or stop a terminated instance is IncorrectInstanceState 400; terminating it again is fine."""
    ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        iid = res.launch()["Instances"][0]["InstanceId"]
        call("TerminateInstances", lambda: c.terminate_instances(InstanceIds=[iid]))
        wait(ctx, "instance_terminated", "the instance", InstanceIds=[iid])
        expect("IncorrectInstanceState", 400, "StartInstances on a terminated instance",
               lambda: c.start_instances(InstanceIds=[iid]))
        expect("IncorrectInstanceState", 400, "StopInstances on a terminated instance",
               lambda: c.stop_instances(InstanceIds=[iid]))
        again = call("TerminateInstances again",
                     lambda: c.terminate_instances(InstanceIds=[iid]))["TerminatingInstances"][0]
        check(again["CurrentState"]["Name"] == "terminated", f"second terminate: {again['CurrentState']}")


@scenario(SUITE)
def ec2_instance_describe_filters(ctx: Ctx) -> None:
    """DescribeInstances filters: tag:Name (exact, `*` and `?` wildcards), tag-key, instance-state-name,
    instance-type, instance-id, image-id, availability-zone; values OR, filters AND; unknown filter 400."""
    env = ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        base = unique("flt")
        a = res.launch(tags={"Name": f"{base}-alpha"})["Instances"][0]["InstanceId"]
        b = res.launch(tags={"Name": f"{base}-beta"})["Instances"][0]["InstanceId"]
        wait(ctx, "instance_running", "the two instances", InstanceIds=[a, b])
        zone = instance(c, a)["Placement"]["AvailabilityZone"]
        mine = {"Name": f"tag:{MARKER_KEY}", "Values": [res.marker]}

        def ids(*filters: dict, instance_ids: list[str] | None = None) -> set[str]:
            return {i["InstanceId"] for i in describe_instances(c, ids=instance_ids, filters=list(filters))}

        cases = [
            ("tag:Name exact", [{"Name": "tag:Name", "Values": [f"{base}-alpha"]}], {a}),
            ("tag:Name with *", [{"Name": "tag:Name", "Values": [f"{base}-*"]}], {a, b}),
            ("tag:Name with ?", [{"Name": "tag:Name", "Values": [f"{base}-?eta"]}], {b}),
            ("two values (OR)", [{"Name": "tag:Name", "Values": [f"{base}-alpha", f"{base}-beta"]}], {a, b}),
            ("tag-key", [mine, {"Name": "tag-key", "Values": [MARKER_KEY]}], {a, b}),
            ("instance-state-name running", [mine, {"Name": "instance-state-name", "Values": ["running"]}], {a, b}),
            ("instance-state-name stopped", [mine, {"Name": "instance-state-name", "Values": ["stopped"]}], set()),
            ("instance-type", [mine, {"Name": "instance-type", "Values": [env.instance_type]}], {a, b}),
            ("other instance-type", [mine, {"Name": "instance-type", "Values": ["x9.nonexistent"]}], set()),
            ("instance-id", [mine, {"Name": "instance-id", "Values": [b]}], {b}),
            ("image-id", [mine, {"Name": "image-id", "Values": [env.image_id]}], {a, b}),
            ("availability-zone", [mine, {"Name": "availability-zone", "Values": [zone]}],
             {i for i in (a, b) if instance(c, i)["Placement"]["AvailabilityZone"] == zone}),
            ("two filters (AND)", [{"Name": "tag:Name", "Values": [f"{base}-alpha"]},
                                   {"Name": "instance-id", "Values": [b]}], set()),
        ]
        for what, filters, expected in cases:
            got = ids(*filters)
            check(got == expected, f"filter {what}: got {sorted(got)}, expected {sorted(expected)}")
        got = ids({"Name": "tag:Name", "Values": [f"{base}-alpha"]}, instance_ids=[a, b])
        check(got == {a}, f"InstanceIds and a filter together: got {sorted(got)}, expected [{a}]")
        expect("InvalidParameterValue", 400, "an unknown filter name",
               lambda: c.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}]))


@scenario(SUITE)
def ec2_instance_client_token(ctx: Ctx) -> None:
    """RunInstances with a ClientToken is idempotent (same reservation, one instance); the same token with
    other parameters is IdempotentParameterMismatch 400."""
    ec2_env(ctx)
    c = ctx.client("ec2")
    token = unique("tok")
    with cleanup(ctx) as res:
        first = res.launch(ClientToken=token)
        second = res.launch(ClientToken=token)
        check(first["ReservationId"] == second["ReservationId"],
              f"retry got reservation {second['ReservationId']}, not {first['ReservationId']}")
        ids1 = [i["InstanceId"] for i in first["Instances"]]
        ids2 = [i["InstanceId"] for i in second["Instances"]]
        check(ids1 == ids2, f"retry returned instances {ids2}, not {ids1}")
        launched = describe_instances(patient(ctx), filters=[{"Name": f"tag:{MARKER_KEY}", "Values": [res.marker]}])
        check(len(launched) == 1, f"two RunInstances with one ClientToken launched {len(launched)} instances")
        check(launched[0].get("ClientToken") in (token, None), f"ClientToken is {launched[0].get('ClientToken')!r}")
        env = ec2_env(ctx)
        expect("IdempotentParameterMismatch", 400, "same ClientToken, MaxCount=2",
               lambda: c.run_instances(ImageId=env.image_id, InstanceType=env.instance_type, MinCount=1,
                                       MaxCount=2, ClientToken=token,
                                       TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                           {"Key": MARKER_KEY, "Value": res.marker}]}]))


@scenario(SUITE)
def ec2_instance_dry_run(ctx: Ctx) -> None:
    """DryRun: RunInstances and DescribeInstances answer DryRunOperation 412, and nothing is launched."""
    env = ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        tags = [{"ResourceType": "instance", "Tags": [{"Key": MARKER_KEY, "Value": res.marker}]}]
        res.on_exit("instances", res._terminate_all)  # in case DryRun was ignored
        expect("DryRunOperation", 412, "RunInstances DryRun",
               lambda: c.run_instances(ImageId=env.image_id, InstanceType=env.instance_type, MinCount=1,
                                       MaxCount=1, TagSpecifications=tags, DryRun=True))
        expect("DryRunOperation", 412, "DescribeInstances DryRun", lambda: c.describe_instances(DryRun=True))
        launched = describe_instances(c, filters=[{"Name": f"tag:{MARKER_KEY}", "Values": [res.marker]}])
        check(not launched, f"DryRun RunInstances launched {[i['InstanceId'] for i in launched]}")
