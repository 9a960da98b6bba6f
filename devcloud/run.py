"""`make run`: bring up the local cloud the config points at, write client env files, start the gateway.

For a config whose backend lives on 127.0.0.1 (devcloud), the matching devcloud script is run first
(idempotent: seconds when it is already up); a `cloudstack` backend on 127.0.0.1 is the CloudStack simulator
(devcloud/cloudstack_sim), started in this process on its own thread and 127.0.0.1 port, the gateway beside
it (both stop together). For each tenant it writes `.devcloud/aws-<letter>.env`
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL), so
`. .devcloud/aws-a.env && aws s3 ls` works. Then it becomes `cloudgate serve`.

`--replicas N` (`make run REPLICAS=N`): N gateway processes on a private PostgreSQL behind HAProxy on the
listen port (devcloud/replicas.py) instead of one `cloudgate serve`.

`openstack` instead of a config path: the devcloud OpenStack (devcloud/openstack.sh) with the EC2 API;
the config is generated from `.devcloud/openstack.json` and the tenants' own Keystone EC2 keys are used.
It enables the instance metadata listener (`metadata:`, docs/metadata.md) on Nova's metadata port 8775
(free: the devcloud runs no Nova metadata API and no Neutron metadata agent), with a shared secret and an
identity-document signing key made once beside the state (`.devcloud/metadata-*`, 0600).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config import Config, ConfigError, load_config  # noqa: E402 - after the path fix above

DEVCLOUD_SCRIPTS = {"swift": "devcloud/swift.sh"}


def master_key() -> str:
    """The devcloud gateway's SSE-S3 master key: random, made once, kept beside its state (0600)."""
    import base64
    import secrets

    path = ROOT / ".devcloud/sse-master.key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def secret_file(name: str, make: Callable[[], bytes]) -> Path:
    """A devcloud secret made once and kept (0600) under .devcloud."""
    path = ROOT / ".devcloud" / name
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(make())
        path.chmod(0o600)
    return path


def metadata_section() -> dict[str, Any]:
    """The metadata listener of the devcloud gateway: Neutron's `metadata_proxy_shared_secret` and the key
    that signs instance identity documents, both random and made once."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def pem() -> bytes:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    secret = secret_file("metadata-proxy.secret", lambda: secrets.token_hex(24).encode()).read_text().strip()
    return {"enabled": True, "host": "127.0.0.1", "port": 8775, "shared_secret": secret,
            "identity_key_file": str(secret_file("metadata-identity.pem", pem))}


def openstack_config(metadata: bool = True) -> tuple[str, list[tuple[str, str, str]]]:
    """Bring up devcloud OpenStack; write a gateway config for it; return it and the tenants' keys.
    `metadata`: with the metadata listener (one process only: replicas would all bind its port)."""
    import json

    import yaml

    subprocess.run(["bash", str(ROOT / "devcloud/openstack.sh"), "up"], check=True)
    cloud = json.loads((ROOT / ".devcloud/openstack.json").read_text())
    config = {"listen": {"host": "127.0.0.1", "port": 8787}, "region": cloud["region"],
              "backend": {"type": "openstack", "options": {
                  "auth_url": cloud["auth_url"], "service_user": cloud["service"]["user_name"],
                  "service_password": cloud["service"]["password"],
                  "service_project": cloud["service"]["project_name"], "region": cloud["region"],
                  "public_network": cloud["networks"]["floating_ip_pool"],
                  "encrypted_volume_type": cloud.get("volume_types", {}).get("encrypted")}},
              # new buckets encrypted with SSE-S3 by default, as on AWS since 2023 (docs/s3-encryption.md)
              "s3": {"encrypt_new_buckets": True, "sse_write_key_id": "devcloud",
                     "sse_master_keys": {"devcloud": master_key()}},
              # VPC-only accounts as on AWS: a launch without a subnet goes to the default VPC (docs/vpc-on-neutron.md)
              "ec2": {"default_vpc": True},
              "state": {"url": "sqlite:///.devcloud/state-openstack.db"},
              "metadata": metadata_section() if metadata else {"enabled": False}}
    path = ROOT / ".devcloud/cloudgate-openstack.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    tenants = [(f"tenant {name}", t["ec2_access"], t["ec2_secret"]) for name, t in sorted(cloud["tenants"].items())]
    return str(path.relative_to(ROOT)), tenants


def main(config_path: str, replicas: int = 1) -> int:
    tenants = None
    if config_path == "openstack":
        config_path, tenants = openstack_config(metadata=replicas == 1)
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
    sim_port = cloudstack_sim_port(cfg)
    if tenants is None and sim_port is not None:
        # the simulator's accounts: their CloudStack keys are the AWS keys
        from devcloud.cloudstack_sim import DEFAULT_ACCOUNTS

        tenants = [(f"simulated CloudStack account {name}", ak, sk) for name, (ak, sk) in DEFAULT_ACCOUNTS.items()]
    if tenants is None:
        tenants = [(c.display_name or c.access_key, c.access_key, c.secret_key) for c in cfg.auth.static]
    for i, (name, access_key, secret_key) in enumerate(tenants):
        env = out / f"aws-{chr(ord('a') + i)}.env"
        env.write_text(f"export AWS_ACCESS_KEY_ID={access_key}\n"
                       f"export AWS_SECRET_ACCESS_KEY={secret_key}\n"
                       f"export AWS_DEFAULT_REGION={cfg.region}\n"
                       f"export AWS_ENDPOINT_URL={endpoint}\n")
        env.chmod(0o600)
        print(f"credentials for {name}: . {env.relative_to(ROOT)}")
    print(f"cloudgate endpoint: {endpoint}  (config {config_path})", flush=True)
    if cfg.metadata.enabled:
        print(f"instance metadata (behind Neutron's metadata proxy, docs/metadata.md): "
              f"http://{cfg.metadata.host}:{cfg.metadata.port}", flush=True)
    if sim_port is not None:
        return serve_beside_simulator(config_path, sim_port, replicas)
    if replicas > 1:
        from devcloud.replicas import main as run_replicas

        return run_replicas(config_path, replicas)
    exe = Path(sys.executable).with_name("cloudgate")
    os.execv(str(exe), [str(exe), "serve", "--config", config_path])
    return 0  # not reached


def cloudstack_sim_port(cfg: Config) -> int | None:
    """The port of a `cloudstack` endpoint on 127.0.0.1 (no real CloudStack runs here: the simulator's)."""
    if cfg.backend is None or cfg.backend.type != "cloudstack":
        return None
    url = urlsplit(str(cfg.backend.options.get("endpoint", "")))
    if url.hostname not in ("127.0.0.1", "localhost"):
        return None
    return url.port or 80


def serve_beside_simulator(config_path: str, port: int, replicas: int = 1) -> int:
    from devcloud.cloudstack_sim import SimConfig, running
    from gateway.cli import main as cloudgate

    job_delay = float(os.environ.get("CS_SIM_JOB_DELAY", "0.5"))
    with running(SimConfig(port=port, job_delay=job_delay)) as sim:
        print(f"CloudStack simulator: {sim.endpoint} (jobs take {job_delay} s)", flush=True)
        if replicas > 1:
            from devcloud.replicas import main as run_replicas

            return run_replicas(config_path, replicas)
        return cloudgate(["serve", "--config", config_path])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="openstack")
    parser.add_argument("--replicas", type=int, default=1, help="gateway processes behind HAProxy (default 1)")
    args = parser.parse_args()
    sys.exit(main(args.config, max(1, args.replicas)))
