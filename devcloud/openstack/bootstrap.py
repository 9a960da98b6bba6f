"""devcloud's Keystone catalog and cloud contents, made idempotently in one process.

    bootstrap.py catalog     service project, users and roles, services and endpoints
    bootstrap.py resources   tenants A and B (users, EC2 credentials, networks, routers, default security
                             groups), the gateway's service user, flavors, the public image and network;
                             writes the credentials file (JSON) cloudgate's tooling reads
    bootstrap.py summary     prints what the credentials file holds (without secrets)

Every object is looked up by name first and created only when missing, so running it again costs a
handful of list calls. One Python process instead of the openstack CLI: each CLI call pays ~2 s of
start-up. Passwords come from the environment (devcloud/openstack.sh exports its secrets file).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KS = "http://127.0.0.1:5000/v3"
REGION = "RegionOne"
STATE = Path(os.environ["STATE"])
JSON_PATH = Path(os.environ["JSON"])

# service user -> (service name, type, URL); nova/cinder/neutron/placement/glance call each other as these
SERVICES = {
    "glance": [("glance", "image", "http://127.0.0.1:9292")],
    "placement": [("placement", "placement", "http://127.0.0.1:8778")],
    "nova": [("nova", "compute", "http://127.0.0.1:8774/v2.1")],
    "neutron": [("neutron", "network", "http://127.0.0.1:9696")],
    # Nova looks Cinder up as "volumev3"; current clients as "block-storage": register both, as devstack does
    "cinder": [("cinderv3", "volumev3", "http://127.0.0.1:8776/v3/%(project_id)s"),
               ("cinder", "block-storage", "http://127.0.0.1:8776/v3/%(project_id)s")],
    # keystoneauth serves a project's data from account AUTH_<project id> (services.sh swift_up)
    "swift": [("swift", "object-store", "http://127.0.0.1:28080/v1/AUTH_%(project_id)s")],
}
GATEWAY_USER = "cloudgate"  # validates /v3/ec2tokens and reads EC2 secrets: needs service + admin roles
# Swift keystoneauth's reseller_admin_role (its default name; services.sh/swift.sh keep the default): lets the
# gateway's service user into every project's account AUTH_<id>, as Swift's s3token and ceilometer are, so it
# can act for a bucket's owner once the owner's ACL allowed a request (public reads, grants, lifecycle expiry)
RESELLER_ADMIN_ROLE = "ResellerAdmin"

TENANTS = {  # key -> project, user, password variable, private network CIDR
    "a": ("tenant-a", "user-a", "TENANT_A_PW", "10.1.0.0/20"),
    "b": ("tenant-b", "user-b", "TENANT_B_PW", "10.2.0.0/20"),
}
# smoke.py's own project: its boot/volume/IP checks never show up in (or depend on) the tenants' quotas
# and listings while test suites run there
SMOKE = ("devcloud-smoke", "devcloud-smoke", "SMOKE_PW", "10.9.0.0/24")
# the EC2 compatibility suite's own project: its tests count volumes, instances and tags per project
# (paging), so nothing else may create resources there
SUITE = ("ec2-suite", "ec2-suite", "SUITE_PW", "10.4.0.0/20")
# the benches' own projects (a large and a small tenant, measured side by side): hundreds of bench servers
# never slow (or show up in) the tenants' tests
BENCH = ("cloudgate-bench", "cloudgate-bench", "BENCH_PW", "10.5.0.0/20")
BENCH_SMALL = ("cloudgate-bench-small", "cloudgate-bench-small", "BENCH_PW", "10.6.0.0/20")

# EC2 instance types -> (vCPUs, RAM MiB, root disk GiB). Flavor id = the EC2 name, so the gateway maps
# InstanceType to a flavor without a lookup table. RAM as AWS publishes it; root disk: 8 GiB (AWS's
# default EBS root) for EBS-only types, the instance-store size for m1.
FLAVORS = {
    "t1.micro": (1, 613, 8),
    "t2.nano": (1, 512, 8),
    "t2.micro": (1, 1024, 8),
    "t2.small": (1, 2048, 8),
    "t2.medium": (2, 4096, 8),
    "t2.large": (2, 8192, 8),
    "m1.small": (1, 1740, 160),
    "m1.medium": (1, 3840, 410),
    "m1.large": (2, 7680, 840),
    "m1.xlarge": (4, 15360, 1680),
}

IMAGE_NAME = "cirros-fake"
IMAGE_SIZE = 64 * 1024  # the fake virt driver never reads it: a few zero KiB make a valid raw image
PUBLIC_CIDR, PUBLIC_POOL = "203.0.113.0/24", ("203.0.113.10", "203.0.113.250")  # TEST-NET-3
# The public volume type the gateway maps EC2's Encrypted=true to (backend option encrypted_volume_type):
# LUKS, attached by the compute host (front-end); Cinder's ConfKeyManager holds the key (see cinder_up)
ENCRYPTED_VOLUME_TYPE = "encrypted"
ENCRYPTION = {"provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}


def log(msg: str) -> None:
    print(msg, flush=True)


def connect(user: str, password: str, project: str):
    import openstack  # ~2 s of imports: not for `summary`

    return openstack.connect(auth_url=KS, username=user, password=password, project_name=project,
                             user_domain_name="Default", project_domain_name="Default",
                             region_name=REGION, identity_interface="public")


def admin():
    return connect("admin", os.environ["ADMIN_PW"], "admin")


def ensure_user(idc, name: str, password: str, project=None):
    user = idc.find_user(name, domain_id="default")
    if user is None:
        user = idc.create_user(name=name, password=password, domain_id="default",
                               default_project_id=project.id if project else None)
        log(f"created user {name}")
    # An existing user keeps its password: the secrets file and the database live and die together in
    # the state directory, and a password change would revoke the tokens the services hold.
    return user


def ensure_project(idc, name: str, description: str):
    project = idc.find_project(name, domain_id="default")
    if project is None:
        project = idc.create_project(name=name, domain_id="default", description=description)
        log(f"created project {name}")
    return project


def grant(idc, project, user, roles: dict, *names: str) -> None:
    for name in names:
        idc.assign_project_role_to_user(project, user, roles[name])  # PUT: idempotent


def catalog() -> None:
    conn = admin()
    idc = conn.identity
    roles = {r.name: r for r in idc.roles()}
    if "service" not in roles:
        roles["service"] = idc.create_role(name="service")
    service_project = ensure_project(idc, "service", "OpenStack service users and cloudgate")
    have_services = {(s.name, s.type): s for s in idc.services()}
    endpoints = list(idc.endpoints())
    for user_name, entries in SERVICES.items():
        user = ensure_user(idc, user_name, os.environ["SERVICE_PW"])
        grant(idc, service_project, user, roles, "admin", "service")
        for name, stype, url in entries:
            svc = have_services.get((name, stype)) or idc.create_service(name=name, type=stype)
            have = {e.interface: e for e in endpoints if e.service_id == svc.id}
            for iface in ("public", "internal", "admin"):
                if iface not in have:
                    idc.create_endpoint(service_id=svc.id, interface=iface, url=url, region_id=REGION)
                elif have[iface].url != url:
                    idc.update_endpoint(have[iface], url=url)
    log("catalog ok")


def ec2_credential(idc, user, project) -> tuple[str, str]:
    path = f"/users/{user.id}/credentials/OS-EC2"
    for cred in idc.get(path).json()["credentials"]:
        if cred["tenant_id"] == project.id:
            return cred["access"], cred["secret"]
    cred = idc.post(path, json={"tenant_id": project.id}).json()["credential"]
    log(f"created EC2 credential for {user.name}")
    return cred["access"], cred["secret"]


def ensure_flavors(compute) -> None:
    have = {f.id: f for f in compute.flavors(is_public=None)}
    for name, (vcpus, ram, disk) in FLAVORS.items():
        f = have.get(name)
        if f is not None and (f.vcpus, f.ram, f.disk) == (vcpus, ram, disk):
            continue
        if f is not None:  # flavors are immutable: replace one whose size changed
            compute.delete_flavor(f)
        compute.create_flavor(id=name, name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
        log(f"created flavor {name}")


def ensure_image(image_api):
    img = next(iter(image_api.images(name=IMAGE_NAME)), None)
    if img is not None and img.status == "active":
        return img
    if img is not None:  # an upload interrupted by a stop: start again
        image_api.delete_image(img)
    path = STATE / "data" / f"{IMAGE_NAME}.img"
    path.write_bytes(b"\0" * IMAGE_SIZE)
    img = image_api.create_image(name=IMAGE_NAME, filename=str(path), disk_format="raw",
                                 container_format="bare", visibility="public", architecture="x86_64",
                                 os_distro="cirros", wait=True, allow_duplicates=False)
    log(f"created image {IMAGE_NAME} {img.id}")
    return img


def ensure_public_network(net):
    pub = net.find_network("public", is_router_external=True)
    if pub is None:
        pub = net.create_network(name="public", is_router_external=True, provider_network_type="flat",
                                 provider_physical_network="public")
        log("created network public")
    sub = net.find_subnet("public-subnet", network_id=pub.id)
    if sub is None:
        sub = net.create_subnet(name="public-subnet", network_id=pub.id, ip_version=4, cidr=PUBLIC_CIDR,
                                gateway_ip=PUBLIC_CIDR.replace("0/24", "1"), is_dhcp_enabled=False,
                                allocation_pools=[{"start": PUBLIC_POOL[0], "end": PUBLIC_POOL[1]}])
    return pub, sub


def ensure_encrypted_volume_type(bs) -> None:
    vtype = bs.find_type(ENCRYPTED_VOLUME_TYPE)
    if vtype is None:
        vtype = bs.create_type(name=ENCRYPTED_VOLUME_TYPE, is_public=True,
                               description="LUKS-encrypted volumes (EC2 Encrypted=true)")
        log(f"created volume type {ENCRYPTED_VOLUME_TYPE}")
    # a type without encryption answers an empty document (no provider)
    if not getattr(bs.get_type_encryption(vtype), "provider", None):
        bs.create_type_encryption(vtype, **ENCRYPTION)
        log(f"volume type {ENCRYPTED_VOLUME_TYPE}: encryption {ENCRYPTION['provider']} {ENCRYPTION['cipher']}")


def ensure_tenant_network(net, project, cidr: str, public) -> dict:
    """One private network + subnet + router to `public` per tenant: Nova picks it when a boot names no
    network (it is the tenant's only one), and its router makes floating IPs associable."""
    pid = project.id
    n = next(iter(net.networks(name="private", project_id=pid)), None)
    if n is None:
        n = net.create_network(name="private", project_id=pid)
        log(f"created network private for {project.name}")
    s = next(iter(net.subnets(name="private-subnet", network_id=n.id)), None)
    if s is None:
        s = net.create_subnet(name="private-subnet", network_id=n.id, project_id=pid, ip_version=4, cidr=cidr,
                              dns_nameservers=[])
    r = next(iter(net.routers(name="router", project_id=pid)), None)
    if r is None:
        r = net.create_router(name="router", project_id=pid, external_gateway_info={"network_id": public.id})
        log(f"created router for {project.name}")
    if not any(p.device_owner == "network:router_interface" for p in net.ports(device_id=r.id, network_id=n.id)):
        net.add_interface_to_router(r, subnet_id=s.id)
    return {"private_network_id": n.id, "private_subnet_id": s.id, "private_cidr": cidr, "router_id": r.id}


def ensure_tenant(conn, roles, key, pname, uname, pw_var, cidr, public) -> dict:
    idc = conn.identity
    project = ensure_project(idc, pname, f"cloudgate devcloud tenant {key}")
    user = ensure_user(idc, uname, os.environ[pw_var], project)
    grant(idc, project, user, roles, "member")
    access, secret = ec2_credential(idc, user, project)
    nets = ensure_tenant_network(conn.network, project, cidr, public)
    # Neutron makes a project's "default" security group when the project first lists its groups
    tconn = connect(uname, os.environ[pw_var], pname)
    sg = next(g for g in tconn.network.security_groups(name="default", project_id=project.id))
    tconn.close()
    return {"project_name": pname, "project_id": project.id, "user_name": uname, "user_id": user.id,
            "password": os.environ[pw_var], "ec2_access": access, "ec2_secret": secret,
            "default_security_group_id": sg.id, **nets}


def resources() -> None:
    conn = admin()
    idc = conn.identity
    roles = {r.name: r for r in idc.roles()}
    service_project = ensure_project(idc, "service", "OpenStack service users and cloudgate")
    gw = ensure_user(idc, GATEWAY_USER, os.environ["GATEWAY_PW"], service_project)
    if RESELLER_ADMIN_ROLE not in roles:
        roles[RESELLER_ADMIN_ROLE] = idc.create_role(name=RESELLER_ADMIN_ROLE)
        log(f"created role {RESELLER_ADMIN_ROLE}")
    grant(idc, service_project, gw, roles, "admin", "service", RESELLER_ADMIN_ROLE)

    ensure_flavors(conn.compute)
    image = ensure_image(conn.image)
    public, public_subnet = ensure_public_network(conn.network)
    ensure_encrypted_volume_type(conn.block_storage)

    tenants = {key: ensure_tenant(conn, roles, key, *spec, public) for key, spec in TENANTS.items()}
    smoke = ensure_tenant(conn, roles, "smoke", *SMOKE, public)
    for key in ("ec2_access", "ec2_secret", "default_security_group_id"):
        smoke.pop(key)
    suite = ensure_tenant(conn, roles, "suite", *SUITE, public)
    bench = ensure_tenant(conn, roles, "bench", *BENCH, public)
    bench_small = ensure_tenant(conn, roles, "bench-small", *BENCH_SMALL, public)

    doc = {
        "release": "2026.1",
        "auth_url": KS,
        "region": REGION,
        "availability_zone": "nova",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "endpoints": {"identity": KS, "compute": "http://127.0.0.1:8774/v2.1", "network": "http://127.0.0.1:9696",
                      "image": "http://127.0.0.1:9292", "volumev3": "http://127.0.0.1:8776/v3",
                      "placement": "http://127.0.0.1:8778", "object-store": "http://127.0.0.1:28080"},
        "service": {"user_name": GATEWAY_USER, "user_id": gw.id, "password": os.environ["GATEWAY_PW"],
                    "project_name": "service", "project_id": service_project.id,
                    "roles": ["admin", "service", RESELLER_ADMIN_ROLE]},
        "admin": {"user_name": "admin", "password": os.environ["ADMIN_PW"], "project_name": "admin"},
        "tenants": tenants,
        "smoke": smoke,
        "suite": suite,
        "bench": bench,
        "bench_small": bench_small,
        "image": {"id": image.id, "name": IMAGE_NAME, "disk_format": "raw"},
        "flavors": {name: {"vcpus": v, "ram_mib": r, "disk_gib": d} for name, (v, r, d) in FLAVORS.items()},
        "networks": {"public_network_id": public.id, "public_subnet_id": public_subnet.id,
                     "public_cidr": PUBLIC_CIDR, "floating_ip_pool": "public"},
        "volume_types": {"encrypted": ENCRYPTED_VOLUME_TYPE},
    }
    tmp = JSON_PATH.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(JSON_PATH)
    conn.close()


def summary() -> None:
    doc = json.loads(JSON_PATH.read_text())
    print(f"[openstack] credentials file: {JSON_PATH}")
    print(f"[openstack]   keystone {doc['auth_url']} region {doc['region']} zone {doc['availability_zone']}")
    print(f"[openstack]   gateway service user {doc['service']['user_name']} (project service)")
    for key, t in doc["tenants"].items():
        print(f"[openstack]   tenant {key.upper()}: project {t['project_name']} {t['project_id']}, "
              f"user {t['user_name']}, EC2 access key {t['ec2_access']}")
    print(f"[openstack]   image {doc['image']['name']} {doc['image']['id']}; "
          f"flavors {' '.join(doc['flavors'])}")
    print(f"[openstack]   public network {doc['networks']['public_network_id']} ({doc['networks']['public_cidr']})")


if __name__ == "__main__":
    {"catalog": catalog, "resources": resources, "summary": summary}[sys.argv[1]]()
