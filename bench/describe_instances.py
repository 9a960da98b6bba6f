"""DescribeInstances through cloudgate vs the raw Nova list it needs, on the devcloud OpenStack.

    .venv/bin/python bench/describe_instances.py [--sizes 10,100,300] [--runs 7] [--batch 50]

Boots instances in the bench project (`.devcloud/openstack.json`, `bash devcloud/openstack.sh up`) straight through
Nova, in batches (min_count = max_count), up to each size in turn; raises the tenant's instance quota with
the service (admin) credentials when a size would exceed it, and restores it afterwards. At each size it
measures, warm, in the same run, on the same machine and with the same client style (keep-alive HTTP, body
read, not parsed; the two requests interleaved, so both see the same background load):

  * cloudgate: a SigV4-signed `DescribeInstances` (the whole tenant, as `aws ec2 describe-instances`), and
  * Nova: `GET /servers/detail` with the same project token the gateway uses,

and prints the medians, their ratio (target ≤ 1.3×) and the number of backend HTTP calls one
DescribeInstances makes (counted by the backend's HTTP observer; it must not grow with N). Everything the
bench created is deleted. Figures only: no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ec2_os_support import Gateway, devcloud_gateway  # noqa: E402
from tests.openstack_env import principal  # noqa: E402

BODY = "Action=DescribeInstances&Version=2016-11-15"


def signed(gw: Gateway, tenant: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A DescribeInstances signed now (valid for 15 minutes)."""
    req = AWSRequest("POST", gw.endpoint + "/", data=BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(tenant["ec2_access"], tenant["ec2_secret"]), "ec2", gw.env["region"]).add_auth(req)
    return req.url, dict(req.headers.items())


Headers = Callable[[], dict[str, str]]


def measure(pool: urllib3.PoolManager, requests: list[tuple[str, str, Headers, str | None]],
            runs: int) -> list[tuple[float, int]]:
    """Median milliseconds of `runs` warm runs of each request (after one warm-up round), interleaved so
    both sides see the same background load (the devcloud is shared), and each one's last body size.
    Headers are made per request, untimed: a SigV4 signature expires after 15 minutes, a bench takes ~1 h."""
    samples: list[list[float]] = [[] for _ in requests]
    sizes = [0] * len(requests)
    for i in range(runs + 1):
        for n, (method, url, make_headers, body) in enumerate(requests):
            headers = make_headers()
            started = time.perf_counter()
            resp = pool.request(method, url, headers=headers, body=body, preload_content=True)
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status != 200:
                raise RuntimeError(f"{method} {url} -> {resp.status}: {resp.data[:300]!r}")
            sizes[n] = len(resp.data)
            if i:
                samples[n].append(elapsed)
    return [(statistics.median(x), size) for x, size in zip(samples, sizes, strict=True)]


def bench_tenant(env: dict[str, Any], name: str = "bench") -> str:
    """The key (in env["tenants"]) of a project the benches boot in: devcloud's own bench projects
    (`bench`, `bench_small`), so hundreds of bench servers never slow the tenants' tests."""
    if name not in env:
        raise SystemExit(f"{name!r} is not in .devcloud/openstack.json: run `bash devcloud/openstack.sh env`")
    env["tenants"][name] = env[name]
    return name


