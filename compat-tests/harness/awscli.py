"""Run the aws-cli against the target, isolated from the user's own AWS configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# The cli starts slowly (~1-2 s); its own socket timeouts bound the network part.
CLI_TIMEOUT = 60.0


def find_aws(explicit: str | None = None) -> str | None:
    """`explicit`, else the `aws` next to this Python (a venv), else the one on PATH."""
    if explicit:
        return explicit
    beside = Path(sys.executable).with_name("aws")
    return str(beside) if beside.exists() else shutil.which("aws")


def run_aws(exe: str, args: list[str], *, endpoint: str, region: str, access_key: str, secret_key: str,
            timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key, "AWS_DEFAULT_REGION": region,
        # No profile, config or credentials file may change what is sent.
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", "AWS_PAGER": "",
    })
    cmd = [exe, "--endpoint-url", endpoint, "--cli-connect-timeout", str(int(timeout)),
           "--cli-read-timeout", str(int(timeout)), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT, check=False)
