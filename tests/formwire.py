"""Helpers for round trips over the form-parameter protocols (EC2, awsQuery).

botocore's client serializer leaves out empty structures and (EC2) empty lists, so a random value is
only comparable after the request once reduced to what the wire can carry; and a required container
must not come out empty, or the request honestly lacks a required parameter.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import Shape
from botocore.utils import percent_encode_sequence

from tests.shapegen import gen_value


def form(body: dict) -> list[tuple[str, str]]:
    """A botocore request body as the front end hands it over: encoded, then decoded into pairs."""
    return parse_qsl(percent_encode_sequence(body), keep_blank_values=True)


def sendable(v: Any) -> Any:
    """The value as the wire carries it: empty structures vanish, so do list items that are empty."""
    if isinstance(v, dict):
        out = {k: sendable(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in ({}, [])}
    if isinstance(v, list):
        return [x for x in map(sendable, v) if x not in ({}, [])]
    return v


def _nonempty(shape: Shape, rng: random.Random) -> Any:
    if shape.type_name == "structure" and shape.members:
        first = next(iter(shape.members))
        return {first: _nonempty(shape.members[first], rng)}
    if shape.type_name == "list":
        return [_nonempty(shape.member, rng)]
    return gen_value(shape, rng)


def fill_required(v: Any, shape: Shape, rng: random.Random) -> Any:
    """Give every required container some content (in place); returns `v`."""
    if shape.type_name == "structure" and isinstance(v, dict):
        for name in shape.required_members:
            if sendable(v.get(name)) in ({}, []):
                v[name] = _nonempty(shape.members[name], rng)
        for name, x in v.items():
            fill_required(x, shape.members[name], rng)
    elif shape.type_name == "list" and isinstance(v, list):
        for x in v:
            fill_required(x, shape.member, rng)
    return v


def request_params(shape: Shape | None, rng: random.Random) -> Any:
    """Random, valid input for an operation (required containers non-empty)."""
    return {} if shape is None else fill_required(gen_value(shape, rng), shape, rng)
