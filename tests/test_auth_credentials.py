"""Credential providers and signature claims: StaticProvider from config, the neutral outcomes, remote
validators overriding verify(), constant-time comparison and secrecy of signatures."""

from __future__ import annotations

import pytest

from gateway.auth import (
    CredentialProvider,
    Identity,
    Scope,
    SignatureClaim,
    SignatureMismatch,
    StaticProvider,
    UnknownAccessKey,
    authenticate_ec2,
    authenticate_s3,
    signing,
)
from gateway.protocol import errors
from tests.test_auth_ec2 import v4 as ec2_v4
from tests.test_auth_s3 import v4 as s3_v4
from tests.test_auth_support import AKID, SECRET, flip_last, provider

# AWS's SigV4 suite, get-vanilla: string to sign and signature for AKIDEXAMPLE's secret.
VANILLA_STS = ("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
               "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
VANILLA_SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
SCOPE = Scope("20150830", "us-east-1", "service")


def _claim(signature: str = VANILLA_SIGNATURE, access_key: str = AKID) -> SignatureClaim:
    return SignatureClaim("v4", access_key, VANILLA_STS, signature, scope=SCOPE)


async def test_static_provider_from_config():
    static = StaticProvider.from_config([
        {"access_key": "AK1", "secret_key": "s1", "account_id": "111111111111", "display_name": "one",
         "project_id": "p-1"},
        {"access_key": "AK2", "secret_key": "s2", "account_id": "222222222222"},
    ])
    assert await static.lookup("AK1") == ("s1", Identity("AK1", "111111111111", "one", {"project_id": "p-1"}))
    secret, identity = await static.lookup("AK2")
    assert secret == "s2" and identity.display_name == "AK2" and identity.attributes == {}


@pytest.mark.parametrize("entries", [
    [{"access_key": "AK1", "account_id": "1"}],
    [{"secret_key": "s", "account_id": "1"}],
    [{"access_key": "AK1", "secret_key": "s", "account_id": "1"},
     {"access_key": "AK1", "secret_key": "t", "account_id": "2"}],
    [{"access_key": "", "secret_key": "s", "account_id": "1"}],
], ids=["no-secret", "no-key", "duplicate", "empty-key"])
def test_static_provider_rejects_bad_config(entries):
    with pytest.raises(ValueError):
        StaticProvider.from_config(entries)


async def test_lookup_unknown_key_is_none():
    assert await provider().lookup("AKIDNOPE") is None
    secret, identity = await provider().lookup(AKID)
    assert secret == SECRET and identity.account_id == "123456789012"


def test_claim_computes_aws_published_signature():
    assert _claim().expected_signature(SECRET) == VANILLA_SIGNATURE
    assert _claim().matches(SECRET)
    assert not _claim().matches(SECRET + "x")


def test_claim_repr_hides_signature():
    assert VANILLA_SIGNATURE not in repr(_claim())


def test_non_ascii_signature_does_not_raise():
    assert not _claim("é" * 64).matches(SECRET)


async def test_verify_outcomes_are_neutral_exceptions():
    assert (await provider().verify(_claim())).access_key == AKID
    with pytest.raises(UnknownAccessKey):
        await provider().verify(_claim(access_key="AKIDNOPE"))
    with pytest.raises(SignatureMismatch):
        await provider().verify(_claim("0" * 64))


async def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = signing.hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    await provider().verify(_claim())
    assert calls == [(bytes, bytes)]


def test_v2_claim_methods():
    sha256 = SignatureClaim("v2", AKID, "GET\nhost\n/\nA=1", "", algorithm="HmacSHA256")
    sha1 = SignatureClaim("v2", AKID, "GET\nhost\n/\nA=1", "", algorithm="HmacSHA1")
    assert len(sha256.expected_signature(SECRET)) == 44 and len(sha1.expected_signature(SECRET)) == 28
    with pytest.raises(ValueError):
        SignatureClaim("v2", AKID, "x", "", algorithm="HmacMD5").expected_signature(SECRET)


class RemoteValidator(CredentialProvider):
    """A Keystone-like validator: never reveals secrets, checks the claim itself."""

    def __init__(self) -> None:
        self.claims: list[SignatureClaim] = []

    async def lookup(self, access_key):
        return None

    async def verify(self, claim):
        self.claims.append(claim)
        if not claim.matches(SECRET):  # stands in for POST /v3/ec2tokens
            raise SignatureMismatch(claim.access_key)
        return Identity(claim.access_key, "999999999999", "remote", {"token": "gAAAA..."})


async def test_remote_validator_gets_a_complete_claim_for_ec2():
    remote = RemoteValidator()
    result = await authenticate_ec2(ec2_v4(), remote, region="us-east-1")
    assert result.identity.attributes == {"token": "gAAAA..."}
    (claim,) = remote.claims
    assert claim.version == "v4" and claim.scope.service == "ec2"
    assert claim.request.host == "ec2.cloudgate.test:8773" and claim.request.method == "POST"
    assert dict(claim.request.headers)["host"] == "ec2.cloudgate.test:8773"
    assert len(claim.request.body_hash) == 64


async def test_remote_validator_mismatch_maps_to_service_errors():
    req = ec2_v4()
    req.headers["Authorization"] = flip_last(req.headers["Authorization"])
    with pytest.raises(errors.AuthFailure):
        await authenticate_ec2(req, RemoteValidator(), region="us-east-1")
    req = s3_v4()
    req.headers["Authorization"] = flip_last(req.headers["Authorization"])
    with pytest.raises(errors.SignatureDoesNotMatch):
        await authenticate_s3(req, RemoteValidator(), region="us-east-1")
