"""EC2 over three real `cloudgate serve` replicas on one real PostgreSQL behind a real HAProxy, on the
CloudStack simulator (devcloud/cloudstack_sim): ClientToken retries spread over replicas launch once."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from devcloud.cloudstack_sim import SimConfig
from devcloud.cloudstack_sim import running as sim_running
from devcloud.replicas import running
from tests.cloudstack_support import REGION, instances_of, sim_options
from tests.db_servers import Postgres
from tests.replica_load import require_haproxy, roll_under_load

TOKENS, REQUESTS = 3, 30


@pytest.fixture(scope="module")
def cluster():
    require_haproxy()
    pg = Postgres()
    directory = Path(tempfile.mkdtemp(prefix="cg-replicas-ec2-"))
    try:
        pg.start()
        with sim_running(SimConfig(job_delay=0.05)) as sim:
            config = {"region": REGION, "logging": {"level": "warning"}, "auth": {"static": []},
                      "ec2": {"default_vpc": False},  # classic-style launches, as the checks below expect
                      "state": {"url": pg.url(), "pool_size": 5},
                      "server": {"drain_notice_seconds": 1, "drain_seconds": 20},
                      "backend": {"type": "cloudstack",
                                  "options": sim_options(sim, job_deadline=10, timeout=10)}}
            with running(config, 3, directory, check_ms=200) as replicas:
                yield replicas, sim
    finally:
        pg.destroy()
        shutil.rmtree(directory, ignore_errors=True)


def ec2(endpoint: str, sim, tenant: str = "a"):
    ak, sk = sim.keys(tenant)
    return boto3.client("ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ak,
                        aws_secret_access_key=sk,
                        config=BotoConfig(retries={"total_max_attempts": 1}, max_pool_connections=15,
                                          read_timeout=60))


def test_run_instances_client_tokens_over_replicas_launch_once(cluster):
    replicas, sim = cluster
    clients = [ec2(replicas.replica_endpoint(i), sim) for i in range(3)] + [ec2(replicas.endpoint, sim)]
    ami = clients[0].describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]
    before = {i["InstanceId"] for i in instances_of(clients[3].describe_instances())}
    tokens = [f"tok-{os.getpid()}-{n}" for n in range(TOKENS)]

    def launch(i: int) -> tuple[str, str, tuple[str, ...]]:
        token = tokens[i % TOKENS]
        r = clients[i % len(clients)].run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                                                    ClientToken=token)
        return token, r["ReservationId"], tuple(x["InstanceId"] for x in r["Instances"])

    with ThreadPoolExecutor(15) as pool:
        results = list(pool.map(launch, range(REQUESTS)))
    answers: dict[str, set] = defaultdict(set)
    for token, reservation, ids in results:
        answers[token].add((reservation, ids))
    assert all(len(a) == 1 for a in answers.values()), answers  # every retry: the same reservation
    launched = {iid for a in answers.values() for _, ids in a for iid in ids}
    assert len(launched) == TOKENS
    after = {i["InstanceId"] for i in instances_of(clients[3].describe_instances())}
    assert after - before == launched  # exactly TOKENS launches in the cloud, no stray one
    clients[3].terminate_instances(InstanceIds=sorted(launched))


def test_create_delete_tags_racing_over_replicas_serializable(cluster):
    """20 CreateTags (distinct keys) and 10 DeleteTags (keys present before) on one instance at once, spread
    over the replicas: every serial order ends with all 20 added and all 10 deleted."""
    replicas, sim = cluster
    clients = [ec2(replicas.replica_endpoint(i), sim) for i in range(3)]
    ami = clients[0].describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]
    iid = clients[0].run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    try:
        clients[0].create_tags(Resources=[iid], Tags=[{"Key": f"d{n}", "Value": "x"} for n in range(10)])

        def change(i: int) -> None:
            c = clients[i % 3]
            if i < 20:
                c.create_tags(Resources=[iid], Tags=[{"Key": f"k{i}", "Value": str(i)}])
            else:
                c.delete_tags(Resources=[iid], Tags=[{"Key": f"d{i - 20}"}])

        with ThreadPoolExecutor(15) as pool:
            list(pool.map(change, range(30)))
        tags = clients[1].describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
        assert {t["Key"]: t["Value"] for t in tags} == {f"k{i}": str(i) for i in range(20)}
    finally:
        clients[0].terminate_instances(InstanceIds=[iid])


def test_rolling_restart_under_ec2_load_no_failed_request(cluster):
    """Each replica SIGTERMed (drains, exits 0) and restarted in turn under a steady EC2 load through HAProxy
    (DescribeInstances, CreateTags, DescribeTags on 3 threads; nothing retried): 0 failed requests."""
    replicas, sim = cluster
    c = ec2(replicas.endpoint, sim)
    ami = c.describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]
    iid = c.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    def step(n: int, i: int) -> None:
        if i % 3 == 0:
            c.describe_instances(InstanceIds=[iid])
        elif i % 3 == 1:
            c.create_tags(Resources=[iid], Tags=[{"Key": f"t{n}", "Value": str(i)}])
        else:
            c.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])

    try:
        counts = roll_under_load(replicas, step, clients=3)
    finally:
        c.terminate_instances(InstanceIds=[iid])
    assert counts["ok"] > 30 and set(counts) == {"ok"}, counts


def test_instance_record_changes_racing_over_two_replicas_none_lost(cluster):
    """ModifyInstanceAttribute (3 attributes), ModifyInstanceMetadataOptions (3 options) and CreateTags on one
    instance, all at once through two replica processes, 4 rounds with new values each: after every round each
    field holds that round's value (every serial order gives that; a lost read-modify-write keeps an old one)."""
    replicas, sim = cluster
    clients = [ec2(replicas.replica_endpoint(i), sim) for i in range(2)]
    ami = clients[0].describe_images(Filters=[{"Name": "name", "Values": ["cirros-0.6"]}])["Images"][0]["ImageId"]
    iid = clients[0].run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    try:
        for r in range(4):
            on = r % 2 == 0
            changes = [  # (action, parameters): each on its own thread, alternately on the two replicas
                ("modify_instance_attribute", {"DisableApiTermination": {"Value": on}}),
                ("modify_instance_attribute", {"DisableApiStop": {"Value": not on}}),
                ("modify_instance_attribute", {"InstanceInitiatedShutdownBehavior": {
                    "Value": "terminate" if on else "stop"}}),
                ("modify_instance_metadata_options", {"HttpPutResponseHopLimit": r + 2}),
                ("modify_instance_metadata_options", {"HttpTokens": "required" if on else "optional"}),
                ("modify_instance_metadata_options", {"InstanceMetadataTags": "enabled" if on else "disabled"}),
                ("create_tags", {"Tags": [{"Key": f"round{r}", "Value": "x"}]}),
            ]

            def act(n: int, changes=changes) -> None:
                action, params = changes[n]
                target = {"Resources": [iid]} if action == "create_tags" else {"InstanceId": iid}
                getattr(clients[n % 2], action)(**target, **params)

            with ThreadPoolExecutor(len(changes)) as pool:
                list(pool.map(act, range(len(changes))))
            c = clients[r % 2]

            def attr(name: str, key: str, c=c) -> object:
                return c.describe_instance_attribute(InstanceId=iid, Attribute=name)[key]["Value"]

            assert attr("disableApiTermination", "DisableApiTermination") is on
            assert attr("disableApiStop", "DisableApiStop") is (not on)
            assert attr("instanceInitiatedShutdownBehavior", "InstanceInitiatedShutdownBehavior") == (
                "terminate" if on else "stop")
            options = instances_of(c.describe_instances(InstanceIds=[iid]))[0]["MetadataOptions"]
            assert (options["HttpPutResponseHopLimit"], options["HttpTokens"], options["InstanceMetadataTags"]) == (
                r + 2, "required" if on else "optional", "enabled" if on else "disabled"), (r, options)
            tags = c.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
            assert {t["Key"] for t in tags} == {f"round{n}" for n in range(r + 1)}
    finally:
        clients[0].modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
        clients[0].terminate_instances(InstanceIds=[iid])
