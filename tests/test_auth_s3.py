"""S3 authentication against requests signed by botocore's own signers (S3SigV4Auth, S3SigV4QueryAuth,
HmacV1Auth, HmacV1QueryAuth), path- and virtual-hosted-style, and the exact S3 error for each failure."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.auth import AuthRequest, SignedPayload, UnsignedPayload, authenticate_s3
from gateway.protocol import errors
from tests.test_auth_support import (
    AKID,
    CREDS,
    REGION,
    SECRET,
    UNKNOWN_KEY,
    WRONG_SECRET,
    FakeStream,
    drain,
    later,
    provider,
    to_auth_request,
)

ENDPOINT = "http://s3.cloudgate.test:8080"
VHOST = "http://photos.s3.cloudgate.test:8080"
# Encoded once, as clients send it: a space, a '+', '~', a double slash S3 must not normalize, UTF-8.
KEY_PATH = "/photos/2024//a%20b%2Bc~d/%E1%88%B4.jpg"


def _request(method: str = "PUT", url: str = ENDPOINT + KEY_PATH, body: bytes = b"hello world",
             headers: dict[str, str] | None = None) -> AWSRequest:
    headers = {"Content-Type": "image/jpeg", "X-Amz-Meta-Owner": "alice", **(headers or {})}
    return AWSRequest(method=method, url=url, data=body, headers=headers)


def v4(credentials=CREDS, *, region: str = REGION, service: str = "s3", url: str = ENDPOINT + KEY_PATH,
       sign_payload: bool = True, method: str = "PUT", **kwargs) -> AuthRequest:
    request = _request(method, url, **kwargs)
    if not sign_payload:
        request.context["client_config"] = SimpleNamespace(s3={"payload_signing_enabled": False})
    S3SigV4Auth(credentials, service, region).add_auth(request)
    virtual = url.startswith(VHOST)
    return to_auth_request(request, bucket="photos", virtual_host=virtual)


def v4_presigned(credentials=CREDS, *, expires: int = 3600, region: str = REGION,
                 url: str = ENDPOINT + KEY_PATH + "?versionId=3%2F4&response-content-type=text%2Fplain"
                 ) -> AuthRequest:
    request = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(credentials, "s3", region, expires=expires).add_auth(request)
    return to_auth_request(request, bucket="photos")


def v2(credentials=CREDS, *, url: str = ENDPOINT + KEY_PATH, virtual: bool = False, **kwargs) -> AuthRequest:
    request = _request(url=url, **kwargs)
    if virtual:
        request.auth_path = "/photos" + url[len(VHOST):].partition("?")[0]
    HmacV1Auth(credentials).add_auth(request)
    return to_auth_request(request, bucket="photos", virtual_host=virtual)


def v2_presigned(credentials=CREDS, *, expires: int = 3600, url: str = ENDPOINT + KEY_PATH + "?acl"
                 ) -> AuthRequest:
    request = AWSRequest(method="GET", url=url)
    HmacV1QueryAuth(credentials, expires=expires).add_auth(request)
    return to_auth_request(request, bucket="photos")


async def auth(req: AuthRequest, **kwargs):
    kwargs.setdefault("region", REGION)
    return await authenticate_s3(req, provider(), **kwargs)


async def _raises(exc_type, req: AuthRequest, **kwargs):
    with pytest.raises(errors.AwsError) as caught:
        await auth(req, **kwargs)
    assert type(caught.value) is exc_type, caught.value
    return caught.value


# ---- SigV4 header ---------------------------------------------------------------------------------

async def test_sigv4_header_with_signed_payload_is_accepted_and_body_verified():
    req = v4()
    result = await auth(req)
    assert result.identity.access_key == AKID and result.signature_version == "v4"
    assert isinstance(result.payload, SignedPayload)
    assert await drain(result.body_reader(FakeStream(b"hello world", piece=3))) == b"hello world"


async def test_wrong_x_amz_content_sha256_is_mismatch_at_end_of_body():
    result = await auth(v4())
    reader = result.body_reader(FakeStream(b"hello WORLD"))
    with pytest.raises(errors.XAmzContentSHA256Mismatch) as caught:
        await drain(reader)
    assert caught.value.status == 400


async def test_altered_x_amz_content_sha256_header_fails_signature():
    req = v4()
    req.headers["X-Amz-Content-SHA256"] = "0" * 64
    await _raises(errors.SignatureDoesNotMatch, req)


async def test_unsigned_payload_is_accepted():
    result = await auth(v4(sign_payload=False, url="https://s3.cloudgate.test" + KEY_PATH,
                           headers={"Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww=="}))
    assert isinstance(result.payload, UnsignedPayload)


async def test_virtual_hosted_style_is_accepted():
    result = await auth(v4(url=VHOST + "/2024//a%20b?tagging"))
    assert result.identity.access_key == AKID


async def test_sub_resources_and_query_are_signed():
    req = v4(url=ENDPOINT + "/photos/k?uploadId=abc%2F1&partNumber=2", method="PUT")
    assert (await auth(req)).identity is not None
    tampered = dataclasses.replace(req, query_string="uploadId=abc%2F1&partNumber=3")
    await _raises(errors.SignatureDoesNotMatch, tampered)


async def test_wrong_secret_is_signature_does_not_match_without_leaking_it():
    req = v4(WRONG_SECRET)
    signature = req.headers["Authorization"].rpartition("Signature=")[2]
    error = await _raises(errors.SignatureDoesNotMatch, req)
    assert error.status == 403
    assert error.extra["AWSAccessKeyId"] == AKID
    assert error.extra["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    rendered = f"{error} {error.message} {error.extra}"
    assert signature not in rendered and SECRET not in rendered


async def test_unknown_key_is_invalid_access_key_id():
    error = await _raises(errors.InvalidAccessKeyId, v4(UNKNOWN_KEY))
    assert error.status == 403 and error.extra["AWSAccessKeyId"] == "AKIDUNKNOWN"


async def test_altered_signed_header_fails():
    req = v4()
    req.headers["X-Amz-Meta-Owner"] = "mallory"
    await _raises(errors.SignatureDoesNotMatch, req)


async def test_altered_path_fails():
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(v4(), raw_path="/photos/2024/a%20b"))


async def test_path_is_not_normalized_for_s3():
    # The same object key without its double slash is a different resource: the signature must differ.
    req = v4()
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(req, raw_path=req.raw_path.replace("//", "/")))


async def test_added_query_fails():
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(v4(), query_string="acl"))


@pytest.mark.parametrize("minutes", [16, -16])
async def test_clock_skew_is_request_time_too_skewed(minutes):
    req = v4()
    error = await _raises(errors.RequestTimeTooSkewed, req, now=later(minutes))
    assert error.extra["MaxAllowedSkewMilliseconds"] == 900000
    assert error.extra["RequestTime"] == req.headers["X-Amz-Date"]
    assert error.extra["ServerTime"].endswith("Z")


async def test_wrong_region_is_authorization_header_malformed_with_region():
    error = await _raises(errors.AuthorizationHeaderMalformed, v4(region="eu-west-1"))
    assert error.extra["Region"] == REGION
    assert "eu-west-1" in error.message


async def test_region_none_accepts_any_region():
    result = await authenticate_s3(v4(region="eu-west-1"), provider(), region=None)
    assert result.identity.access_key == AKID


async def test_wrong_service_is_authorization_header_malformed():
    await _raises(errors.AuthorizationHeaderMalformed, v4(service="ec2"))


async def test_credential_date_must_match_x_amz_date():
    req = v4()
    authz = req.headers["Authorization"]
    date = authz.split("Credential=")[1].split("/")[1]
    req.headers["Authorization"] = authz.replace(f"/{date}/", "/20150830/")
    await _raises(errors.AuthorizationHeaderMalformed, req)


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host, Signature=abc",
    "AWS4-HMAC-SHA256 garbage",
], ids=["no-signature", "bad-credential", "garbage"])
async def test_malformed_authorization_header(authorization):
    req = v4()
    req.headers["Authorization"] = authorization
    await _raises(errors.AuthorizationHeaderMalformed, req)


async def test_missing_x_amz_content_sha256_is_invalid_request():
    req = v4()
    del req.headers["X-Amz-Content-SHA256"]
    await _raises(errors.InvalidRequest, req)


async def test_invalid_x_amz_content_sha256_is_invalid_argument():
    req = v4()
    req.headers["X-Amz-Content-SHA256"] = "not-a-hash"
    await _raises(errors.InvalidArgument, req)


async def test_missing_date_is_access_denied():
    req = v4()
    del req.headers["X-Amz-Date"]
    await _raises(errors.AccessDenied, req)


async def test_unsupported_authorization_scheme_is_invalid_argument():
    req = v4()
    req.headers["Authorization"] = "Bearer token"
    error = await _raises(errors.InvalidArgument, req)
    assert error.extra["ArgumentName"] == "Authorization"


async def test_header_and_query_auth_together_is_invalid_argument():
    presigned = v4_presigned()
    req = dataclasses.replace(v4(), query_string=presigned.query_string)
    await _raises(errors.InvalidArgument, req)


async def test_no_credentials_is_anonymous():
    request = _request()
    result = await auth(to_auth_request(request, bucket="photos"))
    assert result.identity is None and result.signature_version is None
    assert isinstance(result.payload, UnsignedPayload)


# ---- SigV4 presigned ------------------------------------------------------------------------------

async def test_presigned_url_is_accepted():
    result = await auth(v4_presigned())
    assert result.identity.access_key == AKID
    assert isinstance(result.payload, UnsignedPayload)


async def test_presigned_url_expired_is_access_denied():
    error = await _raises(errors.AccessDenied, v4_presigned(expires=60), now=later(2))
    assert error.message == "Request has expired"
    assert {"Expires", "ServerTime"} <= error.extra.keys()


async def test_presigned_url_within_expiry_is_accepted():
    assert (await auth(v4_presigned(expires=600), now=later(9))).identity is not None


async def test_presigned_expires_over_seven_days_is_query_parameters_error():
    error = await _raises(errors.PresignExpiresOutOfRange, v4_presigned(expires=604801))
    assert (error.code, error.status) == ("AuthorizationQueryParametersError", 403)


async def test_presigned_expires_of_seven_days_is_accepted():
    assert (await auth(v4_presigned(expires=604800))).identity is not None


async def test_presigned_tampered_query_fails():
    req = v4_presigned()
    tampered = req.query_string.replace("versionId=3%2F4", "versionId=3%2F5")
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(req, query_string=tampered))


async def test_presigned_tampered_path_fails():
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(v4_presigned(), raw_path="/photos/other"))


async def test_presigned_wrong_secret_and_unknown_key():
    await _raises(errors.SignatureDoesNotMatch, v4_presigned(WRONG_SECRET))
    await _raises(errors.InvalidAccessKeyId, v4_presigned(UNKNOWN_KEY))


async def test_presigned_wrong_region_is_query_parameters_error_with_region():
    error = await _raises(errors.AuthorizationQueryParametersError, v4_presigned(region="ap-south-1"))
    assert error.extra["Region"] == REGION


async def test_presigned_missing_parameter_is_query_parameters_error():
    req = v4_presigned()
    query = "&".join(p for p in req.query_string.split("&") if not p.startswith("X-Amz-Date="))
    await _raises(errors.AuthorizationQueryParametersError, dataclasses.replace(req, query_string=query))


# ---- SigV2 ----------------------------------------------------------------------------------------

async def test_sigv2_header_is_accepted():
    result = await auth(v2())
    assert result.identity.access_key == AKID and result.signature_version == "v2"


async def test_sigv2_virtual_hosted_uses_bucket_in_resource():
    req = v2(url=VHOST + "/2024//a%20b?acl", virtual=True)
    assert (await auth(req)).identity is not None
    # Without the router's bucket the canonical resource differs.
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(req, virtual_host=False))


async def test_sigv2_sub_resources_are_signed_and_other_params_are_not():
    req = v2(url=ENDPOINT + "/photos/k?versionId=v1&response-content-type=text%2Fplain&prefix=x")
    assert (await auth(req)).identity is not None
    # `prefix` is not a sub-resource: changing it does not matter to SigV2; changing versionId does.
    assert (await auth(dataclasses.replace(req, query_string=req.query_string.replace("prefix=x", "prefix=y"))))
    tampered = req.query_string.replace("versionId=v1", "versionId=v2")
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(req, query_string=tampered))


async def test_sigv2_altered_amz_header_fails():
    req = v2()
    req.headers["X-Amz-Meta-Owner"] = "mallory"
    await _raises(errors.SignatureDoesNotMatch, req)


async def test_sigv2_wrong_secret_and_unknown_key():
    await _raises(errors.SignatureDoesNotMatch, v2(WRONG_SECRET))
    await _raises(errors.InvalidAccessKeyId, v2(UNKNOWN_KEY))


@pytest.mark.parametrize("minutes", [16, -16])
async def test_sigv2_skew_is_request_time_too_skewed(minutes):
    await _raises(errors.RequestTimeTooSkewed, v2(), now=later(minutes))


async def test_sigv2_malformed_header_is_invalid_argument():
    req = v2()
    req.headers["Authorization"] = "AWS AKIDEXAMPLE"
    await _raises(errors.InvalidArgument, req)


async def test_sigv2_presigned_is_accepted():
    result = await auth(v2_presigned())
    assert result.identity.access_key == AKID


async def test_sigv2_presigned_expired_is_access_denied():
    error = await _raises(errors.AccessDenied, v2_presigned(expires=60), now=later(2))
    assert error.message == "Request has expired"
    assert {"Expires", "ServerTime"} <= error.extra.keys()


async def test_sigv2_presigned_tampered_fails():
    req = v2_presigned()
    await _raises(errors.SignatureDoesNotMatch, dataclasses.replace(req, raw_path="/photos/other"))


async def test_session_token_is_not_echoed_in_signature_errors():
    token = "FQoGZXIvYXdzEXAMPLEsessionTOKEN"
    with pytest.raises(errors.SignatureDoesNotMatch) as caught:
        await auth(v2(Credentials(AKID, SECRET[:-1] + "X", token)))
    assert "x-amz-security-token:<redacted>" in caught.value.extra["StringToSign"]
    assert token not in f"{caught.value} {caught.value.extra}"
