"""Suite "ec2", errors: the exact code and HTTP status AWS answers for missing and malformed ids, a missing
image, DryRun and unknown parameters on writes; plus one aws-cli round trip."""

from __future__ import annotations

import json

from harness import Ctx, check

from . import scenario
from .ec2_common import (
    ABSENT,
    MARKER_KEY,
    SUITE,
    cleanup,
    describe_instances,
    ec2_env,
    expect,
    patient,
    unique,
)


@scenario(SUITE)
def ec2_error_instance_not_found(ctx: Ctx) -> None:
    """Describe/Stop/Start/Terminate of a well-formed instance id that does not exist:
    InvalidInstanceID.NotFound 400."""
    c = ctx.client("ec2")
    ids = [ABSENT["instance"]]
    expect("InvalidInstanceID.NotFound", 400, "DescribeInstances", lambda: c.describe_instances(InstanceIds=ids))
    expect("InvalidInstanceID.NotFound", 400, "StopInstances", lambda: c.stop_instances(InstanceIds=ids))
    expect("InvalidInstanceID.NotFound", 400, "StartInstances", lambda: c.start_instances(InstanceIds=ids))
    expect("InvalidInstanceID.NotFound", 400, "TerminateInstances", lambda: c.terminate_instances(InstanceIds=ids))


@scenario(SUITE)
def ec2_error_malformed_ids(ctx: Ctx) -> None:
    """Ids that cannot be ids: InvalidInstanceID.Malformed, InvalidAMIID.Malformed, InvalidVolumeID.Malformed
    (all 400)."""
    c = ctx.client("ec2")
    expect("InvalidInstanceID.Malformed", 400, "DescribeInstances i-zzz",
           lambda: c.describe_instances(InstanceIds=["i-zzz"]))
    expect("InvalidInstanceID.Malformed", 400, "TerminateInstances instance-1",
           lambda: c.terminate_instances(InstanceIds=["instance-1"]))
    expect("InvalidAMIID.Malformed", 400, "DescribeImages ami-zzz", lambda: c.describe_images(ImageIds=["ami-zzz"]))
    expect("InvalidVolumeID.Malformed", 400, "DescribeVolumes vol-zzz",
           lambda: c.describe_volumes(VolumeIds=["vol-zzz"]))


@scenario(SUITE)
def ec2_error_resource_not_found(ctx: Ctx) -> None:
    """Well-formed ids and names that exist nowhere: InvalidAMIID.NotFound, InvalidVolume.NotFound,
    InvalidSnapshot.NotFound, InvalidKeyPair.NotFound, InvalidAllocationID.NotFound (all 400)."""
    c = ctx.client("ec2")
    expect("InvalidAMIID.NotFound", 400, "DescribeImages", lambda: c.describe_images(ImageIds=[ABSENT["image"]]))
    expect("InvalidVolume.NotFound", 400, "DescribeVolumes", lambda: c.describe_volumes(VolumeIds=[ABSENT["volume"]]))
    expect("InvalidVolume.NotFound", 400, "DeleteVolume", lambda: c.delete_volume(VolumeId=ABSENT["volume"]))
    expect("InvalidSnapshot.NotFound", 400, "DescribeSnapshots",
           lambda: c.describe_snapshots(SnapshotIds=[ABSENT["snapshot"]]))
    expect("InvalidKeyPair.NotFound", 400, "DescribeKeyPairs", lambda: c.describe_key_pairs(KeyNames=[unique("nokey")]))
    expect("InvalidAllocationID.NotFound", 400, "DescribeAddresses",
           lambda: c.describe_addresses(AllocationIds=[ABSENT["allocation"]]))


@scenario(SUITE)
def ec2_error_run_missing_image(ctx: Ctx) -> None:
    """RunInstances with an image that does not exist is InvalidAMIID.NotFound 400 and launches nothing;
    a malformed image id is InvalidAMIID.Malformed 400."""
    env = ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        res.on_exit("instances", res._terminate_all)
        tags = [{"ResourceType": "instance", "Tags": [{"Key": MARKER_KEY, "Value": res.marker}]}]
        expect("InvalidAMIID.NotFound", 400, "RunInstances with a missing image",
               lambda: c.run_instances(ImageId=ABSENT["image"], InstanceType=env.instance_type, MinCount=1,
                                       MaxCount=1, TagSpecifications=tags))
        expect("InvalidAMIID.Malformed", 400, "RunInstances with ami-zzz",
               lambda: c.run_instances(ImageId="ami-zzz", InstanceType=env.instance_type, MinCount=1,
                                       MaxCount=1, TagSpecifications=tags))
        launched = describe_instances(patient(ctx), filters=[{"Name": f"tag:{MARKER_KEY}", "Values": [res.marker]}])
        check(not launched, f"refused RunInstances launched {[i['InstanceId'] for i in launched]}")


