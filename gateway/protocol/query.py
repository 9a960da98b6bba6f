"""awsQuery response envelopes, and the base the EC2 serializer shares with them.

Both protocols put the output shape's members, rendered by the compiled `XmlEmitter`, inside an
operation-named envelope; they differ in the envelope and the error document. Plans are compiled
once per operation and once per error code.
"""

from __future__ import annotations

from typing import Any

from botocore.model import NoShapeFoundError, ServiceModel

from .errors import AwsError
from .formparse import QueryRequestParser
from .scalars import esc, esc_attr
from .xmlgen import Emit, UnknownMember, XmlEmitter

__all__ = ["QueryRequestParser", "QueryResponseSerializer", "XmlEnvelopeSerializer"]

Elements = list[tuple[str, str, Emit]]


class XmlEnvelopeSerializer:
    """Compiles and caches per-operation member plans; subclasses write the envelope."""

    def __init__(self, service_model: ServiceModel, xmlns: str | None, strict: bool) -> None:
        self.sm = service_model
        self.xmlns = xmlns
        self.strict = strict
        self._xmlns_attr = f' xmlns="{esc_attr(xmlns)}"' if xmlns else ""
        # EC2 and awsQuery lists without a member locationName use <member> (botocore's parser agrees).
        self.emitter = XmlEmitter(list_item_default="member", ts_default="iso8601", strict=strict)
        self._ops: dict[str, tuple[str, Elements | None, frozenset[str], Any]] = {}
        self._error_plans: dict[str, Elements] = {}

    def _op(self, op_name: str) -> tuple[str, Elements | None, frozenset[str], Any]:
        """(operation name, output elements or None when the op has no output, member names, shape)."""
        plan = self._ops.get(op_name)
        if plan is None:
            op = self.sm.operation_model(op_name)
            shape = op.output_shape
            if shape is None:
                plan = (op.name, None, frozenset(), None)
            else:
                plan = (op.name, self.emitter.plan(shape)[0], frozenset(shape.members), shape)
            self._ops[op_name] = plan
        return plan

    def _emit_members(self, out: list[str], elements: Elements, known: frozenset[str], value: dict,
                      where: str) -> None:
        if self.strict and not known.issuperset(value):
            raise UnknownMember(f"{where}: unknown members {sorted(set(value) - known)}")
        for name, tag, emit in elements:
            v = value.get(name)
            if v is not None:
                emit(out, tag, v)

    def _check_void(self, op_name: str, result: dict | None) -> None:
        if self.strict and result:
            raise UnknownMember(f"{op_name} has no output, got members {sorted(result)}")

    def _error_elements(self, code: str) -> Elements:
        """The error's modelled members beyond Code and Message (empty when the code is not modelled)."""
        plan = self._error_plans.get(code)
        if plan is None:
            try:
                shape = self.sm.shape_for_error_code(code)
            except NoShapeFoundError:
                shape = None
            plan = [] if shape is None else [e for e in self.emitter.plan(shape)[0]
                                             if e[0] not in ("Code", "Message")]
            self._error_plans[code] = plan
        return plan

    def _error_body(self, err: AwsError) -> list[str]:
        """<Code/>, <Message/> (omitted when empty) and the error's extra members, in model order."""
        out = [f"<Code>{esc(err.code)}</Code>"]
        if err.message:
            out.append(f"<Message>{esc(err.message)}</Message>")
        if err.extra:
            elements = self._error_elements(err.code)
            done = set()
            for name, tag, emit in elements:
                v = err.extra.get(name)
                if v is not None:
                    emit(out, tag, v)
                    done.add(name)
            for name, v in err.extra.items():  # unmodelled extras travel as plain text elements
                if name not in done:
                    out.append(f"<{name}>{esc(str(v))}</{name}>")
        return out


class QueryResponseSerializer(XmlEnvelopeSerializer):
    """awsQuery: <OpResponse xmlns><OpResult>members</OpResult><ResponseMetadata><RequestId/>..."""

    def __init__(self, service_model: ServiceModel, xmlns: str | None = None, strict: bool = False) -> None:
        super().__init__(service_model, xmlns or service_model.metadata.get("xmlNamespace"), strict)

    def serialize(self, op_name: str, result: dict | None, request_id: str) -> bytes:
        name, elements, known, shape = self._op(op_name)
        out = [f"<{name}Response{self._xmlns_attr}>"]
        if elements is None:
            self._check_void(name, result)
        else:
            wrapper = shape.serialization.get("resultWrapper") or f"{name}Result"
            out.append(f"<{wrapper}>")
            self._emit_members(out, elements, known, result or {}, name)
            out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata><RequestId>{esc(request_id)}</RequestId></ResponseMetadata>"
                   f"</{name}Response>")
        return "".join(out).encode("utf-8")

    def serialize_error(self, err: AwsError, request_id: str) -> bytes:
        kind = "Receiver" if err.status >= 500 else "Sender"
        body = "".join(self._error_body(err))
        return (f"<ErrorResponse{self._xmlns_attr}><Error><Type>{kind}</Type>{body}</Error>"
                f"<RequestId>{esc(request_id)}</RequestId></ErrorResponse>").encode()
