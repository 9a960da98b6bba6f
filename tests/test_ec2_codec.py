"""EC2 codec behaviour: request parsing rules and errors, response and error documents, awsQuery variant."""

from __future__ import annotations

import datetime as dt
import random
from xml.etree import ElementTree as ET

import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from gateway.protocol import errors
from gateway.protocol.ec2 import Ec2RequestParser, Ec2ResponseSerializer
from gateway.protocol.models import EC2_XMLNS, service_model
from gateway.protocol.query import QueryRequestParser, QueryResponseSerializer
from gateway.protocol.xmlgen import UnknownMember
from tests.formwire import form, request_params, sendable
from tests.shapegen import diff, gen_value, normalize

parser = Ec2RequestParser()
RUN = [("Action", "RunInstances"), ("Version", "2016-11-15"), ("MinCount", "1"), ("MaxCount", "1")]


def parse(*pairs: tuple[str, str], base: list[tuple[str, str]] | None = None) -> tuple[str, dict]:
    return parser.parse([*(base or []), *pairs])


def error_of(pairs: list[tuple[str, str]]) -> errors.AwsError:
    with pytest.raises(errors.AwsError) as info:
        parser.parse(pairs)
    assert info.value.status == 400
    return info.value


# ---- request parsing ---------------------------------------------------------------------------------
def test_names_types_and_nesting_follow_the_model() -> None:
    op, params = parse(("ImageId", "ami-1"), ("BlockDeviceMapping.1.DeviceName", "/dev/sda1"),
                       ("BlockDeviceMapping.1.Ebs.VolumeSize", "50"),
                       ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"),
                       ("SecurityGroupId.1", "sg-1"), ("TagSpecification.1.ResourceType", "instance"),
                       ("TagSpecification.1.Tag.1.Key", "Name"), ("TagSpecification.1.Tag.1.Value", "web"),
                       base=RUN)
    assert op == "RunInstances"
    assert params == {
        "MinCount": 1, "MaxCount": 1, "ImageId": "ami-1", "SecurityGroupIds": ["sg-1"],
        "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 50, "DeleteOnTermination": True}}],
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}]}


def test_string_values_are_never_coerced() -> None:
    _, params = parse(("ImageId", "007"), ("KeyName", "true"), ("ClientToken", "1e5"), base=RUN)
    assert params["ImageId"] == "007" and params["KeyName"] == "true" and params["ClientToken"] == "1e5"


def test_list_indices_sort_numerically() -> None:
    _, params = parse(("Action", "DescribeInstances"), ("InstanceId.10", "i-10"), ("InstanceId.2", "i-2"),
                      ("InstanceId.1", "i-1"))
    assert params == {"InstanceIds": ["i-1", "i-2", "i-10"]}


def test_zero_based_and_negative_list_indices_are_accepted_in_order() -> None:
    # apache-libcloud's EC2 driver numbers from 0 (CreateTags ResourceId.0, Tag.0.Key); AWS takes any integer
    _, params = parse(("Action", "CreateTags"), ("ResourceId.0", "vol-0"), ("ResourceId.1", "vol-1"),
                      ("Tag.1.Key", "b"), ("Tag.0.Key", "Name"), ("Tag.0.Value", "data"), ("Tag.-3.Key", "a"))
    assert params == {"Resources": ["vol-0", "vol-1"],
                      "Tags": [{"Key": "a"}, {"Key": "Name", "Value": "data"}, {"Key": "b"}]}


def test_booleans_are_case_insensitive() -> None:
    assert parse(("Action", "DescribeInstances"), ("DryRun", "TRUE"))[1] == {"DryRun": True}
    assert parse(("Action", "DescribeInstances"), ("DryRun", "False"))[1] == {"DryRun": False}


def test_timestamps_are_iso8601_and_timezone_aware() -> None:
    _, params = parse(("Action", "DescribeSpotPriceHistory"), ("StartTime", "2024-05-01T12:30:45.123Z"),
                      ("EndTime", "2024-05-01T13:30:45"))
    assert params["StartTime"] == dt.datetime(2024, 5, 1, 12, 30, 45, 123000, tzinfo=dt.UTC)
    assert params["EndTime"] == dt.datetime(2024, 5, 1, 13, 30, 45, tzinfo=dt.UTC)


def test_blobs_are_base64_decoded() -> None:
    _, params = parse(("Action", "ImportKeyPair"), ("KeyName", "k"), ("PublicKeyMaterial", "c3NoLXJzYSBBQUFB"))
    assert params["PublicKeyMaterial"] == b"ssh-rsa AAAA"


def test_unknown_enum_values_pass_through() -> None:
    _, params = parse(("InstanceType", "z9.hyper"), base=RUN)
    assert params["InstanceType"] == "z9.hyper"


