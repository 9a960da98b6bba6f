"""rest-xml request parser (server side), compiled per operation from the botocore model.

`RestXmlRequestParser.parse` turns what a client sent (URI labels, querystring, headers, XML or raw
payload) into the operation's input dict, typed by the model. Nothing here is per operation.

Streaming payloads (S3 PutObject/UploadPart `Body`): the parser never reads them. The pipeline hands
the request stream to the handler separately and passes `body=None`; the payload member is then
simply absent from the result. Non-streaming payloads and XML bodies come in as `bytes`.

Bad input is an S3 error, never a crash: malformed or DTD-bearing XML → MalformedXML; an integer,
float, boolean, timestamp, base64 or JSON that does not parse in a URI label, header or query
parameter → InvalidArgument with ArgumentName/ArgumentValue.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.parsers import expat

from botocore.model import OperationModel, ServiceModel, Shape

from . import errors
from .scalars import to_datetime

# ---------------------------------------------------------------------------------------------------
# Safe XML reading
# ---------------------------------------------------------------------------------------------------


class Node:
    """A parsed element: local tag, raw attributes (qualified names kept), children, own text."""

    __slots__ = ("attrs", "children", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node] = []
        self.text = ""


def parse_xml(data: bytes) -> Node:
    """Parse with expat directly. A DOCTYPE or any entity declaration is refused before it can
    expand (billion laughs, external entities), whatever the expat version. Tags lose their
    namespace prefix: S3 clients may or may not send `xmlns`."""
    parser = expat.ParserCreate()
    roots: list[Node] = []
    stack: list[Node] = []
    text: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        node = Node(name.rpartition(":")[2], attrs)
        if stack:
            stack[-1].text += "".join(text)
            stack[-1].children.append(node)
        else:
            roots.append(node)
        text.clear()
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop().text += "".join(text)
        text.clear()

    def refuse(*_args: object) -> None:
        raise errors.MalformedXML()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, LookupError):  # LookupError: a declared encoding Python doesn't know
        raise errors.MalformedXML() from None
    if not roots:
        raise errors.MalformedXML()
    return roots[0]


# ---------------------------------------------------------------------------------------------------
# Scalars from text
# ---------------------------------------------------------------------------------------------------

class _BadValue(ValueError):
    pass


def _to_bool(text: str) -> bool:
    t = text.strip().lower()
    if t == "true":
        return True
    if t == "false":
        return False
    raise _BadValue(text)


def _to_blob(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _BadValue(text) from None


def scalar_from_text(shape: Shape, text: str) -> Any:
    """Text → Python value for a scalar shape; raise _BadValue when it does not parse."""
    t = shape.type_name
    try:
        if t == "string":
            if shape.serialization.get("jsonvalue"):
                return json.loads(_to_blob(text))
            return text
        if t in ("integer", "long"):
            return int(text.strip())
        if t in ("float", "double"):
            return float(text.strip())
        if t == "boolean":
            return _to_bool(text)
        if t == "timestamp":
            return to_datetime(text.strip())
        if t == "blob":
            return _to_blob(text)
    except _BadValue:
        raise
    except (ValueError, OverflowError, TypeError):
        raise _BadValue(text) from None
    return text


def _split_header_list(shape: Shape, raw: str) -> list[str]:
    """Split a comma-joined header list. RFC 822 dates contain a comma themselves, so timestamp
    lists split after each 'GMT'; string items may be double-quoted with backslash escapes."""
    member = shape.member
    if member.type_name == "timestamp" and member.serialization.get("timestampFormat", "rfc822") == "rfc822":
        return [p.strip() for p in re.split(r"(?<=GMT)\s*,", raw) if p.strip()]
    out: list[str] = []
    i, n = 0, len(raw)
    while True:
        while i < n and raw[i] in " \t":
            i += 1
        if i < n and raw[i] == '"':
            j, buf = i + 1, []
            while j < n and raw[j] != '"':
                if raw[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(raw[j])
                j += 1
            out.append("".join(buf))
            i = raw.find(",", j)
        else:
            k = raw.find(",", i)
            out.append((raw[i:] if k < 0 else raw[i:k]).strip())
            i = k
        if i < 0:
            return out
        i += 1


# ---------------------------------------------------------------------------------------------------
# Per-operation plan
# ---------------------------------------------------------------------------------------------------

_LABEL = re.compile(r"\{([^}]+?)(\+?)\}")


@dataclass
class _OpPlan:
    shape: Shape | None
    uri_re: re.Pattern[str] | None = None
    uri_groups: dict[str, str] = field(default_factory=dict)  # label name → regex group
    static_query: set[str] = field(default_factory=set)
    labels: list[tuple[str, str, Shape]] = field(default_factory=list)
    query: list[tuple[str, str, Shape]] = field(default_factory=list)
    query_maps: list[tuple[str, Shape]] = field(default_factory=list)
    headers: list[tuple[str, str, Shape]] = field(default_factory=list)
    header_maps: list[tuple[str, str]] = field(default_factory=list)
    host_labels: list[str] = field(default_factory=list)
    host_re: re.Pattern[str] | None = None
    payload: tuple[str, Shape] | None = None
    body_shape: Shape | None = None  # structure whose non-located members form the XML body


def _compile(op: OperationModel) -> _OpPlan:
    plan = _OpPlan(op.input_shape)
    path, _, static = op.http.get("requestUri", "/").partition("?")
    plan.static_query = {k for k, _ in parse_qsl(static, keep_blank_values=True)}
    pattern, pos = "", 0
    for i, m in enumerate(_LABEL.finditer(path)):
        group = f"g{i}"
        plan.uri_groups[m.group(1)] = group
        pattern += re.escape(path[pos:m.start()]) + f"(?P<{group}>{'.+' if m.group(2) else '[^/]+'})"
        pos = m.end()
    plan.uri_re = re.compile("^" + pattern + re.escape(path[pos:]) + "/?$")
    shape = op.input_shape
    if shape is None:
        return plan
    for name, ms in shape.members.items():
        s = ms.serialization
        loc, wire = s.get("location"), s.get("name", name)
        if loc == "uri":
            plan.labels.append((name, wire, ms))
        elif loc == "querystring":
            if ms.type_name == "map":
                plan.query_maps.append((name, ms))
            else:
                plan.query.append((name, wire, ms))
        elif loc == "header":
            plan.headers.append((name, wire.lower(), ms))
        elif loc == "headers":
            plan.header_maps.append((name, wire.lower()))
        if s.get("hostLabel"):
            plan.host_labels.append(name)
    prefix = (op.endpoint or {}).get("hostPrefix")
    if prefix and plan.host_labels:
        rx, pos = "", 0
        for m in re.finditer(r"\{(\w+)\}", prefix):
            rx += re.escape(prefix[pos:m.start()]) + f"(?P<{m.group(1)}>[^.]+)"
            pos = m.end()
        plan.host_re = re.compile("^" + rx + re.escape(prefix[pos:]))
    payload = shape.serialization.get("payload")
    if payload:
        plan.payload = (payload, shape.members[payload])
    elif any(not ms.serialization.get("location") for ms in shape.members.values()):
        plan.body_shape = shape
    return plan


class RestXmlRequestParser:
    """Server-side rest-xml request parser for one service model (S3, or a conformance test model)."""

    def __init__(self, service_model: ServiceModel) -> None:
        self.service_model = service_model
        self._plans: dict[str, _OpPlan] = {}

    def _plan(self, op_name: str) -> _OpPlan:
        plan = self._plans.get(op_name)
        if plan is None:
            plan = self._plans[op_name] = _compile(self.service_model.operation_model(op_name))
        return plan

    def parse(self, op_name: str, method: str, path: str, query: str, headers: Mapping[str, str],
              body: bytes | None, host: str | None = None,
              labels: dict[str, str] | None = None) -> dict:
        """The input dict for `op_name`.

        path: the raw (still percent-encoded) request path; query: the raw query string.
        labels: decoded URI labels by wire name (e.g. {"Bucket": ..., "Key": ...}) when the router has
        already extracted them (virtual-hosted style needs this: the path then lacks the bucket).
        body: None for streaming payloads (see module doc). `method` is accepted for symmetry with the
        router; the operation already fixes it.
        """
        plan = self._plan(op_name)
        shape = plan.shape
        if shape is None:
            return {}
        out: dict[str, Any] = {}
        if plan.labels:
            self._labels(plan, path, labels, out)
        if plan.query or plan.query_maps:
            self._query(plan, query, out)
        if plan.headers or plan.header_maps:
            self._headers(plan, headers, out)
        if plan.host_re is not None and host:
            m = plan.host_re.match(host)
            if m:
                for name in plan.host_labels:
                    if name in m.groupdict():
                        out.setdefault(name, m.group(name))
        if plan.payload is not None:
            self._payload(plan.payload, body, out)
        elif plan.body_shape is not None and body and body.strip():
            out.update(self._structure(plan.body_shape, parse_xml(body)))
        return out

    # ---- URI, query, headers --------------------------------------------------------------------

    @staticmethod
    def _arg(shape: Shape, text: str, arg_name: str) -> Any:
        try:
            return scalar_from_text(shape, text)
        except _BadValue:
            raise errors.InvalidArgument(f"Invalid value for {arg_name}", ArgumentName=arg_name,
                                         ArgumentValue=text) from None

    def _labels(self, plan: _OpPlan, path: str, given: dict[str, str] | None, out: dict) -> None:
        values: dict[str, str] = dict(given or {})
        missing = [w for _, w, _ in plan.labels if w not in values]
        if missing and plan.uri_re is not None:
            m = plan.uri_re.match(path)
            if m is None:
                raise errors.InvalidURI()
            for wire in missing:
                values[wire] = unquote(m.group(plan.uri_groups[wire]))
        for name, wire, ms in plan.labels:
            if wire in values:
                out[name] = self._arg(ms, values[wire], wire)

    def _query(self, plan: _OpPlan, query: str, out: dict) -> None:
        pairs = parse_qsl(query, keep_blank_values=True)
        if not pairs:
            return
        bound = {w for _, w, _ in plan.query}
        for name, wire, ms in plan.query:
            vals = [v for k, v in pairs if k == wire]
            if not vals:
                continue
            if ms.type_name == "list":
                out[name] = [self._arg(ms.member, v, wire) for v in vals]
            else:
                out[name] = self._arg(ms, vals[0], wire)
        # A querystring map takes every parameter not bound elsewhere; named members win.
        for name, ms in plan.query_maps:
            d: dict[str, Any] = {}
            for k, v in pairs:
                if k in bound or k in plan.static_query:
                    continue
                if ms.value.type_name == "list":
                    d.setdefault(k, []).append(v)
                else:
                    d.setdefault(k, v)
            if d:
                out[name] = d

    def _headers(self, plan: _OpPlan, headers: Mapping[str, str], out: dict) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        for name, wire, ms in plan.headers:
            raw = lower.get(wire)
            if raw is None:
                continue
            if ms.type_name == "list":
                out[name] = ([self._arg(ms.member, x, wire) for x in _split_header_list(ms, raw)]
                             if raw.strip() else [])
            else:
                out[name] = self._arg(ms, raw, wire)
        for name, prefix in plan.header_maps:
            n = len(prefix)
            # Always present, even empty: the model's header maps have no "absent" state.
            out[name] = {k[n:]: v for k, v in headers.items() if k.lower().startswith(prefix)}

    # ---- payload and XML body -------------------------------------------------------------------

    def _payload(self, payload: tuple[str, Shape], body: bytes | None, out: dict) -> None:
        name, ms = payload
        if body is None or ms.serialization.get("streaming"):
            return  # streaming bodies travel beside the parsed input, untouched
        t = ms.type_name
        if t == "blob":
            if body:
                out[name] = body
        elif t == "string":
            if body:
                try:
                    out[name] = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise errors.InvalidArgument("The payload is not valid UTF-8") from None
        elif body.strip():
            out[name] = self._value(ms, parse_xml(body))

    def _value(self, shape: Shape, node: Node) -> Any:
        t = shape.type_name
        if t == "structure":
            return self._structure(shape, node)
        if t == "list":
            return [self._value(shape.member, c) for c in node.children]
        if t == "map":
            return self._map_entries(shape, node.children)
        text = node.text if t == "string" else node.text.strip()
        try:
            return scalar_from_text(shape, text)
        except _BadValue:
            raise errors.MalformedXML() from None

    def _structure(self, shape: Shape, node: Node) -> dict:
        by_tag: dict[str, list[Node]] = {}
        for c in node.children:
            by_tag.setdefault(c.tag, []).append(c)
        out: dict[str, Any] = {}
        for name, ms in shape.members.items():
            s = ms.serialization
            if s.get("location"):
                continue
            if s.get("xmlAttribute"):
                v = _attribute(node.attrs, s.get("name", name))
                if v is not None:
                    out[name] = v
                continue
            tag = s.get("name", name)
            if s.get("flattened") and ms.type_name == "list":
                # Smithy puts flattened items under the member's name; older models name them after
                # the list member's locationName: accept both.
                nodes = by_tag.get(tag) or by_tag.get(ms.member.serialization.get("name", tag))
                if nodes:
                    out[name] = [self._value(ms.member, n) for n in nodes]
            elif s.get("flattened") and ms.type_name == "map":
                if tag in by_tag:
                    out[name] = self._map_entries(ms, by_tag[tag])
            elif tag in by_tag:
                out[name] = self._value(ms, by_tag[tag][0])
        return out

    def _map_entries(self, shape: Shape, entries: list[Node]) -> dict:
        key_tag = shape.key.serialization.get("name", "key")
        val_tag = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        for entry in entries:
            k = v = None
            for c in entry.children:
                if c.tag == key_tag:
                    k = self._value(shape.key, c)
                elif c.tag == val_tag:
                    v = self._value(shape.value, c)
            if k is None:
                raise errors.MalformedXML()
            out[k] = v
        return out


def _attribute(attrs: dict[str, str], name: str) -> str | None:
    """An XML attribute by its model name; a differently-prefixed namespace (`x:type` for
    `xsi:type`) is matched by local name."""
    if name in attrs:
        return attrs[name]
    local = name.rpartition(":")[2]
    for k, v in attrs.items():
        if not k.startswith("xmlns") and k.rpartition(":")[2] == local:
            return v
    return None