class Cloud:
    """One tenant's Nova, through the gateway's own backend and session (run on the gateway's loop)."""

    def __init__(self, gw: Gateway, key: str) -> None:
        self.gw = gw
        self.env = gw.env
        self.key = key
        self.tenant = gw.env["tenants"][key]
        self.compute: Any = None

    def run(self, coro: Any, timeout: float = 900) -> Any:
        return self.gw.run(coro, timeout=timeout)

    async def _start(self) -> None:
        self.principal = await principal(self.gw.backend, self.tenant)
        self.compute = await self.gw.backend.compute(self.principal)

    def start(self) -> None:
        self.run(self._start())

    @property
    def token(self) -> str:
        return self.principal.attributes["token"]

    @property
    def nova_url(self) -> str:
        return self.compute.nova.url

    async def _limits(self) -> dict[str, int]:
        return (await self.compute.nova.get("/limits"))["limits"]["absolute"]

    def limits(self) -> dict[str, int]:
        return self.run(self._limits())

    async def _set_quota(self, instances: int) -> None:
        token = await self.gw.backend.service_auth.token()
        url = f"{self.nova_url}/os-quota-sets/{self.tenant['project_id']}"
        await self.gw.backend.http.request("PUT", url, token=token,
                                           json_body={"quota_set": {"instances": instances}},
                                           headers={"OpenStack-API-Version": "compute 2.92"})

    def set_quota(self, instances: int) -> None:
        self.run(self._set_quota(instances))

    async def _boot(self, prefix: str, count: int, batch: int) -> list[str]:
        flavors = {f.name: f.id for f in await self.compute.list_flavors()}
        body = {"name": prefix, "imageRef": self.env["image"]["id"], "flavorRef": flavors["t2.micro"],
                "networks": [{"uuid": self.tenant["private_network_id"]}]}
        left = count
        while left:
            n = min(batch, left)
            await self.compute.nova.create_servers({**body, "min_count": n, "max_count": n})
            left -= n
        # one nova-compute builds ~1 server per 3 s when idle, ~1 per 6 s on a loaded 2-CPU machine
        deadline = time.monotonic() + 300 + count * 10
        while True:
            # one listing per poll, every 10 s: listing hundreds of building servers is work for nova-api,
            # taken from the builds themselves on this small machine
            servers = await self.compute.nova.servers(name=f"^{prefix}-[0-9]+$")  # Nova's multi-create names
            states = [s.get("status") for s in servers]
            if len(servers) == count and all(st == "ACTIVE" for st in states):
                return [s["id"] for s in servers]
            if "ERROR" in states:
                raise RuntimeError(f"{states.count('ERROR')} bench servers went to ERROR")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bench servers not ACTIVE in time: {len(servers)}/{count}")
            await asyncio.sleep(10)

    def boot(self, prefix: str, count: int, batch: int) -> list[str]:
        return self.run(self._boot(prefix, count, batch), timeout=360 + count * 11)

    async def _delete(self, prefix: str) -> None:
        gate = asyncio.Semaphore(20)

        async def one(sid: str) -> None:
            async with gate:
                try:
                    await self.compute.nova.delete_server(sid)
                except Exception:  # noqa: BLE001 - already gone
                    pass

        mine = [s["id"] for s in await self.compute.nova.servers(name=f"^{prefix}")]
        await asyncio.gather(*(one(sid) for sid in mine))
        deadline = time.monotonic() + 300
        while await self.compute.nova.servers(name=f"^{prefix}") and time.monotonic() < deadline:
            await asyncio.sleep(3)

    def make_room(self, count: int) -> tuple[int, int, int | None]:
        """(instances used, quota, the quota to restore or None): raises the tenant's quota when `count` more
        would not fit."""
        limits = self.limits()
        used, quota = limits["totalInstancesUsed"], limits["maxTotalInstances"]
        if quota < 0 or used + count <= quota:
            return used, quota, None
        self.set_quota(used + count + 10)
        print(f"raised {self.tenant['project_name']}'s instance quota {quota} -> {used + count + 10} (restored at the end)")
        return used, quota, quota

    def clean_up(self, prefix: str, raised: int | None) -> None:
        """Delete the bench's servers and put back the quota it raised; say what is left if that fails."""
        try:
            self.delete(prefix)
        except Exception as exc:  # noqa: BLE001 - say what is left behind, then fail
            print(f"\ncould not delete the bench's servers: {exc}; delete servers named {prefix}-* in {self.tenant['project_name']}")
            raise
        if raised is not None:
            self.set_quota(raised)
        print(f"\ndeleted the bench's servers ({prefix}-*)" + ("; quota restored" if raised is not None else ""))

    def delete(self, prefix: str) -> None:
        self.run(self._delete(prefix), timeout=400)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    env = json.loads((ROOT / ".devcloud" / "openstack.json").read_text())
    prefix = f"cgbench-{uuid.uuid4().hex[:8]}"
    pool = urllib3.PoolManager(maxsize=4)

    key = bench_tenant(env)
    with devcloud_gateway(env) as gw:
        cloud = Cloud(gw, key)
        cloud.start()
        used, quota, raised = cloud.make_room(sizes[-1])
        print(f"{cloud.tenant['project_name']}: {used} instances before the bench; quota {quota}; {args.runs} warm runs per figure; "
              f"bench servers are named {prefix}-*\n")
        print(f"{'N':>5} {'listed':>6} {'cloudgate ms':>13} {'nova ms':>8} {'ratio':>6} {'backend calls':>13} "
              f"{'xml KB':>7} {'json KB':>7}")
        booted = 0
        try:
            url = signed(gw, env["tenants"][key])[0]

            def gateway_headers() -> dict[str, str]:
                return signed(gw, env["tenants"][key])[1]

            def nova_headers() -> dict[str, str]:
                return {"X-Auth-Token": cloud.token, "OpenStack-API-Version": "compute 2.92",
                        "Accept": "application/json"}

            for size in sizes:
                if size > booted:
                    cloud.boot(f"{prefix}-{size}", size - booted, args.batch)
                    booted = size
                (gw_ms, xml_size), (nova_ms, json_size) = measure(
                    pool, [("POST", url, gateway_headers, BODY),
                           ("GET", f"{cloud.nova_url}/servers/detail", nova_headers, None)], args.runs)
                before = len(gw.calls)
                resp = pool.request("POST", url, headers=gateway_headers(), body=BODY)
                calls = len(gw.calls) - before
                listed = resp.data.count(b"<instanceId>")
                print(f"{size:>5} {listed:>6} {gw_ms:>13.1f} {nova_ms:>8.1f} {gw_ms / nova_ms:>5.2f}x {calls:>13} "
                      f"{xml_size / 1024:>7.0f} {json_size / 1024:>7.0f}", flush=True)
        finally:
            cloud.clean_up(prefix, raised)


if __name__ == "__main__":
    main()