def test_auth_and_version_parameters_are_ignored() -> None:
    _, params = parse(("Action", "DescribeRegions"), ("Version", "2099-01-01"), ("AWSAccessKeyId", "AK"),
                      ("Signature", "s"), ("SignatureMethod", "HmacSHA256"), ("SignatureVersion", "2"),
                      ("Timestamp", "2024-01-01T00:00:00Z"), ("X-Amz-Date", "20240101T000000Z"),
                      ("X-Amz-Credential", "AK/..."))
    assert params == {}


def test_output_less_and_input_less_actions_parse() -> None:
    assert parse(("Action", "DescribeAccountAttributes"))[1] == {}


# ---- request errors ----------------------------------------------------------------------------------
def test_missing_action() -> None:
    for pairs in ([("Version", "2016-11-15")], [("Action", "")]):
        err = error_of(pairs)
        assert type(err) is errors.MissingAction and err.code == "MissingAction"
        assert "Action" in err.message


def test_unknown_action() -> None:
    err = error_of([("Action", "DescribeUnicorns")])
    assert type(err) is errors.InvalidAction and err.code == "InvalidAction"
    assert err.message == "The action DescribeUnicorns is not valid for this web service."


@pytest.mark.parametrize(("pairs", "name"), [
    ([("Action", "DescribeInstances"), ("Nonsense", "1")], "Nonsense"),
    ([("Action", "DescribeInstances"), ("Filter.1.Nme", "x")], "Filter.1.Nme"),
    ([("Action", "DescribeInstances"), ("InstanceIds.1", "i-1")], "InstanceIds"),  # member name, not wire name
    ([*RUN, ("ImageId.1", "ami-1")], "ImageId.1"),            # a scalar has no children
    ([*RUN, ("Placement", "us-east-1a")], "Placement"),       # a structure has no value of its own
    ([*RUN, ("Placement.AvailabilityZone.Foo", "x")], "Placement.AvailabilityZone.Foo"),
    ([("Action", "DescribeRegions"), ("Bogus", "x")], "Bogus"),
    ([("Action", "DescribeInstances"), ("Filter.1.Value", "x")], "Filter.1.Value"),  # lists need an index
])
def test_unknown_parameter(pairs: list[tuple[str, str]], name: str) -> None:
    err = error_of(pairs)
    assert type(err) is errors.UnknownParameter and err.code == "UnknownParameter"
    assert err.message == f"The parameter {name} is not recognized"


@pytest.mark.parametrize(("pairs", "name"), [
    ([("Action", "RunInstances"), ("MinCount", "1")], "MaxCount"),
    ([("Action", "CreateTags"), ("ResourceId.1", "i-1")], "Tag"),
    ([("Action", "CreateFleet"), ("LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId", "lt-1"),
      ("TargetCapacitySpecification.DefaultTargetCapacityType", "spot")],
     "TargetCapacitySpecification.TotalTargetCapacity"),
    ([("Action", "CreateLaunchTemplate"), ("LaunchTemplateName", "lt"),
      ("LaunchTemplateData.InstanceRequirements.VCpuCount.Max", "4"),
      ("LaunchTemplateData.InstanceRequirements.MemoryMiB.Min", "1024")],
     "LaunchTemplateData.InstanceRequirements.VCpuCount.Min"),
    ([("Action", "AcceptReservedInstancesExchangeQuote"), ("ReservedInstanceId.1", "r-1"),
      ("TargetConfiguration.1.InstanceCount", "1")], "TargetConfiguration.1.OfferingId"),
])
def test_missing_required_parameter(pairs: list[tuple[str, str]], name: str) -> None:
    # CreateTags' Tag.N.Key is not required by the model, so it is the handler's call, not the codec's.
    err = error_of(pairs)
    assert type(err) is errors.MissingParameter and err.code == "MissingParameter"
    assert err.message == f"The request must contain the parameter {name}"


