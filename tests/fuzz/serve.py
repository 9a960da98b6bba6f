"""A gateway for bench/fuzz.py in its own process (so its RSS and its logs are its own):

    python -m tests.fuzz.serve s3|ec2 [--port N]

s3: on the devcloud Swift (tests/conftest.py's two tenants), with a fresh bucket of tenant A; ec2: on the
CloudStack simulator. Prints one JSON line ({"endpoint", "access_key", "secret_key", "bucket"}) on stdout
once serving, logs JSON lines on stderr, stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import sys
from typing import Any

from aiohttp import web

from gateway.app import create_app
from gateway.config import parse_config
from gateway.logs import setup_logging
from tests.cloudstack_support import sim_options
from tests.conftest import TENANTS, SwiftEndpoint, gateway_config
from tests.server import free_port

LIMITS = {"body_idle_timeout_seconds": 2, "header_timeout_seconds": 10}


def config_for(service: str, sim: Any = None) -> Any:
    if service == "s3":
        swift = SwiftEndpoint("http://127.0.0.1:18080", "http://127.0.0.1:18080/auth/v1.0")
        data = {**gateway_config(swift), "limits": LIMITS, "logging": {"level": "info", "format": "json"}}
    else:
        data = {"region": "us-east-1", "logging": {"level": "info", "format": "json"},
                "state": {"url": "sqlite://:memory:"}, "auth": {"static": []}, "limits": LIMITS, "ec2": {"default_vpc": False},
                "backend": {"type": "cloudstack", "options": sim_options(sim, job_deadline=5.0, timeout=10)}}
    return parse_config(data, f"tests/fuzz/serve {service}")


async def main(service: str, port: int) -> None:
    sim = None
    if service == "ec2":  # the CloudStack simulator, on this process's loop
        from devcloud.cloudstack_sim import SimConfig, Simulator

        sim = Simulator(SimConfig(job_delay=0.0))
        await sim.start()
    config = config_for(service, sim)
    setup_logging(config.logging)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=config.limits.header_timeout_seconds)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    endpoint = f"http://127.0.0.1:{port}"
    info: dict[str, Any] = {"endpoint": endpoint, "bucket": ""}
    if service == "s3":
        import boto3

        a = TENANTS["a"]
        info.update(access_key=a["access_key"], secret_key=a["secret_key"], bucket=f"cg-fuzz-{secrets.token_hex(4)}")
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id=a["access_key"], aws_secret_access_key=a["secret_key"])
        await asyncio.to_thread(client.create_bucket, Bucket=info["bucket"])
    else:
        info["access_key"], info["secret_key"] = sim.keys("a")
    print(json.dumps(info), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    if sim is not None:
        await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("service", choices=("s3", "ec2"))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(main(args.service, args.port or free_port()))
    sys.exit(0)
