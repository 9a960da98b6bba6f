"""Form-parameter request parser shared by the EC2 and awsQuery protocols.

A request arrives as flat pairs (`Filter.1.Value.2=x`). We fold them into a trie keyed by the dotted
segments, then walk it with parse functions compiled once per shape: a structure knows its wire names,
a list its index rule, a scalar its type. Per request that is dict lookups and a conversion per leaf;
the model is never walked again. The two protocols differ only in names and list/map layout, which
subclasses express through `wire_name` and `_list_container`.

Every malformed input is an AWS error with status 400 naming the dotted parameter; none escapes as a
Python exception.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from operator import itemgetter
from typing import Any

from botocore.model import ServiceModel, Shape

from . import errors

Node = dict  # trie node: {segment: Node, None: raw value}
Parse = Callable[[Node, str], Any]

# Signature parameters the pipeline normally strips; tolerated here too when the shape has no such member.
AUTH_PARAMS = frozenset({"AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp",
                         "Expires", "SecurityToken"})

_INT_RE = re.compile(r"-?[0-9]+\Z")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z|NaN\Z|-?Infinity\Z")
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_BOOLS = {"true": True, "false": False}
_first = itemgetter(0)


# ---- scalar conversions: raise ValueError on bad input -------------------------------------------
def _to_int(lo: int, hi: int) -> Callable[[str], int]:
    def conv(v: str) -> int:
        if _INT_RE.match(v) and lo <= (i := int(v)) <= hi:
            return i
        raise ValueError(v)
    return conv


def _to_float(v: str) -> float:
    if _FLOAT_RE.match(v):
        return float(v)
    raise ValueError(v)


def _to_bool(v: str) -> bool:
    b = _BOOLS.get(v.lower())
    if b is None:
        raise ValueError(v)
    return b


def _to_blob(v: str) -> bytes:
    try:
        return base64.b64decode(v, validate=True)
    except binascii.Error as e:
        raise ValueError(v) from e


def _utc(d: dt.datetime) -> dt.datetime:
    return d.replace(tzinfo=dt.UTC) if d.tzinfo is None else d


def _to_timestamp(fmt: str) -> Callable[[str], dt.datetime]:
    """The member's declared format is what the client sent; nothing else is guessed."""
    if fmt == "unixTimestamp":
        def epoch(v: str) -> dt.datetime:
            try:
                return dt.datetime.fromtimestamp(_to_float(v), dt.UTC)
            except (OverflowError, OSError) as e:  # out of datetime's range
                raise ValueError(v) from e
        return epoch
    if fmt == "rfc822":
        def rfc822(v: str) -> dt.datetime:
            try:
                return _utc(parsedate_to_datetime(v))
            except (TypeError, IndexError) as e:
                raise ValueError(v) from e
        return rfc822
    return lambda v: _utc(dt.datetime.fromisoformat(v))


