"""Suite "ec2", paging: DescribeInstances MaxResults/NextToken over six instances, boto3's paginator,
and the exact errors for a forged token, an out-of-range MaxResults and MaxResults with InstanceIds."""

from __future__ import annotations

from harness import Ctx, check

from . import scenario
from .ec2_common import ABSENT, MARKER_KEY, SUITE, call, cleanup, ec2_env, expect

FLEET = 6
PAGE = 5  # DescribeInstances accepts MaxResults 5..1000


@scenario(SUITE)
def ec2_instance_paging(ctx: Ctx) -> None:
    """Six instances read with MaxResults=5: pages of at most 5, a NextToken until the last page, every
    instance exactly once; boto3's paginator (PageSize=5) agrees."""
    ec2_env(ctx)
    c = ctx.client("ec2")
    with cleanup(ctx) as res:
        launched = res.launch(count=FLEET)
        ids = {i["InstanceId"] for i in launched["Instances"]}
        check(len(ids) == FLEET, f"RunInstances MinCount=MaxCount={FLEET} returned {len(ids)} instances")
        mine = [{"Name": f"tag:{MARKER_KEY}", "Values": [res.marker]}]

        seen: list[str] = []
        pages = 0
        kwargs: dict = {"Filters": mine, "MaxResults": PAGE}
        while True:
            page = call(f"DescribeInstances page {pages + 1}", lambda: c.describe_instances(**kwargs))
            pages += 1
            got = [i["InstanceId"] for r in page.get("Reservations", []) for i in r.get("Instances", [])]
            check(len(got) <= PAGE, f"page {pages} holds {len(got)} instances for MaxResults={PAGE}")
            seen += got
            token = page.get("NextToken")
            if not token:
                break
            check(pages < 10, "still a NextToken after 10 pages of 6 instances")
            kwargs["NextToken"] = token
        check(pages >= 2, f"{FLEET} instances with MaxResults={PAGE} came in {pages} page(s)")
        check(len(seen) == len(set(seen)), f"an instance came twice: {sorted(seen)}")
        check(set(seen) == ids, f"pages returned {sorted(set(seen))}, launched {sorted(ids)}")

        paged = [i["InstanceId"] for p in c.get_paginator("describe_instances").paginate(
                 Filters=mine, PaginationConfig={"PageSize": PAGE})
                 for r in p.get("Reservations", []) for i in r.get("Instances", [])]
        check(sorted(paged) == sorted(ids), f"boto3's paginator returned {sorted(paged)}")


@scenario(SUITE)
def ec2_paging_errors(ctx: Ctx) -> None:
    """A forged NextToken and MaxResults out of 5..1000 are InvalidParameterValue 400; MaxResults together
    with InstanceIds is InvalidParameterCombination 400."""
    c = ctx.client("ec2")
    expect("InvalidParameterValue", 400, "a forged NextToken",
           lambda: c.describe_instances(MaxResults=PAGE, NextToken="bm90LWEtcmVhbC10b2tlbg=="))
    expect("InvalidParameterValue", 400, "MaxResults=4", lambda: c.describe_instances(MaxResults=4))
    expect("InvalidParameterValue", 400, "MaxResults=1001", lambda: c.describe_instances(MaxResults=1001))
    expect("InvalidParameterCombination", 400, "MaxResults with InstanceIds",
           lambda: c.describe_instances(MaxResults=PAGE, InstanceIds=[ABSENT["instance"]]))
