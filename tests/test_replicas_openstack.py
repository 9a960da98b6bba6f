"""Three real `cloudgate serve` replicas on one real PostgreSQL behind a real HAProxy, in front of the devcloud
OpenStack (Nova with its fake driver, Neutron, Cinder, Keystone-auth Swift): ClientToken retries spread over the
replicas launch once; background work (a launch's public address, a deferred volume delete) of a SIGKILLed
replica is finished by another, once; a rolling restart under a mixed EC2 + S3 load fails no request.
Clients never retry (max_attempts=1): every failure counts. Whatever a test makes in the cloud it deletes."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from backends import base
from devcloud.replicas import Replicas, running
from gateway.ec2.ids import derive
from tests.db_servers import Postgres
from tests.ec2_os_support import Gateway, devcloud_gateway, gateway_config, instances_of, poll, quietly
from tests.openstack_env import openstack_env_fixture, principal  # noqa: F401 - fixture
from tests.replica_load import require_haproxy, roll_under_load

TOKENS, REQUESTS = 10, 100
# A duplicate waits for its token's first launch up to idempotency.WAIT_SECONDS (30 s), then answers 503
# ServiceUnavailable, which every SDK retries: on a loaded devcloud one Nova create can take longer. The
# client retries that answer (and only that) this many times, as boto3's default retry mode would.
RETRIES_503 = 4
CHECK_MS = 200  # HAProxy health-check interval
LEASE, SWEEP = 2, 1  # ec2.work_lease_seconds, ec2.work_sweep_seconds: a killed replica's work resumes in ≤ 3 s


@pytest.fixture(scope="module")
def cloud(openstack_env: dict[str, Any]):
    """An in-process gateway whose backend the tests use to look at the cloud directly (Nova, Cinder)."""
    with devcloud_gateway(openstack_env) as gw:
        gw.backend.http.timeout = 150  # a loaded devcloud's Nova answered a listing in > 60 s
        gw.compute = gw.run(_compute(gw, openstack_env))  # type: ignore[attr-defined]
        yield gw


async def _compute(gw: Gateway, env: dict[str, Any]) -> Any:
    return await gw.backend.compute(await principal(gw.backend, env["tenants"]["a"]))


@pytest.fixture(scope="module")
def cluster(openstack_env: dict[str, Any]):
    require_haproxy()
    pg = Postgres()
    directory = Path(tempfile.mkdtemp(prefix="cg-replicas-os-"))
    try:
        pg.start()
        config = gateway_config(openstack_env)
        config.update(state={"url": pg.url(), "pool_size": 5},
                      server={"drain_notice_seconds": 5 * CHECK_MS / 1000, "drain_seconds": 30})
        config["ec2"].update(work_lease_seconds=LEASE, work_sweep_seconds=SWEEP)
        # a Nova create answered late is still one launch: past a timeout the gateway cannot tell, so give a
        # loaded devcloud (one create took 20-60 s with 5 test sessions on 2 cores) room before that
        config["backend"]["options"]["timeout"] = 150
        config["logging"] = {"level": "warning"}
        with running(config, 3, directory, check_ms=CHECK_MS) as replicas:
            yield replicas
    finally:
        pg.destroy()
        shutil.rmtree(directory, ignore_errors=True)


def client(env: dict[str, Any], endpoint: str, service: str = "ec2", pool: int = 10, read_timeout: int = 90) -> Any:
    t = env["tenants"]["a"]
    return boto3.client(service, endpoint_url=endpoint, region_name=env["region"], aws_access_key_id=t["ec2_access"],
                        aws_secret_access_key=t["ec2_secret"],
                        config=BotoConfig(retries={"total_max_attempts": 1}, max_pool_connections=pool,
                                          connect_timeout=5, read_timeout=read_timeout,
                                          s3={"addressing_style": "path"}))


def ami(c: Any, env: dict[str, Any]) -> str:
    return c.describe_images(Filters=[{"Name": "name", "Values": [env["image"]["name"]]}])["Images"][0]["ImageId"]


def servers_named(cloud: Gateway, prefix: str) -> list[dict[str, Any]]:
    return cloud.run(cloud.compute.nova.servers(name=f"^{re.escape(prefix)}"))  # type: ignore[attr-defined]


class Quota:
    """Room for `n` more instances in tenant A (raised for the test, put back after): the devcloud is shared."""

    def __init__(self, cloud: Gateway, env: dict[str, Any], n: int) -> None:
        self.cloud, self.env, self.n, self.restore = cloud, env, n, None

    async def _set(self, instances: int) -> None:
        nova = self.cloud.compute.nova  # type: ignore[attr-defined]
        token = await self.cloud.backend.service_auth.token()
        await self.cloud.backend.http.request(
            "PUT", f"{nova.url}/os-quota-sets/{self.env['tenants']['a']['project_id']}", token=token,
            json_body={"quota_set": {"instances": instances}}, headers={"OpenStack-API-Version": "compute 2.92"})

    def __enter__(self) -> Quota:
        nova = self.cloud.compute.nova  # type: ignore[attr-defined]
        limits = self.cloud.run(nova.get("/limits"))["limits"]["absolute"]
        used, quota = limits["totalInstancesUsed"], limits["maxTotalInstances"]
        if 0 <= quota < used + self.n:
            self.cloud.run(self._set(used + self.n + 5))
            self.restore = quota
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.restore is not None:
            self.cloud.run(self._set(self.restore))


def terminate(c: Any, cloud: Gateway, prefix: str, iids: list[str], wait: bool = False) -> None:
    """Terminate through the gateway (which releases their launch addresses too); servers of the test the
    gateway did not name are deleted in Nova. With `wait`, until Nova has none left (bounded)."""
    if iids:
        quietly(lambda: c.terminate_instances(InstanceIds=sorted(iids)))
    nova = cloud.compute.nova  # type: ignore[attr-defined]
    known = {derive("instance", s["id"]) for s in servers_named(cloud, prefix)}
    for sid in [s["id"] for s in servers_named(cloud, prefix) if derive("instance", s["id"]) not in iids]:
        quietly(lambda sid=sid: cloud.run(nova.delete_server(sid)))
    if wait and known:
        poll(lambda: servers_named(cloud, prefix), lambda left: not left, timeout=180, interval=3,
             what=f"servers {prefix}* deleted")


def resumed_lines(replicas: Replicas, key_part: str) -> list[str]:
    """Replicas' log lines saying they resumed another's background work (work.py logs it at warning)."""
    out = []
    for log in sorted(replicas.dir.glob("replica-*.log")):
        out += [line for line in log.read_text(errors="replace").splitlines()
                if "resumed here" in line and key_part in line]
    return out


def work_lines(replicas: Replicas) -> list[str]:
    """The replicas' log lines about background work and launch addresses (for a failure's message)."""
    return [line[:300] for log in sorted(replicas.dir.glob("replica-*.log"))
            for line in log.read_text(errors="replace").splitlines()
            if "cloudgate.ec2.work" in line or "public_ips" in line]


def test_run_instances_100_requests_10_tokens_over_replicas_launch_10(cluster, cloud, openstack_env):
    """100 concurrent RunInstances carrying 10 ClientTokens, spread over the 3 replicas directly and HAProxy:
    Nova holds exactly 10 new servers (one per token), and every retry answered its token's reservation."""
    env = openstack_env
    clients = [client(env, cluster.replica_endpoint(i), pool=25, read_timeout=200) for i in range(3)]
    clients.append(client(env, cluster.endpoint, pool=25, read_timeout=200))
    image = ami(clients[3], env)
    prefix = f"cgrep-{uuid.uuid4().hex[:8]}"
    tokens = [f"{prefix}-tok-{n}" for n in range(TOKENS)]
    launched: set[str] = set()
    waited: list[int] = []

    def launch(i: int) -> tuple[str, str, tuple[str, ...]]:
        n = i % TOKENS
        for attempt in range(RETRIES_503 + 1):
            try:
                r = clients[(i + attempt) % len(clients)].run_instances(
                    ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro", ClientToken=tokens[n],
                    TagSpecifications=[{"ResourceType": "instance",
                                        "Tags": [{"Key": "Name", "Value": f"{prefix}-{n}"}]}])
            except ClientError as e:
                code = e.response["Error"]["Code"]
                if code != "ServiceUnavailable" or attempt == RETRIES_503:
                    return tokens[n], code, ()
                waited.append(i)  # the token's launch ran longer than a duplicate waits: retried, as SDKs do
                continue
            return tokens[n], r["ReservationId"], tuple(x["InstanceId"] for x in r["Instances"])
        raise AssertionError("unreachable")

    with Quota(cloud, env, TOKENS) as quota:
        try:
            started = time.monotonic()
            with ThreadPoolExecutor(25) as pool:
                results = list(pool.map(launch, range(REQUESTS)))
            print(f"{REQUESTS} RunInstances, {TOKENS} tokens: {time.monotonic() - started:.1f} s, "
                  f"{len(waited)} duplicate(s) answered 503 after waiting for a slow first launch")
            answers: dict[str, set] = defaultdict(set)
            for token, reservation, ids in results:
                answers[token].add((reservation, ids))
                launched.update(ids)
            names = Counter(s["name"] for s in servers_named(cloud, prefix))
            assert names == {f"{prefix}-{n}": 1 for n in range(TOKENS)}  # exactly one launch per token
            errors = Counter(r for _, r, ids in results if not ids)
            assert not errors, (errors, time.monotonic() - started)
            assert len(results) == REQUESTS and len(answers) == TOKENS
            assert all(len(a) == 1 for a in answers.values()), answers  # every retry: the same reservation
            assert len(launched) == TOKENS
        finally:  # the quota goes back only once they are gone
            terminate(clients[3], cloud, prefix, sorted(launched), wait=quota.restore is not None)


