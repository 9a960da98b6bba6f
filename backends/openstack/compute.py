"""`OpenStackCompute`: the neutral Compute contract on Nova, Glance, Cinder and Neutron, as one caller.

Every call carries the caller's own project-scoped token (from Keystone's ec2tokens answer), so the
cloud enforces isolation: another project's server or volume is simply not found. Calls per operation
are constant: `list_servers` is one `/servers/detail` plus, concurrently, one Neutron port listing, one
floating IP listing and one Cinder volume listing — 4 calls for 1 server or 1000.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
import uuid
from collections import defaultdict
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
    Snapshot,
    Volume,
    Zone,
)

from . import mapping as m
from .cinder import Cinder
from .glance import Glance
from .neutron import Neutron
from .nova import Nova
from .session import Caller

LOG = logging.getLogger("cloudgate.backend.openstack.compute")
# A launch whose answer was lost (a deadline passed, the connection was cut) may still have made servers:
# they are found by their launch mark (Nova metadata) and deleted (_undo_launch).
LAUNCH_MARK = m.LAUNCH_MARK
UNDO_SECONDS = 300.0     # how long the clean-up keeps trying while Nova does not answer
UNDO_SETTLE = 60.0       # a launch Nova was still processing shows by then: listed once more at this age
_undoing: set[asyncio.Task] = set()

# Up to this many named servers are read one by one (with only their own ports, floating IPs and
# volumes); more than that, one listing of each collection costs less.
TARGETED_MAX = 20


async def _nothing() -> list[dict]:
    return []


class OpenStackCompute(Compute):
    # Cinder answers 400 "still has N dependent snapshots"; `cascade=true` would delete the snapshots
    keeps_volumes_with_snapshots = True

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.shared = caller.shared
        self.project_id = caller.project_id

    @property
    def nova(self) -> Nova:
        return self.caller.nova

    @property
    def neutron(self) -> Neutron:
        return self.caller.neutron

    @property
    def glance(self) -> Glance:
        return self.caller.glance

    @property
    def cinder(self) -> Cinder:
        return self.caller.cinder

    # -- catalogue --------------------------------------------------------------------------------------
    async def list_zones(self) -> list[Zone]:
        zones = await self.nova.zones()
        return [Zone(z.get("zoneName", ""), bool((z.get("zoneState") or {}).get("available")))
                for z in zones if z.get("zoneName") and z.get("zoneName") != "internal"]

    async def list_flavors(self) -> list[Flavor]:
        return await self.shared.cached(("flavors", self.project_id), self._load_flavors)

    async def _load_flavors(self) -> list[Flavor]:
        return [m.flavor_from(f) for f in await self.nova.flavors()]

    async def _flavor_id(self, name: str) -> str:
        for f in await self.list_flavors():
            if name in (f.name, f.id):
                return f.id
        raise base.NotFound(f"flavor {name} not found", kind="flavor")

    # -- servers ----------------------------------------------------------------------------------------
    async def list_servers(self, ids: list[str] | None = None) -> list[Server]:
        if ids is not None and not ids:
            return []
        if ids and len(ids) <= TARGETED_MAX:
            return await self._named_servers(list(dict.fromkeys(ids)))
        wanted = set(ids or ())
        servers, ports, fips, volumes = await asyncio.gather(
            self.nova.servers(), self.neutron.ports(), self.neutron.floating_ips(), self._volumes_if_any())
        if wanted:
            servers = [s for s in servers if s.get("id") in wanted]
        return self._assemble(servers, [p for p in ports if m.is_server_port(p)], fips,
                              {v.get("id", ""): v for v in volumes})

    async def _named_servers(self, ids: list[str]) -> list[Server]:
        """A few named servers, read by id: their own ports, floating IPs and volumes only, so the cost
        does not grow with the project's size."""
        found, ports = await asyncio.gather(
            asyncio.gather(*(self._one_server(i) for i in ids)), self.neutron.ports(device_id=ids))
        servers = [s for one in found for s in one]
        ports = [p for p in ports if m.is_server_port(p)]
        volume_ids = sorted({a.get("id", "") for s in servers
                             for a in s.get("os-extended-volumes:volumes_attached") or () if a.get("id")})
        fips, volumes = await asyncio.gather(
            self.neutron.floating_ips(port_id=[p["id"] for p in ports]) if ports else _nothing(),
            self._named_volumes(volume_ids))
        return self._assemble(servers, ports, fips, volumes)

    @staticmethod
    def _assemble(servers: list[dict], ports: list[dict], fips: list[dict],
                  volumes: dict[str, dict]) -> list[Server]:
        ports_by_device: dict[str, list[dict]] = defaultdict(list)
        for port in ports:
            ports_by_device[port.get("device_id", "")].append(port)
        fips_by_port: dict[str, list[dict]] = defaultdict(list)
        for fip in fips:
            if fip.get("port_id"):
                fips_by_port[fip["port_id"]].append(fip)
        return [m.server_from(s, ports_by_device.get(s.get("id", ""), ()), fips_by_port, volumes)
                for s in servers]

    async def _one_server(self, server_id: str) -> list[dict]:
        try:
            server = await self.nova.server(server_id)
        except base.NotFound:
            return []
        # a token with an admin role reads any project's server by id; a listing would not show it
        return [server] if server.get("tenant_id") in (None, self.project_id) else []

    async def _volumes_if_any(self) -> list[dict]:
        try:
            cinder = self.cinder
        except base.Unavailable:
            return []  # a cloud without Cinder: servers still list, without device names
        return await cinder.volumes()

    async def _named_volumes(self, volume_ids: list[str]) -> dict[str, dict]:
        if not volume_ids:
            return {}
        try:
            cinder = self.cinder
        except base.Unavailable:
            return {}

        async def one(volume_id: str) -> dict | None:
            try:
                return await cinder.volume(volume_id)
            except base.NotFound:  # deleted between Nova's answer and ours: no device name to give
                return None
        found = await asyncio.gather(*(one(v) for v in volume_ids))
        return {v.get("id", ""): v for v in found if v}

    async def create_servers(self, spec: ServerSpec) -> list[Server]:
        if not spec.network_id and not spec.ports:  # not in a VPC: the project's own network, not a VPC's

            spec = dataclasses.replace(spec, network_id=await self.caller.classic_network())
        body = m.server_body(spec, await self._flavor_id(spec.flavor_name))
        mark = uuid.uuid4().hex
        body["metadata"] = {**(body.get("metadata") or {}), LAUNCH_MARK: mark}
        try:
            reservation = await self.nova.create_servers(body)
            created: list[dict] = []
            for delay in (0, 0.2, 0.5, 1.0):  # the listing sees a new reservation at once; tolerate lag
                await asyncio.sleep(delay)
                created = await self.nova.servers(reservation_id=reservation)
                if created:
                    break
        except base.Unavailable:
            # the caller is told the launch failed: whatever it made must not stay behind (nor be
            # launched twice by a retry with the same ClientToken)
            task = asyncio.get_running_loop().create_task(_undo_launch(self.nova, mark, spec.name))
            _undoing.add(task)
            task.add_done_callback(_undone)
            raise
        created.sort(key=m.launch_order)
        servers = []
        for index, raw in enumerate(created):
            server = m.server_from(raw)
            server.reservation_id = server.reservation_id or reservation
            server.launch_index = index
            server.user_data = server.user_data or spec.user_data
            servers.append(server)
        return servers

    async def start_server(self, server_id: str) -> None:
        await self.nova.action(server_id, {"os-start": None})

    async def stop_server(self, server_id: str, force: bool = False) -> None:
        await self.nova.action(server_id, {"os-stop": None})

    async def reboot_server(self, server_id: str) -> None:
        await self.nova.action(server_id, {"reboot": {"type": "SOFT"}})

    async def delete_server(self, server_id: str) -> None:
        await self.nova.delete_server(server_id)

    async def update_server(self, server_id: str, *, name: str | None = None,
                            metadata: dict[str, str] | None = None,
                            security_groups: list[str] | None = None) -> None:
        if name is not None:
            await self.nova.rename_server(server_id, name)
        if metadata is not None:
            await self.nova.set_metadata(server_id, metadata)
        if security_groups is not None:
            ports = await self._server_ports(server_id)
            await asyncio.gather(*(self.neutron.update_port(p["id"], {"security_groups": list(security_groups)})
                                   for p in ports))

    async def resize_server(self, server_id: str, flavor_name: str) -> None:
        """Nova resizes asynchronously and then waits for a confirmation: confirm it as soon as the server
        reaches VERIFY_RESIZE (a few seconds for a stopped server), so the new flavor holds when this
        returns, as EC2's ModifyInstanceAttribute promises. A resize no host can take (e.g. a one-node cloud
        without `allow_resize_to_same_host`) puts the server back as it was: NotSupported."""
        flavor_id = await self._flavor_id(flavor_name)
        await self.nova.action(server_id, {"resize": {"flavorRef": flavor_id}})
        deadline = time.monotonic() + self.shared.http.timeout
        delay = 0.2
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
            server = await self.nova.server(server_id)
            status = server.get("status")
            if status == "VERIFY_RESIZE" and not server.get("OS-EXT-STS:task_state"):
                await self.nova.action(server_id, {"confirmResize": None})
                await self._settled(server_id, deadline)  # confirming is asynchronous too
                return
            if status == "ERROR":
                raise base.Unavailable(f"resizing the server failed: {(server.get('fault') or {}).get('message')}")
            if status != "RESIZE" and not server.get("OS-EXT-STS:task_state"):
                if (server.get("flavor") or {}).get("original_name") == flavor_name:
                    return  # confirmed already (the cloud auto-confirms)
                raise base.NotSupported(f"the cloud could not resize the server to {flavor_name} "
                                        "(no compute host accepted the new size)")
        raise base.Unavailable("the resize did not finish in time")

    async def _settled(self, server_id: str, deadline: float) -> None:
        """Wait (bounded) until the server has left the resize states and no task runs on it."""
        while time.monotonic() < deadline:
            server = await self.nova.server(server_id)
            if server.get("status") not in ("RESIZE", "VERIFY_RESIZE") and not server.get("OS-EXT-STS:task_state"):
                return
            await asyncio.sleep(0.3)
        raise base.Unavailable("confirming the resize did not finish in time")

    async def _server_ports(self, server_id: str) -> list[dict]:
        ports = [p for p in await self.neutron.ports(device_id=server_id) if m.is_server_port(p)]
        if not ports:
            await self.nova.server(server_id)  # NotFound(kind="server") when it is not the caller's
            raise base.Conflict("the server has no network port yet")
        return ports

    async def console_output(self, server_id: str) -> str:
        return await self.nova.console_output(server_id)

    async def set_delete_on_termination(self, server_id: str, volume_id: str, delete: bool) -> None:
        await self.nova.set_delete_on_termination(server_id, volume_id, delete)

    async def password_data(self, server_id: str) -> str:
        return await self.nova.server_password(server_id)  # what the guest posted to the metadata service

    # -- images -------------------------------------------------------------------------------------------
    async def list_images(self, ids: list[str] | None = None) -> list[Image]:
        if ids is not None and not ids:
            return []
        # own, public and shared with us (accepted or not: EC2 launch permissions need no acceptance),
        # plus community images (what a non-admin "public" image becomes, see update_image)
        listed, community = await asyncio.gather(self.glance.images(member_status="all"),
                                                 self.glance.images(visibility="community"))
        seen: dict[str, dict] = {}
        for img in [*listed, *community]:
            seen.setdefault(img.get("id", ""), img)
        found = [img for img in seen.values() if not ids or img.get("id") in ids]
        members: dict[str, list[str]] = {}
        if ids:  # launch permissions of the caller's own shared images, for the few asked for
            mine = [img["id"] for img in found if img.get("owner") == self.project_id
                    and img.get("visibility") == "shared"]
            lists = await asyncio.gather(*(self.glance.members(i) for i in mine))
            members = {i: [mb.get("member_id", "") for mb in ms] for i, ms in zip(mine, lists, strict=True)}
        return [m.image_from(img, members.get(img.get("id", ""), ())) for img in found]

    async def _image(self, image_id: str) -> Image:
        return m.image_from(await self.glance.image(image_id))

    async def create_image(self, server_id: str, name: str, description: str | None = None) -> Image:
        image_id = await self.nova.create_image(server_id, name, {"description": description} if description else {})
        try:
            return await self._image(image_id)
        except base.NotFound:  # not visible yet: it is being created
            return Image(id=image_id, name=name, state="pending", owner=self.project_id, public=False,
                         description=description)

    async def register_image(self, name: str, *, location: str | None = None,
                             block_devices: list[tuple[str, str | None, int | None]] | None = None,
                             root_device: str | None = None, architecture: str | None = None,
                             description: str | None = None) -> Image:
        if not block_devices and not (location and location.startswith(("http://", "https://"))):
            raise base.NotSupported("register an image from block devices (snapshots) or an http(s) URL")
        body: dict[str, Any] = {"name": name, "container_format": "bare", "disk_format": "raw",
                                "visibility": "private", "architecture": architecture or "x86_64"}
        if description:
            body["description"] = description
        if block_devices:
            body.update(m.image_bdm_properties(block_devices, root_device))
        elif root_device:
            body["root_device_name"] = root_device
        image = await self.glance.create_image(body)
        try:
            if block_devices:
                await self.glance.upload(image["id"], b"")  # no data: volume-backed, as Nova's snapshots
            else:
                await self.glance.import_from_url(image["id"], str(location))
        except base.BackendError:
            with contextlib.suppress(base.BackendError):
                await self.glance.delete_image(image["id"])
            raise
        return await self._image(image["id"])

    async def delete_image(self, image_id: str) -> None:
        await self.glance.delete_image(image_id)

    async def update_image(self, image_id: str, *, description: str | None = None,
                           public: bool | None = None, add_members: list[str] | None = None,
                           remove_members: list[str] | None = None) -> None:
        img = await self.glance.image(image_id)
        ops: list[dict[str, Any]] = []
        if description is not None:
            ops.append({"op": "replace" if "description" in img else "add", "path": "/description",
                        "value": description})
        visibility = img.get("visibility")
        if public is True:
            visibility = "public"
        elif public is False or (add_members and visibility == "private"):
            visibility = "shared"  # keeps launch permissions (private would hide the image from members)
        if ops:
            await self.glance.patch(image_id, ops)
        if visibility != img.get("visibility"):
            try:
                await self.glance.patch(image_id, [{"op": "replace", "path": "/visibility", "value": visibility}])
            except base.Forbidden:
                if visibility != "public":
                    raise
                # publicizing needs admin in Glance's default policy: "community" is the public image
                # every project may make (listed by list_images for everyone)
                await self.glance.patch(image_id, [{"op": "replace", "path": "/visibility", "value": "community"}])
        for member in add_members or ():
            with contextlib.suppress(base.AlreadyExists):
                await self.glance.add_member(image_id, member)
        for member in remove_members or ():
            with contextlib.suppress(base.NotFound):
                await self.glance.delete_member(image_id, member)

    # -- key pairs ----------------------------------------------------------------------------------------
    async def list_keypairs(self) -> list[KeyPair]:
        return [m.keypair_from(k) for k in await self.nova.keypairs()]

    async def import_keypair(self, name: str, public_key: str) -> KeyPair:
        return m.keypair_from(await self.nova.import_keypair(name, public_key))

    async def delete_keypair(self, name: str) -> None:
        await self.nova.delete_keypair(name)

    # -- security groups -------------------------------------------------------------------------------------
    async def list_security_groups(self, ids: list[str] | None = None) -> list[SecurityGroup]:
        if ids is not None and not ids:
            return []
        groups = await self.neutron.security_groups(id=list(ids) if ids else None)
        return [m.group_from(g) for g in groups]

    async def create_security_group(self, name: str, description: str,
                                    network_id: str | None = None) -> SecurityGroup:
        # Neutron allows duplicate names; clouds the gateway fronts must not (names address groups)
        if await self.neutron.security_groups(name=name, project_id=self.project_id):
            raise base.AlreadyExists(f"security group {name!r} already exists")
        return m.group_from(await self.neutron.create_security_group(name, description))

    async def delete_security_group(self, group_id: str) -> None:
        await self.neutron.delete_security_group(group_id)

    async def add_security_rule(self, rule: SecurityRule) -> SecurityRule:
        return m.rule_from(await self.neutron.create_rule(m.rule_body(rule)))

    async def delete_security_rule(self, rule_id: str) -> None:
        await self.neutron.delete_rule(rule_id)

    # -- volumes and snapshots --------------------------------------------------------------------------------
    async def list_volumes(self, ids: list[str] | None = None) -> list[Volume]:
        if ids is not None and not ids:
            return []
        if ids and len(ids) == 1:
            try:
                return [m.volume_from(await self.cinder.volume(ids[0]))]
            except base.NotFound:
                return []
        return [m.volume_from(v) for v in await self.cinder.volumes() if not ids or v.get("id") in ids]

    async def create_volume(self, size_gib: int | None, zone: str | None, *, snapshot_id: str | None = None,
                            volume_type: str | None = None, name: str | None = None,
                            encrypted: bool = False) -> Volume:
        if encrypted:
            volume_type = await self._encrypted_type(snapshot_id)
        body: dict[str, Any] = {"size": size_gib}
        for key, value in (("availability_zone", zone), ("snapshot_id", snapshot_id),
                           ("volume_type", volume_type), ("name", name)):
            if value:
                body[key] = value
        return m.volume_from(await self.cinder.create_volume(body))

    async def _encrypted_type(self, snapshot_id: str | None) -> str | None:
        """The volume type for an encrypted volume. Cinder encrypts by volume type (an encryption spec, a key
        per volume). From a snapshot: none, so Cinder takes the snapshot's own; it refuses a type whose
        encryption differs from the source's, so an unencrypted snapshot cannot give an encrypted volume."""
        if snapshot_id:
            snap = await self.cinder.snapshot(snapshot_id)
            if not await self._volume_encrypted(snap.get("volume_id")):
                raise base.NotSupported("An encrypted volume cannot be created from an unencrypted snapshot.")
            return None
        if not self.shared.encrypted_volume_type:
            raise base.NotSupported("Encrypted volumes are not supported.")
        return self.shared.encrypted_volume_type

    async def _volume_encrypted(self, volume_id: str | None) -> bool:
        """Cinder shows `encrypted` on volumes only; a snapshot is encrypted when its volume is (Cinder keeps
        a volume while it has snapshots)."""
        if not volume_id:
            return False
        try:
            return bool((await self.cinder.volume(volume_id)).get("encrypted"))
        except base.NotFound:
            return False

    async def delete_volume(self, volume_id: str) -> None:
        await self.cinder.delete_volume(volume_id)

    async def update_volume(self, volume_id: str, *, name: str | None = None,
                            description: str | None = None) -> None:
        await self.cinder.update_volume(volume_id, name=name, description=description)

    async def attach_volume(self, volume_id: str, server_id: str, device: str | None) -> Attachment:
        # A detach finishes in steps: Cinder drops the attachment, its status says "detaching" a moment longer,
        # and Nova destroys its block-device mapping last; Nova refuses an attach (409 DevicePathInUse, 400
        # "already attached") until then. EC2 has no such moment: wait it out, bounded.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (await self.cinder.volume(volume_id)).get("status") != "detaching" \
                    and volume_id not in await self.nova.attached_volume_ids(server_id):
                break
            await asyncio.sleep(0.5)
        att = await self.nova.attach_volume(server_id, volume_id, device)
        return Attachment(volume_id=volume_id, server_id=server_id, device=att.get("device") or device,
                          delete_on_termination=bool(att.get("delete_on_termination")))

    async def detach_volume(self, volume_id: str, server_id: str | None = None, force: bool = False) -> None:
        # `force` (Cinder's os-force_detach) is an admin action in OpenStack: a normal detach is used
        if server_id is None:
            attached = [a.get("server_id") for a in (await self.cinder.volume(volume_id)).get("attachments") or ()
                        if a.get("server_id")]
            if not attached:
                raise base.Conflict(f"volume {volume_id} is not attached")
            server_id = attached[0]
        await self.nova.detach_volume(server_id, volume_id)

    async def extend_volume(self, volume_id: str, size_gib: int) -> None:
        await self.cinder.extend_volume(volume_id, size_gib)

    async def list_snapshots(self, ids: list[str] | None = None) -> list[Snapshot]:
        if ids is not None and not ids:
            return []
        if ids and len(ids) == 1:
            try:
                snap = await self.cinder.snapshot(ids[0])
            except base.NotFound:
                return []
            return [m.snapshot_from(snap, await self._volume_encrypted(snap.get("volume_id")))]
        snaps, volumes = await asyncio.gather(self.cinder.snapshots(), self.cinder.volumes())
        encrypted = {v.get("id") for v in volumes if v.get("encrypted")}
        return [m.snapshot_from(s, s.get("volume_id") in encrypted) for s in snaps if not ids or s.get("id") in ids]

    async def create_snapshot(self, volume_id: str, description: str | None = None) -> Snapshot:
        snap = await self.cinder.create_snapshot(volume_id, description)
        return m.snapshot_from(snap, await self._volume_encrypted(volume_id))

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self.cinder.delete_snapshot(snapshot_id)

    # -- floating addresses ------------------------------------------------------------------------------------
    async def list_addresses(self) -> list[FloatingAddress]:
        fips, ports, pools = await asyncio.gather(self.neutron.floating_ips(),
                                                  self.neutron.ports(fields=("id", "device_id")),
                                                  self.shared.external_networks(self.neutron))
        device_by_port = {p.get("id", ""): p.get("device_id", "") for p in ports}
        names = {net_id: name for name, net_id in pools.items()}
        return [m.address_from(f, device_by_port, names) for f in fips]

    async def allocate_address(self) -> FloatingAddress:
        pools = await self.shared.external_networks(self.neutron)
        network_id = await self.shared.public_network_id(self.neutron, "floating IP pool (external network)")
        fip = await self.neutron.create_floating_ip(network_id)
        return m.address_from(fip, {}, {nid: name for name, nid in pools.items()})

    async def release_address(self, address_id: str) -> None:
        await self.neutron.delete_floating_ip(address_id)

    async def associate_address(self, address_id: str, server_id: str, fixed_ip: str | None = None) -> None:
        ports = await self._server_ports(server_id)
        if fixed_ip:
            ports = [p for p in ports if any(f.get("ip_address") == fixed_ip for f in p.get("fixed_ips") or ())]
            if not ports:
                raise base.InvalidInput(f"the server has no private address {fixed_ip}")
        elif len(ports) > 1:  # the primary NIC is Nova's first
            order = m.port_order(await self.nova.server(server_id))
            ports.sort(key=lambda p: (order.get(p.get("mac_address", ""), len(order)), p.get("id", "")))
        await self.neutron.update_floating_ip(address_id, ports[0]["id"], fixed_ip)

    async def disassociate_address(self, address_id: str) -> None:
        await self.neutron.update_floating_ip(address_id, None)


