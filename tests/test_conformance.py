"""botocore's protocol suites, run in the server direction by `gateway.protocol.conformance`.

Counts are exact for our protocols so a regression (or a silently skipped case) shows up; rest-xml's
assertions wait for its adapter module (the S3 side of the codec) and run as soon as it exists.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.protocol.conformance import runner
from gateway.protocol.conformance.runner import FileResult, run
from tests.testdata import require

ROOT = Path(__file__).resolve().parent.parent
HAVE_REST_XML = importlib.util.find_spec("gateway.protocol.conformance.rest_xml") is not None
needs_rest_xml = pytest.mark.skipif(not HAVE_REST_XML, reason="rest-xml adapter not written yet (S3 codec)")


@functools.cache
def results() -> dict[str, FileResult]:
    return {r.path: r for r in run(require().protocols)}


def counts(path: str) -> tuple[int, int, int]:
    r = results()[path]
    assert r.skipped is None, r.skipped
    return r.passed, r.failed, r.ignored


# (passed, failed, ignored) per file; botocore 1.44.5's suites with its ignore list.
EXPECTED = {
    "input/ec2.json": (21, 0, 8),
    "output/ec2.json": (27, 0, 2),
    "input/query.json": (32, 0, 6),
    "output/query.json": (36, 0, 2),
    "legacy/input/ec2.json": (10, 0, 2),
    "legacy/output/ec2.json": (13, 0, 0),
    "legacy/input/query.json": (23, 0, 2),
    "legacy/output/query.json": (19, 0, 0),
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_form_protocol_suites(path: str) -> None:
    assert counts(path) == EXPECTED[path], "\n".join(results()[path].failures)


def test_ec2_output_is_xml_equivalent_to_the_suite_bodies() -> None:
    r = results()["output/ec2.json"]
    # The one difference: Ec2XmlNamespaces expects no xmlns on <nested> although its shape declares one.
    assert (r.xml_checked, r.xml_equivalent >= 25) == (26, True), "\n".join(r.xml_diffs)


def test_query_output_is_xml_equivalent_to_the_suite_bodies() -> None:
    r = results()["output/query.json"]
    assert (r.xml_checked, r.xml_equivalent >= 30) == (31, True), "\n".join(r.xml_diffs)


@needs_rest_xml
def test_rest_xml_input_suite() -> None:
    passed, failed, _ = counts("input/rest-xml.json")
    assert passed >= 82 and failed == 0, "\n".join(results()["input/rest-xml.json"].failures)


@needs_rest_xml
def test_rest_xml_output_suite() -> None:
    r = results()["output/rest-xml.json"]
    assert (r.passed, r.failed) == (72, 0), "\n".join(r.failures)
    assert r.xml_checked == 56 and r.xml_equivalent >= 52, "\n".join(r.xml_diffs)


def test_rest_xml_files_are_skipped_only_without_an_adapter() -> None:
    skipped = {p for p, r in results().items() if r.skipped}
    rest_xml = {p for p in results() if p.endswith("rest-xml.json")}
    assert skipped == (set() if HAVE_REST_XML else rest_xml)


def test_the_runner_fails_a_codec_that_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        protocol = "ec2"

        def parse_request(self, sm, op_name, serialized):  # noqa: ANN001, ANN201
            return {}

        def serialize_response(self, sm, op_name, result, xmlns):  # noqa: ANN001, ANN201
            return 200, {}, f"<{op_name}Response/>".encode()

        def serialize_error(self, sm, op_name, code, message, members, status):  # noqa: ANN001, ANN201
            return status, {}, b"<Response/>"

    monkeypatch.setattr(runner, "load_adapter", lambda protocol: Broken())
    by_path = {r.path: r for r in run(require().protocols, ("ec2",))}
    assert by_path["input/ec2.json"].failed > 0
    assert by_path["output/ec2.json"].failed > 0 and by_path["output/ec2.json"].xml_equivalent < 25


LINE = re.compile(r"^(?P<path>(legacy/)?(input|output)/(ec2|query|rest-xml)\.json) "
                  r"(passed=\d+ failed=\d+ ignored=\d+( xml_equivalent=\d+/\d+)?|skipped \(no adapter\))$")


def test_command_line() -> None:
    protocols = require().protocols
    proc = subprocess.run([sys.executable, "-m", "gateway.protocol.conformance", str(protocols)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = proc.stdout.splitlines()
    assert len(lines) == 12, proc.stdout + proc.stderr
    assert all(LINE.match(line) for line in lines), proc.stdout
    assert "input/ec2.json passed=21 failed=0 ignored=8" in lines
    assert any(line.startswith("output/ec2.json passed=27 failed=0 ignored=2 xml_equivalent=") for line in lines)
    assert all(("xml_equivalent=" in line) == line.split()[0].split("/")[-2].startswith("output")
               for line in lines if "skipped" not in line)
    assert proc.returncode == (0 if all(" failed=0 " in line or "skipped" in line for line in lines) else 1)