def test_launch_address_task_of_a_killed_replica_finished_by_another_once(cluster, cloud, openstack_env):
    """RunInstances through replica 0, which is SIGKILLed as soon as it answered (its task attaching the public
    address sleeps a second first): another replica resumes the recorded work and the instance gets exactly
    one floating address."""
    env = openstack_env
    c0, c1 = client(env, cluster.replica_endpoint(0)), client(env, cluster.replica_endpoint(1))
    prefix = f"cgrep-{uuid.uuid4().hex[:8]}"
    image = ami(c1, env)
    iid = None
    with Quota(cloud, env, 1) as quota:
        try:
            iid = c0.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro", TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": prefix}]}])["Instances"][0]["InstanceId"]
            cluster.kill(0)
            try:  # the server must be built first (a loaded devcloud's Nova took up to 2 minutes)
                poll(lambda: instances_of(c1.describe_instances(InstanceIds=[iid]))[0].get("PublicIpAddress"),
                     bool, timeout=180, interval=2, what="a public address given by another replica")
            except AssertionError as e:
                raise AssertionError(f"{e}; resumed: {resumed_lines(cluster, f'/{iid}')}; server: "
                                     f"{[(s['status'], s['addresses']) for s in servers_named(cloud, prefix)]}; "
                                     f"logs: {work_lines(cluster)[-10:]}") from None
            time.sleep(LEASE + SWEEP)  # a second runner, were there one, would have added its address by now
            (server,) = servers_named(cloud, prefix)
            # Neutron's truth (Nova's address cache lags behind it): floating IPs on the server's ports
            floating = cloud.run(_floating_ips_of(cloud, server["id"]))
            assert len(floating) == 1, floating
            assert len(resumed_lines(cluster, f"/{iid}")) == 1
        finally:
            cluster.start_replica(0)
            terminate(c1, cloud, prefix, [iid] if iid else [], wait=quota.restore is not None)


