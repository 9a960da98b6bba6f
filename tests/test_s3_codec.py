"""rest-xml codec: real AWS S3 captures, the root-tag table, error envelopes, hostile or bad input."""

from __future__ import annotations

import datetime as dt
import json
from xml.etree import ElementTree as ET

import pytest
from botocore import xform_name

from gateway.protocol import errors
from gateway.protocol.models import S3_XMLNS, service_model
from gateway.protocol.rest_xml import (
    S3_ROOT_TAGS,
    RestXmlRequestParser,
    RestXmlResponseSerializer,
    response_has_body,
)
from tests.testdata import require

S3 = service_model("s3")
SERIALIZER = RestXmlResponseSerializer(S3, strict=True)
PARSER = RestXmlRequestParser(S3)
NS = "{" + S3_XMLNS + "}"


# ---- root tags ------------------------------------------------------------------------------------

def _unnamed_xml_bodies() -> list[str]:
    """Output shapes whose own members form an XML body and that the model gives no root name."""
    found = []
    for name in S3.operation_names:
        shape = S3.operation_model(name).output_shape
        if shape is None or shape.serialization.get("payload") or shape.serialization.get("name"):
            continue
        if any(not ms.serialization.get("location") for ms in shape.members.values()):
            found.append(shape.name)
    return found


def test_root_tag_table_covers_every_unnamed_xml_body() -> None:
    unnamed = _unnamed_xml_bodies()
    assert len(unnamed) == 33
    assert sorted(set(unnamed) - set(S3_ROOT_TAGS)) == []