# ---- parser ----------------------------------------------------------------------------------------
class FormRequestParser:
    """Base for the EC2 and awsQuery parsers; `parse(pairs) -> (operation name, params)`."""

    _TYPE_NAMES = {"integer": "Integer", "long": "Long", "float": "Float", "double": "Double",
                   "boolean": "Boolean", "timestamp": "Timestamp", "blob": "Blob"}

    def __init__(self, service_model: ServiceModel) -> None:
        self.sm = service_model
        self._op_names = frozenset(service_model.operation_names)
        self._ops: dict[str, tuple[Parse | None, frozenset[str]]] = {}
        self._cache: dict[tuple, Parse] = {}

    # -- protocol rules (overridden by subclasses) --
    def wire_name(self, member: Shape, default: str) -> str:
        """The parameter name of a structure member or a map key/value (`default` if unnamed)."""
        return member.serialization.get("name", default)

    def _list_container(self, shape: Shape) -> str | None:
        """The segment between a list's name and its indices (`member`), or None for `Name.N`."""
        if shape.serialization.get("flattened"):
            return None
        return shape.member.serialization.get("name", "member")

    def _struct_key(self, member: Shape, name: str) -> str:
        """The parameter name of a structure member."""
        return self.wire_name(member, name)

    def _aliases(self, member: Shape, name: str) -> tuple[str, ...]:
        """Other names a client may use for the member (accepted, never required)."""
        return ()

    # -- entry point --
    def parse(self, pairs: Iterable[tuple[str, str]]) -> tuple[str, dict]:
        trie: Node = {}
        for key, value in pairs:
            node = trie
            for seg in key.split("."):
                child = node.get(seg)
                if child is None:
                    child = node[seg] = {}
                node = child
            node[None] = value
        action = trie.pop("Action", {}).get(None)
        if not action:
            raise errors.MissingAction()
        entry = self._ops.get(action)
        if entry is None:
            if action not in self._op_names:
                raise errors.InvalidAction(f"The action {action} is not valid for this web service.")
            entry = self._ops[action] = self._compile_op(action)
        parse_input, ignorable = entry
        trie.pop("Version", None)
        for key in [k for k in trie if k in ignorable or k.startswith(("X-Amz-", "x-amz-"))]:
            del trie[key]
        if parse_input is None:
            if trie:
                raise self._unknown(next(iter(trie)))
            return action, {}
        return action, parse_input(trie, "")

    def _compile_op(self, action: str) -> tuple[Parse | None, frozenset[str]]:
        shape = self.sm.operation_model(action).input_shape
        if shape is None:
            return None, AUTH_PARAMS
        own = {k for n, m in shape.members.items() for k in (self._struct_key(m, n), *self._aliases(m, n))}
        return self.parser(shape), AUTH_PARAMS - own

    # -- compilation --
    def parser(self, shape: Shape) -> Parse:
        s = shape.serialization
        key = (shape.name, shape.type_name, s.get("flattened"), s.get("timestampFormat"))
        fn = self._cache.get(key)
        if fn is None:
            cell: list[Parse] = []  # recursive shapes: a forwarder stands in while compiling
            self._cache[key] = lambda node, name: cell[0](node, name)
            fn = getattr(self, "_compile_" + shape.type_name, self._compile_scalar)(shape)
            cell.append(fn)
            self._cache[key] = fn
        return fn

    def _compile_structure(self, shape: Shape) -> Parse:
        plan: dict[str, tuple[str, Parse]] = {}
        required: list[tuple[str, str]] = []
        unknown, missing = self._unknown, self._missing

        def compile_members() -> None:  # deferred so recursive shapes compile on first use
            for name, ms in shape.members.items():
                entry = (name, self.parser(ms))
                plan[self._struct_key(ms, name)] = entry
                for alias in self._aliases(ms, name):
                    plan.setdefault(alias, entry)
            required.extend((n, self._struct_key(shape.members[n], n)) for n in shape.required_members)

        def parse(node: Node, name: str) -> dict:
            if not plan and shape.members:
                compile_members()
            prefix = name + "." if name else ""
            out = {}
            for key, sub in node.items():
                entry = plan.get(key) if key is not None else None
                if entry is None:
                    raise unknown(prefix + key if key is not None else name)
                out[entry[0]] = entry[1](sub, prefix + key)
            for member, wire in required:
                if member not in out:
                    raise missing(prefix + wire)
            return out

        return parse

    def _indexed(self, node: Node, name: str, item: Parse) -> list:
        """`Name.N...` children in numeric order. AWS takes any integer index and orders by it: gaps,
        0-based lists (apache-libcloud sends `ResourceId.0`, `Tag.0.Key`) and negative indices alike."""
        items = []
        for key, sub in node.items():
            if key is None:
                raise self._unknown(name)
            digits = key[1:] if key.startswith("-") else key
            if not (digits.isdigit() and digits.isascii() and len(digits) < 10):
                raise self._invalid(key, f"{name}.{key}", "integer list index")
            items.append((int(key), item(sub, f"{name}.{key}")))
        items.sort(key=_first)
        return [v for _, v in items]

    def _compile_list(self, shape: Shape) -> Parse:
        container = self._list_container(shape)
        item = self.parser(shape.member)
        indexed = self._indexed

        def parse(node: Node, name: str) -> list:
            if node.get(None) == "" and len(node) == 1:
                return []  # `Name=`: an explicitly empty list
            if container is not None:
                if len(node) != 1 or container not in node:
                    raise self._unknown(self._stray(node, name, container))
                node, name = node[container], f"{name}.{container}"
            return indexed(node, name, item)

        return parse

    def _compile_map(self, shape: Shape) -> Parse:
        container = None if shape.serialization.get("flattened") else "entry"
        key_name = self.wire_name(shape.key, "key")
        value_name = self.wire_name(shape.value, "value")
        key_parse, value_parse = self.parser(shape.key), self.parser(shape.value)

        def entry(node: Node, name: str) -> tuple:
            for k in node:
                if k != key_name and k != value_name:
                    raise self._unknown(f"{name}.{k}" if k is not None else name)
            if key_name not in node:
                raise self._missing(f"{name}.{key_name}")
            if value_name not in node:
                raise self._missing(f"{name}.{value_name}")
            return key_parse(node[key_name], f"{name}.{key_name}"), value_parse(node[value_name], f"{name}.{value_name}")

        def parse(node: Node, name: str) -> dict:
            if container is not None:
                if len(node) != 1 or container not in node:
                    raise self._unknown(self._stray(node, name, container))
                node, name = node[container], f"{name}.{container}"
            return dict(self._indexed(node, name, entry))

        return parse

    def _compile_scalar(self, shape: Shape) -> Parse:
        t = shape.type_name
        if t in _INT_RANGE:
            conv: Callable[[str], Any] | None = _to_int(*_INT_RANGE[t])
        elif t in ("float", "double"):
            conv = _to_float
        elif t == "boolean":
            conv = _to_bool
        elif t == "timestamp":
            conv = _to_timestamp(shape.serialization.get("timestampFormat", "iso8601"))
        elif t == "blob":
            conv = _to_blob
        else:
            conv = None  # strings (enums included: unknown enum values pass through, as AWS adds them)
        expected = self._TYPE_NAMES.get(t, t)
        stray, unknown, invalid = self._stray, self._unknown, self._invalid

        def parse(node: Node, name: str) -> Any:
            if len(node) == 1:
                v = node.get(None)
                if v is not None:
                    if conv is None:
                        return v
                    try:
                        return conv(v)
                    except ValueError:
                        raise invalid(v, name, expected) from None
            raise unknown(stray(node, name))

        return parse

    # -- errors --
    @staticmethod
    def _stray(node: Node, name: str, allowed: object = None) -> str:
        """The first parameter under `name` that has no place in the shape."""
        for k in node:
            if k is not None and k != allowed:
                return f"{name}.{k}"
        return name

    @staticmethod
    def _unknown(name: str) -> errors.AwsError:
        return errors.UnknownParameter(f"The parameter {name} is not recognized")

    @staticmethod
    def _missing(name: str) -> errors.AwsError:
        return errors.MissingParameter(f"The request must contain the parameter {name}")

    @staticmethod
    def _invalid(value: str, name: str, expected: str) -> errors.AwsError:
        shown = value if len(value) <= 256 else value[:256] + "..."
        return errors.InvalidParameterValue(
            f"Value ({shown}) for parameter {name} is invalid. Expected: '{expected}'.")


class QueryRequestParser(FormRequestParser):
    """awsQuery: names are locationName or the member name; lists `Name.member.N` (or `Name.N` when
    flattened, renamed to the member's locationName if it has one); maps `Name.entry.N.key/value`."""

    def _struct_key(self, member: Shape, name: str) -> str:
        if member.type_name == "list" and member.serialization.get("flattened"):
            item_name = member.member.serialization.get("name")
            if item_name:
                return item_name  # botocore's rule
        return self.wire_name(member, name)

    def _aliases(self, member: Shape, name: str) -> tuple[str, ...]:
        # Smithy-generated SDKs name a flattened list after the member itself (`Hi.1`), botocore after
        # the list's item (`item.1`); a server meets both.
        primary = self._struct_key(member, name)
        own = self.wire_name(member, name)
        return (own,) if own != primary else ()