@pytest.mark.parametrize(("pairs", "name", "value", "expected"), [
    ([("Action", "RunInstances"), ("MinCount", "1"), ("MaxCount", "abc")], "MaxCount", "abc", "Integer"),
    ([("Action", "RunInstances"), ("MinCount", "1"), ("MaxCount", "1.5")], "MaxCount", "1.5", "Integer"),
    ([("Action", "RunInstances"), ("MinCount", "1"), ("MaxCount", " 1")], "MaxCount", " 1", "Integer"),
    ([("Action", "RunInstances"), ("MinCount", "1"), ("MaxCount", "")], "MaxCount", "", "Integer"),
    ([("Action", "RunInstances"), ("MinCount", "1"), ("MaxCount", "2147483648")], "MaxCount", "2147483648",
     "Integer"),
    ([("Action", "DescribeInstances"), ("DryRun", "yes")], "DryRun", "yes", "Boolean"),
    ([("Action", "DescribeInstances"), ("MaxResults", "١٢")], "MaxResults", "١٢", "Integer"),  # non-ASCII digits
    ([("Action", "DescribeSpotPriceHistory"), ("StartTime", "yesterday")], "StartTime", "yesterday", "Timestamp"),
    ([("Action", "ImportKeyPair"), ("KeyName", "k"), ("PublicKeyMaterial", "not base64!")], "PublicKeyMaterial",
     "not base64!", "Blob"),
    ([("Action", "DescribeInstances"), ("InstanceId.x", "i-1")], "InstanceId.x", "x", "integer list index"),
    ([("Action", "DescribeInstances"), ("Filter.1.Name", "a"), ("Filter.1.Value.--1", "v")], "Filter.1.Value.--1",
     "--1", "integer list index"),
    ([("Action", "DescribeInstances"), ("InstanceId." + "9" * 5000, "i-1")], "InstanceId." + "9" * 5000,
     "9" * 256 + "...", "integer list index"),
    ([("Action", "RunInstances"), ("MinCount", "1"), ("MaxCount", "9" * 5000)], "MaxCount", "9" * 256 + "...",
     "Integer"),
])
def test_invalid_parameter_value(pairs: list[tuple[str, str]], name: str, value: str, expected: str) -> None:
    err = error_of(pairs)
    assert type(err) is errors.InvalidParameterValue and err.code == "InvalidParameterValue"
    assert err.message == f"Value ({value}) for parameter {name} is invalid. Expected: '{expected}'."


def test_garbage_never_escapes_as_anything_but_a_400() -> None:
    rng = random.Random(7)
    segments = ["Filter", "1", "0", "x", "", "Name", "Value", "Ebs", "BlockDeviceMapping", "MaxCount", "-2", "99"]
    values = ["", "1", "true", "abc", "2024-01-01T00:00:00Z", "%%", "\x00", "AAAA"]
    for _ in range(2000):
        pairs = [("Action", rng.choice(["RunInstances", "DescribeInstances", "CreateTags"]))]
        pairs += [(".".join(rng.choice(segments) for _ in range(rng.randint(1, 4))), rng.choice(values))
                  for _ in range(rng.randint(0, 4))]
        try:
            parser.parse(pairs)
        except errors.AwsError as e:
            assert e.status == 400, pairs


def test_botocore_requests_round_trip_for_hand_written_cases() -> None:
    ec2 = service_model("ec2")
    client = create_serializer("ec2", include_validation=False)
    params = {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 2, "UserData": "IyEvYmluL3No",
              "NetworkInterfaces": [{"DeviceIndex": 0, "Groups": ["sg-1", "sg-2"],
                                     "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.0.5"}]}],
              "KeyName": "a & b <c>", "Placement": {"AvailabilityZone": "nova"}}
    body = client.serialize_to_request(params, ec2.operation_model("RunInstances"))["body"]
    assert parser.parse(form(body))[1] == params


# ---- responses ---------------------------------------------------------------------------------------
serializer = Ec2ResponseSerializer(strict=True)
T0 = dt.datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=dt.UTC)


def test_response_envelope_puts_request_id_first() -> None:
    body = serializer.serialize("DescribeVolumes", {"Volumes": [{"VolumeId": "vol-1", "Size": 8}]}, "req-1")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeVolumesResponse xmlns="'
                           + EC2_XMLNS.encode() + b'"><requestId>req-1</requestId><volumeSet><item>')
    assert EC2_XMLNS.endswith("/")


def test_lists_use_item_and_values_are_aws_formatted() -> None:
    result = {"Reservations": [{"ReservationId": "r-1", "Groups": [], "Instances": [{
        "InstanceId": "i-1", "LaunchTime": T0, "EbsOptimized": False, "KeyName": "a<&>b",
        "State": {"Code": 16, "Name": "running"}, "Tags": [{"Key": "k", "Value": ""}]}]}]}
    root = ET.fromstring(serializer.serialize("DescribeInstances", result, "r"))
    ns = {"e": EC2_XMLNS}
    item = root.find("e:reservationSet/e:item/e:instancesSet/e:item", ns)
    assert item is not None
    assert item.findtext("e:launchTime", namespaces=ns) == "2025-03-14T09:26:53.589Z"
    assert item.findtext("e:ebsOptimized", namespaces=ns) == "false"
    assert item.findtext("e:keyName", namespaces=ns) == "a<&>b"
    assert item.findtext("e:instanceState/e:code", namespaces=ns) == "16"
    assert item.findtext("e:tagSet/e:item/e:value", namespaces=ns) == ""
    assert root.find("e:reservationSet/e:item/e:groupSet", ns) is not None  # empty list: <groupSet/>


