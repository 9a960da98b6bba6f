"""EC2 tags held by the gateway (per account, keyed by EC2 id), with AWS's limits and rules.

Clouds differ in what they can tag (Nova has string tags and metadata, Cinder metadata, Neutron plain
tags), so one store serves every resource kind the same way; handlers attach `Tags` to the items they
describe with `attach()` and filters (`tag:Name`, `tag-key`...) then work uniformly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..protocol import errors
from ..store import Store
from .ids import PREFIXES

NS_TAGS = "ec2:tags"  # "<account>/<ec2 id>" -> {key: value}
MAX_TAGS = 50
_KIND_BY_PREFIX = {prefix: kind for kind, prefix in PREFIXES.items()}


def resource_type(ec2_id: str) -> str:
    """AWS's ResourceType for an id, from its prefix (`i-…` → instance)."""
    return _KIND_BY_PREFIX.get(ec2_id.rsplit("-", 1)[0], "unknown")


def validate(tags: Sequence[dict[str, Any]], *, values_required: bool = True) -> None:
    for tag in tags:
        key = tag.get("Key")
        if key is None or key == "":
            raise errors.InvalidParameterValue("Tag keys must not be empty.") if key == "" else \
                errors.MissingParameter("The request must contain the parameter Tag.Key")
        if len(key) > 128:
            raise errors.InvalidParameterValue(f"Tag key exceeds the maximum length of 128 characters: {key}")
        if key.lower().startswith("aws:"):
            raise errors.InvalidParameterValue(
                "Tag keys starting with 'aws:' are reserved for internal use")
        value = tag.get("Value")
        if value is None and values_required:
            value = ""
        if value is not None and len(value) > 256:
            raise errors.InvalidParameterValue(f"Tag value exceeds the maximum length of 256 characters: {key}")


def as_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


class Tags:
    """The tags of one account."""

    def __init__(self, store: Store, account: str) -> None:
        self.store, self.account = store, account

    def _key(self, ec2_id: str) -> str:
        return f"{self.account}/{ec2_id}"

    async def get(self, ec2_id: str) -> dict[str, str]:
        return await self.store.get(NS_TAGS, self._key(ec2_id)) or {}

    async def add(self, ec2_ids: Iterable[str], tags: Sequence[dict[str, Any]], *, system: bool = False) -> None:
        """`system`: EC2's own `aws:` tags, set by the gateway (a caller's are validated)."""
        if not system:
            validate(tags)
        given = {t["Key"]: t.get("Value") or "" for t in tags}

        def merged(current: dict[str, str] | None) -> dict[str, str]:
            out = {**(current or {}), **given}
            if len(out) > MAX_TAGS:
                raise errors.TagLimitExceeded(
                    f"The maximum number of tags per resource ({MAX_TAGS}) has been exceeded")
            return out

        for ec2_id in ec2_ids:  # compare-and-set: a concurrent change on another replica is never undone
            await self.store.update(NS_TAGS, self._key(ec2_id), merged)

    async def remove(self, ec2_ids: Iterable[str], tags: Sequence[dict[str, Any]] | None) -> None:
        """No tags: remove all. A tag with a Value removes it only when the value matches (AWS)."""
        def without(current: dict[str, str] | None) -> dict[str, str] | None:
            out = dict(current or {})
            for t in tags or ():
                if t["Key"] in out and ("Value" not in t or t["Value"] is None or out[t["Key"]] == t["Value"]):
                    del out[t["Key"]]
            return out or None

        for ec2_id in ec2_ids:
            if not tags:
                await self.store.delete(NS_TAGS, self._key(ec2_id))
            else:
                await self.store.update(NS_TAGS, self._key(ec2_id), without)

    async def all(self) -> list[tuple[str, dict[str, str]]]:
        prefix = f"{self.account}/"
        return [(k[len(prefix):], v) for k, v in await self.store.scan(NS_TAGS, prefix)]

    async def attach(self, items: list[dict[str, Any]], id_member: str) -> list[dict[str, Any]]:
        """Set each item's `Tags` from the store (items keyed by their EC2 id member)."""
        for item in items:
            tags = await self.get(item[id_member])
            if tags:
                item["Tags"] = as_list(tags)
        return items
