"""Helpers for the AWS output shapes handlers build at their edge (timestamps, compacting) and for the input
they validate (booleans in `Value` strings, TagSpecifications)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..protocol import errors
from . import tags as tags_mod


# ---- output helpers ------------------------------------------------------------------------------------------
def iso(value: dt.datetime | str | None) -> str | None:
    """A JSON-safe timestamp (the codec renders it; ClientToken results must be JSON-serializable)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(dt.datetime.now(dt.UTC))  # type: ignore[return-value]


def compact(item: dict[str, Any]) -> dict[str, Any]:
    """Drop None members (the codec would skip them; results stay small)."""
    return {k: v for k, v in item.items() if v is not None}


def bool_value(value: Any) -> bool:
    """An AttributeValue/boolean as EC2 accepts it in `Value` strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise errors.InvalidParameterValue(f"Invalid value '{value}' for boolean.")


def tag_specs(params: dict[str, Any], *resource_types: str) -> dict[str, list[dict[str, str]]]:
    """TagSpecifications of a create call, validated, by resource type."""
    out: dict[str, list[dict[str, str]]] = {}
    for spec in params.get("TagSpecifications") or []:
        rtype = spec.get("ResourceType")
        if not rtype:
            raise errors.MissingParameter("The request must contain the parameter ResourceType")
        if rtype not in resource_types:
            raise errors.InvalidParameterValue(
                f"'{rtype}' is not a valid taggable resource type for this operation.")
        tag_list = spec.get("Tags") or []
        tags_mod.validate(tag_list)
        out.setdefault(rtype, []).extend(tag_list)
    for tag_list in out.values():
        if len({t["Key"] for t in tag_list}) > tags_mod.MAX_TAGS:
            raise errors.TagLimitExceeded(
                f"The maximum number of tags per resource ({tags_mod.MAX_TAGS}) has been exceeded")
    return out
