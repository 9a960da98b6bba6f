"""Temporary credentials: tokens minted by one gateway key are accepted by any replica holding it, carry the
parent key's identity, and are refused with each service's exact code when forged, foreign or expired."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from gateway.auth import AuthRequest, StaticProvider, authenticate_ec2, authenticate_s3
from gateway.auth.exceptions import TokenInvalid
from gateway.auth.sessions import SessionKeys, SessionProvider
from gateway.protocol import errors

KEY = b"k" * 32
PARENT, PARENT_SECRET = "AKIDPARENT", "parent/secret/0000000000000000000000000000"
static = StaticProvider.from_config([{"access_key": PARENT, "secret_key": PARENT_SECRET, "account_id": "123456789012",
                                      "display_name": "alice"}])


def _request(req: AWSRequest) -> AuthRequest:
    prepared = req.prepare()
    split = urlsplit(prepared.url)
    body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
    headers = CIMultiDict(prepared.headers.items())
    headers.setdefault("Host", split.netloc)
    return AuthRequest(method=prepared.method, raw_path=split.path or "/", query_string=split.query,
                       headers=headers, host=split.netloc, body=body,
                       form=parse_qsl(body.decode(), keep_blank_values=True) if body else None)


def ec2_request(ak: str, sk: str, token: str | None) -> AuthRequest:
    req = AWSRequest("POST", "http://127.0.0.1:8787/", data={"Action": "DescribeInstances", "Version": "2016-11-15"},
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(ak, sk, token), "ec2", "us-east-1").add_auth(req)
    return _request(req)


def s3_request(ak: str, sk: str, token: str | None) -> AuthRequest:
    req = AWSRequest("GET", "http://127.0.0.1:8787/bucket/key")
    S3SigV4Auth(Credentials(ak, sk, token), "s3", "us-east-1").add_auth(req)
    return _request(req)


def test_a_minted_token_opens_to_its_claims_and_secret_on_any_replica() -> None:
    creds = SessionKeys(KEY).mint(PARENT, 900)
    assert creds.access_key.startswith("ASIA") and len(creds.access_key) == 20
    claims, secret = SessionKeys(KEY).open(creds.token)  # another replica: same key, nothing stored
    assert (claims.access_key, claims.parent, secret) == (creds.access_key, PARENT, creds.secret_key)
    assert abs(claims.expires - (time.time() + 900)) < 5


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),            # a forged MAC
    lambda t: t.split(".")[0] + "." + t.split(".")[1][::-1] + "." + t.split(".")[2],  # a tampered payload
    lambda t: "cg2" + t[3:], lambda t: "garbage", lambda t: "cg1.%%%.!!!",
])
def test_a_forged_or_tampered_token_is_invalid(mangle) -> None:
    creds = SessionKeys(KEY).mint(PARENT, 900)
    with pytest.raises(TokenInvalid):
        SessionKeys(KEY).open(mangle(creds.token))


def test_a_token_of_another_gateway_key_is_invalid() -> None:
    creds = SessionKeys(b"o" * 32).mint(PARENT, 900)
    with pytest.raises(TokenInvalid):
        SessionKeys(KEY).open(creds.token)


async def test_session_credentials_act_as_the_parent_key() -> None:
    creds = SessionKeys(KEY).mint(PARENT, 900)
    provider = SessionProvider(static, SessionKeys(KEY))
    result = await authenticate_ec2(ec2_request(creds.access_key, creds.secret_key, creds.token), provider,
                                    region="us-east-1")
    ident = result.identity
    assert (ident.access_key, ident.account_id, ident.display_name) == (creds.access_key, "123456789012", "alice")
    assert ident.attributes["session"]["parent_access_key"] == PARENT
    s3 = await authenticate_s3(s3_request(creds.access_key, creds.secret_key, creds.token), provider,
                               region="us-east-1")
    assert s3.identity.account_id == "123456789012"
    # the long-term key keeps working beside it
    plain = await authenticate_ec2(ec2_request(PARENT, PARENT_SECRET, None), provider, region="us-east-1")
    assert plain.identity.access_key == PARENT


async def test_each_service_refuses_bad_session_credentials_with_its_own_code() -> None:
    keys = SessionKeys(KEY)
    provider = SessionProvider(static, keys)
    good = keys.mint(PARENT, 900)
    expired = keys.mint(PARENT, 900, now=time.time() - 1000)
    other = keys.mint(PARENT, 900)
    cases = [  # (ak, secret, token) -> (EC2 code, S3 code)
        ((expired.access_key, expired.secret_key, expired.token), ("RequestExpired", "ExpiredToken")),
        ((good.access_key, good.secret_key, other.token), ("AuthFailure", "InvalidToken")),
        ((good.access_key, good.secret_key, "cg1.AAAA.BBBB"), ("AuthFailure", "InvalidToken")),
        ((good.access_key, "not-the-secret", good.token), ("AuthFailure", "SignatureDoesNotMatch")),
    ]
    for (ak, sk, token), (ec2_code, s3_code) in cases:
        with pytest.raises(errors.AwsError) as e:
            await authenticate_ec2(ec2_request(ak, sk, token), provider, region="us-east-1")
        assert e.value.code == ec2_code
        with pytest.raises(errors.AwsError) as e:
            await authenticate_s3(s3_request(ak, sk, token), provider, region="us-east-1")
        assert e.value.code == s3_code and e.value.status in (400, 403)


async def test_a_session_outlives_nothing_of_its_parent_key() -> None:
    keys = SessionKeys(KEY)
    creds = keys.mint("AKIDGONE", 900)  # a parent key the provider no longer knows
    with pytest.raises(errors.AwsError) as e:
        await authenticate_ec2(ec2_request(creds.access_key, creds.secret_key, creds.token),
                               SessionProvider(static, keys), region="us-east-1")
    assert e.value.code == "AuthFailure"

