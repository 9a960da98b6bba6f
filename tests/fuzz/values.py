"""Parameters for any botocore operation, drawn from its input shape: mostly plausible values so requests
get past the codec into handlers and backends, with hostile ones mixed in (huge, negative and non-numeric
integers, 64 KiB strings, invalid UTF-8, control characters, odd booleans and dates)."""

from __future__ import annotations

import datetime as dt
import random
import string
from typing import Any

from botocore.model import Shape

BIG = "A" * 65536
HOSTILE_STRINGS: tuple[Any, ...] = (
    "", " ", BIG, "\x00", "\x01\x02\x7f", "tab\there", "\x1b[31mred", "../../etc/passwd", "..", "//", "%2F%2e%2e",
    "%00", "é", "\u202eevil", "😀" * 300, "-1", "NaN", "1e309", "0x10", "<x>&amp;]]>", "${jndi:ldap://x}",
    "' OR 1=1--", "a" * 1025, b"\xff\xfe\xc0\x80", b"\xed\xa0\x80", "\ufeffbom", "name=value&x=y",
)
HOSTILE_INTS: tuple[Any, ...] = (
    -1, 0, -(2**31), 2**31, 2**63, 10**40, -(10**40), "abc", "1.5", "", " 7", "0x1f", "\u0661\u0662", "NaN",
    "inf", "1e9", "+5", "9" * 400,
)
HOSTILE_BOOLS: tuple[Any, ...] = ("maybe", "TRUE", "1", "", "yes", "null")
HOSTILE_DATES: tuple[Any, ...] = ("yesterday", "", "9999-99-99T99:99:99Z", "0", "-1", "2026-13-01", BIG)


def hostile_string(rng: random.Random) -> Any:
    return rng.choice(HOSTILE_STRINGS)


def plain_string(rng: random.Random, shape: Shape | None = None) -> str:
    if shape is not None and shape.enum and rng.random() < 0.7:
        return rng.choice(shape.enum)
    n = rng.choice((1, 3, 8, 20))
    return "".join(rng.choice(string.ascii_letters + string.digits + "-.") for _ in range(n))


def value_for(shape: Shape, rng: random.Random, hostility: float, depth: int = 0,
              overrides: dict[str, Any] | None = None) -> Any:
    """A value for `shape`; each scalar is hostile with probability `hostility`."""
    t = shape.type_name
    hostile = rng.random() < hostility
    if t == "structure":
        return structure(shape, rng, hostility, depth, overrides)
    if t == "list":
        if depth > 3:
            return []
        n = rng.choice((0, 1, 1, 2, 3, 40 if hostile else 2))
        return [value_for(shape.member, rng, hostility, depth + 1) for _ in range(n)]
    if t == "map":
        if depth > 3:
            return {}
        return {plain_string(rng): value_for(shape.value, rng, hostility, depth + 1)
                for _ in range(rng.choice((0, 1, 2)))}
    if t == "string":
        return hostile_string(rng) if hostile else plain_string(rng, shape)
    if t in ("integer", "long"):
        return rng.choice(HOSTILE_INTS) if hostile else rng.choice((1, 5, 100))
    if t in ("float", "double"):
        return rng.choice(("NaN", "-inf", "1e999", "x")) if hostile else 1.5
    if t == "boolean":
        return rng.choice(HOSTILE_BOOLS) if hostile else rng.choice((True, False))
    if t == "timestamp":
        return rng.choice(HOSTILE_DATES) if hostile else dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if t == "blob":
        return rng.choice((b"", b"\x00" * 10, b"x" * 70000, bytes(range(256)))) if hostile else b"hello"
    return plain_string(rng)


def structure(shape: Shape, rng: random.Random, hostility: float, depth: int = 0,
              overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Required members always, optional ones with probability 1/3 (fewer at depth)."""
    out: dict[str, Any] = {}
    required = set(shape.required_members)
    for name, member in shape.members.items():
        if overrides and name in overrides:
            out[name] = overrides[name]
            continue
        if name in required or rng.random() < (0.33 if depth == 0 else 0.15):
            out[name] = value_for(member, rng, hostility, depth + 1)
    return out
