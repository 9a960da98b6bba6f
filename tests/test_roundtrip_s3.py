"""Round trips for every S3 operation against botocore's own client code.

Request: botocore's rest-xml serializer builds the request exactly as boto3 sends it → our router picks
the operation → our parser gives back the params. Response: our (strict) serializer → botocore's
client parser gives back the result. Seeded random values from tests/shapegen.py; several seeds per
operation so optional members, lists and maps vary.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest
from botocore.awsrequest import HeadersDict
from botocore.handlers import parse_get_bucket_location
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from gateway.protocol.models import service_model
from gateway.protocol.rest_xml import RestXmlRequestParser, RestXmlResponseSerializer
from gateway.protocol.s3_routing import S3Router
from tests.shapegen import diff, gen_value, normalize

S3 = service_model("s3")
ROUTER = S3Router(S3, virtual_host_domains=["s3.test"])
PARSER = RestXmlRequestParser(S3)
SERIALIZER = RestXmlResponseSerializer(S3, strict=True)
SEEDS = range(6)
ALL_OPS = sorted(S3.operation_names)

# Operations with the same wire form as another: deprecated ones and their successors, and
# ListDirectoryBuckets (S3 Express) vs ListBuckets when no max-directory-buckets is sent. The router
# picks the successor / ListBuckets unless the request carries the SDKs' x-id hint, so their round
# trip sends x-id (newer SDKs do). test_s3_routing pins the choice without the hint.
WIRE_TWINS = {"GetBucketLifecycle", "PutBucketLifecycle", "GetBucketNotification", "PutBucketNotification",
              "ListDirectoryBuckets"}
# SelectObjectContent answers with an event stream (binary framing), which we do not serialize; the
# pipeline answers NotImplemented before it gets that far. Its request still round-trips.
NO_RESPONSE_ROUNDTRIP = {"SelectObjectContent"}


def _params(op_name: str, seed: int) -> dict:
    op = S3.operation_model(op_name)
    rng = random.Random(f"{op_name}/{seed}")
    params = gen_value(op.input_shape, rng) if op.input_shape is not None else {}
    if "Bucket" in params:
        params["Bucket"] = rng.choice(["bucket", "my.bucket-1", "b" * 63])
    if "RequestRoute" in params:  # a host label: botocore validates it
        params["RequestRoute"] = "route-1"
    _drop_shared_element_names(params, op.input_shape)
    return params


def _drop_shared_element_names(value, shape) -> None:
    """The deprecated notification shapes have `Event` (one string) and `Events` (a flattened list)
    both written as <Event> elements: no wire keeps them apart, so only `Events` is generated."""
    if shape is None or not isinstance(value, dict) or shape.type_name != "structure":
        if shape is not None and shape.type_name == "list" and isinstance(value, list):
            for item in value:
                _drop_shared_element_names(item, shape.member)
        return
    if "Event" in shape.members and "Events" in shape.members:
        value.pop("Event", None)
    for k, v in value.items():
        if k in shape.members:
            _drop_shared_element_names(v, shape.members[k])


def client_request(op_name: str, params: dict) -> dict:
    """What boto3 puts on the wire: method, raw path, raw query, headers, body."""
    op = S3.operation_model(op_name)
    req = create_serializer("rest-xml", include_validation=False).serialize_to_request(params, op)
    url = req["url_path"]
    if req["query_string"]:
        url += ("&" if "?" in url else "?") + percent_encode_sequence(req["query_string"])
    path, _, query = url.partition("?")
    return {"method": req["method"], "path": path, "query": query, "headers": dict(req["headers"]),
            "body": req["body"]}


def _streaming_payload(op_name: str) -> str | None:
    shape = S3.operation_model(op_name).input_shape
    name = shape.serialization.get("payload") if shape is not None else None
    return name if name and shape.members[name].serialization.get("streaming") else None


@pytest.mark.parametrize("op_name", ALL_OPS)
def test_request_round_trip(op_name: str) -> None:
    streaming = _streaming_payload(op_name)
    for seed in SEEDS:
        params = _params(op_name, seed)
        wire = client_request(op_name, params)
        query = parse_qsl(wire["query"], keep_blank_values=True)
        if op_name in WIRE_TWINS:
            query.append(("x-id", op_name))
        route = ROUTER.route(wire["method"], wire["path"], query, "localhost:8080", wire["headers"])
        assert route.operation == op_name, (seed, wire["method"], wire["path"], wire["query"])
        body = wire["body"]
        if streaming:
            # The pipeline hands the request stream to the handler; the parser never sees it.
            assert body == params.get(streaming, b"")
            body = None
        parsed = PARSER.parse(op_name, wire["method"], wire["path"], wire["query"], wire["headers"],
                              body or None, host="route-1.localhost", labels=route.labels())
        _drop_shared_element_names(parsed, S3.operation_model(op_name).input_shape)
        expected = {k: v for k, v in params.items() if k != streaming}
        assert not diff(normalize(parsed), normalize(expected)), (seed, diff(normalize(parsed),
                                                                             normalize(expected)))


def test_request_round_trip_covers_every_operation() -> None:
    assert len(ALL_OPS) == len(set(S3.operation_names)) > 100


@pytest.mark.parametrize("op_name", [o for o in ALL_OPS if "Bucket" in (
    S3.operation_model(o).input_shape.members if S3.operation_model(o).input_shape else ())])
def test_virtual_hosted_request_round_trip(op_name: str) -> None:
    params = _params(op_name, 0)
    params["Bucket"] = "vhost-bucket"
    wire = client_request(op_name, params)
    rest = wire["path"][len("/vhost-bucket"):] or "/"
    query = parse_qsl(wire["query"], keep_blank_values=True)
    if op_name in WIRE_TWINS:
        query.append(("x-id", op_name))
    route = ROUTER.route(wire["method"], rest, query, "vhost-bucket.s3.test:8443", wire["headers"])
    assert (route.operation, route.bucket, route.virtual_host) == (op_name, "vhost-bucket", True)
    assert route.key == params.get("Key")


# ---- responses ------------------------------------------------------------------------------------

def _client_parse(op_name: str, status: int, headers: dict, body) -> dict:
    shape = S3.operation_model(op_name).output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if isinstance(body, bytes) and payload and shape.members[payload].type_name == "blob":
        body = bytearray(body)  # botocore would utf-8 decode a `bytes` stream body; keep it raw
    resp = {"body": body, "headers": HeadersDict(headers), "status_code": status,
            "context": {"operation_name": op_name}}
    parsed = create_parser("rest-xml").parse(resp, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def _normalise_client_quirks(op_name: str, parsed: dict, result: dict) -> dict:
    """botocore's parser invents an empty payload ({} / b'') and empty header maps ({})."""
    shape = S3.operation_model(op_name).output_shape
    if shape is None:
        return parsed
    payload = shape.serialization.get("payload")
    if payload and result.get(payload) is None and parsed.get(payload) in ({}, b"", ""):
        parsed.pop(payload)
    for name, ms in shape.members.items():
        if ms.serialization.get("location") == "headers" and parsed.get(name) == {} and name not in result:
            parsed.pop(name)
    return parsed


