"""`CloudStackCompute`: the neutral Compute contract on the CloudStack API, as one caller (their own keys).

Async commands: creations answer at once from the command's immediate answer (deployVirtualMachine,
createVolume and createSnapshot return the new id with the job id: the resource is `pending`/`creating`,
later Describes read its real state); start/stop/reboot/destroy are submitted and not awaited; mutations
whose outcome the EC2 answer depends on (attach/detach, rules, addresses, deletes of templates and
snapshots) wait for their job until the backend's job deadline (then Unavailable → ServiceUnavailable).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from backends import base
from backends.compute import (
    Attachment,
    Compute,
    Flavor,
    FloatingAddress,
    Image,
    KeyPair,
    SecurityGroup,
    SecurityRule,
    Server,
    ServerSpec,
    ServerState,
    Snapshot,
    Volume,
    VolumeState,
    Zone,
)

from . import mapping as m
from .session import Caller

_LIMITS = {"0": "servers", "1": "addresses", "2": "volumes", "3": "snapshots", "10": "gigabytes"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CloudStackCompute(Compute):
    keeps_volumes_with_snapshots = False  # deleteVolume deletes a volume with snapshots; they stay usable

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.shared = caller.shared
        self.settings = caller.shared.settings
        self.cs = caller.cs
        self.account_id = caller.account_id
        self.account = caller.account

    # -- catalogue ----------------------------------------------------------------------------------------
    async def list_zones(self) -> list[Zone]:
        return [m.zone_from(z) for z in await self.shared.zones(self.cs)]

    async def _zone_id(self, name: str | None = None) -> str:
        return await self.caller.zone_id(name)

    async def list_flavors(self) -> list[Flavor]:
        offerings = await self.shared.offerings(self.cs)
        flavors, mapped = [], set()
        for ec2_type, offering in self.shared.instance_types.items():
            found = next((o for o in offerings if offering in (o.get("name"), str(o.get("id")))), None)
            if found is not None:
                flavors.append(m.flavor_from(found, ec2_type))
                mapped.add(str(found.get("id")))
        flavors += [m.flavor_from(o) for o in offerings if str(o.get("id")) not in mapped]
        return flavors

    async def _offering_id(self, flavor_name: str) -> str:
        for f in await self.list_flavors():
            if flavor_name in (f.name, f.id):
                return f.id
        raise base.NotFound(f"instance type {flavor_name} not found", kind="flavor")

    async def quotas(self) -> dict[str, int]:
        limits = await self.cs.list("listResourceLimits", "resourcelimit")
        return {_LIMITS[str(x.get("resourcetype"))]: int(x.get("max", -1))
                for x in limits if str(x.get("resourcetype")) in _LIMITS}

    # -- servers ------------------------------------------------------------------------------------------
    async def list_servers(self, ids: list[str] | None = None) -> list[Server]:
        if ids is not None and not ids:
            return []
        one = {"id": ids[0]} if ids and len(ids) == 1 else {}
        vms, vols = await asyncio.gather(self._vms(one), self.cs.list("listVolumes", "volume", {}))  # ROOT and DATADISK: the root is a mapping too
        by_vm: dict[str, list[dict]] = {}
        for v in vols:
            if v.get("virtualmachineid"):
                by_vm.setdefault(str(v["virtualmachineid"]), []).append(v)
        names = self.shared.flavor_names()
        return [m.server_from(vm, flavor_names=names, volumes=by_vm.get(str(vm.get("id")), []),
                              ever_ran=vm.get("state") != "Error", user_data=self.shared.user_data.get(str(vm.get("id"))))
                for vm in vms if not ids or str(vm.get("id")) in ids]

    async def _vms(self, params: dict[str, Any]) -> list[dict]:
        try:
            return await self.cs.list("listVirtualMachines", "virtualmachine", params, kind="server")
        except (base.NotFound, base.InvalidInput):
            if params:  # an id CloudStack does not know (or not the caller's): simply absent
                return []
            raise

    async def create_servers(self, spec: ServerSpec) -> list[Server]:
        offering, zone_id = await asyncio.gather(self._offering_id(spec.flavor_name), self._zone_id(spec.zone))
        params: dict[str, Any] = {"zoneid": zone_id, "serviceofferingid": offering, "templateid": spec.image_id,
                                  "displayname": spec.name, "keypair": spec.key_name,
                                  "securitygroupids": list(spec.security_groups) or None,
                                  "userdata": spec.user_data, "startvm": True}
        network = spec.network_id or self.settings.network_id
        if network:
            params["networkids"] = network
        data_disks = [v for v in spec.volumes if v[0] not in ("/dev/sda1", "/dev/sda", "/dev/xvda", "/dev/vda")]
        if any(snap for _, _, snap, _ in data_disks) or len(data_disks) > 1:
            raise base.NotSupported("CloudStack deploys one blank data disk with an instance (no snapshots)")
        if data_disks:
            params["diskofferingid"] = await self._disk_offering(None, data_disks[0][1])
            params["size"] = data_disks[0][1]
        created: list[Server] = []
        zone_name = spec.zone or next((z.get("name") for z in await self.shared.zones(self.cs)
                                       if str(z.get("id")) == zone_id), None)
        for index in range(max(spec.count_max, spec.count_min)):
            try:
                answer = await self.cs.submit("deployVirtualMachine", params, kind="server")
            except base.BackendError:
                if len(created) >= spec.count_min:
                    break
                for server in created:  # all-or-nothing up to MinCount
                    await self._quiet_destroy(server.id)
                raise
            vid = str(answer.get("id") or "")
            if spec.user_data:
                self.shared.user_data[vid] = spec.user_data
            created.append(Server(id=vid, name=spec.name, state=ServerState.BUILDING, flavor_name=spec.flavor_name,
                                  image_id=spec.image_id, created=_now(), key_name=spec.key_name, zone=zone_name,
                                  security_groups=list(spec.security_groups), user_data=spec.user_data,
                                  root_device="/dev/sda1", launch_index=index))
        return created

    async def _quiet_destroy(self, vm_id: str) -> None:
        try:
            await self.cs.submit("destroyVirtualMachine", {"id": vm_id, "expunge": self.settings.expunge or None})
        except base.BackendError:
            pass

    async def start_server(self, server_id: str) -> None:
        await self.cs.submit("startVirtualMachine", {"id": server_id}, kind="server")

    async def stop_server(self, server_id: str, force: bool = False) -> None:
        await self.cs.submit("stopVirtualMachine", {"id": server_id, "forced": force or None}, kind="server")

    async def reboot_server(self, server_id: str) -> None:
        await self.cs.submit("rebootVirtualMachine", {"id": server_id}, kind="server")

    async def delete_server(self, server_id: str) -> None:
        await self.cs.submit("destroyVirtualMachine", {"id": server_id, "expunge": self.settings.expunge or None},
                             kind="server")

    async def update_server(self, server_id: str, *, name: str | None = None,
                            metadata: dict[str, str] | None = None,
                            security_groups: list[str] | None = None) -> None:
        params: dict[str, Any] = {"id": server_id}
        if name is not None:
            params["displayname"] = name
        if security_groups is not None:
            params["securitygroupids"] = list(security_groups)
        if len(params) > 1:
            await self.cs.call("updateVirtualMachine", params, kind="server")

    async def resize_server(self, server_id: str, flavor_name: str) -> None:
        offering = await self._offering_id(flavor_name)
        await self.cs.call("changeServiceForVirtualMachine", {"id": server_id, "serviceofferingid": offering},
                           kind="server")

    async def console_output(self, server_id: str) -> str:
        if not await self._vms({"id": server_id}):
            raise base.NotFound(f"server {server_id} not found", kind="server")
        return ""  # CloudStack keeps no console log

    async def password_data(self, server_id: str) -> str:
        """The VM's encrypted password (getVMPassword), for GetPasswordData. A VM from a template without
        password support has none: CloudStack answers an error (431/4350 "No password for VM"), EC2 empty
        data (the caller has checked the VM exists)."""
        try:
            answer = await self.cs.call("getVMPassword", {"id": server_id}, kind="server")
        except (base.NotFound, base.InvalidInput):
            return ""
        return str((answer.get("password") or {}).get("encryptedpassword") or "")

    # -- images -------------------------------------------------------------------------------------------
    async def list_images(self, ids: list[str] | None = None) -> list[Image]:
        if ids is not None and not ids:
            return []
        extra = {"id": ids[0]} if ids and len(ids) == 1 else {}
        found: dict[str, dict] = {}
        for batch in await asyncio.gather(*(self._templates(f, extra) for f in ("self", "executable"))):
            for t in batch:
                found.setdefault(str(t.get("id")), t)
        wanted = [t for tid, t in found.items() if not ids or tid in ids]
        shared: dict[str, list[str]] = {}
        if ids:
            mine = [str(t["id"]) for t in wanted if str(t.get("accountid") or "") == self.account_id
                    or t.get("account") == self.account]
            perms = await asyncio.gather(*(self.cs.call("listTemplatePermissions", {"id": i}) for i in mine))
            for tid, p in zip(mine, perms, strict=True):
                names = (p.get("templatepermission") or {}).get("account") or []
                shared[tid] = await self.shared.account_ids(names)
        return [m.image_from(t, shared.get(str(t.get("id")), [])) for t in wanted]

    async def _templates(self, template_filter: str, extra: dict[str, Any]) -> list[dict]:
        try:
            return await self.cs.list("listTemplates", "template", {"templatefilter": template_filter, **extra},
                                      kind="image")
        except (base.NotFound, base.InvalidInput):
            if extra:
                return []
            raise

    async def create_image(self, server_id: str, name: str, description: str | None = None) -> Image:
        vms, roots = await asyncio.gather(
            self._vms({"id": server_id}),
            self.cs.list("listVolumes", "volume", {"virtualmachineid": server_id, "type": "ROOT"}, kind="server"))
        if not vms or not roots:
            raise base.NotFound(f"server {server_id} not found", kind="server")
        answer = await self.cs.submit("createTemplate", {
            "volumeid": roots[0]["id"], "name": name, "displaytext": description or name,
            "ostypeid": vms[0].get("guestosid") or vms[0].get("ostypeid")}, kind="server")
        return Image(id=str(answer.get("id") or ""), name=name, state="pending", owner=self.account_id,
                     public=False, created=_now(), description=description)

    async def register_image(self, name: str, *, location: str | None = None,
                             block_devices: list[tuple[str, str | None, int | None]] | None = None,
                             root_device: str | None = None, architecture: str | None = None,
                             description: str | None = None) -> Image:
        if block_devices or not (location and location.startswith(("http://", "https://"))):
            raise base.NotSupported("CloudStack registers images from an http(s) URL")
        answer = await self.cs.call("registerTemplate", {
            "name": name, "displaytext": description or name, "url": location, "format": self.settings.template_format,
            "hypervisor": self.settings.hypervisor, "zoneid": await self._zone_id(), "ostypeid": self.settings.ostype_id,
            "bits": 32 if architecture == "i386" else 64}, kind="image")
        templates = answer.get("template") or [{}]
        return m.image_from(templates[0] if isinstance(templates, list) else templates)

    async def delete_image(self, image_id: str) -> None:
        await self.cs.run("deleteTemplate", {"id": image_id}, kind="image")

    async def update_image(self, image_id: str, *, description: str | None = None,
                           public: bool | None = None, add_members: list[str] | None = None,
                           remove_members: list[str] | None = None) -> None:
        if description is not None:
            await self.cs.call("updateTemplate", {"id": image_id, "displaytext": description}, kind="image")
        if public is not None:
            await self.cs.call("updateTemplatePermissions", {"id": image_id, "ispublic": public}, kind="image")
        for op, members in (("add", add_members), ("remove", remove_members)):
            if members:
                names = await self.shared.account_names(members)
                if names:
                    await self.cs.call("updateTemplatePermissions", {"id": image_id, "op": op, "accounts": names},
                                       kind="image")

    # -- key pairs ----------------------------------------------------------------------------------------
    async def list_keypairs(self) -> list[KeyPair]:
        # CloudStack lists no public keys (only its own fingerprint): the gateway keeps them, durably
        return [m.keypair_from(k) for k in await self.cs.list("listSSHKeyPairs", "sshkeypair", kind="keypair")]

    async def import_keypair(self, name: str, public_key: str) -> KeyPair:
        answer = await self.cs.call("registerSSHKeyPair", {"name": name, "publickey": public_key}, kind="keypair")
        key = m.keypair_from(answer.get("keypair") or answer)
        key.public_key = key.public_key or public_key
        return key

    async def delete_keypair(self, name: str) -> None:
        await self.cs.call("deleteSSHKeyPair", {"name": name}, kind="keypair")

    # -- security groups ---------------------------------------------------------------------------------
    async def _groups(self, gid: str | None = None) -> list[dict]:
        params = {"id": gid} if gid else {}
        try:
            return await self.cs.list("listSecurityGroups", "securitygroup", params, kind="security_group")
        except (base.NotFound, base.InvalidInput):
            if gid:
                return []
            raise

    async def list_security_groups(self, ids: list[str] | None = None) -> list[SecurityGroup]:
        if ids is not None and not ids:
            return []
        groups = await self._groups()  # names of every group: rules name their source group by name
        by_name = {g.get("name", ""): str(g.get("id")) for g in groups}
        return [m.group_from(g, self.account_id, by_name) for g in groups if not ids or str(g.get("id")) in ids]

    async def create_security_group(self, name: str, description: str,
                                    network_id: str | None = None) -> SecurityGroup:
        answer = await self.cs.call("createSecurityGroup", {"name": name, "description": description},
                                    kind="security_group")
        return m.group_from(answer.get("securitygroup") or {}, self.account_id)

    async def delete_security_group(self, group_id: str) -> None:
        await self.cs.call("deleteSecurityGroup", {"id": group_id}, kind="security_group")

    async def add_security_rule(self, rule: SecurityRule) -> SecurityRule:
        groups = await self.list_security_groups()
        by_id = {g.id: g for g in groups}
        group = by_id.get(rule.group_id)
        if group is None:
            raise base.NotFound(f"security group {rule.group_id} not found", kind="security_group")
        if any(m.same_rule(r, rule) for r in group.rules):
            raise base.AlreadyExists("the specified rule already exists")
        remote = None
        if rule.remote_group_id:
            source = by_id.get(rule.remote_group_id)
            if source is None:
                raise base.NotFound(f"security group {rule.remote_group_id} not found", kind="security_group")
            remote = (self.account, source.name)
        command = "authorizeSecurityGroupEgress" if rule.egress else "authorizeSecurityGroupIngress"
        result = await self.cs.run(command, m.rule_params(rule, remote), kind="security_group")
        after = m.group_from(result.get("securitygroup") or {}, self.account_id,
                             {g.name: g.id for g in groups})
        known = {r.id for r in group.rules}
        new = [r for r in after.rules if r.id not in known and r.egress == rule.egress]
        if not new:  # an older cloud answers only the new rule(s) in the job result
            new = [r for r in after.rules if r.egress == rule.egress]
        found = next((r for r in new if m.same_rule(r, rule)), new[0] if new else None)
        if found is None:
            raise base.Unavailable("CloudStack did not report the new rule")
        found.group_id = rule.group_id
        found.description = rule.description
        return found

    async def delete_security_rule(self, rule_id: str) -> None:
        for g in await self.list_security_groups():
            for r in g.rules:
                if r.id == rule_id:
                    command = "revokeSecurityGroupEgress" if r.egress else "revokeSecurityGroupIngress"
                    await self.cs.run(command, {"id": rule_id}, kind="security_group_rule")
                    return
        raise base.NotFound(f"rule {rule_id} not found", kind="security_group_rule")

    # -- volumes and snapshots ---------------------------------------------------------------------------
    async def list_volumes(self, ids: list[str] | None = None) -> list[Volume]:
        if ids is not None and not ids:
            return []
        params: dict[str, Any] = {}  # root volumes too: an EBS-root instance's root is a volume on EC2
        if ids and len(ids) == 1:
            params["id"] = ids[0]
        try:
            vols = await self.cs.list("listVolumes", "volume", params, kind="volume")
        except (base.NotFound, base.InvalidInput):
            if "id" in params:
                return []
            raise
        return [m.volume_from(v) for v in vols if not ids or str(v.get("id")) in ids]

    async def _disk_offering(self, name: str | None, size_gib: int | None) -> str:
        return await self.shared.disk_offering(self.cs, name, size_gib)

    async def create_volume(self, size_gib: int | None, zone: str | None, *, snapshot_id: str | None = None,
                            volume_type: str | None = None, name: str | None = None,
                            encrypted: bool = False) -> Volume:
        if encrypted:
            # the API we speak (contracts/cloudstack/listApis.json) has no encrypted disk offerings
            raise base.NotSupported("Encrypted volumes are not supported.")
        zone_id = await self._zone_id(zone)
        params: dict[str, Any] = {"zoneid": zone_id, "name": name or f"vol-{_now():%Y%m%d%H%M%S%f}"}
        if snapshot_id:
            params["snapshotid"] = snapshot_id
            if size_gib:
                params["size"] = size_gib
        else:
            params["diskofferingid"] = await self._disk_offering(volume_type, size_gib)
            if await self.shared.offering_is_custom(self.cs, params["diskofferingid"]):
                params["size"] = size_gib
        answer = await self.cs.submit("createVolume", params, kind="volume")
        if not size_gib and snapshot_id:
            snaps = await self.list_snapshots([snapshot_id])
            size_gib = snaps[0].size_gib if snaps else 0
        return Volume(id=str(answer.get("id") or ""), size_gib=int(size_gib or 0), state=VolumeState.CREATING,
                      zone=zone or self.settings.zone or "", created=_now(), snapshot_id=snapshot_id,
                      volume_type=volume_type, name=params["name"])

    async def delete_volume(self, volume_id: str) -> None:
        try:
            await self.cs.call("deleteVolume", {"id": volume_id}, kind="volume")
        except base.Conflict:
            # still attached to a VM being destroyed (shown detached, see mapping.volume_from): release it
            vols = await self.cs.list("listVolumes", "volume", {"id": volume_id}, kind="volume")
            if not vols or vols[0].get("vmstate") not in ("Destroyed", "Expunging"):
                raise
            with contextlib.suppress(base.Conflict, base.NotFound, base.InvalidInput, base.Unavailable):
                await self.cs.run("detachVolume", {"id": volume_id}, kind="volume")
            await self.cs.call("deleteVolume", {"id": volume_id}, kind="volume")

    async def attach_volume(self, volume_id: str, server_id: str, device: str | None) -> Attachment:
        result = await self.cs.run("attachVolume", {"id": volume_id, "virtualmachineid": server_id,
                                                    "deviceid": m.device_id(device)}, kind="volume")
        vol = result.get("volume") or {}
        return Attachment(volume_id=volume_id, server_id=server_id,
                          device=device or m.device_name(vol.get("deviceid")), attached_at=_now())

    async def detach_volume(self, volume_id: str, server_id: str | None = None, force: bool = False) -> None:
        await self.cs.run("detachVolume", {"id": volume_id}, kind="volume")

    async def extend_volume(self, volume_id: str, size_gib: int) -> None:
        await self.cs.run("resizeVolume", {"id": volume_id, "size": size_gib}, kind="volume")

    async def list_snapshots(self, ids: list[str] | None = None) -> list[Snapshot]:
        if ids is not None and not ids:
            return []
        params = {"id": ids[0]} if ids and len(ids) == 1 else {}
        try:
            snaps = await self.cs.list("listSnapshots", "snapshot", params, kind="snapshot")
        except (base.NotFound, base.InvalidInput):
            if params:
                return []
            raise
        return [m.snapshot_from(s, self.account_id) for s in snaps if not ids or str(s.get("id")) in ids]

    async def create_snapshot(self, volume_id: str, description: str | None = None) -> Snapshot:
        vols = await self.list_volumes([volume_id])
        if not vols:
            raise base.NotFound(f"volume {volume_id} not found", kind="volume")
        # CloudStack has no snapshot description: the name carries it (shown back as the description)
        answer = await self.cs.submit("createSnapshot", {"volumeid": volume_id,
                                                         "name": (description or "")[:255] or None}, kind="volume")
        return Snapshot(id=str(answer.get("id") or ""), volume_id=volume_id, size_gib=vols[0].size_gib,
                        state="pending", created=_now(), description=description, progress="0%",
                        owner=self.account_id)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self.cs.run("deleteSnapshot", {"id": snapshot_id}, kind="snapshot")

    # -- addresses ----------------------------------------------------------------------------------------
    async def list_addresses(self) -> list[FloatingAddress]:
        ips = await self.cs.list("listPublicIpAddresses", "publicipaddress", {"allocatedonly": True}, kind="address")
        return [m.address_from(a) for a in ips if not a.get("issourcenat")]

    async def allocate_address(self) -> FloatingAddress:
        network = self.settings.network_id or await self.shared.default_network(self.cs)
        params = {"networkid": network} if network else {"zoneid": await self._zone_id()}
        result = await self.cs.run("associateIpAddress", params, kind="address")
        return m.address_from(result.get("ipaddress") or {})

    async def release_address(self, address_id: str) -> None:
        await self.cs.run("disassociateIpAddress", {"id": address_id}, kind="address")

    async def associate_address(self, address_id: str, server_id: str, fixed_ip: str | None = None) -> None:
        await self.cs.call("enableStaticNat", {"ipaddressid": address_id, "virtualmachineid": server_id,
                                               "vmguestip": fixed_ip}, kind="address")

    async def disassociate_address(self, address_id: str) -> None:
        await self.cs.run("disableStaticNat", {"ipaddressid": address_id}, kind="address")