@pytest.mark.parametrize(("op_name", "result", "root"), [
    ("ListObjectsV2", {"Name": "b", "KeyCount": 0}, "ListBucketResult"),
    ("CreateMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}, "InitiateMultipartUploadResult"),
    ("CopyObject", {"CopyObjectResult": {"ETag": '"e"'}}, "CopyObjectResult"),
    ("UploadPartCopy", {"CopyPartResult": {"ETag": '"e"'}}, "CopyPartResult"),
    ("DeleteObjects", {"Deleted": [{"Key": "a"}]}, "DeleteResult"),
    ("GetObjectAcl", {"Owner": {"ID": "o"}}, "AccessControlPolicy"),
    ("GetObjectTagging", {"TagSet": []}, "Tagging"),
    ("GetBucketVersioning", {"Status": "Enabled"}, "VersioningConfiguration"),
    ("GetObjectLegalHold", {"LegalHold": {"Status": "ON"}}, "LegalHold"),
    ("GetObjectRetention", {"Retention": {"Mode": "GOVERNANCE"}}, "Retention"),
    ("GetBucketEncryption", {"ServerSideEncryptionConfiguration": {"Rules": []}},
     "ServerSideEncryptionConfiguration"),
])
def test_root_element_and_namespace(op_name: str, result: dict, root: str) -> None:
    status, headers, body = SERIALIZER.serialize(op_name, result, "r")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert ET.fromstring(body).tag == NS + root
    assert headers["Content-Type"] == "application/xml"


def test_body_timestamps_iso_with_millis_and_header_timestamps_rfc822() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    _, headers, body = SERIALIZER.serialize(
        "CreateMultipartUpload", {"UploadId": "u", "AbortDate": t, "Bucket": "b", "Key": "k"}, "r")
    assert headers["x-amz-abort-date"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    _, _, body = SERIALIZER.serialize("ListBuckets", {"Buckets": [{"Name": "b", "CreationDate": t}]}, "r")
    assert b"<CreationDate>2026-01-01T00:00:00.000Z</CreationDate>" in body


def test_status_and_empty_bodies() -> None:
    assert SERIALIZER.serialize("DeleteObject", {}, "r")[0] == 204
    status, headers, body = SERIALIZER.serialize("PutObject", {"ETag": '"e"', "VersionId": "v"}, "r")
    assert (status, body, headers["ETag"], headers["x-amz-version-id"]) == (200, b"", '"e"', "v")
    assert not response_has_body("HEAD", 200) and not response_has_body("GET", 204)
    assert response_has_body("GET", 404)


# ---- real AWS captures ------------------------------------------------------------------------------

def _canon(e: ET.Element) -> tuple:
    """Tags with their namespace, attributes, leaf text; sibling order ignored (AWS's own order
    differs from the model's in places, and no client depends on it)."""
    kids = sorted((_canon(c) for c in e), key=repr)
    text = "" if kids else (e.text or "").strip()
    return e.tag, tuple(sorted(e.attrib.items())), text, tuple(kids)


def _op_for(file_stem: str) -> str:
    base = file_stem.split("-", 1)[1].split("#")[0].replace("-", "_")
    return next(o for o in S3.operation_names if xform_name(o) == base)


def test_real_s3_captures_are_reproduced() -> None:
    """Each capture's botocore parse (.json) → our serializer → XML equivalent to AWS's own body."""
    captures = sorted(require().captures.glob("s3-*.xml"))
    assert len(captures) >= 8
    mismatched = []
    for path in captures:
        expected = json.loads(path.with_suffix(".json").read_text())
        expected.pop("ResponseMetadata", None)
        real = path.read_bytes()
        _, _, ours = SERIALIZER.serialize(_op_for(path.stem), expected, "req")
        if not real.lstrip().startswith(b"<"):
            same = ours == real.strip()  # GetBucketPolicy: the policy document itself
        else:
            real_text = real.decode("utf-8").replace("\ufffc", "")  # stray U+FFFC in one capture
            same = _canon(ET.fromstring(ours)) == _canon(ET.fromstring(real_text))
        if not same:
            mismatched.append((path.name, ours[:300]))
    assert mismatched == []


# ---- errors ---------------------------------------------------------------------------------------

def test_s3_error_document_exact() -> None:
    err = errors.NoSuchKey(Key="a & b.txt", BucketName="bkt")
    status, headers, body = SERIALIZER.serialize_error(err, "req-1", host_id="host-9")
    assert status == 404
    assert headers["Content-Type"] == "application/xml"
    assert headers["x-amz-request-id"] == "req-1"
    assert body == (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
                    b"<Message>The specified key does not exist.</Message><Key>a &amp; b.txt</Key>"
                    b"<BucketName>bkt</BucketName><RequestId>req-1</RequestId><HostId>host-9</HostId>"
                    b"</Error>")


def test_s3_error_without_message_or_host_id() -> None:
    status, _, body = SERIALIZER.serialize_error(errors.InvalidArgument(""), "r")
    assert status == 400
    assert body.endswith(b"<Error><Code>InvalidArgument</Code><RequestId>r</RequestId></Error>")


def test_not_implemented_and_method_not_allowed_documents() -> None:
    status, _, body = SERIALIZER.serialize_error(errors.S3NotImplemented(), "r")
    assert status == 501 and b"<Code>NotImplemented</Code>" in body
    err = errors.MethodNotAllowed(Method="POST", ResourceType="OBJECT")
    status, _, body = SERIALIZER.serialize_error(err, "r")
    assert status == 405
    assert b"<Method>POST</Method><ResourceType>OBJECT</ResourceType><RequestId>" in body


def test_generic_rest_xml_error_form() -> None:
    _, _, body = SERIALIZER.serialize_generic_error("Throttled", "slow", "r", 503)
    assert body == (b"<ErrorResponse><Error><Type>Receiver</Type><Code>Throttled</Code>"
                    b"<Message>slow</Message></Error><RequestId>r</RequestId></ErrorResponse>")


# ---- bad and hostile input --------------------------------------------------------------------------

def _put_tagging(body: bytes) -> dict:
    return PARSER.parse("PutBucketTagging", "PUT", "/b", "tagging", {}, body, labels={"Bucket": "b"})


def test_xml_body_with_and_without_namespace() -> None:
    plain = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
    spaced = (b'<?xml version="1.0"?>\n<Tagging xmlns="' + S3_XMLNS.encode() + b'">\n <TagSet>\n'
              b"  <Tag><Key>a</Key><Value>1</Value></Tag>\n </TagSet>\n</Tagging>")
    expected = {"Bucket": "b", "Tagging": {"TagSet": [{"Key": "a", "Value": "1"}]}}
    assert _put_tagging(plain) == expected
    assert _put_tagging(spaced) == expected


@pytest.mark.parametrize("body", [b"<Tagging><TagSet>", b"not xml", b"<a></b>", b"<Tagging/>junk<x/>"])
def test_malformed_xml(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML) as e:
        _put_tagging(body)
    assert e.value.status == 400


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b"<Tagging><TagSet><Tag><Key>&lol2;</Key><Value>v</Value></Tag></TagSet></Tagging>",
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><Tagging/>',
    b"<!DOCTYPE Tagging><Tagging/>",
    b"<Tagging><TagSet><Tag><Key>&undefined;</Key></Tag></TagSet></Tagging>",
])
def test_dtd_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML):
        _put_tagging(body)


