"""Nova (compute API v2.1), only the calls the neutral Compute contract needs.

Pinned microversion 2.92 (Nova 26 "Zed" and later): flavors embedded in servers (2.47), volume
attachment `delete_on_termination` (2.79), hostname visible to owners (2.90), key pairs imported
only, names with `@` and `.` allowed (2.92). `networks` is required on create since 2.37.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from backends import base

from .http import Fault, Service

MICROVERSION = "2.92"


def _missing(fault: Fault) -> base.BackendError:
    """Nova's 404 on a server sub-resource names what is missing: "Instance x could not be found",
    "Volume x could not be found", "volume_id x not attached"."""
    text = fault.message.lower()
    if text.startswith("volume") or " volume " in text:
        kind = "attachment" if "attach" in text else "volume"
    elif "image" in text:
        kind = "image"
    elif "flavor" in text:
        kind = "flavor"
    elif "key" in text and "pair" in text:
        kind = "keypair"
    elif "network" in text:
        kind = "network"
    else:
        kind = "server"
    return base.NotFound(fault.message, kind=kind)


def _bad_request(fault: Fault) -> base.BackendError:
    """Nova answers 400 for several "wrong state" cases the caller sees as conflicts."""
    text = fault.message.lower()
    if "invalid volume" in text or "already attached" in text or "in-use" in text or "in use" in text:
        return base.Conflict(fault.message)
    if "quota" in text:
        return base.QuotaExceeded(fault.message)
    # A server boot naming an image, flavor, key or group that does not exist is a 400 in Nova
    missing = any(p in text for p in ("not found", "could not be found", "can not find", "cannot find",
                                      "does not exist"))
    for word, kind in (("snapshot", "snapshot"), ("image", "image"), ("flavor", "flavor"),
                       ("key pair", "keypair"), ("keypair", "keypair"), ("security group", "security_group"),
                       ("network", "network")):
        if missing and word in text:
            return base.NotFound(fault.message, kind=kind)
    return base.InvalidInput(fault.message)


_ERRORS = {400: _bad_request, 404: _missing}


class Nova(Service):
    headers = {"OpenStack-API-Version": f"compute {MICROVERSION}", "X-OpenStack-Nova-API-Version": MICROVERSION}

    # -- servers ---------------------------------------------------------------------------------------
    async def servers(self, **filters: str) -> list[dict]:
        return await self.get_all("/servers/detail", "servers", params=filters or None)

    async def server(self, server_id: str) -> dict:
        return (await self.get(f"/servers/{server_id}", kind="server", errors=_ERRORS))["server"]

    async def create_servers(self, server: dict[str, Any]) -> str:
        """POST /servers with return_reservation_id: the reservation id names every server created."""
        body = {"server": {**server, "return_reservation_id": True}}
        data = (await self.call("POST", "/servers", json_body=body, errors=_ERRORS)).data or {}
        return data.get("reservation_id") or (data.get("server") or {}).get("id", "")

    async def action(self, server_id: str, body: dict[str, Any]) -> dict:
        return (await self.call("POST", f"/servers/{server_id}/action", json_body=body, kind="server",
                                errors=_ERRORS)).data or {}

    async def delete_server(self, server_id: str) -> None:
        await self.call("DELETE", f"/servers/{server_id}", kind="server", errors=_ERRORS)

    async def rename_server(self, server_id: str, name: str) -> None:
        await self.call("PUT", f"/servers/{server_id}", json_body={"server": {"name": name}}, kind="server")

    async def set_metadata(self, server_id: str, metadata: dict[str, str]) -> None:
        await self.call("PUT", f"/servers/{server_id}/metadata", json_body={"metadata": metadata},
                        kind="server", errors=_ERRORS)

    async def console_output(self, server_id: str) -> str:
        data = await self.action(server_id, {"os-getConsoleOutput": {"length": None}})
        return str(data.get("output") or "")

    async def server_password(self, server_id: str) -> str:
        data = await self.get(f"/servers/{server_id}/os-server-password", kind="server", errors=_ERRORS)
        return str(data.get("password") or "")

    async def create_image(self, server_id: str, name: str, metadata: dict[str, str]) -> str:
        data = await self.action(server_id, {"createImage": {"name": name, "metadata": metadata}})
        return str(data.get("image_id") or "")

    # -- volumes on servers ---------------------------------------------------------------------------------
    async def attach_volume(self, server_id: str, volume_id: str, device: str | None) -> dict:
        body: dict[str, Any] = {"volumeId": volume_id}
        if device:
            body["device"] = device
        data = (await self.call("POST", f"/servers/{server_id}/os-volume_attachments",
                                json_body={"volumeAttachment": body}, errors=_ERRORS)).data or {}
        return data.get("volumeAttachment") or {}

    async def attached_volume_ids(self, server_id: str) -> set[str]:
        data = await self.get(f"/servers/{server_id}/os-volume_attachments", kind="server", errors=_ERRORS)
        return {a.get("volumeId", "") for a in data.get("volumeAttachments") or ()}

    async def set_delete_on_termination(self, server_id: str, volume_id: str, delete: bool) -> None:
        """2.85+: whether Nova deletes an attached volume with its server."""
        await self.call("PUT", f"/servers/{server_id}/os-volume_attachments/{volume_id}", errors=_ERRORS,
                        json_body={"volumeAttachment": {"volumeId": volume_id, "delete_on_termination": delete}})

    async def detach_volume(self, server_id: str, volume_id: str) -> None:
        await self.call("DELETE", f"/servers/{server_id}/os-volume_attachments/{volume_id}", errors=_ERRORS)

    # -- catalogue -------------------------------------------------------------------------------------------
    async def flavors(self) -> list[dict]:
        return await self.get_all("/flavors/detail", "flavors")

    async def zones(self) -> list[dict]:
        return (await self.get("/os-availability-zone")).get("availabilityZoneInfo") or []

    # -- key pairs --------------------------------------------------------------------------------------------
    async def keypairs(self) -> list[dict]:
        return [k.get("keypair") or {} for k in await self.get_all("/os-keypairs", "keypairs")]

    async def keypair(self, name: str) -> dict:
        return (await self.get(f"/os-keypairs/{quote(name, safe='')}", kind="keypair"))["keypair"]

    async def import_keypair(self, name: str, public_key: str) -> dict:
        body = {"keypair": {"name": name, "public_key": public_key, "type": "ssh"}}
        data = (await self.call("POST", "/os-keypairs", json_body=body, kind="keypair")).data or {}
        return data.get("keypair") or {}

    async def delete_keypair(self, name: str) -> None:
        await self.call("DELETE", f"/os-keypairs/{quote(name, safe='')}", kind="keypair")