def _undone(task: asyncio.Task) -> None:
    _undoing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        LOG.warning("clean-up of a lost launch failed", exc_info=task.exception())


async def _undo_launch(nova: Nova, mark: str, name: str) -> None:
    """Delete the servers of a launch whose outcome was lost, found by their LAUNCH_MARK among the servers of
    its name: as soon as Nova answers, and once more when the launch is UNDO_SETTLE old (Nova may still
    have been creating them). Gives up after UNDO_SECONDS."""
    started = time.monotonic()
    while (age := time.monotonic() - started) < UNDO_SECONDS:
        final = age >= UNDO_SETTLE
        try:
            # by name (few servers, answered in time by a loaded Nova); not by changes-since, which leaves
            # out servers still building (seen on Nova 33)
            servers = await nova.servers(name=f"^{re.escape(name)}$")
        except base.BackendError:  # Nova still unreachable: try again
            await asyncio.sleep(5)
            continue
        for server in servers:
            if (server.get("metadata") or {}).get(LAUNCH_MARK) == mark and server.get("status") != "DELETED":
                with contextlib.suppress(base.BackendError):
                    await nova.delete_server(server["id"])
                    LOG.warning("deleted a server of a launch whose answer was lost",
                                extra={"fields": {"server": server["id"]}})
        if final:
            return
        await asyncio.sleep(UNDO_SETTLE - age)
    LOG.warning("a launch whose answer was lost could not be checked for servers", extra={"fields": {"mark": mark}})
