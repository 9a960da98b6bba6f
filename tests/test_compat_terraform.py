"""Terraform's AWS provider call path (`compat-tests/run.py --suite terraform`) against cloudgate, on the
devcloud OpenStack (tenant A's Keystone EC2 key, EC2 + S3 + STS on one port) and on the CloudStack
simulator (no object storage there: the S3 scenario must SKIP and say so). Both runs must end with
0 failed; failures are listed with reasons.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cloudstack_support import REGION as CS_REGION
from tests.cloudstack_support import cs_gateway
from tests.ec2_os_support import devcloud_gateway
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture
from tests.server import ROOT

RUNNER = ROOT / "compat-tests" / "run.py"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")
SCENARIOS = 8  # the suite's size: a scenario that vanished must not pass unnoticed
RUN_TIMEOUT = 20 * 60  # each scenario bounds its own waits (COMPAT_EC2_WAIT); this only backs them up
WAIT = "300"  # seconds one instance state change may take: a loaded shared devcloud boots slowly


def run_suite(endpoint: str, access: str, secret: str, region: str, tmp_path: Path) -> dict[str, Any]:
    summary_path = tmp_path / "terraform.json"
    done = subprocess.run(
        [sys.executable, str(RUNNER), "--endpoint", endpoint, "--access-key", access, "--secret-key", secret,
         "--region", region, "--suite", "terraform", "--timeout", "60", "--json", str(summary_path)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=ROOT, check=False,
        env={**os.environ, "COMPAT_EC2_WAIT": os.environ.get("COMPAT_EC2_WAIT", WAIT)})
    lines = done.stdout.strip().splitlines()
    assert lines and SUMMARY.match(lines[-1]), f"no summary line:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    summary = json.loads(summary_path.read_text())
    assert len(summary["results"]) == SCENARIOS, [r["name"] for r in summary["results"]]
    failures = [f"{r['name']}: {r['reason']}" for r in summary["results"] if r["status"] == "FAIL"]
    assert not failures, "\n".join(failures)
    return summary


def test_terraform_suite_on_devcloud_openstack(openstack_env: dict[str, Any], tmp_path: Path) -> None:
    tenant = openstack_env["tenants"]["a"]
    with devcloud_gateway(openstack_env) as gw:
        summary = run_suite(gw.endpoint, tenant["ec2_access"], tenant["ec2_secret"], openstack_env["region"],
                            tmp_path)
    skipped = [f"{r['name']}: {r['reason']}" for r in summary["results"] if r["status"] == "SKIP"]
    assert not skipped, "on devcloud every scenario must run (EC2, S3, STS on one port):\n" + "\n".join(skipped)


def test_terraform_suite_on_cloudstack_simulator(tmp_path: Path) -> None:
    with cs_gateway() as gw:
        access, secret = gw.sim.keys("a")
        summary = run_suite(gw.endpoint, access, secret, CS_REGION, tmp_path)
    by_name = {r["name"]: r for r in summary["results"]}
    s3 = by_name["terraform_s3_bucket_lifecycle"]
    assert s3["status"] == "SKIP" and "no S3 on this endpoint" in s3["reason"], s3
    ran = [r["name"] for r in summary["results"] if r["status"] == "PASS"]
    assert "terraform_aws_instance_lifecycle" in ran and "terraform_provider_start" in ran, by_name
