"""Seeded random values for any botocore shape, and a normaliser to compare them after a round trip.

Used by the round-trip tests: botocore's client serializer → our parser, and our serializer →
botocore's client parser, for every operation of a service.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from typing import Any

from botocore.model import Shape

_TEXT = string.ascii_letters + string.digits + " -_.:/&<>\"'=+é"


def gen_value(shape: Shape, rng: random.Random, depth: int = 0, *, text: str = _TEXT) -> Any:
    """A random value valid for `shape` (enum members honoured, recursion bounded)."""
    t = shape.type_name
    if t == "structure":
        out = {}
        required = set(shape.required_members)
        for name, ms in shape.members.items():
            if depth > 4 and ms.type_name in ("structure", "list", "map") and name not in required:
                continue  # recursive shapes (e.g. S3 filters) stop here
            if name in required or rng.random() < 0.7:
                out[name] = gen_value(ms, rng, depth + 1, text=text)
        return out
    if t == "list":
        return [gen_value(shape.member, rng, depth + 1, text=text) for _ in range(rng.randint(1, 3))]
    if t == "map":
        return {f"k{i}{rng.choice('abc')}": gen_value(shape.value, rng, depth + 1, text=text)
                for i in range(rng.randint(1, 3))}
    if t == "string":
        if shape.enum:
            return rng.choice(shape.enum)
        return "".join(rng.choice(text) for _ in range(rng.randint(1, 12)))
    if t in ("integer", "long"):
        return rng.randint(0, 10_000)
    if t in ("float", "double"):
        return rng.randint(0, 10_000) / 4
    if t == "boolean":
        return rng.random() < 0.5
    if t == "timestamp":
        return dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 10**8))
    if t == "blob":
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 16)))
    raise TypeError(f"no generator for {t}")


def normalize(v: Any) -> Any:
    """Canonical form: timestamps as epoch seconds, bytes as bytes, empty containers dropped."""
    if isinstance(v, dict):
        out = {k: normalize(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [])}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, dt.datetime):
        return round((v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp(), 3)
    if isinstance(v, bytearray):
        return bytes(v)
    return v


def diff(got: Any, exp: Any, path: str = "") -> list[str]:
    """Human-readable differences between two normalised values (empty list = equal)."""
    if isinstance(got, dict) and isinstance(exp, dict):
        out = []
        for k in sorted(set(got) | set(exp), key=str):
            if k not in got:
                out.append(f"{path}.{k}: missing")
            elif k not in exp:
                out.append(f"{path}.{k}: unexpected {got[k]!r:.80}")
            else:
                out.extend(diff(got[k], exp[k], f"{path}.{k}"))
        return out
    if isinstance(got, list) and isinstance(exp, list):
        if len(got) != len(exp):
            return [f"{path}: {len(got)} items, expected {len(exp)}"]
        return [d for i, (g, e) in enumerate(zip(got, exp, strict=True)) for d in diff(g, e, f"{path}[{i}]")]
    return [] if got == exp else [f"{path}: {got!r:.80} != {exp!r:.80}"]
