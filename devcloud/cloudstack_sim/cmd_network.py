"""Simulated commands: security groups and rules, public addresses and static NAT, tags (networks, VPCs and
NICs are in cmd_vpc.py)."""

from __future__ import annotations

import ipaddress
import itertools

from .core import (
    Account,
    CsError,
    Job,
    Record,
    World,
    command,
    job_error,
    listing,
    new_id,
    now,
    owned,
    param_error,
    visible,
)


def _invalid_param(cmd: str, name: str, value: str) -> CsError:
    return param_error(f"Unable to execute API command {cmd.lower()} due to invalid value. Invalid parameter "
                       f"{name} value={value} due to incorrect long value format, or entity does not exist or due "
                       "to incorrect parameter annotation for the field in api cmd class.", 9999)


# ---- security groups -------------------------------------------------------------------------------------------------
@command("createSecurityGroup")
def create_group(world: World, account: Account, p: Record) -> Record:
    if any(g["_owner"] == account.name and g["name"].lower() == p["name"].lower() for g in world.groups.values()):
        raise param_error(f"Unable to create security group, a group with name {p['name']} already exisits.", None)
    gid = new_id()
    world.groups[gid] = {"id": gid, "name": p["name"], "description": p.get("description") or "",
                         **world.owner_fields(account), "ingressrule": [], "egressrule": [], "tags": [],
                         "virtualmachinecount": 0, "virtualmachineids": [], "_owner": account.name}
    return {"securitygroup": world.groups[gid]}


@command("listSecurityGroups")
def list_groups(world: World, account: Account, p: Record) -> Record:
    found = visible(world.groups.values(), account, p)
    if p.get("id"):
        if p["id"] not in world.groups:
            raise _invalid_param("listSecurityGroups", "id", p["id"])
        found = [g for g in found if g["id"] == p["id"]]
    if p.get("securitygroupname"):
        found = [g for g in found if g["name"] == p["securitygroupname"]]
    if p.get("virtualmachineid"):
        found = [g for g in found if p["virtualmachineid"] in g["virtualmachineids"]]
    return listing("securitygroup", found, p)


def _group(world: World, account: Account, p: Record) -> Record:
    if p.get("securitygroupid"):
        g = owned(world.groups, p["securitygroupid"], account)
        if g is None:
            raise param_error(f"Unable to find security group {p['securitygroupid']} for account "
                              f"id={account.id}", None)
        return g
    name = p.get("securitygroupname") or p.get("name")
    g = next((g for g in world.groups.values() if g["_owner"] == account.name and g["name"] == name), None)
    if g is None:
        raise param_error(f"Unable to find security group by name {name} for the account id={account.id}", None)
    return g


@command("deleteSecurityGroup")
def delete_group(world: World, account: Account, p: Record) -> Record:
    g = _group(world, account, {"securitygroupid": p.get("id"), "name": p.get("name")})
    if g["name"] == "default":
        raise param_error(f"The network group default is default for account {account.name}; can't remove", 4350)
    if g["virtualmachineids"]:
        raise CsError(536, f"Failed to delete group {g['id']}; the group is in use by virtual machines", 4375)
    for other in world.groups.values():  # rules of other groups naming this one
        for kind in ("ingressrule", "egressrule"):
            if any(r.get("securitygroupname") == g["name"] and r.get("account") == account.name
                   for r in other[kind]) and other is not g:
                raise CsError(536, f"Cannot delete group {g['name']}: it is referenced by rules of another group",
                              4375)
    del world.groups[g["id"]]
    return {"success": "true"}