def test_deferred_volume_delete_of_a_killed_replica_finished_by_another(cluster, cloud, openstack_env):
    """DeleteVolume of a volume with a snapshot (deferred: Cinder keeps it), then DeleteSnapshot through replica
    1, SIGKILLed as soon as it answered: another replica resumes the recorded retry and Cinder's volume goes."""
    env = openstack_env
    c1, c2 = client(env, cluster.replica_endpoint(1)), client(env, cluster.replica_endpoint(2))
    vid = sid = None
    quick = {"Delay": 2, "MaxAttempts": 45}
    try:
        vid = c2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
        c2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=quick)
        sid = c2.create_snapshot(VolumeId=vid)["SnapshotId"]
        c2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=quick)
        bid = cloud.run(_volume_bid(cloud, vid))
        c1.delete_volume(VolumeId=vid)  # deferred: gone for EC2, kept by Cinder for its snapshot
        time.sleep(2)  # replica 1's first task saw the snapshot still there and stopped (its record dropped)
        c1.delete_snapshot(SnapshotId=sid)
        cluster.kill(1)
        sid = None
        poll(lambda: cloud.run(_cinder_volume(cloud, bid)), lambda v: v is None, timeout=120, interval=2,
             what="Cinder's volume deleted by another replica")
        assert len(resumed_lines(cluster, f"/{vid}")) == 1
    finally:
        cluster.start_replica(1)
        if sid:
            quietly(lambda: c2.delete_snapshot(SnapshotId=sid))


