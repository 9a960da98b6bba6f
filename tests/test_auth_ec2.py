"""EC2 query API authentication against requests signed by botocore's own signers (SigV4 header, SigV4
presigned query, SigV2 query), and the exact EC2 error for every way such a request can go wrong."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

import pytest
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest

from gateway.auth import AuthRequest, SignedPayload, UnsignedPayload, authenticate_ec2
from gateway.protocol import errors
from tests.test_auth_support import (
    ACCOUNT,
    AKID,
    CREDS,
    REGION,
    SECRET,
    UNKNOWN_KEY,
    WRONG_SECRET,
    later,
    provider,
    to_auth_request,
)

URL = "http://ec2.cloudgate.test:8773/"
PARAMS = {"Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-0123456789abcdef0",
          "Filter.1.Name": "tag:Name", "Filter.1.Value.1": "web server ~*(!)"}


def _form_request() -> AWSRequest:
    return AWSRequest(method="POST", url=URL, data=dict(PARAMS),
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def v4(credentials=CREDS, *, service: str = "ec2", region: str = REGION) -> AuthRequest:
    request = _form_request()
    SigV4Auth(credentials, service, region).add_auth(request)
    return to_auth_request(request, ec2_form=True)


def v4_presigned(credentials=CREDS, *, expires: int = 300) -> AuthRequest:
    request = AWSRequest(method="GET", url=URL, params=dict(PARAMS))
    SigV4QueryAuth(credentials, "ec2", REGION, expires=expires).add_auth(request)
    return to_auth_request(request, ec2_form=True)


def v2(credentials=CREDS, *, method: str = "POST") -> AuthRequest:
    request = _form_request() if method == "POST" else AWSRequest(method="GET", url=URL, params=dict(PARAMS))
    SigV2Auth(credentials).add_auth(request)
    if method == "GET":  # SigV2Auth adds its parameters to request.params, which prepare() puts in the URL
        assert "Signature" in request.prepare().url
    return to_auth_request(request, ec2_form=True)


async def auth(req: AuthRequest, **kwargs):
    kwargs.setdefault("region", REGION)
    return await authenticate_ec2(req, provider(), **kwargs)


# ---- SigV4 header ---------------------------------------------------------------------------------

async def test_sigv4_header_is_accepted():
    result = await auth(v4())
    assert result.identity.access_key == AKID
    assert result.identity.account_id == ACCOUNT
    assert result.signature_version == "v4"
    assert isinstance(result.payload, SignedPayload)


async def test_region_none_accepts_any_region():
    result = await authenticate_ec2(v4(region="eu-west-3"), provider(), region=None)
    assert result.identity.access_key == AKID


@pytest.mark.parametrize("make, code", [
    (lambda: v4(WRONG_SECRET), "AuthFailure"),
    (lambda: v4(UNKNOWN_KEY), "AuthFailure"),
    (lambda: v4(region="us-west-2"), "AuthFailure"),
    (lambda: v4(service="s3"), "AuthFailure"),
], ids=["wrong-secret", "unknown-key", "wrong-region", "wrong-service"])
async def test_sigv4_header_rejections(make, code):
    with pytest.raises(errors.AwsError) as caught:
        await auth(make())
    assert caught.value.code == code and caught.value.status == 401
    assert isinstance(caught.value, errors.AuthFailure)


async def test_sigv4_altered_body_param_fails():
    req = v4()
    req.body = req.body.replace(b"DescribeInstances", b"TerminateInstances")
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv4_altered_path_fails():
    req = dataclasses.replace(v4(), raw_path="/admin")
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv4_altered_signed_header_fails():
    req = v4()
    req.headers["Content-Type"] = "application/x-www-form-urlencoded"
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv4_added_query_fails():
    req = dataclasses.replace(v4(), query_string="DryRun=true")
    with pytest.raises(errors.AuthFailure):
        await auth(req)


@pytest.mark.parametrize("minutes", [16, -16])
async def test_sigv4_clock_skew_is_request_expired(minutes):
    with pytest.raises(errors.RequestExpired):
        await auth(v4(), now=later(minutes))


@pytest.mark.parametrize("minutes", [14, -14])
async def test_sigv4_skew_within_15_minutes_is_accepted(minutes):
    assert (await auth(v4(), now=later(minutes))).identity is not None


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=ab",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=, Signature=ab",
    "Bearer abc",
], ids=["no-signature", "short-credential", "empty-signed-headers", "other-scheme"])
async def test_malformed_authorization_is_incomplete_signature(authorization):
    req = v4()
    req.headers["Authorization"] = authorization
    with pytest.raises(errors.IncompleteSignature):
        await auth(req)


async def test_sigv4_wrong_terminator_is_auth_failure():
    req = v4()
    req.headers["Authorization"] = req.headers["Authorization"].replace("/aws4_request", "/aws5_request")
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv4_missing_date_is_incomplete_signature():
    req = v4()
    del req.headers["X-Amz-Date"]
    with pytest.raises(errors.IncompleteSignature):
        await auth(req)


async def test_no_credentials_is_missing_authentication_token():
    req = to_auth_request(_form_request(), ec2_form=True)
    with pytest.raises(errors.MissingAuthenticationToken) as caught:
        await auth(req)
    assert caught.value.status == 401


async def test_error_messages_never_contain_the_signature_or_secret():
    req = v4(WRONG_SECRET)
    signature = req.headers["Authorization"].rpartition("Signature=")[2]
    with pytest.raises(errors.AuthFailure) as caught:
        await auth(req)
    rendered = f"{caught.value} {caught.value.message} {caught.value.extra}"
    assert signature not in rendered and SECRET not in rendered


# ---- SigV4 presigned query ------------------------------------------------------------------------

async def test_sigv4_presigned_query_is_accepted():
    req = v4_presigned()
    assert "X-Amz-Signature=" in req.query_string
    result = await auth(req)
    assert result.identity.access_key == AKID


async def test_sigv4_presigned_expired_is_request_expired():
    with pytest.raises(errors.RequestExpired):
        await auth(v4_presigned(expires=60), now=later(2))


async def test_sigv4_presigned_tampered_query_fails():
    req = v4_presigned()
    req = dataclasses.replace(req, query_string=req.query_string.replace("DescribeInstances", "RunInstances"))
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv4_presigned_expires_over_a_week_is_incomplete_signature():
    with pytest.raises(errors.IncompleteSignature):
        await auth(v4_presigned(expires=604801))


# ---- SigV2 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_sigv2_is_accepted(method):
    result = await auth(v2(method=method))
    assert result.identity.access_key == AKID
    assert result.signature_version == "v2"
    assert isinstance(result.payload, UnsignedPayload)


def _v2_by_hand(method: str, digest, extra: dict[str, str] | None = None) -> AuthRequest:
    """SigV2 with HmacSHA1 (botocore only does SHA256), encoded independently of the gateway."""
    params = dict(PARAMS, AWSAccessKeyId=AKID, SignatureVersion="2", SignatureMethod=method,
                  Timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(extra or {}))
    if "Expires" in params:  # Expires replaces Timestamp
        del params["Timestamp"]
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))
    sts = f"POST\nec2.cloudgate.test:8773\n/\n{query}"
    params["Signature"] = base64.b64encode(hmac.new(SECRET.encode(), sts.encode(), digest).digest()).decode()
    body = urlencode(params).encode()
    return AuthRequest("POST", "/", "", {"Host": "EC2.cloudgate.test:8773"}, "EC2.cloudgate.test:8773",
                       body=body, form=list(params.items()))


async def test_sigv2_hmac_sha1_is_accepted_and_host_case_is_ignored():
    result = await auth(_v2_by_hand("HmacSHA1", hashlib.sha1))
    assert result.identity.access_key == AKID


async def test_sigv2_form_is_parsed_from_the_body_when_not_given():
    req = dataclasses.replace(_v2_by_hand("HmacSHA256", hashlib.sha256), form=None)
    assert (await auth(req)).identity.access_key == AKID


async def test_sigv2_method_mismatch_fails():
    req = _v2_by_hand("HmacSHA1", hashlib.sha256)  # says SHA1, signed with SHA256
    with pytest.raises(errors.AuthFailure):
        await auth(req)


@pytest.mark.parametrize("make", [lambda: v2(WRONG_SECRET), lambda: v2(UNKNOWN_KEY)],
                         ids=["wrong-secret", "unknown-key"])
async def test_sigv2_bad_credentials_are_auth_failure(make):
    with pytest.raises(errors.AuthFailure):
        await auth(make())


async def test_sigv2_tampered_param_fails():
    req = v2()
    req.form = [(k, "i-ffffffffffffffff0" if k == "InstanceId.1" else v) for k, v in req.form]
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv2_altered_host_fails():
    req = dataclasses.replace(v2(), host="evil.example:8773")
    with pytest.raises(errors.AuthFailure):
        await auth(req)


@pytest.mark.parametrize("minutes", [16, -16])
async def test_sigv2_timestamp_skew_is_request_expired(minutes):
    with pytest.raises(errors.RequestExpired):
        await auth(v2(), now=later(minutes))


async def test_sigv2_expires_in_the_past_is_request_expired():
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    req = _v2_by_hand("HmacSHA256", hashlib.sha256, {"Expires": past})
    with pytest.raises(errors.RequestExpired):
        await auth(req)


async def test_sigv2_expires_in_the_future_is_accepted():
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    req = _v2_by_hand("HmacSHA256", hashlib.sha256, {"Expires": future})
    assert (await auth(req)).identity.access_key == AKID


async def test_sigv2_signature_version_1_is_rejected():
    req = v2()
    req.form = [(k, "1" if k == "SignatureVersion" else v) for k, v in req.form]
    with pytest.raises(errors.AuthFailure):
        await auth(req)


async def test_sigv2_without_signature_is_incomplete_signature():
    req = v2()
    req.form = [(k, v) for k, v in req.form if k != "Signature"]
    with pytest.raises(errors.IncompleteSignature):
        await auth(req)


async def test_sigv2_without_timestamp_or_expires_is_missing_parameter():
    req = v2()
    req.form = [(k, v) for k, v in req.form if k != "Timestamp"]
    with pytest.raises(errors.MissingParameter):
        await auth(req)