def _rule(world: World, account: Account, p: Record, cmd: str) -> list[Record]:
    proto = (p.get("protocol") or "all").lower()
    if proto not in ("tcp", "udp", "icmp", "all") and not proto.isdigit():
        raise job_error(f"Invalid protocol {proto}")
    base: Record = {"protocol": proto}
    if proto in ("tcp", "udp"):
        try:
            lo, hi = int(p.get("startport") or -1), int(p.get("endport") or -1)
        except ValueError:
            raise job_error("Invalid port numbers") from None
        if not (0 <= lo <= 65535 and 0 <= hi <= 65535 and lo <= hi):
            raise job_error(f"Invalid port numbers {lo}:{hi}")
        base.update(startport=lo, endport=hi)
    elif proto == "icmp":
        base.update(icmptype=int(p.get("icmptype") or -1), icmpcode=int(p.get("icmpcode") or -1))
    sources: list[Record] = []
    for i in itertools.count():
        name = p.get(f"usersecuritygrouplist[{i}].group")
        if name is None:
            break
        owner = p.get(f"usersecuritygrouplist[{i}].account") or account.name
        if not any(g["_owner"] == owner and g["name"] == name for g in world.groups.values()):
            raise job_error(f"Unable to find security group {name} for account {owner}")
        sources.append({"securitygroupname": name, "account": owner})
    for cidr in [c for c in (p.get("cidrlist") or "").split(",") if c]:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise job_error(f"Invalid cidr {cidr}") from None
        sources.append({"cidr": cidr})
    if not sources:
        sources.append({"cidr": "0.0.0.0/0"})
    return [{**base, **s} for s in sources]


def _same(a: Record, b: Record) -> bool:
    keys = ("protocol", "startport", "endport", "icmptype", "icmpcode", "cidr", "securitygroupname", "account")
    return all(a.get(k) == b.get(k) for k in keys)


def _authorize(world: World, account: Account, p: Record, kind: str, cmd: str) -> Job:
    g = _group(world, account, p)

    def work() -> Record:
        new = _rule(world, account, p, cmd)
        if any(_same(r, n) for r in g[kind] for n in new):
            direction = "ingress" if kind == "ingressrule" else "egress"
            raise job_error(f"Failed to authorize security group {direction} rule(s)")
        for r in new:
            r["ruleid"] = new_id()
            g[kind].append(r)
        return {"securitygroup": {**g, kind: new, "ingressrule" if kind == "egressrule" else "egressrule": []}}

    return Job(work, "SecurityGroup", g["id"])


@command("authorizeSecurityGroupIngress")
def authorize_ingress(world: World, account: Account, p: Record) -> Job:
    return _authorize(world, account, p, "ingressrule", "authorizeSecurityGroupIngress")


@command("authorizeSecurityGroupEgress")
def authorize_egress(world: World, account: Account, p: Record) -> Job:
    return _authorize(world, account, p, "egressrule", "authorizeSecurityGroupEgress")


def _revoke(world: World, account: Account, p: Record, kind: str, cmd: str) -> Job:
    for g in world.groups.values():
        for r in g[kind]:
            if r["ruleid"] == p["id"] and (g["_owner"] == account.name or account.admin):
                def work(g: Record = g, r: Record = r) -> Record:
                    g[kind].remove(r)
                    return {"success": True}
                return Job(work, "SecurityGroup", g["id"])
    raise _invalid_param(cmd, "id", p["id"])


@command("revokeSecurityGroupIngress")
def revoke_ingress(world: World, account: Account, p: Record) -> Job:
    return _revoke(world, account, p, "ingressrule", "revokeSecurityGroupIngress")


@command("revokeSecurityGroupEgress")
def revoke_egress(world: World, account: Account, p: Record) -> Job:
    return _revoke(world, account, p, "egressrule", "revokeSecurityGroupEgress")