@scenario(SUITE)
def ec2_error_dry_run_writes(ctx: Ctx) -> None:
    """DryRun on CreateKeyPair, CreateSecurityGroup and CreateVolume is DryRunOperation 412 and creates
    nothing."""
    env = ec2_env(ctx, image=False)
    c = ctx.client("ec2")
    key, group = unique("drykp"), unique("drysg")
    with cleanup(ctx) as res:
        res.key_pair(key)
        res.on_exit("security group", lambda: [patient(ctx).delete_security_group(GroupId=g["GroupId"]) for g in
                                               patient(ctx).describe_security_groups(Filters=[
                                                   {"Name": "group-name", "Values": [group]}])["SecurityGroups"]])
        expect("DryRunOperation", 412, "CreateKeyPair DryRun", lambda: c.create_key_pair(KeyName=key, DryRun=True))
        expect("InvalidKeyPair.NotFound", 400, "the dry-run key pair", lambda: c.describe_key_pairs(KeyNames=[key]))
        expect("DryRunOperation", 412, "CreateSecurityGroup DryRun",
               lambda: c.create_security_group(GroupName=group, Description="dry", DryRun=True))
        groups = c.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group]}])["SecurityGroups"]
        check(not groups, f"DryRun CreateSecurityGroup created {groups}")
        marker = unique("dryvol")
        res.on_exit("volume", lambda: [patient(ctx).delete_volume(VolumeId=v["VolumeId"]) for v in
                                       patient(ctx).describe_volumes(Filters=[
                                           {"Name": f"tag:{MARKER_KEY}", "Values": [marker]}])["Volumes"]])
        expect("DryRunOperation", 412, "CreateVolume DryRun",
               lambda: c.create_volume(AvailabilityZone=env.zone, Size=1, DryRun=True, TagSpecifications=[
                   {"ResourceType": "volume", "Tags": [{"Key": MARKER_KEY, "Value": marker}]}]))


@scenario(SUITE)
def ec2_error_unknown_parameter_on_write(ctx: Ctx) -> None:
    """A write with a parameter the action does not have (CreateKeyPair&Bogus=1) is UnknownParameter 400
    and creates nothing."""
    c = ctx.client("ec2")
    name = unique("unkp")
    with cleanup(ctx) as res:
        res.key_pair(name)
        resp = ctx.ec2({"Action": "CreateKeyPair", "KeyName": name, "Bogus": "1"})
        expect("UnknownParameter", 400, "CreateKeyPair with Bogus=1", resp)
        expect("InvalidKeyPair.NotFound", 400, "the refused key pair", lambda: c.describe_key_pairs(KeyNames=[name]))


@scenario(SUITE, needs=("awscli",))
def ec2_awscli_roundtrip(ctx: Ctx) -> None:
    """aws-cli: create-key-pair --query, describe-key-pairs --output json, delete-key-pair, and a missing
    key pair exits non-zero with (InvalidKeyPair.NotFound)."""
    name = unique("cli")
    with cleanup(ctx) as res:
        res.key_pair(name)
        made = ctx.aws("ec2", "create-key-pair", "--key-name", name, "--query", "KeyFingerprint", "--output", "text")
        check(made.returncode == 0, f"create-key-pair exited {made.returncode}: {made.stderr.strip()[-300:]}")
        fingerprint = made.stdout.strip()
        check(fingerprint, "create-key-pair printed no fingerprint")
        shown = ctx.aws("ec2", "describe-key-pairs", "--key-names", name, "--output", "json")
        check(shown.returncode == 0, f"describe-key-pairs exited {shown.returncode}: {shown.stderr.strip()[-300:]}")
        pairs = json.loads(shown.stdout).get("KeyPairs", [])
        check([(p["KeyName"], p["KeyFingerprint"]) for p in pairs] == [(name, fingerprint)],
              f"describe-key-pairs printed {pairs}")
        gone = ctx.aws("ec2", "delete-key-pair", "--key-name", name)
        check(gone.returncode == 0, f"delete-key-pair exited {gone.returncode}: {gone.stderr.strip()[-300:]}")
        missing = ctx.aws("ec2", "describe-key-pairs", "--key-names", name)
        check(missing.returncode != 0 and "(InvalidKeyPair.NotFound)" in missing.stderr,
              f"describe-key-pairs of a deleted key: exit {missing.returncode}, {missing.stderr.strip()[-300:]!r}")
        listing = ctx.aws("ec2", "describe-instances", "--filters", "Name=instance-state-name,Values=running",
                          "--output", "json")
        check(listing.returncode == 0, f"describe-instances exited {listing.returncode}: {listing.stderr[-300:]}")
        check("Reservations" in json.loads(listing.stdout), "describe-instances printed no Reservations")
