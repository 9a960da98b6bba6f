"""Reading the recorded CloudStack responses of ../shared/contracts/cloudstack (libcloud, ec2stack,
cloudstack-go) as (file, response key, inner object), for the contract and simulator tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.cloudstack_support import need_contracts


def recorded() -> Iterator[tuple[str, str, dict[str, Any]]]:
    root = need_contracts()
    for path in sorted(root.glob("*/*.json")):
        data = json.loads(path.read_text())
        bodies = data.values() if path.parent.name == "cloudstack-go" else [data]
        for body in bodies:
            if isinstance(body, dict) and len(body) == 1:
                key, inner = next(iter(body.items()))
                if key.endswith("response") and isinstance(inner, dict):
                    yield f"{path.parent.name}/{path.name}", key, inner


def items(item_key: str, response_keys: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """Every recorded item of this kind: in list answers (`<item>: [...]`), in job results and in create
    answers (`<item>: {...}`). `response_keys` limits it to those responses (e.g. listsnapshotsresponse)."""
    out = []
    for name, key, inner in recorded():
        if response_keys and key not in response_keys:
            continue
        for holder in (inner, inner.get("jobresult") if isinstance(inner.get("jobresult"), dict) else {}):
            value = holder.get(item_key)
            if isinstance(value, list):
                out.extend((name, v) for v in value if isinstance(v, dict))
            elif isinstance(value, dict):
                out.append((name, value))
    return out


def load(name: str) -> Any:
    return json.loads((need_contracts() / name).read_text())


def field_types(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Field name → the JSON types it has in these records (int and float both "number")."""
    out: dict[str, set[str]] = {}
    for r in records:
        for k, v in r.items():
            out.setdefault(k, set()).add(json_type(v))
    return out


def json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def path_of(name: str) -> Path:
    return need_contracts() / name