# ---- public addresses -------------------------------------------------------------------------------------------------
@command("associateIpAddress")
def associate_ip(world: World, account: Account, p: Record) -> Job:
    network = None
    if p.get("networkid"):
        network = owned(world.networks, p["networkid"], account)
        if network is None:
            raise _invalid_param("associateIpAddress", "networkid", p["networkid"])
    elif p.get("zoneid") and p["zoneid"] != world.zone["id"]:
        raise _invalid_param("associateIpAddress", "zoneid", p["zoneid"])
    if sum(1 for ip in world.ips.values() if ip["_owner"] == account.name) >= 20:
        raise CsError(535, "Maximum number of public IP addresses for account: " + account.name +
                      " has been exceeded.", 4370)
    iid = new_id()
    ip: Record = {"id": iid, "ipaddress": world.next_public_ip(), "allocated": now(), "zoneid": world.zone["id"],
                  "zonename": world.zone["name"], "issourcenat": False, "isstaticnat": False, "issystem": False,
                  "forvirtualnetwork": True, "state": "Allocating", "tags": [], "isportable": False,
                  **world.owner_fields(account), "_owner": account.name}
    if network is not None:
        ip.update(associatednetworkid=network["id"], associatednetworkname=network["name"], networkid=network["id"])
    world.ips[iid] = ip

    def work() -> Record:
        ip["state"] = "Allocated"
        return {"ipaddress": ip}

    return Job(work, "IpAddress", iid, {"id": iid}, on_fail=lambda: world.ips.pop(iid, None))


@command("listPublicIpAddresses")
def list_ips(world: World, account: Account, p: Record) -> Record:
    found = visible(world.ips.values(), account, p)
    for key in ("id", "ipaddress", "virtualmachineid"):
        if p.get(key):
            found = [i for i in found if str(i.get(key)) == p[key]]
    if p.get("isstaticnat"):
        found = [i for i in found if i["isstaticnat"] == (p["isstaticnat"].lower() == "true")]
    return listing("publicipaddress", found, p)


def _ip(world: World, account: Account, cmd: str, name: str, iid: str) -> Record:
    ip = owned(world.ips, iid, account)
    if ip is None:
        raise _invalid_param(cmd, name, iid)
    return ip


@command("disassociateIpAddress")
def disassociate_ip(world: World, account: Account, p: Record) -> Job:
    ip = _ip(world, account, "disassociateIpAddress", "id", p["id"])
    if ip["issourcenat"]:
        raise param_error(f"IP address id={ip['id']} is source nat, it can't be released", 4350)
    ip["state"] = "Releasing"

    def work() -> Record:
        _unnat(world, ip)
        world.ips.pop(ip["id"], None)
        return {"success": True}

    return Job(work, "IpAddress", ip["id"])


def _unnat(world: World, ip: Record) -> None:
    vm = world.vms.get(ip.get("virtualmachineid") or "")
    if vm is not None and vm.get("publicipid") == ip["id"]:
        vm.pop("publicip", None)
        vm.pop("publicipid", None)
    for k in ("virtualmachineid", "virtualmachinename", "virtualmachinedisplayname", "vmipaddress"):
        ip.pop(k, None)
    ip["isstaticnat"] = False


@command("enableStaticNat")
def enable_static_nat(world: World, account: Account, p: Record) -> Record:
    ip = _ip(world, account, "enableStaticNat", "ipaddressid", p["ipaddressid"])
    vm = owned(world.vms, p["virtualmachineid"], account)
    if vm is None or vm["state"] in ("Destroyed", "Expunging"):
        raise _invalid_param("enableStaticNat", "virtualmachineid", p["virtualmachineid"])
    if ip["issourcenat"]:
        raise CsError(537, "Can't enable static nat on the source nat ip address", 4360)
    if ip["isstaticnat"]:
        raise CsError(537, f"Failed to enable static nat for the ip address id={ip['id']} as it's already "
                           f"assigned to vm id={ip.get('virtualmachineid')}", 4360)
    if vm.get("publicipid"):
        raise CsError(537, f"Failed to enable static nat for the ip address id={ip['id']} as vm id={vm['id']} "
                           f"is already associated with ip id={vm['publicipid']}", 4360)
    # the NIC in `networkid` (default: the VM's default NIC); an address bound to another guest network
    # cannot be NATed to it (a VPC address is bound to the tier here, as CloudStack does)
    nic = next((n for n in vm["nic"] if n["networkid"] == p["networkid"]), None) if p.get("networkid") else \
        next((n for n in vm["nic"] if n.get("isdefault")), vm["nic"][0])
    if nic is None:
        raise param_error(f"Virtual machine {vm['id']} doesn't have a nic in network {p['networkid']}", 4350)
    bound = ip.get("associatednetworkid")
    if bound and bound != nic["networkid"]:
        raise param_error(f"Unable to enable static nat for the ip address id={ip['id']} as ip is associated with "
                          f"network id={bound}, not the vm's network id={nic['networkid']}", 4350)
    if ip.get("vpcid") and world.networks.get(nic["networkid"], {}).get("vpcid") != ip["vpcid"]:
        raise param_error(f"Ip address id={ip['id']} belongs to vpc {ip['vpcid']}: the vm's network is not its tier",
                          4350)
    guest = p.get("vmguestip") or nic["ipaddress"]
    if guest not in [nic["ipaddress"]] + [s["ipaddress"] for s in nic.get("secondaryip") or ()]:
        raise param_error(f"Invalid vm ip address {guest}", 4350)
    if not bound:
        ip.update(associatednetworkid=nic["networkid"], networkid=nic["networkid"])
    ip.update(isstaticnat=True, virtualmachineid=vm["id"], virtualmachinename=vm["name"],
              virtualmachinedisplayname=vm["displayname"], vmipaddress=guest)
    vm.update(publicip=ip["ipaddress"], publicipid=ip["id"])
    return {"success": "true"}