def test_bad_scalar_in_xml_body_is_malformed_xml() -> None:
    body = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    PARSER.parse("PutBucketVersioning", "PUT", "/b", "versioning", {}, body, labels={"Bucket": "b"})
    bad = (b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>ten</Days>"
           b"</Expiration></Rule></LifecycleConfiguration>")
    with pytest.raises(errors.MalformedXML):
        PARSER.parse("PutBucketLifecycleConfiguration", "PUT", "/b", "lifecycle", {}, bad,
                     labels={"Bucket": "b"})


@pytest.mark.parametrize(("op_name", "query", "headers", "arg"), [
    ("ListObjectsV2", "list-type=2&max-keys=ten", {}, "max-keys"),
    ("ListObjectsV2", "list-type=2&fetch-owner=yes", {}, "fetch-owner"),
    ("GetObject", "partNumber=1.5", {}, "partNumber"),
    ("GetObject", "", {"If-Modified-Since": "yesterday-ish"}, "If-Modified-Since"),
    ("PutObject", "", {"Content-Length": "-x"}, "Content-Length"),
    ("PutObject", "", {"x-amz-server-side-encryption-bucket-key-enabled": "maybe"},
     "x-amz-server-side-encryption-bucket-key-enabled"),
])
def test_bad_header_or_query_value_is_invalid_argument(op_name: str, query: str, headers: dict,
                                                       arg: str) -> None:
    with pytest.raises(errors.InvalidArgument) as e:
        PARSER.parse(op_name, "GET", "/b/k", query, headers, None, labels={"Bucket": "b", "Key": "k"})
    assert e.value.status == 400
    assert e.value.extra["ArgumentName"].lower() == arg.lower()
    assert "ArgumentValue" in e.value.extra


def test_headers_and_metadata_prefix_map() -> None:
    headers = {"X-Amz-Meta-Color": "blue", "x-amz-meta-size": "L", "Content-Length": "5",
               "x-amz-server-side-encryption-bucket-key-enabled": "TRUE", "Expires": "Thu, 01 Jan 2026 00:00:00 GMT",
               "x-amz-object-lock-retain-until-date": "2026-01-01T00:00:00Z"}
    got = PARSER.parse("PutObject", "PUT", "/b/k", "", headers, None, labels={"Bucket": "b", "Key": "k"})
    assert got["Metadata"] == {"Color": "blue", "size": "L"}
    assert got["ContentLength"] == 5 and got["BucketKeyEnabled"] is True
    assert got["Expires"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert got["ObjectLockRetainUntilDate"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert "Body" not in got  # streaming payload: never read by the parser


def test_labels_from_path_when_router_gives_none() -> None:
    got = PARSER.parse("GetObject", "GET", "/b/a%2Fb/c%20d", "versionId=v", {}, None)
    assert (got["Bucket"], got["Key"], got["VersionId"]) == ("b", "a/b/c d", "v")


def test_string_payload_and_xsi_type_attribute() -> None:
    got = PARSER.parse("PutBucketPolicy", "PUT", "/b", "policy", {}, b'{"Version":"2012"}',
                       labels={"Bucket": "b"})
    assert got["Policy"] == '{"Version":"2012"}'
    acl = (b'<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/'
           b'XMLSchema-instance" xsi:type="CanonicalUser"><ID>id1</ID></Grantee><Permission>READ'
           b"</Permission></Grant></AccessControlList><Owner><ID>o</ID></Owner></AccessControlPolicy>")
    got = PARSER.parse("PutBucketAcl", "PUT", "/b", "acl", {}, acl, labels={"Bucket": "b"})
    assert got["AccessControlPolicy"]["Grants"] == [
        {"Grantee": {"Type": "CanonicalUser", "ID": "id1"}, "Permission": "READ"}]


def test_event_stream_response_is_not_implemented() -> None:
    with pytest.raises(errors.S3NotImplemented):
        SERIALIZER.serialize("SelectObjectContent", {"Payload": {}}, "r")
