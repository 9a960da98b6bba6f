"""devcloud smoke check: proves the cloud does what cloudgate needs, within a bounded time.

    smoke.py           the full check (after anything was started or created)
    smoke.py --light   a cloud that passed the full check and kept running: every API answers tenant A,
                       Nova's and Cinder's services report up, the ec2tokens and reseller admin checks (~2 s)

Full check: Keystone tokens for tenants A and B; then, in devcloud's own smoke project (so that test
suites running in the tenants at the same time neither see these resources nor lend them quota), Nova
boots a t2.micro from the public image to ACTIVE and deletes it, Cinder creates a 1 GiB volume to
`available` and deletes it, Neutron allocates and releases a floating IP (the three concurrently). Then Keystone's /v3/ec2tokens, called with the gateway's service
token, must accept a SigV4-signed EC2 request made with tenant A's EC2 credential, and refuse a bad
signature, and the gateway's service token must reach tenant A's Swift account (ResellerAdmin). Exit status
0 only when everything passed.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import openstack
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

DOC = json.loads(Path(os.environ["JSON"]).read_text())
PREFIX = "devcloud-smoke"
POLL = 0.5
DEADLINE = 150  # seconds for the whole check (the machine may be busy with other test runs)


class Failed(Exception):
    pass


def connect(user: str, password: str, project: str):
    return openstack.connect(auth_url=DOC["auth_url"], username=user, password=password, project_name=project,
                             user_domain_name="Default", project_domain_name="Default",
                             region_name=DOC["region"])


def wait_for(what: str, fetch, done, failed=lambda obj: False, timeout: float = 120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        obj = fetch()
        if done(obj):
            return obj
        if failed(obj):
            raise Failed(f"{what}: {getattr(obj, 'status', obj)} {getattr(obj, 'fault', '') or ''}")
        time.sleep(POLL)
    raise Failed(f"{what}: not done within {timeout:.0f} s")


def cleanup(conn) -> None:
    """Leftovers of an interrupted earlier check would only pile up: remove them first."""
    for s in conn.compute.servers(name=f"^{PREFIX}"):
        conn.compute.delete_server(s)
    for v in conn.block_storage.volumes(name=f"{PREFIX}-volume"):
        conn.block_storage.delete_volume(v)
    for ip in conn.network.ips(description=PREFIX):
        conn.network.delete_ip(ip)


def check_server(conn) -> str:
    t = DOC["smoke"]
    server = conn.compute.create_server(name=f"{PREFIX}-server", image_id=DOC["image"]["id"], flavor_id="t2.micro",
                                        networks=[{"uuid": t["private_network_id"]}])
    t0 = time.monotonic()
    server = wait_for("server", lambda: conn.compute.get_server(server.id), lambda s: s.status == "ACTIVE",
                      lambda s: s.status == "ERROR")
    active = time.monotonic() - t0
    addrs = [a["addr"] for net in server.addresses.values() for a in net]
    conn.compute.delete_server(server)
    wait_for("server delete", lambda: conn.compute.find_server(server.id), lambda s: s is None, timeout=90)
    return f"ACTIVE in {active:.1f}s with {', '.join(addrs) or 'no address'}, deleted"


def check_volume(conn) -> str:
    vol = conn.block_storage.create_volume(size=1, name=f"{PREFIX}-volume")
    vol = wait_for("volume", lambda: conn.block_storage.get_volume(vol.id), lambda v: v.status == "available",
                   lambda v: v.status == "error")
    conn.block_storage.delete_volume(vol)
    wait_for("volume delete", lambda: conn.block_storage.find_volume(vol.id), lambda v: v is None, timeout=90)
    return "1 GiB available, deleted"


def check_floating_ip(conn) -> str:
    ip = conn.network.create_ip(floating_network_id=DOC["networks"]["public_network_id"], description=PREFIX)
    conn.network.delete_ip(ip)
    return f"{ip.floating_ip_address} allocated, released"


def check_ec2tokens() -> str:
    """What cloudgate does for every EC2 request: Keystone checks the client's SigV4 signature."""
    svc = DOC["service"]
    token = connect(svc["user_name"], svc["password"], svc["project_name"]).auth_token
    tenant = DOC["tenants"]["a"]
    host = "127.0.0.1:8787"  # the gateway's address as the client signed it
    body = "Action=DescribeInstances&Version=2016-11-15"
    req = AWSRequest(method="POST", url=f"http://{host}/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(tenant["ec2_access"], tenant["ec2_secret"]), "ec2", "us-east-1").add_auth(req)
    auth = req.headers["Authorization"]
    creds = {"access": tenant["ec2_access"], "signature": auth.rsplit("Signature=", 1)[1], "host": host,
             "verb": "POST", "path": "/", "params": dict(p.split("=", 1) for p in body.split("&")),
             "headers": {"Host": host, "Authorization": auth, "X-Amz-Date": req.headers["X-Amz-Date"],
                         "Content-Type": req.headers["Content-Type"]},
             "body_hash": hashlib.sha256(body.encode()).hexdigest()}
    url = DOC["auth_url"] + "/ec2tokens"
    r = requests.post(url, json={"credentials": creds}, headers={"X-Auth-Token": token}, timeout=30)
    if r.status_code != 200:
        raise Failed(f"valid signature: HTTP {r.status_code} {r.text[:200]}")
    project = r.json()["token"]["project"]["id"]
    if project != tenant["project_id"]:
        raise Failed(f"token for project {project}, expected tenant A {tenant['project_id']}")
    bad = dict(creds, signature="0" * 64)
    r = requests.post(url, json={"credentials": bad}, headers={"X-Auth-Token": token}, timeout=30)
    if r.status_code != 401:
        raise Failed(f"bad signature answered HTTP {r.status_code}, expected 401")
    return "valid SigV4 -> token for tenant A; bad signature -> 401"


def check_reseller_admin() -> str:
    """What cloudgate does to act for a bucket's owner (public objects, grants, lifecycle expiry): the service
    user's token (ResellerAdmin) reaches another project's Swift account."""
    svc, tenant = DOC["service"], DOC["tenants"]["a"]
    token = connect(svc["user_name"], svc["password"], svc["project_name"]).auth_token
    url = f"{DOC['endpoints']['object-store']}/v1/AUTH_{tenant['project_id']}"
    r = requests.head(url, headers={"X-Auth-Token": token}, timeout=30)
    if r.status_code not in (200, 204):
        raise Failed(f"HEAD tenant A's account with the service token: HTTP {r.status_code} (ResellerAdmin?)")
    return f"service token -> tenant A's account AUTH_{tenant['project_id'][:8]}...: {r.status_code}"


def check_services() -> str:
    """The processes may be alive yet unusable: ask Nova and Cinder whether their services report up."""
    conn = connect("admin", os.environ["ADMIN_PW"], "admin")
    states = {f"nova-{s.binary.removeprefix('nova-')}": s.state for s in conn.compute.services()}
    states.update({s.binary: s.state for s in conn.block_storage.services()})
    down = sorted(name for name, state in states.items() if state != "up")
    if down:
        raise Failed(f"reported down: {', '.join(down)}")
    return f"{len(states)} services up"


def check_apis(conn) -> str:
    """One tenant-scoped call per API the gateway uses."""
    counts = {"servers": len(list(conn.compute.servers())), "volumes": len(list(conn.block_storage.volumes())),
              "floating IPs": len(list(conn.network.ips())), "images": len(list(conn.image.images()))}
    return ", ".join(f"{n} {what}" for what, n in counts.items())


def report(name: str, t0: float, fn, *args) -> bool:
    try:
        detail = fn(*args)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal to the others
        print(f"[openstack]   {name:<34} FAIL ({time.monotonic() - t0:.1f}s): {exc}", flush=True)
        return False
    print(f"[openstack]   {name:<34} pass ({time.monotonic() - t0:.1f}s): {detail}", flush=True)
    return True


def main() -> int:
    t = DOC["tenants"]["a"]
    t0 = time.monotonic()
    conn = connect(t["user_name"], t["password"], t["project_name"])
    if not report("keystone token (tenant A)", t0, lambda: f"{len(conn.auth_token)}-char token"):
        return 1
    if "--light" in sys.argv:
        light = {"nova/cinder/neutron/glance (tenant A)": (check_apis, conn),
                 "nova + cinder services": (check_services,),
                 "keystone /v3/ec2tokens (SigV4)": (check_ec2tokens,),
                 "swift reseller admin (gateway)": (check_reseller_admin,)}
        with cf.ThreadPoolExecutor(len(light)) as pool:
            futures = [pool.submit(report, name, time.monotonic(), *call) for name, call in light.items()]
            results = [f.result(timeout=DEADLINE) for f in futures]
        print(f"[openstack]   light check {'passed' if all(results) else 'FAILED'} in "
              f"{time.monotonic() - t0:.1f}s", flush=True)
        return 0 if all(results) else 1
    b = DOC["tenants"]["b"]
    if not report("keystone token (tenant B)", time.monotonic(),
                  lambda: f"{len(connect(b['user_name'], b['password'], b['project_name']).auth_token)}-char token"):
        return 1
    t = DOC["smoke"]
    cleanup(connect(t["user_name"], t["password"], t["project_name"]))
    checks = {"nova boot t2.micro -> ACTIVE": check_server, "cinder 1 GiB volume": check_volume,
              "neutron floating IP": check_floating_ip}
    with cf.ThreadPoolExecutor(len(checks)) as pool:
        # one connection per thread: an openstacksdk Connection is not meant to be shared across threads
        futures = [pool.submit(report, name, time.monotonic(), fn,
                               connect(t["user_name"], t["password"], t["project_name"]))
                   for name, fn in checks.items()]
        results = [f.result(timeout=DEADLINE) for f in futures]
    results.append(report("keystone /v3/ec2tokens (SigV4)", time.monotonic(), check_ec2tokens))
    results.append(report("swift reseller admin (gateway)", time.monotonic(), check_reseller_admin))
    print(f"[openstack]   smoke {'passed' if all(results) else 'FAILED'} in {time.monotonic() - t0:.1f}s", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
