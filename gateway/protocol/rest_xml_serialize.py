"""rest-xml response and error serializer (server side), compiled per operation from the model.

Output members go where the model says: `header` (RFC 822 timestamps by default), `headers` (a prefix
map such as `x-amz-meta-`), `statusCode`, a payload member (blob/string returned as is — a GetObject
body may be a stream object and passes through untouched; a structure gets its own root element), or
the XML body under the operation's root tag.

S3's model has no root tag for the 33 operations whose output members form the body, so S3 needs an
explicit table (S3_ROOT_TAGS below); the conformance test models instead name the root via the output
shape's locationName, or use the shape name.

HEAD responses carry no body, on success or error: S3 sends status and headers only. The pipeline
asks `response_has_body(method, status)` before writing what these functions return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from .errors import AwsError, S3NotImplemented
from .models import S3_XMLNS
from .scalars import b64encode, esc, format_bool, format_float, format_timestamp
from .xmlgen import Emit, UnknownMember, XmlEmitter, ns_attr

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Root element of every S3 output whose body is made of the output's own members (not a payload
# member): the model omits it. 33 operations (+2 payloads, at the end); the tests check the table
# is complete against the model. Names from AWS's S3 API reference ("Response Syntax") and real captures; the two
# annotation operations are newer than both sources and follow the service's <Op>Result pattern.
S3_ROOT_TAGS: dict[str, str] = {
    "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "CreateSessionOutput": "CreateSessionResult",
    "DeleteObjectsOutput": "DeleteResult",
    "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetBucketCorsOutput": "CORSConfiguration",
    "GetBucketLifecycleOutput": "LifecycleConfiguration",
    "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
    "GetBucketLocationOutput": "LocationConstraint",  # text-only root, see _text_root
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "NotificationConfigurationDeprecated": "NotificationConfiguration",  # GetBucketNotification
    "NotificationConfiguration": "NotificationConfiguration",  # GetBucketNotificationConfiguration
    "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
    "GetBucketTaggingOutput": "Tagging",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketWebsiteOutput": "WebsiteConfiguration",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetObjectAttributesOutput": "GetObjectAttributesResponse",
    "GetObjectTaggingOutput": "Tagging",
    "ListBucketAnalyticsConfigurationsOutput": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurationsOutput": "ListBucketIntelligentTieringConfigurationsOutput",
    "ListBucketInventoryConfigurationsOutput": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurationsOutput": "ListMetricsConfigurationsResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListDirectoryBucketsOutput": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
    "ListObjectAnnotationsOutput": "ListObjectAnnotationsResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
    "ListPartsOutput": "ListPartsResult",
    "PutObjectAnnotationOutput": "PutObjectAnnotationResult",
    # Structure payloads whose element name the model records only as the member's own name
    # (indistinguishable from botocore's default), so the generic rule would pick the shape name.
    "GetObjectLegalHoldOutput": "LegalHold",
    "GetObjectRetentionOutput": "Retention",
}


def response_has_body(method: str, status: int) -> bool:
    """HEAD, 204 and 304 responses must go out without a body (headers only)."""
    return method.upper() != "HEAD" and status not in (204, 304)


def _header_text(shape: Shape, value: Any) -> str:
    t = shape.type_name
    if t == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "rfc822"))
    if t == "boolean":
        return format_bool(value)
    if t in ("float", "double"):
        return format_float(value)
    if t in ("integer", "long"):
        return str(int(value))
    if t == "blob":
        return b64encode(value)
    if t == "list":
        parts = []
        for item in value:
            text = _header_text(shape.member, item)
            if shape.member.type_name == "string" and ("," in text or '"' in text):
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(text)
        return ", ".join(parts)
    if t == "string" and shape.serialization.get("jsonvalue"):
        return b64encode(json.dumps(value, separators=(",", ":")))
    return value if isinstance(value, str) else str(value)


@dataclass
class _OutPlan:
    status: int
    known: frozenset[str] = frozenset()
    headers: list[tuple[str, str, Shape]] = field(default_factory=list)
    header_maps: list[tuple[str, str]] = field(default_factory=list)
    status_member: str | None = None
    payload: str | None = None
    payload_raw: bool = False  # blob/string payload: bytes or a stream, sent as is
    root: str = ""
    emit: Emit | None = None  # structure payload or body emitter (root element included)
    body_members: frozenset[str] = frozenset()
    # A GET of a body document answers one even when nothing is set: S3 sends <BucketLoggingStatus/>,
    # <AccelerateConfiguration/>, ... for a bucket without logging or acceleration (SDKs parse it).
    always_body: bool = False
    text_root: str | None = None  # member whose text is the whole root element (GetBucketLocation)
    event_stream: bool = False  # binary event framing (SelectObjectContent): not supported


class RestXmlResponseSerializer:
    """Serialize results and errors for one rest-xml service model.

    root_tags: output-shape name → root element for bodies the model leaves unnamed (S3's table).
    root_xmlns: namespace put on the root element unless the shape sets its own (S3's namespace).
    strict: raise UnknownMember when a result holds a key its shape lacks (tests catch handler bugs).
    """

    def __init__(self, service_model: ServiceModel, root_tags: dict[str, str] | None = S3_ROOT_TAGS,
                 root_xmlns: str | None = S3_XMLNS, strict: bool = False) -> None:
        self.service_model = service_model
        self.root_tags = root_tags or {}
        self.root_xmlns = root_xmlns
        self.strict = strict
        self.emitter = XmlEmitter(list_item_default="member", ts_default="iso8601", strict=strict)
        self._plans: dict[str, _OutPlan] = {}

    # ---- success --------------------------------------------------------------------------------

    def serialize(self, op_name: str, result: dict | None, request_id: str
                  ) -> tuple[int, dict[str, str], bytes | Any]:
        """(status, headers, body). The body is bytes, or the handler's own object for a blob payload
        (an async iterator / stream for GetObject is passed through untouched)."""
        plan = self._plans.get(op_name)
        if plan is None:
            plan = self._plans[op_name] = self._compile(self.service_model.operation_model(op_name))
        if plan.event_stream:
            raise S3NotImplemented("Event stream responses are not supported.")
        result = result or {}
        if self.strict and not plan.known.issuperset(result):
            raise UnknownMember(f"{op_name}: unknown members {sorted(set(result) - plan.known)}")
        status = plan.status
        headers = {"x-amz-request-id": request_id}
        for name, wire, ms in plan.headers:
            v = result.get(name)
            if v is not None:
                headers[wire] = _header_text(ms, v)
        for name, prefix in plan.header_maps:
            for k, v in (result.get(name) or {}).items():
                headers[prefix + k] = v if isinstance(v, str) else str(v)
        if plan.status_member is not None and result.get(plan.status_member) is not None:
            status = int(result[plan.status_member])

        if plan.payload is not None:
            v = result.get(plan.payload)
            if v is None:
                return status, headers, b""
            if plan.payload_raw:
                return status, headers, v.encode("utf-8") if isinstance(v, str) else v
            out = [XML_DECL]
            plan.emit(out, plan.root, v)  # type: ignore[misc]
            return status, self._xml(headers), self._join(out, plan.root)

        if plan.text_root is not None:
            text = esc(str(result.get(plan.text_root) or ""))
            ns = ns_attr(self.root_xmlns)
            body = f"<{plan.root}{ns}>{text}</{plan.root}>" if text else f"<{plan.root}{ns}/>"
            return status, self._xml(headers), (XML_DECL + body).encode("utf-8")
        if plan.emit is None or not plan.always_body and not plan.body_members.intersection(
                k for k, v in result.items() if v is not None):
            return status, headers, b""
        out = [XML_DECL]
        plan.emit(out, plan.root, result)
        return status, self._xml(headers), "".join(out).encode("utf-8")

    @staticmethod
    def _xml(headers: dict[str, str]) -> dict[str, str]:
        headers["Content-Type"] = "application/xml"
        return headers

    def _join(self, out: list[str], root: str) -> bytes:
        # out[1] is the root's start tag; add the service namespace unless the shape set one.
        if self.root_xmlns and "xmlns=" not in out[1]:
            out[1] = f"<{root}{ns_attr(self.root_xmlns)}" + out[1][len(root) + 1:]
        return "".join(out).encode("utf-8")

    def _compile(self, op: OperationModel) -> _OutPlan:
        plan = _OutPlan(status=int(op.http.get("responseCode", 200)))
        shape = op.output_shape
        if shape is None:
            return plan
        plan.known = frozenset(shape.members)
        for name, ms in shape.members.items():
            s = ms.serialization
            loc = s.get("location")
            if loc == "header":
                plan.headers.append((name, s.get("name", name), ms))
            elif loc == "headers":
                plan.header_maps.append((name, s.get("name", "")))
            elif loc == "statusCode":
                plan.status_member = name
        payload = shape.serialization.get("payload")
        if payload:
            ps = shape.members[payload]
            plan.payload = payload
            plan.event_stream = bool(ps.serialization.get("eventstream"))
            if ps.type_name in ("blob", "string"):
                plan.payload_raw = True
            else:
                plan.root = self.root_tags.get(shape.name) or _payload_root(self.service_model,
                                                                            payload, ps)
                plan.emit = self.emitter.emitter(ps)
            return plan
        # uri/querystring bindings mean nothing in a response: such members travel in the body.
        body = [n for n, ms in shape.members.items()
                if ms.serialization.get("location") in (None, "uri", "querystring")]
        if not body:
            return plan
        plan.body_members = frozenset(body)
        plan.always_body = op.http.get("method") == "GET"
        plan.root = shape.serialization.get("name") or self.root_tags.get(shape.name) or shape.name
        # A body that is one scalar named like the root is that root's text:
        # <LocationConstraint xmlns="...">EU</LocationConstraint>.
        if len(body) == 1:
            only = shape.members[body[0]]
            if only.type_name not in ("structure", "list", "map") and \
                    only.serialization.get("name", body[0]) == plan.root:
                plan.text_root = body[0]
                return plan
        plan.emit = self._root_emitter(shape, body)
        return plan

    def _root_emitter(self, shape: Shape, body: list[str]) -> Emit:
        """The body's root element: the output's body members under `root`, with the shape's (or
        else the service's) namespace and any xmlAttribute members as attributes."""
        ns = shape.serialization.get("xmlNamespace") or self.root_xmlns
        return self.emitter.structure(shape, ns, body)

    # ---- errors ---------------------------------------------------------------------------------

    def serialize_error(self, err: AwsError, request_id: str, *, host_id: str | None = None
                        ) -> tuple[int, dict[str, str], bytes]:
        """S3's error document: <Error><Code/><Message/>{extra, in the order given}<RequestId/>
        <HostId/></Error>. An empty message is omitted. HEAD: see response_has_body."""
        return s3_error(err, request_id, host_id=host_id)

    def serialize_generic_error(self, code: str, message: str, request_id: str, status: int,
                                members: dict | None = None, error_shape: Shape | None = None
                                ) -> tuple[int, dict[str, str], bytes]:
        """The generic rest-xml form used by non-S3 services (and botocore's protocol suites):
        <ErrorResponse><Error><Type/><Code/><Message/>{members}</Error><RequestId/></ErrorResponse>."""
        headers = {"x-amz-request-id": request_id, "Content-Type": "application/xml"}
        out = ["<ErrorResponse><Error><Type>", "Receiver" if status >= 500 else "Sender",
               f"</Type><Code>{esc(code)}</Code>"]
        if message:
            out.append(f"<Message>{esc(message)}</Message>")
        if error_shape is not None and members:
            for name, ms in error_shape.members.items():
                v = members.get(name)
                if v is None or name in ("Code", "Message"):
                    continue
                s = ms.serialization
                if s.get("location") == "header":
                    headers[s.get("name", name)] = _header_text(ms, v)
                elif s.get("location") == "headers":
                    for k, hv in v.items():
                        headers[s.get("name", "") + k] = str(hv)
                elif not s.get("location"):
                    self.emitter.emitter(ms)(out, s.get("name", name), v)
        out.append(f"</Error><RequestId>{esc(request_id)}</RequestId></ErrorResponse>")
        return status, headers, "".join(out).encode("utf-8")


def s3_error(err: AwsError, request_id: str, *, host_id: str | None = None
             ) -> tuple[int, dict[str, str], bytes]:
    out = [XML_DECL, f"<Error><Code>{esc(err.code)}</Code>"]
    if err.message:
        out.append(f"<Message>{esc(err.message)}</Message>")
    for k, v in err.extra.items():
        text = esc(v if isinstance(v, str) else str(v))
        out.append(f"<{k}>{text}</{k}>" if text else f"<{k}/>")
    out.append(f"<RequestId>{esc(request_id)}</RequestId>")
    if host_id:
        out.append(f"<HostId>{esc(host_id)}</HostId>")
    out.append("</Error>")
    headers = {"x-amz-request-id": request_id, "Content-Type": "application/xml"}
    if host_id:
        headers["x-amz-id-2"] = host_id
    return err.status, headers, "".join(out).encode("utf-8")


def _payload_root(sm: ServiceModel, member_name: str, ms: Shape) -> str:
    """Root element of a structure payload (Smithy's rule): the member's xmlName, then the target
    shape's, then the shape name. botocore copies the member name into locationName when the member
    has none, so a locationName equal to the member name does not count as an override (S3's two
    real ones are in S3_ROOT_TAGS)."""
    member_level = ms.serialization.get("name")
    if member_level and member_level != member_name:
        return member_level
    return sm.shape_for(ms.name).serialization.get("name") or ms.name
