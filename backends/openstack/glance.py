"""Glance (image API v2): list, show, create, patch, delete, members, upload.

Glance v2 versions by URL (`/v2`), not by header; everything here is in v2.0–v2.5 except the
web-download import (v2.6+, used only by `register_image` with an http(s) location).
"""

from __future__ import annotations

from typing import Any

from backends import base

from .http import Fault, Service

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def _member_conflict(fault: Fault) -> base.BackendError:
    return base.AlreadyExists(fault.message)


class Glance(Service):
    async def images(self, **filters: str) -> list[dict]:
        return await self.get_all("/images", "images", params={"limit": "1000", **filters})

    async def image(self, image_id: str) -> dict:
        return await self.get(f"/images/{image_id}", kind="image")

    async def create_image(self, image: dict[str, Any]) -> dict:
        return (await self.call("POST", "/images", json_body=image, kind="image")).data or {}

    async def upload(self, image_id: str, data: bytes) -> None:
        await self.call("PUT", f"/images/{image_id}/file", data=data, kind="image",
                        headers={"Content-Type": "application/octet-stream"})

    async def import_from_url(self, image_id: str, url: str) -> None:
        body = {"method": {"name": "web-download", "uri": url}}
        await self.call("POST", f"/images/{image_id}/import", json_body=body, kind="image")

    async def patch(self, image_id: str, ops: list[dict[str, Any]]) -> dict:
        return (await self.call("PATCH", f"/images/{image_id}", json_body=ops, kind="image",
                                headers={"Content-Type": PATCH_TYPE})).data or {}

    async def delete_image(self, image_id: str) -> None:
        await self.call("DELETE", f"/images/{image_id}", kind="image")

    async def members(self, image_id: str) -> list[dict]:
        return (await self.get(f"/images/{image_id}/members", kind="image")).get("members") or []

    async def add_member(self, image_id: str, member: str) -> None:
        await self.call("POST", f"/images/{image_id}/members", json_body={"member": member}, kind="image",
                        errors={409: _member_conflict})

    async def delete_member(self, image_id: str, member: str) -> None:
        await self.call("DELETE", f"/images/{image_id}/members/{member}", kind="image_member")
