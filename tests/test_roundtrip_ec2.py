"""Every EC2 operation, both directions, against botocore's own client codec with seeded random values.

request : botocore's EC2 serializer → form body → pairs → our parser        == params
response: our serializer (strict: unknown members fail) → botocore's parser == result
"""

from __future__ import annotations

import random

import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from gateway.protocol.ec2 import Ec2RequestParser, Ec2ResponseSerializer
from gateway.protocol.models import service_model
from tests.formwire import form, request_params, sendable
from tests.shapegen import diff, gen_value, normalize

EC2 = service_model("ec2")
OPERATIONS = sorted(EC2.operation_names)
SEEDS = (1, 2, 3)

_client_serializer = create_serializer("ec2", include_validation=False)
_client_parser = create_parser("ec2")
_parser = Ec2RequestParser(EC2)
_serializer = Ec2ResponseSerializer(EC2, strict=True)


def test_the_model_is_the_full_ec2_api() -> None:
    assert len(OPERATIONS) >= 830


def _wire_pairs(op_name: str, params: dict) -> list[tuple[str, str]]:
    return form(_client_serializer.serialize_to_request(params, EC2.operation_model(op_name))["body"])


@pytest.mark.parametrize("op_name", OPERATIONS)
def test_request_round_trip(op_name: str) -> None:
    shape = EC2.operation_model(op_name).input_shape
    for seed in SEEDS:
        params = request_params(shape, random.Random(f"req-{op_name}-{seed}"))
        action, parsed = _parser.parse(_wire_pairs(op_name, params))
        assert action == op_name
        assert diff(normalize(parsed), normalize(sendable(params))) == [], f"seed {seed}"


@pytest.mark.parametrize("op_name", OPERATIONS)
def test_response_round_trip(op_name: str) -> None:
    shape = EC2.operation_model(op_name).output_shape
    for seed in SEEDS:
        result = gen_value(shape, random.Random(f"resp-{op_name}-{seed}")) if shape is not None else {}
        body = _serializer.serialize(op_name, result, f"req-{seed}")
        parsed = _client_parser.parse({"body": body, "headers": HeadersDict(), "status_code": 200}, shape)
        assert parsed.pop("ResponseMetadata")["RequestId"] == f"req-{seed}"
        assert diff(normalize(parsed), normalize(result)) == [], f"seed {seed}"
        if shape is None:
            assert b"<return>true</return>" in body
