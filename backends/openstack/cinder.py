"""Cinder (block storage API v3): volumes and snapshots.

Pinned microversion 3.67 (Cinder 19 "Yoga" and later): in-use volumes snapshot without `force`
(3.66), endpoint URLs with or without the project id (3.67), in-use extend (3.42).
"""

from __future__ import annotations

from typing import Any

from backends import base

from .http import Fault, Service

MICROVERSION = "3.67"


def _wrong_state(fault: Fault) -> base.BackendError:
    """Cinder answers 400 "Invalid volume: ... must be available" for a volume in use or busy: for the
    caller that is a state conflict, not bad input."""
    text = fault.message.lower()
    if "invalid volume" in text or "invalid snapshot" in text or "status must be" in text \
            or "in-use" in text or "has snapshots" in text or "attached" in text:
        return base.Conflict(fault.message)
    if "quota" in text:
        return base.QuotaExceeded(fault.message)
    return base.InvalidInput(fault.message)


def _missing_on_create(fault: Fault) -> base.BackendError:
    text = fault.message.lower()
    kind = "snapshot" if "snapshot" in text else "volume_type" if "type" in text else \
        "zone" if "availability" in text else "volume"
    return base.NotFound(fault.message, kind=kind)


class Cinder(Service):
    headers = {"OpenStack-API-Version": f"volume {MICROVERSION}"}

    # -- volumes ------------------------------------------------------------------------------------------
    async def volumes(self, **filters: str) -> list[dict]:
        return await self.get_all("/volumes/detail", "volumes", params=filters or None)

    async def volume(self, volume_id: str) -> dict:
        return (await self.get(f"/volumes/{volume_id}", kind="volume"))["volume"]

    async def create_volume(self, volume: dict[str, Any]) -> dict:
        data = (await self.call("POST", "/volumes", json_body={"volume": volume},
                                errors={400: _wrong_state, 404: _missing_on_create})).data or {}
        return data["volume"]

    async def delete_volume(self, volume_id: str) -> None:
        await self.call("DELETE", f"/volumes/{volume_id}", kind="volume", errors={400: _wrong_state})

    async def update_volume(self, volume_id: str, *, name: str | None = None,
                            description: str | None = None) -> None:
        body = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
        await self.call("PUT", f"/volumes/{volume_id}", json_body={"volume": body}, kind="volume",
                        errors={400: _wrong_state})

    async def extend_volume(self, volume_id: str, size_gib: int) -> None:
        await self.call("POST", f"/volumes/{volume_id}/action", json_body={"os-extend": {"new_size": size_gib}},
                        kind="volume", errors={400: _wrong_state})

    # -- snapshots ----------------------------------------------------------------------------------------
    async def snapshots(self, **filters: str) -> list[dict]:
        return await self.get_all("/snapshots/detail", "snapshots", params=filters or None)

    async def snapshot(self, snapshot_id: str) -> dict:
        return (await self.get(f"/snapshots/{snapshot_id}", kind="snapshot"))["snapshot"]

    async def create_snapshot(self, volume_id: str, description: str | None) -> dict:
        body: dict[str, Any] = {"volume_id": volume_id}
        if description is not None:
            body["description"] = description
        data = (await self.call("POST", "/snapshots", json_body={"snapshot": body}, kind="volume",
                                errors={400: _wrong_state})).data or {}
        return data["snapshot"]

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self.call("DELETE", f"/snapshots/{snapshot_id}", kind="snapshot", errors={400: _wrong_state})
