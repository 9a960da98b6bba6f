"""Signatures validated by the cloud's identity service through the neutral SignatureValidator."""

from __future__ import annotations

import pytest

from backends import base
from gateway.auth import authenticate_ec2, authenticate_s3
from gateway.auth.backend_provider import BackendCredentialProvider
from gateway.protocol import errors
from tests.test_auth_support import AKID, SECRET, to_auth_request


class RecordingValidator(base.SignatureValidator):
    """Validates like an identity service holding AKID's secret, and records what it was asked."""

    def __init__(self) -> None:
        self.checks: list[base.SignatureCheck] = []

    async def validate(self, check: base.SignatureCheck) -> base.Principal:
        from gateway.auth.signing import Scope, same, signing_key, v4_sign
        self.checks.append(check)
        if check.access_key != AKID:
            raise base.UnknownKey(check.access_key)
        expected = v4_sign(signing_key(SECRET, Scope(*check.scope)), check.string_to_sign)
        if not same(expected, check.signature):
            raise base.BadSignature(check.access_key)
        return base.Principal("project-a", "tenant A", {"token": "t"})


def _signed(service: str, secret: str = SECRET, key: str = AKID):
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    if service == "ec2":
        req = AWSRequest("POST", "http://gw.test/", data=b"Action=DescribeInstances&Version=2016-11-15",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        SigV4Auth(Credentials(key, secret), "ec2", "us-east-1").add_auth(req)
    else:
        req = AWSRequest("GET", "http://gw.test/bucket/key")
        S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(req)
    return to_auth_request(req, bucket="bucket" if service == "s3" else None, ec2_form=service == "ec2")


async def test_identity_comes_from_the_cloud_with_its_attributes():
    validator = RecordingValidator()
    result = await authenticate_ec2(_signed("ec2"), BackendCredentialProvider(validator), region="us-east-1")
    assert (result.identity.account_id, result.identity.attributes["token"]) == ("project-a", "t")
    check = validator.checks[0]
    assert check.version == "v4" and check.method == "POST" and check.scope[1:] == ("us-east-1", "ec2")
    assert check.body_hash and check.host == "gw.test"


@pytest.mark.parametrize(("service", "kwargs", "error"), [
    ("ec2", {"key": "AKIDUNKNOWN"}, errors.AuthFailure),
    ("ec2", {"secret": "wrong"}, errors.AuthFailure),
    ("s3", {"key": "AKIDUNKNOWN"}, errors.InvalidAccessKeyId),
    ("s3", {"secret": "wrong"}, errors.SignatureDoesNotMatch),
])
async def test_cloud_rejections_map_to_the_exact_aws_errors(service, kwargs, error):
    fn = authenticate_ec2 if service == "ec2" else authenticate_s3
    with pytest.raises(error):
        await fn(_signed(service, **kwargs), BackendCredentialProvider(RecordingValidator()), region="us-east-1")