@command("disableStaticNat")
def disable_static_nat(world: World, account: Account, p: Record) -> Job:
    ip = _ip(world, account, "disableStaticNat", "ipaddressid", p["ipaddressid"])
    if not ip["isstaticnat"]:
        raise param_error("Specified IP address id is not associated with any vm Id", 4350)

    def work() -> Record:
        _unnat(world, ip)
        return {"success": True}

    return Job(work, "IpAddress", ip["id"])


# ---- tags ---------------------------------------------------------------------------------------------------------------
_TAGGABLE = {"UserVm": "vms", "Volume": "volumes", "Snapshot": "snapshots", "Template": "templates",
             "SecurityGroup": "groups", "PublicIpAddress": "ips", "Vpc": "vpcs", "Network": "networks"}


def _tag_items(p: Record) -> list[tuple[str, str]]:
    out = []
    for i in itertools.count():
        key = p.get(f"tags[{i}].key")
        if key is None:
            return out
        out.append((key, p.get(f"tags[{i}].value", "")))
    return out


@command("createTags")
def create_tags(world: World, account: Account, p: Record) -> Job:
    table = _TAGGABLE.get(p["resourcetype"])
    if table is None:
        raise param_error(f"Resource type {p['resourcetype']} is not taggable", 4350)
    ids = [i for i in p["resourceids"].split(",") if i]
    pairs = _tag_items(p)

    def work() -> Record:
        for rid in ids:
            record = owned(getattr(world, table), rid, account)
            if record is None:
                raise job_error(f"Unable to find resource by id {rid} and type {p['resourcetype']}")
        for rid in ids:
            for key, value in pairs:
                world.tags[:] = [t for t in world.tags if not (t["resourceid"] == rid and t["key"] == key)]
                world.tags.append({"key": key, "value": value, "resourcetype": p["resourcetype"], "resourceid": rid,
                                   **world.owner_fields(account), "_owner": account.name})
        return {"success": True}

    return Job(work, "None")


@command("deleteTags")
def delete_tags(world: World, account: Account, p: Record) -> Job:
    ids = set(i for i in p["resourceids"].split(",") if i)
    pairs = _tag_items(p)

    def work() -> Record:
        if not any(t["resourceid"] in ids and t["_owner"] == account.name for t in world.tags):
            raise job_error(f"Unable to find resource by id {','.join(sorted(ids))} and type {p['resourcetype']}")
        world.tags[:] = [t for t in world.tags if not (
            t["resourceid"] in ids and t["_owner"] == account.name
            and (not pairs or any(t["key"] == k and (not v or t["value"] == v) for k, v in pairs)))]
        return {"success": True}

    return Job(work, "None")


@command("listTags")
def list_tags(world: World, account: Account, p: Record) -> Record:
    found = visible(world.tags, account, p)
    for key in ("resourceid", "resourcetype", "key", "value"):
        if p.get(key):
            found = [t for t in found if t[key] == p[key]]
    return listing("tag", found, p)
