"""Runs botocore's protocol suites in the SERVER direction against our codecs.

input cases : our parser(case["serialized"]) must equal case["params"].
output cases: our serializer(case["result"] or the error) → botocore's own client parser must give back
              case["result"]; and, stricter, our XML must be equivalent to case["response"]["body"]
              (canonical trees: whitespace, requestId and ResponseMetadata ignored, ISO timestamps
              compared as instants), since botocore's parser forgives wrong element names.
botocore's ignore list applies exactly as in its own test_protocols.py (cases counted as ignored).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import importlib
import importlib.util
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from botocore.awsrequest import HeadersDict
from botocore.model import NoShapeFoundError, OperationModel, ServiceModel, Shape
from botocore.parsers import EC2QueryParser, QueryParser, RestXMLParser
from botocore.utils import parse_timestamp

from .adapter import ProtocolAdapter

PROTOCOLS = ("ec2", "query", "rest-xml")
_PARSERS = {"ec2": EC2QueryParser, "query": QueryParser, "rest-xml": RestXMLParser}
_ROOT_XMLNS = re.compile(r'^\s*(?:<\?xml[^>]*\?>)?\s*<[\w:]+\s[^>]*?xmlns="([^"]*)"')
_ISO_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@dataclass
class FileResult:
    path: str                 # relative to the suites directory, e.g. "output/ec2.json"
    protocol: str
    direction: str            # "input" | "output"
    passed: int = 0
    failed: int = 0
    ignored: int = 0
    xml_checked: int = 0      # output cases with an expected body that are not errors
    xml_equivalent: int = 0
    skipped: str | None = None  # why the whole file did not run (no adapter yet)
    failures: list[str] = field(default_factory=list)
    xml_diffs: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.skipped:
            return f"{self.path} skipped ({self.skipped})"
        text = f"{self.path} passed={self.passed} failed={self.failed} ignored={self.ignored}"
        if self.direction == "output":
            text += f" xml_equivalent={self.xml_equivalent}/{self.xml_checked}"
        return text


# ---- adapters ----------------------------------------------------------------------------------------
def load_adapter(protocol: str) -> ProtocolAdapter | None:
    """The adapter for a protocol, or None while its module does not exist (rest-xml lands separately)."""
    if protocol in ("ec2", "query"):
        from .query_family import Ec2Adapter, QueryAdapter
        return Ec2Adapter() if protocol == "ec2" else QueryAdapter()
    module = f"{__package__}.rest_xml"
    if importlib.util.find_spec(module) is None:
        return None
    return importlib.import_module(module).RestXmlAdapter()


# ---- comparison helpers ------------------------------------------------------------------------------
def normalize(v: Any) -> Any:
    """Comparable form: timestamps as epoch seconds, bytes as text, special floats as their names."""
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(v, (bytes, bytearray)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(v).decode("ascii")
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def same(a: Any, b: Any) -> bool:
    """Equality that does not let True pass for 1 (or 1 for True)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def without_unsent_empties(expected: Any, got: Any) -> Any:
    """Drop None, and empty lists/maps `got` lacks, from `expected`: clients send nothing for a null
    and EC2/awsQuery send nothing for an empty map (EC2: nor list), so no server can tell them apart."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return {k: without_unsent_empties(v, got.get(k)) for k, v in expected.items()
                if v is not None and not (v in ([], {}) and k not in got)}
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [without_unsent_empties(e, g) for e, g in zip(expected, got, strict=True)]
    return expected


def with_special_floats(value: Any, shape: Shape | None) -> Any:
    """The suites spell NaN/Infinity as strings; turn them into floats where the shape says float."""
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        return {k: with_special_floats(v, shape.members.get(k)) for k, v in value.items()}
    if t == "list" and isinstance(value, list):
        return [with_special_floats(v, shape.member) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: with_special_floats(v, shape.value) for k, v in value.items()}
    if t in ("float", "double") and isinstance(value, str):
        return _SPECIAL_FLOATS.get(value, value)
    return value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def canon(elem: ET.Element) -> tuple:
    """(tag, attributes, leaf text, children) ignoring whitespace and request ids."""
    kids = tuple(canon(c) for c in elem if _local(c.tag) not in ("requestId", "RequestId", "ResponseMetadata"))
    text = "" if kids else (elem.text or "").strip()
    if _ISO_TS.match(text):
        try:
            text = str(parse_timestamp(text).timestamp())
        except (ValueError, OverflowError):
            pass
    return elem.tag, tuple(sorted(elem.attrib.items())), text, kids


def xml_equivalent(ours: bytes, expected: str) -> bool:
    if not expected.lstrip().startswith("<"):
        return ours == expected.encode("utf-8")  # text payloads compare byte for byte
    try:
        return canon(ET.fromstring(ours)) == canon(ET.fromstring(expected.encode("utf-8")))
    except ET.ParseError:
        return False


def _compliance_ts(value: str) -> float:
    return parse_timestamp(value).astimezone(dt.UTC).timestamp()


# ---- the runner ----------------------------------------------------------------------------------------
class _Ignores:
    def __init__(self, path: Path) -> None:
        self.data = json.loads(path.read_text()) if path.is_file() else {}

    def __call__(self, protocol: str, direction: str, suite: str, case_id: str | None) -> bool:
        for scope in (self.data.get("general", {}), self.data.get("protocols", {}).get(protocol, {})):
            lists = scope.get(direction, {})
            if suite in lists.get("suites", []) or case_id in lists.get("cases", []):
                return True
        return False


def _client_only(case: dict, desc: dict) -> bool:
    """Cases that test a client's reaction, not a wire format a server produces: event-stream framing
    (binary, not XML; cloudgate answers NotImplemented for those operations) and the SDK's placeholder
    for an unknown union member. Counted as ignored in the server direction."""
    if "SDK_UNKNOWN_MEMBER" in json.dumps(case.get("result", {})):
        return True
    return any(shape.get("eventstream") for shape in desc.get("shapes", {}).values())


def _cases(path: Path):
    for suite in json.loads(path.read_text(encoding="utf-8")):
        cases = suite.pop("cases")
        for case in cases:
            op_name = case.get("given", {}).get("name", "OperationName")
            desc = copy.deepcopy(suite)
            desc["operations"] = {op_name: case["given"]}
            yield suite["description"], case, op_name, desc


def _case_name(case: dict, suite: str) -> str:
    return case.get("id") or f"{suite}: {case.get('description', '')}".strip()


def _run_input(path: Path, protocol: str, adapter: ProtocolAdapter, ignored, res: FileResult) -> None:
    for suite, case, op_name, desc in _cases(path):
        if ignored(protocol, "input", suite, case.get("id")):
            res.ignored += 1
            continue
        if "params" not in case:
            continue
        try:
            got = normalize(adapter.parse_request(ServiceModel(desc), op_name, case["serialized"]))
            ok = same(got, without_unsent_empties(case["params"], got))
        except Exception as e:  # noqa: BLE001 - any exception is a failed case, reported
            ok, got = False, f"{type(e).__name__}: {e}"
        if ok:
            res.passed += 1
        else:
            res.failed += 1
            res.failures.append(f"{_case_name(case, suite)}: expected {case['params']!r:.300} got {got!r:.300}")


def _run_output_case(protocol: str, adapter: ProtocolAdapter, case: dict, op_name: str, desc: dict
                     ) -> tuple[Any, Any, bytes]:
    sm = ServiceModel(desc)
    op = OperationModel(case["given"], sm, op_name)
    parser = _PARSERS[protocol](timestamp_parser=_compliance_ts)
    expected_body = case["response"].get("body") or ""
    xmlns = sm.metadata.get("xmlNamespace")
    if not xmlns and (m := _ROOT_XMLNS.match(expected_body)):
        xmlns = m.group(1)  # a per-service constant these test models do not carry
    if "error" in case:
        code = case.get("errorCode", "")
        try:
            error_shape = sm.shape_for_error_code(code)
        except NoShapeFoundError:
            error_shape = None
        members = with_special_floats(case["error"], error_shape)
        status, headers, body = adapter.serialize_error(sm, op_name, code, case.get("errorMessage", ""),
                                                        members, case["response"].get("status_code", 400))
        response = {"body": body, "headers": HeadersDict(headers), "status_code": status,
                    "context": {"operation_name": op_name}}
        parsed = parser.parse(response, op.output_shape)
        if error_shape is not None:
            parsed.update(parser.parse(response, error_shape))
        expected = {"Error": {"Code": code, "Message": case.get("errorMessage", "")}, **case["error"]}
    else:
        result = with_special_floats(case["result"], op.output_shape)
        status, headers, body = adapter.serialize_response(sm, op_name, result, xmlns)
        shape = op.output_shape
        if protocol == "query" and shape is not None and shape.members:
            shape.serialization["resultWrapper"] = f"{op_name}Result"  # as botocore's own test does
        response = {"body": body, "headers": HeadersDict(headers), "status_code": status,
                    "context": {"operation_name": op_name}}
        parsed = parser.parse(response, shape)
        expected = case["result"]
    parsed.pop("ResponseMetadata", None)
    if "Error" in parsed:  # botocore puts the whole error document there; the suites assert two keys
        parsed["Error"] = {k: v for k, v in parsed["Error"].items() if k in ("Code", "Message")}
    return normalize(parsed), expected, body


def _run_output(path: Path, protocol: str, adapter: ProtocolAdapter, ignored, res: FileResult) -> None:
    for suite, case, op_name, desc in _cases(path):
        if ignored(protocol, "output", suite, case.get("id")) or _client_only(case, desc):
            res.ignored += 1
            continue
        if "response" not in case:
            continue
        name = _case_name(case, suite)
        body = None
        try:
            got, expected, body = _run_output_case(protocol, adapter, case, op_name, desc)
            ok = same(got, expected)
        except Exception as e:  # noqa: BLE001 - any exception is a failed case, reported
            ok, got, expected = False, f"{type(e).__name__}: {e}", case.get("result", case.get("error"))
        if ok:
            res.passed += 1
        else:
            res.failed += 1
            res.failures.append(f"{name}: expected {expected!r:.300} got {got!r:.300}")
        expected_body = case["response"].get("body")
        if expected_body and "error" not in case:
            res.xml_checked += 1
            if body is not None and xml_equivalent(body, expected_body):
                res.xml_equivalent += 1
            else:
                ours = body.decode("utf-8", "replace") if body is not None else None
                res.xml_diffs.append(f"{name}:\n      expected {' '.join(expected_body.split())[:400]}"
                                     f"\n      ours     {ours!r:.400}")


def suite_files(root: Path, protocols: tuple[str, ...] = PROTOCOLS) -> list[tuple[Path, str, str]]:
    """(path, protocol, direction) for every suite file of our protocols, current suites first."""
    found = []
    for sub in ("", "legacy/"):
        for direction in ("input", "output"):
            for protocol in protocols:
                path = root / f"{sub}{direction}" / f"{protocol}.json"
                if path.is_file():
                    found.append((path, protocol, direction))
    return found


def run(root: str | Path, protocols: tuple[str, ...] = PROTOCOLS) -> list[FileResult]:
    """Run every suite file under `root` for `protocols`; one FileResult per file."""
    root = Path(root)
    ignored = _Ignores(root / "protocol-tests-ignore-list.json")
    adapters: dict[str, ProtocolAdapter | None] = {}
    results = []
    for path, protocol, direction in suite_files(root, protocols):
        res = FileResult(path.relative_to(root).as_posix(), protocol, direction)
        if protocol not in adapters:
            adapters[protocol] = load_adapter(protocol)
        adapter = adapters[protocol]
        if adapter is None:
            res.skipped = "no adapter"
        elif direction == "input":
            _run_input(path, protocol, adapter, ignored, res)
        else:
            _run_output(path, protocol, adapter, ignored, res)
        results.append(res)
    return results