def test_output_less_operations_return_true() -> None:
    ec2 = service_model("ec2")
    void = [n for n in ec2.operation_names if ec2.operation_model(n).output_shape is None]
    assert len(void) == 53
    body = serializer.serialize("CreateTags", {}, "r")
    assert body.endswith(b"<requestId>r</requestId><return>true</return></CreateTagsResponse>")


def test_strict_mode_rejects_members_the_shape_lacks() -> None:
    with pytest.raises(UnknownMember):
        serializer.serialize("DescribeVolumes", {"Volumez": []}, "r")
    with pytest.raises(UnknownMember):
        serializer.serialize("DescribeVolumes", {"Volumes": [{"VolumeId": "v", "Colour": "red"}]}, "r")
    with pytest.raises(UnknownMember):
        serializer.serialize("CreateTags", {"Return": True}, "r")
    assert b"Volumez" not in Ec2ResponseSerializer().serialize("DescribeVolumes", {"Volumez": []}, "r")


def test_error_document() -> None:
    body = serializer.serialize_error(errors.InvalidParameterValue("Value (x) is <bad>"), "req-9")
    assert body == (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                    b"<Code>InvalidParameterValue</Code><Message>Value (x) is &lt;bad&gt;</Message>"
                    b"</Error></Errors><RequestID>req-9</RequestID></Response>")
    assert b"<Message>" not in serializer.serialize_error(errors.InvalidAction(""), "r")
    parsed = create_parser("ec2").parse({"body": body, "headers": HeadersDict(), "status_code": 400}, None)
    assert parsed["Error"] == {"Code": "InvalidParameterValue", "Message": "Value (x) is <bad>"}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"


# ---- awsQuery variant --------------------------------------------------------------------------------
def test_query_parser_member_lists_entry_maps_and_empty_lists() -> None:
    p = QueryRequestParser(service_model("sns"))
    op, params = p.parse([("Action", "CreateTopic"), ("Name", "t"),
                          ("Attributes.entry.2.key", "Policy"), ("Attributes.entry.2.value", "{}"),
                          ("Attributes.entry.1.key", "DisplayName"), ("Attributes.entry.1.value", "T"),
                          ("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "v")])
    assert op == "CreateTopic"
    assert params == {"Name": "t", "Attributes": {"DisplayName": "T", "Policy": "{}"},
                      "Tags": [{"Key": "k", "Value": "v"}]}
    assert p.parse([("Action", "CreateTopic"), ("Name", "t"), ("Tags", "")])[1] == {"Name": "t", "Tags": []}
    with pytest.raises(errors.UnknownParameter, match="Tags.1"):
        p.parse([("Action", "CreateTopic"), ("Name", "t"), ("Tags.1.Key", "k")])


def test_query_response_and_error_envelopes() -> None:
    sts = service_model("sts")
    s = QueryResponseSerializer(sts, strict=True)
    body = s.serialize("GetCallerIdentity", {"Account": "123", "Arn": "arn:x", "UserId": "u"}, "rid")
    assert body == (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    b"<GetCallerIdentityResult><UserId>u</UserId><Account>123</Account><Arn>arn:x</Arn>"
                    b"</GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId>"
                    b"</ResponseMetadata></GetCallerIdentityResponse>")
    err = s.serialize_error(errors.InvalidParameterValue("bad"), "rid")
    assert err == (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                   b"<Code>InvalidParameterValue</Code><Message>bad</Message></Error>"
                   b"<RequestId>rid</RequestId></ErrorResponse>")
    assert b"<Type>Receiver</Type>" in s.serialize_error(errors.InternalError(), "rid")


@pytest.mark.parametrize("service", ["sts", "sns", "iam"])
def test_query_services_round_trip_with_botocore(service: str) -> None:
    sm = service_model(service)
    client_ser, client_parser = create_serializer("query", include_validation=False), create_parser("query")
    p, s = QueryRequestParser(sm), QueryResponseSerializer(sm, strict=True)
    failures = []
    for op_name in sm.operation_names:
        op = sm.operation_model(op_name)
        rng = random.Random(op_name)
        params = request_params(op.input_shape, rng)
        body = client_ser.serialize_to_request(params, op)["body"]
        if (d := diff(normalize(p.parse(form(body))[1]), normalize(sendable(params)))):
            failures.append(f"{op_name} request: {d[:3]}")
        result = gen_value(op.output_shape, rng) if op.output_shape is not None else {}
        xml = s.serialize(op_name, result, "rid")
        parsed = client_parser.parse({"body": xml, "headers": HeadersDict(), "status_code": 200}, op.output_shape)
        parsed.pop("ResponseMetadata", None)
        if (d := diff(normalize(parsed), normalize(result))):
            failures.append(f"{op_name} response: {d[:3]}")
    assert failures == []
