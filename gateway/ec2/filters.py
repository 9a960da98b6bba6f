"""EC2 `Filter.N.Name` / `Filter.N.Value.M` semantics, shared by every Describe action.

A Describe handler declares its filters once as {filter name: function(item) -> values}; items are the
output-shape dicts it is about to return. Semantics as AWS documents them: values within one filter are
ORed, filters are ANDed, `*` and `?` are wildcards (`\\*`, `\\?`, `\\\\` escape them), matching is
case-sensitive, `tag:<key>`, `tag-key` and `tag-value` work wherever the resource has tags, and an
unknown filter name is `InvalidParameterValue`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..protocol import errors

Extractor = Callable[[dict[str, Any]], Any]


@functools.lru_cache(maxsize=4096)
def _pattern(value: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(pattern: str, candidate: str) -> bool:
    """Whole-string wildcard match (`*` any run, `?` one character)."""
    if "*" not in pattern and "?" not in pattern and "\\" not in pattern:
        return pattern == candidate
    return _pattern(pattern).fullmatch(candidate) is not None


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def field(*path: str) -> Extractor:
    """Extractor for a nested member: field("State", "Name"); lists along the path fan out."""
    def get(item: Any) -> Any:
        values = [item]
        for key in path:
            nxt = []
            for v in values:
                if isinstance(v, list):
                    nxt.extend(x.get(key) for x in v if isinstance(x, dict))
                elif isinstance(v, dict):
                    nxt.append(v.get(key))
            values = [v for v in nxt if v is not None]
        return values
    return get


def _tags(item: dict[str, Any]) -> list[dict[str, str]]:
    if "Tags" not in item and "ResourceId" in item and "Key" in item:
        return [item]  # a DescribeTags entry is its own tag (tag-key, tag-value and tag:<key> apply to it)
    return item.get("Tags") or []


def validate(filters: Sequence[Mapping[str, Any]] | None, spec: Mapping[str, Extractor]) -> None:
    for f in filters or ():
        name = f.get("Name")
        if not name:
            raise errors.InvalidParameterValue("The filter name must not be empty.")
        if name.startswith("tag:") or name in ("tag-key", "tag-value"):
            continue
        if name not in spec:
            raise errors.InvalidParameterValue(f"The filter '{name}' is invalid")


def _matches_one(item: dict[str, Any], name: str, patterns: list[str], spec: Mapping[str, Extractor]) -> bool:
    if name.startswith("tag:"):
        key = name[4:]
        return any(t.get("Key") == key and any(matches(p, t.get("Value", "")) for p in patterns)
                   for t in _tags(item))
    if name == "tag-key":
        return any(matches(p, t.get("Key", "")) for t in _tags(item) for p in patterns)
    if name == "tag-value":
        return any(matches(p, t.get("Value", "")) for t in _tags(item) for p in patterns)
    candidates = _strings(spec[name](item))
    return any(matches(p, c) for c in candidates for p in patterns)


def apply(items: Iterable[dict[str, Any]], filters: Sequence[Mapping[str, Any]] | None,
          spec: Mapping[str, Extractor]) -> list[dict[str, Any]]:
    """The items every filter matches. Validates names first, so a typo fails even on an empty list."""
    validate(filters, spec)
    active = [(f["Name"], [str(v) for v in f.get("Values") or []]) for f in filters or ()]
    return [item for item in items if all(_matches_one(item, n, p, spec) for n, p in active)]
