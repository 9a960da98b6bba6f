"""Real AWS EC2 responses (botocore's captures): what we emit for the same data must read back the same
through botocore, and be the same XML as AWS sent, element for element.

Each capture is `ec2-<op>.xml` (AWS's response) plus `.json` (botocore's parse of it). We serialize the
.json and compare (a) botocore's parse of our XML with the .json, timestamps as instants, and (b) our XML
with AWS's, canonicalised: local names (captures span API versions, so namespaces differ), whitespace
and requestId ignored, timestamps as instants, siblings compared per element name (AWS's element order
follows its own schema, not the model's member order; list items keep their order).

Known differences, all in the captures rather than in our naming:
- associate-address, assign-private-ip-addresses: AWS added <return>true</return>, which the model's
  output shape lacks; the latter's capture also names its root without the "Response" suffix.
- attach-volume, create-snapshot, create-volume, describe-spot-instance-requests, detach-volume,
  request-spot-instances: the capture has the placeholder "YYYY-MM-DDTHH:MM:SS.000Z" for a time, which
  our serializer refuses (it never emits a non-timestamp in a timestamp element).
- get-password-data: AWS wrote "2009-10-24 15:00:00"; we write ISO 8601 (same instant, so it counts).
Measured: 64 of 66 equivalent; 23 of them even in AWS's own element order.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from botocore import xform_name
from botocore.awsrequest import HeadersDict
from botocore.model import Shape
from botocore.parsers import create_parser
from botocore.utils import parse_timestamp

from gateway.protocol.ec2 import Ec2ResponseSerializer
from gateway.protocol.models import service_model
from tests.testdata import require

EC2 = service_model("ec2")
PLACEHOLDER = "YYYY-MM-DDTHH:MM:SS.000Z"
NOT_EQUIVALENT = {"associate-address", "assign-private-ip-addresses"}
MIN_EQUIVALENT = 64          # of 66 serializable captures (72 in all)
MIN_EQUIVALENT_IN_ORDER = 23
_TS = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")


def _instant(text: str) -> float:
    return parse_timestamp(text).timestamp()


def _expected(value: Any, shape: Shape | None) -> Any:
    """The capture's .json with timestamps as instants (botocore's test parse keeps them as text)."""
    if shape is None:
        return value
    if shape.type_name == "structure":
        return {k: _expected(v, shape.members[k]) for k, v in value.items()}
    if shape.type_name == "list":
        return [_expected(v, shape.member) for v in value]
    if shape.type_name == "timestamp":
        return _instant(value)
    return value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def canon(elem: ET.Element, ordered: bool) -> tuple:
    kids = [canon(c, ordered) for c in elem if _local(c.tag) != "requestId"]
    if not ordered:  # stable: same-named siblings (list items) keep their order
        kids.sort(key=lambda k: k[0])
    text = "" if kids else (elem.text or "").strip()
    if _TS.match(text):
        text = str(_instant(text))
    return _local(elem.tag), text, tuple(kids)


@functools.cache
def results() -> dict[str, Any]:
    captures: Path = require().captures
    operations = {xform_name(name): name for name in EC2.operation_names}
    serializer = Ec2ResponseSerializer(EC2, strict=True)
    parser = create_parser("ec2")
    parser._timestamp_parser = _instant
    out: dict[str, Any] = defaultdict(list)
    for xml_path in sorted(captures.glob("ec2-*.xml")):
        name = xml_path.stem[len("ec2-"):]
        op_name = operations.get(name.replace("-", "_"))
        if op_name is None:
            out["unmapped"].append(name)
            continue
        data = json.loads(xml_path.with_suffix(".json").read_text())
        data.pop("ResponseMetadata", None)
        shape = EC2.operation_model(op_name).output_shape
        try:
            ours = serializer.serialize(op_name, data, "rid")
        except ValueError:
            out["refused"].append(name)
            continue
        parsed = parser.parse({"body": ours, "headers": HeadersDict(), "status_code": 200}, shape)
        parsed.pop("ResponseMetadata", None)
        if parsed != _expected(data, shape):
            out["semantic_failures"].append(name)
        real, mine = ET.fromstring(xml_path.read_bytes()), ET.fromstring(ours)
        out["serialized"].append(name)
        if canon(real, ordered=False) == canon(mine, ordered=False):
            out["equivalent"].append(name)
        else:
            out["not_equivalent"].append(name)
        if canon(real, ordered=True) == canon(mine, ordered=True):
            out["equivalent_in_order"].append(name)
    return out


def test_every_capture_is_an_ec2_operation() -> None:
    r = results()
    assert r["unmapped"] == []
    assert len(r["serialized"]) + len(r["refused"]) >= 72


def test_botocore_reads_back_every_capture() -> None:
    r = results()
    assert r["semantic_failures"] == []
    assert len(r["serialized"]) >= 66


def test_placeholder_timestamps_are_refused_not_emitted() -> None:
    captures = require().captures
    with_placeholder = sorted(p.stem[len("ec2-"):] for p in captures.glob("ec2-*.json")
                              if PLACEHOLDER in p.read_text())
    assert results()["refused"] == with_placeholder
    assert len(with_placeholder) == 6


def test_xml_matches_what_aws_sent() -> None:
    r = results()
    assert set(r["not_equivalent"]) <= NOT_EQUIVALENT, "new element-level differences from real AWS"
    assert len(r["equivalent"]) >= MIN_EQUIVALENT
    assert len(r["equivalent_in_order"]) >= MIN_EQUIVALENT_IN_ORDER


@pytest.mark.parametrize("name", ["describe-instances", "describe-security-groups", "describe-volumes",
                                  "run-instances", "describe-route-tables"])
def test_core_operations_are_equivalent(name: str) -> None:
    assert name in results()["equivalent"]
