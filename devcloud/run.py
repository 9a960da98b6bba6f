"""`make run`: bring up the local cloud the config points at, write client env files, start the gateway.

For a config whose backend lives on 127.0.0.1 (devcloud), the matching devcloud script is run first
(idempotent: seconds when it is already up). For each static credential it writes
`.devcloud/aws-<letter>.env` (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL), so `. .devcloud/aws-a.env && aws s3 ls` works. Then it becomes `cloudgate serve`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config import ConfigError, load_config  # noqa: E402 - after the path fix above

DEVCLOUD_SCRIPTS = {"swift": "devcloud/swift.sh"}


def main(config_path: str) -> int:
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        print(f"invalid configuration: {e}", file=sys.stderr)
        return 2
    if cfg.backend is not None:
        script = DEVCLOUD_SCRIPTS.get(cfg.backend.type)
        url = str(cfg.backend.options.get("auth_url", ""))
        if script and urlsplit(url).hostname in ("127.0.0.1", "localhost"):
            subprocess.run(["bash", str(ROOT / script), "up"], check=True)
    endpoint = f"http://{cfg.listen.host}:{cfg.listen.port}"
    out = ROOT / ".devcloud"
    out.mkdir(exist_ok=True)
    for i, cred in enumerate(cfg.auth.static):
        env = out / f"aws-{chr(ord('a') + i)}.env"
        env.write_text(f"export AWS_ACCESS_KEY_ID={cred.access_key}\n"
                       f"export AWS_SECRET_ACCESS_KEY={cred.secret_key}\n"
                       f"export AWS_DEFAULT_REGION={cfg.region}\n"
                       f"export AWS_ENDPOINT_URL={endpoint}\n")
        env.chmod(0o600)
        print(f"credentials for {cred.display_name or cred.access_key}: . {env.relative_to(ROOT)}")
    print(f"cloudgate endpoint: {endpoint}  (config {config_path})", flush=True)
    exe = Path(sys.executable).with_name("cloudgate")
    os.execv(str(exe), [str(exe), "serve", "--config", config_path])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "config/swift.example.yaml"))