@pytest.mark.parametrize("op_name", [o for o in ALL_OPS if o not in NO_RESPONSE_ROUNDTRIP])
def test_response_round_trip(op_name: str) -> None:
    shape = S3.operation_model(op_name).output_shape
    for seed in SEEDS:
        rng = random.Random(f"out/{op_name}/{seed}")
        result = gen_value(shape, rng) if shape is not None else {}
        _drop_shared_element_names(result, shape)
        status, headers, body = SERIALIZER.serialize(op_name, result, "req-1")
        assert headers["x-amz-request-id"] == "req-1"
        parsed = _client_parse(op_name, status, headers, body)
        if op_name == "GetBucketLocation":  # boto3 runs this handler on the raw body
            parse_get_bucket_location(parsed, type("R", (), {"content": body, "raw": object()})())
        parsed = _normalise_client_quirks(op_name, parsed, result)
        _drop_shared_element_names(parsed, shape)  # botocore leaves raw Elements under `Event`
        assert not diff(normalize(parsed), normalize(result)), (seed, diff(normalize(parsed),
                                                                           normalize(result)))


def test_get_bucket_location_is_text_only_and_empty_for_us_east_1() -> None:
    _, _, body = SERIALIZER.serialize("GetBucketLocation", {"LocationConstraint": "EU"}, "r")
    assert body == (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                    b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">EU</LocationConstraint>')
    _, _, body = SERIALIZER.serialize("GetBucketLocation", {}, "r")
    assert body.endswith(b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')
    parsed: dict = {}
    parse_get_bucket_location(parsed, type("R", (), {"content": body, "raw": object()})())
    assert parsed["LocationConstraint"] is None  # boto3's reading of us-east-1


def test_get_object_stream_body_passes_through_untouched() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"hello"

    stream = chunks()
    status, headers, body = SERIALIZER.serialize(
        "GetObject", {"Body": stream, "ContentLength": 5, "Metadata": {"Color": "blue"},
                      "LastModified": 1767225600}, "r")
    assert body is stream
    assert status == 200
    assert headers["x-amz-meta-Color"] == "blue"
    assert headers["Last-Modified"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert headers["Content-Length"] == "5"


def test_strict_serializer_rejects_unknown_members() -> None:
    from gateway.protocol.xmlgen import UnknownMember

    with pytest.raises(UnknownMember):
        SERIALIZER.serialize("ListBuckets", {"Buckets": [], "Bogus": 1}, "r")
    with pytest.raises(UnknownMember):
        SERIALIZER.serialize("ListBuckets", {"Buckets": [{"Name": "b", "Bogus": 1}]}, "r")
