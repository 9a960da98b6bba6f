"""The EC2 query protocol: request parser and response serializer, both derived from the model.

Request names follow botocore's EC2 serializer: `queryName`, else the capitalised `locationName`,
else the capitalised member name; lists are `Name.N` (no `.member.`). Responses are
`<OpResponse xmlns><requestId/>members</OpResponse>`, `requestId` first as AWS sends it, and
`<return>true</return>` for operations the model gives no output (real EC2 returns it; 53 ops).
"""

from __future__ import annotations

from botocore.model import ServiceModel, Shape

from .errors import AwsError
from .formparse import FormRequestParser
from .models import EC2_XMLNS
from .models import service_model as load_model
from .query import XmlEnvelopeSerializer
from .scalars import esc

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


class Ec2RequestParser(FormRequestParser):
    """`parse(pairs) -> (operation name, params)`; raises `errors.AwsError` subclasses (all HTTP 400)."""

    def __init__(self, service_model: ServiceModel | None = None) -> None:
        super().__init__(service_model or load_model("ec2"))

    def wire_name(self, member: Shape, default: str) -> str:
        s = member.serialization
        if "queryName" in s:
            return s["queryName"]
        name = s.get("name")
        return name[0].upper() + name[1:] if name else default

    def _struct_key(self, member: Shape, name: str) -> str:
        return self.wire_name(member, name[0].upper() + name[1:])

    def _list_container(self, shape: Shape) -> str | None:
        return None


class Ec2ResponseSerializer(XmlEnvelopeSerializer):
    """`serialize(op, result, request_id) -> bytes` and `serialize_error(err, request_id) -> bytes`.

    strict=True rejects members the output shape does not have (a handler bug; used by tests).
    void_return=False drops `<return>true</return>` for output-less ops (the protocol suites' model).
    """

    def __init__(self, service_model: ServiceModel | None = None, xmlns: str | None = EC2_XMLNS,
                 strict: bool = False, *, void_return: bool = True) -> None:
        super().__init__(service_model or load_model("ec2"), xmlns, strict)
        self.void_return = void_return

    def serialize(self, op_name: str, result: dict | None, request_id: str) -> bytes:
        name, elements, known, _ = self._op(op_name)
        out = [f"{_XML_DECL}<{name}Response{self._xmlns_attr}><requestId>{esc(request_id)}</requestId>"]
        if elements is None:
            self._check_void(name, result)
            if self.void_return:
                out.append("<return>true</return>")
        elif result:
            self._emit_members(out, elements, known, result, name)
        out.append(f"</{name}Response>")
        return "".join(out).encode("utf-8")

    def serialize_error(self, err: AwsError, request_id: str) -> bytes:
        body = "".join(self._error_body(err))
        return (f"{_XML_DECL}<Response><Errors><Error>{body}</Error></Errors>"
                f"<RequestID>{esc(request_id)}</RequestID></Response>").encode()
