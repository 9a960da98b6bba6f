"""AWS's own SigV4 test suite (as shipped in botocore's sdist): for every case our canonical request and
string to sign equal AWS's, the published Authorization header verifies, and a 1-byte tamper fails.

The suite signs for service `service`, so it exercises the service-neutral SigV4 layer with the non-S3
path rules (normalized, re-encoded) that EC2 uses; the EC2/S3 glue is covered by the botocore tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from multidict import CIMultiDict

from gateway.auth import SignatureMismatch, StaticProvider, sigv4
from gateway.auth.canonical import canonical_uri
from tests.testdata import require

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)

# Cases whose .req differs from what was signed, and how we restore the signed request. Nothing is skipped.
ADAPTED = {
    # botocore's harness injects the session token it signs; the .req file omits the header.
    "get-vanilla-with-session-token": "adds the x-amz-security-token header shown in the .creq",
}


def _cases() -> list[Path]:
    try:
        root = require().sigv4
    except pytest.skip.Exception:
        return []
    return sorted(path.parent for path in root.rglob("*.req"))


@dataclass
class SuiteRequest:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes


def parse_req(raw: bytes) -> SuiteRequest:
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest[:rest.rindex(" HTTP/")]
    path, _, query = target.partition("?")
    pairs: list[list[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and pairs:  # obs-fold: continues the previous header's value
            pairs[-1][1] += "\n" + line
        elif line:
            name, _, value = line.partition(":")
            pairs.append([name, value])
    return SuiteRequest(method, path, query, CIMultiDict((name, value) for name, value in pairs), body)


def _load(case: Path) -> tuple[SuiteRequest, dict[str, str]]:
    name = case.name
    files = {ext: (case / f"{name}.{ext}").read_text() for ext in ("creq", "sts", "authz")}
    request = parse_req((case / f"{name}.req").read_bytes())
    if name == "get-vanilla-with-session-token":
        token = next(line.partition(":")[2] for line in files["creq"].splitlines()
                     if line.startswith("x-amz-security-token:"))
        request.headers["X-Amz-Security-Token"] = token
    return request, files


def _claim(request: SuiteRequest, authorization: str):
    headers = CIMultiDict(request.headers)
    auth = sigv4.parse_header(authorization, headers)
    sigv4.check_scope(auth, service="service", region="us-east-1")
    return sigv4.build_claim(auth, method=request.method, uri=canonical_uri(request.path, s3=False),
                             raw_query=request.query, host=headers["host"], headers=headers,
                             payload_hash=hashlib.sha256(request.body).hexdigest(), presigned=False)


def _provider() -> StaticProvider:
    return StaticProvider.from_config([{"access_key": "AKIDEXAMPLE", "secret_key": SECRET,
                                        "account_id": "111122223333"}])


CASES = _cases()


def test_suite_is_present_and_complete():
    root = require().sigv4
    assert len(CASES) >= 28, f"expected AWS's SigV4 suite under {root}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_canonical_request_string_to_sign_and_signature(case: Path):
    request, expected = _load(case)
    claim, creq = _claim(request, expected["authz"])
    assert creq == expected["creq"]
    assert claim.string_to_sign == expected["sts"]
    identity = await _provider().verify(claim)
    assert identity.access_key == "AKIDEXAMPLE"
    assert sigv4.parse_header(expected["authz"], request.headers).request_time == SUITE_TIME


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_one_byte_tamper_fails(case: Path):
    request, expected = _load(case)
    authz = expected["authz"]
    last = authz[-1]
    tampered_signature = authz[:-1] + ("0" if last != "0" else "1")
    claim, _ = _claim(request, tampered_signature)
    with pytest.raises(SignatureMismatch):
        await _provider().verify(claim)
    # ...and so does one altered byte of the request itself (the date header's last digit).
    request.headers["X-Amz-Date"] = request.headers["X-Amz-Date"][:-2] + "1Z"
    claim, _ = _claim(request, authz)
    with pytest.raises(SignatureMismatch):
        await _provider().verify(claim)


def test_adapted_cases_exist():
    names = {case.name for case in CASES}
    assert set(ADAPTED) <= names
