"""POST Object units: the streaming multipart/form-data reader, the policy document and its conditions, the
form signatures and the PostResponse document (no cloud needed)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest

from gateway.protocol import errors
from gateway.protocol.formdata import FieldTooLarge, FormDataError, FormDataReader, boundary_of
from gateway.s3 import post_policy
from gateway.s3.post_object import post_response_xml

from .s3_post_support import Chunks, b64, expiry, form, run, v2_fields, v4_fields


# ---- unit: form reader ---------------------------------------------------------------------------------
@pytest.mark.parametrize("read_size", [1, 5, 70, 65536])
def test_form_reader_streams_parts_whatever_the_read_size(read_size: int) -> None:
    payload = secrets.token_bytes(3000) + b"\r\n--not-the-boundary\r\n"
    body, ctype = form([("key", "k"), ("x-amz-meta-a", "é")], payload)

    async def go() -> list[Any]:
        reader = FormDataReader(Chunks(b"preamble\r\n" + body, read_size), boundary_of(ctype))
        seen = []
        while (part := await reader.next_part()) is not None:
            if part.filename is not None:
                pieces = [p async for p in reader.data()]
                assert max(len(p) for p in pieces) <= 65536 + 100
                seen.append((part.name, part.filename, b"".join(pieces)))
            else:
                seen.append((part.name, (await reader.read_value(100)).decode()))
        return seen

    assert run(go()) == [("key", "k"), ("x-amz-meta-a", "é"), ("file", "hello.txt", payload)]


@pytest.mark.parametrize("body", [
    b"--B\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv",            # ends inside a part
    b"no delimiter at all",
    b"--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--",                    # no Content-Disposition
    b"--B\r\nContent-Disposition: attachment; name=\"k\"\r\n\r\nv\r\n--B--",  # not form-data
    b"--B\r\nContent-Disposition: form-data; name=\"k\"\r\n" + b"X: y\r\n" * 2000 + b"\r\nv\r\n--B--",
])
def test_form_reader_refuses_broken_framing(body: bytes) -> None:
    async def go() -> None:
        reader = FormDataReader(Chunks(body, 64), "B")
        while await reader.next_part() is not None:
            await reader.read_value(1000)

    with pytest.raises(FormDataError):
        run(go())


def test_form_reader_caps_field_values_and_parses_boundaries() -> None:
    body, ctype = form([("big", "x" * 5000)])

    async def go() -> None:
        reader = FormDataReader(Chunks(body, 1000), boundary_of(ctype))
        await reader.next_part()
        await reader.read_value(4096)

    with pytest.raises(FieldTooLarge):
        run(go())
    assert boundary_of('multipart/form-data; charset=utf-8; boundary="a b"') == "a b"
    assert boundary_of("multipart/mixed; boundary=x") is None
    assert boundary_of("multipart/form-data") is None


# ---- unit: policy document ----------------------------------------------------------------------------------
def test_policy_conditions_every_type() -> None:
    policy = post_policy.decode(b64({"expiration": expiry(), "conditions": [
        {"bUcKeT": "b"}, ["StArTs-WiTh", "$KeY", "user/"], ["eq", "$acl", "private"],
        ["starts-with", "$Content-Type", "image/"], ["starts-with", "$x-amz-meta-any", ""],
        ["content-length-range", 1, 10]]}))
    assert (policy.min_size, policy.max_size) == (1, 10)
    ok = {"key": "user/a", "acl": "private", "content-type": "image/png,image/gif", "x-amz-meta-any": ""}
    post_policy.check_fields(policy, ok, "b")
    post_policy.check_fields(policy, {**ok, "x-ignore-me": "1", "policy": "p", "signature": "s"}, "b")
    missing = {k: v for k, v in ok.items() if k != "x-amz-meta-any"}
    for bad in ({**ok, "key": "other/a"}, {**ok, "acl": "Private"}, {**ok, "content-type": "image/png,text/html"},
                missing):
        with pytest.raises(errors.AccessDenied, match="Policy Condition failed"):
            post_policy.check_fields(policy, bad, "b")
    with pytest.raises(errors.AccessDenied, match=r'Policy Condition failed: \["eq", "\$bUcKeT", "b"\]'):
        post_policy.check_fields(policy, ok, "other-bucket")
    with pytest.raises(errors.AccessDenied, match="Extra input fields: x-amz-meta-extra"):
        post_policy.check_fields(policy, {**ok, "x-amz-meta-extra": "1"}, "b")


@pytest.mark.parametrize(("raw", "message"), [
    ("not base64!", "Invalid JSON"),
    (b64(b"{not json"), "Invalid JSON"),
    (b64(["a list"]), "Invalid JSON"),
    (b64({"conditions": []}), "Policy missing expiration"),
    (b64({"EXPIRATION": "2030-01-01T00:00:00Z", "conditions": []}), "Policy missing expiration"),
    (b64({"expiration": "2030-01-01T00:00:00Z"}), "Policy missing conditions"),
    (b64({"expiration": "2030-01-01 00:00:00+00:00", "conditions": []}), "Invalid 'expiration' value"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [{}]}), "exactly one property"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [{"success_action_status": 201}]}),
     "Invalid Simple-Condition: value must be a string.$"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0]]}), "content-length"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", -1, 0]]}), "content-length"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0, 512.0]]}), "Invalid JSON"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "key", "x"]]}), "must start with '\\$'"),
    (b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["matches", "$key", "x"]]}), "unknown operation"),
])
def test_malformed_policies_are_invalid_policy_document(raw: str, message: str) -> None:
    with pytest.raises(errors.InvalidPolicyDocument, match=message) as e:
        post_policy.decode(raw)
    assert (e.value.code, e.value.status) == ("InvalidPolicyDocument", 400)


def test_expired_policy_is_access_denied() -> None:
    policy = post_policy.decode(b64({"expiration": "2000-01-01T00:00:00.000Z", "conditions": []}))
    with pytest.raises(errors.AccessDenied, match="Invalid according to Policy: Policy expired."):
        post_policy.check_expiry(policy, dt.datetime.now(dt.UTC))


def test_post_response_document() -> None:
    xml = post_response_xml("http://h/b/a%26b", "b", "a&b", '"e"').decode()
    assert xml.endswith('<PostResponse><Location>http://h/b/a%26b</Location><Bucket>b</Bucket>'
                        '<Key>a&amp;b</Key><ETag>"e"</ETag></PostResponse>')


# ---- unit: form signatures --------------------------------------------------------------------------------
def _provider():
    from gateway.auth.credentials import StaticProvider
    return StaticProvider.from_config([{"access_key": "AKIDPOST", "secret_key": "postSecret/0000",
                                        "account_id": "123456789012"}])


def test_form_signatures_v4_v2_and_anonymous() -> None:
    from gateway.auth.post_form import authenticate_post
    from tests.conftest import Creds

    creds = Creds("AKIDPOST", "postSecret/0000", "", "")
    v4 = dict((k.lower(), v) for k, v in v4_fields(creds, [{"key": "k"}]))
    v2 = dict((k.lower(), v) for k, v in v2_fields(creds, b64({"expiration": expiry(), "conditions": []})))
    assert run(authenticate_post(v4, _provider(), region="us-east-1")).signature_version == "v4"
    assert run(authenticate_post(v2, _provider(), region="us-east-1")).identity.account_id == "123456789012"
    assert run(authenticate_post({"key": "k"}, _provider(), region="us-east-1")).identity is None
    for fields, error in (({**v4, "awsaccesskeyid": "AKIDPOST"}, errors.InvalidArgument),
                          ({**v4, "x-amz-algorithm": "AWS4-HMAC-SHA1"}, errors.InvalidArgument),
                          ({**v4, "x-amz-date": "yesterday"}, errors.InvalidArgument),
                          ({**v4, "x-amz-signature": "0" * 64}, errors.SignatureDoesNotMatch),
                          ({**v2, "signature": ""}, errors.InvalidArgument),
                          ({"policy": v2["policy"]}, errors.InvalidArgument)):
        with pytest.raises(error):
            run(authenticate_post(fields, _provider(), region="us-east-1"))
