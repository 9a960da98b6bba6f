"""Bounded, derandomized fuzzing of every EC2 and S3 operation (see tests/fuzz/__init__.py for the why).

Per corruption family and service, Hypothesis draws the operation and a shrinkable random source; the
request is built from botocore's model, signed with valid keys and corrupted. Each answer must be an
AWS-shaped 4xx with a known code (or 503 / S3's 501 NotImplemented), never another 5xx, never a hang;
the gateway must log no error or traceback; the process RSS must stay bounded. ~2,800 requests.
"""

from __future__ import annotations

import psutil
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.fuzz import build
from tests.fuzz.conftest import send
from tests.fuzz.runner import LogCapture
from tests.fuzz.wire import Answer, RawRequest, verdict

# Owned by branch i10-frontends (aiohttp answers it with a plain-text 500 before the pipeline runs); the
# bench still sends and counts it.
FIXED_ELSEWHERE = ("expect-nonascii",)
EXAMPLES = {"s3": 250, "ec2": 150}
RSS_GROWTH_LIMIT = 150 << 20


AUTH_CODES = {"SignatureDoesNotMatch", "AuthFailure", "IncompleteSignature", "InvalidAccessKeyId",
              "AccessDenied", "AuthorizationHeaderMalformed", "MissingAuthenticationToken"}


def _check(target: build.Target, service: str, kind: str, op: str, rng, codes: list) -> None:
    req = build.generate(service, rng, target, kind, op)
    assume(not any(marker in req.note for marker in FIXED_ELSEWHERE))
    ans = send(target, req)
    codes.append(ans.code)
    why = verdict(req, ans)
    assert why is None, f"[{kind}] {req.method} {req.target[:200]} ({req.note[:200]}): {why}"


def _run(target: build.Target, service: str, kind: str) -> None:
    proc = psutil.Process()
    rss_before = proc.memory_info().rss

    @settings(max_examples=EXAMPLES[service], derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(op=st.sampled_from(build.operations(service)), rng=st.randoms(use_true_random=False))
    def fuzz(op: str, rng) -> None:
        _check(target, service, kind, op, rng, codes)

    codes: list[str | None] = []
    with LogCapture() as logs:
        fuzz()
    assert not logs.unexpected(), logs.summary()
    if kind in ("values", "query", "xml"):  # correctly signed: most must get past authentication
        assert sum(c in AUTH_CODES for c in codes) < len(codes) / 2, codes
    assert proc.memory_info().rss - rss_before < RSS_GROWTH_LIMIT


@pytest.mark.parametrize("kind", sorted(build.KINDS))
def test_fuzz_s3(fuzz_s3: build.Target, kind: str) -> None:
    _run(fuzz_s3, "s3", kind)


@pytest.mark.parametrize("kind", sorted(build.KINDS))
def test_fuzz_ec2(fuzz_ec2: build.Target, kind: str) -> None:
    _run(fuzz_ec2, "ec2", kind)


def test_verdict_reads_every_aws_error_envelope() -> None:
    """EC2's `Response/Errors`, S3's `Error` and the query protocol's namespaced `ErrorResponse` (what an
    EC2-shaped request gets when its credential scope names STS or IAM) all count as AWS error documents;
    anything else does not."""
    req = RawRequest("POST", "/", [], b"")
    envelopes = [b"<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>",
                 b"<Error><Code>AccessDenied</Code></Error>",
                 b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                 b"<Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>"]
    for body in envelopes:
        assert verdict(req, Answer(403, {}, body)) is None, body
    assert "no AWS error document" in verdict(req, Answer(403, {}, b"<html>Forbidden</html>"))
