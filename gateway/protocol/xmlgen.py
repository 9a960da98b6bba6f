"""XML emitter compiled from botocore shapes.

Each shape is compiled once into a closure `emit(out, tag, value)` that appends strings to `out`; the
caller joins once at the end. This is what makes a 1000-instance DescribeInstances cheap: no tree, no
per-call model walking, no template. Protocol differences (default list item name, timestamp format)
are constructor parameters, so EC2, query and rest-xml share one emitter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import Shape

from .scalars import b64encode, esc, esc_attr, format_bool, format_float, format_timestamp

Emit = Callable[[list[str], str, Any], None]
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def ns_attr(ns: Any) -> str:
    """The xmlns attribute text for a shape's xmlNamespace trait (a URI or {prefix, uri})."""
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{esc_attr(ns)}"'
    if ns.get("prefix"):
        return f' xmlns:{ns["prefix"]}="{esc_attr(ns["uri"])}"'
    return f' xmlns="{esc_attr(ns["uri"])}"'


class UnknownMember(ValueError):
    """A strict emitter was given a member its shape does not have (a handler bug, caught in tests)."""


def body_members(shape: Shape) -> list[tuple[str, Shape]]:
    """Members that travel in the XML body (not headers, status code, URI or query)."""
    return [(n, m) for n, m in shape.members.items() if not m.serialization.get("location")]


class XmlEmitter:
    def __init__(self, list_item_default: str = "member", ts_default: str = "iso8601",
                 strict: bool = False) -> None:
        self.list_item_default = list_item_default
        self.ts_default = ts_default
        self.strict = strict
        self._cache: dict[tuple, Emit] = {}

    # The same named shape can appear with different member-level traits (flattened, namespace,
    # timestamp format), so those are part of the cache key.
    @staticmethod
    def _key(shape: Shape) -> tuple:
        s = shape.serialization
        return (shape.name, s.get("flattened"), repr(s.get("xmlNamespace")), s.get("timestampFormat"),
                s.get("name"))

    def emitter(self, shape: Shape) -> Emit:
        key = self._key(shape)
        fn = self._cache.get(key)
        if fn is None:
            # Recursive shapes: park a forwarder in the cache while compiling.
            cell: list[Emit] = []
            self._cache[key] = lambda out, tag, v: cell[0](out, tag, v)
            fn = getattr(self, "_compile_" + shape.type_name, self._compile_string)(shape)
            cell.append(fn)
            self._cache[key] = fn
        return fn

    def plan(self, shape: Shape, names: list[str] | None = None
             ) -> tuple[list[tuple[str, str, Emit]], list[tuple[str, str]]]:
        """([(member, element tag, emit)], [(member, attribute name)]) for a structure's body members
        (or for the given member names)."""
        elements, attrs = [], []
        members = body_members(shape) if names is None else [(n, shape.members[n]) for n in names]
        for name, ms in members:
            s = ms.serialization
            if s.get("xmlAttribute"):
                attrs.append((name, s["name"]))
                continue
            tag = s.get("name", name)
            if ms.type_name == "list" and s.get("flattened") and ms.member.serialization.get("name"):
                tag = ms.member.serialization["name"]
            elements.append((name, tag, self.emitter(ms)))
        return elements, attrs

    def _compile_structure(self, shape: Shape) -> Emit:
        return self.structure(shape, shape.serialization.get("xmlNamespace"))

    def structure(self, shape: Shape, namespace: Any, names: list[str] | None = None) -> Emit:
        """An emitter for `shape` as an element with the given namespace, optionally limited to some
        members (a rest-xml output root also carries members bound to the URI or query string)."""
        nsa = ns_attr(namespace)
        compiled: list = []  # filled on first use so recursive shapes compile lazily
        strict = self.strict
        known = set(shape.members)

        def emit(out: list[str], tag: str, value: dict) -> None:
            if not compiled:
                compiled.extend(self.plan(shape, names))
            elements, attrs = compiled
            if strict and not known.issuperset(value):
                raise UnknownMember(f"{shape.name}: unknown members {sorted(set(value) - known)}")
            a = nsa
            for name, aname in attrs:
                v = value.get(name)
                if v is not None:
                    if aname.startswith("xsi:") and "xmlns:xsi" not in a:
                        a += f' xmlns:xsi="{XSI_NS}"'
                    a += f' {aname}="{esc_attr(str(v))}"'
            out.append(f"<{tag}{a}>")
            for name, mtag, fn in elements:
                v = value.get(name)
                if v is not None:
                    fn(out, mtag, v)
            out.append(f"</{tag}>")

        return emit

    def _compile_list(self, shape: Shape) -> Emit:
        item_fn = self.emitter(shape.member)
        nsa = ns_attr(shape.serialization.get("xmlNamespace"))
        if shape.serialization.get("flattened"):
            def emit_flat(out: list[str], tag: str, value: list) -> None:
                for item in value:
                    if item is not None:
                        item_fn(out, tag, item)
            return emit_flat
        item_tag = shape.member.serialization.get("name", self.list_item_default)

        def emit(out: list[str], tag: str, value: list) -> None:
            if not value:
                out.append(f"<{tag}{nsa}/>")
                return
            out.append(f"<{tag}{nsa}>")
            for item in value:
                if item is not None:
                    item_fn(out, item_tag, item)
            out.append(f"</{tag}>")

        return emit

    def _compile_map(self, shape: Shape) -> Emit:
        key_fn, val_fn = self.emitter(shape.key), self.emitter(shape.value)
        key_tag = shape.key.serialization.get("name", "key")
        val_tag = shape.value.serialization.get("name", "value")
        nsa = ns_attr(shape.serialization.get("xmlNamespace"))
        flattened = shape.serialization.get("flattened")

        def emit(out: list[str], tag: str, value: dict) -> None:
            if not flattened:
                out.append(f"<{tag}{nsa}>")
            for k, v in value.items():
                if v is None:
                    continue
                out.append(f"<{tag}{nsa}>" if flattened else "<entry>")
                key_fn(out, key_tag, k)
                val_fn(out, val_tag, v)
                out.append(f"</{tag}>" if flattened else "</entry>")
            if not flattened:
                out.append(f"</{tag}>")

        return emit

    def _scalar(self, shape: Shape, conv: Callable[[Any], str]) -> Emit:
        nsa = ns_attr(shape.serialization.get("xmlNamespace"))

        def emit(out: list[str], tag: str, value: Any) -> None:
            text = conv(value)
            out.append(f"<{tag}{nsa}>{text}</{tag}>" if text else f"<{tag}{nsa}/>")

        return emit

    def _compile_string(self, shape: Shape) -> Emit:
        return self._scalar(shape, lambda v: esc(v if isinstance(v, str) else str(v)))

    def _compile_boolean(self, shape: Shape) -> Emit:
        return self._scalar(shape, format_bool)

    def _compile_integer(self, shape: Shape) -> Emit:
        return self._scalar(shape, lambda v: str(int(v)))

    _compile_long = _compile_integer

    def _compile_float(self, shape: Shape) -> Emit:
        return self._scalar(shape, format_float)

    _compile_double = _compile_float

    def _compile_blob(self, shape: Shape) -> Emit:
        return self._scalar(shape, b64encode)

    def _compile_timestamp(self, shape: Shape) -> Emit:
        fmt = shape.serialization.get("timestampFormat", self.ts_default)
        return self._scalar(shape, lambda v: format_timestamp(v, fmt))
