"""Simulated commands: virtual machines (the state machine), templates, key pairs, offerings, zones, users."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Any

from .core import (
    Account,
    CsError,
    Job,
    Record,
    World,
    allocate_ip,
    command,
    job_error,
    listing,
    new_id,
    now,
    owned,
    param_error,
    visible,
)


def _invalid_object(cmd: str, table: str, ident: str) -> CsError:
    return param_error(f"Unable to execute API command {cmd.lower()} due to invalid value. Object {table}(uuid: "
                       f"{ident}) does not exist.", 4350)


def _invalid_param(cmd: str, name: str, value: str) -> CsError:
    return param_error(f"Unable to execute API command {cmd.lower()} due to invalid value. Invalid parameter "
                       f"{name} value={value} due to incorrect long value format, or entity does not exist or due "
                       "to incorrect parameter annotation for the field in api cmd class.", 9999)


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


# ---- users (admin) ---------------------------------------------------------------------------------------------
def _user(world: World, a: Account) -> Record:
    return {"id": a.user_id, "username": a.name, "firstname": a.name, "lastname": "user", "created": now(),
            "state": a.state, "account": a.name, "accounttype": 1 if a.admin else 0, "usersource": "native",
            "roletype": "Admin" if a.admin else "User", "rolename": "Root Admin" if a.admin else "User",
            "domainid": world.domain_id, "domain": "ROOT", "apikey": a.api_key, "accountid": a.id,
            "iscallerchilddomain": False, "isdefault": a.admin}


def _admin_only(account: Account, cmd: str) -> None:
    if not account.admin:
        raise CsError(432, "The given command does not exist or it is not available for the user", 9999)


@command("getUser")
def get_user(world: World, account: Account, p: Record) -> Record:
    _admin_only(account, "getUser")
    found = world.by_key(p["userapikey"])
    if found is None:
        raise param_error("Unable to find user with given api key", 4350)
    return {"user": _user(world, found)}


@command("getUserKeys")
def get_user_keys(world: World, account: Account, p: Record) -> Record:
    found = next((a for a in world.accounts.values() if a.user_id == p["id"]), None)
    if found is None or (found is not account and not account.admin):
        raise _invalid_param("getUserKeys", "id", p["id"])
    return {"userkeys": {"apikey": found.api_key, "secretkey": found.secret_key}}


@command("listUsers")
def list_users(world: World, account: Account, p: Record) -> Record:
    users = [a for a in world.accounts.values() if account.admin or a is account]
    return listing("user", [_user(world, a) for a in users], p)


@command("listAccounts")
def list_accounts(world: World, account: Account, p: Record) -> Record:
    found = [a for a in world.accounts.values() if account.admin or a is account]
    if p.get("name"):
        found = [a for a in found if a.name == p["name"]]
    if p.get("id"):
        found = [a for a in found if a.id == p["id"]]
    return listing("account", [{"id": a.id, "name": a.name, "accounttype": 1 if a.admin else 0,
                                "domainid": world.domain_id, "domain": "ROOT", "state": a.state,
                                "user": [_user(world, a)]} for a in found], p)


@command("listResourceLimits")
def list_resource_limits(world: World, account: Account, p: Record) -> Record:
    limits = [(0, "user_vm", 20), (1, "public_ip", 20), (2, "volume", 20), (3, "snapshot", 20),
              (4, "template", 20), (10, "primary_storage", 200)]
    return listing("resourcelimit", [{"account": account.name, "domainid": world.domain_id, "domain": "ROOT",
                                      "resourcetype": str(t), "resourcetypename": n, "max": mx}
                                     for t, n, mx in limits], p)


# ---- catalogue ---------------------------------------------------------------------------------------------------
@command("listZones")
def list_zones(world: World, account: Account, p: Record) -> Record:
    zones = [world.zone] if not p.get("id") or p["id"] == world.zone["id"] else []
    return listing("zone", zones, p)


@command("listRegions")
def list_regions(world: World, account: Account, p: Record) -> Record:
    return listing("region", [world.region], p)


@command("listServiceOfferings")
def list_service_offerings(world: World, account: Account, p: Record) -> Record:
    found = [o for o in world.offerings if (not p.get("id") or o["id"] == p["id"])
             and (not p.get("name") or o["name"] == p["name"])]
    return listing("serviceoffering", found, p)


@command("listDiskOfferings")
def list_disk_offerings(world: World, account: Account, p: Record) -> Record:
    found = [o for o in world.disk_offerings if (not p.get("id") or o["id"] == p["id"])
             and (not p.get("name") or o["name"] == p["name"])]
    return listing("diskoffering", found, p)


@command("listOsTypes")
def list_os_types(world: World, account: Account, p: Record) -> Record:
    return listing("ostype", world.ostypes, p)


# ---- virtual machines ----------------------------------------------------------------------------------------------
def _vm_or_error(world: World, account: Account, cmd: str, vid: str) -> Record:
    vm = owned(world.vms, vid, account)
    if vm is None or vm["state"] == "Expunging":
        raise _invalid_param(cmd, "id", vid)
    return vm


def sync_vm_volumes(world: World, vm: Record) -> None:
    for v in world.volumes.values():
        if v.get("virtualmachineid") == vm["id"]:
            v["vmstate"] = vm["state"]


def _set_state(world: World, vm: Record, state: str) -> None:
    vm["state"] = state
    sync_vm_volumes(world, vm)


def _groups_for(world: World, account: Account, p: Record, cmd: str) -> list[Record]:
    groups = []
    for gid in [g for g in (p.get("securitygroupids") or "").split(",") if g]:
        g = owned(world.groups, gid, account)
        if g is None:
            raise _invalid_object(cmd, "security_group", gid)
        groups.append(g)
    for name in [n for n in (p.get("securitygroupnames") or "").split(",") if n]:
        g = next((g for g in world.groups.values() if g["_owner"] == account.name and g["name"] == name), None)
        if g is None:
            raise param_error(f"Unable to find group by name {name}", 4350)
        groups.append(g)
    return groups or [g for g in world.groups.values() if g["_owner"] == account.name and g["name"] == "default"]


@command("deployVirtualMachine")
def deploy(world: World, account: Account, p: Record) -> Job:
    cmd = "deployVirtualMachine"
    if p["zoneid"] != world.zone["id"]:
        raise _invalid_object(cmd, "data_center", p["zoneid"])
    offering = next((o for o in world.offerings if o["id"] == p["serviceofferingid"]), None)
    if offering is None:
        raise param_error(f"Unable to find service offering: {p['serviceofferingid']}", 4350)
    template = world.templates.get(p["templateid"])
    if template is None or not (template["ispublic"] or template["_owner"] == account.name
                                or account.name in template.get("_shared", ())):
        raise _invalid_object(cmd, "vm_template", p["templateid"])
    if not template["isready"]:
        raise param_error(f"Template {p['templateid']} has not been completely downloaded", 4350)
    if p.get("keypair") and (account.name, p["keypair"]) not in world.keypairs:
        raise param_error(f"A key pair with name '{p['keypair']}' was not found.", 4350)
    if p.get("userdata"):
        try:
            base64.b64decode(p["userdata"], validate=True)
        except (binascii.Error, ValueError):
            raise param_error("User data is not base64 encoded", 4350) from None
    groups = _groups_for(world, account, p, cmd)
    network = next((n for n in world.networks.values() if n["_owner"] == account.name and n.get("isdefault")), None)
    if p.get("networkids"):
        network = owned(world.networks, p["networkids"].split(",")[0], account)
        if network is None:
            raise _invalid_object(cmd, "networks", p["networkids"])
    ip = allocate_ip(world, network) if network else "10.0.0.2"
    if ip is None:
        raise CsError(533, f"Unable to create a deployment for VM: insufficient address capacity in network "
                           f"{network['name']}", 4320)  # type: ignore[index]
    if network and network.get("vpcid"):
        network["state"] = "Implemented"  # the first VM implements a tier
    vid = new_id()
    vm: Record = {
        "id": vid, "name": f"VM-{vid}", "displayname": p.get("displayname") or f"VM-{vid}",
        **world.owner_fields(account), "created": now(), "state": "Starting", "haenable": False,
        "zoneid": world.zone["id"], "zonename": world.zone["name"], "templateid": template["id"],
        "templatename": template["name"], "templatedisplaytext": template["displaytext"],
        "passwordenabled": False, "serviceofferingid": offering["id"], "serviceofferingname": offering["name"],
        "cpunumber": offering["cpunumber"], "cpuspeed": offering["cpuspeed"], "memory": offering["memory"],
        "guestosid": template["ostypeid"], "rootdeviceid": 0, "rootdevicetype": "ROOT",
        "hypervisor": "Simulator", "isdynamicallyscalable": False, "displayvm": True, "tags": [],
        "affinitygroup": [], "instancename": f"i-2-{len(world.vms) + 3}-VM",
        "securitygroup": [{"id": g["id"], "name": g["name"], "description": g["description"],
                           "ingressrule": [], "egressrule": [], "tags": []} for g in groups],
        "nic": [{"id": new_id(), "networkid": network["id"] if network else new_id(),
                 "networkname": network["name"] if network else "guest",
                 "netmask": network.get("netmask", "255.255.255.0") if network else "255.255.255.0",
                 "gateway": network["gateway"] if network else "10.0.0.1", "ipaddress": ip,
                 "isolationuri": "ec2://untagged", "broadcasturi": "vlan://untagged", "traffictype": "Guest",
                 "type": "Isolated", "isdefault": True, "macaddress": world.next_mac(), "secondaryip": [],
                 "extradhcpoption": []}],
        "_owner": account.name, "_userdata": p.get("userdata")}
    if p.get("keypair"):
        vm["keypair"] = p["keypair"]
    world.vms[vid] = vm
    for g in groups:
        g["virtualmachineids"].append(vid)
        g["virtualmachinecount"] = len(g["virtualmachineids"])
    root = new_id()
    world.volumes[root] = {
        "id": root, "name": f"ROOT-{vid[:8]}", "zoneid": world.zone["id"], "zonename": world.zone["name"],
        "type": "ROOT", "deviceid": 0, "virtualmachineid": vid, "vmname": vm["name"],
        "vmdisplayname": vm["displayname"], "vmstate": "Starting", "size": template["size"], "created": now(),
        "state": "Ready", **world.owner_fields(account), "storagetype": "shared", "hypervisor": "Simulator",
        "destroyed": False, "isextractable": False, "displayvolume": True, "tags": [], "_owner": account.name}

    def work() -> Record:
        if vm["state"] == "Starting":
            _set_state(world, vm, "Running")
        return {"virtualmachine": vm}

    return Job(work, "VirtualMachine", vid, {"id": vid}, on_fail=lambda: _set_state(world, vm, "Error"))


@command("listVirtualMachines")
def list_vms(world: World, account: Account, p: Record) -> Record:
    found = [v for v in visible(world.vms.values(), account, p) if v["state"] != "Expunging"]
    if p.get("id"):
        found = [v for v in found if v["id"] == p["id"]]
    if p.get("ids"):
        wanted = set(p["ids"].split(","))
        found = [v for v in found if v["id"] in wanted]
    if p.get("state"):
        found = [v for v in found if v["state"].lower() == p["state"].lower()]
    return listing("virtualmachine", found, p)


def _transition(world: World, account: Account, p: Record, cmd: str, allowed: tuple[str, ...], during: str,
                after: str) -> Job:
    vm = _vm_or_error(world, account, cmd, p["id"])
    if vm["state"] == after and cmd != "rebootVirtualMachine":
        return Job(lambda: {"virtualmachine": vm}, "VirtualMachine", vm["id"])
    if vm["state"] not in allowed:
        raise param_error(f"VM {vm['displayname']} is in state {vm['state']}: it must be "
                          f"{' or '.join(allowed)} for {cmd}", 4350)
    _set_state(world, vm, during)

    def work() -> Record:
        if vm["state"] == during:
            _set_state(world, vm, after)
        return {"virtualmachine": vm}

    return Job(work, "VirtualMachine", vm["id"], on_fail=lambda: _set_state(world, vm, allowed[0]))


@command("startVirtualMachine")
def start_vm(world: World, account: Account, p: Record) -> Job:
    return _transition(world, account, p, "startVirtualMachine", ("Stopped",), "Starting", "Running")


@command("stopVirtualMachine")
def stop_vm(world: World, account: Account, p: Record) -> Job:
    return _transition(world, account, p, "stopVirtualMachine", ("Running",), "Stopping", "Stopped")


@command("rebootVirtualMachine")
def reboot_vm(world: World, account: Account, p: Record) -> Job:
    vm = _vm_or_error(world, account, "rebootVirtualMachine", p["id"])
    if vm["state"] != "Running":
        raise param_error(f"VM {vm['displayname']} is not running, it cannot be rebooted", 4350)
    return Job(lambda: {"virtualmachine": vm}, "VirtualMachine", vm["id"])


@command("destroyVirtualMachine")
def destroy_vm(world: World, account: Account, p: Record) -> Job:
    vm = _vm_or_error(world, account, "destroyVirtualMachine", p["id"])
    expunge = _true(p.get("expunge"))
    if vm["state"] == "Destroyed" and not expunge:
        raise param_error(f"VM {vm['id']} is already destroyed", 4350)
    _set_state(world, vm, "Expunging" if expunge else "Destroyed")

    def work() -> Record:
        for vol in list(world.volumes.values()):
            if vol.get("virtualmachineid") == vm["id"]:
                if vol["type"] == "ROOT":
                    if expunge:
                        del world.volumes[vol["id"]]
                    continue
                for k in ("virtualmachineid", "vmname", "vmdisplayname", "vmstate", "deviceid", "attached"):
                    vol.pop(k, None)
        for ip in world.ips.values():
            if ip.get("virtualmachineid") == vm["id"]:
                for k in ("virtualmachineid", "virtualmachinename", "virtualmachinedisplayname", "vmipaddress"):
                    ip.pop(k, None)
                ip["isstaticnat"] = False
        for g in world.groups.values():
            if vm["id"] in g["virtualmachineids"]:
                g["virtualmachineids"].remove(vm["id"])
                g["virtualmachinecount"] = len(g["virtualmachineids"])
        shown = dict(vm)
        if expunge:
            world.vms.pop(vm["id"], None)
        vm.pop("publicip", None)
        vm.pop("publicipid", None)
        return {"virtualmachine": shown}

    return Job(work, "VirtualMachine", vm["id"])


@command("expungeVirtualMachine")
def expunge_vm(world: World, account: Account, p: Record) -> Job:
    vm = _vm_or_error(world, account, "expungeVirtualMachine", p["id"])
    if vm["state"] != "Destroyed":
        raise param_error("Please specify a VM that is in Destroyed state", 4350)
    return destroy_vm(world, account, {"id": vm["id"], "expunge": "true"})


@command("updateVirtualMachine")
def update_vm(world: World, account: Account, p: Record) -> Record:
    vm = _vm_or_error(world, account, "updateVirtualMachine", p["id"])
    if p.get("securitygroupids") is not None:
        if vm["state"] != "Stopped":
            raise param_error("Virtual machine must be stopped prior to update security groups", 4350)
        groups = _groups_for(world, account, p, "updateVirtualMachine")
        vm["securitygroup"] = [{"id": g["id"], "name": g["name"], "description": g["description"],
                                "ingressrule": [], "egressrule": [], "tags": []} for g in groups]
    if p.get("displayname"):
        vm["displayname"] = p["displayname"]
    if p.get("userdata"):
        vm["_userdata"] = p["userdata"]
    return {"virtualmachine": vm}


@command("changeServiceForVirtualMachine")
def change_service(world: World, account: Account, p: Record) -> Record:
    vm = _vm_or_error(world, account, "changeServiceForVirtualMachine", p["id"])
    offering = next((o for o in world.offerings if o["id"] == p["serviceofferingid"]), None)
    if offering is None:
        raise param_error(f"Unable to find service offering: {p['serviceofferingid']}", 4350)
    if vm["state"] != "Stopped":
        raise param_error("Unable to upgrade virtual machine, a virtual machine can only be upgraded in "
                          "Stopped state", 4350)
    vm.update(serviceofferingid=offering["id"], serviceofferingname=offering["name"],
              cpunumber=offering["cpunumber"], memory=offering["memory"])
    return {"virtualmachine": vm}


@command("getVMPassword")
def get_vm_password(world: World, account: Account, p: Record) -> Record:
    _vm_or_error(world, account, "getVMPassword", p["id"])
    raise param_error("No password for VM with specified id found.", 4350)


# ---- templates ---------------------------------------------------------------------------------------------------
def _template_visible(t: Record, account: Account, flt: str) -> bool:
    mine = t["_owner"] == account.name
    shared = account.name in t.get("_shared", ())
    if flt in ("self", "selfexecutable"):
        return mine and (flt == "self" or t["isready"])
    if flt == "sharedexecutable":
        return shared and t["isready"]
    if flt == "featured":
        return t["isfeatured"] and t["ispublic"]
    if flt in ("community",):
        return t["ispublic"] and not t["isfeatured"]
    if flt == "all":
        return account.admin or mine or shared or t["ispublic"]
    if flt == "executable":
        return t["isready"] and (mine or shared or t["ispublic"])
    raise param_error(f"Invalid template filter {flt}", 4350)


@command("listTemplates")
def list_templates(world: World, account: Account, p: Record) -> Record:
    found = [t for t in world.templates.values() if _template_visible(t, account, p["templatefilter"])]
    if p.get("id"):
        if p["id"] not in world.templates:
            raise param_error("Please specify a valid template ID.", 4350)
        found = [t for t in found if t["id"] == p["id"]]
    if p.get("name"):
        found = [t for t in found if t["name"] == p["name"]]
    return listing("template", found, p)


def _own_template(world: World, account: Account, cmd: str, tid: str) -> Record:
    t = world.templates.get(tid)
    if t is None:
        raise _invalid_param(cmd, "id", tid)
    if t["_owner"] != account.name and not account.admin:
        raise CsError(431, f"Account {account.name} does not have permission to operate on template {tid}", 4365)
    return t


def _new_template(world: World, account: Account, p: Record, **extra: Any) -> Record:
    tid = new_id()
    t = {"id": tid, "name": p["name"], "displaytext": p.get("displaytext") or p["name"],
         "ispublic": _true(p.get("ispublic")), "isfeatured": False, "isready": False, "status": "Creating",
         "format": "QCOW2", "hypervisor": "Simulator", "templatetype": "USER",
         "ostypeid": p.get("ostypeid") or world.ostypes[0]["id"], "ostypename": world.ostypes[0]["description"],
         "accountid": account.id, **world.owner_fields(account), "zoneid": world.zone["id"],
         "zonename": world.zone["name"], "size": 0, "created": now(), "crossZones": False,
         "isextractable": False, "passwordenabled": False, "sshkeyenabled": False, "isdynamicallyscalable": False,
         "bootable": True, "requireshvm": False, "bits": int(p.get("bits") or 64), "tags": [],
         "_owner": account.name, "_shared": set(), **extra}
    world.templates[tid] = t
    return t


@command("createTemplate")
def create_template(world: World, account: Account, p: Record) -> Job:
    vol = None
    if p.get("volumeid"):
        vol = owned(world.volumes, p["volumeid"], account)
        if vol is None:
            raise _invalid_param("createTemplate", "volumeid", p["volumeid"])
        vm = world.vms.get(vol.get("virtualmachineid") or "")
        if vm is not None and vm["state"] != "Stopped":
            raise param_error("VolumeId: the VM the volume is attached to must be stopped to create a template",
                              4350)
    elif p.get("snapshotid"):
        snap = owned(world.snapshots, p["snapshotid"], account)
        if snap is None:
            raise _invalid_param("createTemplate", "snapshotid", p["snapshotid"])
        vol = world.volumes.get(snap["volumeid"]) or {"size": snap.get("virtualsize", 0)}
    else:
        raise param_error("Failed to create private template record, need to specify snapshotId or volumeId", 4350)
    t = _new_template(world, account, p, size=vol.get("size", 0))

    def work() -> Record:
        t.update(isready=True, status="Download Complete")
        return {"template": t}

    return Job(work, "Template", t["id"], {"id": t["id"]},
               on_fail=lambda: t.update(status="Error: creating the template failed"))


@command("registerTemplate")
def register_template(world: World, account: Account, p: Record) -> Record:
    if not p["url"].startswith(("http://", "https://")):
        raise param_error("Unsupported scheme for url: " + p["url"], 4350)
    t = _new_template(world, account, p, format=p["format"].upper(), status="Downloaded 0%", size=117440512)
    t.update(isready=True, status="Download Complete")  # the simulator downloads at once
    return {"count": 1, "template": [t]}


@command("deleteTemplate")
def delete_template(world: World, account: Account, p: Record) -> Job:
    t = _own_template(world, account, "deleteTemplate", p["id"])
    if any(vm["templateid"] == t["id"] and vm["state"] not in ("Expunging",) for vm in world.vms.values()) \
            and not _true(p.get("forced")):
        pass  # CloudStack allows deleting a template that running VMs were made from

    def work() -> Record:
        world.templates.pop(t["id"], None)
        return {"success": True}

    return Job(work, "Template", t["id"])


@command("updateTemplate")
def update_template(world: World, account: Account, p: Record) -> Record:
    t = _own_template(world, account, "updateTemplate", p["id"])
    for key in ("displaytext", "name"):
        if p.get(key):
            t[key] = p[key]
    return {"template": t}


@command("updateTemplatePermissions")
def update_template_permissions(world: World, account: Account, p: Record) -> Record:
    t = _own_template(world, account, "updateTemplatePermissions", p["id"])
    if p.get("ispublic") is not None:
        t["ispublic"] = _true(p["ispublic"])
    names = [n for n in (p.get("accounts") or "").split(",") if n]
    if names:
        op = p.get("op") or "add"
        for n in names:
            if n not in world.accounts:
                raise param_error(f"Unable to find account {n} in domain ROOT", 4350)
        if op == "add":
            t["_shared"] |= set(names)
        elif op == "remove":
            t["_shared"] -= set(names)
        elif op == "reset":
            t["_shared"] = set()
        else:
            raise param_error(f"Invalid operation on accounts: {op}", 4350)
    return {"success": True}


@command("listTemplatePermissions")
def list_template_permissions(world: World, account: Account, p: Record) -> Record:
    t = _own_template(world, account, "listTemplatePermissions", p["id"])
    return {"templatepermission": {"id": t["id"], "ispublic": t["ispublic"], "domainid": world.domain_id,
                                   "account": sorted(t["_shared"])}}


# ---- key pairs --------------------------------------------------------------------------------------------------
def _fingerprint(public_key: str) -> str:
    parts = public_key.strip().split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise param_error("Public key is invalid", 4350)
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise param_error("Public key is invalid", 4350) from None
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - the SSH fingerprint format CloudStack reports
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _keypair(world: World, account: Account, name: str, public_key: str) -> Record:
    if (account.name, name) in world.keypairs:
        raise param_error(f"A key pair with name '{name}' already exists.", 4350)
    k = {"id": new_id(), "name": name, "fingerprint": _fingerprint(public_key), **world.owner_fields(account),
         "_owner": account.name, "_publickey": public_key}
    world.keypairs[(account.name, name)] = k
    return k


@command("registerSSHKeyPair")
def register_keypair(world: World, account: Account, p: Record) -> Record:
    return {"keypair": _keypair(world, account, p["name"], p["publickey"])}


@command("createSSHKeyPair")
def create_keypair(world: World, account: Account, p: Record) -> Record:
    blob = b"\x00\x00\x00\x07ssh-rsa" + secrets.token_bytes(64)
    k = _keypair(world, account, p["name"], "ssh-rsa " + base64.b64encode(blob).decode())
    return {"keypair": {**k, "privatekey": "-----BEGIN RSA PRIVATE KEY-----\n(simulated)\n"
                                           "-----END RSA PRIVATE KEY-----\n"}}


@command("listSSHKeyPairs")
def list_keypairs(world: World, account: Account, p: Record) -> Record:
    found = visible(world.keypairs.values(), account, p)
    if p.get("name"):
        found = [k for k in found if k["name"] == p["name"]]
    return listing("sshkeypair", found, p)


@command("deleteSSHKeyPair")
def delete_keypair(world: World, account: Account, p: Record) -> Record:
    if world.keypairs.pop((account.name, p["name"]), None) is None:
        raise param_error(f"A key pair with name '{p['name']}' does not exist for account {account.name} in "
                          "specified domain id", 4350)
    return {"success": "true"}


__all__ = ["job_error"]