async def _volume_bid(cloud: Gateway, vid: str) -> str:
    """The Cinder id behind an EC2 volume id (ids are derived from the cloud's: gateway/ec2/ids.py)."""
    found = [v.id for v in await cloud.compute.list_volumes()  # type: ignore[attr-defined]
             if derive("volume", v.id) == vid]
    assert found, vid
    return found[0]


async def _floating_ips_of(cloud: Gateway, server_id: str) -> list[dict[str, Any]]:
    neutron = cloud.compute.neutron  # type: ignore[attr-defined]
    ports = {p["id"] for p in await neutron.ports(device_id=server_id)}
    return [f for f in await neutron.floating_ips() if f.get("port_id") in ports]


async def _cinder_volume(cloud: Gateway, bid: str) -> Any:
    try:
        return await cloud.compute.cinder.volume(bid)  # type: ignore[attr-defined]
    except base.NotFound:
        return None


def test_rolling_restart_under_mixed_ec2_s3_load_no_failed_request(cluster, openstack_env):
    """Each replica SIGTERMed (drains, exits 0) and restarted in turn, through HAProxy, under a steady load of
    DescribeInstances, CreateTags, PutObject, GetObject and ListObjectsV2 on 4 threads: 0 failed requests."""
    env = openstack_env
    ec2 = client(env, cluster.endpoint)
    s3 = client(env, cluster.endpoint, "s3")
    bucket = f"cgrep-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["region"]})
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]  # a resource to tag: no server needed

    def step(n: int, i: int) -> None:
        kind = (n + i) % 5
        if kind == 0:
            ec2.describe_volumes(VolumeIds=[vid])
        elif kind == 1:
            ec2.create_tags(Resources=[vid], Tags=[{"Key": f"t{n}", "Value": str(i)}])
        elif kind == 2:
            s3.put_object(Bucket=bucket, Key=f"k{n}", Body=f"{n}-{i}".encode())
        elif kind == 3:
            with_body = s3.get_object(Bucket=bucket, Key=f"k{n}") if i >= 5 else None
            if with_body is not None:
                with_body["Body"].read()
        else:
            s3.list_objects_v2(Bucket=bucket, MaxKeys=10)

    try:
        counts = roll_under_load(cluster, step, clients=4)
    finally:
        for n in range(4):
            quietly(lambda n=n: s3.delete_object(Bucket=bucket, Key=f"k{n}"))
        quietly(lambda: s3.delete_bucket(Bucket=bucket))
        quietly(lambda: ec2.delete_volume(VolumeId=vid))
    assert counts["ok"] > 40 and set(counts) == {"ok"}, counts
